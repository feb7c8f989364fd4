//! The per-thread registry of connected clients, for CLIENT LIST / INFO / KILL / ID.
//!
//! Each engine thread keeps its own list of the connections it serves (shared-nothing: CLIENT LIST
//! asks every thread). Entries are `Rc` with interior mutability because only the owning thread
//! ever touches them; a CLIENT KILL from another thread arrives as a hop to the owner.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Instant;

/// What CLIENT LIST shows about a connection.
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created: Instant,
    pub last_interaction: Cell<Instant>,
    pub name: RefCell<Option<Vec<u8>>>,
    pub lib_name: RefCell<Option<Vec<u8>>>,
    pub lib_ver: RefCell<Option<Vec<u8>>>,
    pub db: Cell<usize>,
    pub last_cmd: Cell<&'static str>,
    pub resp: Cell<u8>,
    pub no_evict: Cell<bool>,
    pub query_buf: Cell<usize>,
    pub query_buf_free: Cell<usize>,
    pub out_buf: Cell<usize>,
    pub multi: Cell<i64>,
    /// The WATCH dirty flag while the client watches keys (the `d` flag of CLIENT LIST).
    pub watch_dirty: RefCell<Option<std::sync::Arc<std::sync::atomic::AtomicBool>>>,
    /// Set by CLIENT KILL; the connection closes once it sees it.
    pub killed: Cell<bool>,
    /// Installed by the connection: shuts its socket down so a reader waiting on it wakes with EOF.
    pub closer: RefCell<Option<Box<dyn Fn()>>>,
    /// CLIENT SETNAME etc. is allowed; reply mode flags (for the `flags=` field).
    pub flags: Cell<u32>,
    /// Waiting in a blocking command (INFO blocked_clients, CLIENT UNBLOCK, the `b` flag).
    pub blocked: Cell<bool>,
    /// Blocked with a timeout (INFO clients_in_timeout_table).
    pub blocked_with_timeout: Cell<bool>,
    /// Set by CLIENT UNBLOCK while blocked: Some(true) = ERROR, Some(false) = TIMEOUT.
    unblock: Cell<Option<bool>>,
    unblock_notify: tokio::sync::Notify,
    /// Installed by the connection: a future that resolves once the peer has closed its side
    /// (for blocked commands, which do not read the socket while they wait).
    pub closed_probe: RefCell<Option<ClosedProbe>>,
    /// Subscriptions and messages waiting to be written (families/pubsub).
    pub pubsub: crate::families::pubsub::registry::ClientPubSub,
    /// CLIENT TRACKING state (families/tracking).
    pub tracking: crate::families::tracking::ClientTracking,
}

/// Makes a future that resolves when the peer closed the connection.
pub type ClosedProbe = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>;

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32) -> ClientInfo {
        let now = Instant::now();
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created: now,
            last_interaction: Cell::new(now),
            name: RefCell::new(None),
            lib_name: RefCell::new(None),
            lib_ver: RefCell::new(None),
            db: Cell::new(0),
            last_cmd: Cell::new("NULL"),
            resp: Cell::new(2),
            no_evict: Cell::new(false),
            query_buf: Cell::new(0),
            query_buf_free: Cell::new(0),
            out_buf: Cell::new(0),
            multi: Cell::new(-1),
            watch_dirty: RefCell::new(None),
            killed: Cell::new(false),
            closer: RefCell::new(None),
            flags: Cell::new(0),
            blocked: Cell::new(false),
            blocked_with_timeout: Cell::new(false),
            unblock: Cell::new(None),
            unblock_notify: tokio::sync::Notify::new(),
            closed_probe: RefCell::new(None),
            pubsub: Default::default(),
            tracking: Default::default(),
        }
    }

    /// Resolves when the peer has closed the connection (never, without a probe installed).
    pub fn peer_closed(&self) -> impl Future<Output = ()> + 'static {
        let probe = self.closed_probe.borrow().clone();
        async move {
            match probe {
                Some(p) => p().await,
                None => std::future::pending().await,
            }
        }
    }

    /// Starts a blocking wait: forgets any stale unblock request.
    pub fn begin_block(&self, with_timeout: bool) {
        self.unblock.set(None);
        self.blocked.set(true);
        self.blocked_with_timeout.set(with_timeout);
    }

    pub fn end_block(&self) {
        self.blocked.set(false);
        self.blocked_with_timeout.set(false);
        self.unblock.set(None);
    }

    /// Resolves with CLIENT UNBLOCK's mode (true = ERROR) once one arrives for this client.
    pub async fn unblocked(&self) -> bool {
        loop {
            if let Some(error) = self.unblock.take() {
                return error;
            }
            self.unblock_notify.notified().await;
        }
    }

    /// CLIENT UNBLOCK: wakes the client if it is blocked; false if it is not.
    pub fn request_unblock(&self, error: bool) -> bool {
        if !self.blocked.get() {
            return false;
        }
        self.unblock.set(Some(error));
        self.unblock_notify.notify_one();
        true
    }

    /// Closes another connection (CLIENT KILL): marks it and shuts its socket down, which wakes
    /// its task with EOF. A connection killing itself only sets `killed` (it still replies).
    pub fn kill(&self) {
        self.killed.set(true);
        if let Some(close) = &*self.closer.borrow() {
            close();
        }
    }
}

thread_local! {
    static CLIENTS: RefCell<Vec<Rc<ClientInfo>>> = const { RefCell::new(Vec::new()) };
}

pub fn register(c: Rc<ClientInfo>) {
    CLIENTS.with(|l| l.borrow_mut().push(c));
}

pub fn unregister(id: u64) {
    CLIENTS.with(|l| l.borrow_mut().retain(|c| c.id != id));
}

/// Calls `f` for every client on this thread.
pub fn for_each(mut f: impl FnMut(&Rc<ClientInfo>)) {
    CLIENTS.with(|l| {
        for c in l.borrow().iter() {
            f(c)
        }
    })
}

/// The client `id` if this thread serves it.
pub fn find(id: u64) -> Option<Rc<ClientInfo>> {
    CLIENTS.with(|l| l.borrow().iter().find(|c| c.id == id).cloned())
}

pub fn count() -> usize {
    CLIENTS.with(|l| l.borrow().len())
}
