//! Unit tests (placeholder).
