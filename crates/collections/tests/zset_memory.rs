//! Bytes per member of a big sorted set, counted by allocation (never timed), for the insert
//! orders that matter: rising scores from one or several interleaved streams (timestamps, bulk
//! loads over a few connections), falling scores, and a shuffle. Each member is stored once (the
//! map's block; the tree holds a handle) and sequential inserts leave full leaves, so the budget
//! is about 8 (leaf entry: one pointer) + 24 (map block) + 8 / load (map slot; the load is 0.38-0.75) bytes
//! per member.

mod common;
use common::{live_bytes, Counting};
use darter_collections::zsetval::{AddFlags, ZSetValue};
use darter_collections::Limits;

#[global_allocator]
static GLOBAL: Counting = Counting;

const N: u32 = 200_000;

/// Loads `member:<i>` with score `i` in `order`; returns (bytes per member, leaf fill).
fn load(order: impl Iterator<Item = u32>) -> (f64, f64) {
    let l = Limits::default();
    let before = live_bytes();
    let mut z = ZSetValue::create(1, 1, &l);
    for i in order {
        z.add(
            format!("member:{i}").as_bytes(),
            f64::from(i),
            AddFlags::default(),
            &l,
        );
    }
    let per_member = (live_bytes() - before) as f64 / f64::from(N);
    eprintln!("{per_member:.1} bytes per member");
    z.check();
    let ZSetValue::Tree(t) = &z else {
        panic!("a big set is a tree")
    };
    let (leaves, entries, _) = t.leaf_stats();
    (
        per_member,
        entries as f64 / (leaves * darter_collections::bptree::LEAF_CAP) as f64,
    )
}

#[test]
fn sequential_inserts_fill_leaves() {
    let streams = 4;
    let per = N / streams;
    let orders: [(&str, Box<dyn Iterator<Item = u32>>); 3] = [
        ("rising", Box::new(0..N)),
        ("falling", Box::new((0..N).rev())),
        (
            "4 interleaved rising streams",
            Box::new((0..per).flat_map(move |i| (0..streams).map(move |s| s * per + i))),
        ),
    ];
    for (name, order) in orders {
        let (bytes, fill) = load(order);
        assert!(fill > 0.95, "{name}: leaves {fill:.2} full");
        assert!(bytes < 58.0, "{name}: {bytes:.1} bytes per member");
    }
}

#[test]
fn shuffled_inserts_stay_within_budget() {
    let mut v: Vec<u32> = (0..N).collect();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let (bytes, fill) = load(v.into_iter());
    assert!(fill > 0.6, "leaves {fill:.2} full");
    assert!(bytes < 62.0, "{bytes:.1} bytes per member");
}
