//! Redis's geohash arithmetic (geohash.c, geohash_helper.c) and the radius/box search over a
//! sorted set that the GEO* commands run (geo.c `membersOfAllNeighbors`). Pure functions of
//! coordinates, scores and a [`ZSetValue`]: nothing here knows commands, replies or keys.
//!
//! A geo member's score is a 52-bit geohash: longitude and latitude each cut into 2^26 steps
//! over `[-180, 180]` and `[-85.05112878, 85.05112878]` (the Web-Mercator limits), the two step
//! indexes interleaved bit by bit (latitude in the even bits, longitude in the odd ones):
//! ```text
//!   bit  51 50 49 48 ...  1  0
//!        lo la lo la ... lo la      lo: longitude index bit, la: latitude index bit
//! ```
//! A search picks a coarser step whose cells are about the query's size, takes the query
//! centre's cell and its 8 neighbours, drops neighbours the query's bounding box cannot reach,
//! and scans each remaining cell's score range `[prefix << k, (prefix + 1) << k)` keeping the
//! points really inside the circle or box (haversine distance on a sphere of radius
//! 6372797.560856 m).
//!
//! Every floating-point expression is evaluated in Redis's order with the same libm calls, and
//! integer conversions mimic C's on x86-64, so positions, distances and the set of matches
//! agree with Redis bit for bit. Must stay true: `encode` then `decode` of the same step gives
//! the cell's centre; `search` returns points in Redis's order (cell by cell, then by score).

use crate::bptree::ScoreRange;
use crate::zsetval::ZSetValue;

pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate of a stored score (52-bit scores).
pub const STEP_MAX: u8 = 26;
/// Redis's `EARTH_RADIUS_IN_METERS`.
pub const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
/// Redis's `D_R`.
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A coordinate interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// The ranges stored scores are encoded with.
pub const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A geohash of `step` bits per coordinate (`bits` holds `2 * step` bits). `step == 0` with
/// `bits == 0` is Redis's "zeroed" hash: a neighbour excluded from a search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// A cell: its hash and its coordinate bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads the low 32 bits of `x` into the even bits and of `y` into the odd bits.
fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (xlo as u64, ylo as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of `interleave64`: even bits in the low 32 bits, odd bits in the high 32.
fn deinterleave64(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let (mut x, mut y) = (v, v >> 1);
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// C's `(uint32_t)d` for the non-negative offsets `encode` produces (truncation).
fn to_u32(d: f64) -> u32 {
    d as u32
}

/// Encodes a position with `step` bits per coordinate over the given ranges (Redis's
/// `geohashEncode`); None outside the ranges or the stored-score limits, or for a bad step.
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    if step > 32 || step == 0 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    let cells = (1u64 << step) as f64;
    lat_off *= cells;
    lon_off *= cells;
    Some(HashBits {
        bits: interleave64(to_u32(lat_off), to_u32(lon_off)),
        step,
    })
}

/// Encodes with the stored-score ranges (`geohashEncodeWGS84`).
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, lon, lat, step)
}

/// A hash's cell (Redis's `geohashDecode`); None for a zeroed hash.
pub fn decode(lon_r: Range, lat_r: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let ilat = sep as u32;
    let ilon = (sep >> 32) as u32;
    let cells = (1u64 << hash.step) as f64;
    Some(Area {
        hash,
        latitude: Range {
            min: lat_r.min + (ilat as f64 / cells) * lat_scale,
            max: lat_r.min + (ilat.wrapping_add(1) as f64 / cells) * lat_scale,
        },
        longitude: Range {
            min: lon_r.min + (ilon as f64 / cells) * lon_scale,
            max: lon_r.min + (ilon.wrapping_add(1) as f64 / cells) * lon_scale,
        },
    })
}

/// `geohashDecodeWGS84`.
pub fn decode_wgs84(hash: HashBits) -> Option<Area> {
    decode(LONG_RANGE, LAT_RANGE, hash)
}

/// A cell's centre, clamped to the stored-score limits (`geohashDecodeAreaToLongLat`).
pub fn area_center(a: &Area) -> [f64; 2] {
    let lon = ((a.longitude.min + a.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.latitude.min + a.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// C's `(uint64_t)d` as x86-64 compilers emit it: values below 2^63 through a signed
/// conversion (so negatives wrap, and NaN or values below -2^63 give 2^63, the "integer
/// indefinite"), larger ones offset by 2^63 (so values of 2^64 and more give 0).
pub fn c_double_to_u64(d: f64) -> u64 {
    const TWO63: f64 = 9223372036854775808.0;
    let signed = |v: f64| -> u64 {
        if v.is_nan() || !(-TWO63..TWO63).contains(&v) {
            1u64 << 63
        } else {
            (v as i64) as u64
        }
    };
    // NaN takes the first branch, as `comisd` reports it unordered (not above or equal).
    if d.is_nan() || d < TWO63 {
        signed(d)
    } else {
        signed(d - TWO63) ^ (1u64 << 63)
    }
}

/// The position a stored score stands for (geo.c `decodeGeohash`): `[longitude, latitude]`.
pub fn decode_score(score: f64) -> [f64; 2] {
    let hash = HashBits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    area_center(&decode_wgs84(hash).expect("a step-26 hash is never zero"))
}

/// A hash shifted to 52 bits (`geohashAlign52Bits`).
pub fn align52(h: HashBits) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

/// The score GEOADD stores for a valid position (the caller checked the limits).
pub fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode_wgs84(lon, lat, STEP_MAX).map(align52)
}

/// GEOHASH's 11-character string of a stored score: the decoded position re-encoded over the
/// standard `[-90, 90]` latitude range, 5 bits a character, the 11th always `0`.
pub fn hash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score);
    let r_lon = Range {
        min: -180.0,
        max: 180.0,
    };
    let r_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(r_lon, r_lat, lon, lat, 26).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

fn move_x(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = h.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

/// Which neighbour each slot of a [`Neighbors`] array holds, in Redis's search order.
pub const CENTER: usize = 0;
pub const NORTH: usize = 1;
pub const SOUTH: usize = 2;
pub const EAST: usize = 3;
pub const WEST: usize = 4;
pub const NORTH_EAST: usize = 5;
pub const NORTH_WEST: usize = 6;
pub const SOUTH_EAST: usize = 7;
pub const SOUTH_WEST: usize = 8;

/// A cell and its 8 neighbours, indexed by the constants above.
pub type Neighbors = [HashBits; 9];

/// The cell `h` and its neighbours (`geohashNeighbors`; wraps around at the edges).
pub fn neighbors(h: HashBits) -> Neighbors {
    let at = |dx: i8, dy: i8| {
        let mut n = h;
        move_x(&mut n, dx);
        move_y(&mut n, dy);
        n
    };
    let mut out = [h; 9];
    out[NORTH] = at(0, 1);
    out[SOUTH] = at(0, -1);
    out[EAST] = at(1, 0);
    out[WEST] = at(-1, 0);
    out[NORTH_EAST] = at(1, 1);
    out[NORTH_WEST] = at(-1, 1);
    out[SOUTH_EAST] = at(1, -1);
    out[SOUTH_WEST] = at(-1, -1);
    out
}

/// The step whose cells suit a search of `range_m` metres around latitude `lat`
/// (`geohashEstimateStepsByRadius`).
pub fn estimate_steps_by_radius(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut range = range_m;
    let mut step: i32 = 1;
    while range < MERCATOR_MAX {
        range *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// Great-circle distance in metres between two positions (haversine, `geohashGetDistance`).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lat1r = deg_rad(lat1d);
    let lon1r = deg_rad(lon1d);
    let lat2r = deg_rad(lat2d);
    let lon2r = deg_rad(lon2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// What a search covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// BYRADIUS / GEORADIUS: a radius in the query's unit.
    Circle { radius: f64 },
    /// BYBOX: width and height in the query's unit.
    Box { width: f64, height: f64 },
}

/// A search area (Redis's `GeoShape`): the centre `[longitude, latitude]`, the kind and the
/// metres per unit of its sizes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub center: [f64; 2],
    pub kind: ShapeKind,
    pub conversion: f64,
}

impl Shape {
    /// `[min longitude, min latitude, max longitude, max latitude]` of the area
    /// (`geohashBoundingBox`).
    pub fn bounding_box(&self) -> [f64; 4] {
        let [lon, lat] = self.center;
        let (h, w) = match self.kind {
            ShapeKind::Circle { radius } => (radius, radius),
            ShapeKind::Box { width, height } => (height / 2.0, width / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let long_delta_top = rad_deg(width / EARTH_RADIUS / deg_rad(lat + lat_delta).cos());
        let long_delta_bottom = rad_deg(width / EARTH_RADIUS / deg_rad(lat - lat_delta).cos());
        let south = lat < 0.0;
        [
            if south {
                lon - long_delta_bottom
            } else {
                lon - long_delta_top
            },
            lat - lat_delta,
            if south {
                lon + long_delta_bottom
            } else {
                lon + long_delta_top
            },
            lat + lat_delta,
        ]
    }

    /// The distance in metres from the centre to `(lon, lat)` when the point is inside the
    /// area (`geohashGetDistanceIfInRadiusWGS84` / `geohashGetDistanceIfInRectangle`).
    pub fn distance_if_inside(&self, lon: f64, lat: f64) -> Option<f64> {
        let [x1, y1] = self.center;
        match self.kind {
            ShapeKind::Circle { radius } => {
                let d = distance(x1, y1, lon, lat);
                (d <= radius * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                let lon_d = distance(lon, lat, x1, lat);
                let lat_d = distance(lon, lat, lon, y1);
                if lon_d > width_m / 2.0 || lat_d > height_m / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, lon, lat))
            }
        }
    }

    /// The cells to scan: the centre's cell and its neighbours at a step suiting the area,
    /// neighbours the bounding box cannot reach zeroed
    /// (`geohashCalculateAreasByShapeWGS84`).
    pub fn areas(&self) -> Neighbors {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let [lon, lat] = self.center;
        let radius_m = match self.kind {
            ShapeKind::Circle { radius } => radius,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps_by_radius(radius_m, lat);
        let cell = |steps| {
            let hash = encode_wgs84(lon, lat, steps).unwrap_or(HashBits {
                bits: 0,
                step: steps,
            });
            let n = neighbors(hash);
            let area = decode_wgs84(hash);
            (n, area)
        };
        let (mut n, mut area) = cell(steps);
        let dec = |h: HashBits| decode_wgs84(h);
        let mut decrease = false;
        if let (Some(north), Some(south), Some(east), Some(west)) =
            (dec(n[NORTH]), dec(n[SOUTH]), dec(n[EAST]), dec(n[WEST]))
        {
            decrease = north.latitude.max < max_lat
                || south.latitude.min > min_lat
                || east.longitude.max < max_lon
                || west.longitude.min > min_lon;
        }
        if steps > 1 && decrease {
            steps -= 1;
            (n, area) = cell(steps);
        }
        if steps >= 2 {
            if let Some(a) = area {
                let zero = HashBits::default();
                if a.latitude.min < min_lat {
                    n[SOUTH] = zero;
                    n[SOUTH_WEST] = zero;
                    n[SOUTH_EAST] = zero;
                }
                if a.latitude.max > max_lat {
                    n[NORTH] = zero;
                    n[NORTH_EAST] = zero;
                    n[NORTH_WEST] = zero;
                }
                if a.longitude.min < min_lon {
                    n[WEST] = zero;
                    n[SOUTH_WEST] = zero;
                    n[NORTH_WEST] = zero;
                }
                if a.longitude.max > max_lon {
                    n[EAST] = zero;
                    n[SOUTH_EAST] = zero;
                    n[NORTH_EAST] = zero;
                }
            }
        }
        n
    }
}

/// The scores `[min, max)` of every stored point inside cell `h` (`scoresOfGeoHashBox`).
pub fn box_scores(h: HashBits) -> (u64, u64) {
    let min = align52(h);
    let max = align52(HashBits {
        bits: h.bits.wrapping_add(1),
        step: h.step,
    });
    (min, max)
}

/// A point a search found (Redis's `geoPoint`).
#[derive(Clone, Debug, PartialEq)]
pub struct GeoPoint {
    pub longitude: f64,
    pub latitude: f64,
    /// Metres from the search centre.
    pub dist: f64,
    pub score: f64,
    pub member: Vec<u8>,
}

/// Every member of `z` inside `shape`, in Redis's order: cell by cell (centre, N, S, E, W,
/// NE, NW, SE, SW; a cell equal to the one scanned just before is skipped, except after the
/// centre), by score within a cell. With `limit > 0` (COUNT ... ANY) the scan stops once that
/// many were found.
pub fn search(z: &ZSetValue, shape: &Shape, limit: usize) -> Vec<GeoPoint> {
    let cells = shape.areas();
    let mut out: Vec<GeoPoint> = Vec::new();
    let mut last_processed = 0usize;
    for (i, h) in cells.iter().enumerate() {
        if h.is_zero() {
            continue;
        }
        if last_processed != 0 && *h == cells[last_processed] {
            continue;
        }
        if !out.is_empty() && limit > 0 && out.len() >= limit {
            break;
        }
        let (min, max) = box_scores(*h);
        let range = ScoreRange {
            min: min as f64,
            max: max as f64,
            min_ex: false,
            max_ex: true,
        };
        let (a, b) = z.score_ranks(&range);
        for (m, score) in z.iter_ranks(a, b, false) {
            let [lon, lat] = decode_score(score);
            if let Some(dist) = shape.distance_if_inside(lon, lat) {
                out.push(GeoPoint {
                    longitude: lon,
                    latitude: lat,
                    dist,
                    score,
                    member: m.to_vec(),
                });
            }
            if !out.is_empty() && limit > 0 && out.len() >= limit {
                break;
            }
        }
        last_processed = i;
    }
    out
}

/// Redis's `pqsort` (NetBSD's Bentley-McIlroy quicksort, recursing only into partitions that
/// overlap ranks `[lrange, rrange]`): after it, those ranks hold what a full sort would put
/// there. GEORADIUS/GEOSEARCH use it with COUNT, so ties come out in the order Redis gives.
/// As in Redis 7.0.15's copy (checked against the real server), a partition pass that swapped
/// nothing does not switch to insertion sort; only partitions under 7 elements are
/// insertion-sorted.
pub fn pqsort<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    lrange: usize,
    rrange: usize,
) {
    pqsort_at(v, 0, v.len(), cmp, lrange, rrange);
}

fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
) -> usize {
    use std::cmp::Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

fn insertion<T>(v: &mut [T], a: usize, n: usize, cmp: &impl Fn(&T, &T) -> std::cmp::Ordering) {
    for pm in a + 1..a + n {
        let mut pl = pm;
        while pl > a && cmp(&v[pl - 1], &v[pl]) == std::cmp::Ordering::Greater {
            v.swap(pl, pl - 1);
            pl -= 1;
        }
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

fn pqsort_at<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    lr: usize,
    rr: usize,
) {
    use std::cmp::Ordering::{Equal, Greater, Less};
    loop {
        if n < 7 {
            insertion(v, a, n, cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // pc and pd may step below `a + 1`; signed arithmetic keeps the comparisons right.
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb as isize <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Greater {
                    break;
                }
                if c == Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb as isize <= pc {
                let c = cmp(&v[pc as usize], &v[a]);
                if c == Less {
                    break;
                }
                if c == Equal {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb as isize > pc {
                break;
            }
            v.swap(pb, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = ((pd - pc) as usize).min(pn - pd as usize - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 {
            let (lo, hi) = (a, a + r);
            if !((lr < lo && rr < lo) || (lr >= hi && rr >= hi)) {
                pqsort_at(v, a, r, cmp, lr, rr);
            }
        }
        let r = (pd - pc) as usize;
        if r > 1 {
            a = pn - r;
            n = r;
            let (lo, hi) = (a, a + r);
            if !((lr < lo && rr < lo) || (lr >= hi && rr >= hi)) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ffffff, 0x1234567),
            (u32::MAX, 7),
        ] {
            let v = interleave64(x, y);
            let d = deinterleave64(v);
            assert_eq!((d as u32, (d >> 32) as u32), (x, y));
        }
        assert_eq!(interleave64(1, 0), 1);
        assert_eq!(interleave64(0, 1), 2);
    }

    #[test]
    fn pqsort_sorts_the_requested_ranks() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 5, 7, 8, 30, 41, 100, 300] {
            let v: Vec<u32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((seed >> 33) % 50) as u32
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort();
            for k in [1usize, 3, 10, n] {
                if k == 0 || k > n {
                    continue;
                }
                let mut w = v.clone();
                pqsort(&mut w, &|a: &u32, b: &u32| a.cmp(b), 0, k - 1);
                assert_eq!(&w[..k], &sorted[..k], "n={n} k={k}");
                let mut all = w.clone();
                all.sort();
                assert_eq!(all, sorted);
            }
        }
    }
}
