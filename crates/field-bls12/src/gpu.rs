//! Batch Fq arithmetic on a Vulkan device.
//!
//! One GLSL kernel per element-wise operation (`shaders/fq/*.comp`, arithmetic in
//! `shaders/include/fq.glsl`), compiled to SPIR-V by `cargo xtask shaders` and embedded here.
//! Batches up to 32 MiB per buffer run in one upload-dispatch-download round trip through
//! [`Context::run_elementwise`]; larger ones stream through [`Context::run_streamed`] with
//! overlapped transfers. Every element the GPU returns is checked canonical.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rayon::prelude::*;
use vk_backend::{Context, Kernel, KernelDesc};

use crate::error::check_lengths;
use crate::fq::{is_canonical, FQ_BYTES, FQ_LIMBS};
use crate::{FieldError, Fq, FqMont};

/// The SPIR-V of `shaders/fq/<name>.comp`.
macro_rules! spirv {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shaders/fq/",
            $name,
            ".spv"
        ))
    };
}

/// The element-wise operations, one kernel each (`FqOp as usize` indexes the kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FqOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `-a`.
    Neg,
    /// `2a`.
    Double,
    /// `a * b` on canonical values.
    Mul,
    /// `a^2` on canonical values.
    Square,
    /// `a * b + c` on canonical values.
    Fma,
    /// canonical -> Montgomery form.
    ToMont,
    /// Montgomery form -> canonical.
    FromMont,
    /// Montgomery product on Montgomery-form values.
    MontMul,
}

/// What building and running one operation's kernel needs.
struct OpSpec {
    /// The name in errors (`FieldError::LengthMismatch::op`).
    name: &'static str,
    /// The kernel (and shader file) name.
    kernel: &'static str,
    spirv: &'static [u8],
    inputs: u32,
}

impl FqOp {
    /// Every operation, in discriminant order.
    const ALL: [FqOp; 10] = [
        FqOp::Add,
        FqOp::Sub,
        FqOp::Neg,
        FqOp::Double,
        FqOp::Mul,
        FqOp::Square,
        FqOp::Fma,
        FqOp::ToMont,
        FqOp::FromMont,
        FqOp::MontMul,
    ];

    const fn spec(self) -> OpSpec {
        let (name, kernel, spirv, inputs): (_, _, &'static [u8], _) = match self {
            FqOp::Add => ("add", "fq_add", spirv!("fq_add"), 2),
            FqOp::Sub => ("sub", "fq_sub", spirv!("fq_sub"), 2),
            FqOp::Neg => ("neg", "fq_neg", spirv!("fq_neg"), 1),
            FqOp::Double => ("double", "fq_double", spirv!("fq_double"), 1),
            FqOp::Mul => ("mul", "fq_mul", spirv!("fq_mul"), 2),
            FqOp::Square => ("square", "fq_square", spirv!("fq_square"), 1),
            FqOp::Fma => ("fma", "fq_fma", spirv!("fq_fma"), 3),
            FqOp::ToMont => ("to_mont", "fq_to_mont", spirv!("fq_to_mont"), 1),
            FqOp::FromMont => ("from_mont", "fq_from_mont", spirv!("fq_from_mont"), 1),
            FqOp::MontMul => ("mont_mul", "fq_mont_mul", spirv!("fq_mont_mul"), 2),
        };
        OpSpec {
            name,
            kernel,
            spirv,
            inputs,
        }
    }
}

/// An element type that travels to and from the GPU as 6 little-endian u64 limbs.
pub(crate) trait GpuElement: Copy + Send + Sync {
    /// The limbs as stored (canonical for [`Fq`], Montgomery form for [`FqMont`]).
    fn words(&self) -> &[u64; FQ_LIMBS];
    /// The element with these limbs, which the caller has checked are `< p`.
    fn from_checked(words: [u64; FQ_LIMBS]) -> Self;
}

impl GpuElement for Fq {
    fn words(&self) -> &[u64; FQ_LIMBS] {
        self.limbs()
    }

    fn from_checked(words: [u64; FQ_LIMBS]) -> Self {
        Fq::from_canonical_limbs(words)
    }
}

impl GpuElement for FqMont {
    fn words(&self) -> &[u64; FQ_LIMBS] {
        self.mont_limbs()
    }

    fn from_checked(words: [u64; FQ_LIMBS]) -> Self {
        FqMont::from_canonical_mont_limbs(words)
    }
}

/// Fq batch operations on one Vulkan [`Context`], with its kernels built once.
///
/// Every operation is element-wise over equally long slices and bit-identical to the CPU
/// path: results are always canonical (`< p`). [`add`](Self::add), [`sub`](Self::sub),
/// [`neg`](Self::neg) and [`double`](Self::double) are the same in canonical and Montgomery
/// form; [`mul`](Self::mul), [`square`](Self::square) and [`fma`](Self::fma) take and return
/// canonical values; [`mont_mul`](Self::mont_mul) works on [`FqMont`], and
/// [`to_mont`](Self::to_mont) / [`from_mont`](Self::from_mont) convert.
///
/// ```no_run
/// use std::sync::Arc;
/// use field_bls12::{Fq, FqGpu};
/// use vk_backend::{Context, ContextConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gpu = FqGpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
/// assert_eq!(gpu.add(&[Fq::ONE], &[Fq::ONE])?, vec![Fq::from_u64(2)]);
/// assert_eq!(gpu.mul(&[Fq::from_u64(3)], &[Fq::from_u64(5)])?, vec![Fq::from_u64(15)]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct FqGpu {
    ctx: Arc<Context>,
    /// One kernel per [`FqOp`], indexed by `FqOp as usize`.
    kernels: Vec<Kernel>,
    /// Batches above this many bytes per buffer are streamed.
    stream_above: u64,
    /// Workgroup size of every kernel, programs included.
    workgroup_size: u32,
    /// Program kernels by specialization constants: asking the context would hash the
    /// program SPIR-V (~800 KB) on every call, ~0.2 ms, the cost of a whole small job.
    programs: std::sync::Mutex<std::collections::HashMap<(usize, Vec<u32>), Kernel>>,
}

impl FqGpu {
    /// Builds the kernels on `ctx` with [`DEFAULT_WORKGROUP_SIZE`].
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
        if !ctx.shader_int64() {
            return Err(FieldError::Gpu(vk_backend::Error::Unsupported {
                what: "shaderInt64 (64-bit integers in shaders, used by the Fq multiplication kernels)".to_owned(),
            }));
        }
        let workgroup_size = workgroup_size.unwrap_or(DEFAULT_WORKGROUP_SIZE);
        let kernels = FqOp::ALL
            .iter()
            .enumerate()
            .map(|(index, &op)| {
                debug_assert_eq!(index, op as usize, "FqOp::ALL is in discriminant order");
                let spec = op.spec();
                let desc =
                    KernelDesc::elementwise(spec.kernel, spec.spirv, spec.inputs, FQ_LIMBS as u32)
                        .with_workgroup_size(workgroup_size);
                ctx.create_kernel(&desc)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            ctx,
            kernels,
            stream_above: STREAM_ABOVE_BYTES,
            workgroup_size,
            programs: Default::default(),
        })
    }

    /// The same, streaming batches above `bytes` per buffer instead of
    /// [`STREAM_ABOVE_BYTES`] (results never depend on it).
    pub fn with_stream_above(mut self, bytes: u64) -> Self {
        self.stream_above = bytes;
        self
    }

    /// The context the kernels run on.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Element-wise `a[i] + b[i] mod p` (the same in canonical and Montgomery form).
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] when the lengths differ, [`FieldError::Gpu`] when the
    /// device fails. An empty batch gives an empty result without touching the GPU.
    pub fn add(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Add, [a, b])
    }

    /// Element-wise `a[i] - b[i] mod p` (the same in canonical and Montgomery form).
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn sub(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Sub, [a, b])
    }

    /// Element-wise `-a[i] mod p` (0 stays 0; the same in canonical and Montgomery form).
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn neg(&self, a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Neg, [a])
    }

    /// Element-wise `2 a[i] mod p` (the same in canonical and Montgomery form).
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn double(&self, a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Double, [a])
    }

    /// Element-wise `a[i] * b[i] mod p` on canonical values.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn mul(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Mul, [a, b])
    }

    /// Element-wise `a[i]^2 mod p` on canonical values.
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn square(&self, a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Square, [a])
    }

    /// Element-wise `a[i] * b[i] + c[i] mod p` on canonical values, in one kernel.
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] (op `fma`) when `b` or `c` is not as long as `a`;
    /// otherwise as [`add`](Self::add).
    pub fn fma(&self, a: &[Fq], b: &[Fq], c: &[Fq]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::Fma, [a, b, c])
    }

    /// Converts canonical values to Montgomery form (`a[i] * R mod p`, `R = 2^384`).
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn to_mont(&self, a: &[Fq]) -> Result<Vec<FqMont>, FieldError> {
        self.run(FqOp::ToMont, [a])
    }

    /// Converts Montgomery-form values back to canonical ones (`a[i] * R^-1 mod p`).
    ///
    /// # Errors
    /// [`FieldError::Gpu`] when the device fails.
    pub fn from_mont(&self, a: &[FqMont]) -> Result<Vec<Fq>, FieldError> {
        self.run(FqOp::FromMont, [a])
    }

    /// Element-wise Montgomery product `a[i] * b[i] * R^-1 mod p`: the Montgomery form of the
    /// product of the values `a[i]` and `b[i]` represent.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn mont_mul(&self, a: &[FqMont], b: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
        self.run(FqOp::MontMul, [a, b])
    }

    /// The kernel that runs `program` (built on first use, then cached here and by the
    /// context's pipeline cache).
    pub(crate) fn program_kernel(&self, program: &crate::FqProgram) -> Result<Kernel, FieldError> {
        let constants = program.spec_constants();
        let key = (program.inputs(), constants);
        let mut programs = self.programs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = programs.get(&key) {
            return Ok(k.clone());
        }
        let constants = &key.1;
        let desc = KernelDesc::elementwise(
            "fq_program",
            program.spirv(),
            program.inputs() as u32,
            FQ_LIMBS as u32,
        )
        .with_workgroup_size(self.workgroup_size)
        .with_spec_constants(constants);
        let kernel = self.ctx.create_kernel(&desc)?;
        programs.insert(key.clone(), kernel.clone());
        Ok(kernel)
    }

    /// The kernel of `op`, for callers that record their own batches on
    /// [`FqGpu::context`] (resident data, benchmarks). Its interface: `inputs` buffers of
    /// 6-word elements, then the output (see [`vk_backend::KernelDesc`]).
    pub fn kernel(&self, op: FqOp) -> &Kernel {
        &self.kernels[op as usize]
    }

    /// Runs `op`'s kernel over `inputs` (all as long as the first) and checks that every
    /// output element is canonical. Batches up to `stream_above` bytes per buffer go in one
    /// round trip; larger ones stream in chunks whose transfers overlap.
    fn run<I: GpuElement, O: GpuElement, const N: usize>(
        &self,
        op: FqOp,
        inputs: [&[I]; N],
    ) -> Result<Vec<O>, FieldError> {
        let spec = op.spec();
        debug_assert_eq!(
            N, spec.inputs as usize,
            "{} takes {} inputs",
            spec.name, spec.inputs
        );
        self.run_kernel(&self.kernels[op as usize], spec.name, &inputs)
    }

    /// Runs an element-wise `kernel` (named `name` in errors) over equally long `inputs`,
    /// as [`FqGpu::run`] describes.
    pub(crate) fn run_kernel<I: GpuElement, O: GpuElement>(
        &self,
        kernel: &Kernel,
        name: &'static str,
        inputs: &[&[I]],
    ) -> Result<Vec<O>, FieldError> {
        let mut out = Vec::with_capacity(inputs.first().map_or(0, |a| a.len()));
        self.run_kernel_with(kernel, name, inputs, |range, words| {
            read_limbs(&mut out, words, range.start)
        })?;
        Ok(out)
    }

    /// As [`FqGpu::run_kernel`], writing into `out` (as long as the inputs): no result
    /// vector to allocate, which for large batches saves the page faults of fresh memory.
    /// `out` only ever holds checked, canonical values; after an error, some of them may be
    /// stale.
    pub(crate) fn run_kernel_into<I: GpuElement, O: GpuElement>(
        &self,
        kernel: &Kernel,
        name: &'static str,
        inputs: &[&[I]],
        out: &mut [O],
    ) -> Result<(), FieldError> {
        check_lengths(name, inputs.first().map_or(0, |a| a.len()), out.len())?;
        self.run_kernel_with(kernel, name, inputs, |range, words| {
            read_limbs_into(&mut out[range.clone()], words, range.start)
        })
    }

    /// Runs `kernel` over `inputs` and hands each finished range of output words to `sink`
    /// (in order): one round trip up to `stream_above` bytes per buffer, streamed above.
    fn run_kernel_with<I: GpuElement>(
        &self,
        kernel: &Kernel,
        name: &'static str,
        inputs: &[&[I]],
        mut sink: impl FnMut(std::ops::Range<usize>, &[u64]) -> Result<(), FieldError>,
    ) -> Result<(), FieldError> {
        let count = inputs.first().map_or(0, |a| a.len());
        for other in inputs.iter().skip(1) {
            check_lengths(name, count, other.len())?;
        }
        if count == 0 {
            return Ok(());
        }
        if (count * FQ_BYTES) as u64 <= self.stream_above {
            let fill = |i: usize, dst: &mut [u64]| write_limbs(dst, inputs[i]);
            return self
                .ctx
                .run_elementwise(kernel, count, fill, |words| sink(0..count, words))?;
        }
        let mut bad = None;
        self.ctx.run_streamed(
            kernel,
            count,
            0,
            |i, range, dst| write_limbs(dst, &inputs[i][range]),
            |range, words| {
                if bad.is_none() {
                    bad = sink(range, words).err();
                }
            },
        )?;
        bad.map_or(Ok(()), Err)
    }
}

/// The SPIR-V of every per-operation kernel (for [`crate::kernels_fingerprint`]).
pub(crate) fn op_spirv() -> Vec<&'static [u8]> {
    FqOp::ALL.iter().map(|op| op.spec().spirv).collect()
}

/// Workgroup size of the Fq kernels unless asked otherwise. Measured on the H100
/// (2026-11-21, warm, 16Mi resident elements): it hardly matters for these kernels (a
/// Montgomery product 16.7 G/s at 64 and 128, 16.6 at 256 and 512; add 2.57 TB/s at 64 and
/// 128, 2.55 at 256), and the smallest of the best keeps tail workgroups short.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 64;

/// Batches above this many bytes per buffer are streamed ([`Context::run_streamed`]) so
/// their uploads, kernels and downloads overlap; smaller ones take one round trip.
pub const STREAM_ABOVE_BYTES: u64 = 32 << 20;

/// Elements per parallel task when copying limbs between host memory and GPU memory: one
/// thread writes mapped memory at ~10 GB/s, so large copies use every core. Smaller copies
/// stay on the calling thread: handing work to rayon's pool from outside it costs
/// microseconds, the whole budget of a small round trip.
const COPY_CHUNK: usize = 1 << 14;

/// Writes the limbs of `src` into `dst`.
pub(crate) fn write_limbs<I: GpuElement>(dst: &mut [u64], src: &[I]) {
    let write = |(d, s): (&mut [u64], &[I])| {
        for (d, s) in d.as_chunks_mut::<FQ_LIMBS>().0.iter_mut().zip(s) {
            *d = *s.words();
        }
    };
    if src.len() <= COPY_CHUNK {
        write((dst, src));
    } else {
        dst.par_chunks_mut(COPY_CHUNK * FQ_LIMBS)
            .zip(src.par_chunks(COPY_CHUNK))
            .for_each(write);
    }
}

/// Appends the elements in kernel output `words` to `out`, checking that all are
/// canonical; a bad one is reported at its index in the whole batch (`base` + position),
/// and `out` is then to be discarded. Large outputs are checked and converted in one
/// parallel pass straight into `out`'s memory (one thread page-faulting a fresh gigabyte
/// would take longer than the GPU work, and a separate checking pass costs another read).
pub(crate) fn read_limbs<O: GpuElement>(
    out: &mut Vec<O>,
    words: &[u64],
    base: usize,
) -> Result<(), FieldError> {
    let limbs = words.as_chunks::<FQ_LIMBS>().0;
    // The kernel's output must be canonical; checking costs a compare per element and
    // turns a kernel bug into an error instead of a wrong answer. A bad element becomes 0
    // in `out` (never observed: the caller gets the error) and its index is kept.
    let first_bad = AtomicUsize::new(usize::MAX);
    let convert = |(i, w): (usize, &[u64; FQ_LIMBS])| {
        if is_canonical(w) {
            O::from_checked(*w)
        } else {
            first_bad.fetch_min(i, Ordering::Relaxed);
            O::from_checked([0; FQ_LIMBS])
        }
    };
    if limbs.len() <= COPY_CHUNK {
        out.extend(limbs.iter().enumerate().map(convert));
    } else {
        out.par_extend(
            limbs
                .par_iter()
                .enumerate()
                .with_min_len(COPY_CHUNK)
                .map(convert),
        );
    }
    match first_bad.into_inner() {
        usize::MAX => Ok(()),
        i => Err(FieldError::GpuResultNotCanonical { index: base + i }),
    }
}

/// Writes the elements in kernel output `words` into `out` (as many), after checking that
/// all are canonical (so `out` never holds a bad value); a bad one is reported at its index
/// in the whole batch (`base` + position).
fn read_limbs_into<O: GpuElement>(
    out: &mut [O],
    words: &[u64],
    base: usize,
) -> Result<(), FieldError> {
    let limbs = words.as_chunks::<FQ_LIMBS>().0;
    let bad = |w: &[u64; FQ_LIMBS]| !is_canonical(w);
    let first_bad = if limbs.len() <= COPY_CHUNK {
        limbs.iter().position(bad)
    } else {
        limbs
            .par_iter()
            .with_min_len(COPY_CHUNK)
            .position_first(bad)
    };
    if let Some(i) = first_bad {
        return Err(FieldError::GpuResultNotCanonical { index: base + i });
    }
    let copy = |(o, w): (&mut [O], &[[u64; FQ_LIMBS]])| {
        for (o, w) in o.iter_mut().zip(w) {
            *o = O::from_checked(*w);
        }
    };
    if limbs.len() <= COPY_CHUNK {
        copy((out, limbs));
    } else {
        out.par_chunks_mut(COPY_CHUNK)
            .zip(limbs.par_chunks(COPY_CHUNK))
            .for_each(copy);
    }
    Ok(())
}
