//! HyperLogLog exactly as Redis 7.0's hyperloglog.c: the same bytes, the same counts.
//!
//! An HLL is a plain string: a 16-byte header (`"HYLL"`, the encoding byte, three unused bytes,
//! the cached cardinality as 8 little-endian bytes whose top bit marks it invalid) followed by
//! either the dense registers (16384 registers of 6 bits, 12288 bytes) or the sparse opcodes
//! (ZERO `00xxxxxx`, XZERO `01xxxxxx yyyyyyyy`, VAL `1vvvvvxx`). Every function here works on
//! the whole string as stored, so a value written by Redis is read as is and vice versa. The
//! sparse editing (`sparse_set`) follows Redis step for step, because the exact opcode sequence
//! it produces is visible to GET.

/// Header bytes before the registers.
pub const HDR_SIZE: usize = 16;
/// Register index bits.
pub const P: u32 = 14;
/// Remaining hash bits.
pub const Q: usize = 64 - P as usize;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Length of a dense HLL string.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte values.
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;
/// Redis's default `hll-sparse-max-bytes`.
pub const DEFAULT_SPARSE_MAX_BYTES: usize = 3000;
/// The MurmurHash64A seed Redis uses.
pub const SEED: u64 = 0xadc8_3b19;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is not a well-formed HLL where the operation needed one (Redis's
/// `-INVALIDOBJ Corrupted HLL object detected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash64A as in Redis (little-endian reads).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let len = key.len();
    let mut h = seed ^ (len as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element addresses and the run length of zeroes (plus one) it produced:
/// Redis's `hllPatLen`.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, SEED);
    let index = (hash & P_MASK) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

// ------------------------------------------------------------------------------------------------
// Header
// ------------------------------------------------------------------------------------------------

/// Redis's `isHLLObjectOrReply` test (the type test aside): long enough for a header, the magic,
/// a known encoding, and the exact length when dense.
pub fn is_valid(b: &[u8]) -> bool {
    b.len() >= HDR_SIZE
        && &b[..4] == b"HYLL"
        && b[4] <= MAX_ENCODING
        && (b[4] != DENSE || b.len() == DENSE_SIZE)
}

/// A new, empty HLL: sparse, one XZERO covering every register, cached cardinality 0.
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR_SIZE];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        v.extend_from_slice(&xzero_bytes(n));
        left -= n;
    }
    v
}

/// The cached cardinality, when the cache is valid.
pub fn cached(b: &[u8]) -> Option<u64> {
    (b[15] & 0x80 == 0).then(|| u64::from_le_bytes(b[8..16].try_into().expect("8 bytes")))
}

/// Stores `card` as the cached cardinality (valid).
pub fn set_cached(b: &mut [u8], card: u64) {
    b[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality invalid.
pub fn invalidate_cache(b: &mut [u8]) {
    b[15] |= 0x80;
}

// ------------------------------------------------------------------------------------------------
// Dense registers
// ------------------------------------------------------------------------------------------------

/// Register `i` of the dense register bytes. The last register's second byte lies past the
/// registers; Redis reads the string's NUL terminator there, so it reads as 0.
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let b0 = u32::from(regs[byte]);
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & u32::from(REGISTER_MAX)) as u8
}

/// Sets register `i` to `v`.
pub fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let fb8 = 8 - fb;
    let v = u32::from(v);
    let max = u32::from(REGISTER_MAX);
    regs[byte] &= !((max << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 &= !((max >> fb8) as u8);
        *b1 |= (v >> fb8) as u8;
    }
}

/// Raises register `i` to `count` if lower; true when it changed (`hllDenseSet`).
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

// ------------------------------------------------------------------------------------------------
// Sparse opcodes
// ------------------------------------------------------------------------------------------------

fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}
fn zero_len(b: u8) -> usize {
    usize::from(b & 0x3f) + 1
}
/// XZERO's length; a second byte past the end reads as Redis's NUL terminator.
fn xzero_len(buf: &[u8], p: usize) -> usize {
    ((usize::from(buf[p] & 0x3f) << 8) | usize::from(buf.get(p + 1).copied().unwrap_or(0))) + 1
}
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
fn val_len(b: u8) -> usize {
    usize::from(b & 0x3) + 1
}
fn val_byte(value: u8, len: usize) -> u8 {
    (((value - 1) << 2) | (len as u8 - 1)) | 0x80
}
fn zero_byte(len: usize) -> u8 {
    (len - 1) as u8
}
fn xzero_bytes(len: usize) -> [u8; 2] {
    let l = len - 1;
    [((l >> 8) as u8) | 0x40, (l & 0xff) as u8]
}

/// One decoded opcode: (registers covered, value or 0 for zero runs, bytes used).
fn opcode(buf: &[u8], p: usize) -> (usize, u8, usize) {
    let b = buf[p];
    if is_zero(b) {
        (zero_len(b), 0, 1)
    } else if is_xzero(b) {
        (xzero_len(buf, p), 0, 2)
    } else {
        (val_len(b), val_value(b), 1)
    }
}

/// Converts a sparse HLL to dense in place (`hllSparseToDense`): the header (magic, cached
/// cardinality, unused bytes) is kept. A dense HLL is left alone. Corrupt (and the value
/// unchanged) when the opcodes do not cover exactly every register; like the redis-server 7.0.15
/// that is the oracle (with the CVE-2025-32023 fix), any opcode running past the last register is
/// an error even when the registers before it add up.
pub fn to_dense(buf: &mut Vec<u8>) -> Result<(), Corrupt> {
    if buf[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&buf[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    let (mut p, mut idx) = (HDR_SIZE, 0usize);
    while p < buf.len() {
        let (run, v, oplen) = opcode(buf, p);
        if run + idx > REGISTERS {
            return Err(Corrupt);
        }
        if v != 0 {
            for i in idx..idx + run {
                dense_put(regs, i, v);
            }
        }
        idx += run;
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *buf = dense;
    Ok(())
}

/// Raises register `index` of a sparse HLL to `count` (`hllSparseSet`), promoting it to dense
/// when the value does not fit a VAL opcode or the string would outgrow `max_bytes`. Ok(true)
/// when a register changed.
fn sparse_set(
    buf: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(buf, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let mut end = buf.len();
    let (mut p, mut first, mut span) = (HDR_SIZE, 0usize, 0usize);
    let mut prev = None;
    while p < end {
        let (run, _, oplen) = opcode(buf, p);
        span = run;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let b = buf[p];
    let (zero, xzero) = (is_zero(b), is_xzero(b));
    let run = span;

    let mut done = false;
    if !zero && !xzero {
        // A) already as high; B) a VAL of one register.
        if val_value(b) >= count {
            return Ok(false);
        }
        if run == 1 {
            buf[p] = val_byte(count, 1);
            done = true;
        }
    }
    // C) a ZERO of one register.
    if !done && zero && run == 1 {
        buf[p] = val_byte(count, 1);
        done = true;
    }
    if !done {
        // D) split the opcode into up to three.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        let zero_run = |seq: &mut Vec<u8>, len: usize| {
            if len > SPARSE_ZERO_MAX_LEN {
                seq.extend_from_slice(&xzero_bytes(len));
            } else {
                seq.push(zero_byte(len));
            }
        };
        if zero || xzero {
            if index != first {
                zero_run(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                zero_run(&mut seq, last - index);
            }
        } else {
            let cur = val_value(b);
            if index != first {
                seq.push(val_byte(cur, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(cur, last - index));
            }
        }
        // Step 3: substitute the sequence for the old opcode.
        let oldlen: usize = if xzero { 2 } else { 1 };
        let delta = seq.len() as isize - oldlen as isize;
        if delta > 0 && buf.len() + delta as usize > max_bytes {
            return promote(buf, index, count);
        }
        let new_len = (end as isize + delta) as usize;
        buf.splice(p..(p + oldlen).min(end), seq);
        // An XZERO cut short by the end of the string (corrupt input) loses its last byte,
        // as in Redis's length arithmetic.
        buf.truncate(new_len);
        end = buf.len();
    }
    // Step 4: merge adjacent VAL opcodes of equal value, scanning up to five from `prev`.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = buf[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(buf[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(buf[p + 1]));
            if v1 == v2 {
                let len = val_len(b) + val_len(buf[p + 1]);
                if len <= SPARSE_VAL_MAX_LEN {
                    buf[p + 1] = val_byte(v1, len);
                    buf.remove(p);
                    end -= 1;
                    continue;
                }
            }
        }
        p += 1;
    }
    invalidate_cache(buf);
    Ok(true)
}

fn promote(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(buf)?;
    let changed = dense_set(&mut buf[HDR_SIZE..], index, count);
    debug_assert!(changed, "a promotion always changes a register");
    Ok(true)
}

/// Adds one element (`hllAdd`): Ok(true) when a register changed. The caller invalidates the
/// cached cardinality (PFADD does it once, after all elements). `buf` must pass `is_valid`.
pub fn add(buf: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    match buf[4] {
        DENSE => Ok(dense_set(&mut buf[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(buf, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

// ------------------------------------------------------------------------------------------------
// Counting and merging
// ------------------------------------------------------------------------------------------------

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        // Redis's pow(1 - x, 2), which compilers turn into this product.
        z -= (1.0 - x) * (1.0 - x) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// The improved estimator of Redis 7.0's `hllCount` (Ertl) from a register histogram.
pub fn estimate(h: &[i64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimate of a stored HLL (`hllCount`), ignoring the cache. Corrupt when sparse opcodes do
/// not cover exactly every register.
pub fn count(buf: &[u8]) -> Result<u64, Corrupt> {
    let mut h = [0i64; 64];
    let body = &buf[HDR_SIZE..];
    if buf[4] == DENSE {
        for i in 0..REGISTERS {
            h[usize::from(dense_get(body, i))] += 1;
        }
    } else {
        let (mut p, mut idx) = (HDR_SIZE, 0usize);
        while p < buf.len() {
            let (run, v, oplen) = opcode(buf, p);
            idx += run;
            h[usize::from(v)] += run as i64;
            p += oplen;
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(estimate(&h))
}

/// The estimate of raw registers, one byte each (multi-key PFCOUNT's union).
pub fn count_raw(regs: &[u8]) -> u64 {
    let mut h = [0i64; 64];
    for &r in regs {
        h[usize::from(r & 63)] += 1;
    }
    estimate(&h)
}

/// Raises each of `max` (one byte per register) to the HLL's register (`hllMerge`); Corrupt as
/// in `to_dense`.
pub fn merge_into(max: &mut [u8], buf: &[u8]) -> Result<(), Corrupt> {
    let body = &buf[HDR_SIZE..];
    if buf[4] == DENSE {
        for (i, m) in max.iter_mut().enumerate().take(REGISTERS) {
            *m = (*m).max(dense_get(body, i));
        }
        return Ok(());
    }
    let (mut p, mut i) = (HDR_SIZE, 0usize);
    while p < buf.len() {
        let (run, v, oplen) = opcode(buf, p);
        if run + i > REGISTERS {
            return Err(Corrupt);
        }
        if v != 0 {
            for m in &mut max[i..i + run] {
                *m = (*m).max(v);
            }
        }
        i += run;
        p += oplen;
    }
    if i != REGISTERS {
        return Err(Corrupt);
    }
    Ok(())
}

/// PFMERGE's write into the destination: dense first when any source was, then every non-zero
/// register raised in index order, then the cache invalidated.
pub fn store_merged(
    buf: &mut Vec<u8>,
    max: &[u8],
    use_dense: bool,
    max_bytes: usize,
) -> Result<(), Corrupt> {
    if use_dense {
        to_dense(buf)?;
    }
    for (j, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        match buf[4] {
            DENSE => {
                dense_set(&mut buf[HDR_SIZE..], j, m);
            }
            // The destination was already merged as a source, so it is well formed.
            _ => {
                let _ = sparse_set(buf, j, m, max_bytes);
            }
        }
    }
    invalidate_cache(buf);
    Ok(())
}

/// PFDEBUG DECODE's listing of sparse opcodes: `z:len` (ZERO), `Z:len` (XZERO), `v:value,len`.
pub fn decode_sparse(buf: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR_SIZE;
    while p < buf.len() {
        let b = buf[p];
        let (run, v, oplen) = opcode(buf, p);
        out.push(if is_zero(b) {
            format!("z:{run}")
        } else if is_xzero(b) {
            format!("Z:{run}")
        } else {
            format!("v:{v},{run}")
        });
        p += oplen;
    }
    out.join(" ")
}

/// Every register of a valid HLL, one byte each.
pub fn registers(buf: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut max = vec![0u8; REGISTERS];
    merge_into(&mut max, buf)?;
    Ok(max)
}

/// PFSELFTEST (`pfselftestCommand`): register access on random values, then 10 million distinct
/// elements added to a dense and a sparse HLL, checking at each power of ten that the sparse one
/// is still sparse while small, that both count the same, and that the error stays within six
/// standard errors. `seed` stands in for Redis's `rand()`; the error text is Redis's.
pub fn selftest(seed: u64, max_bytes: usize) -> Result<(), String> {
    let mut rng = seed | 1;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut dense = new_sparse();
    to_dense(&mut dense).expect("an empty HLL converts");
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        let regs = &mut dense[HDR_SIZE..];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (next() as u8) & REGISTER_MAX;
            dense_put(regs, i, *b);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let v = dense_get(regs, i);
            if v != b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {v}"));
            }
        }
    }
    dense[HDR_SIZE..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = next();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        add(&mut dense, &ele, max_bytes).map_err(|_| "TESTFAILED dense add".to_string())?;
        add(&mut sparse, &ele, max_bytes).map_err(|_| "TESTFAILED sparse add".to_string())?;
        if j != checkpoint {
            continue;
        }
        if j < (max_bytes / 2) as u64 && sparse[4] != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense).map_err(|_| "TESTFAILED dense count".to_string())?;
        if count(&sparse) != Ok(card) {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
