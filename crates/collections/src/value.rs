//! Values stored in the keyspace and their encodings.
//!
//! A value knows its Redis type and encoding (what `TYPE` and `OBJECT ENCODING` report) and nothing
//! of commands or shards. Strings follow Redis's object encodings: integers that round-trip through
//! `string2ll` are stored as `i64` (`int`), short strings created whole are `embstr` (at most 44 bytes),
//! and anything else, or any string modified in place (APPEND, SETRANGE), is `raw`.

use crate::num::{format_i64, string2ll};

/// Redis's `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
pub const EMBSTR_LIMIT: usize = 44;

/// A string value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrValue {
    Int(i64),
    /// Created whole and short: reported as `embstr`.
    Emb(Box<[u8]>),
    /// Long, or modified in place: reported as `raw`.
    Raw(Vec<u8>),
}

impl StrValue {
    /// Encodes bytes as Redis's `tryObjectEncoding` would for a freshly created string.
    pub fn from_bytes(b: &[u8]) -> StrValue {
        if b.len() <= 20 {
            if let Some(v) = string2ll(b) {
                return StrValue::Int(v);
            }
        }
        if b.len() <= EMBSTR_LIMIT {
            StrValue::Emb(b.into())
        } else {
            StrValue::Raw(b.to_vec())
        }
    }

    /// A freshly created string that is never integer-encoded (Redis's `createStringObject`):
    /// `embstr` up to 44 bytes, `raw` beyond (INCRBYFLOAT results).
    pub fn embstr_or_raw(b: &[u8]) -> StrValue {
        if b.len() <= EMBSTR_LIMIT {
            StrValue::Emb(b.into())
        } else {
            StrValue::Raw(b.to_vec())
        }
    }

    /// A string that will be / was modified in place: always `raw`.
    pub fn raw(b: Vec<u8>) -> StrValue {
        StrValue::Raw(b)
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(v) => {
                let mut buf = [0u8; 20];
                format_i64(*v, &mut buf).len()
            }
            StrValue::Emb(b) => b.len(),
            StrValue::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string form, without allocating for integers.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(v) => {
                let mut buf = [0u8; 20];
                f(format_i64(*v, &mut buf))
            }
            StrValue::Emb(b) => f(b),
            StrValue::Raw(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Turns the value into a mutable `raw` buffer (APPEND, SETRANGE) and returns it.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(self.to_vec());
        }
        match self {
            StrValue::Raw(v) => v,
            _ => unreachable!("just converted to raw"),
        }
    }

    /// The integer value, when the string is one in Redis's sense.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(v) => Some(*v),
            StrValue::Emb(b) => string2ll(b),
            StrValue::Raw(b) => string2ll(b),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Emb(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    /// Heap bytes owned by this value (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Emb(b) => b.len(),
            StrValue::Raw(b) => b.capacity(),
        }
    }
}

/// Every value type darter stores. Later families add variants here.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(StrValue),
}

impl Value {
    /// The string, or None for a value of another type (commands reply WRONGTYPE). No wildcard
    /// arm: a new type must say here whether it is a string.
    #[inline]
    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            Value::Str(s) => Some(s),
        }
    }

    #[inline]
    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            Value::Str(s) => Some(s),
        }
    }

    #[inline]
    pub fn into_str(self) -> Option<StrValue> {
        match self {
            Value::Str(s) => Some(s),
        }
    }

    /// What `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// What `OBJECT ENCODING` reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
        }
    }
}
