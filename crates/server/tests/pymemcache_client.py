"""pymemcache against darter's memcached port: run by crates/server/tests/memcached.rs.

Usage: python3 pymemcache_client.py PORT. Exits non-zero (with a traceback) on any mismatch.
"""
import sys

from pymemcache.client.base import Client

port = int(sys.argv[1])
c = Client(("127.0.0.1", port))

# set / get / get_many across many keys (they live on every shard).
for i in range(300):
    assert c.set(f"py:{i}", f"value {i}".encode(), expire=0, noreply=False)
got = c.get_many([f"py:{i}" for i in range(300)] + ["py:missing"])
assert len(got) == 300, len(got)
assert got["py:17"] == b"value 17"

# flags are stored (pymemcache without a serde passes bytes through).
assert c.set("flagged", b"x", flags=42, noreply=False)
assert c.get("flagged") == b"x"

# gets / cas: one writer wins.
assert c.set("counter", b"10", noreply=False)
value, cas = c.gets("counter")
assert value == b"10"
assert c.cas("counter", b"11", cas, noreply=False) is True
assert c.cas("counter", b"12", cas, noreply=False) is False
assert c.get("counter") == b"11"
assert c.cas("nope", b"1", cas, noreply=False) is None

# incr / decr with memcached's wrap and floor.
assert c.incr("counter", 5) == 16
assert c.decr("counter", 100) == 0
assert c.incr("nope", 1) is None
assert c.set("max", b"18446744073709551615", noreply=False)
assert c.incr("max", 1) == 0

# add / replace / append / prepend / delete / touch.
assert c.add("counter", b"x", noreply=False) is False
assert c.replace("nope", b"x", noreply=False) is False
assert c.append("flagged", b"y", noreply=False) is True
assert c.prepend("flagged", b"w", noreply=False) is True
assert c.get("flagged") == b"wxy"
assert c.touch("flagged", 100, noreply=False) is True
assert c.delete("flagged", noreply=False) is True
assert c.delete("flagged", noreply=False) is False
assert c.get("flagged") is None

# version, stats, flush_all.
assert c.version().startswith(b"1.6")
stats = c.stats()
assert stats[b"cmd_get"] > 0 and b"curr_items" in stats
assert c.flush_all(noreply=False) is True
assert c.get("py:1") is None
print("pymemcache ok")
