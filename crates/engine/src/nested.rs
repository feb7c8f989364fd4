//! Driving a future to completion from synchronous code on an engine thread (a Lua script's
//! `redis.call`), without stopping the thread's part in other transactions.
//!
//! ```text
//!  connection task ── EVAL ── Lua (synchronous) ── redis.call ── nested::block_on(command future)
//!                                                                   │ poll the future
//!                                                                   │ pending: run this thread's inbox
//!                                                                   │   (hops other coordinators sent
//!                                                                   │    to this thread's shard)
//!                                                                   └ nothing to do: park until woken
//! ```
//!
//! The thread's runtime is not re-entered: other connection tasks of the thread, its timers and
//! its heartbeat wait until the script ends (as Redis's other clients wait for a running script).
//! The inbox is served, so a transaction whose hop waits on this thread's shard still makes
//! progress, and two scripts on two threads calling into each other's shards cannot deadlock.
//!
//! Must not: be called while a shard is borrowed (`with_local_shard`), or with a future that
//! needs the runtime's timers or sockets (it would never wake). Callers first make their
//! transaction runnable on every shard it holds (one hop everywhere), so that no hop they wait on
//! depends on a task of this thread.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

struct Unpark {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Polls `fut` to completion on this thread, serving the thread's inbox while it is pending.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let unpark = Arc::new(Unpark {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(unpark.clone());
    let mut cx = Context::from_waker(&waker);
    // Unconstrained: this runs inside the poll of a connection task, whose tokio coop budget
    // only refills when that task yields to the runtime, which it cannot do while a script runs.
    // A task that used up its budget (a long pipeline of EVALs) would otherwise get Pending from
    // every tokio resource (a hop's oneshot reply), woken at once, forever.
    let mut fut = std::pin::pin!(tokio::task::unconstrained(fut));
    let mut used_inbox = false;
    let out = loop {
        unpark.woken.store(false, Ordering::Release);
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            break v;
        }
        used_inbox = true;
        if crate::engine::run_inbox(&mut cx) > 0 {
            continue;
        }
        if !unpark.woken.load(Ordering::Acquire) {
            // The timeout only bounds a lost wake-up; every sender wakes `waker`.
            std::thread::park_timeout(Duration::from_millis(10));
        }
    };
    if used_inbox {
        // The inbox now holds our waker: let the main loop register its own again.
        crate::engine::wake_main_loop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::block_on;
    use tokio::sync::oneshot;

    #[test]
    fn completes_a_future_woken_from_another_thread() {
        let (tx, rx) = oneshot::channel();
        let h = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(5));
            tx.send(7).unwrap();
        });
        assert_eq!(block_on(rx).unwrap(), 7);
        h.join().unwrap();
    }

    #[test]
    fn a_ready_future_returns_at_once() {
        assert_eq!(block_on(async { 3 }), 3);
    }
}
