/// A smallest bucket that is not a non-zero power of two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("smallest size bucket must be a non-zero power of two, got {0}")]
pub struct BadMinBucket(pub usize);

/// The smallest bucket by default: 16Ki elements (seed 000's `MIN_BUCKET`).
pub const DEFAULT_MIN_BUCKET: usize = 16 * 1024;

/// Power-of-two size classes.
///
/// A request for `n` elements falls into the smallest power of two that is `>= n` and
/// `>= min`. Caches and pools keyed by bucket rather than by exact size get reused across
/// batches of similar size, at the cost of at most 2x over-allocation.
///
/// ```
/// use gpu_core::SizeBucket;
/// let buckets = SizeBucket::default();
/// assert_eq!(buckets.bucket(0), Some(16 * 1024));
/// assert_eq!(buckets.bucket(20_000), Some(32 * 1024));
/// assert_eq!(buckets.bucket(65_536), Some(65_536));
/// assert_eq!(buckets.bucket(65_537), Some(131_072));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SizeBucket {
    min: usize,
}

impl Default for SizeBucket {
    fn default() -> Self {
        Self {
            min: DEFAULT_MIN_BUCKET,
        }
    }
}

impl SizeBucket {
    /// Buckets whose smallest class is `min` elements.
    ///
    /// # Errors
    /// [`BadMinBucket`] when `min` is zero or not a power of two.
    pub fn new(min: usize) -> Result<Self, BadMinBucket> {
        if !min.is_power_of_two() {
            return Err(BadMinBucket(min));
        }
        Ok(Self { min })
    }

    /// The smallest bucket.
    pub fn min(&self) -> usize {
        self.min
    }

    /// The bucket holding `n` elements, or `None` when `n` is above the largest power of
    /// two a `usize` can hold.
    pub fn bucket(&self, n: usize) -> Option<usize> {
        n.max(self.min).checked_next_power_of_two()
    }

    /// The index of `n`'s bucket counted from the smallest one (0, 1, 2, ...), handy for
    /// fixed-size statistics tables.
    pub fn index(&self, n: usize) -> Option<u32> {
        self.bucket(n)
            .map(|b| b.trailing_zeros() - self.min.trailing_zeros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two_at_least_min() {
        let b = SizeBucket::default();
        for (n, want) in [
            (0, 16_384),
            (1, 16_384),
            (16_384, 16_384),
            (16_385, 32_768),
            (20_000, 32_768),
            (100_000, 131_072),
            (512_000, 524_288),
        ] {
            assert_eq!(b.bucket(n), Some(want), "n = {n}");
        }
        assert_eq!(b.index(16_384), Some(0));
        assert_eq!(b.index(16_385), Some(1));
        assert_eq!(b.index(1 << 24), Some(10));
    }

    #[test]
    fn configurable_min_and_overflow() {
        let b = SizeBucket::new(64).unwrap();
        assert_eq!(b.bucket(1), Some(64));
        assert_eq!(b.bucket(65), Some(128));
        assert_eq!(b.bucket(usize::MAX), None);
        assert_eq!(
            b.bucket(1 << (usize::BITS - 1)),
            Some(1 << (usize::BITS - 1))
        );
        assert!(SizeBucket::new(0).is_err());
        assert!(SizeBucket::new(48).is_err());
    }
}
