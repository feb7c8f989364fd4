//! Tests of `geohash.rs`: encode / decode / GEOHASH strings / distances against values read from
//! a real redis-server 7.0.15 (GEOADD scores, GEOPOS, GEOHASH, GEODIST replies), neighbour
//! arithmetic against decoded cell bounds, the step estimate, `pqsort` against a full sort, and
//! the 9-cell search against a brute-force scan of every member (both listpack and skiplist
//! encodings).

use darter_collections::geohash::{
    self, decode_score, distance, encode_wgs84, estimate_steps_by_radius, hash_string, neighbors,
    score_of, search, HashBits, Shape, ShapeKind, EAST, NORTH, NORTH_EAST, SOUTH, SOUTH_WEST, WEST,
};
use darter_collections::zsetval::{AddFlags, ZSetValue};
use darter_collections::Limits;
use proptest::prelude::*;

/// `%.17Lf` with trailing zeros cut, as GEOPOS prints a coordinate.
fn human(v: f64) -> String {
    let s = format!("{v:.17}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// (longitude, latitude, GEOADD's score, GEOPOS's reply, GEOHASH's reply), from redis-server.
const ORACLE: &[(f64, f64, u64, [&str; 2], &str)] = &[
    (
        13.361389,
        38.115556,
        3479099956230698,
        ["13.36138933897018433", "38.11555639549629859"],
        "sqc8b49rny0",
    ),
    (
        15.087269,
        37.502669,
        3479447370796909,
        ["15.08726745843887329", "37.50266842333162032"],
        "sqdtr74hyu0",
    ),
    (
        180.0,
        85.05112878,
        13510798882111488,
        ["180", "85.0511287799999991"],
        "bp05b5048p0",
    ),
    (
        -180.0,
        -85.05112878,
        0,
        ["-179.99999731779098511", "-85.05112751263942528"],
        "00bh0hbj200",
    ),
    (
        0.0,
        0.0,
        3377699720527872,
        ["0.00000268220901489", "0.00000126736058093"],
        "s0000000000",
    ),
    (
        -122.4194,
        37.7749,
        1367859919124626,
        ["-122.41940170526504517", "37.77490001056577995"],
        "9q8yyk8ytp0",
    ),
    (
        151.2093,
        -33.8688,
        3252046221964352,
        ["151.20929986238479614", "-33.86880091934155956"],
        "r3gx2f77bj0",
    ),
];

#[test]
fn scores_positions_and_hashes_match_redis() {
    for &(lon, lat, score, pos, hash) in ORACLE {
        assert_eq!(score_of(lon, lat), Some(score), "score of {lon},{lat}");
        let [x, y] = decode_score(score as f64);
        assert_eq!(
            [human(x), human(y)],
            pos.map(String::from),
            "GEOPOS {lon},{lat}"
        );
        assert_eq!(
            &hash_string(score as f64),
            hash.as_bytes(),
            "GEOHASH {lon},{lat}"
        );
    }
}

#[test]
fn distances_match_geodist() {
    let pos = |i: usize| decode_score(ORACLE[i].2 as f64);
    let d = |a: usize, b: usize| {
        let ([x1, y1], [x2, y2]) = (pos(a), pos(b));
        format!("{:.4}", distance(x1, y1, x2, y2))
    };
    assert_eq!(d(0, 1), "166274.1516");
    assert_eq!(d(5, 6), "11951031.4578");
    assert_eq!(d(2, 3), "18919844.5891");
    assert_eq!(d(0, 0), "0.0000");
}

#[test]
fn out_of_range_positions_do_not_encode() {
    assert_eq!(score_of(180.0000001, 0.0), None);
    assert_eq!(score_of(0.0, 85.05112879), None);
    assert_eq!(score_of(-180.0000001, 0.0), None);
    assert_eq!(encode_wgs84(0.0, 0.0, 0), None);
    assert_eq!(encode_wgs84(0.0, 0.0, 33), None);
}

#[test]
fn scores_that_are_not_geohashes_decode_like_c() {
    // What gcc's code for (uint64_t)d gives on x86-64 (checked with a C program): a negative
    // double wraps through a signed conversion.
    assert_eq!(geohash::c_double_to_u64(-1.0), u64::MAX);
    assert_eq!(geohash::c_double_to_u64(f64::NAN), 1 << 63);
    assert_eq!(geohash::c_double_to_u64(-1e300), 1 << 63);
    assert_eq!(geohash::c_double_to_u64(1e300), 0);
    assert_eq!(geohash::c_double_to_u64(3.5), 3);
    assert_eq!(geohash::c_double_to_u64(1.5e19), 15_000_000_000_000_000_000);
    // Clamped to the limits whatever the bits say.
    let [x, y] = decode_score(-1.0);
    assert!((-180.0..=180.0).contains(&x) && (geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y));
}

#[test]
fn step_estimate_follows_redis() {
    assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
    assert_eq!(estimate_steps_by_radius(1.0, 0.0), 24);
    assert_eq!(estimate_steps_by_radius(200_000.0, 0.0), 6);
    assert_eq!(estimate_steps_by_radius(200_000.0, 70.0), 5);
    assert_eq!(estimate_steps_by_radius(200_000.0, -85.0), 4);
    assert_eq!(estimate_steps_by_radius(5e7, 0.0), 1);
}

proptest! {
    #[test]
    fn encode_then_decode_gives_the_cell_holding_the_point(
        lon in -180.0f64..180.0,
        lat in geohash::LAT_MIN..geohash::LAT_MAX,
        step in 1u8..=26,
    ) {
        let h = encode_wgs84(lon, lat, step).expect("in range");
        let a = geohash::decode_wgs84(h).expect("not zero");
        prop_assert!(a.longitude.min <= lon && lon <= a.longitude.max);
        prop_assert!(a.latitude.min <= lat && lat <= a.latitude.max);
        // A stored score decodes within half a cell of the point (about 0.6 m).
        let [x, y] = decode_score(score_of(lon, lat).unwrap() as f64);
        prop_assert!(distance(lon, lat, x, y) < 1.0);
    }

    #[test]
    fn neighbours_are_the_adjacent_cells(
        ilon in 1u32..(1 << 10) - 1,
        ilat in 1u32..(1 << 10) - 1,
    ) {
        // Cells away from the edges at step 10: neighbours share an edge or a corner.
        let step = 10u8;
        let lon = -180.0 + (ilon as f64 + 0.5) * 360.0 / 1024.0;
        let lat = geohash::LAT_MIN + (ilat as f64 + 0.5) * (2.0 * geohash::LAT_MAX) / 1024.0;
        let h = encode_wgs84(lon, lat, step).unwrap();
        let n = neighbors(h);
        let cell = |h: HashBits| geohash::decode_wgs84(h).unwrap();
        let c = cell(n[0]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        prop_assert!(close(cell(n[NORTH]).latitude.min, c.latitude.max));
        prop_assert!(close(cell(n[NORTH]).longitude.min, c.longitude.min));
        prop_assert!(close(cell(n[SOUTH]).latitude.max, c.latitude.min));
        prop_assert!(close(cell(n[EAST]).longitude.min, c.longitude.max));
        prop_assert!(close(cell(n[WEST]).longitude.max, c.longitude.min));
        prop_assert!(close(cell(n[NORTH_EAST]).longitude.min, c.longitude.max));
        prop_assert!(close(cell(n[NORTH_EAST]).latitude.min, c.latitude.max));
        prop_assert!(close(cell(n[SOUTH_WEST]).longitude.max, c.longitude.min));
        prop_assert!(close(cell(n[SOUTH_WEST]).latitude.max, c.latitude.min));
    }

    #[test]
    fn pqsort_puts_the_smallest_first(
        v in prop::collection::vec(0u8..20, 1..200),
        k in 1usize..200,
    ) {
        let k = k.min(v.len());
        let mut w: Vec<(u8, usize)> = v.iter().copied().zip(0..).collect();
        geohash::pqsort(&mut w, &|a: &(u8, usize), b: &(u8, usize)| a.0.cmp(&b.0), 0, k - 1);
        let mut sorted = v.clone();
        sorted.sort();
        let got: Vec<u8> = w[..k].iter().map(|e| e.0).collect();
        prop_assert_eq!(&got[..], &sorted[..k]);
        let mut ids: Vec<usize> = w.iter().map(|e| e.1).collect();
        ids.sort();
        prop_assert_eq!(ids, (0..v.len()).collect::<Vec<_>>());
    }

    #[test]
    fn search_finds_exactly_the_members_inside(
        pts in prop::collection::vec((-170.0f64..170.0, -70.0f64..70.0), 0..200),
        center in (-170.0f64..170.0, -70.0f64..70.0),
        size in (1.0f64..2_000_000.0, 1.0f64..2_000_000.0),
        boxed in any::<bool>(),
        packed in any::<bool>(),
    ) {
        let l = Limits::default();
        let mut z = ZSetValue::create(if packed { 0 } else { 1000 }, 0, &l);
        for (i, (lon, lat)) in pts.iter().enumerate() {
            let s = score_of(*lon, *lat).unwrap() as f64;
            z.add(format!("m{i}").as_bytes(), s, AddFlags::default(), &l);
        }
        let shape = Shape {
            center: [center.0, center.1],
            kind: if boxed {
                ShapeKind::Box { width: size.0, height: size.1 }
            } else {
                ShapeKind::Circle { radius: size.0 }
            },
            conversion: 1.0,
        };
        let mut got: Vec<Vec<u8>> = search(&z, &shape, 0).into_iter().map(|p| p.member).collect();
        got.sort();
        let mut want: Vec<Vec<u8>> = z
            .iter()
            .filter_map(|(m, s)| {
                let [x, y] = decode_score(s);
                shape.distance_if_inside(x, y).map(|_| m.to_vec())
            })
            .collect();
        want.sort();
        prop_assert_eq!(got, want);
    }
}
