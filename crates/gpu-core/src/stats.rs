//! Order statistics of measurements, and the few timing loops every report runs: warm up,
//! then sample; alternate two routines; time one call.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

/// Order statistics of a set of samples: durations ([`TimingStats`]) or measured values
/// such as rates ([`ValueStats`]).
///
/// Percentiles use the nearest-rank method on the sorted samples, so every reported
/// figure is a sample that was actually observed.
///
/// ```
/// use gpu_core::TimingStats;
/// use std::time::Duration;
/// let us = |n| Duration::from_micros(n);
/// let s = TimingStats::from_samples(&[us(30), us(10), us(20), us(40), us(1000)]).unwrap();
/// assert_eq!(s.min, us(10));
/// assert_eq!(s.median, us(30));
/// assert_eq!(s.p90, us(1000));
/// assert_eq!(s.max, us(1000));
/// assert_eq!(s.samples, 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleStats<T> {
    /// Smallest sample.
    pub min: T,
    /// 50th percentile.
    pub median: T,
    /// 90th percentile.
    pub p90: T,
    /// Largest sample.
    pub max: T,
    /// How many samples.
    pub samples: usize,
}

/// Order statistics of timings.
pub type TimingStats = SampleStats<Duration>;

/// Order statistics of measured values (GB/s, ns per element, ...).
pub type ValueStats = SampleStats<f64>;

impl<T: Copy> SampleStats<T> {
    fn sorted_by(samples: &[T], cmp: impl FnMut(&T, &T) -> Ordering) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable_by(cmp);
        Some(Self {
            min: sorted[0],
            median: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            max: sorted[sorted.len() - 1],
            samples: sorted.len(),
        })
    }
}

impl TimingStats {
    /// Statistics of `samples`, or `None` when there are none.
    pub fn from_samples(samples: &[Duration]) -> Option<Self> {
        Self::sorted_by(samples, Ord::cmp)
    }

    /// Times `samples` calls of `f` (at least one) after `warmup` untimed ones. Each call's
    /// result is dropped inside its timing, as a caller's would be.
    ///
    /// # Errors
    /// The first error `f` returns.
    ///
    /// ```
    /// use gpu_core::TimingStats;
    /// let s = TimingStats::measure(1, 5, || Ok::<_, ()>(vec![0u8; 1024]))?;
    /// assert_eq!(s.samples, 5);
    /// # Ok::<(), ()>(())
    /// ```
    pub fn measure<T, E>(
        warmup: usize,
        samples: usize,
        mut f: impl FnMut() -> Result<T, E>,
    ) -> Result<Self, E> {
        let times = sample(warmup, samples.max(1), || time(&mut f).map(|(_, t)| t))?;
        Ok(Self::from_samples(&times).expect("at least one sample"))
    }
}

impl ValueStats {
    /// Statistics of `values`, or `None` when there are none. NaN sorts above every number
    /// ([`f64::total_cmp`]), so a failed measurement shows as the maximum, not the median.
    pub fn from_values(values: &[f64]) -> Option<Self> {
        Self::sorted_by(values, f64::total_cmp)
    }
}

/// The median of `values` ([`ValueStats`]'s), or NaN when there are none: for a figure that
/// is printed whatever happened, where NaN says it could not be measured.
pub fn median(values: &[f64]) -> f64 {
    ValueStats::from_values(values).map_or(f64::NAN, |s| s.median)
}

/// The `pct`-th percentile of non-empty sorted `v` by nearest rank: the smallest sample
/// with at least `pct`% of the samples at or below it.
fn nearest_rank<T: Copy>(v: &[T], pct: usize) -> T {
    let rank = (pct * v.len()).div_ceil(100).max(1);
    v[rank - 1]
}

/// Calls `f` `warmup` times, then `samples` times, and returns what the latter calls
/// returned: values the caller measures itself (a GPU timestamp, a rate, a time).
///
/// # Errors
/// The first error `f` returns.
pub fn sample<T, E>(
    warmup: usize,
    samples: usize,
    mut f: impl FnMut() -> Result<T, E>,
) -> Result<Vec<T>, E> {
    for _ in 0..warmup {
        f()?;
    }
    (0..samples).map(|_| f()).collect()
}

/// [`sample`] for two routines at once, alternately (A B, then B A, ...), so that drift in
/// the machine's state (clock, other load, caches) falls on both alike; returns (A's, B's).
///
/// # Errors
/// The first error either routine returns.
pub fn sample_pair<T, E>(
    warmup: usize,
    samples: usize,
    mut a: impl FnMut() -> Result<T, E>,
    mut b: impl FnMut() -> Result<T, E>,
) -> Result<(Vec<T>, Vec<T>), E> {
    for _ in 0..warmup {
        a()?;
        b()?;
    }
    let (mut va, mut vb) = (Vec::with_capacity(samples), Vec::with_capacity(samples));
    for i in 0..samples {
        if i % 2 == 0 {
            va.push(a()?);
            vb.push(b()?);
        } else {
            vb.push(b()?);
            va.push(a()?);
        }
    }
    Ok((va, vb))
}

/// Calls `f` once: its result and how long it took.
///
/// # Errors
/// The error `f` returns.
pub fn time<T, E>(f: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let start = Instant::now();
    let out = f()?;
    Ok((out, start.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&x| Duration::from_millis(x)).collect()
    }

    #[test]
    fn empty_has_no_stats() {
        assert_eq!(TimingStats::from_samples(&[]), None);
        assert_eq!(ValueStats::from_values(&[]), None);
    }

    #[test]
    fn single_sample() {
        let s = TimingStats::from_samples(&ms(&[7])).unwrap();
        assert_eq!(
            (s.min, s.median, s.p90, s.max),
            (ms(&[7])[0], ms(&[7])[0], ms(&[7])[0], ms(&[7])[0])
        );
    }

    #[test]
    fn ten_samples_unsorted() {
        let s = TimingStats::from_samples(&ms(&[10, 1, 9, 2, 8, 3, 7, 4, 6, 5])).unwrap();
        assert_eq!(s.min, Duration::from_millis(1));
        assert_eq!(s.median, Duration::from_millis(5));
        assert_eq!(s.p90, Duration::from_millis(9));
        assert_eq!(s.max, Duration::from_millis(10));
        assert_eq!(s.samples, 10);
    }

    #[test]
    fn values_rank_like_timings_and_nan_sorts_last() {
        let s = ValueStats::from_values(&[3.0, f64::NAN, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median), (1.0, 2.0));
        assert!(s.p90.is_nan() && s.max.is_nan());
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!(median(&[]).is_nan());
        let s = ValueStats::from_values(&[10.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 5.0]);
        assert_eq!(s.map(|s| (s.median, s.p90)), Some((5.0, 9.0)));
    }

    #[test]
    fn sampling_warms_up_then_keeps_only_the_samples() {
        let mut calls = 0;
        let v = sample(2, 3, || {
            calls += 1;
            Ok::<_, ()>(calls)
        });
        assert_eq!(v, Ok(vec![3, 4, 5]));
        assert_eq!(sample(0, 2, || Err::<u8, _>("no")), Err("no"));
    }

    #[test]
    fn pairs_alternate_their_order() {
        let order = std::cell::RefCell::new(Vec::new());
        let (a, b) = sample_pair(
            1,
            3,
            || {
                order.borrow_mut().push('a');
                Ok::<_, ()>(())
            },
            || {
                order.borrow_mut().push('b');
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((a.len(), b.len()), (3, 3));
        // Warm-up, then A B, B A, A B.
        assert_eq!(String::from_iter(order.into_inner()), "ababbaab");
    }

    #[test]
    fn measure_takes_at_least_one_sample() {
        let mut calls = 0;
        let s = TimingStats::measure(1, 0, || {
            calls += 1;
            Ok::<_, ()>(())
        });
        assert_eq!(s.map(|s| s.samples), Ok(1));
        assert_eq!(calls, 2);
    }
}
