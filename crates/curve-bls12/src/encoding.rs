//! Byte encodings of G1 and G2 points.
//!
//! - ZCash (the IETF BLS / Ethereum consensus format): compressed x only (48 B G1, 96 B G2)
//!   or uncompressed x and y (96 B, 192 B), big-endian, Fq2 elements as `c1 || c0`, and three
//!   flag bits on top of byte 0: `0x80` compressed, `0x40` infinity, `0x20` sign (y is the
//!   larger of `y`, `-y`). Decoders check everything, the subgroup included; infinity must be
//!   exactly `0xc0 00..` (compressed) or `0x40 00..` (uncompressed).
//! - EIP-2537 (the Ethereum precompiles): uncompressed, each Fq element as 64 big-endian bytes
//!   whose top 16 are zero padding, Fq2 elements as `c0 || c1`, all zero for infinity, no
//!   flags. The subgroup check is the caller's choice ([`SubgroupCheck`]): EIP-2537 wants it
//!   for MSM and pairing inputs, not for G1ADD/G2ADD.
//!
//! Byte offsets in errors are offsets in the decoder's input.

use field_bls12::{Fq, Fq2, FQ_BYTES};

use crate::ffi;
use crate::{CurveError, FlagProblem, G1Affine, G2Affine};

/// Bytes of a G1 point in ZCash compressed form.
pub const G1_COMPRESSED_BYTES: usize = ffi::p1::COMPRESSED_BYTES;
/// Bytes of a G1 point in ZCash uncompressed form.
pub const G1_UNCOMPRESSED_BYTES: usize = 2 * G1_COMPRESSED_BYTES;
/// Bytes of a G2 point in ZCash compressed form.
pub const G2_COMPRESSED_BYTES: usize = ffi::p2::COMPRESSED_BYTES;
/// Bytes of a G2 point in ZCash uncompressed form.
pub const G2_UNCOMPRESSED_BYTES: usize = 2 * G2_COMPRESSED_BYTES;
/// Bytes of an Fq element in EIP-2537 form (16 zero bytes, then 48 big-endian bytes).
pub const EIP2537_FQ_BYTES: usize = 64;
/// Bytes of a G1 point in EIP-2537 form: x, y.
pub const G1_EIP2537_BYTES: usize = 2 * EIP2537_FQ_BYTES;
/// Bytes of a G2 point in EIP-2537 form: x.c0, x.c1, y.c0, y.c1.
pub const G2_EIP2537_BYTES: usize = 4 * EIP2537_FQ_BYTES;

const FLAG_COMPRESSED: u8 = 0x80;
const FLAG_INFINITY: u8 = 0x40;
const FLAG_SIGN: u8 = 0x20;
const FLAG_MASK: u8 = FLAG_COMPRESSED | FLAG_INFINITY | FLAG_SIGN;
const EIP2537_PADDING: usize = EIP2537_FQ_BYTES - FQ_BYTES;

/// Whether an EIP-2537 decoder checks that the point is in the prime-order subgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubgroupCheck {
    /// Check (EIP-2537 MSM and pairing inputs).
    Yes,
    /// Only check the curve equation (EIP-2537 G1ADD / G2ADD inputs).
    No,
}

fn check_length(bytes: &[u8], expected: usize) -> Result<(), CurveError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(CurveError::BadLength {
            expected,
            got: bytes.len(),
        })
    }
}

/// The Fq element in the 48 big-endian bytes at `offset`, with the flag bits of its first
/// byte cleared when `mask_flags`.
fn read_fq(bytes: &[u8], offset: usize, mask_flags: bool) -> Result<Fq, CurveError> {
    let mut be = [0u8; FQ_BYTES];
    be.copy_from_slice(&bytes[offset..offset + FQ_BYTES]);
    if mask_flags {
        be[0] &= !FLAG_MASK;
    }
    Fq::from_be_bytes(&be).map_err(|_| CurveError::FieldElementNotCanonical { offset })
}

/// The offset of the first non-zero byte of `bytes[range]`, if any.
fn first_non_zero(bytes: &[u8], start: usize, end: usize) -> Option<usize> {
    bytes[start..end]
        .iter()
        .position(|&b| b != 0)
        .map(|i| start + i)
}

/// Checks a ZCash encoding's flags; returns whether it flags infinity (after checking that
/// every other bit is zero).
fn check_zcash_flags(bytes: &[u8], compressed: bool) -> Result<bool, CurveError> {
    let flags = bytes[0] & FLAG_MASK;
    let problem = if compressed && flags & FLAG_COMPRESSED == 0 {
        Some(FlagProblem::CompressionBitClear)
    } else if !compressed && flags & FLAG_COMPRESSED != 0 {
        Some(FlagProblem::CompressionBitSet)
    } else if !compressed && flags & FLAG_SIGN != 0 {
        Some(FlagProblem::SignBitInUncompressed)
    } else if flags & FLAG_INFINITY != 0 && flags & FLAG_SIGN != 0 {
        Some(FlagProblem::SignBitWithInfinity)
    } else {
        None
    };
    if let Some(problem) = problem {
        return Err(CurveError::BadFlags { flags, problem });
    }
    if flags & FLAG_INFINITY == 0 {
        return Ok(false);
    }
    if bytes[0] & !FLAG_MASK != 0 {
        return Err(CurveError::InfinityWithNonZeroBytes { offset: 0 });
    }
    match first_non_zero(bytes, 1, bytes.len()) {
        Some(offset) => Err(CurveError::InfinityWithNonZeroBytes { offset }),
        None => Ok(true),
    }
}

/// The Fq elements of an EIP-2537 encoding of `N` elements, or `None` for all zeros
/// (infinity). Checks the length, the padding and that every element is canonical.
fn read_eip2537<const N: usize>(bytes: &[u8]) -> Result<Option<[Fq; N]>, CurveError> {
    check_length(bytes, N * EIP2537_FQ_BYTES)?;
    let mut out = [Fq::ZERO; N];
    for (k, v) in out.iter_mut().enumerate() {
        let start = k * EIP2537_FQ_BYTES;
        if let Some(offset) = first_non_zero(bytes, start, start + EIP2537_PADDING) {
            return Err(CurveError::NonZeroPadding { offset });
        }
        *v = read_fq(bytes, start + EIP2537_PADDING, false)?;
    }
    Ok(if out.iter().all(|v| *v == Fq::ZERO) {
        None
    } else {
        Some(out)
    })
}

fn write_eip2537(out: &mut [u8], elements: &[Fq]) {
    for (chunk, v) in out.chunks_exact_mut(EIP2537_FQ_BYTES).zip(elements) {
        chunk[EIP2537_PADDING..].copy_from_slice(&v.to_be_bytes());
    }
}

fn subgroup(check: SubgroupCheck, in_subgroup: impl FnOnce() -> bool) -> Result<(), CurveError> {
    if check == SubgroupCheck::No || in_subgroup() {
        Ok(())
    } else {
        Err(CurveError::NotInSubgroup { index: None })
    }
}

impl G1Affine {
    /// The ZCash compressed encoding (48 bytes).
    pub fn to_compressed(&self) -> [u8; G1_COMPRESSED_BYTES] {
        ffi::p1::compress(&self.0)
    }

    /// The ZCash uncompressed encoding (96 bytes).
    pub fn to_uncompressed(&self) -> [u8; G1_UNCOMPRESSED_BYTES] {
        ffi::p1::serialize(&self.0)
    }

    /// The EIP-2537 encoding (128 bytes: x, y; all zero for infinity).
    pub fn to_eip2537(&self) -> [u8; G1_EIP2537_BYTES] {
        let mut out = [0u8; G1_EIP2537_BYTES];
        if !self.is_identity() {
            write_eip2537(&mut out, &[self.x(), self.y()]);
        }
        out
    }

    /// Decodes a ZCash compressed encoding, checking length, flags, that x is canonical,
    /// that it is on the curve and in the subgroup.
    ///
    /// # Errors
    /// [`CurveError::BadLength`], [`CurveError::BadFlags`],
    /// [`CurveError::InfinityWithNonZeroBytes`], [`CurveError::FieldElementNotCanonical`],
    /// [`CurveError::NotOnCurve`] (no y for this x), [`CurveError::NotInSubgroup`].
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, CurveError> {
        check_length(bytes, G1_COMPRESSED_BYTES)?;
        if check_zcash_flags(bytes, true)? {
            return Ok(Self::identity());
        }
        read_fq(bytes, 0, true)?;
        let array: &[u8; G1_COMPRESSED_BYTES] =
            bytes.try_into().expect("the length was checked above");
        // Flags and x are checked above, so blst's only failure left is "no square root".
        let point =
            ffi::p1::uncompress(array).map_err(|_| CurveError::NotOnCurve { index: None })?;
        subgroup(SubgroupCheck::Yes, || ffi::p1::affine_in_group(&point))?;
        Ok(Self(point))
    }

    /// Decodes a ZCash uncompressed encoding, checking length, flags, canonical
    /// coordinates, the curve equation and the subgroup.
    ///
    /// # Errors
    /// As [`Self::from_compressed`].
    pub fn from_uncompressed(bytes: &[u8]) -> Result<Self, CurveError> {
        check_length(bytes, G1_UNCOMPRESSED_BYTES)?;
        if check_zcash_flags(bytes, false)? {
            return Ok(Self::identity());
        }
        let x = read_fq(bytes, 0, true)?;
        let y = read_fq(bytes, FQ_BYTES, false)?;
        let point = Self::from_xy(x, y)?;
        subgroup(SubgroupCheck::Yes, || point.is_in_subgroup())?;
        Ok(point)
    }

    /// Decodes an EIP-2537 encoding (128 bytes, all zero for infinity), checking length,
    /// zero padding, canonical coordinates, the curve equation and, if asked, the subgroup.
    ///
    /// # Errors
    /// [`CurveError::BadLength`], [`CurveError::NonZeroPadding`],
    /// [`CurveError::FieldElementNotCanonical`], [`CurveError::NotOnCurve`],
    /// [`CurveError::NotInSubgroup`].
    pub fn from_eip2537(bytes: &[u8], check: SubgroupCheck) -> Result<Self, CurveError> {
        let Some([x, y]) = read_eip2537::<2>(bytes)? else {
            return Ok(Self::identity());
        };
        let point = Self::from_xy(x, y)?;
        subgroup(check, || point.is_in_subgroup())?;
        Ok(point)
    }
}

impl G2Affine {
    /// The ZCash compressed encoding (96 bytes: x.c1, x.c0).
    pub fn to_compressed(&self) -> [u8; G2_COMPRESSED_BYTES] {
        ffi::p2::compress(&self.0)
    }

    /// The ZCash uncompressed encoding (192 bytes: x.c1, x.c0, y.c1, y.c0).
    pub fn to_uncompressed(&self) -> [u8; G2_UNCOMPRESSED_BYTES] {
        ffi::p2::serialize(&self.0)
    }

    /// The EIP-2537 encoding (256 bytes: x.c0, x.c1, y.c0, y.c1; all zero for infinity).
    pub fn to_eip2537(&self) -> [u8; G2_EIP2537_BYTES] {
        let mut out = [0u8; G2_EIP2537_BYTES];
        if !self.is_identity() {
            let (x, y) = (self.x(), self.y());
            write_eip2537(&mut out, &[x.c0, x.c1, y.c0, y.c1]);
        }
        out
    }

    /// Decodes a ZCash compressed encoding; as [`G1Affine::from_compressed`].
    ///
    /// # Errors
    /// As [`G1Affine::from_compressed`].
    pub fn from_compressed(bytes: &[u8]) -> Result<Self, CurveError> {
        check_length(bytes, G2_COMPRESSED_BYTES)?;
        if check_zcash_flags(bytes, true)? {
            return Ok(Self::identity());
        }
        read_fq(bytes, 0, true)?;
        read_fq(bytes, FQ_BYTES, false)?;
        let array: &[u8; G2_COMPRESSED_BYTES] =
            bytes.try_into().expect("the length was checked above");
        // Flags and x are checked above, so blst's only failure left is "no square root".
        let point =
            ffi::p2::uncompress(array).map_err(|_| CurveError::NotOnCurve { index: None })?;
        subgroup(SubgroupCheck::Yes, || ffi::p2::affine_in_group(&point))?;
        Ok(Self(point))
    }

    /// Decodes a ZCash uncompressed encoding; as [`G1Affine::from_uncompressed`].
    ///
    /// # Errors
    /// As [`G1Affine::from_compressed`].
    pub fn from_uncompressed(bytes: &[u8]) -> Result<Self, CurveError> {
        check_length(bytes, G2_UNCOMPRESSED_BYTES)?;
        if check_zcash_flags(bytes, false)? {
            return Ok(Self::identity());
        }
        let x_c1 = read_fq(bytes, 0, true)?;
        let x_c0 = read_fq(bytes, FQ_BYTES, false)?;
        let y_c1 = read_fq(bytes, 2 * FQ_BYTES, false)?;
        let y_c0 = read_fq(bytes, 3 * FQ_BYTES, false)?;
        let point = Self::from_xy(Fq2::new(x_c0, x_c1), Fq2::new(y_c0, y_c1))?;
        subgroup(SubgroupCheck::Yes, || point.is_in_subgroup())?;
        Ok(point)
    }

    /// Decodes an EIP-2537 encoding (256 bytes); as [`G1Affine::from_eip2537`].
    ///
    /// # Errors
    /// As [`G1Affine::from_eip2537`].
    pub fn from_eip2537(bytes: &[u8], check: SubgroupCheck) -> Result<Self, CurveError> {
        let Some([x_c0, x_c1, y_c0, y_c1]) = read_eip2537::<4>(bytes)? else {
            return Ok(Self::identity());
        };
        let point = Self::from_xy(Fq2::new(x_c0, x_c1), Fq2::new(y_c0, y_c1))?;
        subgroup(check, || point.is_in_subgroup())?;
        Ok(point)
    }
}
