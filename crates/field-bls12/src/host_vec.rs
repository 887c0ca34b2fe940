//! Fq vectors in GPU-visible host memory: the caller fills and reads them in place, and
//! kernels read and write them over the bus, so a host-to-host job copies nothing at all.

use std::sync::Arc;

use rayon::prelude::*;
use vk_backend::{Context, DeviceBuffer};

use crate::fq::first_non_canonical;
use crate::{FieldError, Fq, FqGpu, FqProgram, FQ_LIMBS};

/// A vector of canonical Fq elements in host memory that the GPU reaches directly
/// (pinned, host-cached where the device offers it). Made by [`FqGpu::alloc_host_vec`];
/// [`FqProgram::run_gpu_host`] runs programs from such vectors into such vectors.
///
/// Access is through closures ([`read`](Self::read), [`write`](Self::write)) that wait for
/// GPU work using the vector and keep new work from starting while they run.
#[derive(Debug)]
pub struct HostFqVec {
    pub(crate) buf: DeviceBuffer,
    ctx: Arc<Context>,
}

/// Elements per parallel task when zeroing or checking.
const CHUNK: usize = 1 << 14;

impl HostFqVec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Calls `f` with the elements.
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when waiting for the GPU fails.
    pub fn read<R>(&self, f: impl FnOnce(&[Fq]) -> R) -> Result<R, FieldError> {
        Ok(self.ctx.host_read::<Fq, R>(&self.buf, f)?)
    }

    /// Calls `f` with the elements to change them (values written are `Fq`, so canonical).
    ///
    /// # Errors
    /// As [`HostFqVec::read`].
    pub fn write<R>(&mut self, f: impl FnOnce(&mut [Fq]) -> R) -> Result<R, FieldError> {
        Ok(self.ctx.host_write::<Fq, R>(&self.buf, f)?)
    }

    /// A copy of the elements in a `Vec`.
    ///
    /// # Errors
    /// As [`HostFqVec::read`].
    pub fn to_vec(&self) -> Result<Vec<Fq>, FieldError> {
        self.read(|v| v.to_vec())
    }
}

impl FqGpu {
    /// A host vector of `len` zeros.
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when memory cannot be had.
    pub fn alloc_host_vec(&self, len: usize) -> Result<HostFqVec, FieldError> {
        let ctx = Arc::clone(self.context());
        let buf = ctx.alloc_host(len, FQ_LIMBS as u32)?;
        // Pooled memory holds whatever its last user left: zero it, so every element is a
        // valid Fq from the start. Seen as raw words, since the old contents need not be.
        ctx.host_write::<[u64; FQ_LIMBS], _>(&buf, |w| {
            w.par_chunks_mut(CHUNK).for_each(|c| c.fill([0; FQ_LIMBS]));
        })?;
        Ok(HostFqVec { buf, ctx })
    }

    /// A host vector holding a copy of `values`.
    ///
    /// # Errors
    /// As [`FqGpu::alloc_host_vec`].
    pub fn host_vec_from(&self, values: &[Fq]) -> Result<HostFqVec, FieldError> {
        let mut v = self.alloc_host_vec(values.len())?;
        v.write(|w| {
            w.par_chunks_mut(CHUNK)
                .zip(values.par_chunks(CHUNK))
                .for_each(|(d, s)| d.copy_from_slice(s));
        })?;
        Ok(v)
    }
}

impl FqProgram {
    /// Checks a job on host vectors: as many inputs as the program takes, all as long as
    /// `out`.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for vectors of different lengths.
    pub fn check_host_job(&self, inputs: &[&HostFqVec], out: &HostFqVec) -> Result<(), FieldError> {
        let count = self.check_job(inputs.iter().map(|v| v.len()))?;
        crate::error::check_lengths("program", out.len(), count)
    }

    /// Runs the program from host vectors into `out`: the kernel (the tiled flavour, whose
    /// coalesced reads and writes run at PCIe speed) works on the host memory in place, in
    /// consecutive chunks. The kernel checks every value it stores (it must be canonical)
    /// and flags a chunk holding one that is not, so the host never reads the results.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for vectors of different lengths,
    /// [`FieldError::GpuResultNotCanonical`] (and `out` zeroed) if the GPU produced a value
    /// `>= p`, [`FieldError::Gpu`] when the device fails (`out` then holds unspecified
    /// canonical values).
    pub fn run_gpu_host(
        &self,
        gpu: &FqGpu,
        inputs: &[&HostFqVec],
        out: &mut HostFqVec,
    ) -> Result<(), FieldError> {
        self.run_split_host(gpu, inputs, out, out.len())
    }

    /// Runs the program from host vectors into `out` on the GPU and the CPU at once
    /// (co-execution): the GPU takes elements `0..gpu_len` as [`FqProgram::run_gpu_host`]
    /// does, and meanwhile all cores compute the rest in place, as
    /// [`FqProgram::run_cpu_into`]. Results are the same whatever the split. Pick `gpu_len`
    /// so that both finish together: `len * g / (g + c)` for throughputs `g` and `c`.
    ///
    /// # Errors
    /// As [`FqProgram::run_gpu_host`]; [`FieldError::Gpu`] also for `gpu_len` past the end
    /// (nothing runs then).
    pub fn run_split_host(
        &self,
        gpu: &FqGpu,
        inputs: &[&HostFqVec],
        out: &mut HostFqVec,
        gpu_len: usize,
    ) -> Result<(), FieldError> {
        self.check_host_job(inputs, out)?;
        let kernel = gpu.program_kernel(self, true)?;
        let bufs: Vec<&DeviceBuffer> = inputs.iter().map(|v| &v.buf).collect();
        let ctx = gpu.context();
        // The GPU writes raw words, checked by the kernel as it stores them (a compare of a
        // value in registers: a pass over the results on the host cost 15-25% of a
        // co-executed 16Mi job, H100 host 2026-11-22). Only a flagged chunk is read here,
        // to say where, before anything sees its words as Fq.
        let mut first_bad = None;
        let mut cpu = Ok(());
        ctx.run_streamed_buffers_beside::<Fq>(
            &kernel,
            &bufs,
            &out.buf,
            gpu_len,
            0,
            |range, words, flags| {
                if flags != 0 && first_bad.is_none() {
                    // A flag with no value >= p left to find: the words changed after the
                    // kernel stored them, a fault all the same; blamed on the chunk's start.
                    let at = first_non_canonical(words.as_chunks::<FQ_LIMBS>().0).unwrap_or(0);
                    first_bad = Some(range.start + at);
                }
            },
            |ins, o| {
                if cpu.is_ok() {
                    cpu = self.run_cpu_into(ins, o);
                }
            },
        )?;
        cpu?;
        if let Some(index) = first_bad {
            ctx.host_write::<[u64; FQ_LIMBS], _>(&out.buf, |w| {
                w.par_chunks_mut(CHUNK).for_each(|c| c.fill([0; FQ_LIMBS]))
            })?;
            return Err(FieldError::GpuResultNotCanonical { index });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value `>= p` in a chunk's output (here from inputs that are not canonical, written
    /// past the type's guard, as a faulty kernel or memory would leave them) is caught by
    /// the kernel's check: the job fails with its index, `out` is zeroed, and the next job
    /// on the same vectors, repaired, is right.
    #[test]
    fn host_vector_jobs_report_a_non_canonical_result_where_it_is() {
        let Some(ctx) = vk_backend::test_support::test_context_with(
            "host_vector_jobs_report_a_non_canonical_result",
            |c| c.with_stream_chunk_bytes(48 * 1001),
        ) else {
            return;
        };
        let gpu = FqGpu::new(ctx.arc()).unwrap();
        let n = 4000;
        let a: Vec<Fq> = (0..n as u64).map(Fq::from).collect();
        let (mut ha, mut hb) = (
            gpu.host_vec_from(&a).unwrap(),
            gpu.host_vec_from(&a).unwrap(),
        );
        let mut out = gpu.alloc_host_vec(n).unwrap();
        let mut p = FqProgram::builder();
        let (x, y) = (p.input(), p.input());
        let sum = p.add(x, y);
        let add = p.build(sum).unwrap();
        let bad = 3210;
        let set = |v: &HostFqVec, w: [u64; FQ_LIMBS]| {
            v.ctx
                .host_write::<[u64; FQ_LIMBS], _>(&v.buf, |s| s[bad] = w)
                .unwrap()
        };
        for v in [&ha, &hb] {
            set(v, [u64::MAX; FQ_LIMBS]); // 2 (2^384 - 1) reduced once is still >= p
        }
        for gpu_len in [n, bad + 1] {
            let r = add.run_split_host(&gpu, &[&ha, &hb], &mut out, gpu_len);
            assert!(
                matches!(r, Err(FieldError::GpuResultNotCanonical { index }) if index == bad),
                "GPU share {gpu_len}: {r:?}"
            );
            let zeroed = out.ctx.host_read::<[u64; FQ_LIMBS], _>(&out.buf, |w| {
                w.iter().all(|x| *x == [0; FQ_LIMBS])
            });
            assert!(zeroed.unwrap(), "out zeroed after the failure");
        }
        ha.write(|v| v[bad] = Fq::ONE).unwrap();
        hb.write(|v| v[bad] = Fq::ONE).unwrap();
        add.run_gpu_host(&gpu, &[&ha, &hb], &mut out).unwrap();
        let want: Vec<Fq> = (0..n)
            .map(|i| {
                if i == bad {
                    Fq::ONE + Fq::ONE
                } else {
                    a[i] + a[i]
                }
            })
            .collect();
        assert_eq!(out.to_vec().unwrap(), want);
    }
}
