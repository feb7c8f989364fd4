//! A minimal blocking RESP client over TCP or a Unix socket, for tests: sends commands as
//! multibulk (or raw bytes) and returns raw reply bytes or decoded frames.

use darter_resp::{decode, encode, Frame};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

pub struct RawClient {
    s: Stream,
    buf: Vec<u8>,
}

/// Encodes `args` as a RESP multibulk request.
pub fn encode_request<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl RawClient {
    pub fn connect_tcp(addr: SocketAddr) -> RawClient {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).ok();
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        RawClient {
            s: Stream::Tcp(s),
            buf: Vec::new(),
        }
    }

    pub fn connect_unix(path: &Path) -> RawClient {
        let s = UnixStream::connect(path).expect("connect unix");
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        RawClient {
            s: Stream::Unix(s),
            buf: Vec::new(),
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.s {
            Stream::Tcp(s) => s.write_all(bytes),
            Stream::Unix(s) => s.write_all(bytes),
        }
        .expect("write");
    }

    fn read_more(&mut self) -> usize {
        let mut tmp = [0u8; 65536];
        let n = match &mut self.s {
            Stream::Tcp(s) => s.read(&mut tmp),
            Stream::Unix(s) => s.read(&mut tmp),
        }
        .unwrap_or(0);
        self.buf.extend_from_slice(&tmp[..n]);
        n
    }

    /// Reads one reply and returns its exact bytes. Panics on EOF before a whole reply.
    pub fn read_reply_raw(&mut self) -> Vec<u8> {
        self.try_read_reply_raw()
            .expect("connection closed before a reply")
    }

    /// Reads one reply; None when the server closed the connection first.
    pub fn try_read_reply_raw(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Ok(Some((_, used))) = decode(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..used).collect();
                return Some(raw);
            }
            if self.read_more() == 0 {
                return None;
            }
        }
    }

    /// True when the server has closed the connection (reads EOF with nothing pending).
    pub fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && self.read_more() == 0
    }

    pub fn read_frame(&mut self) -> Frame {
        let raw = self.read_reply_raw();
        decode(&raw).expect("valid").expect("complete").0
    }

    /// Sends one command and returns the raw reply bytes.
    pub fn cmd_raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send_raw(&encode_request(args));
        self.read_reply_raw()
    }

    /// Sends one command and returns the reply as a string (lossy), handy in assertions.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> String {
        String::from_utf8_lossy(&self.cmd_raw(args)).into_owned()
    }

    pub fn cmd_frame<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Frame {
        self.send_raw(&encode_request(args));
        self.read_frame()
    }
}

/// Re-encodes a frame (for sorting array elements in differential comparisons).
pub fn frame_bytes(f: &Frame) -> Vec<u8> {
    let mut v = Vec::new();
    encode(f, &mut v);
    v
}
