use std::time::Duration;

/// Order statistics of a set of timing samples.
///
/// Percentiles use the nearest-rank method on the sorted samples, so every reported
/// figure is a time that was actually observed.
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
pub struct TimingStats {
    /// Fastest sample.
    pub min: Duration,
    /// 50th percentile.
    pub median: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// Slowest sample.
    pub max: Duration,
    /// How many samples.
    pub samples: usize,
}

impl TimingStats {
    /// Statistics of `samples`, or `None` when there are none.
    pub fn from_samples(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        Some(Self {
            min: sorted[0],
            median: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            max: sorted[sorted.len() - 1],
            samples: sorted.len(),
        })
    }
}

/// The `pct`-th percentile of non-empty sorted `v` by nearest rank: the smallest sample
/// with at least `pct`% of the samples at or below it.
fn nearest_rank(v: &[Duration], pct: usize) -> Duration {
    let rank = (pct * v.len()).div_ceil(100).max(1);
    v[rank - 1]
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
}
