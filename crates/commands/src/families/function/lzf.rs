//! LZF as Redis uses it in RDB strings (liblzf 3.6 with Redis's `lzfP.h`: `HLOG` 16,
//! `VERY_FAST`, offsets in the hash table), so FUNCTION DUMP writes the bytes redis-server writes
//! and FUNCTION RESTORE reads compressed payloads.
//!
//! Format: `000LLLLL` + L+1 literal bytes; `LLLooooo oooooooo` a back reference of L+2 bytes at
//! distance o+1; `111ooooo LLLLLLLL oooooooo` the same with length L+9.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// `lzf_compress(in, len, out, out_len)`: `None` when the result would not fit in `out_len`
/// bytes. Redis calls it with `out_len = len - 4` and stores the string uncompressed on `None`.
/// (Redis leaves its hash table uninitialised; a zeroed one gives the same output in practice.)
pub fn compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_end = input.len();
    if in_end < 3 || out_len == 0 {
        return None;
    }
    let mut htab = vec![0u32; HSIZE];
    // Slack: the C code relies on its checks to stay within `out_len`; the slack only keeps a
    // port mistake from panicking.
    let mut out = vec![0u8; out_len + 8];
    let out_end = out_len;
    let mut ip = 0usize;
    let mut op = 1usize; // start run
    let mut lit = 0usize;
    let frst = |p: usize| ((input[p] as u32) << 8) | input[p + 1] as u32;
    let mut hval = frst(0);
    while ip < in_end - 2 {
        hval = (hval << 8) | input[ip + 2] as u32;
        let slot = idx(hval);
        let r = htab[slot] as usize;
        htab[slot] = ip as u32;
        let matched = r != 0
            && r < ip
            && ip - r - 1 < MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r] == input[ip]
            && input[r + 1] == input[ip + 1];
        if matched {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_end - ip - len).min(MAX_REF);
            if op + 3 + 1 >= out_end && op - usize::from(lit == 0) + 3 + 1 >= out_end {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1); // stop run
            op -= usize::from(lit == 0); // undo run if length is zero
            let eq = |l: usize| input.get(r + l) == input.get(ip + l);
            'ext: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if !eq(len) {
                            break 'ext;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && eq(len)) {
                        break;
                    }
                }
            }
            len -= 2; // len is now #octets - 1
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // start run
            ip += len + 1;
            if ip >= in_end - 2 {
                break;
            }
            ip -= 2;
            hval = frst(ip);
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32;
            ip += 1;
            hval = (hval << 8) | input[ip + 2] as u32;
            htab[idx(hval)] = ip as u32;
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_end {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1); // end run
    op -= usize::from(lit == 0);
    if op > out_len {
        return None;
    }
    out.truncate(op);
    Some(out)
}

/// `lzf_decompress`, requiring exactly `out_len` bytes out (as `rdbLoadLzfStringObject` does).
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if out.len() + n > out_len || ip + n > input.len() {
                return None;
            }
            out.extend_from_slice(&input[ip..ip + n]);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip)? as usize;
                ip += 1;
            }
            let back = ((ctrl & 0x1f) << 8) + 1 + *input.get(ip)? as usize;
            ip += 1;
            len += 2;
            if back > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - back;
            for i in 0..len {
                out.push(out[start + i]);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn compresses_like_redis() {
        // From FUNCTION DUMP on redis-server 7.0.15.
        let code = format!(
            "#!lua name=lib2\nredis.register_function('f2', function() return 2 end) -- {}",
            "a".repeat(79)
        );
        let want: &[u8] = b"\x1f#!lua name=lib2\nredis.register_f\runction('f2', \xe0\x00\x0e\x13) return 2 end) -- a\xe0C\x00\x01aa";
        assert_eq!(compress(code.as_bytes(), code.len() - 4).unwrap(), want);
        assert_eq!(decompress(want, code.len()).unwrap(), code.as_bytes());
        // Redis stores this one uncompressed: LZF would not save 4 bytes.
        let code = b"#!lua name=lib1\nredis.register_function('f1', function() return 1 end)";
        assert!(compress(code, code.len() - 4).is_none());
    }

    #[test]
    fn corrupt_input_is_refused() {
        assert!(decompress(b"\x05ab", 6).is_none());
        assert!(decompress(b"\x00a\x20\x05", 4).is_none());
        assert!(decompress(b"\x01ab", 3).is_none());
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 3..3000)) {
            if let Some(c) = compress(&data, data.len() + 64) {
                prop_assert_eq!(decompress(&c, data.len()).unwrap(), data);
            }
        }
    }
}
