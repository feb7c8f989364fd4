//! Values stored in the keyspace and their encodings.
//!
//! A value knows its Redis type and encoding (what `TYPE` and `OBJECT ENCODING` report) and nothing
//! of commands or shards. Strings follow Redis's object encodings: integers that round-trip through
//! `string2ll` are stored as `i64` (`int`), short strings created whole are `embstr` (at most 44 bytes),
//! and anything else, or any string modified in place (APPEND, SETRANGE), is `raw`.

use crate::dense::{DenseMap, DenseSet};
use crate::intset::IntSet;
use crate::list::List;
use crate::listpack::ListPack;
use crate::num::{format_i64, string2ll};
use crate::zsetval::ZSetValue;

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

    /// The string borrowed, with the same readers (`len`, `with_bytes`, `as_i64`, ...).
    #[inline]
    pub fn as_ref(&self) -> StrRef<'_> {
        match self {
            StrValue::Int(v) => StrRef::Int(*v),
            StrValue::Emb(b) => StrRef::Emb(b),
            StrValue::Raw(b) => StrRef::Raw(b),
        }
    }

    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        self.as_ref().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string form, without allocating for integers.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        self.as_ref().with_bytes(f)
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_ref().to_vec()
    }

    /// The integer value, when the string is one in Redis's sense.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_ref().as_i64()
    }

    pub fn encoding(&self) -> &'static str {
        self.as_ref().encoding()
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

/// A string value borrowed from wherever it is stored (a `StrValue`, or a compact entry whose
/// short strings live inline): what readers of strings work with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrRef<'a> {
    Int(i64),
    /// Reported as `embstr`.
    Emb(&'a [u8]),
    /// Reported as `raw`.
    Raw(&'a [u8]),
}

impl<'a> StrRef<'a> {
    /// Length in bytes of the string form.
    pub fn len(&self) -> usize {
        match self {
            StrRef::Int(v) => {
                let mut buf = [0u8; 20];
                format_i64(*v, &mut buf).len()
            }
            StrRef::Emb(b) | StrRef::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` with the string form, without allocating for integers.
    #[inline]
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrRef::Int(v) => {
                let mut buf = [0u8; 20];
                f(format_i64(*v, &mut buf))
            }
            StrRef::Emb(b) | StrRef::Raw(b) => f(b),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// The integer value, when the string is one in Redis's sense.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrRef::Int(v) => Some(*v),
            StrRef::Emb(b) | StrRef::Raw(b) => string2ll(b),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            StrRef::Int(_) => "int",
            StrRef::Emb(_) => "embstr",
            StrRef::Raw(_) => "raw",
        }
    }

    /// An owned copy with the same encoding.
    pub fn to_owned_value(&self) -> StrValue {
        match *self {
            StrRef::Int(v) => StrValue::Int(v),
            StrRef::Emb(b) => StrValue::Emb(b.into()),
            StrRef::Raw(b) => StrValue::Raw(b.to_vec()),
        }
    }
}

/// Every value type darter stores. Strings have their own compact forms in the keyspace
/// (`crate::compact`); every other type is stored boxed, in the encoding its family chose.
#[derive(Clone, Debug)]
pub enum Value {
    Str(StrValue),
    List(List),
    Hash(HashValue),
    Set(SetValue),
    ZSet(ZSetValue),
}

/// Equal when of the same type with the same contents in the same encoding (lists element by
/// element, whatever their node layout).
impl PartialEq for Value {
    fn eq(&self, o: &Value) -> bool {
        match (self, o) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                a.encoding() == b.encoding()
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.to_vec() == y.to_vec())
            }
            (Value::Hash(a), Value::Hash(b)) => a == b,
            (Value::Set(a), Value::Set(b)) => a == b,
            (Value::ZSet(a), Value::ZSet(b)) => {
                a.encoding_name() == b.encoding_name()
                    && a.len() == b.len()
                    && a.iter().zip(b.iter()).all(|((m, s), (n, t))| {
                        m.to_vec() == n.to_vec() && s.to_bits() == t.to_bits()
                    })
            }
            _ => false,
        }
    }
}

impl Value {
    /// The string, or None for a value of another type (commands reply WRONGTYPE).
    #[inline]
    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    #[inline]
    pub fn into_str(self) -> Option<StrValue> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// What `OBJECT ENCODING` reports (Redis 7.2's names).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(v) => v.encoding(),
            Value::ZSet(z) => z.encoding_name(),
        }
    }

    /// Heap bytes the value owns (MEMORY USAGE).
    pub fn heap_bytes(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_bytes(),
            Value::List(l) => l.mem_bytes(),
            Value::Hash(h) => h.mem_bytes(),
            Value::Set(v) => v.mem_bytes(),
            Value::ZSet(z) => z.mem_bytes(),
        }
    }
}

/// A hash: field/value pairs as consecutive listpack entries while small
/// (`hash-max-listpack-entries` / `-value`), then a dense map.
#[derive(Clone, Debug, PartialEq)]
pub enum HashValue {
    Packed(ListPack),
    Dense(DenseMap),
}

impl HashValue {
    /// What OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            HashValue::Packed(_) => "listpack",
            HashValue::Dense(_) => "hashtable",
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match self {
            HashValue::Packed(lp) => lp.len() / 2,
            HashValue::Dense(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mem_bytes(&self) -> usize {
        match self {
            HashValue::Packed(lp) => lp.mem_bytes(),
            HashValue::Dense(m) => m.mem_bytes(),
        }
    }
}

/// A set: an intset while every member is an integer and there are few
/// (`set-max-intset-entries`), a listpack while small (`set-max-listpack-entries` / `-value`),
/// then a dense set, as Redis 7.2 stores sets.
#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Ints(IntSet),
    Packed(ListPack),
    Dense(DenseSet),
}

impl SetValue {
    /// What OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self {
            SetValue::Ints(_) => "intset",
            SetValue::Packed(_) => "listpack",
            SetValue::Dense(_) => "hashtable",
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match self {
            SetValue::Ints(i) => i.len(),
            SetValue::Packed(lp) => lp.len(),
            SetValue::Dense(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn mem_bytes(&self) -> usize {
        match self {
            SetValue::Ints(i) => i.mem_bytes(),
            SetValue::Packed(lp) => lp.mem_bytes(),
            SetValue::Dense(d) => d.mem_bytes(),
        }
    }
}
