//! Shared by the model tests: a counting global allocator (per-thread live bytes, so parallel
//! tests do not disturb each other) for bytes-per-item measurements, and Miri-aware sizes.
//! Each test crate installs it with `#[global_allocator] static GLOBAL: Counting = Counting;`.

#![allow(dead_code)] // each test crate uses a different subset

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static LIVE_BYTES: Cell<isize> = const { Cell::new(0) };
}

fn add_live(n: isize) {
    // `try_with`: allocations during thread teardown must not panic.
    let _ = LIVE_BYTES.try_with(|c| c.set(c.get() + n));
}

// SAFETY: forwards to `System` unchanged; only counts sizes in a thread-local `Cell` (no
// allocation, no reentrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        add_live(l.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        add_live(l.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        add_live(-(l.size() as isize));
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        add_live(new as isize - l.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, new) }
    }
}

/// Bytes allocated and not yet freed by this thread.
pub fn live_bytes() -> isize {
    LIVE_BYTES.with(|c| c.get())
}

/// Scales a size down under Miri.
pub fn size(n: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        n
    }
}
