//! The hybrid executor: runs each Fq job and each multi-scalar multiplication where it
//! finishes first (CPU, GPU or both), falls back to the CPU on any GPU failure, keeps a
//! failing GPU out of routing for a while, and returns the same result whatever the route.
//!
//! [`Router`] is the front door: single operations ([`Router::add`], [`Router::mul`], ...)
//! and fused programs ([`Router::run`]) over slices, programs over host vectors
//! ([`Router::run_host`]), G1 and G2 MSMs ([`Router::msm_g1`], [`Router::msm_g2`], and
//! batches of them), and the EIP-2537 precompiles, one call ([`Router::precompile`]) or a
//! block of calls whose MSMs run together ([`Router::execute_block`]). The library logs
//! through `tracing` (GPU failures, the breaker, calibration profiles) and never prints;
//! install a subscriber to see it.
//!
//! ```
//! use field_bls12::{Fq, FqProgram};
//! use hybrid_exec::{Router, RouterConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new(&RouterConfig::default());
//! let (a, b) = (vec![Fq::from(3u64); 1000], vec![Fq::from(4u64); 1000]);
//! assert_eq!(router.mul(&a, &b)?, vec![Fq::from(12u64); 1000]);
//! // a * b + a, fused into one pass (one kernel on the GPU).
//! let mut p = FqProgram::builder();
//! let (x, y) = (p.input(), p.input());
//! let xy = p.mul(x, y);
//! let out = p.add(xy, x);
//! let program = p.build(out)?;
//! let (out, route) = router.run(&program, &[&a, &b])?;
//! assert_eq!(out, vec![Fq::from(15u64); 1000]);
//! println!("via {route:?}; GPU: {}", router.gpu_status());
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod breaker;
mod cost;
mod group;
mod group_vec;
pub mod jobs;
mod precompiles;
mod profile;
mod router;

pub use breaker::{BreakerConfig, BreakerState};
pub use group::{DeviceGroup, SplitConfig};
pub use group_vec::{GroupFqVec, GroupHostVec};
pub use profile::{ProfileError, ENV_PROFILE};
pub use router::{
    F32Job, F32Output, GpuStatus, LoadFactors, MsmGroup, Policy, Route, Router, RouterConfig,
    RouterError, RouterStats, ENV_BACKEND,
};

#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
