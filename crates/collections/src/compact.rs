//! The compact keyspace entry: a key, its value, its expiry deadline and its access stamp in
//! 36 bytes, stored directly in a Dash slot.
//!
//! Short keys and short strings live inline in the slot, integers are stored as integers, and
//! everything else is one heap block behind a pointer kept in the same 16 bytes. The expiry
//! deadline travels with the key: a key with a deadline is a heap block that starts with it, so a
//! key without one pays nothing for the feature and no second table exists. This module owns the
//! representation and nothing else: it knows no commands, clocks or shards (times are plain
//! numbers given by the caller).
//!
//! ```text
//!  Entry (36 bytes, align 4)
//!  +------------------ key: 16 B ------------------+------------------ val: 16 B ------------------+-- word: u32 --+
//!  | key tag 0..=16: the key bytes, inline         | val tag 0..=16: a short string (embstr) inline|  bits 0..5    |
//!  | KEY_HEAP:  Box<[u8]> (pointer + length)       | VAL_INT:   i64 (little-endian, bytes 0..8)    |   key tag     |
//!  | KEY_TTL:   Box<[u8]> = [deadline u64 LE][key] | VAL_BOX:   Box<[u8]> (embstr, or raw if > 44) |  bits 5..10   |
//!  |                                               | VAL_VEC:   ptr, len u32, cap u32 (raw string) |   val tag     |
//!  |                                               | VAL_OBJ:   Box<Value> (collections, huge str) |  bits 10..32  |
//!  +-----------------------------------------------+-----------------------------------------------+   LRU stamp   |
//!                                                                                                   +---------------+
//! ```
//!
//! Heap blocks are stored as the raw pointers `Box::into_raw` gives (`*mut [u8]`, `*mut Value`),
//! written into and read from the byte arrays whole with `write_unaligned` / `read_unaligned`, so
//! they keep their provenance and nothing depends on how a `Box` is laid out; they become boxes
//! again only when the entry gives them up. The tags are the single source of truth for what the
//! payload bytes hold: every method that changes a payload writes its tag in the same step, and
//! `Drop` frees exactly what the tags say is owned.
//!
//! The access stamp is Redis's LRU clock at a coarser width: whole seconds modulo 2^22 (48.5
//! days; Redis keeps 24 bits, 194 days). OBJECT IDLETIME is exact for idle times below that and
//! wraps beyond it, as Redis's does beyond 194 days.

use crate::value::{StrRef, StrValue, Value, EMBSTR_LIMIT};
use std::mem::{size_of, ManuallyDrop, MaybeUninit};
use std::ptr;

/// Longest key or string stored inline.
pub const INLINE_LEN: usize = 16;

const KEY_HEAP: u32 = 17;
const KEY_TTL: u32 = 18;

const VAL_INT: u32 = 17;
const VAL_BOX: u32 = 18;
const VAL_VEC: u32 = 19;
const VAL_OBJ: u32 = 20;

const KEY_BITS: u32 = 5;
const VAL_SHIFT: u32 = 5;
const VAL_BITS: u32 = 5;
const STAMP_SHIFT: u32 = 10;
/// Width of the access stamp in bits.
pub const STAMP_BITS: u32 = 22;
/// The access stamp is whole seconds modulo this.
pub const STAMP_MOD: u32 = 1 << STAMP_BITS;

const TTL_PREFIX: usize = 8;

const _: () = assert!(size_of::<*mut [u8]>() == 16);
const _: () = assert!(size_of::<Box<Value>>() == 8);
const _: () = assert!(size_of::<Entry>() == 36);

/// The access stamp for a time in ms since the epoch (Redis's `LRU_CLOCK`, 22 bits wide).
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    ((now_ms / 1000) % u64::from(STAMP_MOD)) as u32
}

/// Seconds between `stamp` and `now_ms`'s clock, assuming at most one wrap (Redis's
/// `estimateObjectIdleTime`).
#[inline]
pub fn idle_secs(stamp: u32, now_ms: u64) -> u64 {
    let now = lru_clock(now_ms);
    u64::from(if now >= stamp {
        now - stamp
    } else {
        now + (STAMP_MOD - stamp)
    })
}

/// 16 payload bytes. `MaybeUninit` because they may hold a pointer: copies of it (moves of the
/// entry) keep the pointer's provenance, which copies of plain `[u8; 16]` would drop. Every
/// payload is fully initialised: inline bytes zero-padded, or a pointer (and lengths).
type Payload = MaybeUninit<[u8; 16]>;

const EMPTY: Payload = MaybeUninit::new([0; 16]);

/// One keyspace entry. See the module docs for the layout.
#[repr(C)]
pub struct Entry {
    key: Payload,
    val: Payload,
    word: u32,
}

impl crate::dash::DashItem for Entry {
    #[inline]
    fn key(&self) -> &[u8] {
        Entry::key(self)
    }
}

/// The raw pointer of a `Box<[u8]>` stored in a payload by `write_box`.
#[inline]
fn raw_box(p: &Payload) -> *mut [u8] {
    // SAFETY: callers only use this on payloads whose tag says `write_box` wrote a pointer
    // there; reading it as a raw pointer (not a `Box`) asserts nothing about uniqueness.
    unsafe { ptr::read_unaligned(p.as_ptr().cast::<*mut [u8]>()) }
}

/// The bytes of a `Box<[u8]>` stored in a payload, borrowed for as long as the payload is.
#[inline]
fn box_bytes(p: &Payload) -> &[u8] {
    // SAFETY: the block is owned by the entry that owns `p` and is freed or written only by that
    // entry's `&mut` methods or `Drop`, so it outlives the shared borrow of `p` this carries.
    unsafe { &*raw_box(p) }
}

/// Moves a box into a payload (as its raw pointer). The caller tags the payload.
#[inline]
fn write_box(p: &mut Payload, b: Box<[u8]>) {
    let raw = Box::into_raw(b);
    // SAFETY: `p` is 16 writable bytes and a `*mut [u8]` is 16 bytes (asserted above);
    // `write_unaligned` needs no alignment and keeps the pointer's provenance.
    unsafe { ptr::write_unaligned(p.as_mut_ptr().cast::<*mut [u8]>(), raw) }
}

/// Takes back ownership of a box written with `write_box`. The caller must retag the payload
/// before anything reads it again.
#[inline]
fn take_box(p: &Payload) -> Box<[u8]> {
    // SAFETY: the pointer came from `Box::into_raw` in `write_box` and the payload still owns
    // it; the caller retags the payload, so ownership is reclaimed exactly once.
    unsafe { Box::from_raw(raw_box(p)) }
}

/// Writes bytes inline, zero-padded to the full payload.
#[inline]
fn write_inline(p: &mut Payload, bytes: &[u8]) {
    let mut a = [0u8; 16];
    a[..bytes.len()].copy_from_slice(bytes);
    *p = MaybeUninit::new(a);
}

/// The first `len` bytes of a payload written by `write_inline` (or an integer's 8 bytes).
#[inline]
fn inline_bytes(p: &Payload, len: u32) -> &[u8] {
    debug_assert!(len as usize <= INLINE_LEN);
    // SAFETY: inline payloads are 16 initialised plain bytes (`write_inline`), and `len <= 16`.
    unsafe { std::slice::from_raw_parts(p.as_ptr().cast::<u8>(), len as usize) }
}

#[inline]
fn read_i64(p: &Payload) -> i64 {
    i64::from_le_bytes(inline_bytes(p, 8).try_into().expect("8 bytes"))
}

/// A raw `Vec<u8>` kept in a value payload: pointer, then length and capacity as u32 (the
/// caller checked they fit). Ownership moves into the payload.
#[inline]
fn write_vec(p: &mut Payload, v: Vec<u8>) {
    let mut v = ManuallyDrop::new(v);
    let (data, len, cap) = (v.as_mut_ptr(), v.len() as u32, v.capacity() as u32);
    let base = p.as_mut_ptr().cast::<u8>();
    // SAFETY: 16 writable bytes: the pointer at 0..8 (written whole, keeping provenance), the
    // two u32 at 8..12 and 12..16; `write_unaligned` needs no alignment.
    unsafe {
        ptr::write_unaligned(base.cast::<*mut u8>(), data);
        ptr::write_unaligned(base.add(8).cast::<u32>(), len);
        ptr::write_unaligned(base.add(12).cast::<u32>(), cap);
    }
}

/// The parts `write_vec` stored: pointer, length, capacity.
#[inline]
fn vec_parts(p: &Payload) -> (*mut u8, usize, usize) {
    let base = p.as_ptr().cast::<u8>();
    // SAFETY: only called on VAL_VEC payloads, all 16 bytes written by `write_vec`.
    unsafe {
        (
            ptr::read_unaligned(base.cast::<*mut u8>()),
            ptr::read_unaligned(base.add(8).cast::<u32>()) as usize,
            ptr::read_unaligned(base.add(12).cast::<u32>()) as usize,
        )
    }
}

#[inline]
fn write_obj(p: &mut Payload, v: Value) {
    let raw = Box::into_raw(Box::new(v));
    *p = EMPTY;
    // SAFETY: 16 writable bytes; the pointer is written whole (keeping provenance), and the
    // box's ownership moves into the payload (reclaimed with `Box::from_raw`).
    unsafe { ptr::write_unaligned(p.as_mut_ptr().cast::<*mut Value>(), raw) }
}

#[inline]
fn peek_obj(p: &Payload) -> *mut Value {
    // SAFETY: only called on VAL_OBJ payloads, whose first 8 bytes hold a pointer from
    // `Box::into_raw`, written by `write_obj`.
    unsafe { ptr::read_unaligned(p.as_ptr().cast::<*mut Value>()) }
}

impl Entry {
    /// A new entry. `stamp` is the access stamp (`lru_clock` of the time it counts as accessed).
    pub fn new(key: &[u8], value: Value, expire_at: u64, stamp: u32) -> Entry {
        let mut e = Entry {
            key: EMPTY,
            val: EMPTY,
            // An empty inline key and an empty inline string: nothing owned yet.
            word: 0,
        };
        e.set_stamp(stamp);
        e.write_key(key, expire_at);
        e.write_value(value);
        e
    }

    #[inline]
    fn key_tag(&self) -> u32 {
        self.word & ((1 << KEY_BITS) - 1)
    }

    #[inline]
    fn val_tag(&self) -> u32 {
        (self.word >> VAL_SHIFT) & ((1 << VAL_BITS) - 1)
    }

    #[inline]
    fn set_key_tag(&mut self, t: u32) {
        self.word = (self.word & !((1 << KEY_BITS) - 1)) | t;
    }

    #[inline]
    fn set_val_tag(&mut self, t: u32) {
        self.word = (self.word & !(((1 << VAL_BITS) - 1) << VAL_SHIFT)) | (t << VAL_SHIFT);
    }

    /// Writes the key payload; the previous one must own nothing (a fresh entry, or just taken).
    fn write_key(&mut self, key: &[u8], expire_at: u64) {
        if expire_at != 0 {
            let mut block = Vec::with_capacity(TTL_PREFIX + key.len());
            block.extend_from_slice(&expire_at.to_le_bytes());
            block.extend_from_slice(key);
            write_box(&mut self.key, block.into_boxed_slice());
            self.set_key_tag(KEY_TTL);
        } else if key.len() <= INLINE_LEN {
            write_inline(&mut self.key, key);
            self.set_key_tag(key.len() as u32);
        } else {
            write_box(&mut self.key, key.into());
            self.set_key_tag(KEY_HEAP);
        }
    }

    /// The key's bytes.
    #[inline]
    pub fn key(&self) -> &[u8] {
        match self.key_tag() {
            KEY_HEAP => box_bytes(&self.key),
            KEY_TTL => &box_bytes(&self.key)[TTL_PREFIX..],
            n => inline_bytes(&self.key, n),
        }
    }

    /// The absolute expiry deadline in ms since the epoch, 0 for none.
    #[inline]
    pub fn expire_at(&self) -> u64 {
        if self.key_tag() == KEY_TTL {
            let b = box_bytes(&self.key);
            u64::from_le_bytes(b[..TTL_PREFIX].try_into().expect("8 bytes"))
        } else {
            0
        }
    }

    /// Redis's `keyIsExpired`: a key expires strictly after its deadline.
    #[inline]
    pub fn is_expired(&self, now_ms: u64) -> bool {
        let at = self.expire_at();
        at != 0 && now_ms > at
    }

    /// Sets (or with 0 clears) the deadline. The key's bytes stay the same; its storage moves
    /// between inline and the deadline-prefixed block as needed.
    pub fn set_expire_at(&mut self, at: u64) {
        if self.key_tag() == KEY_TTL && at != 0 {
            // SAFETY: a KEY_TTL payload owns its block; `&mut self` makes this the only access.
            let block = unsafe { &mut *raw_box(&self.key) };
            block[..TTL_PREFIX].copy_from_slice(&at.to_le_bytes());
            return;
        }
        if self.expire_at() == at {
            return;
        }
        let key = self.take_key();
        self.write_key(&key, at);
    }

    /// Moves the key out (as owned bytes) and leaves an empty inline key.
    fn take_key(&mut self) -> Vec<u8> {
        let out = match self.key_tag() {
            KEY_HEAP => take_box(&self.key).into_vec(),
            KEY_TTL => take_box(&self.key)[TTL_PREFIX..].to_vec(),
            n => inline_bytes(&self.key, n).to_vec(),
        };
        self.key = EMPTY;
        self.set_key_tag(0);
        out
    }

    /// The access stamp (see `lru_clock`).
    #[inline]
    pub fn stamp(&self) -> u32 {
        self.word >> STAMP_SHIFT
    }

    #[inline]
    pub fn set_stamp(&mut self, stamp: u32) {
        self.word = (self.word & ((1 << STAMP_SHIFT) - 1)) | ((stamp % STAMP_MOD) << STAMP_SHIFT);
    }

    /// Records an access at `now_ms`.
    #[inline]
    pub fn touch(&mut self, now_ms: u64) {
        self.set_stamp(lru_clock(now_ms));
    }

    /// Whole seconds since the last access (OBJECT IDLETIME).
    pub fn idle_secs(&self, now_ms: u64) -> u64 {
        idle_secs(self.stamp(), now_ms)
    }

    /// Writes a value payload; the previous one must own nothing.
    fn write_value(&mut self, v: Value) {
        match v {
            Value::Str(StrValue::Int(i)) => {
                write_inline(&mut self.val, &i.to_le_bytes());
                self.set_val_tag(VAL_INT);
            }
            Value::Str(StrValue::Emb(b)) if b.len() <= INLINE_LEN => {
                write_inline(&mut self.val, &b);
                self.set_val_tag(b.len() as u32);
            }
            Value::Str(StrValue::Emb(b)) => {
                write_box(&mut self.val, b);
                self.set_val_tag(VAL_BOX);
            }
            Value::Str(StrValue::Raw(v))
                if u32::try_from(v.len()).is_ok() && u32::try_from(v.capacity()).is_ok() =>
            {
                write_vec(&mut self.val, v);
                self.set_val_tag(VAL_VEC);
            }
            other => {
                write_obj(&mut self.val, other);
                self.set_val_tag(VAL_OBJ);
            }
        }
    }

    /// Moves the value out and leaves an empty inline string.
    pub fn take_value(&mut self) -> Value {
        let v = match self.val_tag() {
            VAL_INT => Value::Str(StrValue::Int(read_i64(&self.val))),
            VAL_BOX => Value::Str(StrValue::Emb(take_box(&self.val))),
            VAL_VEC => {
                let (data, len, cap) = vec_parts(&self.val);
                // SAFETY: the parts are those of a vector whose ownership `write_value` moved
                // into this payload; the payload is retagged below, so it is reclaimed once.
                Value::Str(StrValue::Raw(unsafe {
                    Vec::from_raw_parts(data, len, cap)
                }))
            }
            VAL_OBJ => {
                // SAFETY: the pointer came from `Box::into_raw` in `write_value` and is owned by
                // this payload; it is retagged below, so the box is reclaimed once.
                *unsafe { Box::from_raw(peek_obj(&self.val)) }
            }
            n => Value::Str(StrValue::Emb(inline_bytes(&self.val, n).into())),
        };
        self.val = EMPTY;
        self.set_val_tag(0);
        v
    }

    /// Replaces the value, returning the old one.
    pub fn replace_value(&mut self, v: Value) -> Value {
        let old = self.take_value();
        self.write_value(v);
        old
    }

    /// Replaces the value, dropping the old one.
    pub fn set_value(&mut self, v: Value) {
        drop(self.replace_value(v));
    }

    /// The string value, or None for another type (commands reply WRONGTYPE).
    #[inline]
    pub fn as_str(&self) -> Option<StrRef<'_>> {
        Some(match self.val_tag() {
            VAL_INT => StrRef::Int(read_i64(&self.val)),
            VAL_BOX => {
                let b = box_bytes(&self.val);
                if b.len() <= EMBSTR_LIMIT {
                    StrRef::Emb(b)
                } else {
                    StrRef::Raw(b)
                }
            }
            VAL_VEC => {
                let (data, len, _) = vec_parts(&self.val);
                // SAFETY: the vector's buffer is owned by this payload and holds `len`
                // initialised bytes; it lives until a `&mut self` method or `Drop` runs.
                StrRef::Raw(unsafe { std::slice::from_raw_parts(data, len) })
            }
            VAL_OBJ => return self.obj().and_then(|v| v.as_str()).map(StrValue::as_ref),
            n => StrRef::Emb(inline_bytes(&self.val, n)),
        })
    }

    /// The value when it is stored as an object (every type but short and medium strings).
    #[inline]
    pub fn obj(&self) -> Option<&Value> {
        // SAFETY: a VAL_OBJ payload holds a live `Box<Value>` owned by this entry; the shared
        // borrow of `self` keeps it alive and unaliased by writers.
        (self.val_tag() == VAL_OBJ).then(|| unsafe { &*peek_obj(&self.val) })
    }

    #[inline]
    pub fn obj_mut(&mut self) -> Option<&mut Value> {
        // SAFETY: as in `obj`; `&mut self` makes the borrow unique.
        (self.val_tag() == VAL_OBJ).then(|| unsafe { &mut *peek_obj(&self.val) })
    }

    /// True when the value is a string.
    pub fn is_str(&self) -> bool {
        self.as_str().is_some()
    }

    /// Runs `f` on the string as a mutable raw buffer (APPEND, SETRANGE), converting it to `raw`
    /// first. None (and `f` not run) when the value is not a string.
    pub fn with_raw_mut<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> Option<R> {
        let mut buf = match self.take_value() {
            Value::Str(StrValue::Raw(v)) => v,
            Value::Str(s) => s.to_vec(),
            other => {
                self.write_value(other);
                return None;
            }
        };
        // While `f` runs the entry holds an empty string and owns nothing of `buf`: a panic
        // in `f` drops `buf` once and leaves the entry valid.
        let r = f(&mut buf);
        self.write_value(Value::Str(StrValue::Raw(buf)));
        Some(r)
    }

    /// An owned copy of the value (COPY, DUMP).
    pub fn to_value(&self) -> Value {
        match self.as_str() {
            Some(s) if self.val_tag() != VAL_OBJ => Value::Str(s.to_owned_value()),
            _ => self.obj().expect("not a string: an object").clone(),
        }
    }

    /// What `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self.obj() {
            Some(v) => v.type_name(),
            None => "string",
        }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self.obj() {
            Some(v) => v.encoding(),
            None => self.as_str().expect("inline values are strings").encoding(),
        }
    }

    /// Requested size of the key's heap block (0 when inline).
    pub fn key_heap_len(&self) -> usize {
        match self.key_tag() {
            KEY_HEAP | KEY_TTL => box_bytes(&self.key).len(),
            _ => 0,
        }
    }

    /// Requested size of the value's heap blocks (0 when inline): the string's block or
    /// capacity, or an object's box plus what the object owns.
    pub fn value_heap_len(&self) -> usize {
        match self.val_tag() {
            VAL_BOX => box_bytes(&self.val).len(),
            VAL_VEC => vec_parts(&self.val).2,
            VAL_OBJ => size_of::<Value>() + self.obj().map_or(0, Value::heap_bytes),
            _ => 0,
        }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        if matches!(self.key_tag(), KEY_HEAP | KEY_TTL) {
            drop(take_box(&self.key));
            self.set_key_tag(0);
        }
        drop(self.take_value());
    }
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry::new(self.key(), self.to_value(), self.expire_at(), self.stamp())
    }
}

/// Equal when key, value (with its encoding) and deadline are; the access stamp is bookkeeping
/// and does not count.
impl PartialEq for Entry {
    fn eq(&self, o: &Entry) -> bool {
        self.key() == o.key()
            && self.expire_at() == o.expire_at()
            && match (self.obj(), o.obj()) {
                (Some(a), Some(b)) => a == b,
                (None, None) => self.as_str() == o.as_str(),
                _ => false,
            }
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Entry");
        d.field("key", &String::from_utf8_lossy(self.key()));
        match self.obj() {
            Some(v) => d.field("value", v),
            None => d.field("value", &self.as_str()),
        };
        d.field("expire_at", &self.expire_at())
            .field("stamp", &self.stamp())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[u8]) -> Value {
        Value::Str(StrValue::from_bytes(v))
    }

    #[test]
    fn keys_inline_heap_and_with_deadline() {
        for len in [0usize, 1, 15, 16, 17, 40, 300] {
            let key: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut e = Entry::new(&key, s(b"v"), 0, 7);
            assert_eq!(e.key(), &key[..]);
            assert_eq!(e.key_heap_len(), if len <= 16 { 0 } else { len });
            e.set_expire_at(1_700_000_000_123);
            assert_eq!(e.key(), &key[..]);
            assert_eq!(e.expire_at(), 1_700_000_000_123);
            assert_eq!(e.key_heap_len(), len + 8);
            e.set_expire_at(5);
            assert_eq!(e.expire_at(), 5);
            assert!(e.is_expired(6) && !e.is_expired(5));
            e.set_expire_at(0);
            assert_eq!((e.key(), e.expire_at()), (&key[..], 0));
            assert_eq!(e.stamp(), 7);
            assert_eq!(e.as_str().unwrap().to_vec(), b"v");
        }
    }

    #[test]
    fn strings_keep_redis_encodings() {
        let cases: [(&[u8], &str); 7] = [
            (b"12345", "int"),
            (b"-9223372036854775808", "int"),
            (b"", "embstr"),
            (b"0123456789abcdef", "embstr"),
            (b"0123456789abcdefg", "embstr"),
            (&[b'x'; 44], "embstr"),
            (&[b'x'; 45], "raw"),
        ];
        for (v, enc) in cases {
            let e = Entry::new(b"k", s(v), 0, 0);
            assert_eq!(e.encoding(), enc, "{v:?}");
            assert_eq!(e.as_str().unwrap().to_vec(), v);
            assert_eq!(e.to_value(), s(v));
            assert_eq!(e.type_name(), "string");
        }
        // A short string modified in place is raw, like Redis's APPEND result.
        let mut e = Entry::new(b"k", s(b"ab"), 0, 0);
        assert_eq!(e.with_raw_mut(|b| b.push(b'c')), Some(()));
        assert_eq!(e.encoding(), "raw");
        assert_eq!(e.as_str().unwrap().to_vec(), b"abc");
        assert_eq!(
            e.value_heap_len(),
            e.as_str().map(|_| vec_parts(&e.val).2).unwrap()
        );
        assert_eq!(e.take_value(), Value::Str(StrValue::Raw(b"abc".to_vec())));
        assert_eq!(e.encoding(), "embstr");
    }

    #[test]
    fn values_replace_and_drop_cleanly() {
        let mut e = Entry::new(&[b'k'; 40], s(&[b'v'; 100]), 99, 3);
        let old = e.replace_value(s(b"42"));
        assert_eq!(old, s(&[b'v'; 100]));
        assert_eq!(e.as_str(), Some(StrRef::Int(42)));
        let c = e.clone();
        assert_eq!(c, e);
        e.set_value(s(b"short"));
        assert_ne!(c, e);
        assert_eq!(e.value_heap_len(), 0);
        e.set_value(s(&[b'v'; 30]));
        assert_eq!(e.value_heap_len(), 30);
    }

    #[test]
    fn stamps_wrap_like_redis_lru_clock() {
        let t = 1_700_000_000_000u64;
        let mut e = Entry::new(b"k", s(b"v"), 0, lru_clock(t));
        assert_eq!(e.idle_secs(t + 59_999), 59);
        e.touch(t + 60_000);
        assert_eq!(e.idle_secs(t + 60_000), 0);
        // Across a wrap of the 22-bit clock.
        let before_wrap = (u64::from(STAMP_MOD) - 2) * 1000;
        e.touch(before_wrap);
        assert_eq!(e.idle_secs(before_wrap + 5_000), 5);
    }
}
