//! LCS: the longest common subsequence of two strings, computed and answered exactly as Redis 7.0's
//! `lcsCommand` (the same dynamic-programming table, the same backward walk, so the same
//! subsequence and the same match ranges in the same order).
//!
//! Pure computation over two byte strings: it runs on a shard (both keys there) or on the
//! coordinator (keys on two shards) and never touches shard data itself.

use super::{opt_is, LcsInput};
use crate::errors;
use bytes::Bytes;
use darter_collections::num::string2ll;
use darter_resp::ReplyWriter;

/// One matching range: `a` and `b` are inclusive byte ranges of the two strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lcs {
    /// Length of the longest common subsequence.
    pub len: u32,
    /// The subsequence itself (when asked for).
    pub seq: Vec<u8>,
    /// Matching ranges from the end of the strings backwards (when asked for), filtered by
    /// MINMATCHLEN.
    pub matches: Vec<LcsMatch>,
}

/// Why LCS could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LcsError {
    TooLong,
    ExceedsMaxBulk,
    AllocFailed,
}

impl LcsError {
    fn message(self) -> &'static str {
        match self {
            LcsError::TooLong => errors::LCS_TOO_LONG,
            LcsError::ExceedsMaxBulk => errors::LCS_EXCEEDS_MAX_BULK,
            LcsError::AllocFailed => errors::LCS_ALLOC_FAILED,
        }
    }
}

/// Computes the LCS of `a` and `b`. `walk` computes the subsequence and the ranges (not needed
/// for LEN alone). The table takes `(|a|+1) * (|b|+1) * 4` bytes, refused above `max_table`
/// (proto-max-bulk-len) as Redis does.
pub fn lcs(
    a: &[u8],
    b: &[u8],
    walk: bool,
    min_match_len: i64,
    max_table: usize,
) -> Result<Lcs, LcsError> {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(LcsError::TooLong);
    }
    let (alen, blen) = (a.len(), b.len());
    let width = blen + 1;
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    let bytes = cells.checked_mul(4).ok_or(LcsError::AllocFailed)?;
    if bytes > max_table as u64 {
        return Err(LcsError::ExceedsMaxBulk);
    }
    let cells = usize::try_from(cells).map_err(|_| LcsError::AllocFailed)?;
    let mut table: Vec<u32> = Vec::new();
    table
        .try_reserve_exact(cells)
        .map_err(|_| LcsError::AllocFailed)?;
    table.resize(cells, 0);
    // table[i * width + j] = LCS length of a[..i] and b[..j]; row 0 and column 0 stay 0.
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let len = table[alen * width + blen];
    let mut out = Lcs {
        len,
        ..Lcs::default()
    };
    if !walk {
        return Ok(out);
    }
    // The backward walk, statement for statement as Redis's (alen marks "no range open").
    let alen32 = alen as u32;
    let mut seq = vec![0u8; len as usize];
    let mut idx = len as usize;
    let (mut ars, mut are, mut brs, mut bre) = (alen32, 0u32, 0u32, 0u32);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            seq[idx - 1] = a[i - 1];
            if ars == alen32 {
                ars = i as u32 - 1;
                are = i as u32 - 1;
                brs = j as u32 - 1;
                bre = j as u32 - 1;
            } else if ars == i as u32 && brs == j as u32 {
                ars -= 1;
                brs -= 1;
            } else {
                emit = true;
            }
            if ars == 0 || brs == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            let up = table[(i - 1) * width + j];
            let left = table[i * width + j - 1];
            if up > left {
                i -= 1;
            } else {
                j -= 1;
            }
            if ars != alen32 {
                emit = true;
            }
        }
        let match_len = are.wrapping_sub(ars).wrapping_add(1);
        if emit {
            if min_match_len == 0 || match_len as i64 >= min_match_len {
                out.matches.push(LcsMatch {
                    a: (ars, are),
                    b: (brs, bre),
                    len: match_len,
                });
            }
            ars = alen32;
        }
    }
    out.seq = seq;
    Ok(out)
}

/// Checks the operands and options in Redis's order, computes, and writes the reply.
pub(super) fn reply(w: &mut ReplyWriter, a: LcsInput, b: LcsInput, args: &[Bytes], max: usize) {
    let (LcsInput::Str(a), LcsInput::Str(b)) = (a, b) else {
        return w.error(errors::LCS_WRONGTYPE);
    };
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len = 0i64;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j][..];
        let more = j + 1 < args.len();
        if opt_is(opt, "idx") {
            get_idx = true;
        } else if opt_is(opt, "len") {
            get_len = true;
        } else if opt_is(opt, "withmatchlen") {
            with_match_len = true;
        } else if opt_is(opt, "minmatchlen") && more {
            let Some(v) = string2ll(&args[j + 1]) else {
                return w.error(errors::NOT_INTEGER);
            };
            min_match_len = v.max(0);
            j += 1;
        } else {
            return w.error(errors::SYNTAX);
        }
        j += 1;
    }
    if get_idx && get_len {
        return w.error(errors::LCS_IDX_AND_LEN);
    }
    let r = match lcs(&a, &b, get_idx || !get_len, min_match_len, max) {
        Ok(r) => r,
        Err(e) => return w.error(e.message()),
    };
    if get_idx {
        w.map(2);
        w.bulk(b"matches");
        w.array(r.matches.len());
        for m in &r.matches {
            w.array(2 + usize::from(with_match_len));
            w.array(2);
            w.int(m.a.0 as i64);
            w.int(m.a.1 as i64);
            w.array(2);
            w.int(m.b.0 as i64);
            w.int(m.b.1 as i64);
            if with_match_len {
                w.int(m.len as i64);
            }
        }
        w.bulk(b"len");
        w.int(r.len as i64);
    } else if get_len {
        w.int(r.len as i64);
    } else {
        w.bulk(&r.seq);
    }
}
