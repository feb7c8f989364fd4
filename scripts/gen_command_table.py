#!/usr/bin/env python3
"""Generate crates/commands/src/redis_table.rs from a real redis-server 7.0.

Starts a private `redis-server` (no TCP port, a unix socket in a temporary
directory, no persistence), asks it `COMMAND` over a tiny stdlib-only RESP2
client, and writes every command (subcommands nested, key specs in full) as
a Rust `pub static REDIS_COMMANDS: &[Meta]` sorted by name, then runs rustfmt
on the result. The server is always stopped before the script exits.

This script must not touch anything but the output file: it does not talk to
any server it did not start, and the server it starts persists nothing.

Usage:
    python3 scripts/gen_command_table.py [--server /usr/bin/redis-server]
        [--out crates/commands/src/redis_table.rs] [--timeout 20]
        [--allow-any-version] [--no-rustfmt]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "crates", "commands", "src", "redis_table.rs")
GENERATOR = "python3 scripts/gen_command_table.py"
READY_MARKER = "ready to accept connections"  # 7.0 logs "The server is now ready ..."


class GenError(Exception):
    pass


# --------------------------------------------------------------------------
# Minimal RESP2 client
# --------------------------------------------------------------------------


class RespError(Exception):
    pass


class Resp:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise GenError("redis-server closed the connection")
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise GenError(f"unexpected RESP type byte {kind!r} in {line!r}")

    def call(self, *args: str):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))
        reply = self.read()
        if isinstance(reply, RespError):
            raise GenError(f"{' '.join(args)}: {reply}")
        return reply


# --------------------------------------------------------------------------
# Server lifecycle
# --------------------------------------------------------------------------


def start_server(server: str, tmpdir: str, timeout: float):
    sock_path = os.path.join(tmpdir, "redis.sock")
    try:
        proc = subprocess.Popen(
            [
                server,
                "--port", "0",
                "--unixsocket", sock_path,
                "--save", "",
                "--appendonly", "no",
                "--dir", tmpdir,
                "--daemonize", "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    except OSError as e:
        raise GenError(f"cannot start {server}: {e}") from e
    ready = threading.Event()
    log: list[str] = []

    def drain() -> None:
        # Keep reading until EOF so the server never blocks on a full pipe.
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            if READY_MARKER in line.lower():
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while not ready.wait(0.05):
            if proc.poll() is not None:
                raise GenError(
                    f"redis-server exited with {proc.returncode}:\n" + "\n".join(log[-20:])
                )
            if time.monotonic() > deadline:
                raise GenError(
                    f"redis-server not ready after {timeout}s:\n" + "\n".join(log[-20:])
                )
    except BaseException:
        stop_server(proc)  # the caller never sees this process
        raise
    return proc, sock_path


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# --------------------------------------------------------------------------
# COMMAND reply -> Python model
# --------------------------------------------------------------------------


def pairs(flat, what: str) -> dict:
    """RESP2 renders maps as flat arrays of alternating name/value."""
    if not isinstance(flat, list) or len(flat) % 2:
        raise GenError(f"{what}: expected a flat name/value array, got {flat!r}")
    out = {}
    for i in range(0, len(flat), 2):
        out[flat[i]] = flat[i + 1]
    return out


def parse_key_spec(raw, cmd: str) -> dict:
    d = pairs(raw, f"{cmd} key spec")
    known = {"notes", "flags", "begin_search", "find_keys"}
    extra = set(d) - known
    if extra:
        raise GenError(f"{cmd}: unknown key spec fields {sorted(extra)}")

    bs = pairs(d["begin_search"], f"{cmd} begin_search")
    bs_spec = pairs(bs["spec"], f"{cmd} begin_search spec")
    if bs["type"] == "index":
        begin = ("index", int(bs_spec["index"]))
    elif bs["type"] == "keyword":
        begin = ("keyword", bs_spec["keyword"], int(bs_spec["startfrom"]))
    elif bs["type"] == "unknown":
        begin = ("unknown",)
    else:
        raise GenError(f"{cmd}: unknown begin_search type {bs['type']!r}")

    fk = pairs(d["find_keys"], f"{cmd} find_keys")
    fk_spec = pairs(fk["spec"], f"{cmd} find_keys spec")
    if fk["type"] == "range":
        find = (
            "range",
            int(fk_spec["lastkey"]),
            int(fk_spec["keystep"]),
            int(fk_spec["limit"]),
        )
    elif fk["type"] == "keynum":
        find = (
            "keynum",
            int(fk_spec["keynumidx"]),
            int(fk_spec["firstkey"]),
            int(fk_spec["keystep"]),
        )
    elif fk["type"] == "unknown":
        find = ("unknown",)
    else:
        raise GenError(f"{cmd}: unknown find_keys type {fk['type']!r}")

    return {
        "notes": d.get("notes"),
        "flags": list(d["flags"]),
        "begin": begin,
        "find": find,
    }


def parse_command(raw) -> dict:
    if not isinstance(raw, list) or len(raw) != 10:
        raise GenError(f"unexpected COMMAND entry shape: {raw!r}")
    name, arity, flags, first, last, step, acl, tips, specs, subs = raw
    return {
        "name": name,
        "arity": int(arity),
        "flags": list(flags),
        "first": int(first),
        "last": int(last),
        "step": int(step),
        "acl": list(acl),
        "tips": list(tips),
        "specs": [parse_key_spec(s, name) for s in specs],
        "subs": sorted((parse_command(s) for s in subs), key=lambda c: c["name"].encode()),
    }


# --------------------------------------------------------------------------
# Python model -> Rust source
# --------------------------------------------------------------------------


def rust_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


NOTE_CHUNK = 60  # wrap long notes so every line stays within rustfmt's 100 columns


def rust_str_wrapped(s: str) -> str:
    """A string literal split with `\\`-newline continuations (whitespace after
    the break is skipped by Rust, so breaks go only after a space that is
    followed by a non-space). rustfmt refuses to lay out an expression that
    holds a line longer than max_width, hence the wrapping."""
    chunks, cur = [], ""
    words = s.split(" ")
    for i, w in enumerate(words):
        piece = w + (" " if i + 1 < len(words) else "")
        if cur and len(cur) + len(piece) > NOTE_CHUNK and cur.endswith(" ") and w:
            chunks.append(cur)
            cur = ""
        cur += piece
    chunks.append(cur)
    body = [rust_str(c)[1:-1] for c in chunks]
    return '"' + "\\\n".join(body) + '"'


def reindent_continuations(src: str) -> str:
    """Indent string continuation lines like the line that opened the literal."""
    out, indent = [], None
    for line in src.split("\n"):
        if indent is not None:
            line = indent + line.lstrip(" ")
        elif line.endswith("\\"):
            indent = line[: len(line) - len(line.lstrip(" "))]
        if not line.endswith("\\"):
            indent = None
        out.append(line)
    return "\n".join(out)


def rust_strs(items) -> str:
    return "&[" + ", ".join(rust_str(s) for s in items) + "]"


class Emitter:
    def __init__(self):
        self.used = {"Meta"}

    def key_spec(self, s: dict) -> str:
        self.used.add("KeySpec")
        self.used.add("BeginSearch")
        self.used.add("FindKeys")
        notes = "None" if s["notes"] is None else f"Some({rust_str_wrapped(s['notes'])})"
        b = s["begin"]
        if b[0] == "index":
            begin = f"BeginSearch::Index({b[1]})"
        elif b[0] == "keyword":
            begin = f"BeginSearch::Keyword {{ keyword: {rust_str(b[1])}, startfrom: {b[2]} }}"
        else:
            begin = "BeginSearch::Unknown"
        f = s["find"]
        if f[0] == "range":
            find = f"FindKeys::Range {{ lastkey: {f[1]}, step: {f[2]}, limit: {f[3]} }}"
        elif f[0] == "keynum":
            find = f"FindKeys::Keynum {{ keynumidx: {f[1]}, firstkey: {f[2]}, step: {f[3]} }}"
        else:
            find = "FindKeys::Unknown"
        return (
            f"KeySpec {{ notes: {notes}, flags: {rust_strs(s['flags'])}, "
            f"begin_search: {begin}, find_keys: {find} }}"
        )

    def meta(self, c: dict) -> str:
        specs = "&[" + ", ".join(self.key_spec(s) for s in c["specs"]) + "]"
        subs = "&[" + ", ".join(self.meta(s) for s in c["subs"]) + "]"
        return (
            f"Meta {{ name: {rust_str(c['name'])}, arity: {c['arity']}, "
            f"flags: {rust_strs(c['flags'])}, first_key: {c['first']}, "
            f"last_key: {c['last']}, step: {c['step']}, acl: {rust_strs(c['acl'])}, "
            f"tips: {rust_strs(c['tips'])}, key_specs: {specs}, subcommands: {subs} }}"
        )


def render(commands: list, version: str) -> str:
    em = Emitter()
    body = ",\n".join(em.meta(c) for c in commands)
    nsubs = sum(len(c["subs"]) for c in commands)
    imports = ", ".join(sorted(em.used))
    return (
        f"//! Generated by `{GENERATOR}` from redis-server {version}; do not edit.\n"
        "//!\n"
        f"//! Every command Redis {version} reports in `COMMAND` ({len(commands)} commands, "
        f"{nsubs} subcommands),\n"
        "//! sorted by name, subcommands nested and named `container|sub` as Redis names them,\n"
        "//! with arity, flags, legacy key range, ACL categories, tips and key specs verbatim.\n"
        "//! It holds data only: no logic, and nothing darter-specific (which commands darter\n"
        "//! implements is decided by the family modules, not here). Regenerate, never hand-edit.\n"
        "\n"
        f"use crate::meta::{{{imports}}};\n"
        "\n"
        f"/// All {len(commands)} top-level commands of Redis {version}, sorted by name (byte order).\n"
        f"pub static REDIS_COMMANDS: &[Meta] = &[\n{body}\n];\n"
    )


# --------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--allow-any-version", action="store_true",
                    help="accept a redis-server that is not 7.0.x")
    ap.add_argument("--no-rustfmt", action="store_true")
    args = ap.parse_args()

    tmpdir = tempfile.mkdtemp(prefix="darter-gen-")
    proc = None
    try:
        proc, sock_path = start_server(args.server, tmpdir, args.timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(max(args.timeout, 10.0))
        sock.connect(sock_path)
        try:
            conn = Resp(sock)
            info = conn.call("INFO", "server")
            version = next(
                (l.split(":", 1)[1].strip() for l in info.splitlines()
                 if l.startswith("redis_version:")),
                "unknown",
            )
            if not version.startswith("7.0.") and not args.allow_any_version:
                raise GenError(f"redis-server is {version}, expected 7.0.x "
                               "(pass --allow-any-version to override)")
            raw = conn.call("COMMAND")
            count = conn.call("COMMAND", "COUNT")
        finally:
            sock.close()
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmpdir, ignore_errors=True)

    commands = sorted((parse_command(c) for c in raw), key=lambda c: c["name"].encode())
    if len(commands) != count:
        raise GenError(f"COMMAND returned {len(commands)} entries, COMMAND COUNT says {count}")
    names = [c["name"] for c in commands]
    if len(set(names)) != len(names):
        raise GenError("duplicate command names in COMMAND reply")

    src = render(commands, version)
    tmp_out = args.out + ".tmp"
    try:
        with open(tmp_out, "w", encoding="utf-8") as f:
            f.write(src)
        if not args.no_rustfmt:
            res = subprocess.run(["rustfmt", "--edition", "2021", tmp_out],
                                 capture_output=True, text=True)
            if res.returncode != 0:
                raise GenError(f"rustfmt failed:\n{res.stderr}")
            with open(tmp_out, encoding="utf-8") as f:
                src = reindent_continuations(f.read())
            with open(tmp_out, "w", encoding="utf-8") as f:
                f.write(src)
            too_long = [i + 1 for i, l in enumerate(src.splitlines()) if len(l) > 100]
            if too_long:
                raise GenError(f"lines over 100 columns after rustfmt: {too_long[:10]}")
        os.replace(tmp_out, args.out)
    finally:
        if os.path.exists(tmp_out):
            os.unlink(tmp_out)
    nsubs = sum(len(c["subs"]) for c in commands)
    print(f"wrote {args.out}: {len(commands)} commands, {nsubs} subcommands "
          f"(redis {version})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GenError as e:
        print(f"gen_command_table: error: {e}", file=sys.stderr)
        sys.exit(1)
