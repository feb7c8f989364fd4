#!/usr/bin/env python3
"""Differential check of darter-resp's request parser against a real redis-server.

Generates random request streams (valid ECHO requests mixed with protocol fragments, quotes, NULs and
random bytes), sends each to redis-server over a unix socket and to the `parse_outcomes` example, and
compares: how many commands ran before the stream ended, whether Redis kept the connection open
(our "incomplete") or closed it after a protocol error, and that error reply byte for byte.

Usage (from the workspace root; needs redis-server on PATH, e.g. Debian's redis-server package):
    python3 crates/resp/scripts/diff_parser_vs_redis.py [--seed N] [--count N]
Exits non-zero on any mismatch. Inputs stay under 64 KiB: the "too big" limits depend on Redis's read
sizes, so they are covered by the crate's tables instead.
"""
import argparse, json, os, random, socket, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

FRAGS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"*0\r\n", b"*-1\r\n", b"*1\r\n", b"*2\r\n", b"$0\r\n", b"$1\r\n",
         b"$3\r\n", b"$-1\r\n", b"$x\r\n", b"*x\r\n", b"PING\r\n", b"\"", b"'", b"\\", b"\\x4", b"\\x41", b" ",
         b"\t", b"\x0b", b"\0", b"a\"b c\"", b"ECHO k\n", b"*01\r\n", b"$03\r\n", b"X", b"\xff"]


def multibulk(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def gen(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        r = rng.random()
        if r < 0.4:
            args = [bytes(rng.choice(b"abcxyz\r\n\"' \0") for _ in range(rng.randint(0, 6)))
                    for _ in range(rng.randint(0, 2))]
            parts.append(multibulk([b"ECHO"] + args))
        elif r < 0.85:
            parts.append(rng.choice(FRAGS))
        else:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 6))))
    return b"".join(parts)


def replies(data):
    """Counts the complete top-level RESP2 replies in data; returns (count, last simple/error line)."""
    def one(pos):
        t, e = data[pos:pos + 1], data.index(b"\r\n", pos)
        if t in (b"+", b"-", b":"):
            return e + 2, data[pos:e]
        n = int(data[pos + 1:e])
        if t == b"$":
            return (e + 2 + n + 2 if n >= 0 else e + 2), None
        p = e + 2
        for _ in range(max(n, 0)):
            p, _ = one(p)
        return p, None
    count, pos, last = 0, 0, None
    while pos < len(data):
        pos, last = one(pos)
        count += 1
    return count, last


def ask_redis(sock_path, data, quiet=0.15):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(data)
    s.settimeout(quiet)
    out, closed = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            out += d
    except socket.timeout:
        pass
    s.close()
    n, last = replies(out)
    return (n - 1, last + b"\r\n") if closed else (n, "OPEN")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    inputs = [gen(rng) for _ in range(args.count)]

    root = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["cargo", "build", "-q", "--release", "-p", "darter-resp", "--example", "parse_outcomes"],
                   cwd=root, check=True)
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"], cwd=root,
                          check=True, capture_output=True, text=True).stdout
    target = json.loads(meta)["target_directory"]
    ours = subprocess.run([os.path.join(target, "release", "examples", "parse_outcomes")],
                          input="".join(i.hex() + "\n" for i in inputs).encode(),
                          check=True, capture_output=True).stdout.decode().splitlines()

    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "redis.sock")
        server = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                                   "--appendonly", "no", "--dir", tmp],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(sock):
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("redis-server did not start")
                time.sleep(0.01)
            with ThreadPoolExecutor(16) as ex:
                theirs = list(ex.map(lambda d: ask_redis(sock, d), inputs))
        finally:
            server.terminate()
            server.wait()

    bad = 0
    for data, mine, (n, end) in zip(inputs, ours, theirs):
        count, reply = mine.split("\t")
        mine = (int(count), reply if reply == "OPEN" else bytes.fromhex(reply))
        if mine != (n, end):
            bad += 1
            if bad <= 10:
                print(f"MISMATCH input={data!r} darter={mine!r} redis={(n, end)!r}")
    print(f"{len(inputs) - bad} passed, {bad} failed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
