//! How much of a request's time went to the database: every [`super::Store`] call made while a
//! request is being served adds its duration and one to the count of database calls. The HTTP
//! layer reads it into the `Server-Timing` header (`db;dur=…;desc="N calls"`), so budgets and
//! tests can see a page's database work without a profiler. A call made outside a request (the
//! job worker, the CLI) is not counted anywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One request's database work so far.
#[derive(Debug, Default)]
pub struct DbTiming {
    calls: AtomicU32,
    nanos: AtomicU64,
}

impl DbTiming {
    /// Store calls made (each runs one or a few SQL statements in one round of work).
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Time spent in store calls.
    pub fn duration(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

tokio::task_local! {
    static CURRENT: Arc<DbTiming>;
}

/// Runs `f` with a fresh [`DbTiming`] that every store call inside it adds to.
pub async fn measure<F: std::future::Future>(timing: Arc<DbTiming>, f: F) -> F::Output {
    CURRENT.scope(timing, f).await
}

/// Adds one store call that started at `started` to the current request's timing, if any.
pub(crate) fn record(started: Instant) {
    let elapsed = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
    let _ = CURRENT.try_with(|t| {
        t.calls.fetch_add(1, Ordering::Relaxed);
        t.nanos.fetch_add(elapsed, Ordering::Relaxed);
    });
}
