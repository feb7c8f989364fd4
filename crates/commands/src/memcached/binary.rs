//! The binary protocol's requests on the same shard operations as the text ones.
//!
//! Statuses and error bodies are memcached 1.6.18's (`proto_bin.c`): a nonzero CAS in a
//! set/add/replace header makes it a compare-and-swap; a failed add is `KEY_EEXISTS`, a failed
//! replace `KEY_ENOENT`; quiet opcodes send nothing on success (and get-quiet nothing on a miss).
//! Must not touch shard data outside `on_key` / transaction hops.

use super::meta_ops::{self, ArithOpts, MetaResult};
use super::ops::{self, Store, StoreResult};
use super::{stats, Session};
use darter_engine::Panicked;
use darter_memcache::binary::{self, op, status, BinRequest};
use darter_memcache::{reply, StoreOp};

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

impl Session {
    /// Executes one binary request, appending its response packet(s) to `out`.
    pub async fn execute_binary(&mut self, r: BinRequest<'_>) {
        if let Err(p) = self.binary(&r).await {
            let msg = format!("SERVER_ERROR {}", p.0);
            binary::response(
                &mut self.out,
                r.opcode,
                0x84,
                r.opaque,
                0,
                &[],
                &[],
                msg.as_bytes(),
            );
        }
    }

    /// E2BIG for a packet whose body was too large (its value is swallowed by the caller); a
    /// set drops the old item, as memcached does.
    pub async fn binary_too_large(&mut self, opcode: u8, opaque: u32, key: &[u8]) {
        stats(|s| s.store_too_large += 1);
        if matches!(opcode, op::SET | op::SETQ) && !key.is_empty() {
            let k: Box<[u8]> = key.into();
            if let Err(p) = self
                .on_key(key, true, move |db, now| ops::op_delete(db, &k, now))
                .await
            {
                self.server_error(&p);
            }
        }
        binary::error(&mut self.out, opcode, status::E2BIG, opaque);
    }

    async fn binary(&mut self, r: &BinRequest<'_>) -> Result<(), Panicked> {
        let (o, opaque) = (r.opcode, r.opaque);
        // A malformed packet is a protocol error: memcached answers EINVAL and closes.
        let einval = |s: &mut Session| -> Result<(), Panicked> {
            binary::error(&mut s.out, o, status::EINVAL, opaque);
            s.quit = true;
            Ok(())
        };
        let key_ok = !r.key.is_empty() && r.key.len() <= darter_memcache::KEY_MAX_LENGTH;
        match o {
            op::GET
            | op::GETQ
            | op::GETK
            | op::GETKQ
            | op::GAT
            | op::GATQ
            | op::GATK
            | op::GATKQ => {
                let touch = matches!(o, op::GAT | op::GATQ | op::GATK | op::GATKQ);
                let want_ext = if touch { 4 } else { 0 };
                if !key_ok || r.extras.len() != want_ext || !r.value.is_empty() {
                    return einval(self);
                }
                let exptime = touch.then(|| i64::from(be32(r.extras)));
                let k: Box<[u8]> = r.key.into();
                let item = self
                    .on_key(r.key, true, move |db, now| {
                        ops::op_get(db, &k, exptime, true, now)
                    })
                    .await?;
                stats(|s| {
                    s.cmd_get += 1;
                    if touch {
                        s.cmd_touch += 1;
                    }
                    if item.is_some() {
                        s.get_hits += 1
                    } else {
                        s.get_misses += 1
                    }
                });
                let with_key = matches!(o, op::GETK | op::GETKQ | op::GATK | op::GATKQ);
                match item {
                    Some(it) => {
                        let key = if with_key { r.key } else { &[][..] };
                        binary::response(
                            &mut self.out,
                            o,
                            status::OK,
                            opaque,
                            it.cas,
                            &it.flags.to_be_bytes(),
                            key,
                            &it.data,
                        );
                    }
                    None if matches!(o, op::GETQ | op::GETKQ | op::GATQ | op::GATKQ) => {}
                    None if with_key => {
                        binary::response(
                            &mut self.out,
                            o,
                            status::KEY_ENOENT,
                            opaque,
                            0,
                            &[],
                            r.key,
                            &[],
                        );
                    }
                    None => binary::error(&mut self.out, o, status::KEY_ENOENT, opaque),
                }
            }
            op::SET | op::SETQ | op::ADD | op::ADDQ | op::REPLACE | op::REPLACEQ => {
                if !key_ok || r.extras.len() != 8 {
                    return einval(self);
                }
                let base = match o {
                    op::SET | op::SETQ => StoreOp::Set,
                    op::ADD | op::ADDQ => StoreOp::Add,
                    _ => StoreOp::Replace,
                };
                let flags = be32(r.extras);
                if !darter_memcache::text::item_fits(
                    r.key.len(),
                    flags,
                    r.value.len(),
                    self.shared.max_item_size,
                ) {
                    stats(|s| s.store_too_large += 1);
                    if base == StoreOp::Set {
                        // As memcached: the stale item goes rather than keep being served.
                        let k: Box<[u8]> = r.key.into();
                        self.on_key(r.key, true, move |db, now| ops::op_delete(db, &k, now))
                            .await?;
                    }
                    binary::error(&mut self.out, o, status::E2BIG, opaque);
                    return Ok(());
                }
                let store = Store {
                    op: if r.cas != 0 { StoreOp::Cas } else { base },
                    flags,
                    exptime: i64::from(be32(&r.extras[4..])),
                    cas: r.cas,
                    want_cas: true,
                };
                let (res, cas) = self.store(r.key, store, r.value).await?;
                let quiet = matches!(o, op::SETQ | op::ADDQ | op::REPLACEQ);
                let st = match res {
                    StoreResult::Stored => status::OK,
                    StoreResult::Exists => status::KEY_EEXISTS,
                    StoreResult::NotFound => status::KEY_ENOENT,
                    StoreResult::NotStored => match base {
                        StoreOp::Add => status::KEY_EEXISTS,
                        StoreOp::Replace => status::KEY_ENOENT,
                        _ => status::NOT_STORED,
                    },
                };
                self.bin_status(o, st, opaque, cas, quiet);
            }
            op::APPEND | op::APPENDQ | op::PREPEND | op::PREPENDQ => {
                if !key_ok || !r.extras.is_empty() {
                    return einval(self);
                }
                let store = Store {
                    op: if matches!(o, op::APPEND | op::APPENDQ) {
                        StoreOp::Append
                    } else {
                        StoreOp::Prepend
                    },
                    flags: 0,
                    exptime: 0,
                    cas: 0,
                    want_cas: true,
                };
                let (res, cas) = self.store(r.key, store, r.value).await?;
                let st = if res == StoreResult::Stored {
                    status::OK
                } else {
                    status::NOT_STORED
                };
                self.bin_status(o, st, opaque, cas, matches!(o, op::APPENDQ | op::PREPENDQ));
            }
            op::DELETE | op::DELETEQ => {
                if !key_ok || !r.extras.is_empty() || !r.value.is_empty() {
                    return einval(self);
                }
                let k: Box<[u8]> = r.key.into();
                let c = (r.cas != 0).then_some(r.cas);
                let res = self
                    .on_key(r.key, true, move |db, now| {
                        meta_ops::op_md(db, &k, c, false, None, now)
                    })
                    .await?;
                stats(|s| match res {
                    MetaResult::Done => s.delete_hits += 1,
                    _ => s.delete_misses += 1,
                });
                let st = match res {
                    MetaResult::Done => status::OK,
                    MetaResult::Exists => status::KEY_EEXISTS,
                    _ => status::KEY_ENOENT,
                };
                self.bin_status(o, st, opaque, 0, o == op::DELETEQ);
            }
            op::INCREMENT | op::INCREMENTQ | op::DECREMENT | op::DECREMENTQ => {
                if !key_ok || r.extras.len() != 20 || !r.value.is_empty() {
                    return einval(self);
                }
                let exp = be32(&r.extras[16..]);
                let incr = matches!(o, op::INCREMENT | op::INCREMENTQ);
                let opts = ArithOpts {
                    incr,
                    delta: be64(r.extras),
                    initial: be64(&r.extras[8..]),
                    vivify: (exp != u32::MAX).then_some(i64::from(exp)),
                    compare_cas: (r.cas != 0).then_some(r.cas),
                    ttl: None,
                };
                let k: Box<[u8]> = r.key.into();
                let (res, v, cas, _) = self
                    .on_key(r.key, true, move |db, now| {
                        meta_ops::op_ma(db, &k, opts, now)
                    })
                    .await?;
                stats(|s| match (incr, res) {
                    (true, MetaResult::NotFound) => s.incr_misses += 1,
                    (true, _) => s.incr_hits += 1,
                    (false, MetaResult::NotFound) => s.decr_misses += 1,
                    (false, _) => s.decr_hits += 1,
                });
                match res {
                    MetaResult::Done => {
                        if matches!(o, op::INCREMENT | op::DECREMENT) {
                            binary::response(
                                &mut self.out,
                                o,
                                status::OK,
                                opaque,
                                cas,
                                &[],
                                &[],
                                &v.to_be_bytes(),
                            );
                        }
                    }
                    MetaResult::NonNumeric => {
                        binary::error(&mut self.out, o, status::DELTA_BADVAL, opaque)
                    }
                    MetaResult::Exists => {
                        binary::error(&mut self.out, o, status::KEY_EEXISTS, opaque)
                    }
                    _ => binary::error(&mut self.out, o, status::KEY_ENOENT, opaque),
                }
            }
            op::TOUCH => {
                if !key_ok || r.extras.len() != 4 {
                    return einval(self);
                }
                let exptime = i64::from(be32(r.extras));
                let k: Box<[u8]> = r.key.into();
                let item = self
                    .on_key(r.key, true, move |db, now| {
                        ops::op_get(db, &k, Some(exptime), true, now)
                    })
                    .await?;
                stats(|s| {
                    s.cmd_touch += 1;
                    if item.is_some() {
                        s.touch_hits += 1
                    } else {
                        s.touch_misses += 1
                    }
                });
                // Like a get without the value: the flags come back as extras.
                match item {
                    Some(it) => binary::response(
                        &mut self.out,
                        o,
                        status::OK,
                        opaque,
                        it.cas,
                        &it.flags.to_be_bytes(),
                        &[],
                        &[],
                    ),
                    None => binary::error(&mut self.out, o, status::KEY_ENOENT, opaque),
                }
            }
            op::FLUSH | op::FLUSHQ => {
                if !(r.extras.is_empty() || r.extras.len() == 4) || !r.key.is_empty() {
                    return einval(self);
                }
                let delay = if r.extras.len() == 4 {
                    i64::from(be32(r.extras))
                } else {
                    0
                };
                stats(|s| s.cmd_flush += 1);
                self.flush_all(delay).await;
                self.bin_status(o, status::OK, opaque, 0, o == op::FLUSHQ);
            }
            op::NOOP => binary::response(&mut self.out, o, status::OK, opaque, 0, &[], &[], &[]),
            op::VERSION => binary::response(
                &mut self.out,
                o,
                status::OK,
                opaque,
                0,
                &[],
                &[],
                reply::VERSION.as_bytes(),
            ),
            op::QUIT => {
                binary::response(&mut self.out, o, status::OK, opaque, 0, &[], &[], &[]);
                self.quit = true;
            }
            op::QUITQ => self.quit = true,
            op::STAT => {
                let group = std::str::from_utf8(r.key).unwrap_or("").to_string();
                let mut text = std::mem::take(&mut self.out);
                let args: Vec<&[u8]> = if group.is_empty() {
                    vec![]
                } else {
                    vec![group.as_bytes()]
                };
                self.stats(&args).await;
                let lines = std::mem::replace(&mut self.out, std::mem::take(&mut text));
                let body = String::from_utf8_lossy(&lines);
                if !body.starts_with("STAT ")
                    && !body.starts_with("END")
                    && !body.starts_with("RESET")
                {
                    binary::error(&mut self.out, o, status::KEY_ENOENT, opaque);
                    return Ok(());
                }
                for l in body.lines() {
                    if let Some(rest) = l.strip_prefix("STAT ") {
                        let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
                        binary::response(
                            &mut self.out,
                            o,
                            status::OK,
                            opaque,
                            0,
                            &[],
                            name.as_bytes(),
                            value.as_bytes(),
                        );
                    }
                }
                binary::response(&mut self.out, o, status::OK, opaque, 0, &[], &[], &[]);
            }
            _ => {
                binary::error(&mut self.out, o, status::UNKNOWN_COMMAND, opaque);
                // memcached cannot skip an unknown command's body: it closes the connection.
                if !(r.extras.is_empty() && r.key.is_empty() && r.value.is_empty()) {
                    self.quit = true;
                }
            }
        }
        Ok(())
    }

    /// A body-less response: success (skipped when `quiet`) or an error with its message.
    fn bin_status(&mut self, o: u8, st: u16, opaque: u32, cas: u64, quiet: bool) {
        if st == status::OK {
            if !quiet {
                binary::response(&mut self.out, o, st, opaque, cas, &[], &[], &[]);
            }
        } else {
            binary::error(&mut self.out, o, st, opaque);
        }
    }
}
