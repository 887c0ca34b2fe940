//! The GPU's circuit breaker: after several GPU failures in a row the router stops offering
//! the GPU work for a back-off period, then lets one job through as a probe. A wedged GPU
//! then costs a handful of timeouts per back-off instead of one per job.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// When the router takes a failing GPU out of routing ([`RouterConfig::breaker`]).
///
/// [`RouterConfig::breaker`]: crate::RouterConfig::breaker
///
/// ```
/// use std::time::Duration;
/// let mut config = hybrid_exec::RouterConfig::default();
/// config.breaker.failures = 5;
/// config.breaker.backoff = Duration::from_millis(500);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// GPU failures in a row (timeouts, device errors, bad results) that open the breaker.
    /// 0 is taken as 1.
    pub failures: u32,
    /// How long the first trip keeps the GPU out of routing; each failed probe doubles it.
    pub backoff: Duration,
    /// The longest back-off (taken as `backoff` when smaller).
    pub max_backoff: Duration,
}

impl Default for BreakerConfig {
    /// 3 failures in a row; 2 s, doubling up to 2 min. A failing job costs at most the
    /// backend's timeout (10 s by default), so a wedged GPU costs 3 timeouts, then one probe
    /// every 2 s, 4 s, ... 2 min while every other job runs on the CPU.
    fn default() -> Self {
        Self {
            failures: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
        }
    }
}

/// The breaker's state, for operators ([`Router::stats`](crate::Router::stats)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// The GPU is in routing.
    Closed {
        /// GPU failures in a row so far (fewer than [`BreakerConfig::failures`]).
        failures: u32,
    },
    /// The GPU is out of routing: jobs run on the CPU without touching it.
    Open {
        /// When the next job will probe the GPU (zero: the next job that would use the GPU
        /// probes it).
        retry_in: Duration,
        /// This trip's back-off.
        backoff: Duration,
    },
    /// One job is on the GPU as the probe; every other job runs on the CPU until it ends.
    Probing,
}

impl Default for BreakerState {
    fn default() -> Self {
        BreakerState::Closed { failures: 0 }
    }
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    /// `until`: when the probe is due; `None` for a back-off past what an `Instant` holds.
    Open {
        until: Option<Instant>,
        backoff: Duration,
    },
    Probing {
        backoff: Duration,
    },
}

/// What a failure did to the breaker, for the router's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trip {
    /// It opened the breaker for this long.
    Opened(Duration),
    /// Nothing changed beyond the count of failures in a row.
    No,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    failures: u32,
    backoff: Duration,
    max_backoff: Duration,
    state: Mutex<State>,
    trips: AtomicU64,
}

/// Leave to use the GPU for one job ([`Breaker::admit`]). The job reports its outcome with
/// [`Pass::succeeded`] or [`Pass::failed`]; a probe dropped without either (its job ended
/// for another reason) leaves the probe due again at once.
#[derive(Debug)]
pub(crate) struct Pass<'a> {
    breaker: &'a Breaker,
    probe: bool,
    reported: bool,
}

impl Breaker {
    pub(crate) fn new(config: &BreakerConfig) -> Self {
        Self {
            failures: config.failures.max(1),
            backoff: config.backoff,
            max_backoff: config.max_backoff.max(config.backoff),
            state: Mutex::new(State::Closed { failures: 0 }),
            trips: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a job could use the GPU now (closed, or a probe is due), without claiming
    /// it: for planning.
    pub(crate) fn routable(&self) -> bool {
        match *self.lock() {
            State::Closed { .. } => true,
            State::Open { until, .. } => due(until),
            State::Probing { .. } => false,
        }
    }

    /// Leave for one job to use the GPU: always while closed; while open, only once the
    /// back-off has passed, and then to one job at a time (the probe).
    pub(crate) fn admit(&self) -> Option<Pass<'_>> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until, backoff } if due(until) => {
                *state = State::Probing { backoff };
                true
            }
            State::Open { .. } | State::Probing { .. } => return None,
        };
        Some(Pass {
            breaker: self,
            probe,
            reported: false,
        })
    }

    /// The state now.
    pub(crate) fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { failures } => BreakerState::Closed { failures },
            State::Open { until, backoff } => BreakerState::Open {
                retry_in: until.map_or(Duration::MAX, |u| {
                    u.saturating_duration_since(Instant::now())
                }),
                backoff,
            },
            State::Probing { .. } => BreakerState::Probing,
        }
    }

    /// How many times the breaker has opened.
    pub(crate) fn trips(&self) -> u64 {
        self.trips.load(Ordering::Relaxed)
    }

    fn open(&self, state: &mut State, backoff: Duration) -> Trip {
        *state = State::Open {
            until: Instant::now().checked_add(backoff),
            backoff,
        };
        self.trips.fetch_add(1, Ordering::Relaxed);
        Trip::Opened(backoff)
    }
}

fn due(until: Option<Instant>) -> bool {
    until.is_some_and(|u| Instant::now() >= u)
}

impl Pass<'_> {
    /// Whether this job is the probe of an open breaker.
    pub(crate) fn is_probe(&self) -> bool {
        self.probe
    }

    /// The job's GPU work succeeded: the count of failures in a row restarts, and a probe
    /// closes the breaker. Jobs let through before the breaker opened change nothing
    /// while it is open: only the probe decides.
    pub(crate) fn succeeded(mut self) {
        self.reported = true;
        let mut state = self.breaker.lock();
        match *state {
            State::Closed { .. } => *state = State::Closed { failures: 0 },
            State::Probing { .. } if self.probe => *state = State::Closed { failures: 0 },
            State::Open { .. } | State::Probing { .. } => {}
        }
    }

    /// The job's GPU work failed: one more failure in a row, which may open the breaker; a
    /// failed probe re-opens it with twice the back-off (up to the cap).
    pub(crate) fn failed(mut self) -> Trip {
        self.reported = true;
        let b = self.breaker;
        let mut state = b.lock();
        match *state {
            State::Closed { failures } if failures + 1 >= b.failures => {
                b.open(&mut state, b.backoff)
            }
            State::Closed { failures } => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                Trip::No
            }
            State::Probing { backoff } if self.probe => {
                b.open(&mut state, backoff.saturating_mul(2).min(b.max_backoff))
            }
            State::Open { .. } | State::Probing { .. } => Trip::No,
        }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        if self.probe && !self.reported {
            let mut state = self.breaker.lock();
            if let State::Probing { backoff } = *state {
                // Due again at once: this probe told nothing about the GPU.
                *state = State::Open {
                    until: Some(Instant::now()),
                    backoff,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(failures: u32, backoff_ms: u64, max_ms: u64) -> Breaker {
        Breaker::new(&BreakerConfig {
            failures,
            backoff: Duration::from_millis(backoff_ms),
            max_backoff: Duration::from_millis(max_ms),
        })
    }

    fn backoff(b: &Breaker) -> Duration {
        match b.state() {
            BreakerState::Open { backoff, .. } => backoff,
            other => panic!("not open: {other:?}"),
        }
    }

    #[test]
    fn failures_in_a_row_open_it_and_a_success_between_resets_the_count() {
        let b = breaker(3, 60_000, 60_000);
        for _ in 0..2 {
            assert_eq!(b.admit().unwrap().failed(), Trip::No);
        }
        assert_eq!(b.state(), BreakerState::Closed { failures: 2 });
        b.admit().unwrap().succeeded();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        for _ in 0..2 {
            assert_eq!(b.admit().unwrap().failed(), Trip::No);
        }
        assert_eq!(
            b.admit().unwrap().failed(),
            Trip::Opened(Duration::from_secs(60))
        );
        assert_eq!(b.trips(), 1);
        assert!(!b.routable());
        assert!(b.admit().is_none(), "open: no job gets the GPU");
        assert!(b.admit().is_none());
    }

    #[test]
    fn one_probe_at_a_time_after_the_backoff_which_doubles_up_to_the_cap() {
        // A zero back-off: the probe is due at once.
        let b = breaker(1, 0, 0);
        assert_eq!(b.admit().unwrap().failed(), Trip::Opened(Duration::ZERO));
        assert!(b.routable());
        let probe = b.admit().unwrap();
        assert!(probe.is_probe());
        assert_eq!(b.state(), BreakerState::Probing);
        assert!(!b.routable());
        assert!(b.admit().is_none(), "one probe at a time");
        drop(probe);
        // A failed probe doubles the back-off, up to the cap.
        let b = breaker(1, 1, 3);
        assert_eq!(
            b.admit().unwrap().failed(),
            Trip::Opened(Duration::from_millis(1))
        );
        let mut want = [2, 3, 3].into_iter().map(Duration::from_millis);
        for _ in 0..3 {
            std::thread::sleep(backoff(&b));
            let probe = b.admit().expect("due");
            assert!(probe.is_probe());
            let next = want.next().unwrap();
            assert_eq!(probe.failed(), Trip::Opened(next));
            assert_eq!(backoff(&b), next);
        }
        assert_eq!(b.trips(), 4);
        std::thread::sleep(backoff(&b));
        b.admit().unwrap().succeeded();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        assert!(b.admit().is_some_and(|p| !p.is_probe()));
    }

    #[test]
    fn only_the_probe_decides_and_an_unreported_probe_is_due_again() {
        let b = breaker(2, 0, 0);
        let early = b.admit().unwrap(); // let through while closed, ends late
        b.admit().unwrap().failed();
        b.admit().unwrap().failed();
        let probe = b.admit().unwrap();
        assert!(probe.is_probe());
        early.succeeded();
        assert_eq!(
            b.state(),
            BreakerState::Probing,
            "a late success decides nothing"
        );
        drop(probe);
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        let probe = b.admit().expect("due again at once");
        assert!(probe.is_probe());
        probe.succeeded();
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        assert_eq!(
            Breaker::new(&BreakerConfig {
                failures: 0,
                ..BreakerConfig::default()
            })
            .failures,
            1
        );
    }

    #[test]
    fn a_backoff_past_any_instant_keeps_it_open_without_panicking() {
        let b = Breaker::new(&BreakerConfig {
            failures: 1,
            backoff: Duration::MAX,
            max_backoff: Duration::ZERO, // below the back-off: taken as the back-off
        });
        assert_eq!(b.admit().unwrap().failed(), Trip::Opened(Duration::MAX));
        assert_eq!(
            b.state(),
            BreakerState::Open {
                retry_in: Duration::MAX,
                backoff: Duration::MAX
            }
        );
        assert!(!b.routable());
        assert!(b.admit().is_none());
    }
}
