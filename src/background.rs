//! Work that runs beside the server on threads of its own (the mail delivery, the housekeeping):
//! each worker sleeps between rounds, can be woken early, and is stopped and joined when the
//! server stops, so that no round is cut off half-way by the process exiting.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    stopping: bool,
    /// Set by `Waker::wake`, cleared when the worker wakes up.
    woken: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // a worker that panicked while holding the lock left nothing half-made in two booleans
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What a worker holds: how it sleeps between rounds and learns that it should stop.
pub struct Ticker {
    shared: Arc<Shared>,
}

impl Ticker {
    /// Sleeps up to `pause`, less when woken or stopped: true when the worker should go on.
    pub fn sleep(&self, pause: Duration) -> bool {
        let deadline = Instant::now() + pause;
        let mut state = self.shared.lock();
        loop {
            if state.stopping {
                return false;
            }
            if state.woken {
                state.woken = false;
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            state = match self.shared.changed.wait_timeout(state, deadline - now) {
                Ok((s, _)) => s,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Whether the server is stopping: a worker checks it between the items of a round.
    pub fn stopping(&self) -> bool {
        self.shared.lock().stopping
    }
}

/// Wakes one worker before its pause is over (new work has arrived). Cheap to clone and call.
#[derive(Clone)]
pub struct Waker {
    shared: Arc<Shared>,
}

impl Waker {
    pub fn wake(&self) {
        self.shared.lock().woken = true;
        self.shared.changed.notify_all();
    }

    /// A waker that wakes nobody, for code run without workers (a command of the CLI).
    pub fn none() -> Waker {
        Waker { shared: Arc::new(Shared::default()) }
    }
}

/// The workers of one server.
#[derive(Default)]
pub struct Background {
    workers: Vec<(Arc<Shared>, JoinHandle<()>)>,
}

impl Background {
    pub fn new() -> Background {
        Background::default()
    }

    /// Starts `work` on a thread named `name`; it runs until it returns (it should return once
    /// `Ticker::sleep` answers false). Returns the waker of that worker.
    pub fn spawn(&mut self, name: &str, work: impl FnOnce(Ticker) + Send + 'static) -> std::io::Result<Waker> {
        let shared = Arc::new(Shared::default());
        let ticker = Ticker { shared: shared.clone() };
        let handle = std::thread::Builder::new().name(format!("steward-{name}")).spawn(move || work(ticker))?;
        self.workers.push((shared.clone(), handle));
        Ok(Waker { shared })
    }

    fn tell_to_stop(&self) {
        for (shared, _) in &self.workers {
            shared.lock().stopping = true;
            shared.changed.notify_all();
        }
    }

    /// Tells every worker to stop and waits until each has finished its round.
    pub fn shutdown(mut self) {
        self.tell_to_stop();
        for (_, handle) in std::mem::take(&mut self.workers) {
            if handle.join().is_err() {
                tracing::error!("a background worker panicked");
            }
        }
    }
}

/// Dropped without `shutdown` (a test that failed half-way): the workers are told to stop, but
/// nobody waits for them.
impl Drop for Background {
    fn drop(&mut self) {
        self.tell_to_stop();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn a_worker_runs_its_rounds_is_woken_early_and_stops_when_told() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let mut background = Background::new();
        let counted = rounds.clone();
        let waker = background
            .spawn("test", move |ticker| {
                while ticker.sleep(Duration::from_secs(3600)) {
                    counted.fetch_add(1, Ordering::SeqCst);
                }
            })
            .expect("thread");
        waker.wake();
        let deadline = Instant::now() + Duration::from_secs(10);
        while rounds.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the worker was not woken");
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        background.shutdown();
        assert!(started.elapsed() < Duration::from_secs(5), "shutdown waited for the hour-long pause");
        assert_eq!(rounds.load(Ordering::SeqCst), 1);
    }
}
