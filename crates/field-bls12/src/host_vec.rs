//! Fq vectors in GPU-visible host memory: the caller fills and reads them in place, and
//! kernels read and write them over the bus, so a host-to-host job copies nothing at all.

use std::sync::Arc;

use rayon::prelude::*;
use vk_backend::{Context, DeviceBuffer, Kernel};

use crate::fq::first_non_canonical;
use crate::raw::{host_elements, host_elements_mut};
use crate::{FieldError, Fq, FqGpu, FqProgram, FQ_LIMBS};

/// A vector of canonical Fq elements in host memory that the GPU reaches directly
/// (pinned, host-cached where the device offers it). Made by [`FqGpu::alloc_host_vec`];
/// [`FqProgram::run_gpu_host`] runs programs from such vectors into such vectors.
///
/// Access is through closures ([`read`](Self::read), [`write`](Self::write)) that wait for
/// GPU work using the vector and keep new work from starting while they run.
///
/// # After a failed job
/// A job that fails ([`FqProgram::run_gpu_host`], [`FqProgram::run_split_host`]) zeroes
/// its output before it returns, so a host vector never holds a GPU result that was not
/// checked. Where even that is impossible (the wait for the GPU fails again: a timeout, a
/// lost device), the output is marked unusable instead: every later access ([`read`],
/// [`to_vec`], [`write`], a job taking it as input or output) fails with
/// [`FieldError::HostVecUnusable`] until [`reset`](Self::reset) has zeroed it. So does a
/// job that unwinds (a panic), which checks and clears nothing.
///
/// [`read`]: Self::read
/// [`to_vec`]: Self::to_vec
/// [`write`]: Self::write
///
/// # Only through this type
/// Host memory is seen as `Fq` only here. `Fq` is no [`vk_backend::HostElement`], the
/// bound of every raw access vk-backend offers (`host_read`, `host_write`,
/// `run_elementwise_host`, ...), since raw words seen as `Fq` could pass any value for a
/// canonical one. So this does not compile:
/// ```compile_fail,E0277
/// # fn f(ctx: &vk_backend::Context, buf: &vk_backend::DeviceBuffer) -> Result<(), vk_backend::Error> {
/// let v: Vec<field_bls12::Fq> = ctx.host_read::<field_bls12::Fq, _>(buf, |v| v.to_vec())?;
/// # Ok(()) }
/// ```
/// nor this:
/// ```compile_fail,E0277
/// fn raw_access<T: vk_backend::HostElement>() {}
/// raw_access::<field_bls12::Fq>();
/// ```
/// while the same on raw words does:
/// ```
/// # fn f(ctx: &vk_backend::Context, buf: &vk_backend::DeviceBuffer) -> Result<(), vk_backend::Error> {
/// let v: Vec<[u64; 6]> = ctx.host_read::<[u64; 6], _>(buf, |v| v.to_vec())?;
/// # Ok(()) }
/// fn raw_access<T: vk_backend::HostElement>() {}
/// raw_access::<[u64; 6]>();
/// ```
#[derive(Debug)]
pub struct HostFqVec {
    // Invariant, unless `unusable`: every element of `buf` is canonical (< p). It is zeroed
    // at allocation, written only through `&mut [Fq]` (`write`, the CPU's share of a job)
    // or by kernels whose every result is checked (the flags of `run_split_host`) before
    // anything reads it as `Fq`, and zeroed when a job fails. `raw::host_elements` rests
    // on it.
    pub(crate) buf: DeviceBuffer,
    ctx: Arc<Context>,
    /// Its words may be anything until `reset`: a failed job could not zero it (or a job
    /// unwound while it ran).
    unusable: bool,
}

/// Elements per parallel task when zeroing or copying.
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
    /// [`FieldError::HostVecUnusable`] after a failed job that could not clear it;
    /// [`FieldError::Gpu`] when waiting for the GPU fails.
    pub fn read<R>(&self, f: impl FnOnce(&[Fq]) -> R) -> Result<R, FieldError> {
        self.check_usable()?;
        Ok(self
            .ctx
            .host_read::<[u64; FQ_LIMBS], R>(&self.buf, |w| f(host_elements(w)))?)
    }

    /// Calls `f` with the elements to change them (values written are `Fq`, so canonical).
    ///
    /// # Errors
    /// As [`HostFqVec::read`].
    pub fn write<R>(&mut self, f: impl FnOnce(&mut [Fq]) -> R) -> Result<R, FieldError> {
        self.check_usable()?;
        Ok(self
            .ctx
            .host_write::<[u64; FQ_LIMBS], R>(&self.buf, |w| f(host_elements_mut(w)))?)
    }

    /// A copy of the elements in a `Vec`.
    ///
    /// # Errors
    /// As [`HostFqVec::read`].
    pub fn to_vec(&self) -> Result<Vec<Fq>, FieldError> {
        self.read(|v| v.to_vec())
    }

    /// Sets every element to zero, once GPU work still using the vector is done; this is
    /// also how a vector that a failed job left unusable becomes usable again.
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when waiting for the GPU fails (the vector stays unusable if it
    /// was).
    pub fn reset(&mut self) -> Result<(), FieldError> {
        self.zero()?;
        self.unusable = false;
        Ok(())
    }

    fn check_usable(&self) -> Result<(), FieldError> {
        if self.unusable {
            Err(FieldError::HostVecUnusable)
        } else {
            Ok(())
        }
    }

    /// Zeroes the words, seen as raw words: their contents need not be canonical.
    fn zero(&self) -> Result<(), vk_backend::Error> {
        self.ctx.host_write::<[u64; FQ_LIMBS], _>(&self.buf, |w| {
            w.par_chunks_mut(CHUNK).for_each(|c| c.fill([0; FQ_LIMBS]))
        })
    }

    /// Discards what a failed job left: zeroes the vector, or marks it unusable when even
    /// that fails.
    fn discard_after_failure(&mut self) {
        match self.zero() {
            Ok(()) => self.unusable = false,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    len = self.len(),
                    "a failed GPU job's output could not be cleared; the host vector is \
                     unusable until HostFqVec::reset"
                );
                self.unusable = true;
            }
        }
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
        let v = HostFqVec {
            buf,
            ctx,
            unusable: false,
        };
        // Pooled memory holds whatever its last user left: zero it, so every element is a
        // valid Fq from the start.
        v.zero()?;
        Ok(v)
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
    /// `out`, and all usable.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for vectors of different lengths,
    /// [`FieldError::HostVecUnusable`] for a vector that a failed job left unusable.
    pub fn check_host_job(&self, inputs: &[&HostFqVec], out: &HostFqVec) -> Result<(), FieldError> {
        let count = self.check_job(inputs.iter().map(|v| v.len()))?;
        crate::error::check_lengths("program", out.len(), count)?;
        inputs
            .iter()
            .chain([&out])
            .try_for_each(|v| v.check_usable())
    }

    /// Runs the program from host vectors into `out`: the kernel (the tiled flavour, whose
    /// coalesced reads and writes run at PCIe speed) works on the host memory in place, in
    /// consecutive chunks. The kernel checks every value it stores (it must be canonical)
    /// and flags a chunk holding one that is not, so the host never reads the results.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`], [`FieldError::LengthMismatch`] and
    /// [`FieldError::HostVecUnusable`] as [`FqProgram::check_host_job`] finds them (nothing
    /// runs, `out` is unchanged); [`FieldError::GpuResultNotCanonical`] if the GPU produced
    /// a value `>= p`, [`FieldError::Gpu`] when the device fails. After those two, `out`
    /// holds zeros, or, where even zeroing failed, is unusable (see [`HostFqVec`]).
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
    /// (nothing runs then, and `out` holds zeros).
    pub fn run_split_host(
        &self,
        gpu: &FqGpu,
        inputs: &[&HostFqVec],
        out: &mut HostFqVec,
        gpu_len: usize,
    ) -> Result<(), FieldError> {
        self.check_host_job(inputs, out)?;
        let kernel = gpu.program_kernel(self, true)?;
        // Unusable until the results are checked or cleared, so that a job that unwinds
        // (a panic in the CPU's share) leaves no unchecked result readable either.
        out.unusable = true;
        let result = self.run_split_host_checked(gpu, &kernel, inputs, out, gpu_len);
        match result {
            Ok(()) => out.unusable = false,
            // Chunks that ran after the failure (or before it, unchecked) may have left
            // results nobody checked: none of them stays.
            Err(_) => out.discard_after_failure(),
        }
        result
    }

    /// The job of [`FqProgram::run_split_host`] on checked vectors, with `kernel`; on an
    /// error the caller discards `out`.
    fn run_split_host_checked(
        &self,
        gpu: &FqGpu,
        kernel: &Kernel,
        inputs: &[&HostFqVec],
        out: &HostFqVec,
        gpu_len: usize,
    ) -> Result<(), FieldError> {
        let bufs: Vec<&DeviceBuffer> = inputs.iter().map(|v| &v.buf).collect();
        // The GPU writes raw words, checked by the kernel as it stores them (a compare of a
        // value in registers: a pass over the results on the host cost 15-25% of a
        // co-executed 16Mi job, H100 host 2026-11-22). Only a flagged chunk is read here,
        // to say where, before anything sees its words as Fq.
        let mut first_bad = None;
        let mut cpu = Ok(());
        let ctx = gpu.context();
        ctx.run_streamed_buffers_beside::<[u64; FQ_LIMBS]>(
            kernel,
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
            // The CPU's share: elements of these usable host vectors (checked above), the
            // output's range the GPU does not touch.
            |ins, o| {
                if cpu.is_ok() {
                    let ins: Vec<&[Fq]> = ins.iter().map(|x| host_elements(x)).collect();
                    cpu = self.run_cpu_into(&ins, host_elements_mut(o));
                }
            },
        )?;
        cpu?;
        match first_bad {
            Some(index) => Err(FieldError::GpuResultNotCanonical { index }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value `>= p` in a chunk's output (here from inputs that are not canonical, written
    /// past the type's guard, as a faulty kernel or memory would leave them) is caught by
    /// the kernel's check: the job fails with its index, `out` is zeroed, and the next job
    /// on the same vectors, repaired, is right. The chunk setting cuts the GPU's share
    /// into three ranges (halves of what is left, down to twice 256 elements), the bad
    /// value in the last: its index counts from the start of the whole vector.
    #[test]
    fn host_vector_jobs_report_a_non_canonical_result_where_it_is() {
        let Some(ctx) = vk_backend::test_support::test_context_with(
            "host_vector_jobs_report_a_non_canonical_result",
            |c| c.with_stream_chunk_bytes(48 * 256),
        ) else {
            return;
        };
        let gpu = FqGpu::new(ctx.arc()).unwrap();
        let n = 4000;
        let a: Vec<Fq> = (0..n as u64).map(Fq::from).collect();
        let (ha, hb) = (
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
            out.write(|o| o.fill(Fq::from_u64(7))).unwrap();
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
        for v in [&ha, &hb] {
            set(v, *Fq::ONE.limbs());
        }
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

    /// After a job that failed while the GPU ran (the first range's results lost, the later
    /// ranges' written but never checked), the output's raw words, read past the type, are
    /// all canonical: they are all zero.
    #[test]
    fn a_failed_job_leaves_only_canonical_words() {
        let Some(ctx) = vk_backend::test_support::test_context_with(
            "a_failed_job_leaves_only_canonical_words",
            |c| c.with_stream_chunk_bytes(48 * 256),
        ) else {
            return;
        };
        let gpu = FqGpu::new(ctx.arc()).unwrap();
        let n = 4000;
        let a: Vec<Fq> = (0..n as u64).map(|i| Fq::from_u64(i + 1)).collect();
        let ha = gpu.host_vec_from(&a).unwrap();
        let mut out = gpu.host_vec_from(&a).unwrap();
        let mut p = FqProgram::builder();
        let x = p.input();
        let d = p.double(x);
        let double = p.build(d).unwrap();
        ctx.inject_fault(
            vk_backend::FaultStage::Download,
            vk_backend::Error::Timeout {
                call: "injected",
                after: std::time::Duration::from_secs(1),
            },
        );
        let r = double.run_gpu_host(&gpu, &[&ha], &mut out);
        assert!(
            matches!(&r, Err(FieldError::Gpu(e)) if e.is_timeout()),
            "{r:?}"
        );
        let words = ctx.host_read::<[u64; FQ_LIMBS], _>(&out.buf, |w| w.to_vec());
        let words = words.unwrap();
        assert_eq!(first_non_canonical(&words), None);
        assert!(words.iter().all(|w| *w == [0; FQ_LIMBS]));
    }
}
