//! A minimal blocking RESP client over TCP or a Unix socket, for tests: sends commands as
//! multibulk (or raw bytes) and returns raw reply bytes or decoded frames.

use darter_resp::{decode, encode, Frame};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

pub struct RawClient {
    s: Stream,
    buf: Vec<u8>,
    /// The read timeout in force (reads that time out count as the connection closing).
    timeout: Duration,
}

/// How long one read may block by default.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

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
        s.set_read_timeout(Some(READ_TIMEOUT)).ok();
        RawClient {
            s: Stream::Tcp(s),
            buf: Vec::new(),
            timeout: READ_TIMEOUT,
        }
    }

    pub fn connect_unix(path: &Path) -> RawClient {
        let s = UnixStream::connect(path).expect("connect unix");
        s.set_read_timeout(Some(READ_TIMEOUT)).ok();
        RawClient {
            s: Stream::Unix(s),
            buf: Vec::new(),
            timeout: READ_TIMEOUT,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.s {
            Stream::Tcp(s) => s.write_all(bytes),
            Stream::Unix(s) => s.write_all(bytes),
        }
        .expect("write");
    }

    /// Sends bytes; false when the connection is gone (the server closed it).
    pub fn try_send_raw(&mut self, bytes: &[u8]) -> bool {
        match &mut self.s {
            Stream::Tcp(s) => s.write_all(bytes),
            Stream::Unix(s) => s.write_all(bytes),
        }
        .is_ok()
    }

    /// Sets how long one read may block (30 s by default). A read that times out counts as the
    /// connection closing, so keep this well above any legitimate server delay.
    pub fn set_read_timeout(&mut self, t: Duration) {
        self.apply_timeout(t);
        self.timeout = t;
    }

    fn apply_timeout(&self, t: Duration) {
        match &self.s {
            Stream::Tcp(s) => s.set_read_timeout(Some(t)),
            Stream::Unix(s) => s.set_read_timeout(Some(t)),
        }
        .expect("set_read_timeout");
    }

    /// Waits at most `limit` for the server to close the connection. Bytes that arrive meanwhile
    /// are kept (see `take_pending`, `read_reply_raw`). True when the connection was closed (EOF
    /// or reset), false when the time ran out with it still open. Unlike `is_closed`, a read
    /// timeout is never mistaken for a close.
    pub fn wait_closed(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut tmp = vec![0u8; 65536];
        let closed = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break false;
            }
            self.apply_timeout(left.min(Duration::from_millis(100)));
            let r = match &mut self.s {
                Stream::Tcp(s) => s.read(&mut tmp),
                Stream::Unix(s) => s.read(&mut tmp),
            };
            match r {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => break true,
            }
        };
        self.apply_timeout(self.timeout);
        closed
    }

    /// Takes the bytes received but not yet returned as replies.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The underlying TCP stream (TCP clients only), e.g. to clone it for a writer thread.
    pub fn tcp(&self) -> &TcpStream {
        match &self.s {
            Stream::Tcp(s) => s,
            Stream::Unix(_) => panic!("not a TCP client"),
        }
    }

    /// Writes `bytes` from another thread, so a test can read replies while a large request is
    /// still being sent (writing it all first could deadlock once both socket buffers fill).
    /// Join the handle to learn whether the whole request was written.
    pub fn send_raw_in_background(&self, bytes: Vec<u8>) -> std::thread::JoinHandle<bool> {
        let mut w = match &self.s {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone().expect("clone stream")),
            Stream::Unix(s) => Stream::Unix(s.try_clone().expect("clone stream")),
        };
        std::thread::spawn(move || {
            match &mut w {
                Stream::Tcp(s) => s.write_all(&bytes),
                Stream::Unix(s) => s.write_all(&bytes),
            }
            .is_ok()
        })
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
