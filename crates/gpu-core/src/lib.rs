//! Backend-neutral building blocks shared by every compute backend.
//!
//! Nothing here knows about Vulkan or about a particular field: the Vulkan backend
//! (`vk-backend`), the field library (`field-bls12`), the router (`hybrid-exec`) and the
//! development tools all build on these types.
//!
//! - [`SizeBucket`]: power-of-two size classes used to key caches and pools.
//! - [`TimingStats`] and [`ValueStats`]: min / median / p90 / max over samples ([`median`]
//!   alone); [`sample`], [`sample_pair`] and [`time`]: the timing loops reports run.

#![forbid(unsafe_code)]

mod bucket;
mod stats;

pub use bucket::{BadMinBucket, SizeBucket, DEFAULT_MIN_BUCKET};
pub use stats::{median, sample, sample_pair, time, SampleStats, TimingStats, ValueStats};
