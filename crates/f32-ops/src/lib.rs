//! f32 workloads on the Vulkan backend: vector add, dot product, ReLU, sigmoid, GELU,
//! softmax and matrix multiplication, each on the GPU ([`F32Gpu`], GLSL under
//! `shaders/f32/`) and on the CPU's cores ([`cpu`], the reference the GPU is tested
//! against).
//!
//! Every GPU operation is one submission from host slices to a fresh `Vec`: the dot
//! product's and softmax's reductions run as levels of a tree inside it (one workgroup of
//! 256 invocations sums 1024 values per level), softmax as its maximum, its sum of
//! exponentials and its normalization one after the other.
//!
//! Precision (f32 throughout, against exact arithmetic; `u` = 2^-24):
//! - add and ReLU: exact (correctly rounded, as IEEE 754 and Vulkan require of addition).
//! - sigmoid, GELU, softmax: the device's `exp` is only as good as Vulkan promises (3 +
//!   2|x| ULP for GLSL's `exp`, 2.5 ULP for division): [`cpu::activation_bound`] and
//!   [`cpu::softmax_bound`] give the bounds the tests check.
//! - dot product and matrix multiplication: sums in another order than the CPU's, each
//!   within the classic bound `n u sum |a_i b_i|` of the exact sum over `n` terms
//!   ([`cpu::sum_bound`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use f32_ops::{cpu, F32Gpu};
//! use vk_backend::{Context, ContextConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let gpu = F32Gpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
//! let a = vec![1.0f32, -2.0, 3.5];
//! let b = vec![0.5f32, 4.0, -1.0];
//! assert_eq!(gpu.add(&a, &b)?, cpu::add(&a, &b)?);
//! assert_eq!(gpu.relu(&a)?, vec![1.0, 0.0, 3.5]);
//! let c = gpu.matmul(&a, &b, 1, 3, 1)?; // (1 x 3) (3 x 1)
//! assert!((c[0] - (0.5 - 8.0 - 3.5)).abs() < 1e-6);
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]

pub mod cpu;
mod error;
mod gpu;

pub use error::F32Error;
pub use gpu::{F32Gpu, F32Vec};
