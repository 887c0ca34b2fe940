//! Backend-neutral building blocks shared by every compute backend.
//!
//! Nothing here knows about Vulkan or about a particular field: the Vulkan backend
//! (`vk-backend`), the field library (`field-bls12`) and the router (`hybrid-exec`) all
//! build on these types.
//!
//! - [`SizeBucket`]: power-of-two size classes used to key caches and pools.
//! - [`BatchBackend`]: the trait a backend implements to run a batch of element-wise work.
//! - [`BackendError`]: the error every backend reports through that trait.
//! - [`TimingStats`]: min / median / p90 / max over a set of timing samples.

mod backend;
mod bucket;
mod error;
mod stats;

pub use backend::{BackendKind, BatchBackend, BinaryOp};
pub use bucket::{SizeBucket, DEFAULT_MIN_BUCKET};
pub use error::BackendError;
pub use stats::TimingStats;
