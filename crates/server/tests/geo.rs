//! Socket tests of the geo family: GEOSEARCHSTORE and GEORADIUS[BYMEMBER] STORE/STOREDIST with
//! source and destination on every pair of shards (contents, replacement, deletion on an empty
//! result, errors leaving the destination alone, the stored encoding), and a concurrency test
//! showing a cross-shard STORE reads one consistent snapshot of its source and replaces the
//! destination as a whole while writers move every member of the source at once.

use darter_engine::keys::shard_of;
use darter_resp::Frame;
use darter_testkit::helpers::{bulk, int, spread_keys, OK};
use darter_testkit::{RawClient, TestServer};

const SHARDS: usize = 3;

/// GEOADD key with `n` members `m0..` all at (lon, lat).
fn geoadd_all(c: &mut RawClient, key: &str, n: usize, lon: &str, lat: &str) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&str> = vec!["GEOADD", key];
    for m in &names {
        args.extend([lon, lat, m.as_str()]);
    }
    c.cmd(&args)
}

/// GEOPOS key m0..m(n-1) as frames.
fn positions(c: &mut RawClient, key: &str, n: usize) -> Vec<Frame> {
    let names: Vec<String> = (0..n).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&str> = vec!["GEOPOS", key];
    args.extend(names.iter().map(String::as_str));
    match c.cmd_frame(&args) {
        Frame::Array(v) => v,
        other => panic!("GEOPOS replied {other:?}"),
    }
}

#[test]
fn store_across_every_pair_of_shards() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("geo", 2 * SHARDS, SHARDS);
    for src in &keys[..SHARDS] {
        for dst in &keys[SHARDS..] {
            let pair = (
                shard_of(src.as_bytes(), SHARDS),
                shard_of(dst.as_bytes(), SHARDS),
            );
            c.cmd(&["DEL", src, dst]);
            c.cmd(&[
                "GEOADD",
                src,
                "13.361389",
                "38.115556",
                "Palermo",
                "15.087269",
                "37.502669",
                "Catania",
            ]);
            let search = ["FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"];
            let mut store: Vec<&str> = vec!["GEOSEARCHSTORE", dst, src];
            store.extend(search);
            assert_eq!(c.cmd(&store), int(2), "{pair:?}");
            assert_eq!(
                c.cmd(&["GEOPOS", dst, "Palermo", "Catania"]),
                c.cmd(&["GEOPOS", src, "Palermo", "Catania"]),
                "{pair:?}"
            );
            assert_eq!(c.cmd(&["TYPE", dst]), "+zset\r\n");
            assert_eq!(c.cmd(&["OBJECT", "ENCODING", dst]), bulk("listpack"));

            // STOREDIST: the scores are the distances in the query's unit.
            store.push("STOREDIST");
            assert_eq!(c.cmd(&store), int(2), "{pair:?}");
            let mut dist: Vec<&str> = vec!["GEOSEARCH", dst, "FROMLONLAT", "-180", "-85.05112878"];
            dist.extend(["BYRADIUS", "10", "km", "ASC"]);
            assert_eq!(
                c.cmd(&dist),
                "*2\r\n$7\r\nCatania\r\n$7\r\nPalermo\r\n",
                "small scores decode near (-180, -85): {pair:?}"
            );

            // GEORADIUS ... STORE and GEORADIUSBYMEMBER ... STOREDIST replace a string.
            assert_eq!(c.cmd(&["SET", dst, "x"]), OK);
            let r = c.cmd(&["GEORADIUS", src, "15", "37", "100", "km", "STORE", dst]);
            assert_eq!(r, int(1), "{pair:?}");
            assert_eq!(c.cmd(&["GEOHASH", dst, "Catania", "Palermo"]), {
                format!("*2\r\n{}$-1\r\n", bulk("sqdtr74hyu0"))
            });
            let r = c.cmd(&[
                "GEORADIUSBYMEMBER",
                src,
                "Palermo",
                "1",
                "km",
                "STOREDIST",
                dst,
            ]);
            assert_eq!(r, int(1));
            assert_eq!(
                c.cmd(&[
                    "GEOSEARCH",
                    dst,
                    "FROMLONLAT",
                    "-180",
                    "-85.05112878",
                    "BYRADIUS",
                    "10",
                    "km"
                ]),
                "*1\r\n$7\r\nPalermo\r\n"
            );

            // Errors leave the destination; an empty result or a missing source deletes it.
            let r = c.cmd(&["GEORADIUS", src, "15", "37", "-1", "km", "STORE", dst]);
            assert_eq!(r, "-ERR radius cannot be negative\r\n");
            assert_eq!(c.cmd(&["EXISTS", dst]), int(1));
            let r = c.cmd(&["GEORADIUS", src, "0", "0", "1", "km", "STORE", dst]);
            assert_eq!(r, int(0));
            assert_eq!(c.cmd(&["EXISTS", dst]), int(0));
            c.cmd(&["SET", dst, "x"]);
            let r = c.cmd(&[
                "GEOSEARCHSTORE",
                dst,
                "nosuchkey",
                "FROMMEMBER",
                "a",
                "BYBOX",
                "1",
                "1",
                "m",
            ]);
            assert_eq!(r, int(0));
            assert_eq!(c.cmd(&["EXISTS", dst]), int(0));
            c.cmd(&["SET", dst, "x"]);
            c.cmd(&["SET", src, "x"]);
            let r = c.cmd(&[
                "GEOSEARCHSTORE",
                dst,
                src,
                "FROMLONLAT",
                "0",
                "0",
                "BYRADIUS",
                "1",
                "m",
            ]);
            assert!(r.starts_with("-WRONGTYPE"), "{r}");
            assert_eq!(c.cmd(&["GET", dst]), bulk("x"));
        }
    }
}

#[test]
fn the_last_store_option_wins_and_routes_the_write() {
    // Redis's key specs name the first STORE, its parser the last one: the write must land
    // under the last name, on its own shard.
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("k", SHARDS, SHARDS);
    let (src, first, last) = (&keys[0], &keys[1], &keys[2]);
    c.cmd(&["GEOADD", src, "1", "1", "a", "1.001", "1", "b"]);
    let r = c.cmd(&[
        "GEORADIUS",
        src,
        "1",
        "1",
        "10",
        "km",
        "STORE",
        first,
        "STOREDIST",
        last,
    ]);
    assert_eq!(r, int(2));
    assert_eq!(c.cmd(&["EXISTS", first]), int(0));
    assert_eq!(c.cmd(&["EXISTS", last]), int(1));
    assert_eq!(
        c.cmd(&[
            "GEOSEARCH",
            last,
            "FROMLONLAT",
            "-180",
            "-85.05112878",
            "BYRADIUS",
            "10",
            "km",
            "ASC"
        ]),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
}

#[test]
fn big_results_are_stored_as_skiplists() {
    let s = TestServer::start();
    let mut c = s.client();
    let keys = spread_keys("big", 2, SHARDS);
    assert_eq!(geoadd_all(&mut c, &keys[0], 200, "2", "3"), int(200));
    let r = c.cmd(&[
        "GEORADIUS",
        &keys[0],
        "2",
        "3",
        "1",
        "km",
        "STORE",
        &keys[1],
    ]);
    assert_eq!(r, int(200));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", &keys[1]]), bulk("skiplist"));
    let r = c.cmd(&[
        "GEORADIUS",
        &keys[0],
        "2",
        "3",
        "1",
        "km",
        "COUNT",
        "5",
        "STORE",
        &keys[1],
    ]);
    assert_eq!(r, int(5));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", &keys[1]]), bulk("listpack"));
}

#[test]
fn cross_shard_store_is_atomic() {
    const N: usize = 40;
    const ROUNDS: usize = 300;
    let s = TestServer::start();
    let keys = spread_keys("atom", 2, SHARDS);
    let (src, dst) = (&keys[0], &keys[1]);
    assert_ne!(
        shard_of(src.as_bytes(), SHARDS),
        shard_of(dst.as_bytes(), SHARDS)
    );
    let mut c = s.client();
    geoadd_all(&mut c, src, N, "10", "10");
    let full = int(N as i64);

    std::thread::scope(|scope| {
        // Moves every member between (10, 10) and (20, 20) in one GEOADD.
        let mut w = s.client();
        scope.spawn(move || {
            for r in 0..ROUNDS {
                let (lon, lat) = if r % 2 == 0 {
                    ("20", "20")
                } else {
                    ("10", "10")
                };
                assert_eq!(geoadd_all(&mut w, src, N, lon, lat), int(0));
            }
        });
        // Copies whatever lies near one of the two places: all of the source or none of it.
        for t in 0..2 {
            let (mut st, full) = (s.client(), full.clone());
            scope.spawn(move || {
                for r in 0..ROUNDS {
                    let at = if (r + t) % 2 == 0 { "10" } else { "20" };
                    let reply = if t == 0 {
                        st.cmd(&["GEORADIUS", src, at, at, "50", "km", "STORE", dst])
                    } else {
                        st.cmd(&[
                            "GEOSEARCHSTORE",
                            dst,
                            src,
                            "FROMLONLAT",
                            at,
                            at,
                            "BYBOX",
                            "100",
                            "100",
                            "km",
                            "STOREDIST",
                        ])
                    };
                    assert!(reply == int(0) || reply == full, "STORE replied {reply:?}");
                }
            });
        }
        // The destination is absent or holds every member, never a mix of two stores.
        let mut o = s.client();
        scope.spawn(move || {
            for _ in 0..ROUNDS {
                let pos = positions(&mut o, dst, N);
                let present = pos
                    .iter()
                    .filter(|p| !matches!(p, Frame::NullArray))
                    .count();
                assert!(
                    present == 0 || present == N,
                    "{present} of {N} members stored"
                );
                assert!(pos.windows(2).all(|w| w[0] == w[1]), "members stored apart");
            }
        });
    });
}
