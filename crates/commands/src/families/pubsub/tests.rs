//! Unit tests of the per-thread registry (no engine: one thread, replica updated inline), delivery
//! shapes, output-buffer limits and pattern matching as PSUBSCRIBE uses it.

use super::registry::{self, dir_threads, Kind, NameSet, ObufLimit, ThreadSet};
use crate::clients::ClientInfo;
use bytes::Bytes;
use std::rc::Rc;

const NO_LIMIT: ObufLimit = ObufLimit {
    hard: 0,
    soft: 0,
    soft_secs: 0,
};

fn client(id: u64) -> Rc<ClientInfo> {
    Rc::new(ClientInfo::new(id, String::new(), String::new(), -1))
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn pending(c: &ClientInfo) -> Vec<u8> {
    c.pubsub.take_pending().to_vec()
}

#[test]
fn thread_set_inserts_removes_and_unions_past_64() {
    let mut s = ThreadSet::default();
    assert!(s.is_empty());
    s.insert(3);
    s.insert(70);
    assert_eq!(s.iter().collect::<Vec<_>>(), vec![3, 70]);
    let mut o = ThreadSet::default();
    o.insert(1);
    o.union(&s);
    assert_eq!(o.iter().collect::<Vec<_>>(), vec![1, 3, 70]);
    o.remove(70);
    o.remove(200);
    assert_eq!(o.iter().collect::<Vec<_>>(), vec![1, 3]);
    o.remove(1);
    o.remove(3);
    assert!(o.is_empty());
}

#[test]
fn name_set_keeps_membership_through_swap_removal() {
    let mut s = NameSet::default();
    assert!(s.insert(b("a")));
    assert!(s.insert(b("b")));
    assert!(s.insert(b("c")));
    assert!(!s.insert(b("a")));
    assert!(s.remove(b"a"));
    assert!(!s.remove(b"a"));
    assert_eq!(s.len(), 2);
    assert!(s.contains(b"c") && s.contains(b"b"));
    assert!(s.remove(b"c"));
    assert!(s.remove(b"b"));
    assert!(s.is_empty());
}

#[test]
fn first_subscriber_announces_and_last_one_retracts() {
    let (c1, c2) = (client(1), client(2));
    let name = b("news");
    let (added, wait) = registry::subscribe(None, &c1, Kind::Channel, &name);
    assert!(added && wait.is_none(), "no other thread to wait for");
    assert_eq!(dir_threads(Kind::Channel, b"news"), vec![0]);
    assert!(!registry::subscribe(None, &c1, Kind::Channel, &name).0);
    registry::subscribe(None, &c2, Kind::Channel, &name);
    assert_eq!(
        registry::local_counts(Kind::Channel, std::slice::from_ref(&name)),
        vec![2]
    );
    assert!(registry::unsubscribe(None, &c1, Kind::Channel, b"news"));
    assert!(!registry::unsubscribe(None, &c1, Kind::Channel, b"news"));
    assert_eq!(dir_threads(Kind::Channel, b"news"), vec![0]);
    registry::unsubscribe_everything(None, &c2);
    assert!(dir_threads(Kind::Channel, b"news").is_empty());
    assert!(registry::local_names(Kind::Channel, None).is_empty());
    assert!(!c2.pubsub.active());
}

#[test]
fn kinds_are_separate_namespaces() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Shard, &b("x"));
    assert!(registry::targets(Kind::Channel, b"x").is_empty());
    assert_eq!(registry::targets(Kind::Shard, b"x").iter().count(), 1);
    assert_eq!(
        registry::deliver_local(Kind::Channel, b"x", b"m", NO_LIMIT),
        0
    );
    assert_eq!(
        registry::deliver_local(Kind::Shard, b"x", b"m", NO_LIMIT),
        1
    );
    assert_eq!(
        pending(&c),
        b"*3\r\n$8\r\nsmessage\r\n$1\r\nx\r\n$1\r\nm\r\n".to_vec()
    );
    // Shard channels ignore patterns.
    registry::subscribe(None, &c, Kind::Pattern, &b("*"));
    assert_eq!(
        registry::deliver_local(Kind::Shard, b"x", b"m", NO_LIMIT),
        1
    );
    registry::unsubscribe_everything(None, &c);
}

#[test]
fn channel_and_matching_pattern_both_deliver_and_count() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Channel, &b("a.b"));
    registry::subscribe(None, &c, Kind::Pattern, &b("a.*"));
    registry::subscribe(None, &c, Kind::Pattern, &b("z*"));
    assert_eq!(c.pubsub.count(Kind::Channel), 1);
    assert_eq!(c.pubsub.count(Kind::Pattern), 2);
    assert_eq!(registry::targets(Kind::Channel, b"a.b").iter().count(), 1);
    assert!(registry::targets(Kind::Channel, b"q").is_empty());
    assert_eq!(
        registry::deliver_local(Kind::Channel, b"a.b", b"hi", NO_LIMIT),
        2
    );
    assert_eq!(
        pending(&c),
        b"*3\r\n$7\r\nmessage\r\n$3\r\na.b\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$3\r\na.*\r\n$3\r\na.b\r\n$2\r\nhi\r\n"
            .to_vec()
    );
    // RESP3 clients get push frames.
    c.resp.set(3);
    assert_eq!(
        registry::deliver_local(Kind::Channel, b"a.c", b"x", NO_LIMIT),
        1
    );
    assert_eq!(
        pending(&c),
        b">4\r\n$8\r\npmessage\r\n$3\r\na.*\r\n$3\r\na.c\r\n$1\r\nx\r\n".to_vec()
    );
    registry::unsubscribe_everything(None, &c);
}

#[test]
fn patterns_match_as_stringmatchlen_case_sensitively() {
    let c = client(1);
    for p in ["h?llo", "h[ae]llo", "h[^e]llo", "h\\*llo", "*"] {
        registry::subscribe(None, &c, Kind::Pattern, &b(p));
    }
    let n = |ch: &str| registry::deliver_local(Kind::Channel, ch.as_bytes(), b"m", NO_LIMIT);
    assert_eq!(n("hello"), 3); // h?llo h[ae]llo *
    assert_eq!(n("hallo"), 4); // + h[^e]llo
    assert_eq!(n("h*llo"), 4); // h?llo h[^e]llo h\*llo *
    assert_eq!(n("HELLO"), 1); // * only: case matters
    assert_eq!(n(""), 0, "Redis's `*` does not match the empty channel");
    registry::unsubscribe_everything(None, &c);
}

#[test]
fn hard_limit_closes_the_client_and_drops_its_messages() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Channel, &b("c"));
    let limit = ObufLimit {
        hard: 1000,
        soft: 0,
        soft_secs: 0,
    };
    let msg = vec![b'x'; 100];
    let mut delivered = 0;
    while !c.killed.get() {
        assert_eq!(registry::deliver_local(Kind::Channel, b"c", &msg, limit), 1);
        delivered += 1;
        assert!(delivered < 100, "never closed");
    }
    // Each message is 100 + 25 bytes: the 8th reaches 1000.
    assert_eq!(delivered, 8);
    assert_eq!(c.pubsub.pending_len(), 0, "pending bytes are dropped");
    registry::unsubscribe_everything(None, &c);
}

#[test]
fn soft_limit_needs_to_last_longer_than_its_seconds() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Channel, &b("c"));
    let limit = ObufLimit {
        hard: 0,
        soft: 10,
        soft_secs: 0,
    };
    // First time over the soft limit starts the clock; with 0 seconds the next one closes.
    registry::deliver_local(Kind::Channel, b"c", b"m", limit);
    assert!(!c.killed.get());
    std::thread::sleep(std::time::Duration::from_millis(2));
    registry::deliver_local(Kind::Channel, b"c", b"m", limit);
    assert!(c.killed.get());
    registry::unsubscribe_everything(None, &c);

    // Draining below the soft limit resets the clock.
    let d = client(2);
    registry::subscribe(None, &d, Kind::Channel, &b("c"));
    let limit = ObufLimit {
        hard: 0,
        soft: 10,
        soft_secs: 1000,
    };
    registry::deliver_local(Kind::Channel, b"c", b"m", limit);
    d.pubsub.take_pending();
    d.pubsub.drained(limit);
    registry::deliver_local(Kind::Channel, b"c", b"m", limit);
    assert!(!d.killed.get());
    registry::unsubscribe_everything(None, &d);
}

#[test]
fn pending_keeps_order_when_a_write_is_partial() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Channel, &b("c"));
    registry::deliver_local(Kind::Channel, b"c", b"1", NO_LIMIT);
    let mut first = c.pubsub.take_pending();
    let rest = first.split_off(5);
    registry::deliver_local(Kind::Channel, b"c", b"2", NO_LIMIT);
    c.pubsub.restore_pending(rest);
    let mut all = first.to_vec();
    all.extend(pending(&c));
    assert_eq!(
        all,
        b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n1\r\n*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\n2\r\n"
            .to_vec()
    );
    registry::unsubscribe_everything(None, &c);
}

#[test]
fn killed_clients_still_count_but_get_nothing() {
    let c = client(1);
    registry::subscribe(None, &c, Kind::Channel, &b("c"));
    c.killed.set(true);
    assert_eq!(
        registry::deliver_local(Kind::Channel, b"c", b"m", NO_LIMIT),
        1
    );
    assert_eq!(c.pubsub.pending_len(), 0);
    registry::unsubscribe_everything(None, &c);
}
