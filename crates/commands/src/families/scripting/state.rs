//! Process-wide scripting state (configuration-like, never shard data): script bodies by SHA, each
//! script's lock mode, the per-thread Lua VMs, and which threads are running a script past
//! `busy-reply-threshold` (BUSY, SCRIPT KILL).

use bytes::Bytes;
use darter_scripting::ScriptVm;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, RwLock};

/// Which locks a script's runs hold (docs/design/scripting.md, "Atomicity").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every shard of the process; the run also observes which keys the script touches.
    Global,
    /// Only the declared keys; a run that names another key is abandoned and run again globally.
    Keys,
}

struct Store {
    /// Script bodies by lowercase SHA1 (EVAL, SCRIPT LOAD), for threads whose VM lacks one.
    bodies: RwLock<HashMap<String, Bytes>>,
    /// Learnt modes, by script identity (`sha` for EVAL, `f:<library>.<function>` for FCALL).
    modes: RwLock<HashMap<String, Mode>>,
    /// Bumped by SCRIPT FLUSH: each thread's VM is recreated when it sees a new generation.
    generation: AtomicU64,
}

static STORE: LazyLock<Store> = LazyLock::new(|| Store {
    bodies: RwLock::new(HashMap::new()),
    modes: RwLock::new(HashMap::new()),
    generation: AtomicU64::new(0),
});

pub fn body(sha: &str) -> Option<Bytes> {
    STORE
        .bodies
        .read()
        .expect("script store")
        .get(&sha.to_ascii_lowercase())
        .cloned()
}

pub fn remember_body(sha: &str, body: Bytes) {
    let mut b = STORE.bodies.write().expect("script store");
    if !b.contains_key(sha) {
        b.insert(sha.to_string(), body);
    }
}

pub fn exists(sha: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(sha) else {
        return false;
    };
    STORE
        .bodies
        .read()
        .expect("script store")
        .contains_key(&s.to_ascii_lowercase())
}

/// The mode a script runs in next: `Global` until a run has shown it touches only its keys.
pub fn mode(id: &str) -> Mode {
    STORE
        .modes
        .read()
        .expect("script modes")
        .get(id)
        .copied()
        .unwrap_or(Mode::Global)
}

/// Records what a run learnt. A mode only moves towards `Global` once learnt, except that a
/// script never seen before may become `Keys` (invariant 7 of the design).
pub fn learn(id: &str, m: Mode) {
    if STORE.modes.read().expect("script modes").get(id) == Some(&m) {
        return;
    }
    let mut modes = STORE.modes.write().expect("script modes");
    match (modes.get(id), m) {
        (Some(Mode::Global), _) => {}
        _ => {
            modes.insert(id.to_string(), m);
        }
    }
}

/// Forgets learnt modes whose identity starts with `prefix` (FUNCTION DELETE/FLUSH: `f:`).
pub fn forget_modes(prefix: &str) {
    NOT_LOCAL
        .write()
        .expect("not-local set")
        .retain(|k| !k.starts_with(prefix));
    STORE
        .modes
        .write()
        .expect("script modes")
        .retain(|k, _| !k.starts_with(prefix));
}

/// Scripts seen calling a command that cannot run inline (a coordinator command, another
/// shard's key): their `Keys` runs always take a transaction.
static NOT_LOCAL: LazyLock<RwLock<std::collections::HashSet<String>>> =
    LazyLock::new(|| RwLock::new(std::collections::HashSet::new()));

pub fn may_run_local(id: &str) -> bool {
    !NOT_LOCAL.read().expect("not-local set").contains(id)
}

pub fn no_local(id: &str) {
    NOT_LOCAL
        .write()
        .expect("not-local set")
        .insert(id.to_string());
}

/// SCRIPT FLUSH: forgets every body and EVAL mode, and every thread's VM (recreated on next use,
/// as Redis recreates its Lua state: cjson settings and the random generator start afresh).
pub fn flush() {
    STORE.bodies.write().expect("script store").clear();
    STORE
        .modes
        .write()
        .expect("script modes")
        .retain(|k, _| k.starts_with("f:"));
    NOT_LOCAL
        .write()
        .expect("not-local set")
        .retain(|k| k.starts_with("f:"));
    STORE.generation.fetch_add(1, Ordering::AcqRel);
}

thread_local! {
    static VM: RefCell<Option<(u64, ScriptVm)>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's EVAL VM (created, or recreated after SCRIPT FLUSH, as needed).
pub fn with_vm<R>(f: impl FnOnce(&mut ScriptVm) -> R) -> R {
    let generation = STORE.generation.load(Ordering::Acquire);
    VM.with(|v| {
        let mut v = v.borrow_mut();
        if v.as_ref().map(|(g, _)| *g) != Some(generation) {
            *v = Some((generation, ScriptVm::new().expect("create the Lua VM")));
        }
        f(&mut v.as_mut().expect("just set").1)
    })
}

/// A run that passed `busy-reply-threshold`, as SCRIPT KILL / FUNCTION KILL / BUSY see it.
pub struct Busy {
    /// The engine thread running it.
    pub thread: Option<usize>,
    pub is_eval: bool,
    /// The run has written: SCRIPT KILL answers UNKILLABLE.
    pub wrote: AtomicBool,
    /// SCRIPT KILL asked the run to stop.
    pub kill: AtomicBool,
    /// FUNCTION STATS: the function's name and the command line.
    pub name: String,
    /// Filled when the run becomes busy (copying it for every run would cost every run).
    pub command: Mutex<Vec<Bytes>>,
    pub started: std::time::Instant,
}

static BUSY_COUNT: AtomicUsize = AtomicUsize::new(0);
static BUSY: Mutex<Vec<Arc<Busy>>> = Mutex::new(Vec::new());

/// True while some script runs past the threshold (one relaxed load; dispatch checks it).
#[inline]
pub fn any_busy() -> bool {
    BUSY_COUNT.load(Ordering::Relaxed) > 0
}

/// The running script other clients are told about (the oldest busy one).
pub fn busy() -> Option<Arc<Busy>> {
    BUSY.lock().expect("busy").first().cloned()
}

/// True when engine thread `t` is inside a script past the threshold (new connections avoid it).
pub fn thread_busy(t: usize) -> bool {
    any_busy()
        && BUSY
            .lock()
            .expect("busy")
            .iter()
            .any(|b| b.thread == Some(t))
}

/// Registers a busy run until the returned guard drops.
pub fn enter_busy(b: Arc<Busy>) -> BusyGuard {
    BUSY.lock().expect("busy").push(b.clone());
    BUSY_COUNT.fetch_add(1, Ordering::Relaxed);
    BusyGuard(b)
}

pub struct BusyGuard(Arc<Busy>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let mut v = BUSY.lock().expect("busy");
        v.retain(|b| !Arc::ptr_eq(b, &self.0));
        BUSY_COUNT.fetch_sub(1, Ordering::Relaxed);
    }
}
