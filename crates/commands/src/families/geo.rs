//! Geo family: GEOADD GEOPOS GEODIST GEOHASH GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO, as Redis 7.0's geo.c replies. A geo key
//! is a sorted set whose scores are 52-bit geohashes (`darter_collections::geohash` holds the
//! arithmetic and the 9-cell search); this module parses, looks keys up and writes replies.
//!
//! How each reaches its shards:
//! - GEOADD GEOPOS GEODIST GEOHASH GEOSEARCH and the `_RO` searches: one key, a shard handler;
//! - GEOSEARCHSTORE and GEORADIUS / GEORADIUSBYMEMBER (which may STORE): always the coordinator,
//!   which finds the destination with the same option loop the search uses. Without a
//!   destination, or with source and destination on one shard, the whole command runs in one
//!   hop on that shard; otherwise one transaction locks both keys, a hop searches the source and
//!   the concluding hop replaces (or deletes) the destination, so nobody sees a half-done STORE.
//!   (Redis's key specs find the first STORE while Redis uses the last one; routing on our own
//!   parse keeps the write on the right shard whatever the order.)
//!
//! Replies follow geo.c: errors in its order (the source's type first, then the centre and
//! size, then options in argument order, then the cross-option checks), distances with 4
//! decimals, coordinates as `%.17Lf` with trailing zeros cut, results ordered as Redis orders
//! them (unsorted: cell by cell; ASC/DESC: a stable sort, or Redis's partial quicksort when
//! COUNT cuts, so ties come out as in Redis). Stored results are built like ZUNIONSTORE's and
//! converted to a listpack when they fit.

use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::families::set::{parts, WrongType};
use crate::families::zset::{find_zset, read_zset};
use crate::multi::{panic_reply, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::geohash::{self, GeoPoint, Shape, ShapeKind};
use darter_collections::num::{parse_f64, string2ll};
use darter_collections::zsetval::{AddFlags, AddOutcome, ZSetValue};
use darter_collections::{Limits, Value};
use darter_engine::keys::shard_of;
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Panicked, Record, Shard};
use darter_resp::{Protocol, ReplyWriter};

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("geoadd", Handler::Shard(cmd_geoadd)),
    Cmd::new("geopos", Handler::Shard(cmd_geopos)),
    Cmd::new("geodist", Handler::Shard(cmd_geodist)),
    Cmd::new("geohash", Handler::Shard(cmd_geohash)),
    Cmd::new("geosearch", Handler::Shard(cmd_geosearch)),
    Cmd::new("georadius_ro", Handler::Shard(cmd_georadius_ro)),
    Cmd::new(
        "georadiusbymember_ro",
        Handler::Shard(cmd_georadiusbymember_ro),
    ),
    Cmd::new(
        "georadius",
        Handler::Multi {
            shard: None,
            coord: cmd_georadius,
        },
    ),
    Cmd::new(
        "georadiusbymember",
        Handler::Multi {
            shard: None,
            coord: cmd_georadiusbymember,
        },
    ),
    Cmd::new(
        "geosearchstore",
        Handler::Multi {
            shard: None,
            coord: cmd_geosearchstore,
        },
    ),
];

// -------------------------------------------------------------------------------------------------
// Shared pieces
// -------------------------------------------------------------------------------------------------

/// A geo command's failure: a message for `ReplyWriter::error` (without the leading `-`).
pub type GeoError = String;

fn err(msg: &str) -> GeoError {
    msg.to_string()
}

/// Redis's `getDoubleFromObject`: `strtod` over the whole argument, no leading space, not NaN,
/// and neither overflowing to an infinity nor underflowing to zero (ERANGE).
pub fn parse_double(a: &[u8]) -> Option<f64> {
    let v = parse_f64(a)?;
    if v.is_nan() {
        return None;
    }
    let lower = a.to_ascii_lowercase();
    let body = lower.strip_prefix(b"+").unwrap_or(&lower);
    let body = body.strip_prefix(b"-").unwrap_or(body);
    if v.is_infinite() && !matches!(body, b"inf" | b"infinity") {
        return None; // overflow
    }
    if v == 0.0 {
        // Underflow: a non-zero mantissa that came out as zero.
        let (digits, hex) = match body.strip_prefix(b"0x") {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        let mant_end = digits
            .iter()
            .position(|&c| c == if hex { b'p' } else { b'e' })
            .unwrap_or(digits.len());
        if digits[..mant_end]
            .iter()
            .any(|c| c.is_ascii_alphanumeric() && *c != b'0')
        {
            return None;
        }
    }
    Some(v)
}

/// `getDoubleFromObjectOrReply` with an optional custom message.
fn double_or(a: &[u8], msg: Option<&str>) -> Result<f64, GeoError> {
    parse_double(a).ok_or_else(|| match msg {
        Some(m) => format!("ERR {m}"),
        None => err(errors::NOT_FLOAT),
    })
}

/// Redis's `extractLongLatOrReply`: two floats, then the range check.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], GeoError> {
    let x = double_or(lon, None)?;
    let y = double_or(lat, None)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y)
    {
        return Err(format!(
            "ERR invalid longitude,latitude pair {},{}",
            c_fixed6(x),
            c_fixed6(y)
        ));
    }
    Ok([x, y])
}

/// C's `%f`.
fn c_fixed6(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{v:.6}")
}

/// Metres per unit (`extractUnitOrReply`).
fn unit(u: &[u8]) -> Result<f64, GeoError> {
    let u = u.to_ascii_lowercase();
    match &u[..] {
        b"m" => Ok(1.0),
        b"km" => Ok(1000.0),
        b"ft" => Ok(0.3048),
        b"mi" => Ok(1609.34),
        _ => Err(err(errors::GEO_UNIT)),
    }
}

/// `extractDistanceOrReply`: (radius, metres per unit).
fn radius_unit(r: &[u8], u: &[u8]) -> Result<(f64, f64), GeoError> {
    let d = double_or(r, Some("need numeric radius"))?;
    if d < 0.0 {
        return Err(err(errors::GEO_NEGATIVE_RADIUS));
    }
    Ok((d, unit(u)?))
}

/// `extractBoxOrReply`: (width, height, metres per unit).
fn box_unit(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), GeoError> {
    let w = double_or(w, Some("need numeric width"))?;
    let h = double_or(h, Some("need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(err(errors::GEO_NEGATIVE_BOX));
    }
    Ok((w, h, unit(u)?))
}

/// A coordinate as Redis's `addReplyHumanLongDouble` writes it: `%.17Lf` without trailing
/// zeros (and without the point when nothing follows it); RESP3 as a double.
fn reply_coord(w: &mut ReplyWriter, v: f64) {
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(t);
    }
    if s == "-0" {
        s = "0".into();
    }
    if w.proto == Protocol::Resp3 {
        w.raw(b",");
        w.raw(s.as_bytes());
        w.raw(b"\r\n");
    } else {
        w.bulk(s.as_bytes());
    }
}

/// A distance with 4 decimals (`addReplyDoubleDistance`), always a bulk string.
fn reply_distance(w: &mut ReplyWriter, d: f64) {
    w.bulk(format!("{d:.4}").as_bytes());
}

/// C's implicit `(long long)score` on x86-64 (out of range: the "integer indefinite" value).
fn c_double_to_i64(d: f64) -> i64 {
    const TWO63: f64 = 9223372036854775808.0;
    if d.is_nan() || !(-TWO63..TWO63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

// -------------------------------------------------------------------------------------------------
// GEOADD
// -------------------------------------------------------------------------------------------------

/// GEOADD's parsed arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct GeoAdd {
    pub nx: bool,
    pub xx: bool,
    pub ch: bool,
    /// (score, member) in argument order.
    pub items: Vec<(f64, Bytes)>,
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: options, then every triple's
/// position (so a bad position anywhere fails before the key is looked at).
pub fn parse_geoadd(args: &[Bytes]) -> Result<GeoAdd, GeoError> {
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if a.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if a.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &args[i..];
    if !rest.len().is_multiple_of(3) || (nx && xx) {
        return Err(err(errors::SYNTAX));
    }
    let mut items = Vec::with_capacity(rest.len() / 3);
    for t in rest.chunks(3) {
        let [lon, lat] = lon_lat(&t[0], &t[1])?;
        let score = geohash::score_of(lon, lat).expect("position checked") as f64;
        items.push((score, t[2].clone()));
    }
    if items.is_empty() {
        // ZADD with no score/member pairs.
        return Err(err(errors::SYNTAX));
    }
    Ok(GeoAdd { nx, xx, ch, items })
}

/// Adds the members as ZADD does (Redis 7.2's creation and conversion rules); returns the
/// reply: members added, plus members moved with CH.
pub fn op_geoadd(
    db: &mut DbSlice,
    key: &[u8],
    g: &GeoAdd,
    l: &Limits,
    now: u64,
) -> Result<i64, WrongType> {
    let flags = AddFlags {
        nx: g.nx,
        xx: g.xx,
        ..AddFlags::default()
    };
    let n = g.items.len();
    // (reply count, whether anything changed: GEOADD is ZADD, which reports `zadd` then).
    let add_all = |z: &mut ZSetValue| {
        let (mut count, mut changed) = (0, false);
        for (s, m) in &g.items {
            match z.add(m, *s, flags, l) {
                AddOutcome::Added(_) => {
                    count += 1;
                    changed = true;
                }
                AddOutcome::Updated(_) => {
                    count += i64::from(g.ch);
                    changed = true;
                }
                _ => {}
            }
        }
        (count, changed)
    };
    let (count, changed) = match find_zset(db, key, now)? {
        Some(z) => {
            z.maybe_convert(n, l);
            add_all(z)
        }
        None => {
            if g.xx {
                return Ok(0);
            }
            let maxlen = g.items.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
            let mut z = ZSetValue::create(n, maxlen, l);
            let r = add_all(&mut z);
            db.set(key, Record::new(Value::ZSet(z)));
            r
        }
    };
    if changed {
        db.notify(notify::ZSET, "zadd", key);
    }
    Ok(count)
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]
fn cmd_geoadd(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let g = match parse_geoadd(args) {
        Ok(g) => g,
        Err(e) => return w.error(&e),
    };
    let (db, _, l) = parts(sc);
    match op_geoadd(db, &args[1], &g, &l, now) {
        Ok(n) => w.int(n),
        Err(WrongType) => w.error(errors::WRONGTYPE),
    }
}

// -------------------------------------------------------------------------------------------------
// GEOPOS GEOHASH GEODIST
// -------------------------------------------------------------------------------------------------

/// The scores of `members` in `key` (None: not a member, or no key).
pub fn op_scores(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    members: &[Bytes],
    now: u64,
) -> Result<Vec<Option<f64>>, WrongType> {
    let z = read_zset(db, stats, key, now)?;
    Ok(members
        .iter()
        .map(|m| z.as_ref().and_then(|z| z.score(m)))
        .collect())
}

/// GEOPOS key [member ...]
fn cmd_geopos(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match op_scores(db, stats, &args[1], &args[2..], now) {
        Err(WrongType) => w.error(errors::WRONGTYPE),
        Ok(scores) => {
            w.array(scores.len());
            for s in scores {
                match s {
                    None => w.null_array(),
                    Some(s) => {
                        let [lon, lat] = geohash::decode_score(s);
                        w.array(2);
                        reply_coord(w, lon);
                        reply_coord(w, lat);
                    }
                }
            }
        }
    }
}

/// GEOHASH key [member ...]
fn cmd_geohash(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match op_scores(db, stats, &args[1], &args[2..], now) {
        Err(WrongType) => w.error(errors::WRONGTYPE),
        Ok(scores) => {
            w.array(scores.len());
            for s in scores {
                match s {
                    None => w.null(),
                    Some(s) => w.bulk(&geohash::hash_string(s)),
                }
            }
        }
    }
}

/// GEODIST's answer: the distance in the unit, or None (no key, or a member missing).
pub fn op_geodist(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    args: &[Bytes],
    now: u64,
) -> Result<Option<f64>, GeoError> {
    let to_meter = match args.len() {
        5 => unit(&args[4])?,
        n if n > 5 => return Err(err(errors::SYNTAX)),
        _ => 1.0,
    };
    let Some(z) = read_zset(db, stats, &args[1], now).map_err(|_| err(errors::WRONGTYPE))? else {
        return Ok(None);
    };
    let (Some(s1), Some(s2)) = (z.score(&args[2]), z.score(&args[3])) else {
        return Ok(None);
    };
    let [x1, y1] = geohash::decode_score(s1);
    let [x2, y2] = geohash::decode_score(s2);
    Ok(Some(geohash::distance(x1, y1, x2, y2) / to_meter))
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
fn cmd_geodist(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let (db, stats, _) = parts(sc);
    match op_geodist(db, stats, args, now) {
        Err(e) => w.error(&e),
        Ok(None) => w.null(),
        Ok(Some(d)) => reply_distance(w, d),
    }
}

// -------------------------------------------------------------------------------------------------
// The searches
// -------------------------------------------------------------------------------------------------

/// Which search command (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// GEORADIUS key lon lat radius unit ...
    Radius { store: bool },
    /// GEORADIUSBYMEMBER key member radius unit ...
    ByMember { store: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE dst src ...
    SearchStore,
}

impl Variant {
    /// Argument index of the source key.
    pub fn src_index(self) -> usize {
        if self == Variant::SearchStore {
            2
        } else {
            1
        }
    }

    fn is_search(self) -> bool {
        matches!(self, Variant::Search | Variant::SearchStore)
    }

    fn accepts_store(self) -> bool {
        matches!(
            self,
            Variant::Radius { store: true } | Variant::ByMember { store: true }
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The area; None only when the source key is missing (nothing needs it then).
    pub shape: Option<Shape>,
    pub withdist: bool,
    pub withhash: bool,
    pub withcoord: bool,
    pub sort: Sort,
    pub any: bool,
    /// COUNT (0: none).
    pub count: usize,
    /// The destination (STORE / STOREDIST / GEOSEARCHSTORE's first key).
    pub store: Option<Bytes>,
    /// Store distances instead of geohashes.
    pub storedist: bool,
}

/// The centre/size pieces gathered while parsing.
#[derive(Default)]
struct Partial {
    center: Option<[f64; 2]>,
    kind: Option<ShapeKind>,
    conversion: f64,
}

/// Redis's `georadiusGeneric` argument handling, in its order, given the source zset (None
/// when the key is missing: member positions are then not looked up and a GEORADIUSBYMEMBER's
/// radius is not even parsed, as in Redis). The caller checked the source's type first.
pub fn parse_search(
    args: &[Bytes],
    v: Variant,
    src: Option<&ZSetValue>,
) -> Result<Query, GeoError> {
    let member_pos = |z: &ZSetValue, m: &[u8]| -> Result<[f64; 2], GeoError> {
        z.score(m)
            .map(geohash::decode_score)
            .ok_or_else(|| err(errors::GEO_MEMBER_NOT_FOUND))
    };
    let mut p = Partial::default();
    let mut store = None;
    let base = match v {
        Variant::Radius { .. } => {
            p.center = Some(lon_lat(&args[2], &args[3])?);
            let (r, c) = radius_unit(&args[4], &args[5])?;
            p.kind = Some(ShapeKind::Circle { radius: r });
            p.conversion = c;
            6
        }
        Variant::ByMember { .. } => {
            if let Some(z) = src {
                p.center = Some(member_pos(z, &args[2])?);
                let (r, c) = radius_unit(&args[3], &args[4])?;
                p.kind = Some(ShapeKind::Circle { radius: r });
                p.conversion = c;
            }
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            store = Some(args[1].clone());
            3
        }
    };
    let mut q = Query {
        shape: None,
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store,
        storedist: false,
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let search = v.is_search();
    let opts = &args[base.min(args.len())..];
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let a = &opts[i];
        let is = |w: &str| a.eq_ignore_ascii_case(w.as_bytes());
        if is("withdist") {
            q.withdist = true;
        } else if is("withhash") {
            q.withhash = true;
        } else if is("withcoord") {
            q.withcoord = true;
        } else if is("any") {
            q.any = true;
        } else if is("asc") {
            q.sort = Sort::Asc;
        } else if is("desc") {
            q.sort = Sort::Desc;
        } else if is("count") && i + 1 < remaining {
            let c = string2ll(&opts[i + 1]).ok_or_else(|| err(errors::NOT_INTEGER))?;
            if c <= 0 {
                return Err(err(errors::GEO_COUNT_NOT_POSITIVE));
            }
            q.count = c as usize;
            i += 1;
        } else if (is("store") || is("storedist")) && i + 1 < remaining && v.accepts_store() {
            q.store = Some(opts[i + 1].clone());
            q.storedist = is("storedist");
            i += 1;
        } else if is("storedist") && v == Variant::SearchStore {
            q.storedist = true;
        } else if is("frommember") && i + 1 < remaining && search && !fromloc {
            if let Some(z) = src {
                p.center = Some(member_pos(z, &opts[i + 1])?);
            }
            frommember = true;
            i += 1;
        } else if is("fromlonlat") && i + 2 < remaining && search && !frommember {
            p.center = Some(lon_lat(&opts[i + 1], &opts[i + 2])?);
            fromloc = true;
            i += 2;
        } else if is("byradius") && i + 2 < remaining && search && !bybox {
            let (r, c) = radius_unit(&opts[i + 1], &opts[i + 2])?;
            p.kind = Some(ShapeKind::Circle { radius: r });
            p.conversion = c;
            byradius = true;
            i += 2;
        } else if is("bybox") && i + 3 < remaining && search && !byradius {
            let (w, h, c) = box_unit(&opts[i + 1], &opts[i + 2], &opts[i + 3])?;
            p.kind = Some(ShapeKind::Box {
                width: w,
                height: h,
            });
            p.conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(err(errors::SYNTAX));
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        let who = if v == Variant::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(format!(
            "ERR {who} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        ));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if search && !(frommember || fromloc) {
        return Err(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        ));
    }
    if search && !(byradius || bybox) {
        return Err(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        ));
    }
    if q.any && q.count == 0 {
        return Err(err(errors::GEO_ANY_WITHOUT_COUNT));
    }
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    if let (Some(center), Some(kind)) = (p.center, p.kind) {
        q.shape = Some(Shape {
            center,
            kind,
            conversion: p.conversion,
        });
    }
    Ok(q)
}

/// A search's matches, sorted and cut as Redis does; distances converted to the query's unit.
pub fn run_query(z: &ZSetValue, q: &Query) -> Vec<GeoPoint> {
    let Some(shape) = q.shape else {
        return Vec::new();
    };
    let limit = if q.any { q.count } else { 0 };
    let mut pts = geohash::search(z, &shape, limit);
    let n = pts.len();
    let returned = if q.count == 0 || n < q.count {
        n
    } else {
        q.count
    };
    let asc = |a: &GeoPoint, b: &GeoPoint| {
        a.dist
            .partial_cmp(&b.dist)
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let desc = |a: &GeoPoint, b: &GeoPoint| asc(b, a);
    match q.sort {
        Sort::None => {}
        Sort::Asc if returned == n => pts.sort_by(asc),
        Sort::Desc if returned == n => pts.sort_by(desc),
        Sort::Asc => geohash::pqsort(&mut pts, &asc, 0, returned - 1),
        Sort::Desc => geohash::pqsort(&mut pts, &desc, 0, returned - 1),
    }
    pts.truncate(returned);
    for p in &mut pts {
        p.dist /= shape.conversion;
    }
    pts
}

/// A search's outcome on the source's shard.
#[derive(Clone, Debug, PartialEq)]
pub enum Found {
    /// The matches to reply with or store.
    Points(Query, Vec<GeoPoint>),
    /// The source key is missing: an empty array, or 0 and the destination deleted.
    NoKey(Query),
}

/// Looks the source up and runs the search: everything but the reply and the store.
pub fn op_search(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    args: &[Bytes],
    v: Variant,
    now: u64,
) -> Result<Found, GeoError> {
    let z = read_zset(db, stats, &args[v.src_index()], now)
        .map_err(|_| err(errors::WRONGTYPE))?
        .map(|z| &*z);
    let q = parse_search(args, v, z)?;
    Ok(match z {
        None => Found::NoKey(q),
        Some(z) => {
            let pts = run_query(z, &q);
            Found::Points(q, pts)
        }
    })
}

/// The sorted set a STORE writes: members with their geohash, or their distance with STOREDIST.
pub fn build_store(pts: &[GeoPoint], storedist: bool, l: &Limits) -> Option<ZSetValue> {
    if pts.is_empty() {
        return None;
    }
    let maxlen = pts.iter().map(|p| p.member.len()).max().unwrap_or(0);
    // Redis builds a skiplist and converts it afterwards (`zsetConvertToListpackIfNeeded`).
    let mut z = ZSetValue::create(pts.len(), maxlen.max(l.zset_max_listpack_value + 1), l);
    for p in pts {
        let s = if storedist { p.dist } else { p.score };
        z.add(&p.member, s, AddFlags::default(), l);
    }
    z.maybe_convert_to_packed(l);
    Some(z)
}

/// Replaces `dst` with the result (deleting it when empty); returns the reply count.
/// Reports `geosearchstore` / `georadiusstore`, or `del` when an existing `dst` is deleted.
pub fn op_store(
    db: &mut DbSlice,
    dst: &[u8],
    result: Option<ZSetValue>,
    v: Variant,
    now: u64,
) -> i64 {
    match result {
        Some(z) => {
            let n = z.len() as i64;
            db.set(dst, Record::new(Value::ZSet(z)));
            let event = match v {
                Variant::SearchStore | Variant::Search => "geosearchstore",
                Variant::Radius { .. } | Variant::ByMember { .. } => "georadiusstore",
            };
            db.notify(notify::ZSET, event, dst);
            n
        }
        None => {
            if db.remove(dst, now).is_some() {
                db.notify(notify::GENERIC, "del", dst);
            }
            0
        }
    }
}

/// The reply of a search without STORE.
fn reply_points(w: &mut ReplyWriter, q: &Query, pts: &[GeoPoint]) {
    let opts = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    w.array(pts.len());
    for p in pts {
        if opts > 0 {
            w.array(opts + 1);
        }
        w.bulk(&p.member);
        if q.withdist {
            reply_distance(w, p.dist);
        }
        if q.withhash {
            w.int(c_double_to_i64(p.score));
        }
        if q.withcoord {
            w.array(2);
            reply_coord(w, p.longitude);
            reply_coord(w, p.latitude);
        }
    }
}

/// What a search command answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Matches to list.
    List(Query, Vec<GeoPoint>),
    /// A STORE's count.
    Stored(i64),
}

fn reply_outcome(w: &mut ReplyWriter, r: Result<Outcome, GeoError>) {
    match r {
        Err(e) => w.error(&e),
        Ok(Outcome::Stored(n)) => w.int(n),
        Ok(Outcome::List(q, pts)) => reply_points(w, &q, &pts),
    }
}

/// A whole search on one shard (source and any destination both here).
pub fn op_search_all(
    s: &mut Shard,
    db: usize,
    args: &[Bytes],
    v: Variant,
    now: u64,
) -> Result<Outcome, GeoError> {
    let l = s.limits;
    let shard = &mut *s;
    let found = op_search(&mut shard.dbs[db], &mut shard.stats, args, v, now)?;
    let (q, pts) = match found {
        Found::NoKey(q) => (q, Vec::new()),
        Found::Points(q, pts) => (q, pts),
    };
    match &q.store {
        None => Ok(Outcome::List(q, pts)),
        Some(dst) => {
            let z = build_store(&pts, q.storedist, &l);
            Ok(Outcome::Stored(op_store(
                &mut shard.dbs[db],
                dst,
                z,
                v,
                now,
            )))
        }
    }
}

fn shard_search(sc: &mut ShardCmd, w: &mut ReplyWriter, v: Variant) {
    let (args, now, db) = (sc.args, sc.now_ms, sc.db);
    sc.shard.dbs[db].observe(now);
    let r = op_search_all(sc.shard, db, args, v, now);
    reply_outcome(w, r);
}

/// GEOSEARCH key FROMMEMBER member|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit
/// [ASC|DESC] [COUNT n [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
fn cmd_geosearch(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_search(sc, w, Variant::Search)
}

/// GEORADIUS_RO key lon lat radius unit [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT n [ANY]]
/// [ASC|DESC]
fn cmd_georadius_ro(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_search(sc, w, Variant::Radius { store: false })
}

/// GEORADIUSBYMEMBER_RO key member radius unit [options as GEORADIUS_RO]
fn cmd_georadiusbymember_ro(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    shard_search(sc, w, Variant::ByMember { store: false })
}

/// GEORADIUS key lon lat radius unit [...] [STORE key] [STOREDIST key]
fn cmd_georadius(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_search(c, args, Variant::Radius { store: true }))
}

/// GEORADIUSBYMEMBER key member radius unit [...] [STORE key] [STOREDIST key]
fn cmd_georadiusbymember(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_search(c, args, Variant::ByMember { store: true }))
}

/// GEOSEARCHSTORE dst src FROMMEMBER ...|FROMLONLAT ... BYRADIUS ...|BYBOX ... [ASC|DESC]
/// [COUNT n [ANY]] [STOREDIST]
fn cmd_geosearchstore(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(coord_search(c, args, Variant::SearchStore))
}

/// A search that may store (see the module docs for the hops).
async fn coord_search(c: &mut Conn, args: Vec<Bytes>, v: Variant) {
    match search_across(c, args, v).await {
        Ok(r) => reply_outcome(&mut c.out, r),
        Err(p) => panic_reply(c, &p),
    }
}

async fn search_across(
    c: &Conn,
    args: Vec<Bytes>,
    v: Variant,
) -> Result<Result<Outcome, GeoError>, Panicked> {
    let engine = c.engine().clone();
    let n = engine.num_shards();
    let db = c.state.db;
    let src = args[v.src_index()].clone();
    // The destination, found by the option loop alone (a dry run without the source's data:
    // when it fails, the real run on the source's shard fails too, with Redis's error).
    let dst = parse_search(&args, v, None).ok().and_then(|q| q.store);
    let mut keys = vec![(v.src_index(), src.clone())];
    if let Some(d) = &dst {
        keys.push((0, d.clone()));
    }
    let groups = KeyGroups::new(n, db, keys, dst.is_some());
    if groups.shards.len() == 1 {
        return engine
            .run_on(groups.shards[0], &groups.locks[0], move |s| {
                let now = s.now_ms();
                op_search_all(s, db, &args, v, now)
            })
            .await;
    }
    let dst = dst.expect("two shards means a destination");
    let si = groups.index_of(shard_of(&src, n)).expect("source shard");
    let now = engine.clock.now_ms();
    let mut tx = groups.schedule(c).await;
    let args2 = args.clone();
    let jobs = (0..2)
        .map(|i| {
            if i != si {
                return None;
            }
            let args = args2.clone();
            Some(Box::new(move |s: &mut Shard| {
                let shard = &mut *s;
                op_search(&mut shard.dbs[db], &mut shard.stats, &args, v, now)
            }) as HopFn<_>)
        })
        .collect();
    let mut found = None;
    for r in tx.hop(jobs, false).await.into_iter().flatten() {
        found = Some(r?);
    }
    let (q, pts) = match found.expect("the source shard had a job") {
        Err(e) => {
            let none: Vec<Option<HopFn<()>>> = vec![None, None];
            tx.hop(none, true).await;
            return Ok(Err(e));
        }
        Ok(Found::NoKey(q)) => (q, Vec::new()),
        Ok(Found::Points(q, pts)) => (q, pts),
    };
    debug_assert_eq!(q.store.as_ref(), Some(&dst));
    let mut pts = Some(pts);
    let storedist = q.storedist;
    let jobs = (0..2)
        .map(|i| {
            if i == si {
                return None;
            }
            let (dst, pts) = (dst.clone(), pts.take().unwrap_or_default());
            Some(Box::new(move |s: &mut Shard| {
                let (now, l) = (s.now_ms(), s.limits);
                let z = build_store(&pts, storedist, &l);
                op_store(&mut s.dbs[db], &dst, z, v, now)
            }) as HopFn<i64>)
        })
        .collect();
    let mut stored = 0;
    for r in tx.hop(jobs, true).await.into_iter().flatten() {
        stored = r?;
    }
    Ok(Ok(Outcome::Stored(stored)))
}
