//! Fuzz target for the text/meta parser and the binary packet parser: arbitrary bytes, arbitrary
//! small item limits.
//!
//! Asserts, beyond "no panic": a parsed request consumes at least one byte and never more than the
//! input; no shorter prefix of a request that needed no swallowing parses to something else than
//! `Incomplete` (requests are recognised only once whole); and a storage request's data is the
//! input right before its `used` end, minus `\r\n`. Table cases belong in `tests/`, and crashes
//! found here are kept there as regression tests.
#![no_main]

use darter_memcache::binary::{self, BinParsed};
use darter_memcache::{parse, Request, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&limit, mut input)) = data.split_first() else {
        return;
    };
    let settings = Settings {
        max_item_size: 59 + usize::from(limit),
    };
    // Binary: a packet is recognised only once whole, and its parts lie inside it.
    let mut bin = input;
    while let Some(p) = binary::parse(bin, settings.max_item_size) {
        let used = match p {
            BinParsed::Request(r, used) => {
                assert_eq!(used, binary::HEADER + r.extras.len() + r.key.len() + r.value.len());
                assert_eq!(binary::parse(&bin[..used - 1], settings.max_item_size), None);
                used
            }
            BinParsed::TooLarge { used, swallow, .. } => used + swallow,
            BinParsed::Invalid => break,
        };
        bin = &bin[used.min(bin.len())..];
    }
    while let Ok(Some(p)) = parse(input, &settings) {
        assert!(p.used > 0 && p.used <= input.len());
        if p.swallow == 0 {
            let shorter = parse(&input[..p.used - 1], &settings);
            assert!(matches!(shorter, Ok(None)), "prefix parsed: {shorter:?}");
        }
        if let Request::Store { data, .. } = &p.request {
            assert_eq!(&input[p.used - 2 - data.len()..p.used - 2], *data);
            assert_eq!(&input[p.used - 2..p.used], b"\r\n");
        }
        input = &input[(p.used + p.swallow).min(input.len())..];
    }
});
