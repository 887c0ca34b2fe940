//! The EIP-2537 precompiles for BLS12-381 on the CPU: exact to the EIP (status Final),
//! with its gas schedule and typed errors that say what is wrong and where.
//!
//! - [`call`]: runs a [`Precompile`] on an input, returning its output bytes or a
//!   [`PrecompileError`] (never panicking).
//! - [`gas()`]: its price for an input length, by the EIP's schedule; the constants and
//!   MSM discount tables are in [`mod@gas`].
//! - [`Precompile`]: the seven precompiles, their addresses (0x0b to 0x11), names and
//!   input lengths.
//! - [`decode_g1_msm`], [`decode_g2_msm`], [`encode_g1`], [`encode_g2`]: the MSM
//!   precompiles' checks and encodings without the MSM itself, for engines that run many
//!   calls' MSMs together (hybrid-exec's block engine).
//!
//! The curve arithmetic is [`curve_bls12`]'s, through blst: on-curve and subgroup checks,
//! Pippenger MSMs and pairings on rayon's threads, the SSWU maps.
//!
//! ```
//! use eip2537::{call, gas, Group, InputPoint, Precompile, PrecompileError};
//!
//! // G1ADD of the generator and the point at infinity (128 zero bytes): the generator.
//! let g = curve_bls12::G1Affine::generator().to_eip2537();
//! let input = [g.as_slice(), &[0u8; 128]].concat();
//! assert_eq!(gas(Precompile::G1Add, input.len())?, 375);
//! assert_eq!(call(Precompile::G1Add, &input)?, g);
//!
//! // G1MSM: pairs of a point and a 32-byte big-endian scalar; [2]G + [3]G = [5]G.
//! let pair = |k: u8| {
//!     let mut scalar = [0u8; 32];
//!     scalar[31] = k;
//!     [g.as_slice(), &scalar].concat()
//! };
//! let mut msm_input = [pair(2), pair(3)].concat();
//! assert_eq!(gas(Precompile::G1Msm, msm_input.len())?, 2 * 12000 * 949 / 1000);
//! assert_eq!(call(Precompile::G1Msm, &msm_input)?, call(Precompile::G1Msm, &pair(5))?);
//!
//! // Errors say what and where: a non-zero top byte in the second pair's x.
//! msm_input[160 + 3] = 1;
//! let err = call(Precompile::G1Msm, &msm_input).unwrap_err();
//! assert_eq!(
//!     err,
//!     PrecompileError::FieldElementTopBytes {
//!         point: Some(InputPoint { group: Group::G1, index: 1 }),
//!         offset: 163,
//!     }
//! );
//! assert_eq!(err.to_string(), "non-zero top byte at offset 163 of a field element of G1 point #1");
//!
//! // Empty MSM inputs are errors (their gas is 0, as the EIP says).
//! assert_eq!(gas(Precompile::G1Msm, 0)?, 0);
//! assert!(matches!(
//!     call(Precompile::G1Msm, &[]),
//!     Err(PrecompileError::InvalidInputLength { got: 0, .. })
//! ));
//! # Ok::<(), PrecompileError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod call;
mod error;
pub mod gas;
mod precompile;

pub use call::{
    call, decode_g1_msm, decode_g1_msm_unchecked, decode_g2_msm, decode_g2_msm_unchecked,
    encode_g1, encode_g2,
};
pub use error::{Group, InputPoint, PrecompileError};
pub use gas::gas;
pub use precompile::{
    InputLength, Precompile, FP2_BYTES, FP_BYTES, G1_MSM_PAIR_BYTES, G2_MSM_PAIR_BYTES,
    PAIRING_OUTPUT_BYTES, PAIRING_PAIR_BYTES,
};
