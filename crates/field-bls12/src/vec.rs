//! Fq vectors resident on the GPU: upload once, run many programs, download once.

use vk_backend::DeviceBuffer;

use crate::gpu::{read_limbs, write_limbs};
use crate::{FieldError, Fq, FqGpu, FqProgram, FQ_LIMBS};

/// A vector of canonical Fq elements in GPU memory, made by [`FqGpu::upload`] or by
/// running a program on other vectors ([`FqGpu::run_program_resident`]). Dropping it while
/// the GPU still uses it is safe (vk-backend keeps the memory until that work completes).
#[derive(Clone, Debug)]
pub struct FqVec {
    pub(crate) buf: DeviceBuffer,
}

impl FqVec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

impl FqGpu {
    /// Copies `values` into a new resident vector.
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn upload(&self, values: &[Fq]) -> Result<FqVec, FieldError> {
        let buf = self
            .context()
            .upload(values.len(), FQ_LIMBS as u32, |w| write_limbs(w, values))?;
        Ok(FqVec { buf })
    }

    /// Copies a resident vector back to host memory, checking every element.
    ///
    /// # Errors
    /// [`FieldError::GpuResultNotCanonical`] if the GPU left a value `>= p`;
    /// [`FieldError::Gpu`] when the device fails.
    pub fn download(&self, v: &FqVec) -> Result<Vec<Fq>, FieldError> {
        let mut out = crate::raw::output_vec(v.len());
        self.context()
            .download(&v.buf, |w| read_limbs(&mut out, w, 0))??;
        Ok(out)
    }

    /// Runs `program` on resident vectors into a new resident vector: one dispatch of the
    /// program's fused kernel, in one submission; nothing crosses the bus.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for inputs of different lengths,
    /// [`FieldError::Gpu`] when the device fails (or a vector is from another context).
    pub fn run_program_resident(
        &self,
        program: &FqProgram,
        inputs: &[&FqVec],
    ) -> Result<FqVec, FieldError> {
        let count = program.check_job(inputs.iter().map(|v| v.len()))?;
        let kernel = self.program_kernel(program, program.prefers_tiled())?;
        let out = self.context().alloc(count, FQ_LIMBS as u32)?;
        let bufs: Vec<&DeviceBuffer> = inputs.iter().map(|v| &v.buf).collect();
        let mut batch = self.context().batch()?;
        batch.dispatch(&kernel, &bufs, &out)?;
        batch.submit()?.finish()?;
        Ok(FqVec { buf: out })
    }
}
