//! Bit operations on strings: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO, as Redis
//! 7.0's bitops.c, reply for reply and error for error.
//!
//! Bits are numbered from the most significant bit of the first byte. Single-key commands run on
//! the key's shard (`cmd_*` parses, `op_*` works on the `DbSlice`). BITOP whose keys share a shard
//! runs there; otherwise its coordinator runs one VLL transaction: a first hop reads every source
//! on its shard, the result is computed here, and the concluding hop writes (or deletes) the
//! destination, so no client ever sees a destination built from sources at different moments.
//!
//! Writers (SETBIT, BITFIELD with SET/INCRBY) grow the string with zero bytes first and turn it
//! into a `raw` string, as Redis's `lookupStringForBitCommand` does, even when the write then
//! changes nothing (OVERFLOW FAIL). Offsets are limited by Redis's default `proto-max-bulk-len`
//! (512MB), which shard-side code uses because it cannot see the server's config.

use crate::context::{Conn, ShardCmd};
use crate::errors;
use crate::families::string::DEFAULT_MAX_BULK_LEN;
use crate::multi::{panic_reply, KeyGroups};
use crate::registry::{Cmd, Handler, LocalBoxFuture};
use bytes::Bytes;
use darter_collections::num::string2ll;
use darter_collections::{StrValue, Value};
use darter_engine::notify;
use darter_engine::shard::ShardStats;
use darter_engine::tx::HopFn;
use darter_engine::{DbSlice, Record, Shard};
use darter_resp::ReplyWriter;

#[cfg(test)]
mod tests;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("setbit", Handler::Shard(cmd_setbit)),
    Cmd::new("getbit", Handler::Shard(cmd_getbit)),
    Cmd::new("bitcount", Handler::Shard(cmd_bitcount)),
    Cmd::new("bitpos", Handler::Shard(cmd_bitpos)),
    Cmd::new(
        "bitop",
        Handler::Multi {
            shard: Some(cmd_bitop_shard),
            coord: cmd_bitop,
        },
    ),
    Cmd::new("bitfield", Handler::Shard(cmd_bitfield)),
    Cmd::new("bitfield_ro", Handler::Shard(cmd_bitfield_ro)),
];

/// Why a bit operation did not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpError {
    WrongType,
}

impl OpError {
    pub fn message(self) -> &'static str {
        match self {
            OpError::WrongType => errors::WRONGTYPE,
        }
    }
}

// -------------------------------------------------------------------------------------------------
// Bit-level helpers on byte slices (bit 0 is the most significant bit of byte 0).
// -------------------------------------------------------------------------------------------------

/// Set bits in `b`, eight bytes at a time.
pub fn popcount(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    let mut n: u64 = chunks
        .by_ref()
        .map(|c| u64::from(u64::from_ne_bytes(c.try_into().expect("8 bytes")).count_ones()))
        .sum();
    n += chunks
        .remainder()
        .iter()
        .map(|x| u64::from(x.count_ones()))
        .sum::<u64>();
    n
}

/// Set bits among bits `first..=last` of `b` (both inside `b`).
pub fn count_range(b: &[u8], first: u64, last: u64) -> u64 {
    let (sb, eb) = ((first >> 3) as usize, (last >> 3) as usize);
    let head = !(0xFFu8 >> (first & 7)); // bits of b[sb] before `first`
    let tail = 0x7Fu8 >> (last & 7); // bits of b[eb] after `last`
    popcount(&b[sb..=eb])
        - u64::from((b[sb] & head).count_ones())
        - u64::from((b[eb] & tail).count_ones())
}

/// The first bit equal to `bit` among bits `first..=last` of `b` (both inside `b`).
pub fn find_bit(b: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let (sb, eb) = ((first >> 3) as usize, (last >> 3) as usize);
    // `flip` turns the bits we look for into ones.
    let flip = if bit { 0u8 } else { 0xFF };
    let masked = |i: usize| {
        let mut v = b[i] ^ flip;
        if i == sb {
            v &= 0xFF >> (first & 7);
        }
        if i == eb {
            v &= !(0x7Fu8 >> (last & 7));
        }
        v
    };
    let at = |i: usize, v: u8| Some(i as u64 * 8 + u64::from(v.leading_zeros()));
    let v = masked(sb);
    if v != 0 {
        return at(sb, v);
    }
    if sb == eb {
        return None;
    }
    // The bytes strictly between the edges, a word at a time.
    let mut i = sb + 1;
    let skip = if bit { 0u64 } else { u64::MAX };
    while i + 8 <= eb {
        let w = u64::from_ne_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        if w != skip {
            break;
        }
        i += 8;
    }
    while i < eb {
        let v = b[i] ^ flip;
        if v != 0 {
            return at(i, v);
        }
        i += 1;
    }
    let v = masked(eb);
    (v != 0).then(|| at(eb, v)).flatten()
}

/// Reads bit `i` of `b` (zero past the end).
fn bit_at(b: &[u8], i: u64) -> u64 {
    match b.get((i >> 3) as usize) {
        Some(&x) => u64::from((x >> (7 - (i & 7))) & 1),
        None => 0,
    }
}

/// Redis's `getUnsignedBitfield`: `bits` (1..=64) bits from `offset`, zero past the end.
pub fn get_unsigned(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for j in 0..u64::from(bits) {
        v = (v << 1) | bit_at(b, offset + j);
    }
    v
}

/// Redis's `getSignedBitfield`: like `get_unsigned`, sign-extended.
pub fn get_signed(b: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(b, offset, bits);
    if bits == 64 {
        v as i64
    } else {
        ((v << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// Redis's `setUnsignedBitfield`: writes the low `bits` bits of `value` from `offset` (inside `b`).
pub fn set_bits(b: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let on = (value >> (u64::from(bits) - 1 - j)) & 1 == 1;
        let i = offset + j;
        let (byte, mask) = ((i >> 3) as usize, 0x80u8 >> (i & 7));
        if on {
            b[byte] |= mask;
        } else {
            b[byte] &= !mask;
        }
    }
}

// -------------------------------------------------------------------------------------------------
// Argument parsing shared by the commands.
// -------------------------------------------------------------------------------------------------

/// Redis compares option words as C strings: an argument matches up to its first NUL byte.
fn opt_is(arg: &[u8], word: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(word.as_bytes())
}

/// Redis's `getBitOffsetFromArgument`: a bit offset, or with `bits` (BITFIELD) also `#N`
/// meaning N * bits. The offset's byte must lie below `proto-max-bulk-len`.
pub fn parse_offset(arg: &[u8], bits: Option<u32>) -> Result<u64, &'static str> {
    let hash = bits.filter(|_| arg.first() == Some(&b'#'));
    let text = if hash.is_some() { &arg[1..] } else { arg };
    let mut off = string2ll(text).ok_or(errors::BIT_OFFSET)?;
    if let Some(bits) = hash {
        // C's signed multiplication; Redis relies on the wrapped value being caught below.
        off = off.wrapping_mul(i64::from(bits));
    }
    if off < 0 || (off >> 3) as u64 >= DEFAULT_MAX_BULK_LEN as u64 {
        return Err(errors::BIT_OFFSET);
    }
    Ok(off as u64)
}

/// A BITCOUNT/BITPOS range as given: start, end (None for BITPOS without one), BIT units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RangeArgs {
    pub start: i64,
    pub end: Option<i64>,
    pub bit: bool,
}

/// Resolves a range against a string of `len` bytes into an inclusive bit range, or None when
/// it is empty (Redis's index conversion and clamping, then `start > end`).
pub fn resolve_range(len: usize, r: Option<RangeArgs>) -> Option<(u64, u64)> {
    let Some(r) = r else {
        return (len > 0).then(|| (0, len as u64 * 8 - 1));
    };
    let mut total = len as i64;
    let mut end = match r.end {
        Some(e) => e,
        None if r.bit => (total << 3) + 7,
        None => total - 1,
    };
    if r.bit {
        total <<= 3;
    }
    let mut start = r.start;
    if start < 0 {
        start = start.saturating_add(total);
    }
    if end < 0 {
        end = end.saturating_add(total);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if r.bit {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

/// Parses BYTE|BIT.
fn parse_unit(arg: &[u8]) -> Result<bool, &'static str> {
    if opt_is(arg, "bit") {
        Ok(true)
    } else if opt_is(arg, "byte") {
        Ok(false)
    } else {
        Err(errors::SYNTAX)
    }
}

fn parse_ll(arg: &[u8]) -> Result<i64, &'static str> {
    string2ll(arg).ok_or(errors::NOT_INTEGER)
}

/// BITCOUNT's optional range (arguments from index 2), in Redis's order of checks.
pub fn parse_bitcount_range(args: &[Bytes]) -> Result<Option<RangeArgs>, &'static str> {
    match args.len() {
        2 => Ok(None),
        4 | 5 => {
            let start = parse_ll(&args[2])?;
            let end = parse_ll(&args[3])?;
            let bit = match args.get(4) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            Ok(Some(RangeArgs {
                start,
                end: Some(end),
                bit,
            }))
        }
        _ => Err(errors::SYNTAX),
    }
}

/// BITPOS's optional range (arguments from index 3), in Redis's order of checks (the unit
/// word is checked before the end).
pub fn parse_bitpos_range(args: &[Bytes]) -> Result<Option<RangeArgs>, &'static str> {
    match args.len() {
        3 => Ok(None),
        4..=6 => {
            let start = parse_ll(&args[3])?;
            let bit = match args.get(5) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            let end = match args.get(4) {
                Some(e) => Some(parse_ll(e)?),
                None => None,
            };
            Ok(Some(RangeArgs { start, end, bit }))
        }
        _ => Err(errors::SYNTAX),
    }
}

/// Counts one `lookupKeyRead`: a hit when the key exists (whatever its type), else a miss.
fn count_read(stats: &mut ShardStats, found: bool) {
    if found {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
}

/// The selected database and the shard's counters, borrowed apart.
fn parts<'a>(sc: &'a mut ShardCmd<'_>) -> (&'a mut DbSlice, &'a mut ShardStats) {
    let shard = &mut *sc.shard;
    (&mut shard.dbs[sc.db], &mut shard.stats)
}

/// Reads a string key for a read-only command (counting a hit or miss) and calls `f` with its
/// bytes, or with None when missing.
fn read_str<R>(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    now: u64,
    f: impl FnOnce(Option<&[u8]>) -> R,
) -> Result<R, OpError> {
    match db.find(key, now) {
        None => {
            count_read(stats, false);
            Ok(f(None))
        }
        Some(e) => {
            count_read(stats, true);
            match e.as_str() {
                Some(s) => Ok(s.with_bytes(|b| f(Some(b)))),
                None => Err(OpError::WrongType),
            }
        }
    }
}

/// Redis's `lookupStringForBitCommand`: the string at `key` grown with zeros to hold bit
/// `max_bit` (created when missing, made `raw`), then `f` on its buffer.
fn write_str<R>(
    db: &mut DbSlice,
    key: &[u8],
    max_bit: u64,
    now: u64,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> Result<R, OpError> {
    let need = (max_bit >> 3) as usize + 1;
    match db.find(key, now) {
        Some(e) => {
            if !e.is_str() {
                return Err(OpError::WrongType);
            }
            Ok(e.with_raw_mut(|buf| {
                if buf.len() < need {
                    buf.resize(need, 0);
                }
                f(buf)
            })
            .expect("a string"))
        }
        None => {
            let mut buf = vec![0u8; need];
            let r = f(&mut buf);
            db.set(key, Record::new(Value::Str(StrValue::raw(buf))));
            Ok(r)
        }
    }
}

// -------------------------------------------------------------------------------------------------
// SETBIT, GETBIT
// -------------------------------------------------------------------------------------------------

/// Sets bit `offset` to `on`, growing or creating the string; returns the old bit.
pub fn op_setbit(
    db: &mut DbSlice,
    key: &[u8],
    offset: u64,
    on: bool,
    now: u64,
) -> Result<u8, OpError> {
    let old = write_str(db, key, offset, now, |buf| {
        let old = bit_at(buf, offset) as u8;
        set_bits(buf, offset, 1, u64::from(on));
        old
    })?;
    db.notify(notify::STRING, "setbit", key);
    Ok(old)
}

/// SETBIT key offset value
fn cmd_setbit(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let offset = match parse_offset(&args[2], None) {
        Ok(o) => o,
        Err(e) => return w.error(e),
    };
    let on = match string2ll(&args[3]) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return w.error(errors::BIT_VALUE),
    };
    match op_setbit(sc.slice(), &args[1], offset, on, now) {
        Ok(old) => w.int(i64::from(old)),
        Err(e) => w.error(e.message()),
    }
}

/// GETBIT key offset
fn cmd_getbit(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let offset = match parse_offset(&args[2], None) {
        Ok(o) => o,
        Err(e) => return w.error(e),
    };
    let (db, stats) = parts(sc);
    match read_str(db, stats, &args[1], now, |b| {
        b.map_or(0, |b| bit_at(b, offset))
    }) {
        Ok(bit) => w.int(bit as i64),
        Err(e) => w.error(e.message()),
    }
}

// -------------------------------------------------------------------------------------------------
// BITCOUNT, BITPOS
// -------------------------------------------------------------------------------------------------

/// What BITCOUNT or BITPOS answers: a number, or an argument error Redis reports only once it
/// found the key holding a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeReply {
    Int(i64),
    Error(&'static str),
}

/// BITCOUNT: set bits of the string within the range (`range` already parsed; its error is
/// reported only for an existing string, as Redis 7.0 looks the key up first).
pub fn op_bitcount(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    range: Result<Option<RangeArgs>, &'static str>,
    now: u64,
) -> Result<RangeReply, OpError> {
    read_str(db, stats, key, now, |b| {
        let Some(b) = b else {
            return RangeReply::Int(0);
        };
        match range {
            Err(e) => RangeReply::Error(e),
            Ok(r) => RangeReply::Int(match resolve_range(b.len(), r) {
                Some((first, last)) => count_range(b, first, last) as i64,
                None => 0,
            }),
        }
    })
}

/// BITCOUNT key [start end [BYTE|BIT]]
fn cmd_bitcount(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let range = parse_bitcount_range(args);
    let (db, stats) = parts(sc);
    match op_bitcount(db, stats, &args[1], range, now) {
        Ok(RangeReply::Int(n)) => w.int(n),
        Ok(RangeReply::Error(e)) => w.error(e),
        Err(e) => w.error(e.message()),
    }
}

/// BITPOS: the first `bit` in the range. A missing key is an endless run of zeros; looking for
/// a zero without an explicit end treats the string as zero-padded on the right.
pub fn op_bitpos(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    bit: bool,
    range: Result<Option<RangeArgs>, &'static str>,
    now: u64,
) -> Result<RangeReply, OpError> {
    read_str(db, stats, key, now, |b| {
        let Some(b) = b else {
            return RangeReply::Int(if bit { -1 } else { 0 });
        };
        let r = match range {
            Err(e) => return RangeReply::Error(e),
            Ok(r) => r,
        };
        let end_given = r.is_some_and(|r| r.end.is_some());
        RangeReply::Int(match resolve_range(b.len(), r) {
            None => -1,
            Some((first, last)) => match find_bit(b, first, last, bit) {
                Some(p) => p as i64,
                None if !bit && !end_given => last as i64 + 1,
                None => -1,
            },
        })
    })
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
fn cmd_bitpos(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let bit = match string2ll(&args[2]) {
        None => return w.error(errors::NOT_INTEGER),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return w.error(errors::BITPOS_BIT),
    };
    let range = parse_bitpos_range(args);
    let (db, stats) = parts(sc);
    match op_bitpos(db, stats, &args[1], bit, range, now) {
        Ok(RangeReply::Int(n)) => w.int(n),
        Ok(RangeReply::Error(e)) => w.error(e),
        Err(e) => w.error(e.message()),
    }
}

// -------------------------------------------------------------------------------------------------
// BITFIELD, BITFIELD_RO
// -------------------------------------------------------------------------------------------------

/// BITFIELD's OVERFLOW behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation: a field of `bits` bits at bit `offset`, with the OVERFLOW in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfOp {
    pub kind: BfKind,
    pub signed: bool,
    pub bits: u32,
    pub offset: u64,
    pub overflow: Overflow,
}

/// Redis's `getBitfieldTypeFromArgument`: `i1`..`i64` or `u1`..`u63`.
pub fn parse_type(arg: &[u8]) -> Result<(bool, u32), &'static str> {
    // Redis reads the width as a C string.
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    let arg = &arg[..end];
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(errors::BITFIELD_TYPE),
    };
    match string2ll(&arg[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(errors::BITFIELD_TYPE),
    }
}

/// Parses BITFIELD's operations (arguments from index 2) in Redis's order of checks.
pub fn parse_bitfield(args: &[Bytes]) -> Result<Vec<BfOp>, &'static str> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j][..];
        let kind = if opt_is(sub, "get") && rem >= 2 {
            BfKind::Get
        } else if opt_is(sub, "set") && rem >= 3 {
            BfKind::Set(0)
        } else if opt_is(sub, "incrby") && rem >= 3 {
            BfKind::IncrBy(0)
        } else if opt_is(sub, "overflow") && rem >= 1 {
            let t = &args[j + 1][..];
            overflow = if opt_is(t, "wrap") {
                Overflow::Wrap
            } else if opt_is(t, "sat") {
                Overflow::Sat
            } else if opt_is(t, "fail") {
                Overflow::Fail
            } else {
                return Err(errors::BITFIELD_OVERFLOW_TYPE);
            };
            j += 2;
            continue;
        } else {
            return Err(errors::SYNTAX);
        };
        let (signed, bits) = parse_type(&args[j + 1])?;
        let offset = parse_offset(&args[j + 2], Some(bits))?;
        let kind = match kind {
            BfKind::Get => BfKind::Get,
            BfKind::Set(_) => BfKind::Set(parse_ll(&args[j + 3])?),
            BfKind::IncrBy(_) => BfKind::IncrBy(parse_ll(&args[j + 3])?),
        };
        ops.push(BfOp {
            kind,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if kind == BfKind::Get { 3 } else { 4 };
    }
    Ok(ops)
}

/// Redis's `checkSignedBitfieldOverflow`, C arithmetic included: whether `value + incr` leaves
/// the `bits`-bit signed range, and the value to store then (WRAP, SAT; FAIL stores nothing).
pub fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    let limit = |edge: i64| match ow {
        Overflow::Wrap => wrap(),
        Overflow::Sat => edge,
        Overflow::Fail => 0,
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(limit(max))
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(limit(min))
    } else {
        None
    }
}

/// Redis's `checkUnsignedBitfieldOverflow` (`bits` < 64).
pub fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = (1u64 << bits) - 1;
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let limit = |edge: u64| match ow {
        Overflow::Wrap => value.wrapping_add(incr as u64) & max,
        Overflow::Sat => edge,
        Overflow::Fail => 0,
    };
    if value > max || (incr > 0 && incr > maxincr) {
        Some(limit(max))
    } else if incr < 0 && incr < minincr {
        Some(limit(0))
    } else {
        None
    }
}

/// Runs one SET/INCRBY on `buf` (long enough); the reply value, None for OVERFLOW FAIL.
fn bitfield_write(buf: &mut [u8], op: &BfOp) -> Option<i64> {
    let (incr, set) = match op.kind {
        BfKind::Set(v) => (v, true),
        BfKind::IncrBy(v) => (v, false),
        BfKind::Get => unreachable!("writes only"),
    };
    let (store, reply, overflowed) = if op.signed {
        let old = get_signed(buf, op.offset, op.bits);
        let (value, add) = if set { (incr, 0) } else { (old, incr) };
        let o = signed_overflow(value, add, op.bits, op.overflow);
        let new = o.unwrap_or(value.wrapping_add(add));
        (new as u64, if set { old } else { new }, o.is_some())
    } else {
        let old = get_unsigned(buf, op.offset, op.bits);
        let (value, add) = if set { (incr as u64, 0) } else { (old, incr) };
        let o = unsigned_overflow(value, add, op.bits, op.overflow);
        let new = o.unwrap_or(value.wrapping_add(add as u64));
        (new, if set { old as i64 } else { new as i64 }, o.is_some())
    };
    if overflowed && op.overflow == Overflow::Fail {
        return None;
    }
    set_bits(buf, op.offset, op.bits, store);
    Some(reply)
}

fn bitfield_get(b: &[u8], op: &BfOp) -> i64 {
    if op.signed {
        get_signed(b, op.offset, op.bits)
    } else {
        get_unsigned(b, op.offset, op.bits) as i64
    }
}

/// Runs BITFIELD's operations in order: one reply per operation (None for a write refused by
/// OVERFLOW FAIL). With any write the string is first grown to hold every written field.
pub fn op_bitfield(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    key: &[u8],
    ops: &[BfOp],
    now: u64,
) -> Result<Vec<Option<i64>>, OpError> {
    let writes = ops.iter().filter(|o| o.kind != BfKind::Get);
    match writes.map(|o| o.offset + u64::from(o.bits) - 1).max() {
        None => read_str(db, stats, key, now, |b| {
            let b = b.unwrap_or(&[]);
            ops.iter().map(|op| Some(bitfield_get(b, op))).collect()
        }),
        Some(max_bit) => {
            let mut changes = 0;
            let r = write_str(db, key, max_bit, now, |buf| {
                ops.iter()
                    .map(|op| match op.kind {
                        BfKind::Get => Some(bitfield_get(buf, op)),
                        _ => {
                            let r = bitfield_write(buf, op);
                            changes += usize::from(r.is_some());
                            r
                        }
                    })
                    .collect()
            })?;
            if changes > 0 {
                db.notify(notify::STRING, "setbit", key);
            }
            Ok(r)
        }
    }
}

fn bitfield_generic(sc: &mut ShardCmd, w: &mut ReplyWriter, readonly: bool) {
    let (args, now) = (sc.args, sc.now_ms);
    let ops = match parse_bitfield(args) {
        Ok(ops) => ops,
        Err(e) => return w.error(e),
    };
    if readonly && ops.iter().any(|o| o.kind != BfKind::Get) {
        return w.error(errors::BITFIELD_RO_GET_ONLY);
    }
    let (db, stats) = parts(sc);
    match op_bitfield(db, stats, &args[1], &ops, now) {
        Ok(replies) => {
            w.array(replies.len());
            for r in replies {
                match r {
                    Some(v) => w.int(v),
                    None => w.null(),
                }
            }
        }
        Err(e) => w.error(e.message()),
    }
}

/// BITFIELD key [GET type offset] [SET type offset value] [INCRBY type offset increment]
/// [OVERFLOW WRAP|SAT|FAIL] ...
fn cmd_bitfield(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    bitfield_generic(sc, w, false);
}

/// BITFIELD_RO key [GET type offset] ...
fn cmd_bitfield_ro(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    bitfield_generic(sc, w, true);
}

// -------------------------------------------------------------------------------------------------
// BITOP
// -------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP's operation word and NOT's single-source rule, in Redis's order.
pub fn parse_bitop(args: &[Bytes]) -> Result<BitOp, &'static str> {
    let a = &args[1][..];
    let op = if opt_is(a, "and") {
        BitOp::And
    } else if opt_is(a, "or") {
        BitOp::Or
    } else if opt_is(a, "xor") {
        BitOp::Xor
    } else if opt_is(a, "not") {
        BitOp::Not
    } else {
        return Err(errors::SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(errors::BITOP_NOT_ONE_KEY);
    }
    Ok(op)
}

/// Combines the sources (missing keys as empty strings) into a string as long as the longest,
/// shorter sources padded with zeros.
pub fn bitop_compute(op: BitOp, srcs: &[Option<Vec<u8>>]) -> Vec<u8> {
    let len = srcs.iter().flatten().map(Vec::len).max().unwrap_or(0);
    let byte =
        |s: &Option<Vec<u8>>, i: usize| s.as_ref().and_then(|s| s.get(i)).copied().unwrap_or(0);
    let mut out = Vec::with_capacity(len);
    match op {
        BitOp::Not => out.extend((0..len).map(|i| !byte(&srcs[0], i))),
        _ => {
            out.extend((0..len).map(|i| byte(&srcs[0], i)));
            for s in &srcs[1..] {
                let s = s.as_deref().unwrap_or(&[]);
                for (i, o) in out.iter_mut().enumerate() {
                    let b = s.get(i).copied().unwrap_or(0);
                    match op {
                        BitOp::And => *o &= b,
                        BitOp::Or => *o |= b,
                        BitOp::Xor => *o ^= b,
                        BitOp::Not => unreachable!("NOT has one source"),
                    }
                }
            }
        }
    }
    out
}

/// BITOP's `lookupKeyRead` of each source in order: its bytes (None when missing), stopping at
/// the first key of another type.
pub fn op_bitop_read<'k>(
    db: &mut DbSlice,
    stats: &mut ShardStats,
    keys: impl IntoIterator<Item = &'k [u8]>,
    now: u64,
) -> Result<Vec<Option<Vec<u8>>>, OpError> {
    keys.into_iter()
        .map(|k| read_str(db, stats, k, now, |b| b.map(<[u8]>::to_vec)))
        .collect()
}

/// Stores BITOP's result as a `raw` string without TTL, or deletes `dest` for an empty result.
pub fn op_bitop_store(db: &mut DbSlice, dest: &[u8], result: Vec<u8>, now: u64) {
    if result.is_empty() {
        if db.remove(dest, now).is_some() {
            db.notify(notify::GENERIC, "del", dest);
        }
    } else {
        db.set(dest, Record::new(Value::Str(StrValue::raw(result))));
        db.notify(notify::STRING, "set", dest);
    }
}

/// BITOP op destkey key [key ...], all keys on this shard.
fn cmd_bitop_shard(sc: &mut ShardCmd, w: &mut ReplyWriter) {
    let (args, now) = (sc.args, sc.now_ms);
    let op = match parse_bitop(args) {
        Ok(op) => op,
        Err(e) => return w.error(e),
    };
    let (db, stats) = parts(sc);
    match op_bitop_read(db, stats, args[3..].iter().map(|k| &k[..]), now) {
        Ok(srcs) => {
            let result = bitop_compute(op, &srcs);
            let len = result.len();
            op_bitop_store(db, &args[2], result, now);
            w.int(len as i64);
        }
        Err(e) => w.error(e.message()),
    }
}

/// BITOP across shards: one transaction; a hop reads every source, the concluding hop stores.
fn cmd_bitop(c: &mut Conn, args: Vec<Bytes>) -> LocalBoxFuture<'_> {
    Box::pin(async move {
        let op = match parse_bitop(&args) {
            Ok(op) => op,
            Err(e) => return c.out.error(e),
        };
        let keys = args.iter().cloned().enumerate().skip(2);
        let groups = KeyGroups::new(c.engine().num_shards(), c.state.db, keys, true);
        let db = c.state.db;
        let mut tx = groups.schedule(c).await;
        type Read = Result<Vec<(usize, Option<Vec<u8>>)>, (usize, OpError)>;
        let reads = groups
            .keys
            .iter()
            .map(|keys| {
                let srcs: Vec<(usize, Bytes)> =
                    keys.iter().filter(|(i, _)| *i >= 3).cloned().collect();
                Some(Box::new(move |s: &mut Shard| -> Read {
                    let now = s.now_ms();
                    let shard = &mut *s;
                    let mut out = Vec::with_capacity(srcs.len());
                    for (i, k) in &srcs {
                        match op_bitop_read(&mut shard.dbs[db], &mut shard.stats, [&k[..]], now) {
                            Ok(mut v) => out.push((*i, v.pop().expect("one key"))),
                            Err(e) => return Err((*i, e)),
                        }
                    }
                    Ok(out)
                }) as HopFn<Read>)
            })
            .collect();
        let mut srcs: Vec<Option<Vec<u8>>> = vec![None; args.len()];
        // The error Redis reports is the first wrong-typed key in argument order.
        let mut error: Option<(usize, OpError)> = None;
        for r in tx.hop(reads, false).await {
            match r.expect("every shard had a job") {
                Err(p) => return panic_reply(c, &p),
                Ok(Err((i, e))) => {
                    if error.is_none_or(|(j, _)| i < j) {
                        error = Some((i, e));
                    }
                }
                Ok(Ok(found)) => {
                    for (i, v) in found {
                        srcs[i] = v;
                    }
                }
            }
        }
        let result = error.is_none().then(|| bitop_compute(op, &srcs[3..]));
        let len = result.as_ref().map_or(0, Vec::len);
        let dest = args[2].clone();
        let dest_shard = darter_engine::keys::key_hash(&dest, c.engine().num_shards()).shard;
        let mut result = result;
        let writes = groups
            .shards
            .iter()
            .map(|&sid| {
                if sid != dest_shard {
                    return None;
                }
                let (r, dest) = (result.take()?, dest.clone());
                Some(Box::new(move |s: &mut Shard| {
                    let now = s.now_ms();
                    op_bitop_store(&mut s.dbs[db], &dest, r, now);
                }) as HopFn<()>)
            })
            .collect();
        for r in tx.hop(writes, true).await {
            if let Some(Err(p)) = r {
                return panic_reply(c, &p);
            }
        }
        match error {
            Some((_, e)) => c.out.error(e.message()),
            None => c.out.int(len as i64),
        }
    })
}
