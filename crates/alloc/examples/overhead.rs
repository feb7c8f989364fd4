//! What counting costs: N allocate/free pairs through plain mimalloc and through
//! `CountingMiMalloc`, same sizes, same order, one thread. Run with
//! `cargo run --release -p darter-alloc --example overhead [N]`; the numbers go in
//! docs/design/memory.md. (A benchmark, not a test: it asserts nothing about time.)

use darter_alloc::CountingMiMalloc;
use mimalloc::MiMalloc;
use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::time::Instant;

#[global_allocator]
static GLOBAL: CountingMiMalloc = CountingMiMalloc;

/// Sizes cycle through small classes, like keys and short values.
const SIZES: [usize; 8] = [16, 24, 32, 48, 64, 100, 128, 256];

fn run<A: GlobalAlloc>(a: &A, n: usize, batch: usize) -> f64 {
    let mut held = Vec::with_capacity(batch);
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        for j in 0..batch {
            let l = Layout::from_size_align(SIZES[(i + j) % SIZES.len()], 8).expect("layout");
            // SAFETY: a valid non-zero layout; freed below with the same layout.
            let p = unsafe { a.alloc(black_box(l)) };
            held.push((p, l));
        }
        for (p, l) in held.drain(..) {
            // SAFETY: `p` came from `a.alloc(l)` and is freed once.
            unsafe { a.dealloc(black_box(p), l) };
        }
        i += batch;
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn boxes(n: usize) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        let b = Box::new([i as u8; 40]);
        black_box(&b);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    for batch in [1, 64] {
        // Warm both paths, then alternate runs and keep each side's best.
        let (mut plain, mut counted) = (f64::MAX, f64::MAX);
        for _ in 0..5 {
            plain = plain.min(run(&MiMalloc, n, batch));
            counted = counted.min(run(&CountingMiMalloc, n, batch));
        }
        println!(
            "alloc+free, batch {batch:>2}: mimalloc {plain:.2} ns/pair, counting {counted:.2} ns/pair, overhead {:.2} ns ({:+.0}%)",
            counted - plain,
            (counted / plain - 1.0) * 100.0
        );
    }
    let b = (0..5).map(|_| boxes(n)).fold(f64::MAX, f64::min);
    println!("Box::new([u8; 40]) + drop through the counting global allocator: {b:.2} ns/pair");
    println!(
        "allocated_bytes() = {} (this thread: {})",
        darter_alloc::allocated_bytes(),
        darter_alloc::thread_allocated()
    );
    let held: Vec<Vec<u8>> = (0..100_000).map(|i| vec![i as u8; 100]).collect();
    println!(
        "holding 100000 x 100 bytes: allocated_bytes() = {}, committed = {:?}, rss = {} kB",
        darter_alloc::allocated_bytes(),
        darter_alloc::committed_bytes(),
        std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
            * 4
    );
    drop(held);
    let t = Instant::now();
    let reads = 1_000_000;
    let mut s = 0;
    for _ in 0..reads {
        s += black_box(darter_alloc::allocated_bytes());
    }
    black_box(s);
    println!(
        "allocated_bytes(): {:.1} ns per read",
        t.elapsed().as_nanos() as f64 / reads as f64
    );
}
