//! Unit tests of the geo family's parsers and `op_*` functions on a bare `DbSlice`.

use super::*;
