//! Redis 7.0's command metadata: what `COMMAND INFO` reports for each command.
//!
//! The table itself (`redis_table.rs`) is generated from a real redis-server 7.0 by
//! `scripts/gen_command_table.py`, so arity, flags, key positions, ACL categories, tips and key
//! specs are Redis's own. Family modules only attach handlers to names; a command darter does not
//! implement is absent from `COMMAND` and answers as unknown. This module holds types only.

/// One command (or subcommand, named `container|sub` as Redis does).
#[derive(Debug)]
pub struct Meta {
    pub name: &'static str,
    pub arity: i32,
    pub flags: &'static [&'static str],
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    pub subcommands: &'static [Meta],
}

#[derive(Debug)]
pub struct KeySpec {
    pub notes: Option<&'static str>,
    pub flags: &'static [&'static str],
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

#[derive(Debug)]
pub enum BeginSearch {
    Index(i32),
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

#[derive(Debug)]
pub enum FindKeys {
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

impl Meta {
    pub fn has_flag(&self, f: &str) -> bool {
        self.flags.contains(&f)
    }
}
