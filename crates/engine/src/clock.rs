//! The engine's clock: real time, or a manual clock tests can move.
//!
//! Every expiry decision reads `Clock::now_ms`. Tests use `Clock::manual` so TTL behaviour is
//! checked without sleeping. This module must not cache time across hops.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Clock {
    /// 0 = real time; otherwise the manual time in ms since the epoch.
    manual_ms: AtomicU64,
    /// Wakes `sleep_until_ms` waiters when a manual clock moves.
    moved: tokio::sync::Notify,
}

impl Clock {
    pub fn real() -> Clock {
        Clock {
            manual_ms: AtomicU64::new(0),
            moved: tokio::sync::Notify::new(),
        }
    }

    /// A manual clock starting at the current real time.
    pub fn manual() -> Clock {
        Clock {
            manual_ms: AtomicU64::new(real_ms().max(1)),
            moved: tokio::sync::Notify::new(),
        }
    }

    pub fn is_manual(&self) -> bool {
        self.manual_ms.load(Ordering::Relaxed) != 0
    }

    /// Milliseconds since the Unix epoch.
    #[inline]
    pub fn now_ms(&self) -> u64 {
        match self.manual_ms.load(Ordering::Relaxed) {
            0 => real_ms(),
            t => t,
        }
    }

    /// Microseconds since the Unix epoch (manual clocks have ms resolution).
    pub fn now_us(&self) -> u64 {
        match self.manual_ms.load(Ordering::Relaxed) {
            0 => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
            t => t * 1000,
        }
    }

    /// Moves a manual clock forward. No effect on a real clock.
    pub fn advance_ms(&self, ms: u64) {
        if self.is_manual() {
            self.manual_ms.fetch_add(ms, Ordering::Relaxed);
            self.moved.notify_waiters();
        }
    }

    /// Waits until `now_ms() >= deadline_ms`: a timer on a real clock, `advance_ms` on a manual
    /// one (timed server behaviour, e.g. memcached's delayed flush_all, is tested without sleeping).
    pub async fn sleep_until_ms(&self, deadline_ms: u64) {
        loop {
            // Registered before reading the time, so an advance in between is not missed.
            let moved = self.moved.notified();
            let now = self.now_ms();
            if now >= deadline_ms {
                return;
            }
            if self.is_manual() {
                moved.await;
            } else {
                tokio::time::sleep(std::time::Duration::from_millis(deadline_ms - now)).await;
            }
        }
    }
}

pub fn real_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
