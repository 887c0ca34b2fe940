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
use vk_backend::{Context, Kernel, KernelDesc, SpirvModule};

use crate::error::check_lengths;
use crate::fq::{first_non_canonical, is_canonical, FQ_BYTES, FQ_LIMBS};
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
pub(crate) use spirv;

/// A kernel this crate embeds, as a module the backend may run. One of the crate's few
/// audited `unsafe` places (see `raw.rs`): the others may not use `unsafe` at all.
#[allow(unsafe_code)]
pub(crate) fn embedded_module(spirv: &'static [u8]) -> SpirvModule {
    // SAFETY: every shader under shaders/fq guards each access with `index < count`
    // (`shaders/include/index.glsl`, `tile.glsl`) and is used only with its own interface:
    // an operation's kernel with the inputs of its `OpSpec`, a program kernel with the
    // program's inputs (1 to 4), elements of 6 words; program kernels are specialised only
    // with `FqProgram::spec_constants`, whose register numbers stay below
    // MAX_PROGRAM_REGISTERS, the size of the kernel's register file. Every kernel is tested
    // against the CPU under the validation layer (tests/gpu_ops.rs, tests/program.rs).
    unsafe { SpirvModule::from_bytes_unchecked(spirv) }
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
    /// Direct flavour: each invocation loads and stores its own element.
    spirv: &'static [u8],
    /// Tiled flavour (`shaders/include/tile.glsl`): coalesced I/O through shared memory.
    tiled_spirv: &'static [u8],
    inputs: u32,
    /// Whether the operation is memory-bound, so that the tiled flavour is also the faster
    /// one on large resident data.
    memory_bound: bool,
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
        let (name, kernel, spirv, tiled_spirv, inputs): (_, _, &'static [u8], &'static [u8], _) =
            match self {
                FqOp::Add => ("add", "fq_add", spirv!("fq_add"), spirv!("fq_add_tiled"), 2),
                FqOp::Sub => ("sub", "fq_sub", spirv!("fq_sub"), spirv!("fq_sub_tiled"), 2),
                FqOp::Neg => ("neg", "fq_neg", spirv!("fq_neg"), spirv!("fq_neg_tiled"), 1),
                FqOp::Double => (
                    "double",
                    "fq_double",
                    spirv!("fq_double"),
                    spirv!("fq_double_tiled"),
                    1,
                ),
                FqOp::Mul => ("mul", "fq_mul", spirv!("fq_mul"), spirv!("fq_mul_tiled"), 2),
                FqOp::Square => (
                    "square",
                    "fq_square",
                    spirv!("fq_square"),
                    spirv!("fq_square_tiled"),
                    1,
                ),
                FqOp::Fma => ("fma", "fq_fma", spirv!("fq_fma"), spirv!("fq_fma_tiled"), 3),
                FqOp::ToMont => (
                    "to_mont",
                    "fq_to_mont",
                    spirv!("fq_to_mont"),
                    spirv!("fq_to_mont_tiled"),
                    1,
                ),
                FqOp::FromMont => (
                    "from_mont",
                    "fq_from_mont",
                    spirv!("fq_from_mont"),
                    spirv!("fq_from_mont_tiled"),
                    1,
                ),
                FqOp::MontMul => (
                    "mont_mul",
                    "fq_mont_mul",
                    spirv!("fq_mont_mul"),
                    spirv!("fq_mont_mul_tiled"),
                    2,
                ),
            };
        OpSpec {
            name,
            kernel,
            spirv,
            tiled_spirv,
            inputs,
            memory_bound: matches!(self, FqOp::Add | FqOp::Sub | FqOp::Neg | FqOp::Double),
        }
    }
}

/// A program kernel's cache key: (inputs, tiled, specialization constants).
type ProgramKey = (usize, bool, Vec<u32>);

/// An element type that travels to and from the GPU as 6 little-endian u64 limbs.
pub(crate) trait GpuElement: Copy + Send + Sync {
    /// The limbs as stored (canonical for [`Fq`], Montgomery form for [`FqMont`]).
    fn words(&self) -> &[u64; FQ_LIMBS];
    /// The element with these limbs, which the caller has checked are `< p`.
    fn from_checked(words: [u64; FQ_LIMBS]) -> Self;
    /// Writes `self` into `dst`; for `Fq` around the caches (then [`crate::raw::stream_fence`]
    /// before the writes are published), which spares a large copy the read of every line
    /// it overwrites.
    fn store_streaming(self, dst: &mut Self) {
        *dst = self;
    }
    /// As [`GpuElement::store_streaming`], into uninitialised memory.
    fn store_streaming_uninit(self, dst: &mut std::mem::MaybeUninit<Self>) {
        dst.write(self);
    }
}

impl GpuElement for Fq {
    fn words(&self) -> &[u64; FQ_LIMBS] {
        self.limbs()
    }

    fn from_checked(words: [u64; FQ_LIMBS]) -> Self {
        Fq::from_canonical_limbs(words)
    }

    fn store_streaming(self, dst: &mut Self) {
        crate::raw::stream_store(dst, self);
    }

    fn store_streaming_uninit(self, dst: &mut std::mem::MaybeUninit<Self>) {
        crate::raw::stream_store_uninit(dst, self);
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
    /// One kernel per [`FqOp`], indexed by `FqOp as usize`: direct flavour, then tiled.
    kernels: Vec<Kernel>,
    tiled_kernels: Vec<Kernel>,
    /// Batches above this many bytes per buffer are streamed.
    stream_above: u64,
    /// Workgroup size of the direct kernels and of the tiled ones, programs included.
    workgroup_size: u32,
    tiled_workgroup_size: u32,
    /// Program kernels by (inputs, tiled, specialization constants): asking the context
    /// would hash the program SPIR-V (~800 KB) on every call, ~0.2 ms, the cost of a whole
    /// small job.
    programs: std::sync::Mutex<std::collections::HashMap<ProgramKey, Kernel>>,
}

impl FqGpu {
    /// Builds the kernels on `ctx` with the default workgroup sizes (64 for the direct
    /// kernels, 256 for the tiled ones: measured best on the H100).
    ///
    /// # Errors
    /// Vulkan errors from pipeline creation.
    pub fn new(ctx: Arc<Context>) -> Result<Self, FieldError> {
        Self::build(ctx, None)
    }

    /// Builds the kernels with an explicit workgroup size (results never depend on it).
    ///
    /// # Errors
    /// [`vk_backend::Error::InvalidArgument`] for a size outside the device's limits or
    /// above [`MAX_WORKGROUP_SIZE`].
    pub fn with_workgroup_size(ctx: Arc<Context>, size: u32) -> Result<Self, FieldError> {
        Self::build(ctx, Some(size))
    }

    fn build(ctx: Arc<Context>, workgroup_size: Option<u32>) -> Result<Self, FieldError> {
        if !ctx.shader_int64() || !ctx.shader_float64() {
            return Err(FieldError::Gpu(vk_backend::Error::Unsupported {
                what: "shaderInt64 and shaderFloat64 (64-bit integers and doubles in shaders, \
                       used by the Fq multiplication kernels)"
                    .to_owned(),
            }));
        }
        if let Some(size) = workgroup_size.filter(|&s| s > MAX_WORKGROUP_SIZE) {
            return Err(FieldError::Gpu(vk_backend::Error::InvalidArgument(
                format!(
                    "workgroup size {size} is above {MAX_WORKGROUP_SIZE}, the most the tiled Fq \
                 kernels hold in shared memory"
                ),
            )));
        }
        let (workgroup_size, tiled_workgroup_size) = match workgroup_size {
            Some(size) => (size, size),
            None => (DEFAULT_WORKGROUP_SIZE, TILED_WORKGROUP_SIZE),
        };
        let build = |tiled: bool| {
            FqOp::ALL
                .iter()
                .enumerate()
                .map(|(index, &op)| {
                    debug_assert_eq!(index, op as usize, "FqOp::ALL is in discriminant order");
                    let spec = op.spec();
                    let (spirv, size) = if tiled {
                        (spec.tiled_spirv, tiled_workgroup_size)
                    } else {
                        (spec.spirv, workgroup_size)
                    };
                    let module = embedded_module(spirv);
                    let desc =
                        KernelDesc::elementwise(spec.kernel, &module, spec.inputs, FQ_LIMBS as u32)
                            .with_workgroup_size(size);
                    ctx.create_kernel(&desc)
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let (kernels, tiled_kernels) = (build(false)?, build(true)?);
        Ok(Self {
            ctx,
            kernels,
            tiled_kernels,
            stream_above: STREAM_ABOVE_BYTES,
            workgroup_size,
            tiled_workgroup_size,
            programs: Default::default(),
        })
    }

    /// The same, streaming batches above `bytes` per buffer instead of 32 MiB (results
    /// never depend on it).
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

    /// The kernel that runs `program`, with tiled I/O or direct (built on first use, then
    /// cached here and by the context's pipeline cache).
    pub(crate) fn program_kernel(
        &self,
        program: &crate::FqProgram,
        tiled: bool,
    ) -> Result<Kernel, FieldError> {
        // A single operation runs as its own kernel, without the program kernel's register
        // file and Montgomery conversions: the same results, less work (a product is two
        // Montgomery products there, four in the program kernel).
        if let Some(op) = program.as_op() {
            return Ok(self.op_kernel(op, tiled).clone());
        }
        let constants = program.spec_constants();
        let key = (program.inputs(), tiled, constants);
        let mut programs = self.programs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = programs.get(&key) {
            return Ok(k.clone());
        }
        let constants = &key.2;
        let desc = KernelDesc::elementwise(
            "fq_program",
            program.spirv(tiled),
            program.inputs() as u32,
            FQ_LIMBS as u32,
        )
        .with_workgroup_size(if tiled {
            self.tiled_workgroup_size
        } else {
            self.workgroup_size
        })
        .with_spec_constants(constants);
        let kernel = self.ctx.create_kernel(&desc)?;
        programs.insert(key.clone(), kernel.clone());
        Ok(kernel)
    }

    /// The kernel of `op` for large resident data, for callers that record their own
    /// batches on [`FqGpu::context`] (benchmarks, say): the tiled flavour for memory-bound
    /// operations, the direct one for the multiplying ones. Its interface: `inputs` buffers
    /// of 6-word elements, then the output (see [`vk_backend::KernelDesc`]).
    pub fn kernel(&self, op: FqOp) -> &Kernel {
        self.op_kernel(op, op.spec().memory_bound)
    }

    /// The kernel of `op` in the tiled flavour (coalesced I/O through shared memory), the
    /// one for buffers in host memory, which it reads and writes over the bus at PCIe
    /// speed (`shaders/include/tile.glsl`).
    pub fn tiled_kernel(&self, op: FqOp) -> &Kernel {
        self.op_kernel(op, true)
    }

    fn op_kernel(&self, op: FqOp, tiled: bool) -> &Kernel {
        if tiled {
            &self.tiled_kernels[op as usize]
        } else {
            &self.kernels[op as usize]
        }
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
        let tiled = round_trip_tiled(inputs.first().map_or(0, |a| a.len()));
        self.run_kernel(self.op_kernel(op, tiled), spec.name, &inputs)
    }

    /// Runs an element-wise `kernel` (named `name` in errors) over equally long `inputs`,
    /// as [`FqGpu::run`] describes.
    pub(crate) fn run_kernel<I: GpuElement, O: GpuElement>(
        &self,
        kernel: &Kernel,
        name: &'static str,
        inputs: &[&[I]],
    ) -> Result<Vec<O>, FieldError> {
        let count = inputs.first().map_or(0, |a| a.len());
        let mut out = crate::raw::output_vec(count);
        if (count * FQ_BYTES) as u64 > self.stream_above {
            prefault(&mut out);
        }
        self.run_kernel_with(kernel, name, inputs, |range, words, verified| {
            if verified {
                extend_verified(&mut out, words);
                Ok(())
            } else {
                read_limbs(&mut out, words, range.start)
            }
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
        self.run_kernel_with(kernel, name, inputs, |range, words, verified| {
            if verified {
                copy_verified_into(&mut out[range], words);
                Ok(())
            } else {
                read_limbs_into(&mut out[range.clone()], words, range.start)
            }
        })
    }

    /// Runs `kernel` over `inputs` and hands each finished range of output words to `sink`
    /// (in order): one round trip up to `stream_above` bytes per buffer, streamed above.
    /// `sink(range, words, verified)`: `verified` when the kernel's own check of the values
    /// it stored passed (streamed chunks, whose kernel flags come back with them), so the
    /// words need no second look; otherwise the sink checks them as it copies. A flagged
    /// chunk is not passed on: the job fails at its first value `>= p`.
    fn run_kernel_with<I: GpuElement>(
        &self,
        kernel: &Kernel,
        name: &'static str,
        inputs: &[&[I]],
        mut sink: impl FnMut(std::ops::Range<usize>, &[u64], bool) -> Result<(), FieldError>,
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
                .run_elementwise(kernel, count, fill, |words| sink(0..count, words, false))?;
        }
        let mut bad = None;
        self.ctx.run_streamed(
            kernel,
            count,
            0,
            |i, range, dst| write_limbs(dst, &inputs[i][range]),
            |range, words, flags| {
                if bad.is_none() {
                    bad = if flags == 0 {
                        sink(range, words, true).err()
                    } else {
                        // A flag with no value >= p to be found: the words changed after
                        // the kernel stored them, a fault all the same, blamed on the
                        // chunk's start.
                        let limbs = words.as_chunks::<FQ_LIMBS>().0;
                        let at = first_non_canonical(limbs).unwrap_or(0);
                        Some(FieldError::GpuResultNotCanonical {
                            index: range.start + at,
                        })
                    };
                }
            },
        )?;
        bad.map_or(Ok(()), Err)
    }
}

/// The SPIR-V of every per-operation kernel (for [`crate::kernels_fingerprint`]).
pub(crate) fn op_spirv() -> Vec<&'static [u8]> {
    FqOp::ALL
        .iter()
        .flat_map(|op| [op.spec().spirv, op.spec().tiled_spirv])
        .collect()
}

/// Batches of at most this many elements take the direct kernels on a host round trip.
/// Their output is written straight into host memory; small batches run on few
/// workgroups, where the tiled flavour's large workgroups cost latency (H100, 2026-11-21:
/// 1Ki add round trip 29.2 us direct vs 33.8 us tiled at workgroup 256). Larger ones take
/// the tiled kernels, whose coalesced writes into host memory run at PCIe speed.
/// Not tuned between 1Ki and the large sizes.
pub(crate) const SMALL_BATCH: usize = 4096;

/// Whether a round trip of `count` elements takes the tiled kernels ([`SMALL_BATCH`]).
pub(crate) fn round_trip_tiled(count: usize) -> bool {
    count > SMALL_BATCH
}

/// Workgroup size of the direct (untiled) Fq kernels unless asked otherwise. Measured on
/// the H100 (2026-11-21, warm, 16Mi resident elements): a Montgomery product (FP64
/// columns) 19.76 G/s at 64, 19.78 at 128, 18.5 at 256 and 14.7 at 512 (registers limit
/// occupancy); the smallest of the best keeps tail workgroups short.
pub(crate) const DEFAULT_WORKGROUP_SIZE: u32 = 64;

/// Workgroup size of the tiled kernels (memory-bound operations, programs on host memory)
/// unless asked otherwise. Measured on the H100 (2026-11-21, 16Mi resident add): 2.02 TB/s
/// at 64, 2.74 at 128, 2.83 at 256 (their shared memory is sized for 256, so small
/// workgroups leave it idle and fewer fit on a multiprocessor).
pub(crate) const TILED_WORKGROUP_SIZE: u32 = 256;

/// The largest workgroup size [`FqGpu::with_workgroup_size`] accepts: the tiled kernels
/// hold one workgroup's elements in shared memory sized for it (`FQ_TILE_MAX` in
/// `shaders/include/tile.glsl`).
pub const MAX_WORKGROUP_SIZE: u32 = 256;

/// Batches above this many bytes per buffer are streamed ([`Context::run_streamed`]) so
/// their uploads, kernels and downloads overlap; smaller ones take one round trip.
pub(crate) const STREAM_ABOVE_BYTES: u64 = 32 << 20;

/// Elements per parallel task when copying limbs between host memory and GPU memory: one
/// thread writes mapped memory at ~10 GB/s, so large copies use every core. Smaller copies
/// stay on the calling thread: handing work to rayon's pool from outside it costs
/// microseconds, the whole budget of a small round trip.
const COPY_CHUNK: usize = 1 << 14;

/// The threads that move GPU jobs' data between callers' memory and GPU-visible memory:
/// a pool of their own, as many as the cores. On rayon's global pool these copies would
/// queue behind whatever CPU batch holds it (its workers finish their own tasks before
/// taking new ones), and a GPU job would wait milliseconds for a copy of microseconds;
/// here they share the cores with CPU batches instead (the OS interleaves the threads).
pub(crate) fn copy_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("fq-copy-{i}"))
            .build()
            // Without threads (the OS refused them) copies run on the global pool.
            .unwrap_or_else(|_| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .use_current_thread()
                    .build()
                    .expect("a pool on the current thread needs no new thread")
            })
    })
}

/// Touches every page of `out`'s spare capacity on all cores, so that a streamed job's
/// results, which arrive a chunk at a time, land in memory that is already there. Left to
/// the chunks, a fresh output's page faults (the kernel zeroing each 2 MiB huge page) ran
/// on the few threads that share a chunk's pages, inside the pipeline's host step: on the
/// H100 host (2026-11-22) a 1Mi add from slices took 9.37 ns per element into a fresh
/// vector and 6.63 into a reused one.
fn prefault<O: GpuElement>(out: &mut Vec<O>) {
    // One element written per 4 KiB page at least (elements are 48 bytes).
    const STRIDE: usize = 4096 / std::mem::size_of::<[u64; FQ_LIMBS]>();
    // 2 MiB per task: one huge page, which one thread's fault zeroes.
    const TASK: usize = STRIDE * 512;
    copy_pool().install(|| {
        out.spare_capacity_mut().par_chunks_mut(TASK).for_each(|c| {
            for e in c.iter_mut().step_by(STRIDE) {
                e.write(O::from_checked([0; FQ_LIMBS]));
            }
        })
    });
    // The writes must happen although the vector's length stays 0 and nothing reads them
    // before the results overwrite them.
    std::hint::black_box(out.spare_capacity_mut().as_ptr());
}

/// Writes the limbs of `src` into `dst`.
///
/// Large copies write around the caches on all cores: the destination is staging memory
/// that only the GPU reads next, so fetching its lines first (what ordinary stores do)
/// would be a third of the copy's memory traffic for nothing.
pub(crate) fn write_limbs<I: GpuElement>(dst: &mut [u64], src: &[I]) {
    if src.len() <= COPY_CHUNK {
        for (d, s) in dst.as_chunks_mut::<FQ_LIMBS>().0.iter_mut().zip(src) {
            *d = *s.words();
        }
    } else {
        copy_pool().install(|| {
            dst.par_chunks_mut(COPY_CHUNK * FQ_LIMBS)
                .zip(src.par_chunks(COPY_CHUNK))
                .for_each(|(d, s)| {
                    for (d, s) in d.as_chunks_mut::<FQ_LIMBS>().0.iter_mut().zip(s) {
                        crate::raw::stream_store_words(d, s.words());
                    }
                    crate::raw::stream_fence();
                })
        });
    }
}

/// Appends the elements in kernel output `words`, which the kernel has checked are all
/// canonical ([`FqGpu::run_kernel_with`]), to `out`: a parallel copy around the caches
/// (a fresh output's lines are not worth reading before they are overwritten).
fn extend_verified<O: GpuElement>(out: &mut Vec<O>, words: &[u64]) {
    let limbs = words.as_chunks::<FQ_LIMBS>().0;
    if limbs.len() <= COPY_CHUNK {
        out.extend(limbs.iter().map(|w| O::from_checked(*w)));
    } else {
        crate::raw::extend_par(out, limbs.len(), COPY_CHUNK, |i| O::from_checked(limbs[i]));
    }
}

/// Writes the elements in kernel output `words`, which the kernel has checked are all
/// canonical, into `out` (as many): in parallel and around the caches, so that
/// overwriting the caller's buffer does not first read it.
fn copy_verified_into<O: GpuElement>(out: &mut [O], words: &[u64]) {
    let limbs = words.as_chunks::<FQ_LIMBS>().0;
    let copy = |(o, w): (&mut [O], &[[u64; FQ_LIMBS]])| {
        for (o, w) in o.iter_mut().zip(w) {
            O::from_checked(*w).store_streaming(o);
        }
        crate::raw::stream_fence();
    };
    if limbs.len() <= COPY_CHUNK {
        copy((out, limbs));
    } else {
        copy_pool().install(|| {
            out.par_chunks_mut(COPY_CHUNK)
                .zip(limbs.par_chunks(COPY_CHUNK))
                .for_each(copy)
        });
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
        copy_pool().install(|| {
            out.par_extend(
                limbs
                    .par_iter()
                    .enumerate()
                    .with_min_len(COPY_CHUNK)
                    .map(convert),
            )
        });
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
    if let Some(i) = copy_pool().install(|| first_non_canonical(limbs)) {
        return Err(FieldError::GpuResultNotCanonical { index: base + i });
    }
    copy_verified_into(out, words);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_take_both_kernel_flavours() {
        // tests/gpu_ops.rs runs 1000 and 5000 elements to cover both.
        assert!(!round_trip_tiled(1000));
        assert!(round_trip_tiled(5000));
    }

    /// Raw words in place of elements. The crate's element types cannot hold a value
    /// `>= p`, and every kernel maps canonical inputs to canonical outputs (tested against
    /// the oracle), so from safe code no GPU result on the slice path is ever `>= p`; these
    /// stand for what a faulty kernel or memory would leave.
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Words([u64; FQ_LIMBS]);

    impl GpuElement for Words {
        fn words(&self) -> &[u64; FQ_LIMBS] {
            &self.0
        }

        fn from_checked(words: [u64; FQ_LIMBS]) -> Self {
            Words(words)
        }
    }

    /// The slice path (one round trip, and streamed in chunks of 1000) checks what the GPU
    /// returns: inputs of all ones at two places make the add kernel return values `>= p`
    /// (`2 (2^384 - 1)` reduced once), and the job fails naming the first of them by its
    /// index in the whole batch, returning no result; into a caller's buffer, every element
    /// is left either as it was or as its right result.
    #[test]
    fn slice_jobs_report_a_non_canonical_gpu_result_where_it_is() {
        let Some(ctx) = vk_backend::test_support::test_context_with(
            "slice_jobs_report_a_non_canonical_gpu_result",
            |c| c.with_stream_chunk_bytes(48 * 1000),
        ) else {
            return;
        };
        let n = 5000;
        let (first_bad, later_bad) = (3210, 4500);
        let mut a: Vec<Words> = (0..n as u64).map(|i| Words([i, 0, 0, 0, 0, 0])).collect();
        for i in [first_bad, later_bad] {
            a[i] = Words([u64::MAX; FQ_LIMBS]);
        }
        let right = |i: usize| Fq::from_u64(2 * i as u64);
        for (path, stream_above) in [("one round trip", u64::MAX), ("streamed", 48 * 1000)] {
            let gpu = FqGpu::new(ctx.arc())
                .unwrap()
                .with_stream_above(stream_above);
            let kernel = gpu.op_kernel(FqOp::Add, round_trip_tiled(n));
            let r = gpu.run_kernel::<Words, Fq>(kernel, "add", &[&a, &a]);
            assert!(
                matches!(r, Err(FieldError::GpuResultNotCanonical { index }) if index == first_bad),
                "{path}: {r:?}"
            );
            let mut out = vec![Fq::from_u64(7); n];
            let r = gpu.run_kernel_into::<Words, Fq>(kernel, "add", &[&a, &a], &mut out);
            assert!(
                matches!(r, Err(FieldError::GpuResultNotCanonical { index }) if index == first_bad),
                "{path}, into a buffer: {r:?}"
            );
            for (i, v) in out.iter().enumerate() {
                assert!(
                    *v == Fq::from_u64(7) || (*v == right(i) && i != first_bad),
                    "{path}, into a buffer: element {i} is {v}"
                );
            }
            // The same job on canonical values runs, as a control.
            let fine: Vec<Words> = (0..n as u64).map(|i| Words([i, 0, 0, 0, 0, 0])).collect();
            let sums = gpu.run_kernel::<Words, Fq>(kernel, "add", &[&fine, &fine]);
            assert_eq!(
                sums.unwrap(),
                (0..n).map(right).collect::<Vec<_>>(),
                "{path}"
            );
        }
    }

    /// The check itself, without a GPU: the first value `>= p` is reported at `base` plus
    /// its position, on the short (inline) and the long (parallel) path, and `read_limbs_into`
    /// writes nothing then.
    #[test]
    fn read_limbs_reports_the_first_non_canonical_value_at_its_batch_index() {
        for (len, bad) in [
            (10, vec![3, 7]),
            (3 * COPY_CHUNK + 5, vec![COPY_CHUNK + 9, 2 * COPY_CHUNK]),
        ] {
            let mut words: Vec<u64> = (0..len as u64).flat_map(|i| [i, 0, 0, 0, 0, 0]).collect();
            for &i in &bad {
                words[i * FQ_LIMBS..(i + 1) * FQ_LIMBS].copy_from_slice(&Fq::MODULUS);
            }
            let base = 1000;
            let mut out: Vec<Fq> = Vec::new();
            let r = read_limbs(&mut out, &words, base);
            assert!(
                matches!(r, Err(FieldError::GpuResultNotCanonical { index }) if index == base + bad[0]),
                "len {len}: {r:?}"
            );
            let mut into = vec![Fq::ONE; len];
            let r = read_limbs_into(&mut into, &words, base);
            assert!(
                matches!(r, Err(FieldError::GpuResultNotCanonical { index }) if index == base + bad[0]),
                "len {len}, into: {r:?}"
            );
            assert!(
                into.iter().all(|v| *v == Fq::ONE),
                "len {len}: nothing written"
            );
            // p - 1 is the largest value that passes.
            let mut p_minus_1 = Fq::MODULUS;
            p_minus_1[0] -= 1;
            for &i in &bad {
                words[i * FQ_LIMBS..(i + 1) * FQ_LIMBS].copy_from_slice(&p_minus_1);
            }
            let mut out: Vec<Fq> = Vec::new();
            read_limbs(&mut out, &words, base).unwrap();
            read_limbs_into(&mut into, &words, base).unwrap();
            assert_eq!(out, into);
            assert_eq!(out[bad[1]], Fq::from_limbs(p_minus_1).unwrap());
            assert_eq!(out[len - 1], Fq::from_u64(len as u64 - 1));
        }
    }
}
