//! A listpack: a packed sequence of small entries in one contiguous `Vec<u8>`, byte for byte the
//! format of Redis 7's `listpack.c`, so an RDB or DUMP payload can carry it as an opaque blob and
//! `bytes()` is exactly the `lpBytes` that Redis compares with its `*-max-listpack-*` limits.
//!
//! It is the building block of small lists (alone, or as the nodes of a [`QuickList`]) and will be
//! that of small hashes (field and value as consecutive entries), sets and sorted sets. It knows
//! nothing of those types or of their limits: callers decide when a listpack has grown too big and
//! keep it well below the format's 4 GiB ceiling (crossing it panics). It never allocates per
//! entry, and it has no `unsafe`.
//!
//! ```text
//! +-----------+----------+---------+---------+-----+---------+------+
//! | total u32 | count u16| entry 0 | entry 1 | ... | entry n | 0xFF |   (integers little endian)
//! +-----------+----------+---------+---------+-----+---------+------+
//! entry = encoding byte(s) | payload | back-length of (encoding + payload), 1..5 bytes
//! ```
//!
//! Any value that Redis's `string2ll` accepts (`"0"`, `"-7"`, not `"01"`, `"+1"` or `" 1"`) is
//! stored as an integer in the smallest of the 7-bit, 13-bit, 16, 24, 32 and 64-bit encodings;
//! anything else as a string with a 6-bit, 12-bit or 32-bit length. Integers read back as their
//! canonical decimal form, which is the original bytes, so every value round-trips exactly. The
//! back-length (7 bits per byte, read right to left) makes iteration work from both ends.
//! The count field saturates at 65535 ("unknown") as in Redis; the real count is kept beside the
//! buffer so `len()` is always O(1).
//!
//! [`QuickList`]: crate::quicklist::QuickList

use crate::num::{format_i64, string2ll};
use std::fmt;
use std::iter::FusedIterator;

/// Header: total bytes (u32) and entry count (u16).
pub(crate) const HDR: usize = 6;
const EOF: u8 = 0xFF;
/// `lpBytes` of an empty listpack (header and terminator).
pub const EMPTY_BYTES: usize = HDR + 1;
/// The count field's value meaning "too many to count here".
const COUNT_UNKNOWN: usize = u16::MAX as usize;

/// One entry as stored: an integer or a byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpEntry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpEntry<'_> {
    /// The entry's bytes as a client sees them (integers in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Calls `f` with the entry's bytes, formatting an integer on the stack (no allocation).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            LpEntry::Int(v) => f(format_i64(v, &mut [0; 20])),
            LpEntry::Str(s) => f(s),
        }
    }

    /// Whether the entry equals `v` as bytes; an integer equals its decimal form, as `lpCompare`.
    pub fn eq_bytes(&self, v: &[u8]) -> bool {
        match *self {
            LpEntry::Int(i) => string2ll(v) == Some(i),
            LpEntry::Str(s) => s == v,
        }
    }

    /// The entry as an integer by `string2ll`'s rule (what HINCRBY-style commands accept).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            LpEntry::Int(i) => Some(i),
            LpEntry::Str(s) => string2ll(s),
        }
    }

    /// Length of the entry's bytes (digits and sign for an integer).
    pub fn byte_len(&self) -> usize {
        self.with_bytes(<[u8]>::len)
    }
}

/// A value to compare many entries against, parsed once (LREM, LPOS, LINSERT, HGET scans).
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: string2ll(bytes),
        }
    }

    /// Same answer as [`LpEntry::eq_bytes`], without re-parsing the needle.
    pub fn matches(&self, e: &LpEntry<'_>) -> bool {
        match *e {
            LpEntry::Int(i) => self.int == Some(i),
            LpEntry::Str(s) => s == self.bytes,
        }
    }
}

/// A listpack that failed validation (`from_bytes`): what was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorruptListPack(pub &'static str);

impl fmt::Display for CorruptListPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corrupt listpack: {}", self.0)
    }
}

impl std::error::Error for CorruptListPack {}

// ---- entry encoding ------------------------------------------------------------------------------

/// Bytes taken by the back-length of an entry whose encoding + payload is `l` bytes. The
/// thresholds are Redis's (`lpEncodeBacklen`), including its `< 16383` rather than `<= 16383`.
fn backlen_size(l: usize) -> usize {
    if l <= 127 {
        1
    } else if l < 16383 {
        2
    } else if l < 2_097_151 {
        3
    } else if l < 268_435_455 {
        4
    } else {
        5
    }
}

/// Writes the back-length of `l` into `dst` (exactly `backlen_size(l)` bytes): 7-bit groups, most
/// significant first, every byte but the first with its high bit set, so a reader walking right
/// to left knows when to stop.
fn write_backlen(dst: &mut [u8], l: usize) {
    let n = dst.len();
    for (i, b) in dst.iter_mut().enumerate() {
        let group = ((l >> (7 * (n - 1 - i))) & 127) as u8;
        *b = if i == 0 { group } else { group | 128 };
    }
}

/// Reads the back-length whose last byte is `buf[last]`; `None` if it runs off the buffer.
fn read_backlen(buf: &[u8], last: usize) -> Option<usize> {
    let mut v = 0usize;
    let mut i = last;
    for shift in (0..35).step_by(7) {
        let b = *buf.get(i)?;
        v |= ((b & 127) as usize) << shift;
        if b & 128 == 0 {
            return Some(v);
        }
        i = i.checked_sub(1)?;
    }
    None
}

/// Bytes taken by the encoding and payload of integer `v`.
fn int_enc_len(v: i64) -> usize {
    match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8_388_608..=8_388_607 => 4,
        -2_147_483_648..=2_147_483_647 => 5,
        _ => 9,
    }
}

/// Bytes taken by the encoding of a string of `n` bytes (before the payload).
fn str_hdr_len(n: usize) -> usize {
    if n < 64 {
        1
    } else if n < 4096 {
        2
    } else {
        assert!(
            n <= u32::MAX as usize,
            "listpack string longer than the format's 4 GiB"
        );
        5
    }
}

/// An entry about to be written: its value and the length of encoding + payload.
#[derive(Clone, Copy)]
struct Enc<'a> {
    val: LpEntry<'a>,
    enc_len: usize,
}

impl<'a> Enc<'a> {
    /// Redis's choice: an integer if `string2ll` accepts the bytes, else a string.
    fn of(v: &'a [u8]) -> Self {
        match string2ll(v) {
            Some(i) => Self::int(i),
            None => Self::str(v),
        }
    }

    fn int(v: i64) -> Self {
        Enc {
            val: LpEntry::Int(v),
            enc_len: int_enc_len(v),
        }
    }

    fn str(s: &'a [u8]) -> Self {
        Enc {
            val: LpEntry::Str(s),
            enc_len: str_hdr_len(s.len()) + s.len(),
        }
    }

    fn total(&self) -> usize {
        self.enc_len + backlen_size(self.enc_len)
    }

    /// Writes the whole entry; `dst` is exactly `total()` bytes.
    fn write(&self, dst: &mut [u8]) {
        let l = self.enc_len;
        match self.val {
            LpEntry::Int(v) => match l {
                1 => dst[0] = v as u8,
                2 => {
                    // 13-bit two's complement: the low 13 bits of the 16-bit pattern.
                    let u = (v as u16) & 0x1FFF;
                    dst[0] = 0xC0 | (u >> 8) as u8;
                    dst[1] = u as u8;
                }
                3 => {
                    dst[0] = 0xF1;
                    dst[1..3].copy_from_slice(&(v as i16).to_le_bytes());
                }
                4 => {
                    dst[0] = 0xF2;
                    dst[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                5 => {
                    dst[0] = 0xF3;
                    dst[1..5].copy_from_slice(&(v as i32).to_le_bytes());
                }
                _ => {
                    dst[0] = 0xF4;
                    dst[1..9].copy_from_slice(&v.to_le_bytes());
                }
            },
            LpEntry::Str(s) => {
                let n = s.len();
                let h = l - n;
                match h {
                    1 => dst[0] = 0x80 | n as u8,
                    2 => {
                        dst[0] = 0xE0 | (n >> 8) as u8;
                        dst[1] = n as u8;
                    }
                    _ => {
                        dst[0] = 0xF0;
                        dst[1..5].copy_from_slice(&(n as u32).to_le_bytes());
                    }
                }
                dst[h..l].copy_from_slice(s);
            }
        }
        write_backlen(&mut dst[l..], l);
    }
}

/// Decodes the entry starting at `buf[p]`: its value and the length of encoding + payload.
/// `None` for the terminator, an unknown encoding, or a payload running off the buffer.
fn try_decode(buf: &[u8], p: usize) -> Option<(LpEntry<'_>, usize)> {
    let b = *buf.get(p)?;
    let arr = |n: usize| buf.get(p + 1..p + 1 + n);
    let string =
        |hdr: usize, n: usize| Some((LpEntry::Str(buf.get(p + hdr..p + hdr + n)?), hdr + n));
    if b & 0x80 == 0 {
        Some((LpEntry::Int(b as i64), 1))
    } else if b & 0xC0 == 0x80 {
        string(1, (b & 0x3F) as usize)
    } else if b & 0xE0 == 0xC0 {
        let u = ((b as u16 & 0x1F) << 8) | *buf.get(p + 1)? as u16;
        // Sign-extend 13 bits by parking them at the top of an i16.
        Some((LpEntry::Int(((u << 3) as i16 >> 3) as i64), 2))
    } else if b & 0xF0 == 0xE0 {
        string(2, ((b as usize & 0x0F) << 8) | *buf.get(p + 1)? as usize)
    } else {
        match b {
            0xF0 => string(5, u32::from_le_bytes(arr(4)?.try_into().ok()?) as usize),
            0xF1 => Some((
                LpEntry::Int(i16::from_le_bytes(arr(2)?.try_into().ok()?) as i64),
                3,
            )),
            0xF2 => {
                let a = arr(3)?;
                // Sign-extend 24 bits by parking them at the top of an i32.
                let v = i32::from_le_bytes([0, a[0], a[1], a[2]]) >> 8;
                Some((LpEntry::Int(v as i64), 4))
            }
            0xF3 => Some((
                LpEntry::Int(i32::from_le_bytes(arr(4)?.try_into().ok()?) as i64),
                5,
            )),
            0xF4 => Some((
                LpEntry::Int(i64::from_le_bytes(arr(8)?.try_into().ok()?)),
                9,
            )),
            _ => None,
        }
    }
}

/// [`try_decode`] on a listpack already validated: the value and the entry's total size.
fn decode(buf: &[u8], p: usize) -> (LpEntry<'_>, usize) {
    let (e, l) = try_decode(buf, p).expect("listpack position not at an entry");
    (e, l + backlen_size(l))
}

/// Start of the entry that ends just before `end` (`end` > header).
fn prev_start(buf: &[u8], end: usize) -> usize {
    let l = read_backlen(buf, end - 1).expect("listpack back-length");
    end - l - backlen_size(l)
}

/// Checks a serialized listpack entry by entry; returns its entry count.
fn check(buf: &[u8]) -> Result<usize, CorruptListPack> {
    if buf.len() < EMPTY_BYTES {
        return Err(CorruptListPack("shorter than a header"));
    }
    let total = u32::from_le_bytes(buf[0..4].try_into().unwrap()) as usize;
    if total != buf.len() {
        return Err(CorruptListPack("total bytes mismatch"));
    }
    if buf[buf.len() - 1] != EOF {
        return Err(CorruptListPack("missing terminator"));
    }
    let eof = buf.len() - 1;
    let mut p = HDR;
    let mut len = 0usize;
    while p < eof {
        let (_, l) = try_decode(&buf[..eof], p).ok_or(CorruptListPack("bad entry"))?;
        let end = p + l + backlen_size(l);
        if end > eof {
            return Err(CorruptListPack("entry runs past the end"));
        }
        if read_backlen(&buf[p + l..end], end - p - l - 1) != Some(l) {
            return Err(CorruptListPack("bad back-length"));
        }
        p = end;
        len += 1;
    }
    let count = u16::from_le_bytes(buf[4..6].try_into().unwrap()) as usize;
    if count != COUNT_UNKNOWN && count != len {
        return Err(CorruptListPack("entry count mismatch"));
    }
    Ok(len)
}

// ---- the listpack ------------------------------------------------------------------------------

/// Position of an entry inside one listpack (a byte offset). Positions stay valid until that
/// listpack is next modified, except those the modifying call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LpPos(pub(crate) usize);

/// A packed sequence of entries (see the module docs for the byte layout).
#[derive(Clone, PartialEq, Eq)]
pub struct ListPack {
    /// Header, entries, terminator: always a valid listpack.
    buf: Vec<u8>,
    /// Entry count (the header's field saturates at 65535).
    len: usize,
}

impl Default for ListPack {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ListPack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl ListPack {
    pub fn new() -> Self {
        let mut lp = ListPack {
            buf: vec![0; EMPTY_BYTES],
            len: 0,
        };
        lp.buf[HDR] = EOF;
        lp.sync_header();
        lp
    }

    /// Adopts a serialized listpack (RDB, RESTORE) after checking every entry, so later reads
    /// of it cannot fail. Strings that look like integers are accepted as strings.
    pub fn from_bytes(buf: Vec<u8>) -> Result<Self, CorruptListPack> {
        let len = check(&buf)?;
        let mut lp = ListPack { buf, len };
        lp.sync_header();
        Ok(lp)
    }

    /// Re-checks the whole encoding and the kept count (for tests and debug assertions).
    pub fn validate(&self) -> Result<(), CorruptListPack> {
        match check(&self.buf)? == self.len {
            true => Ok(()),
            false => Err(CorruptListPack("kept count mismatch")),
        }
    }

    /// The serialized listpack, exactly as Redis lays it out.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Total encoded size, Redis's `lpBytes` (what the byte limits are compared with).
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Heap bytes held (the buffer's capacity), for MEMORY USAGE.
    pub fn mem_bytes(&self) -> usize {
        self.buf.capacity()
    }

    pub fn shrink_to_fit(&mut self) {
        self.buf.shrink_to_fit();
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.insert_enc(self.eof(), Enc::of(v));
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.insert_enc(HDR, Enc::of(v));
    }

    pub fn push_back_int(&mut self, v: i64) {
        self.insert_enc(self.eof(), Enc::int(v));
    }

    pub fn push_front_int(&mut self, v: i64) {
        self.insert_enc(HDR, Enc::int(v));
    }

    /// Appends `s` as a string even if it looks like an integer (a quicklist "plain" node keeps
    /// its element's bytes as they came).
    pub(crate) fn push_back_str(&mut self, s: &[u8]) {
        self.insert_enc(self.eof(), Enc::str(s));
    }

    /// Inserts `v` so that it becomes entry `index`. Panics if `index > len()`, like `Vec`.
    pub fn insert(&mut self, index: usize, v: &[u8]) {
        assert!(index <= self.len, "listpack insert index out of bounds");
        let p = self.seek(index).map_or(self.eof(), |p| p.0);
        self.insert_enc(p, Enc::of(v));
    }

    pub fn get(&self, index: usize) -> Option<LpEntry<'_>> {
        self.seek(index).map(|p| self.entry(p))
    }

    pub fn first(&self) -> Option<LpEntry<'_>> {
        self.first_pos().map(|p| self.entry(p))
    }

    pub fn last(&self) -> Option<LpEntry<'_>> {
        self.last_pos().map(|p| self.entry(p))
    }

    /// Replaces entry `index` with `v`; false if there is no such entry.
    pub fn replace(&mut self, index: usize, v: &[u8]) -> bool {
        match self.seek(index) {
            Some(p) => {
                self.replace_at(p, v);
                true
            }
            None => false,
        }
    }

    /// Removes entry `index`; false if there is no such entry.
    pub fn remove(&mut self, index: usize) -> bool {
        match self.seek(index) {
            Some(p) => {
                self.remove_at(p);
                true
            }
            None => false,
        }
    }

    /// Removes up to `count` entries from `start` on; returns how many were removed.
    pub fn remove_range(&mut self, start: usize, count: usize) -> usize {
        if start >= self.len || count == 0 {
            return 0;
        }
        let n = count.min(self.len - start);
        let p = self.seek(start).expect("start < len").0;
        let end = if start + n == self.len {
            self.eof()
        } else {
            (0..n).fold(p, |q, _| q + decode(&self.buf, q).1)
        };
        self.resize_gap(p, end - p, 0);
        self.len -= n;
        self.sync_header();
        self.maybe_shrink();
        n
    }

    /// Removes all entries.
    pub fn clear(&mut self) {
        self.remove_range(0, self.len);
    }

    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let p = self.first_pos()?;
        let v = self.entry(p).to_vec();
        self.remove_at(p);
        Some(v)
    }

    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let p = self.last_pos()?;
        let v = self.entry(p).to_vec();
        self.remove_at(p);
        Some(v)
    }

    /// All entries, front to back (reversible).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            buf: &self.buf,
            front: HDR,
            back: self.eof(),
            remaining: self.len,
        }
    }

    /// Entries from `index` to the end (empty if `index >= len()`).
    pub fn iter_from(&self, index: usize) -> Iter<'_> {
        self.iter_range(index, self.len)
    }

    /// Entries `start..end` (clamped to the length; reversible).
    pub fn iter_range(&self, start: usize, end: usize) -> Iter<'_> {
        let end = end.min(self.len);
        if start >= end {
            return Iter {
                buf: &self.buf,
                front: HDR,
                back: HDR,
                remaining: 0,
            };
        }
        let front = self.seek(start).expect("start < len").0;
        let back = if end == self.len {
            self.eof()
        } else if end - start <= self.len - end {
            (start..end).fold(front, |q, _| q + decode(&self.buf, q).1)
        } else {
            self.seek(end).expect("end < len").0
        };
        Iter {
            buf: &self.buf,
            front,
            back,
            remaining: end - start,
        }
    }

    /// Index of the first entry equal to `v` (integers equal their decimal form).
    pub fn find(&self, v: &[u8]) -> Option<usize> {
        let needle = Needle::new(v);
        self.iter().position(|e| needle.matches(&e))
    }

    // ---- positions: O(1) steps for scans that read or edit as they go ----

    pub fn first_pos(&self) -> Option<LpPos> {
        (self.len > 0).then_some(LpPos(HDR))
    }

    pub fn last_pos(&self) -> Option<LpPos> {
        (self.len > 0).then(|| LpPos(prev_start(&self.buf, self.eof())))
    }

    pub fn next_pos(&self, p: LpPos) -> Option<LpPos> {
        let q = p.0 + decode(&self.buf, p.0).1;
        (q != self.eof()).then_some(LpPos(q))
    }

    pub fn prev_pos(&self, p: LpPos) -> Option<LpPos> {
        (p.0 > HDR).then(|| LpPos(prev_start(&self.buf, p.0)))
    }

    /// Position of entry `index`, walking from the nearer end.
    pub fn seek(&self, index: usize) -> Option<LpPos> {
        if index >= self.len {
            return None;
        }
        let p = if index <= self.len / 2 {
            (0..index).fold(HDR, |q, _| q + decode(&self.buf, q).1)
        } else {
            (index..self.len).fold(self.eof(), |q, _| prev_start(&self.buf, q))
        };
        Some(LpPos(p))
    }

    /// The entry at `p`.
    pub fn entry(&self, p: LpPos) -> LpEntry<'_> {
        decode(&self.buf, p.0).0
    }

    /// Inserts `v` before the entry at `p`; returns the new entry's position.
    pub fn insert_before(&mut self, p: LpPos, v: &[u8]) -> LpPos {
        self.insert_enc(p.0, Enc::of(v));
        p
    }

    /// Inserts `v` after the entry at `p`; returns the new entry's position.
    pub fn insert_after(&mut self, p: LpPos, v: &[u8]) -> LpPos {
        let q = p.0 + decode(&self.buf, p.0).1;
        self.insert_enc(q, Enc::of(v));
        LpPos(q)
    }

    /// Replaces the entry at `p` with `v`; `p` stays the position of the new entry.
    pub fn replace_at(&mut self, p: LpPos, v: &[u8]) {
        let old = decode(&self.buf, p.0).1;
        let enc = Enc::of(v);
        let new = enc.total();
        self.resize_gap(p.0, old, new);
        enc.write(&mut self.buf[p.0..p.0 + new]);
        self.sync_header();
    }

    /// Removes the entry at `p`; returns the position of the entry that followed it, if any.
    pub fn remove_at(&mut self, p: LpPos) -> Option<LpPos> {
        let size = decode(&self.buf, p.0).1;
        self.resize_gap(p.0, size, 0);
        self.len -= 1;
        self.sync_header();
        self.maybe_shrink();
        (p.0 != self.eof()).then_some(p)
    }

    /// Like Redis's `lpFind`: the first entry from `p` on equal to `v`, comparing one entry and
    /// then skipping `skip` (1 searches the fields of a field/value listpack).
    pub fn find_from(&self, p: LpPos, v: &[u8], skip: usize) -> Option<LpPos> {
        let needle = Needle::new(v);
        let eof = self.eof();
        let mut q = p.0;
        while q < eof {
            let (e, size) = decode(&self.buf, q);
            if needle.matches(&e) {
                return Some(LpPos(q));
            }
            q += size;
            for _ in 0..skip {
                if q >= eof {
                    break;
                }
                q += decode(&self.buf, q).1;
            }
        }
        None
    }

    // ---- whole-listpack moves (quicklist splits and merges copy raw entry bytes) ----

    /// Splits off entries `at..` into a new listpack. Panics if `at > len()`.
    pub fn split_off(&mut self, at: usize) -> ListPack {
        assert!(at <= self.len, "listpack split index out of bounds");
        let p = self.seek(at).map_or(self.eof(), |p| p.0);
        let eof = self.eof();
        let mut tail = ListPack {
            buf: Vec::with_capacity(HDR + (eof - p) + 1),
            len: self.len - at,
        };
        tail.buf.extend_from_slice(&[0; HDR]);
        tail.buf.extend_from_slice(&self.buf[p..eof]);
        tail.buf.push(EOF);
        tail.sync_header();
        self.buf.truncate(p);
        self.buf.push(EOF);
        self.len = at;
        self.sync_header();
        self.maybe_shrink();
        tail
    }

    /// Moves all entries of `other` to the end of `self`.
    pub fn append(&mut self, other: ListPack) {
        let entries = &other.buf[HDR..other.eof()];
        self.reserve(entries.len());
        self.buf.pop();
        self.buf.extend_from_slice(entries);
        self.buf.push(EOF);
        self.len += other.len;
        self.sync_header();
    }

    // ---- internals ----

    /// Offset of the terminator.
    pub(crate) fn eof(&self) -> usize {
        self.buf.len() - 1
    }

    /// The entry at byte offset `p` and its total size (for iterators built on listpacks).
    pub(crate) fn decode_at(&self, p: usize) -> (LpEntry<'_>, usize) {
        decode(&self.buf, p)
    }

    /// Start of the entry that ends at byte offset `end`.
    pub(crate) fn prev_start(&self, end: usize) -> usize {
        prev_start(&self.buf, end)
    }

    fn insert_enc(&mut self, p: usize, enc: Enc<'_>) {
        let n = enc.total();
        self.resize_gap(p, 0, n);
        enc.write(&mut self.buf[p..p + n]);
        self.len += 1;
        self.sync_header();
    }

    /// Turns the `old` bytes at `p` into `new` bytes (contents unspecified), moving the tail.
    fn resize_gap(&mut self, p: usize, old: usize, new: usize) {
        let tail = p + old;
        if new > old {
            let extra = new - old;
            self.reserve(extra);
            let n = self.buf.len();
            self.buf.resize(n + extra, 0);
            self.buf.copy_within(tail..n, tail + extra);
        } else if new < old {
            self.buf.copy_within(tail.., p + new);
            self.buf.truncate(self.buf.len() - (old - new));
        }
    }

    /// Grows by a quarter rather than doubling: listpacks are many and small, and a quicklist
    /// node grown by pushes would otherwise carry up to 2x slack.
    fn reserve(&mut self, extra: usize) {
        if self.buf.capacity() - self.buf.len() < extra {
            self.buf.reserve_exact(extra.max(self.buf.len() / 4));
        }
    }

    /// Gives memory back once more than a third of the buffer is slack.
    fn maybe_shrink(&mut self) {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap > 64 && cap - len > len / 2 {
            self.buf.shrink_to(len + len / 8);
        }
    }

    fn sync_header(&mut self) {
        let total = u32::try_from(self.buf.len()).expect("listpack larger than 4 GiB");
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.len.min(COUNT_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
    }
}

/// Entries of a listpack in order; `rev()` walks the back-lengths.
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    buf: &'a [u8],
    /// Start of the next entry from the front.
    front: usize,
    /// End of the next entry from the back.
    back: usize,
    remaining: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpEntry<'a>;

    fn next(&mut self) -> Option<LpEntry<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let (e, size) = decode(self.buf, self.front);
        self.front += size;
        self.remaining -= 1;
        Some(e)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.back = prev_start(self.buf, self.back);
        self.remaining -= 1;
        Some(decode(self.buf, self.back).0)
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a ListPack {
    type Item = LpEntry<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

#[cfg(test)]
mod tests;
