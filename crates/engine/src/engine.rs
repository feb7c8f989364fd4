//! The engine: N threads, each with its own single-threaded tokio runtime, the shards they own,
//! and the means to reach them (hops).
//!
//! Thread i owns shard i (for i < num_shards); threads beyond num_shards serve connections only.
//! A hop is a closure sent to the owning thread's inbox and run there; a hop to the current
//! thread's own shard is never sent, it runs inline. Tasks never leave their thread.

use crate::clock::Clock;
use crate::shard::{install_local_shard, local_shard_id, with_local_shard, Shard, ShardId};
use crate::tx::{contain, LockReq, Panicked};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A closure run on a particular thread.
pub type Task = Box<dyn FnOnce() + Send>;

/// What to build.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Threads (0 = one per CPU).
    pub threads: usize,
    /// Shards (0 = one per thread; never more than threads).
    pub shards: usize,
    pub dbnum: usize,
    /// Heartbeat frequency (active expiry), per second.
    pub hz: u32,
    /// Use a manual clock (tests).
    pub manual_clock: bool,
    /// Encoding thresholds every shard starts with.
    pub limits: darter_collections::Limits,
    /// `notify-keyspace-events` flags (`crate::notify`) at startup.
    pub keyspace_events: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            threads: 0,
            shards: 0,
            dbnum: 16,
            hz: 100,
            manual_clock: false,
            limits: darter_collections::Limits::default(),
            keyspace_events: 0,
        }
    }
}

pub struct Engine {
    inboxes: Vec<mpsc::UnboundedSender<Task>>,
    num_shards: usize,
    dbnum: usize,
    /// Encoding thresholds each shard starts with (CONFIG SET updates the shards' copies).
    limits: darter_collections::Limits,
    /// `notify-keyspace-events` flags, shared with every shard and database slice.
    events: crate::notify::Flags,
    next_txid: AtomicU64,
    /// Heartbeat frequency (config `hz`); threads pick up changes on their next beat.
    hz: std::sync::atomic::AtomicU32,
    pub clock: Arc<Clock>,
    stopping: AtomicBool,
    joins: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>,
}

thread_local! {
    static THREAD_INDEX: Cell<Option<usize>> = const { Cell::new(None) };
    static STOP: Cell<bool> = const { Cell::new(false) };
}

/// The index of the engine thread we are on, if any.
pub fn thread_index() -> Option<usize> {
    THREAD_INDEX.with(|c| c.get())
}

impl Engine {
    /// Starts the threads. `on_thread_start(i)` runs first on each thread, inside its runtime
    /// (connection-side per-thread state is set up there).
    pub fn start(
        opts: EngineOptions,
        on_thread_start: Arc<dyn Fn(usize) + Send + Sync>,
    ) -> Arc<Engine> {
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            opts.threads
        };
        let shards = if opts.shards == 0 {
            threads
        } else {
            opts.shards.min(threads)
        };
        let clock = Arc::new(if opts.manual_clock {
            Clock::manual()
        } else {
            Clock::real()
        });
        let mut inboxes = Vec::new();
        let mut receivers = Vec::new();
        for _ in 0..threads {
            let (tx, rx) = mpsc::unbounded_channel::<Task>();
            inboxes.push(tx);
            receivers.push(rx);
        }
        let engine = Arc::new(Engine {
            inboxes,
            num_shards: shards,
            dbnum: opts.dbnum,
            limits: opts.limits,
            events: Arc::new(std::sync::atomic::AtomicU32::new(opts.keyspace_events)),
            next_txid: AtomicU64::new(1),
            hz: std::sync::atomic::AtomicU32::new(opts.hz.clamp(1, 500)),
            clock,
            stopping: AtomicBool::new(false),
            joins: std::sync::Mutex::new(Vec::new()),
        });
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut joins = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            let engine = engine.clone();
            let init = on_thread_start.clone();
            let ready = ready_tx.clone();
            let j = std::thread::Builder::new()
                .name(format!("darter-{i}"))
                .spawn(move || thread_main(i, engine, rx, init, ready))
                .expect("spawn engine thread");
            joins.push(j);
        }
        for _ in 0..threads {
            ready_rx.recv().expect("engine thread started");
        }
        *engine.joins.lock().expect("joins") = joins;
        engine
    }

    #[inline]
    pub fn num_shards(&self) -> usize {
        self.num_shards
    }

    #[inline]
    pub fn num_threads(&self) -> usize {
        self.inboxes.len()
    }

    #[inline]
    pub fn dbnum(&self) -> usize {
        self.dbnum
    }

    /// Heartbeats per second (active expiry).
    pub fn hz(&self) -> u32 {
        self.hz.load(Ordering::Relaxed)
    }

    /// Changes the heartbeat frequency (CONFIG SET hz); clamped to 1..=500 like Redis.
    /// The `notify-keyspace-events` flags (`crate::notify`).
    pub fn keyspace_events(&self) -> u32 {
        self.events.load(Ordering::Relaxed)
    }

    /// CONFIG SET notify-keyspace-events: every shard sees the new flags on its next event.
    pub fn set_keyspace_events(&self, flags: u32) {
        self.events.store(flags, Ordering::Relaxed);
    }

    pub fn set_hz(&self, hz: u32) {
        self.hz.store(hz.clamp(1, 500), Ordering::Relaxed);
    }

    #[inline]
    pub fn next_txid(&self) -> u64 {
        self.next_txid.fetch_add(1, Ordering::Relaxed)
    }

    /// True when the current thread owns shard `sid`.
    #[inline]
    pub fn is_local(&self, sid: ShardId) -> bool {
        local_shard_id() == Some(sid)
    }

    /// Sends a task to thread `thread` (shard i lives on thread i).
    #[inline]
    pub fn send(&self, thread: usize, task: Task) {
        // A send fails only once the thread has stopped; the task is then dropped, and any
        // reply channel inside it reports that to its waiter.
        let _ = self.inboxes[thread].send(crate::tracking::carry(task));
    }

    /// Runs `f` on thread `thread`'s runtime (e.g. to spawn a connection task there).
    pub fn spawn_on(&self, thread: usize, f: impl FnOnce() + Send + 'static) {
        self.send(thread, Box::new(f));
    }

    /// Runs `f` on shard `sid`: inline when local, else as a hop. Waits in the shard's queue if
    /// the locks are held by a transaction. A panic in `f` comes back as `Err`.
    pub async fn run_on<R, F>(&self, sid: ShardId, locks: &[LockReq], f: F) -> Result<R, Panicked>
    where
        R: Send + 'static,
        F: FnOnce(&mut Shard) -> R + Send + 'static,
    {
        // A job that waits in a queue runs later inside another hop: it carries its own
        // client context (`crate::tracking`).
        let ctx = crate::tracking::current();
        let f = move |s: &mut Shard| match ctx {
            None => f(s),
            Some(ctx) => {
                let keys = ctx.keys.is_some();
                let _g = crate::tracking::enter(Some(ctx));
                let r = f(s);
                if keys {
                    s.track_remember_ctx();
                }
                r
            }
        };
        if let Some(h) = crate::tx::held() {
            // Inside a held transaction (EXEC): a hop of it; its locks cover `locks`.
            let (tx, rx) = oneshot::channel();
            let job = Box::new(move |s: &mut Shard| {
                let _ = tx.send(contain(|| f(s)));
            });
            crate::tx::arm_on(self, sid, h.txid, job, false);
            return rx.await.unwrap_or_else(|_| {
                Err(Panicked(format!(
                    "shard {sid} is not part of the held transaction"
                )))
            });
        }
        if self.is_local(sid) {
            let free = with_local_shard(|s| s.locks_free(locks));
            if free {
                return with_local_shard(|s| {
                    let r = contain(|| f(s));
                    s.drain_ready();
                    r
                });
            }
        }
        let (tx, rx) = oneshot::channel();
        let job = Box::new(move |s: &mut Shard| {
            let _ = tx.send(contain(|| f(s)));
        });
        if self.is_local(sid) {
            with_local_shard(|s| s.run_or_queue(self, locks, job));
        } else {
            let locks = locks.to_vec();
            let engine = self.self_arc();
            self.send(
                sid,
                Box::new(move || {
                    with_local_shard(|s| {
                        s.stats.remote_hops += 1;
                        s.run_or_queue(&engine, &locks, job)
                    })
                }),
            );
        }
        rx.await
            .unwrap_or_else(|_| Err(Panicked("shard thread stopped".into())))
    }

    /// Runs `f` on every shard in parallel (no locks; for stats and introspection) and collects
    /// the results in shard order.
    pub async fn on_all_shards<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send + 'static,
        F: Fn(&mut Shard) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let mut rxs = Vec::with_capacity(self.num_shards);
        let mut local = None;
        for sid in 0..self.num_shards {
            if self.is_local(sid) {
                local = Some(with_local_shard(|s| f(s)));
                rxs.push(None);
            } else {
                let (tx, rx) = oneshot::channel();
                let f = f.clone();
                self.send(
                    sid,
                    Box::new(move || {
                        let _ = tx.send(with_local_shard(|s| f(s)));
                    }),
                );
                rxs.push(Some(rx));
            }
        }
        let mut out = Vec::with_capacity(self.num_shards);
        for rx in rxs {
            match rx {
                None => out.push(local.take().expect("local result")),
                Some(rx) => out.push(rx.await.expect("shard thread alive")),
            }
        }
        out
    }

    /// Runs `f` on every thread (shard owner or not) and collects results in thread order.
    pub async fn on_all_threads<R, F>(&self, f: F) -> Vec<R>
    where
        R: Send + 'static,
        F: Fn(usize) -> R + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let mut rxs = Vec::new();
        for t in 0..self.num_threads() {
            let (tx, rx) = oneshot::channel();
            let f = f.clone();
            if thread_index() == Some(t) {
                let _ = tx.send(f(t));
            } else {
                self.send(
                    t,
                    Box::new(move || {
                        let _ = tx.send(f(t));
                    }),
                );
            }
            rxs.push(rx);
        }
        let mut out = Vec::new();
        for rx in rxs {
            if let Ok(r) = rx.await {
                out.push(r);
            }
        }
        out
    }

    fn self_arc(&self) -> Arc<Engine> {
        ENGINE.with(|e| {
            e.borrow()
                .as_ref()
                .expect("engine thread has its engine")
                .clone()
        })
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Stops every thread and joins them. Safe to call from outside the engine's threads only.
    pub fn shutdown(&self) {
        if self.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        for t in 0..self.num_threads() {
            self.send(t, Box::new(|| STOP.with(|s| s.set(true))));
        }
        let joins = std::mem::take(&mut *self.joins.lock().expect("joins"));
        let me = std::thread::current().id();
        for j in joins {
            if j.thread().id() != me {
                let _ = j.join();
            }
        }
    }

    /// The engine of the current engine thread.
    pub fn current() -> Option<Arc<Engine>> {
        ENGINE.with(|e| e.borrow().clone())
    }
}

thread_local! {
    static ENGINE: std::cell::RefCell<Option<Arc<Engine>>> = const { std::cell::RefCell::new(None) };
}

fn thread_main(
    index: usize,
    engine: Arc<Engine>,
    rx: mpsc::UnboundedReceiver<Task>,
    init: Arc<dyn Fn(usize) + Send + Sync>,
    ready: std::sync::mpsc::Sender<()>,
) {
    THREAD_INDEX.with(|c| c.set(Some(index)));
    ENGINE.with(|e| *e.borrow_mut() = Some(engine.clone()));
    if index < engine.num_shards {
        let mut shard = Shard::new(index, engine.dbnum, engine.clock.clone());
        shard.limits = engine.limits;
        shard.set_events(engine.events.clone());
        install_local_shard(shard);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build runtime");
    let local = tokio::task::LocalSet::new();
    let rx = Rc::new(RefCell::new(rx));
    INBOX.with(|i| *i.borrow_mut() = Some(rx.clone()));
    local.block_on(&rt, async move {
        init(index);
        let _ = ready.send(());
        let has_shard = index < engine.num_shards;
        let period = |hz: u32| Duration::from_millis((1000 / hz.max(1) as u64).max(1));
        let mut hz = engine.hz();
        let mut beat = tokio::time::interval(period(hz));
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                t = std::future::poll_fn(|cx| {
                    // Remembered so a nested driver that polled the inbox with its own waker can
                    // hand the inbox back (`crate::nested`).
                    MAIN_WAKER.with(|w| {
                        let mut w = w.borrow_mut();
                        if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            *w = Some(cx.waker().clone());
                        }
                    });
                    rx.borrow_mut().poll_recv(cx)
                }) => {
                    let Some(t) = t else { break };
                    run_task(t);
                    // Drain what is already queued before yielding back to connections.
                    for _ in 0..256 {
                        let next = rx.borrow_mut().try_recv();
                        match next {
                            Ok(t) => run_task(t),
                            Err(_) => break,
                        }
                    }
                }
                _ = beat.tick(), if has_shard => {
                    // Like Redis's slow expire cycle: at most 25% of a beat's period.
                    with_local_shard(|s| s.heartbeat(period(hz) / 4));
                    if engine.hz() != hz {
                        hz = engine.hz();
                        beat = tokio::time::interval(period(hz));
                        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    }
                }
            }
            if STOP.with(|s| s.get()) {
                break;
            }
        }
    });
    ENGINE.with(|e| *e.borrow_mut() = None);
    INBOX.with(|i| *i.borrow_mut() = None);
}

thread_local! {
    /// This thread's inbox, shared between the thread's main loop and `crate::nested`.
    static INBOX: RefCell<Option<Rc<RefCell<mpsc::UnboundedReceiver<Task>>>>> =
        const { RefCell::new(None) };
    /// The main loop's waker for the inbox.
    static MAIN_WAKER: RefCell<Option<std::task::Waker>> = const { RefCell::new(None) };
}

/// Runs every task already waiting in this thread's inbox, registering `cx` for the next one.
/// Returns how many ran. (`crate::nested`; outside an engine thread it does nothing.)
pub(crate) fn run_inbox(cx: &mut std::task::Context<'_>) -> usize {
    let Some(rx) = INBOX.with(|i| i.borrow().clone()) else {
        return 0;
    };
    let mut n = 0;
    loop {
        // The borrow ends before the task runs (a task never reaches the inbox itself, but a
        // nested driver inside it might).
        let next = rx.borrow_mut().poll_recv(cx);
        match next {
            std::task::Poll::Ready(Some(t)) => {
                // The task is another client's: it must not run in the waiting command's
                // tracking context (a task that has one carries it).
                let _outside = crate::tracking::enter(None);
                run_task(t);
                n += 1;
            }
            _ => return n,
        }
    }
}

/// Wakes the main loop so it polls the inbox again with its own waker.
pub(crate) fn wake_main_loop() {
    MAIN_WAKER.with(|w| {
        if let Some(w) = w.borrow().as_ref() {
            w.wake_by_ref();
        }
    });
}

fn run_task(t: Task) {
    if let Err(p) = contain(t) {
        tracing::error!(panic = %p.0, "task panicked on engine thread");
    }
}
