//! [`PrecompileError`]: what is wrong with an input, and where.

use core::fmt;

use curve_bls12::{CurveError, EIP2537_FQ_BYTES};

use crate::{InputLength, Precompile};

/// A group of BLS12-381.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// G1, over Fp.
    G1,
    /// G2, over Fp2.
    G2,
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Group::G1 => "G1",
            Group::G2 => "G2",
        })
    }
}

/// Which point of a call's input: its group and its index.
///
/// The index counts the precompile's units of input: for G1ADD/G2ADD the operand (0 or
/// 1); for G1MSM/G2MSM the (point, scalar) pair; for PAIRING_CHECK the (G1, G2) pair, the
/// group telling which of its two points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InputPoint {
    /// The point's group.
    pub group: Group,
    /// The operand or pair it belongs to, from 0.
    pub index: usize,
}

impl fmt::Display for InputPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} point #{}", self.group, self.index)
    }
}

/// Why a precompile call fails: what is wrong, in which point and at which byte of the
/// input.
///
/// Byte offsets are from the start of the whole input. Errors are reported for the first
/// problem in input order: the points are checked one after the other, each one's field
/// elements in order (top bytes, then the value), then the curve equation, then (for MSM
/// and pairing inputs) the subgroup. Every variant is an error the EIP requires; the EIP
/// says to burn all the call's gas on any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrecompileError {
    /// The input's length is not one the precompile accepts (empty MSM and pairing inputs
    /// included).
    #[error("{precompile} takes {expected}, got {got}")]
    InvalidInputLength {
        /// The precompile called.
        precompile: Precompile,
        /// The lengths it accepts.
        expected: InputLength,
        /// The input's length.
        got: usize,
    },
    /// One of the top 16 bytes of a 64-byte field element is not zero.
    #[error("non-zero top byte at offset {offset} of a field element{}", describe(.point))]
    FieldElementTopBytes {
        /// The point the element belongs to; `None` for the map precompiles' inputs.
        point: Option<InputPoint>,
        /// Offset of the first non-zero top byte.
        offset: usize,
    },
    /// A field element is `>= p`.
    #[error(
        "the field element at offset {offset}{} is not canonical: it is >= the base field \
         modulus p",
        describe(.point)
    )]
    FieldElementNotCanonical {
        /// The point the element belongs to; `None` for the map precompiles' inputs.
        point: Option<InputPoint>,
        /// Offset of the element's first byte (the start of its 64 bytes).
        offset: usize,
    },
    /// A point's coordinates do not satisfy its curve's equation (and are not all zero,
    /// the encoding of the point at infinity).
    #[error("{point} (offset {offset}) is not on the curve")]
    NotOnCurve {
        /// The point.
        point: InputPoint,
        /// Offset of the point's first byte.
        offset: usize,
    },
    /// A point of an MSM or pairing input is on the curve but not in the prime-order
    /// subgroup.
    #[error("{point} (offset {offset}) is not in the prime-order subgroup")]
    NotInSubgroup {
        /// The point.
        point: InputPoint,
        /// Offset of the point's first byte.
        offset: usize,
    },
    /// A decoding error of the curve library that none of the variants above stands for.
    /// No input yields it today: it keeps a future kind of [`CurveError`] from becoming a
    /// panic.
    #[error("{point} (offset {offset}): {source}")]
    Curve {
        /// The point.
        point: InputPoint,
        /// Offset of the point's first byte.
        offset: usize,
        /// The curve library's error (its offsets are relative to the point).
        source: CurveError,
    },
    /// [`crate::gas()`] for an input so long that its price does not fit in a `u64`.
    #[error("{precompile}: the gas for {input_len} bytes of input overflows u64")]
    GasOverflow {
        /// The precompile.
        precompile: Precompile,
        /// The input length.
        input_len: usize,
    },
}

fn describe(point: &Option<InputPoint>) -> String {
    match point {
        Some(point) => format!(" of {point}"),
        None => String::new(),
    }
}

impl PrecompileError {
    /// The error for a point whose EIP-2537 encoding starts at `point_offset` in the input
    /// and that the curve library rejected with `error` (whose offsets are relative to the
    /// point's encoding; they become offsets in the whole input).
    pub fn from_curve_error(error: CurveError, point: InputPoint, point_offset: usize) -> Self {
        match error {
            CurveError::NonZeroPadding { offset } => PrecompileError::FieldElementTopBytes {
                point: Some(point),
                offset: point_offset + offset,
            },
            CurveError::FieldElementNotCanonical { offset } => {
                PrecompileError::FieldElementNotCanonical {
                    point: Some(point),
                    // The library names the element's 48-byte value; we name its 64 bytes.
                    offset: point_offset + offset - offset % EIP2537_FQ_BYTES,
                }
            }
            CurveError::NotOnCurve { .. } => PrecompileError::NotOnCurve {
                point,
                offset: point_offset,
            },
            CurveError::NotInSubgroup { .. } => PrecompileError::NotInSubgroup {
                point,
                offset: point_offset,
            },
            source => PrecompileError::Curve {
                point,
                offset: point_offset,
                source,
            },
        }
    }

    /// The point the error is about, if it is about one.
    pub fn point(&self) -> Option<InputPoint> {
        match *self {
            PrecompileError::FieldElementTopBytes { point, .. }
            | PrecompileError::FieldElementNotCanonical { point, .. } => point,
            PrecompileError::NotOnCurve { point, .. }
            | PrecompileError::NotInSubgroup { point, .. }
            | PrecompileError::Curve { point, .. } => Some(point),
            PrecompileError::InvalidInputLength { .. } | PrecompileError::GasOverflow { .. } => {
                None
            }
        }
    }

    /// The byte offset in the input the error is about, if it is about one (see each
    /// variant for which byte).
    pub fn offset(&self) -> Option<usize> {
        match *self {
            PrecompileError::FieldElementTopBytes { offset, .. }
            | PrecompileError::FieldElementNotCanonical { offset, .. }
            | PrecompileError::NotOnCurve { offset, .. }
            | PrecompileError::NotInSubgroup { offset, .. }
            | PrecompileError::Curve { offset, .. } => Some(offset),
            PrecompileError::InvalidInputLength { .. } | PrecompileError::GasOverflow { .. } => {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_offsets_become_input_offsets() {
        let point = InputPoint {
            group: Group::G2,
            index: 3,
        };
        let base = 1000;
        assert_eq!(
            PrecompileError::from_curve_error(
                CurveError::NonZeroPadding { offset: 130 },
                point,
                base
            ),
            PrecompileError::FieldElementTopBytes {
                point: Some(point),
                offset: 1130
            }
        );
        // The value of element 2 starts at 2 * 64 + 16 within the point.
        assert_eq!(
            PrecompileError::from_curve_error(
                CurveError::FieldElementNotCanonical { offset: 144 },
                point,
                base
            ),
            PrecompileError::FieldElementNotCanonical {
                point: Some(point),
                offset: 1128
            }
        );
        let e = PrecompileError::from_curve_error(
            CurveError::NotInSubgroup { index: None },
            point,
            base,
        );
        assert_eq!(
            e,
            PrecompileError::NotInSubgroup {
                point,
                offset: base
            }
        );
        assert_eq!((e.point(), e.offset()), (Some(point), Some(base)));
        assert_eq!(
            e.to_string(),
            "G2 point #3 (offset 1000) is not in the prime-order subgroup"
        );
        let other = CurveError::BadLength {
            expected: 256,
            got: 1,
        };
        assert_eq!(
            PrecompileError::from_curve_error(other, point, base),
            PrecompileError::Curve {
                point,
                offset: base,
                source: other
            }
        );
    }
}
