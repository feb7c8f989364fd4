#!/usr/bin/env python3
"""Generates crates/server/tests/diff/notify.redis from scripts/notify_cmds.txt.

Runs each command against a real redis-server (7.0) with every keyspace event enabled and a
pattern subscriber on a second connection, counts the notifications each command produces, and
writes the script with a `!read N` after each command, so the differential harness compares the
notification stream byte for byte. Usage: gen_notify_diff.py PORT > notify.redis
"""
import shlex
import socket
import sys


def enc(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r

    def reply(self):
        l = self.line()
        t, rest = l[:1], l[1:]
        if t in (b"+", b"-", b":"):
            return l
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            return self.need(n + 2)[:-2]
        if t in (b"*", b">"):
            n = int(rest)
            return [self.reply() for _ in range(max(n, 0))]
        raise ValueError(l)

    def cmd(self, args):
        self.s.sendall(enc(args))
        return self.reply()

    def count_pending(self, wait):
        n = 0
        self.s.settimeout(wait)
        try:
            while True:
                if not self.buf:
                    d = self.s.recv(65536)
                    if not d:
                        break
                    self.buf += d
                self.s.settimeout(None)
                self.reply()
                n += 1
                self.s.settimeout(wait)
        except socket.timeout:
            pass
        self.s.settimeout(None)
        return n


FLAGS = "KEAnm"


def main():
    global FLAGS
    if len(sys.argv) > 3:
        FLAGS = sys.argv[3]
    port = int(sys.argv[1])
    src = sys.argv[2] if len(sys.argv) > 2 else "scripts/notify_cmds.txt"
    main_c, sub = Conn(port), Conn(port)
    main_c.cmd(["FLUSHALL"])
    main_c.cmd(["CONFIG", "SET", "notify-keyspace-events", FLAGS])
    sub.cmd(["PSUBSCRIBE", "__key*__:*"])
    print(open(src.replace("_cmds.txt", "_head.txt")).read(), end="")
    print(f"CONFIG SET notify-keyspace-events {FLAGS}")
    print("CONFIG GET notify-keyspace-events")
    print("!conn sub")
    print("PSUBSCRIBE __key*__:*")
    print("!conn main")
    for line in open(src):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            print(line)
            continue
        main_c.cmd(shlex.split(line))
        n = sub.count_pending(0.2)
        print(line)
        if n:
            print("!conn sub")
            print(f"!read {n}")
            print("!conn main")
    print("CONFIG SET notify-keyspace-events \"\"")
    print("!conn sub")
    print("PUNSUBSCRIBE")
    print("!conn main")
    main_c.cmd(["CONFIG", "SET", "notify-keyspace-events", ""])


main()
