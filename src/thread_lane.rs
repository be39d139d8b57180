//! A few named threads taking boxed jobs from one queue: the sign-in lane and the hashing threads.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

/// A job for a lane.
pub type Job = Box<dyn FnOnce() + Send>;

/// The queue of a lane's threads.
pub struct Lane(Sender<Job>);

impl Lane {
    /// Starts `threads` threads named `{name}-{i}`, each running `on_start` before its first job;
    /// None if none could start. A job that panics does not take its thread with it.
    pub fn start(name: &str, threads: usize, on_start: fn()) -> Option<Lane> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let started = (0..threads)
            .filter(|i| {
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || {
                        on_start();
                        loop {
                            let job = match rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => return,
                            };
                            let Ok(job) = job else { return };
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                    })
                    .is_ok()
            })
            .count();
        (started > 0).then_some(Lane(tx))
    }

    /// Queues `job`, or gives it back if the lane's threads have stopped.
    pub fn send(&self, job: Job) -> Result<(), Job> {
        self.0.send(job).map_err(|mpsc::SendError(job)| job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_on_the_lanes_named_threads_and_a_panic_spares_the_thread() {
        let lane = Lane::start("steward-test-lane", 1, || {}).expect("a thread starts");
        let (done, answers) = mpsc::channel();
        lane.send(Box::new(|| panic!("a job that fails"))).map_err(|_| ()).expect("queued");
        for _ in 0..2 {
            let done = done.clone();
            let job: Job = Box::new(move || {
                let _ = done.send(std::thread::current().name().map(str::to_string));
            });
            lane.send(job).map_err(|_| ()).expect("queued");
        }
        for _ in 0..2 {
            assert_eq!(answers.recv().expect("an answer"), Some("steward-test-lane-0".to_string()));
        }
    }
}
