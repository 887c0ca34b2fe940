//! Backend-neutral building blocks shared by every compute backend.
//!
//! Nothing here knows about Vulkan or about a particular field: the Vulkan backend
//! (`vk-backend`), the field library (`field-bls12`) and the router (`hybrid-exec`) all
//! build on these types.
//!
//! - [`SizeBucket`]: power-of-two size classes used to key caches and pools.
//! - [`TimingStats`]: min / median / p90 / max over a set of timing samples.

mod bucket;
mod stats;

pub use bucket::{BadMinBucket, SizeBucket, DEFAULT_MIN_BUCKET};
pub use stats::TimingStats;
