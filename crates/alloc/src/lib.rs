//! darter-alloc: the process's global allocator (mimalloc) wrapped so that every block's *usable
//! size* (what mimalloc really reserved for it, `mi_usable_size`) is added to a counter of the
//! thread that allocates it and subtracted from the counter of the thread that frees it.
//!
//! ```text
//!   thread A (owns slot 3)            SLOTS (static, one cache line each)      RETIRED (AtomicI64)
//!   alloc(64) --usable 64-->  +64 --> [0][1][2][3: +64 -48][4]...[MAX_SLOTS-1]  + counters of exited
//!   free(p: 48 usable)        -48 --/       ^ written only by its owner,          threads, and of threads
//!                                           |  plain load + store, Relaxed         that found no slot
//!   allocated_bytes() = sum(SLOTS[..high_water]) + RETIRED      (any thread, lock-free, no RMW)
//! ```
//! - Hot path: one thread-local pointer load, a branch, one `mi_usable_size` call, and a relaxed
//!   load + store of the thread's own slot (no atomic read-modify-write: only the owner writes it).
//! - A thread gets a slot on its first allocation (cold path) and gives it back when it exits: its
//!   count moves to `RETIRED`. Threads beyond `MAX_SLOTS`, and allocations made while a thread is
//!   being torn down, count straight into `RETIRED` with an atomic add.
//! - A block freed by another thread than the one that allocated it makes both threads' counters
//!   drift (one too high, one too low), but the process-wide sum stays exact; it is exact whenever
//!   no allocation is in flight, and otherwise off by at most the blocks being allocated or freed
//!   at that instant (and, for the instant a thread retires, by that thread's count).
//!
//! This crate must not allocate on the counting path (it runs inside the global allocator), and
//! depends on nothing of darter's.

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use libmimalloc_sys as mi;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering::*};

/// mimalloc as the global allocator, counting usable bytes per thread.
///
/// ```rust,ignore
/// #[global_allocator]
/// static GLOBAL: darter_alloc::CountingMiMalloc = darter_alloc::CountingMiMalloc;
/// ```
pub struct CountingMiMalloc;

/// Per-thread slots. 1024 covers every engine thread plus tokio's and the test harness's helpers;
/// more threads than that still count exactly, through `RETIRED`, only more slowly.
const MAX_SLOTS: usize = 1024;

/// One thread's counter, alone on its cache line so owners never share a line.
#[repr(align(64))]
struct Slot {
    bytes: AtomicI64,
    taken: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // an array initializer, copied once per slot
const FREE_SLOT: Slot = Slot {
    bytes: AtomicI64::new(0),
    taken: AtomicBool::new(false),
};

static SLOTS: [Slot; MAX_SLOTS] = [FREE_SLOT; MAX_SLOTS];
/// Slots ever handed out: readers sum `SLOTS[..HIGH_WATER]` only.
static HIGH_WATER: AtomicUsize = AtomicUsize::new(0);
/// Bytes counted by threads that exited, or that have no slot.
static RETIRED: AtomicI64 = AtomicI64::new(0);
/// Set once `CountingMiMalloc` has served an allocation (so it is, in practice, the global one).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Thread state: no slot yet, counting in a slot, or exiting (count into `RETIRED`).
const UNREGISTERED: u8 = 0;
const REGISTERED: u8 = 1;
const EXITING: u8 = 2;

thread_local! {
    /// This thread's slot counter, or null before registration and after retirement. Const
    /// initialized and without a destructor, so reading it is a plain TLS access.
    static MY_SLOT: Cell<*const AtomicI64> = const { Cell::new(std::ptr::null()) };
    static STATE: Cell<u8> = const { Cell::new(UNREGISTERED) };
    /// Its destructor retires the slot when the thread exits.
    static GUARD: SlotGuard = const { SlotGuard };
}

struct SlotGuard;

impl Drop for SlotGuard {
    fn drop(&mut self) {
        STATE.with(|s| s.set(EXITING));
        let p = MY_SLOT.with(|s| s.replace(std::ptr::null()));
        if let Some(i) = slot_index(p) {
            retire(i);
        }
    }
}

/// Which slot `p` points at.
fn slot_index(p: *const AtomicI64) -> Option<usize> {
    if p.is_null() {
        return None;
    }
    SLOTS.iter().position(|s| std::ptr::eq(&s.bytes, p))
}

/// Moves slot `i`'s count to `RETIRED` and frees the slot for another thread.
fn retire(i: usize) {
    let slot = &SLOTS[i];
    // Add before zeroing: a concurrent reader may count these bytes twice for an instant, never
    // lose them; either way the sum is exact again at once.
    RETIRED.fetch_add(slot.bytes.load(Relaxed), Relaxed);
    slot.bytes.store(0, Relaxed);
    slot.taken.store(false, Release);
}

/// Adds `delta` to this thread's counter: the hot path.
#[inline(always)]
fn count(delta: i64) {
    let p = MY_SLOT.with(|s| s.get());
    if p.is_null() {
        count_cold(delta);
        return;
    }
    // SAFETY: a non-null MY_SLOT points at a `SLOTS` element (static), claimed by this thread.
    let c = unsafe { &*p };
    // Only this thread writes its slot, so load + store loses nothing and needs no RMW.
    c.store(c.load(Relaxed) + delta, Relaxed);
}

/// First allocation of a thread (claims a slot), or a thread without one.
#[cold]
#[inline(never)]
fn count_cold(delta: i64) {
    if STATE.with(|s| s.get()) != UNREGISTERED {
        RETIRED.fetch_add(delta, Relaxed);
        return;
    }
    ACTIVE.store(true, Relaxed);
    let Some(i) = claim() else {
        STATE.with(|s| s.set(EXITING));
        RETIRED.fetch_add(delta, Relaxed);
        return;
    };
    let slot = &SLOTS[i].bytes;
    MY_SLOT.with(|s| s.set(slot));
    STATE.with(|s| s.set(REGISTERED));
    // Registering the guard's destructor may allocate; MY_SLOT is set, so that takes the hot path.
    if GUARD.try_with(|_| ()).is_err() {
        // The thread is already tearing its thread-locals down: no guard will run. Give the slot
        // back now and count the rest of this thread's life in RETIRED.
        STATE.with(|s| s.set(EXITING));
        MY_SLOT.with(|s| s.set(std::ptr::null()));
        RETIRED.fetch_add(delta, Relaxed);
        retire(i);
        return;
    }
    count(delta);
}

/// Claims a free slot, lowest index first.
fn claim() -> Option<usize> {
    for (i, s) in SLOTS.iter().enumerate() {
        if !s.taken.load(Relaxed)
            && s.taken
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        {
            HIGH_WATER.fetch_max(i + 1, Relaxed);
            return Some(i);
        }
    }
    None
}

/// Usable size of a block mimalloc returned.
#[inline(always)]
fn usable(p: *const u8) -> i64 {
    // SAFETY: `p` is a live block from mimalloc (callers pass only what mi_* just returned or what
    // is about to be freed).
    unsafe { mi::mi_usable_size(p as *const c_void) as i64 }
}

// SAFETY: every method forwards to mimalloc's aligned API, which upholds GlobalAlloc's contract
// (size and alignment honoured, null on failure); the counting never touches the blocks.
unsafe impl GlobalAlloc for CountingMiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract (layout has non-zero size, power-of-two alignment).
        let p = unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()) } as *mut u8;
        if !p.is_null() {
            count(usable(p));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()) } as *mut u8;
        if !p.is_null() {
            count(usable(p));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        count(-usable(ptr));
        // SAFETY: `ptr` was allocated by this allocator (GlobalAlloc's contract).
        unsafe { mi::mi_free(ptr as *mut c_void) };
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let before = usable(ptr);
        // SAFETY: `ptr` is a live block of this allocator with `layout` (GlobalAlloc's contract).
        let p = unsafe { mi::mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) }
            as *mut u8;
        if !p.is_null() {
            // On failure the old block is untouched, and so is the count.
            count(usable(p) - before);
        }
        p
    }
}

/// Bytes allocated by the whole process (sum of usable sizes of live blocks), read lock-free from
/// any thread. 0 when `CountingMiMalloc` is not the global allocator (see `is_active`).
pub fn allocated_bytes() -> usize {
    let n = HIGH_WATER.load(Relaxed);
    let sum: i64 = SLOTS[..n].iter().map(|s| s.bytes.load(Relaxed)).sum();
    (sum + RETIRED.load(Relaxed)).max(0) as usize
}

/// This thread's counter: bytes it allocated minus bytes it freed (negative when it frees more
/// than it allocated, e.g. blocks another thread allocated). 0 before its first allocation.
pub fn thread_allocated() -> i64 {
    let p = MY_SLOT.with(|s| s.get());
    if p.is_null() {
        return 0;
    }
    // SAFETY: as in `count`.
    unsafe { &*p }.load(Relaxed)
}

/// True once `CountingMiMalloc` has served an allocation: in a process whose global allocator it
/// is, from the first allocation on. When false the counters mean nothing and callers should use
/// another measure (e.g. the resident set size).
pub fn is_active() -> bool {
    ACTIVE.load(Relaxed)
}

/// The usable size mimalloc gives a request of `size` bytes (its size class), without allocating:
/// `mi_usable_size(mi_malloc(size)) == good_size(size)`. 0 for 0 (Rust never allocates empty
/// blocks). Safe whatever the global allocator is.
pub fn good_size(size: usize) -> usize {
    if size == 0 {
        return 0;
    }
    // SAFETY: pure arithmetic on size classes; no memory is touched.
    unsafe { mi::mi_good_size(size) }
}

/// Bytes mimalloc has committed from the OS (`mi_process_info`'s `current_commit`): every page it
/// holds ready for blocks, used or not, plus its own metadata. None when `CountingMiMalloc` is not
/// in use (mimalloc then holds next to nothing).
pub fn committed_bytes() -> Option<usize> {
    if !is_active() {
        return None;
    }
    let mut commit = 0usize;
    let null = std::ptr::null_mut();
    // SAFETY: every out-parameter is optional (null) except `commit`, a valid usize.
    unsafe { mi::mi_process_info(null, null, null, null, null, &mut commit, null, null) };
    Some(commit)
}

/// mimalloc's version as `major.minor.patch` (INFO's `mem_allocator:mimalloc-<version>`).
pub fn mimalloc_version() -> String {
    // SAFETY: returns a constant.
    let v = unsafe { mi::mi_version() };
    format!("{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

/// Returns this thread's free memory to the OS where mimalloc can (MEMORY PURGE runs it on
/// every thread). Only meaningful when `CountingMiMalloc` is the global allocator.
pub fn purge_thread() {
    if is_active() {
        // SAFETY: collects the calling thread's own heap; no preconditions.
        unsafe { mi::mi_collect(true) };
    }
}

#[cfg(test)]
mod tests {
    //! The tests call the allocator directly (the test binary's global allocator is the system's),
    //! so every count here comes from these calls alone. Tests run on separate threads, and each
    //! checks its own thread's counter; the process-wide sum is checked on its own thread too, so
    //! only that test's blocks move it... except for other tests' threads running concurrently,
    //! hence one lock for the tests that read `allocated_bytes`.
    use super::*;
    use std::sync::Mutex;

    static SUM_LOCK: Mutex<()> = Mutex::new(());
    const A: CountingMiMalloc = CountingMiMalloc;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn alloc_and_free_move_the_thread_counter_by_usable_size() {
        let before = thread_allocated();
        let l = layout(100, 8);
        // SAFETY: a valid layout; the block is freed with the same layout.
        let p = unsafe { A.alloc(l) };
        assert!(!p.is_null());
        let u = usable(p);
        assert!(u >= 100);
        assert_eq!(u as usize, good_size(100));
        assert_eq!(thread_allocated() - before, u);
        // SAFETY: `p` came from `A.alloc(l)`.
        unsafe { A.dealloc(p, l) };
        assert_eq!(thread_allocated(), before);
        assert!(is_active());
    }

    #[test]
    fn realloc_and_zeroed_and_aligned_blocks_balance() {
        let before = thread_allocated();
        let l = layout(24, 8);
        // SAFETY: valid layouts; each block is released once, with its current size.
        unsafe {
            let p = A.alloc_zeroed(l);
            assert_eq!(*p, 0);
            let q = A.realloc(p, l, 5000);
            assert!(!q.is_null());
            assert_eq!(thread_allocated() - before, usable(q));
            let r = A.realloc(q, layout(5000, 8), 10);
            assert_eq!(thread_allocated() - before, usable(r));
            A.dealloc(r, layout(10, 8));
            let big = layout(4096, 256);
            let a = A.alloc(big);
            assert_eq!(a as usize % 256, 0);
            assert_eq!(thread_allocated() - before, usable(a));
            A.dealloc(a, big);
        }
        assert_eq!(thread_allocated(), before);
    }

    #[test]
    fn a_block_freed_on_another_thread_drifts_per_thread_but_not_in_the_sum() {
        let _g = SUM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let total0 = allocated_bytes() as i64;
        let mine0 = thread_allocated();
        let l = layout(1000, 8);
        // SAFETY: a valid layout.
        let p = unsafe { A.alloc(l) } as usize;
        let u = usable(p as *const u8);
        assert_eq!(allocated_bytes() as i64 - total0, u);
        let other = std::thread::spawn(move || {
            let t0 = thread_allocated();
            // SAFETY: `p` is a live block of `A` with layout `l`, freed once.
            unsafe { A.dealloc(p as *mut u8, l) };
            thread_allocated() - t0
        })
        .join()
        .unwrap();
        assert_eq!(other, -u, "the freeing thread is charged");
        assert_eq!(
            thread_allocated() - mine0,
            u,
            "the allocating thread keeps its plus"
        );
        // The other thread exited: its slot retired into RETIRED, and the sum is back.
        assert_eq!(allocated_bytes() as i64, total0);
    }

    #[test]
    fn exited_threads_give_their_slots_back() {
        let _g = SUM_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let total0 = allocated_bytes() as i64;
        let mut kept = Vec::new();
        for _ in 0..(MAX_SLOTS + 50) / 50 {
            let hs: Vec<_> = (0..50)
                .map(|_| {
                    std::thread::spawn(|| {
                        let l = layout(64, 8);
                        // SAFETY: a valid layout; the block outlives the thread on purpose.
                        unsafe { A.alloc(l) as usize }
                    })
                })
                .collect();
            kept.extend(hs.into_iter().map(|h| h.join().unwrap()));
        }
        // More threads than slots have come and gone; slots were reused, none leaked.
        assert!(HIGH_WATER.load(Relaxed) < MAX_SLOTS);
        let held: i64 = kept.iter().map(|&p| usable(p as *const u8)).sum();
        assert_eq!(allocated_bytes() as i64 - total0, held);
        for p in kept {
            // SAFETY: each `p` is a live 64-byte block of `A`, freed once.
            unsafe { A.dealloc(p as *mut u8, layout(64, 8)) };
        }
        assert_eq!(allocated_bytes() as i64, total0);
    }

    #[test]
    fn sizes_and_version() {
        assert_eq!(good_size(0), 0);
        assert!(good_size(1) >= 1);
        assert!(good_size(17) >= 17);
        let v = mimalloc_version();
        assert_eq!(v.split('.').count(), 3, "{v}");
    }
}
