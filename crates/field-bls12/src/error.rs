/// Errors of the Fq library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A value is not below the modulus p, so it is not a canonical Fq element.
    #[error("{} is not a canonical Fq element: it is >= the BLS12-381 base field modulus p", describe_index(*.index))]
    NotCanonical {
        /// Position of the first bad value in its batch; `None` for a single value.
        index: Option<usize>,
    },
    /// A byte encoding has the wrong length.
    #[error("an Fq encoding is 48 bytes, got {0}")]
    BadEncodingLength(usize),
    /// The operands of an element-wise operation have different lengths.
    #[error(
        "length mismatch in {op}: left operand has {left} elements, right operand has {right}"
    )]
    LengthMismatch {
        /// The operation.
        op: &'static str,
        /// Length of the left operand.
        left: usize,
        /// Length of the right operand.
        right: usize,
    },
    /// The GPU returned a value that is not canonical: a kernel bug or corrupted memory.
    /// Never returned to callers as a result.
    #[error("the GPU returned a non-canonical value at index {index}")]
    GpuResultNotCanonical {
        /// Position of the first bad value.
        index: usize,
    },
    /// A host vector cannot be used: a GPU job on it failed and its results could not be
    /// cleared (the wait for the GPU failed too), so its memory may hold unchecked words.
    /// [`crate::HostFqVec::reset`] makes it usable again.
    #[error(
        "the host vector may hold unchecked GPU results (a failed job could not clear it); \
         HostFqVec::reset clears it"
    )]
    HostVecUnusable,
    /// A program is malformed or cannot run as asked.
    #[error("invalid program: {0}")]
    InvalidProgram(String),
    /// The Vulkan backend failed.
    #[error(transparent)]
    Gpu(#[from] vk_backend::Error),
}

fn describe_index(index: Option<usize>) -> String {
    match index {
        Some(i) => format!("the value at index {i}"),
        None => "the value".to_owned(),
    }
}

pub(crate) fn check_lengths(op: &'static str, left: usize, right: usize) -> Result<(), FieldError> {
    if left == right {
        Ok(())
    } else {
        Err(FieldError::LengthMismatch { op, left, right })
    }
}
