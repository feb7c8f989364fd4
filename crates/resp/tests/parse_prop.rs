//! Property tests for the request parser: encoded requests parse back to the same arguments, and no
//! input (valid or not) gives a different result when it arrives in different pieces.

mod common;

use common::{multibulk, run_split, End, Outcome};
use darter_resp::Limits;
use proptest::prelude::*;

fn args_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..8)
}

/// Sorted cut points inside `0..=len`.
fn cuts_for(len: usize, seeds: &[usize]) -> Vec<usize> {
    let mut cuts: Vec<usize> = seeds.iter().map(|s| s % (len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// Pieces that make protocol-shaped input: fragments of valid requests, bad headers, quotes, NULs.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => args_strategy().prop_map(|a| {
            let refs: Vec<&[u8]> = a.iter().map(|x| x.as_slice()).collect();
            multibulk(&refs)
        }),
        2 => prop::sample::select(vec![
            &b"*"[..], b"$", b"\r\n", b"\r", b"\n", b"*0\r\n", b"*-1\r\n", b"*1\r\n", b"*2\r\n",
            b"$0\r\n", b"$1\r\n", b"$3\r\n", b"$-1\r\n", b"$x\r\n", b"*x\r\n", b"PING\r\n", b"\"", b"'",
            b"\\", b"\\x4", b"\\x41", b" ", b"\t", b"\x0b", b"\0", b"a\"b c\"", b"GET k\n",
        ])
        .prop_map(|s| s.to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..12),
    ]
}

fn input_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..10).prop_map(|f| f.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn multibulk_round_trip(cmds in prop::collection::vec(args_strategy(), 1..5),
                            seeds in prop::collection::vec(any::<usize>(), 0..8)) {
        let mut input = Vec::new();
        for c in &cmds {
            let refs: Vec<&[u8]> = c.iter().map(|x| x.as_slice()).collect();
            input.extend(multibulk(&refs));
        }
        let cuts = cuts_for(input.len(), &seeds);
        let out = run_split(&input, &cuts, &Limits::default(), false);
        prop_assert_eq!(out, Outcome { commands: cmds, end: End::Incomplete(0) });
    }

    #[test]
    fn inline_round_trip(cmds in prop::collection::vec(
                             prop::collection::vec("[a-zA-Z0-9:_.-]{1,12}", 1..6), 1..5),
                         crlf in any::<bool>(),
                         seeds in prop::collection::vec(any::<usize>(), 0..8)) {
        let end = if crlf { "\r\n" } else { "\n" };
        let input: String = cmds.iter().map(|c| c.join(" ") + end).collect();
        let cuts = cuts_for(input.len(), &seeds);
        let out = run_split(input.as_bytes(), &cuts, &Limits::default(), false);
        let want: Vec<Vec<Vec<u8>>> = cmds
            .iter()
            .map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect())
            .collect();
        prop_assert_eq!(out, Outcome { commands: want, end: End::Incomplete(0) });
    }

    #[test]
    fn quoted_inline_args_round_trip(args in prop::collection::vec(
                                         prop::collection::vec(any::<u8>(), 0..20), 1..6)) {
        // Quote every argument the way redis-cli's sdscatrepr would.
        let mut line = Vec::new();
        for a in &args {
            line.push(b'"');
            for &b in a {
                match b {
                    b'\\' | b'"' => line.extend_from_slice(&[b'\\', b]),
                    0x20..=0x7e => line.push(b),
                    _ => line.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                }
            }
            line.extend_from_slice(b"\" ");
        }
        line.extend_from_slice(b"\r\n");
        let out = run_split(&line, &[], &Limits::default(), false);
        prop_assert_eq!(out, Outcome { commands: vec![args], end: End::Incomplete(0) });
    }

    #[test]
    fn any_input_gives_the_same_result_however_split(
        input in input_strategy(),
        seeds in prop::collection::vec(any::<usize>(), 0..12),
        auth in any::<bool>(),
    ) {
        let limits = Limits { max_inline_len: 64, max_bulk_len: 100, max_multibulk_len: 50 };
        let whole = run_split(&input, &[], &limits, auth);
        let cuts = cuts_for(input.len(), &seeds);
        prop_assert_eq!(&run_split(&input, &cuts, &limits, auth), &whole);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(&run_split(&input, &bytewise, &limits, auth), &whole);
    }
}
