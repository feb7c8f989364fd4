//! Dash table vs `hashbrown::HashMap` on 1M keys: insert (growing from empty), find (hit and
//! miss), erase. Both hash with the same foldhash and own their keys as `Box<[u8]>`.
//!
//! Run: `cargo bench -p darter-collections --bench dash` (numbers go in docs/design/dash.md).
//! Not a test: nothing here asserts on time.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use darter_collections::dash::DashTable;
use foldhash::fast::FixedState;
use std::hint::black_box;

const N: usize = 1_000_000;

type Dash = DashTable<(Box<[u8]>, u64)>;
type Brown = hashbrown::HashMap<Box<[u8]>, u64, FixedState>;

fn keys(prefix: &str) -> Vec<Vec<u8>> {
    (0..N)
        .map(|i| format!("{prefix}:{i:08}").into_bytes())
        .collect()
}

fn dash_full(keys: &[Vec<u8>]) -> Dash {
    let mut t = Dash::new();
    for (i, k) in keys.iter().enumerate() {
        t.insert((k.as_slice().into(), i as u64));
    }
    t
}

fn brown_full(keys: &[Vec<u8>]) -> Brown {
    let mut t = Brown::with_hasher(FixedState::with_seed(1));
    for (i, k) in keys.iter().enumerate() {
        t.insert(k.as_slice().into(), i as u64);
    }
    t
}

fn bench(c: &mut Criterion) {
    let hit = keys("key");
    let miss = keys("miss");
    let mut g = c.benchmark_group("1M");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("insert/dash", |b| {
        b.iter_batched(
            Dash::new,
            |mut t| {
                for (i, k) in hit.iter().enumerate() {
                    t.insert((k.as_slice().into(), i as u64));
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("insert/hashbrown", |b| {
        b.iter_batched(
            || Brown::with_hasher(FixedState::with_seed(1)),
            |mut t| {
                for (i, k) in hit.iter().enumerate() {
                    t.insert(k.as_slice().into(), i as u64);
                }
                t
            },
            BatchSize::PerIteration,
        )
    });

    let d = dash_full(&hit);
    let h = brown_full(&hit);
    g.bench_function("find_hit/dash", |b| {
        b.iter(|| {
            for k in &hit {
                black_box(d.get(k));
            }
        })
    });
    g.bench_function("find_hit/hashbrown", |b| {
        b.iter(|| {
            for k in &hit {
                black_box(h.get(k.as_slice()));
            }
        })
    });
    g.bench_function("find_miss/dash", |b| {
        b.iter(|| {
            for k in &miss {
                black_box(d.get(k));
            }
        })
    });
    g.bench_function("find_miss/hashbrown", |b| {
        b.iter(|| {
            for k in &miss {
                black_box(h.get(k.as_slice()));
            }
        })
    });
    drop((d, h));

    g.bench_function("erase/dash", |b| {
        b.iter_batched(
            || dash_full(&hit),
            |mut t| {
                for k in &hit {
                    black_box(t.remove(k));
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("erase/hashbrown", |b| {
        b.iter_batched(
            || brown_full(&hit),
            |mut t| {
                for k in &hit {
                    black_box(t.remove(k.as_slice()));
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
