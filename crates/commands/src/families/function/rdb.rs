//! The pieces of Redis's RDB format FUNCTION DUMP / RESTORE use: CRC-64 (Jones, as `crc64.c`),
//! RDB string encoding (`rdbSaveRawString` / `rdbGenericLoadStringObject`, including the integer
//! and LZF encodings Redis may write) and the DUMP footer (`RDB_VERSION` as 2 bytes little-endian,
//! then the CRC-64 of everything before it, 8 bytes little-endian).

/// The RDB version Redis 7.0 writes (and the newest it accepts).
pub const RDB_VERSION: u16 = 10;
/// `RDB_OPCODE_FUNCTION2`: one library, followed by its code as an RDB string.
pub const OPCODE_FUNCTION2: u8 = 245;
/// `RDB_OPCODE_FUNCTION`: the 7.0 release candidates' format (name, engine, optional
/// description, then the code), still read by 7.0.15.
pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;

const fn crc_table() -> [u64; 256] {
    // Redis's crc64 ("Jones" polynomial 0xad93d23594c935a9), reflected: 0x95ac9329ac4bc9b5.
    let poly: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut j = 0;
        while j < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ poly
            } else {
                crc >> 1
            };
            j += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC_TABLE: [u64; 256] = crc_table();

/// `crc64(crc, data)` as Redis computes it (initial value 0 for DUMP payloads).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    for &b in data {
        crc = CRC_TABLE[((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// Appends the DUMP footer: RDB version and CRC-64, both little-endian.
pub fn add_footer(payload: &mut Vec<u8>) {
    payload.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, payload);
    payload.extend_from_slice(&crc.to_le_bytes());
}

/// `verifyDumpPayload`: at least the footer, a version Redis 7.0 can read, a matching CRC.
/// Returns the body (without the footer). (RESTORE reads records from the whole payload: a
/// record may run into the footer's bytes, as in Redis.)
pub fn verify_footer(payload: &[u8]) -> Option<&[u8]> {
    if payload.len() < 10 {
        return None;
    }
    let n = payload.len();
    let ver = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    if ver > RDB_VERSION {
        return None;
    }
    let crc = u64::from_le_bytes(payload[n - 8..].try_into().ok()?);
    if crc64(0, &payload[..n - 8]) != crc {
        return None;
    }
    Some(&payload[..n - 10])
}

/// `rdbSaveLen`.
pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// `rdbSaveRawString` for strings Redis would not store as integers (library code always starts
/// with `#!`): LZF-compressed when longer than 20 bytes and compression saves more than 4 bytes
/// (`rdbcompression yes`, Redis's default), the plain length and bytes otherwise.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() > 20 {
        if let Some(c) = super::lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// A cursor over an RDB body.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

/// `rdbLoadLen`'s result: a length, or a special encoding (`RDB_ENC_*`).
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn byte(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.remaining() < n {
            return None;
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Some(s)
    }

    fn len(&mut self) -> Option<Len> {
        let b = self.byte()?;
        Some(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            2 if b == 0x80 => Len::Plain(u32::from_be_bytes(self.take(4)?.try_into().ok()?) as u64),
            2 if b == 0x81 => Len::Plain(u64::from_be_bytes(self.take(8)?.try_into().ok()?)),
            2 => return None,
            _ => Len::Encoded(b & 0x3f),
        })
    }

    /// `rdbLoadLen(rdb, NULL)`: a length, or an encoding's number taken as one.
    pub fn any_len(&mut self) -> Option<u64> {
        Some(match self.len()? {
            Len::Plain(n) => n,
            Len::Encoded(e) => e as u64,
        })
    }

    fn plain_len(&mut self) -> Option<usize> {
        match self.len()? {
            Len::Plain(n) => usize::try_from(n).ok(),
            Len::Encoded(_) => None,
        }
    }

    /// `rdbGenericLoadStringObject`: plain, integer-encoded or LZF-compressed.
    pub fn string(&mut self) -> Option<Vec<u8>> {
        match self.len()? {
            Len::Plain(n) => Some(self.take(usize::try_from(n).ok()?)?.to_vec()),
            Len::Encoded(0) => Some((self.byte()? as i8).to_string().into_bytes()),
            Len::Encoded(1) => {
                let v = i16::from_le_bytes(self.take(2)?.try_into().ok()?);
                Some(v.to_string().into_bytes())
            }
            Len::Encoded(2) => {
                let v = i32::from_le_bytes(self.take(4)?.try_into().ok()?);
                Some(v.to_string().into_bytes())
            }
            Len::Encoded(3) => {
                let clen = self.plain_len()?;
                let len = self.plain_len()?;
                let c = self.take(clen)?;
                super::lzf::decompress(c, len)
            }
            Len::Encoded(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis() {
        // crc64.c's own test vector.
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn footer_round_trip() {
        let mut p = vec![OPCODE_FUNCTION2];
        write_string(&mut p, b"#!lua name=x\n");
        add_footer(&mut p);
        let body = verify_footer(&p).unwrap();
        let mut r = Reader::new(body);
        assert_eq!(r.byte(), Some(OPCODE_FUNCTION2));
        assert_eq!(r.string().unwrap(), b"#!lua name=x\n");
        assert_eq!(r.remaining(), 0);
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(verify_footer(&bad).is_none());
        let mut newer = p[..p.len() - 10].to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert!(verify_footer(&newer).is_none());
        assert!(verify_footer(&p[..9]).is_none());
    }

    #[test]
    fn empty_dump_is_redis_bytes() {
        // redis-server 7.0.15: FUNCTION DUMP with no libraries.
        let mut p = Vec::new();
        add_footer(&mut p);
        assert_eq!(p, b"\n\x00]\x9b\\@\x0f\x7f\xa2\xda");
    }

    #[test]
    fn lengths_and_encodings() {
        for n in [0u64, 63, 64, 16383, 16384, u32::MAX as u64] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let mut r = Reader::new(&out);
            assert!(matches!(r.len(), Some(Len::Plain(m)) if m == n));
        }
        let mut r = Reader::new(&[0xC0, 0xFE, 0xC1, 0x39, 0x30, 0xC2, 0x15, 0xCD, 0x5B, 0x07]);
        assert_eq!(r.string().unwrap(), b"-2");
        assert_eq!(r.string().unwrap(), b"12345");
        assert_eq!(r.string().unwrap(), b"123456789");
        assert!(Reader::new(&[0x82]).string().is_none());
        assert!(Reader::new(&[0x05, b'a']).string().is_none());
    }

    #[test]
    fn redis_lzf_payload_loads() {
        // FUNCTION DUMP from redis-server 7.0.15 of a library whose code LZF compresses.
        let p = b"\xf5\xc3@N@\x99\x1f#!lua name=lib2\nredis.register_f\runction('f2', \xe0\x00\x0e\x13) return 2 end) -- a\xe0C\x00\x01aa\xf5@F#!lua name=lib1\nredis.register_function('f1', function() return 1 end)\n\x00\x96D2\x19\x0e\xed\xe6k";
        let body = verify_footer(p).unwrap();
        let mut r = Reader::new(body);
        assert_eq!(r.byte(), Some(OPCODE_FUNCTION2));
        let code = r.string().unwrap();
        let want = format!(
            "#!lua name=lib2\nredis.register_function('f2', function() return 2 end) -- {}",
            "a".repeat(79)
        );
        assert_eq!(String::from_utf8(code).unwrap(), want);
        assert_eq!(r.byte(), Some(OPCODE_FUNCTION2));
        assert_eq!(
            r.string().unwrap(),
            b"#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"
        );
        assert_eq!(r.remaining(), 0);
    }
}
