//! Redis 7.0's reply and error strings, byte for byte, in one place.
//!
//! Messages are written without the leading '-' and without CRLF (`ReplyWriter::error` adds them).
//! Formatted errors are built by the functions below so every family uses the same text.

pub const SYNTAX: &str = "ERR syntax error";
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const INCR_NAN_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
pub const STRING_TOO_LONG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_OUT_OF_RANGE: &str = "ERR offset is out of range";
pub const INVALID_DB: &str = "ERR DB index is out of range";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const AUTH_NOT_CONFIGURED: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const MAX_CLIENTS: &str = "ERR max number of clients reached";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const INVALID_EXPIRE_PREFIX: &str = "ERR invalid expire time in '";
pub const NX_XX_GT_LT: &str = "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";

/// "ERR unknown command '<name>', with args beginning with: '<a>' '<b>' ", built exactly as Redis
/// 7.0's processCommand does: at most 128 bytes of the name, and arguments appended while the list
/// is shorter than 128 bytes (quotes and spaces included), each cut to what is left of that budget.
/// Raw bytes: the client's bytes are echoed unchanged.
pub fn unknown_command(name: &[u8], args: &[bytes::Bytes]) -> Vec<u8> {
    let mut list = Vec::new();
    for a in args {
        if list.len() >= 128 {
            break;
        }
        let a = crate::keyspec::c_str(a);
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(&a[..a.len().min(room)]);
        list.extend_from_slice(b"' ");
    }
    let name = crate::keyspec::c_str(name);
    let mut s = b"ERR unknown command '".to_vec();
    s.extend_from_slice(&name[..name.len().min(128)]);
    s.extend_from_slice(b"', with args beginning with: ");
    s.extend_from_slice(&list);
    s
}

/// "ERR wrong number of arguments for '<name>' command" (name lowercased as Redis prints the
/// command's table name; for subcommands `container|sub`).
pub fn wrong_args(name: &str) -> String {
    format!("ERR wrong number of arguments for '{name}' command")
}

/// "ERR unknown subcommand '<sub>'. Try <CONTAINER> HELP." (at most 128 bytes of the raw
/// subcommand, up to a NUL, as Redis formats it).
pub fn unknown_subcommand(sub: &[u8], container: &str) -> Vec<u8> {
    let sub = crate::keyspec::c_str(sub);
    let mut s = b"ERR unknown subcommand '".to_vec();
    s.extend_from_slice(&sub[..sub.len().min(128)]);
    s.extend_from_slice(format!("'. Try {} HELP.", container.to_ascii_uppercase()).as_bytes());
    s
}

/// "ERR invalid expire time in '<cmd>' command"
pub fn invalid_expire(cmd: &str) -> String {
    format!("ERR invalid expire time in '{cmd}' command")
}

/// Redis prints user bytes in errors after replacing CR/LF (and keeps the rest as is); cap length.
pub fn sanitize(b: &[u8], max: usize) -> String {
    let b = &b[..b.len().min(max)];
    String::from_utf8_lossy(b)
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect()
}

// Generic (keyspace) family.
pub const GT_AND_LT: &str = "ERR GT and LT options at the same time are not compatible";
/// Followed by the option as given: "ERR Unsupported option <opt>" (EXPIRE family).
pub const UNSUPPORTED_OPTION_PREFIX: &str = "ERR Unsupported option ";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// A DENYOOM command while used memory is above `maxmemory` (Redis's `shared.oomerr`).
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

// Server family (SWAPDB, SHUTDOWN, DEBUG).
pub const INVALID_FIRST_DB: &str = "ERR invalid first DB index";
pub const INVALID_SECOND_DB: &str = "ERR invalid second DB index";
pub const NO_SHUTDOWN_IN_PROGRESS: &str = "ERR No shutdown in progress.";
/// What Redis answers when SHUTDOWN cannot save (and FORCE was not given).
pub const SHUTDOWN_FAILED: &str = "ERR Errors trying to SHUTDOWN. Check logs.";
/// DEBUG POPULATE's count or size that is not a non-negative integer
/// (`getPositiveLongFromObjectOrReply`).
pub const MUST_BE_POSITIVE: &str = "ERR value is out of range, must be positive";
/// DEBUG POPULATE asking for more keys than the table could ever be sized for.
pub const POPULATE_OOM: &str = "ERR OOM in dictTryExpand";

/// DEBUG's (and other hand-dispatched containers') error for an unknown subcommand or a wrong
/// argument count: "ERR unknown subcommand or wrong number of arguments for '<sub>'. Try <CMD> HELP."
pub fn unknown_subcommand_or_args(sub: &[u8], container: &str) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        sanitize(sub, 128),
        container.to_ascii_uppercase()
    )
}

// String family.
pub const DECR_OVERFLOW: &str = "ERR decrement would overflow";
pub const LCS_WRONGTYPE: &str = "ERR The specified keys must contain string values";
pub const LCS_IDX_AND_LEN: &str =
    "ERR If you want both the length and indexes, please just use IDX.";
pub const LCS_TOO_LONG: &str = "ERR String too long for LCS";
pub const LCS_EXCEEDS_MAX_BULK: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";
pub const LCS_ALLOC_FAILED: &str =
    "ERR Insufficient memory, failed allocating transient memory for LCS";
/// `getIntFromObjectOrReply` on an integer outside C's `int` (COPY ... DB, MOVE).
pub const INT_OUT_OF_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";

// List family.
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
/// LMPOP / BLMPOP (and the other *MPOP commands) with numkeys not a positive integer.
pub const NUMKEYS_NOT_POSITIVE: &str = "ERR numkeys should be greater than 0";
/// LMPOP / BLMPOP with a COUNT that is not a positive integer.
pub const COUNT_NOT_POSITIVE: &str = "ERR count should be greater than 0";
// Hash family.
pub const HASH_NOT_INTEGER: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
/// HINCRBYFLOAT's increment that parsed as an infinity.
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
/// HRANDFIELD's count with WITHVALUES beyond ±LONG_MAX/2.
pub const VALUE_OUT_OF_RANGE: &str = "ERR value is out of range";
/// `getRangeLongFromObjectOrReply(.., -LONG_MAX, LONG_MAX, ..)` in Redis 7.0's wording (HRANDFIELD, SRANDMEMBER counts).
pub const COUNT_OUT_OF_LONG_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
// Set family.
/// SINTERCARD's numkeys larger than the arguments that follow it.
pub const NUMKEYS_GT_ARGS: &str = "ERR Number of keys can't be greater than number of args";
/// SINTERCARD's LIMIT that is not a non-negative integer.
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
/// SETBIT, GETBIT, BITFIELD offsets.
pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
/// SETBIT's value.
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
pub const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
pub const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";
pub const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
// HyperLogLog family.
/// A string key that is not a HyperLogLog (`isHLLObjectOrReply`).
pub const HLL_WRONGTYPE: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
/// An HLL whose registers cannot be decoded (`invalid_hll_err`).
pub const HLL_CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
/// PFDEBUG on a missing key.
pub const PFDEBUG_NO_KEY: &str = "ERR The specified key does not exist";
/// PFDEBUG DECODE of a dense HLL.
pub const PFDEBUG_NOT_SPARSE: &str = "ERR HLL encoding is not sparse";
// Sorted-set family.
pub const ZADD_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
pub const SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const MINMAX_NOT_FLOAT: &str = "ERR min or max is not a float";
pub const MINMAX_NOT_LEX: &str = "ERR min or max not valid string range item";
pub const LIMIT_NEEDS_BY: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const WITHSCORES_BYLEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
// Geo family.
/// A distance unit other than M, KM, FT, MI (`extractUnitOrReply`).
pub const GEO_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
pub const GEO_NEGATIVE_RADIUS: &str = "ERR radius cannot be negative";
pub const GEO_NEGATIVE_BOX: &str = "ERR height or width cannot be negative";
/// GEORADIUSBYMEMBER / FROMMEMBER naming a member the key does not hold.
pub const GEO_MEMBER_NOT_FOUND: &str = "ERR could not decode requested zset member";
pub const GEO_COUNT_NOT_POSITIVE: &str = "ERR COUNT must be > 0";
pub const GEO_ANY_WITHOUT_COUNT: &str = "ERR the ANY argument requires COUNT argument";

// Pub/Sub family.

/// A RESP2 client in subscribed mode sent a command other than (P|S)(UN)SUBSCRIBE, PING, QUIT or
/// RESET (`name` is the command's full name, e.g. `client|list`).
pub fn subscribed_context(name: &str) -> String {
    format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

// Transactions (MULTI/EXEC/WATCH).
pub const MULTI_NESTED: &str = "ERR MULTI calls can not be nested";
pub const EXEC_WITHOUT_MULTI: &str = "ERR EXEC without MULTI";
pub const DISCARD_WITHOUT_MULTI: &str = "ERR DISCARD without MULTI";
pub const WATCH_INSIDE_MULTI: &str = "ERR WATCH inside MULTI is not allowed";
pub const NOT_IN_TRANSACTION: &str = "ERR Command not allowed inside a transaction";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";

/// A refused EXEC (Redis's `execCommandAbort`): the refusal's text after its error code.
pub fn execabort_because(msg: &[u8]) -> Vec<u8> {
    let rest = msg.strip_prefix(b"ERR ").unwrap_or(msg);
    let mut s = b"EXECABORT Transaction discarded because of: ".to_vec();
    s.extend_from_slice(rest);
    s
}

// Scripting (EVAL/EVALSHA/SCRIPT).
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
pub const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
pub const BUSY_EVAL: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
pub const BUSY_FUNCTION: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
pub const RO_SCRIPT_WITH_WRITE_FLAG: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
pub const SCRIPT_FLUSH_MODE: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";
