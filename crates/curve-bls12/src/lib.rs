//! BLS12-381 G1 and G2 on the CPU, through blst.
//!
//! - [`G1Affine`], [`G1Projective`], [`G2Affine`], [`G2Projective`]: points, always on the
//!   curve; addition, doubling, negation, scalar multiplication by a full 256-bit
//!   [`Scalar`] (not reduced mod r), subgroup checks, conversions to and from blst's types.
//! - Encodings (methods on the affine types): ZCash compressed and uncompressed, and
//!   EIP-2537's padded format with an optional subgroup check ([`SubgroupCheck`]). Decoders
//!   never panic and say what is wrong and where ([`CurveError`]).
//! - [`batch`]: element-wise operations and checks over slices, on all cores.
//! - [`msm_g1`], [`msm_g2`]: multi-scalar multiplication (blst's Pippenger, on rayon's threads).
//! - [`pairing_check`]: whether a product of pairings is 1 (Miller loops on rayon's
//!   threads, one final exponentiation).
//! - [`map_fp_to_g1`], [`map_fp2_to_g2`]: EIP-2537's (RFC 9380's) maps of field elements to
//!   subgroup points (SSWU, isogeny, cofactor clearing).
//! - [`G1Gpu`], [`G2Gpu`]: batch addition, doubling, negation and scalar multiplication on a
//!   Vulkan device, with complete formulas, equal to the CPU's results; and the GPU half of
//!   [`batch`]'s conversions and checks: `to_affine`, `from_xy` (the curve equation) and
//!   `check_subgroup` (blst's endomorphism test), with the CPU's results and errors.
//!
//! ```
//! use curve_bls12::{msm_g1, G1Affine, Scalar, SubgroupCheck};
//!
//! // An EIP-2537 G1 input: 128 bytes, x and y each padded to 64 bytes.
//! let input = G1Affine::generator().to_eip2537();
//! let p = G1Affine::from_eip2537(&input, SubgroupCheck::Yes)?;
//!
//! // [2]P + [3]P = [5]P.
//! let sum = msm_g1(&[p, p], &[Scalar::from_u64(2), Scalar::from_u64(3)])?;
//! let expected = p.to_projective().mul(&Scalar::from_u64(5));
//! assert_eq!(sum, expected);
//!
//! let output: [u8; 128] = sum.to_affine().to_eip2537();
//! assert_eq!(G1Affine::from_eip2537(&output, SubgroupCheck::No)?, expected.to_affine());
//! # Ok::<(), curve_bls12::CurveError>(())
//! ```

// `unsafe` only in the audited `ffi` module; the compiler rejects it anywhere else.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
mod point;

pub mod batch;
mod encoding;
mod error;
#[allow(unsafe_code)] // blst's FFI
mod ffi;
mod g1;
mod g2;
mod gpu;
mod gpu_msm;
mod map;
mod msm;
mod pairing;
mod scalar;

pub use encoding::{
    SubgroupCheck, EIP2537_FQ_BYTES, G1_COMPRESSED_BYTES, G1_EIP2537_BYTES, G1_UNCOMPRESSED_BYTES,
    G2_COMPRESSED_BYTES, G2_EIP2537_BYTES, G2_UNCOMPRESSED_BYTES,
};
pub use error::{CurveError, FlagProblem};
pub use g1::{G1Affine, G1Projective};
pub use g2::{G2Affine, G2Projective};
pub use gpu::{kernels_fingerprint, G1Gpu, G2Gpu, GpuBases, GpuError};
pub use gpu_msm::{last_msm_phases, window_bits as msm_window_bits, MsmTuning};
pub use map::{map_fp2_to_g2, map_fp_to_g1};
pub use msm::{msm_g1, msm_g2};
pub use pairing::pairing_check;
pub use scalar::{Scalar, SCALAR_BYTES};
