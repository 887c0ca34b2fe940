//! The hybrid executor: runs each Fq job where it finishes first (CPU, GPU or both), falls
//! back to the CPU on any GPU failure, and returns the same bits whatever the route.
//!
//! ```no_run
//! use field_bls12::{Fq, FqProgram};
//! use hybrid_exec::{Router, RouterConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new(&RouterConfig::from_env()?);
//! let mut p = FqProgram::builder();
//! let (a, b) = (p.input(), p.input());
//! let s = p.mul(a, b);
//! let program = p.build(s)?;
//! let (out, route) = router.run(&program, &[&[Fq::ONE], &[Fq::ONE]])?;
//! println!("{out:?} via {route:?}");
//! # Ok(()) }
//! ```

pub mod cost;
pub mod jobs;
pub mod profile;
mod router;

pub use router::{
    Policy, Route, Router, RouterConfig, RouterError, RouterStats, ENV_BACKEND, MIN_GPU_LEN,
    MIN_SPLIT_GAIN,
};
