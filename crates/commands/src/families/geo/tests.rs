//! Unit tests of the geo family's parsers and `op_*` functions on a bare `DbSlice` (no server,
//! no shards). Replies against real Redis live in crates/server/tests/diff/geo.redis; the
//! cross-shard STORE over sockets in crates/server/tests/geo.rs.

use super::*;

const NOW: u64 = 1_700_000_000_000;

fn a(words: &[&str]) -> Vec<Bytes> {
    words
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

fn l() -> Limits {
    Limits::default()
}

fn geoadd(db: &mut DbSlice, args: &[&str]) -> Result<i64, GeoError> {
    let args = a(args);
    let g = parse_geoadd(&args)?;
    op_geoadd(db, &args[1], &g, &l(), NOW).map_err(|_| err(errors::WRONGTYPE))
}

/// A database with Palermo and Catania in `Sicily`.
fn sicily() -> DbSlice {
    let mut db = DbSlice::new();
    let r = geoadd(
        &mut db,
        &[
            "geoadd",
            "Sicily",
            "13.361389",
            "38.115556",
            "Palermo",
            "15.087269",
            "37.502669",
            "Catania",
        ],
    );
    assert_eq!(r, Ok(2));
    db
}

fn search(db: &mut DbSlice, args: &[&str], v: Variant) -> Result<Found, GeoError> {
    let mut stats = ShardStats::default();
    op_search(db, &mut stats, &a(args), v, NOW)
}

fn names(f: &Found) -> Vec<String> {
    match f {
        Found::Points(_, pts) => pts
            .iter()
            .map(|p| String::from_utf8_lossy(&p.member).into_owned())
            .collect(),
        Found::NoKey(_) => Vec::new(),
    }
}

#[test]
fn doubles_parse_like_get_double_from_object() {
    assert_eq!(parse_double(b"1.5"), Some(1.5));
    assert_eq!(parse_double(b"-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(parse_double(b"0x10"), Some(16.0));
    assert_eq!(parse_double(b"0"), Some(0.0));
    assert_eq!(parse_double(b"0e5"), Some(0.0));
    assert_eq!(parse_double(b"-0.000"), Some(0.0));
    assert_eq!(parse_double(b"1e400"), None);
    assert_eq!(parse_double(b"1e-400"), None);
    assert_eq!(parse_double(b"nan"), None);
    assert_eq!(parse_double(b" 1"), None);
    assert_eq!(parse_double(b"1 "), None);
    assert_eq!(parse_double(b""), None);
    assert_eq!(parse_double(b"abc"), None);
}

#[test]
fn geoadd_options_and_errors_in_redis_order() {
    let g = parse_geoadd(&a(&["geoadd", "k", "ch", "NX", "1", "2", "m"])).unwrap();
    assert!(g.ch && g.nx && !g.xx);
    assert_eq!(g.items.len(), 1);
    let e = |w: &[&str]| parse_geoadd(&a(w)).unwrap_err();
    assert_eq!(
        e(&["geoadd", "k", "nx", "xx", "1", "2", "m"]),
        errors::SYNTAX
    );
    assert_eq!(e(&["geoadd", "k", "1", "2"]), errors::SYNTAX);
    assert_eq!(e(&["geoadd", "k", "ch", "nx", "xx"]), errors::SYNTAX);
    assert_eq!(e(&["geoadd", "k", "ch"]), errors::SYNTAX);
    assert_eq!(
        e(&["geoadd", "k", "500", "1", "m"]),
        "ERR invalid longitude,latitude pair 500.000000,1.000000"
    );
    assert_eq!(
        e(&["geoadd", "k", "0", "-inf", "m"]),
        "ERR invalid longitude,latitude pair 0.000000,-inf"
    );
    // Every position is checked before anything is added.
    assert_eq!(
        e(&["geoadd", "k", "1", "1", "a", "x", "1", "b"]),
        errors::NOT_FLOAT
    );
}

#[test]
fn geoadd_nx_xx_ch_and_wrong_type() {
    let mut db = DbSlice::new();
    assert_eq!(
        geoadd(&mut db, &["geoadd", "g", "xx", "1", "1", "a"]),
        Ok(0)
    );
    assert!(
        db.find(b"g", NOW).is_none(),
        "XX on a missing key creates nothing"
    );
    assert_eq!(geoadd(&mut db, &["geoadd", "g", "1", "1", "a"]), Ok(1));
    assert_eq!(
        geoadd(
            &mut db,
            &["geoadd", "g", "nx", "2", "2", "a", "3", "3", "b"]
        ),
        Ok(1)
    );
    assert_eq!(geoadd(&mut db, &["geoadd", "g", "4", "4", "a"]), Ok(0));
    assert_eq!(
        geoadd(
            &mut db,
            &["geoadd", "g", "ch", "5", "5", "a", "5", "5", "c"]
        ),
        Ok(2)
    );
    assert_eq!(
        geoadd(&mut db, &["geoadd", "g", "ch", "5", "5", "a"]),
        Ok(0)
    );
    assert_eq!(
        geoadd(
            &mut db,
            &["geoadd", "g", "xx", "ch", "6", "6", "a", "1", "1", "z"]
        ),
        Ok(1)
    );
    let mut stats = ShardStats::default();
    let s = op_scores(&mut db, &mut stats, b"g", &a(&["a", "b", "c", "z"]), NOW).unwrap();
    assert_eq!(s[0], geohash::score_of(6.0, 6.0).map(|v| v as f64));
    assert_eq!(s[1], geohash::score_of(3.0, 3.0).map(|v| v as f64));
    assert!(s[2].is_some() && s[3].is_none());
    db.set(
        b"str",
        Record::new(Value::Str(darter_collections::StrValue::from_bytes(b"v"))),
    );
    assert_eq!(
        geoadd(&mut db, &["geoadd", "str", "1", "1", "a"]),
        Err(err(errors::WRONGTYPE))
    );
    // The position error comes before the type check.
    assert!(geoadd(&mut db, &["geoadd", "str", "500", "1", "a"])
        .unwrap_err()
        .starts_with("ERR invalid longitude"));
}

#[test]
fn geoadd_encodings_follow_the_zset_rules() {
    let mut db = DbSlice::new();
    let mut args = vec!["geoadd".to_string(), "big".to_string()];
    for i in 0..129 {
        args.extend([format!("{}", i as f64 / 10.0), "1".into(), format!("m{i}")]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(geoadd(&mut db, &refs), Ok(129));
    let enc = |db: &mut DbSlice, k: &[u8]| match find_zset(db, k, NOW) {
        Ok(Some(z)) => z.encoding_name(),
        _ => "none",
    };
    assert_eq!(enc(&mut db, b"big"), "skiplist");
    assert_eq!(geoadd(&mut db, &["geoadd", "small", "1", "1", "a"]), Ok(1));
    assert_eq!(enc(&mut db, b"small"), "listpack");
    let long = "x".repeat(65);
    assert_eq!(geoadd(&mut db, &["geoadd", "long", "1", "1", &long]), Ok(1));
    assert_eq!(enc(&mut db, b"long"), "skiplist");
}

#[test]
fn geodist_units_missing_members_and_errors() {
    let mut db = sicily();
    let mut stats = ShardStats::default();
    let mut d = |w: &[&str]| op_geodist(&mut db, &mut stats, &a(w), NOW);
    let km = d(&["geodist", "Sicily", "Palermo", "Catania", "KM"])
        .unwrap()
        .unwrap();
    assert_eq!(format!("{km:.4}"), "166.2742");
    let m = d(&["geodist", "Sicily", "Palermo", "Catania"])
        .unwrap()
        .unwrap();
    assert_eq!(format!("{m:.4}"), "166274.1516");
    assert_eq!(d(&["geodist", "Sicily", "Palermo", "nx"]), Ok(None));
    assert_eq!(d(&["geodist", "nokey", "a", "b"]), Ok(None));
    assert_eq!(
        d(&["geodist", "nokey", "a", "b", "parsec"]),
        Err(err(errors::GEO_UNIT))
    );
    assert_eq!(
        d(&["geodist", "nokey", "a", "b", "km", "x"]),
        Err(err(errors::SYNTAX))
    );
}

#[test]
fn search_parsing_errors_in_redis_order() {
    let mut db = sicily();
    let e = |db: &mut DbSlice, w: &[&str], v: Variant| search(db, w, v).unwrap_err();
    let s = Variant::Search;
    let r = Variant::Radius { store: true };
    assert_eq!(
        e(
            &mut db,
            &["geosearch", "Sicily", "fromlonlat", "15", "37"],
            s
        ),
        "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch"
    );
    assert_eq!(
        e(&mut db, &["GeoSearch", "Sicily", "byradius", "1", "km"], s),
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch"
    );
    assert_eq!(
        e(
            &mut db,
            &[
                "geosearch",
                "Sicily",
                "fromlonlat",
                "15",
                "37",
                "byradius",
                "1",
                "km",
                "any"
            ],
            s
        ),
        errors::GEO_ANY_WITHOUT_COUNT
    );
    assert_eq!(
        e(
            &mut db,
            &["georadius", "Sicily", "15", "37", "1", "km", "count", "0"],
            r
        ),
        errors::GEO_COUNT_NOT_POSITIVE
    );
    assert_eq!(
        e(&mut db, &["georadius", "Sicily", "15", "37", "-1", "km"], r),
        errors::GEO_NEGATIVE_RADIUS
    );
    assert_eq!(
        e(&mut db, &["georadius", "Sicily", "15", "37", "x", "km"], r),
        "ERR need numeric radius"
    );
    assert_eq!(
        e(
            &mut db,
            &[
                "geosearch",
                "Sicily",
                "fromlonlat",
                "15",
                "37",
                "bybox",
                "1",
                "x",
                "km"
            ],
            s
        ),
        "ERR need numeric height"
    );
    assert_eq!(
        e(
            &mut db,
            &["georadius", "Sicily", "15", "37", "1", "km", "withdist", "store", "d"],
            r
        ),
        "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
    assert_eq!(
        e(
            &mut db,
            &[
                "geosearchstore",
                "d",
                "Sicily",
                "fromlonlat",
                "1",
                "1",
                "byradius",
                "1",
                "m",
                "withhash"
            ],
            Variant::SearchStore
        ),
        "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
    );
    // FROMMEMBER after FROMLONLAT, STORE on the read-only form, unknown words: syntax errors.
    assert_eq!(
        e(
            &mut db,
            &[
                "geosearch",
                "Sicily",
                "fromlonlat",
                "1",
                "1",
                "frommember",
                "Palermo",
                "byradius",
                "1",
                "m"
            ],
            s
        ),
        errors::SYNTAX
    );
    assert_eq!(
        e(
            &mut db,
            &[
                "georadius_ro",
                "Sicily",
                "15",
                "37",
                "1",
                "km",
                "store",
                "d"
            ],
            Variant::Radius { store: false }
        ),
        errors::SYNTAX
    );
    assert_eq!(
        e(
            &mut db,
            &["georadiusbymember", "Sicily", "nx", "x", "km"],
            Variant::ByMember { store: true }
        ),
        errors::GEO_MEMBER_NOT_FOUND
    );
    // A missing source skips the member lookup and GEORADIUSBYMEMBER's radius.
    assert_eq!(
        search(
            &mut db,
            &["georadiusbymember", "nokey", "nx", "-5", "parsec"],
            Variant::ByMember { store: true }
        )
        .map(|f| matches!(f, Found::NoKey(_))),
        Ok(true)
    );
}

#[test]
fn search_orders_counts_and_any() {
    let mut db = sicily();
    let s = Variant::Search;
    let base = [
        "geosearch",
        "Sicily",
        "fromlonlat",
        "15",
        "37",
        "byradius",
        "200",
        "km",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    }
    let f = search(&mut db, &with(&base, &["asc"]), s).unwrap();
    assert_eq!(names(&f), ["Catania", "Palermo"]);
    let f = search(&mut db, &with(&base, &["desc"]), s).unwrap();
    assert_eq!(names(&f), ["Palermo", "Catania"]);
    // COUNT without an order sorts ascending; COUNT ANY stops at the first found, unsorted.
    let f = search(&mut db, &with(&base, &["count", "1"]), s).unwrap();
    assert_eq!(names(&f), ["Catania"]);
    let f = search(&mut db, &with(&base, &["count", "1", "any"]), s).unwrap();
    assert_eq!(names(&f), ["Palermo"]);
    let Found::Points(q, pts) = search(&mut db, &with(&base, &["asc", "withdist"]), s).unwrap()
    else {
        panic!("points")
    };
    assert!(q.withdist);
    assert_eq!(format!("{:.4}", pts[0].dist), "56.4413");
    assert_eq!(format!("{:.4}", pts[1].dist), "190.4424");
    let f = search(
        &mut db,
        &[
            "geosearch",
            "Sicily",
            "frommember",
            "Palermo",
            "bybox",
            "10",
            "10",
            "km",
        ],
        s,
    )
    .unwrap();
    assert_eq!(names(&f), ["Palermo"]);
}

#[test]
fn store_builds_a_zset_and_deletes_on_empty() {
    let mut db = sicily();
    let f = search(
        &mut db,
        &[
            "georadius",
            "Sicily",
            "15",
            "37",
            "200",
            "km",
            "storedist",
            "d",
            "asc",
        ],
        Variant::Radius { store: true },
    )
    .unwrap();
    let Found::Points(q, pts) = f else {
        panic!("points")
    };
    assert_eq!(q.store.as_deref(), Some(&b"d"[..]));
    assert!(q.storedist);
    let z = build_store(&pts, q.storedist, &l()).expect("a result");
    assert_eq!(z.encoding_name(), "listpack");
    assert_eq!(
        z.score(b"Catania").map(|s| format!("{s:.4}")),
        Some("56.4413".into())
    );
    assert_eq!(
        op_store(&mut db, b"d", Some(z), Variant::SearchStore, NOW),
        2
    );
    assert!(find_zset(&mut db, b"d", NOW).unwrap().is_some());
    assert!(build_store(&[], false, &l()).is_none());
    assert_eq!(op_store(&mut db, b"d", None, Variant::SearchStore, NOW), 0);
    assert!(db.find(b"d", NOW).is_none());

    // Too many members for a listpack: the stored set stays a skiplist.
    let pts: Vec<GeoPoint> = (0..200)
        .map(|i| GeoPoint {
            longitude: 0.0,
            latitude: 0.0,
            dist: i as f64,
            score: i as f64,
            member: format!("m{i}").into_bytes(),
        })
        .collect();
    let z = build_store(&pts, false, &l()).unwrap();
    assert_eq!((z.encoding_name(), z.len()), ("skiplist", 200));
}

#[test]
fn whole_search_on_one_shard_stores_and_replies() {
    let mut shard = Shard::new(
        0,
        1,
        std::sync::Arc::new(darter_engine::clock::Clock::real()),
    );
    let db = &mut shard.dbs[0];
    let args = a(&[
        "geoadd",
        "Sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
    ]);
    let g = parse_geoadd(&args).unwrap();
    op_geoadd(db, b"Sicily", &g, &l(), NOW).unwrap();
    let r = op_search_all(
        &mut shard,
        0,
        &a(&[
            "geosearchstore",
            "out",
            "Sicily",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
        ]),
        Variant::SearchStore,
        NOW,
    );
    assert_eq!(r, Ok(Outcome::Stored(2)));
    let r = op_search_all(
        &mut shard,
        0,
        &a(&[
            "geosearchstore",
            "out",
            "nokey",
            "fromlonlat",
            "15",
            "37",
            "byradius",
            "200",
            "km",
        ]),
        Variant::SearchStore,
        NOW,
    );
    assert_eq!(r, Ok(Outcome::Stored(0)));
    assert!(shard.dbs[0].find(b"out", NOW).is_none());
    let mut w = ReplyWriter::new(Protocol::Resp2);
    let r = op_search_all(
        &mut shard,
        0,
        &a(&[
            "geosearch",
            "Sicily",
            "frommember",
            "Palermo",
            "byradius",
            "1",
            "km",
            "withcoord",
            "withhash",
        ]),
        Variant::Search,
        NOW,
    );
    reply_outcome(&mut w, r);
    assert_eq!(
        &w.buf[..],
        &b"*1\r\n*3\r\n$7\r\nPalermo\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"[..]
    );
}
