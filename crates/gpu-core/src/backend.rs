use crate::BackendError;

/// Where a backend runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Host CPU cores.
    Cpu,
    /// A GPU (or any other accelerator) behind a driver.
    Gpu,
}

/// An element-wise operation on two batches of equal length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `out[i] = a[i] + b[i]` in the field.
    Add,
    /// `out[i] = a[i] - b[i]` in the field.
    Sub,
    /// `out[i] = a[i] * b[i]` in the field.
    Mul,
}

impl BinaryOp {
    /// A short lower-case name, used in errors and reports.
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
        }
    }
}

/// A backend that runs a batch of element-wise work.
///
/// Implementations must be bit-exact: every backend returns exactly the same elements for
/// the same inputs, because callers route batches between backends freely.
pub trait BatchBackend: Send + Sync {
    /// The element type, e.g. a field element.
    type Element: Copy + Send + Sync;

    /// CPU or GPU.
    fn kind(&self) -> BackendKind;

    /// A human-readable description, e.g. `"cpu (blst, 16 threads)"`.
    fn describe(&self) -> String;

    /// Runs `op` element-wise over `a` and `b`.
    ///
    /// # Errors
    /// [`BackendError::LengthMismatch`] when `a.len() != b.len()`; other variants when the
    /// backend fails. An empty batch gives an empty result.
    fn run_binary(
        &self,
        op: BinaryOp,
        a: &[Self::Element],
        b: &[Self::Element],
    ) -> Result<Vec<Self::Element>, BackendError>;
}
