//! Password hashing on a few threads of its own rather than tokio's blocking pool.
//!
//! An argon2 run takes 19 MiB, and each thread's allocator arena keeps what it once held. On the
//! blocking pool (up to 512 threads) a burst of 40 logins for distinct names, checked two at a
//! time, still left the process 328 MiB bigger: every run landed on another thread. Here the
//! same threads do every run, so the memory is that of [`HASHING_THREADS`] runs.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// Threads that hash, each holding at most one run's memory.
pub const HASHING_THREADS: usize = 2;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they end when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Hashers {
    jobs: mpsc::Sender<Job>,
}

impl Hashers {
    pub fn start() -> Hashers {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..HASHING_THREADS {
            let queue = Arc::clone(&queue);
            let spawned =
                std::thread::Builder::new().name(format!("osprey-hash-{i}")).spawn(move || {
                    loop {
                        let next = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match next {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Hashers { jobs }
    }

    /// Runs `work` on a hashing thread; `None` when no thread is there to run it.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs.send(job).ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_hashing_threads_and_answers() {
        let hashers = Hashers::start();
        let name = hashers.run(|| std::thread::current().name().map(str::to_owned)).await;
        assert!(name.flatten().is_some_and(|n| n.starts_with("osprey-hash-")));
        let sums = futures::future::join_all((0..10u64).map(|i| hashers.run(move || i * 2))).await;
        assert_eq!(sums.into_iter().flatten().sum::<u64>(), 90);
    }
}
