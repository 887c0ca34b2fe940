//! Batch Fq arithmetic on a Vulkan device.

use std::sync::Arc;

use vk_backend::{Context, Kernel, KernelDesc};

use crate::error::check_lengths;
use crate::fq::FQ_LIMBS;
use crate::{FieldError, Fq};

/// SPIR-V compiled from `shaders/fq/fq_add.comp` by `cargo xtask shaders`.
const FQ_ADD_SPV: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shaders/fq/fq_add.spv"
));

/// Fq batch operations on one Vulkan [`Context`], with its kernels built once.
///
/// ```no_run
/// use std::sync::Arc;
/// use field_bls12::{Fq, FqGpu};
/// use vk_backend::{Context, ContextConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gpu = FqGpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
/// assert_eq!(gpu.add(&[Fq::ONE], &[Fq::ONE])?, vec![Fq::from_u64(2)]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FqGpu {
    ctx: Arc<Context>,
    add: Kernel,
}

impl FqGpu {
    /// Builds the kernels on `ctx` with the device's default workgroup size.
    ///
    /// # Errors
    /// Vulkan errors from pipeline creation.
    pub fn new(ctx: Arc<Context>) -> Result<Self, FieldError> {
        Self::build(ctx, None)
    }

    /// Builds the kernels with an explicit workgroup size (results never depend on it).
    ///
    /// # Errors
    /// [`vk_backend::Error::InvalidArgument`] for a size outside the device's limits.
    pub fn with_workgroup_size(ctx: Arc<Context>, size: u32) -> Result<Self, FieldError> {
        Self::build(ctx, Some(size))
    }

    fn build(ctx: Arc<Context>, workgroup_size: Option<u32>) -> Result<Self, FieldError> {
        let mut desc = KernelDesc::elementwise("fq_add", FQ_ADD_SPV, 2, FQ_LIMBS as u32);
        if let Some(size) = workgroup_size {
            desc = desc.with_workgroup_size(size);
        }
        let add = ctx.create_kernel(&desc)?;
        Ok(Self { ctx, add })
    }

    /// The context the kernels run on.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Element-wise `a[i] + b[i] mod p` on the GPU, in one upload-dispatch-download round
    /// trip.
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] when the lengths differ, [`FieldError::Gpu`] when the
    /// device fails. An empty batch gives an empty result without touching the GPU.
    pub fn add(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        check_lengths("add", a.len(), b.len())?;
        let inputs = [a, b];
        let fill = |i: usize, dst: &mut [u64]| {
            for (d, s) in dst.as_chunks_mut::<FQ_LIMBS>().0.iter_mut().zip(inputs[i]) {
                *d = *s.limbs();
            }
        };
        let read = |words: &[u64]| {
            // The kernel's output must be canonical; checking costs a compare per element and
            // turns a kernel bug into an error instead of a wrong answer.
            Fq::from_limbs_batch(words.as_chunks::<FQ_LIMBS>().0)
                .map_err(|index| FieldError::GpuResultNotCanonical { index })
        };
        self.ctx.run_elementwise(&self.add, a.len(), fill, read)?
    }
}
