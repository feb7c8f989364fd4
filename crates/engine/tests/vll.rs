//! Engine-level tests of hops and VLL transactions, without the command layer: transactions over
//! counters on different shards keep a global invariant under concurrency, locks and queues drain,
//! and stale transaction ids are refused.

use darter_collections::{StrValue, Value};
use darter_engine::keys::{key_fp, key_hash};
use darter_engine::tx::HopFn;
use darter_engine::{Engine, EngineOptions, LockReq, Record, Shard, Transaction};
use std::sync::mpsc;
use std::sync::Arc;

const SHARDS: usize = 3;

fn engine() -> Arc<Engine> {
    Engine::start(
        EngineOptions {
            threads: SHARDS,
            shards: SHARDS,
            ..Default::default()
        },
        Arc::new(|_| {}),
    )
}

/// Runs `f` as a local task on engine thread `t` and waits for its result.
fn on_thread<R: Send + 'static, F, Fut>(e: &Arc<Engine>, t: usize, f: F) -> R
where
    F: FnOnce(Arc<Engine>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R> + 'static,
{
    let (tx, rx) = mpsc::channel();
    let eng = e.clone();
    e.spawn_on(t, move || {
        tokio::task::spawn_local(async move {
            let _ = tx.send(f(eng).await);
        });
    });
    rx.recv().expect("task finished")
}

/// Keys that land on distinct shards.
fn keys_on_each_shard() -> Vec<Vec<u8>> {
    let mut out: Vec<Option<Vec<u8>>> = vec![None; SHARDS];
    let mut i = 0;
    while out.iter().any(|k| k.is_none()) {
        let k = format!("acct:{i}").into_bytes();
        let s = key_hash(&k, SHARDS).shard;
        if out[s].is_none() {
            out[s] = Some(k);
        }
        i += 1;
    }
    out.into_iter().map(|k| k.expect("found")).collect()
}

fn read(s: &mut Shard, k: &[u8]) -> i64 {
    let now = s.now_ms();
    s.dbs[0]
        .find(k, now)
        .and_then(|e| e.as_str()?.as_i64())
        .unwrap_or(0)
}

fn write(s: &mut Shard, k: &[u8], v: i64) {
    s.dbs[0].set(k, Record::new(Value::Str(StrValue::Int(v))));
}

fn lock(k: &[u8], exclusive: bool) -> (usize, Vec<LockReq>) {
    let kh = key_hash(k, SHARDS);
    (
        kh.shard,
        vec![LockReq {
            fp: key_fp(kh.full, 0),
            exclusive,
        }],
    )
}

#[test]
fn transfers_between_shards_keep_the_total() {
    let e = engine();
    let keys = keys_on_each_shard();
    // Every account starts at 1000.
    for k in &keys {
        let k = k.clone();
        let sid = key_hash(&k, SHARDS).shard;
        on_thread(&e, sid, move |eng| async move {
            eng.run_on(sid, &[], move |s| write(s, &k, 1000))
                .await
                .expect("no panic")
        });
    }
    let total = 1000 * SHARDS as i64;
    let mut handles = Vec::new();
    for t in 0..SHARDS {
        let e2 = e.clone();
        let keys = keys.clone();
        handles.push(std::thread::spawn(move || {
            on_thread(&e2, t, move |eng| async move {
                let mut bad_reads = 0;
                for i in 0..300usize {
                    let from = keys[(i + t) % SHARDS].clone();
                    let to = keys[(i + t + 1) % SHARDS].clone();
                    // Transfer: two shards, one hop that reads and writes on each.
                    let mut tx = Transaction::schedule(
                        &eng,
                        {
                            let mut v = vec![lock(&from, true), lock(&to, true)];
                            v.sort_by_key(|(s, _)| *s);
                            v
                        },
                        false,
                    )
                    .await;
                    let shards = tx.shards().to_vec();
                    let jobs: Vec<Option<HopFn<()>>> = shards
                        .iter()
                        .map(|&sid| {
                            let (f, t2) = (from.clone(), to.clone());
                            Some(Box::new(move |s: &mut Shard| {
                                if key_hash(&f, SHARDS).shard == sid {
                                    let v = read(s, &f);
                                    write(s, &f, v - 7);
                                }
                                if key_hash(&t2, SHARDS).shard == sid {
                                    let v = read(s, &t2);
                                    write(s, &t2, v + 7);
                                }
                            }) as HopFn<()>)
                        })
                        .collect();
                    tx.hop(jobs, true).await;
                    // Audit: a read-only transaction over every account sees the invariant.
                    let per_shard = keys.iter().map(|k| lock(k, false)).collect::<Vec<_>>();
                    let mut per_shard = per_shard;
                    per_shard.sort_by_key(|(s, _)| *s);
                    let mut audit = Transaction::schedule(&eng, per_shard, false).await;
                    let ks = keys.clone();
                    let sums = audit
                        .hop_all(
                            move |s: &mut Shard| {
                                let me = s.id;
                                ks.iter()
                                    .filter(|k| key_hash(k, SHARDS).shard == me)
                                    .map(|k| read(s, k))
                                    .sum::<i64>()
                            },
                            true,
                        )
                        .await;
                    let sum: i64 = sums.into_iter().map(|r| r.expect("no panic")).sum();
                    if sum != total {
                        bad_reads += 1;
                    }
                }
                bad_reads
            })
        }));
    }
    for h in handles {
        assert_eq!(
            h.join().expect("joined"),
            0,
            "an audit saw a partial transfer"
        );
    }
    // Idle: every lock table and queue is empty.
    let idle = on_thread(&e, 0, |eng| async move {
        eng.on_all_shards(|s| (s.queue_len(), s.locked_count()))
            .await
    });
    assert!(idle.iter().all(|&(q, l)| q == 0 && l == 0), "{idle:?}");
    e.shutdown();
}

#[test]
fn contended_single_shard_command_waits_for_the_transaction() {
    let e = engine();
    let key = b"contended".to_vec();
    let sid = key_hash(&key, SHARDS).shard;
    let order = on_thread(&e, (sid + 1) % SHARDS, move |eng| async move {
        let mut tx = Transaction::schedule(&eng, vec![lock(&key, true)], false).await;
        // While the transaction holds the key, a plain command on it must queue, not run.
        let k2 = key.clone();
        let eng2 = eng.clone();
        let (l_sid, l_locks) = lock(&key, false);
        let waiter = tokio::task::spawn_local(async move {
            eng2.run_on(l_sid, &l_locks, move |s| read(s, &k2))
                .await
                .expect("no panic")
        });
        tokio::task::yield_now().await;
        let k3 = key.clone();
        tx.hop(
            vec![Some(
                Box::new(move |s: &mut Shard| write(s, &k3, 42)) as HopFn<()>
            )],
            true,
        )
        .await;
        waiter.await.expect("joined")
    });
    assert_eq!(
        order, 42,
        "the queued read ran after the transaction's write"
    );
    e.shutdown();
}

#[test]
fn panics_in_hops_are_contained() {
    let e = engine();
    let r = on_thread(&e, 0, |eng| async move {
        eng.run_on(1, &[], |_s| -> i32 { panic!("boom") }).await
    });
    assert!(r.is_err());
    let ok = on_thread(&e, 0, |eng| async move { eng.run_on(1, &[], |_s| 5).await });
    assert_eq!(ok.expect("engine still works"), 5);
    e.shutdown();
}

#[test]
fn work_inside_a_held_transaction_reuses_it_and_others_wait_for_its_conclusion() {
    let e = engine();
    let keys = keys_on_each_shard();
    let (total, outside, idle) = on_thread(&e, 0, move |eng| async move {
        let per_shard: Vec<_> = keys.iter().map(|k| lock(k, true)).collect();
        let mut tx = Transaction::schedule(&eng, per_shard, false).await;
        assert!(darter_engine::held().is_none());
        // A plain command on a held key, from another task, must wait for the conclusion.
        let (eng2, k0) = (eng.clone(), keys[0].clone());
        let (l_sid, l_locks) = lock(&k0, false);
        let outsider = tokio::task::spawn_local(async move {
            eng2.run_on(l_sid, &l_locks, move |s| read(s, &k0))
                .await
                .expect("no panic")
        });
        let (eng3, ks) = (eng.clone(), keys.clone());
        let total = tx
            .run_held(async move {
                assert!(darter_engine::in_held());
                // A nested multi-shard transaction: the held one, borrowed (its conclusion
                // concludes nothing).
                let per_shard: Vec<_> = ks.iter().map(|k| lock(k, true)).collect();
                let mut inner = Transaction::schedule(&eng3, per_shard, false).await;
                let jobs = ks
                    .iter()
                    .map(|k| {
                        let k = k.clone();
                        Some(Box::new(move |s: &mut Shard| write(s, &k, 10)) as HopFn<()>)
                    })
                    .collect();
                inner.hop(jobs, true).await;
                drop(inner);
                // Single-shard work through run_on, with the same locks as the holder.
                let mut sum = 0;
                for k in &ks {
                    let (sid, locks) = lock(k, true);
                    let k2 = k.clone();
                    sum += eng3
                        .run_on(sid, &locks, move |s| {
                            let v = read(s, &k2) + 1;
                            write(s, &k2, v);
                            v
                        })
                        .await
                        .expect("no panic");
                }
                sum
            })
            .await;
        let jobs = keys
            .iter()
            .map(|_| None)
            .collect::<Vec<Option<HopFn<()>>>>();
        tx.hop(jobs, true).await;
        let outside = outsider.await.expect("joined");
        let idle = eng
            .on_all_shards(|s| s.queue_len() + s.locked_count())
            .await
            .into_iter()
            .sum::<usize>();
        (total, outside, idle)
    });
    assert_eq!(total, 33);
    assert_eq!(
        outside, 11,
        "the outsider ran after the held transaction concluded"
    );
    assert_eq!(idle, 0);
    e.shutdown();
}
