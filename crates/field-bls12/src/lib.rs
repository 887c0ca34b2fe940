//! BLS12-381 base-field (Fq) batch arithmetic, bit-identical on the CPU and on the GPU.
//!
//! - [`Fq`]: one field element, 6 little-endian u64 limbs, always canonical (`< p`).
//! - [`cpu`]: batch operations on all cores, through blst's assembly (`blst_fp_*`).
//! - [`FqGpu`]: the same batch operations on a Vulkan device (GLSL kernels under
//!   `shaders/`, compiled to SPIR-V by `cargo xtask shaders` and embedded here).
//!
//! ```
//! use field_bls12::{cpu, Fq};
//! let p_minus_1 = Fq::from_be_bytes(&Fq::MODULUS_MINUS_ONE_BE)?;
//! let sum = cpu::add(&[p_minus_1], &[Fq::ONE])?;
//! assert_eq!(sum, vec![Fq::ZERO]);
//! # Ok::<(), field_bls12::FieldError>(())
//! ```

// `unsafe` only in the audited modules marked below and in `gpu::embedded_module`; the
// compiler rejects it anywhere else.
#![deny(unsafe_code)]

#[allow(unsafe_code)] // blst's FFI
mod blst_ops;
pub mod cpu;
mod error;
mod ff_impl;
mod fq;
mod fq2;
mod gpu;
#[allow(unsafe_code)] // AVX-512 IFMA intrinsics
mod ifma;
mod ops;
pub mod portable;
#[allow(unsafe_code)] // raw memory: huge-page advice, set_len, streaming stores, host-vector view
mod raw;

pub use error::FieldError;
pub use ff;
pub use ff_impl::FqRepr;
pub use fq::{Fq, FqMont, FQ_BYTES, FQ_LIMBS};
pub use fq2::Fq2;
mod host_vec;
mod program;
pub use host_vec::HostFqVec;
mod vec;
pub use gpu::{FqGpu, FqOp, MAX_WORKGROUP_SIZE};
pub use program::{
    kernels_fingerprint, FqProgram, FqProgramBuilder, Value, MAX_PROGRAM_INPUTS,
    MAX_PROGRAM_REGISTERS, MAX_PROGRAM_STEPS,
};
pub use subtle;
pub use vec::FqVec;
