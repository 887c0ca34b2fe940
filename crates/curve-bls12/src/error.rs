/// Errors of the curve library: malformed encodings, invalid points, mismatched batches.
///
/// Decoder errors name the byte offset, within the input, of what is wrong where there is
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CurveError {
    /// An encoding has the wrong length.
    #[error("the encoding is {expected} bytes, got {got}")]
    BadLength {
        /// The length of this format.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// The flag bits (the top 3 bits of the first byte of a ZCash encoding) are invalid.
    #[error("invalid flag bits in byte 0 ({flags:#04x}): {problem}")]
    BadFlags {
        /// The top 3 bits of byte 0, in place (`byte & 0xe0`).
        flags: u8,
        /// What is wrong with them.
        problem: FlagProblem,
    },
    /// A field element is `>= p`.
    #[error(
        "the field element at byte offset {offset} is not canonical: it is >= the BLS12-381 \
         base field modulus p"
    )]
    FieldElementNotCanonical {
        /// Offset of the first byte of its 48-byte big-endian value (flag bits masked off).
        offset: usize,
    },
    /// An EIP-2537 padding byte (the top 16 bytes of each 64-byte field element) is not zero.
    #[error("the padding byte at offset {offset} is not zero")]
    NonZeroPadding {
        /// Offset of the first non-zero padding byte.
        offset: usize,
    },
    /// A ZCash encoding flags the point at infinity but has other bits set.
    #[error("an encoding of the point at infinity has a non-zero bit in byte {offset}")]
    InfinityWithNonZeroBytes {
        /// Offset of the first byte with a bit set (byte 0 counts without its flag bits).
        offset: usize,
    },
    /// Coordinates that do not satisfy the curve equation (for a compressed encoding: an x
    /// with no y on the curve).
    #[error("{} is not on the curve", describe_index(*.index))]
    NotOnCurve {
        /// Position of the first bad point in its batch; `None` for a single point.
        index: Option<usize>,
    },
    /// A point on the curve but outside the prime-order subgroup.
    #[error("{} is not in the prime-order subgroup", describe_index(*.index))]
    NotInSubgroup {
        /// Position of the first bad point in its batch; `None` for a single point.
        index: Option<usize>,
    },
    /// The operands of a batch operation have different lengths.
    #[error("length mismatch in {op}: {left} against {right} elements")]
    LengthMismatch {
        /// The operation.
        op: &'static str,
        /// Length of the first operand.
        left: usize,
        /// Length of the second operand.
        right: usize,
    },
    /// One MSM of a batch has as many points as scalars but not both, or not as many as
    /// the bases it runs over.
    #[error("{op}: MSM {index} of the batch has {points} points and {scalars} scalars")]
    BatchLengthMismatch {
        /// The operation.
        op: &'static str,
        /// Position of the MSM in the batch.
        index: usize,
        /// Its points (or the shared bases).
        points: usize,
        /// Its scalars.
        scalars: usize,
    },
}

/// What is wrong with the flag bits of a ZCash encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlagProblem {
    /// A compressed encoding without the compression bit (0x80).
    #[error("the compression bit is clear in a compressed encoding")]
    CompressionBitClear,
    /// An uncompressed encoding with the compression bit (0x80).
    #[error("the compression bit is set in an uncompressed encoding")]
    CompressionBitSet,
    /// The infinity bit (0x40) together with the sign bit (0x20).
    #[error("the sign bit is set on the point at infinity")]
    SignBitWithInfinity,
    /// The sign bit (0x20) in an uncompressed encoding, where y is given in full.
    #[error("the sign bit is set in an uncompressed encoding")]
    SignBitInUncompressed,
}

fn describe_index(index: Option<usize>) -> String {
    match index {
        Some(i) => format!("the point at index {i}"),
        None => "the point".to_owned(),
    }
}

pub(crate) fn check_lengths(op: &'static str, left: usize, right: usize) -> Result<(), CurveError> {
    if left == right {
        Ok(())
    } else {
        Err(CurveError::LengthMismatch { op, left, right })
    }
}
