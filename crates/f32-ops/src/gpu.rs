//! The GPU side: three general kernels (`shaders/f32/`), each operation one submission.

use std::sync::Arc;

use rayon::prelude::*;
use vk_backend::{Batch, Context, DeviceBuffer, Kernel, KernelDesc, SpirvModule};

use crate::cpu::{check_len, check_lengths, check_matmul, check_shape};
use crate::F32Error;

/// Operations of `f32_map.comp`.
const MAP_ADD: u32 = 0;
const MAP_RELU: u32 = 1;
const MAP_SIGMOID: u32 = 2;
const MAP_GELU: u32 = 3;
const MAP_SOFTMAX: u32 = 4;
/// Operations of `f32_reduce.comp`.
const REDUCE_DOT: u32 = 0;
const REDUCE_MAX: u32 = 1;
const REDUCE_EXP_SUM: u32 = 2;
const REDUCE_SUM: u32 = 3;
/// Values one workgroup of `f32_reduce.comp` reduces per level (256 invocations, 4 each).
const REDUCE_BLOCK: usize = 1024;
/// Workgroup size of the reduction and the matrix product (fixed in their shaders).
const WORKGROUP: u32 = 256;
/// Side of the square tile of C one workgroup of `f32_matmul.comp` computes.
const MATMUL_TILE: usize = 64;
/// Side of the tile of `f32_matmul_128.comp` and `f32_matmul_f16.comp`.
const MATMUL_TILE_LARGE: usize = 128;
/// Products with at least this many 128 x 128 tiles of C run `f32_matmul_128.comp`
/// (fewer, larger tiles: more products per value read from shared memory); smaller ones
/// the 64 x 64 tiles, four times as many workgroups to spread over the device. Measured on
/// the H200 (2026-12-06, resident, ms): 1000^3 0.151 with 128 x 128 tiles (64 of them)
/// against 0.105 with 64 x 64; 4096^3 4.21 against 5.19.
const LARGE_MATMUL_TILES: usize = 256;

/// The precision of a matrix product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    /// f32 products and sums.
    F32,
    /// f16 inputs, f32 accumulation, on the matrix units.
    F16,
}

/// A kernel this crate embeds, as a module the backend may run: the crate's one `unsafe`.
#[allow(unsafe_code)]
fn embedded_module(spirv: &'static [u8]) -> SpirvModule {
    // SAFETY: every shader under shaders/f32 bounds each buffer access by that buffer's
    // `length()` (and by the counts in its arguments), so no arguments make it reach
    // outside its buffers (f32_fma's step count only sets how long it runs); each is used
    // only with its own number of buffers (`F32Gpu::new`), and the fixed workgroup size of
    // f32_reduce and the matrix products (256) is the size their kernels are created with.
    // f32_matmul_f16's shared-memory indices assume subgroups of 32, and it is built only
    // where the context reports them (`Context::f16_matrix_products`). Every kernel is
    // tested under the validation layer (tests/gpu.rs; the f16 one where a device has it,
    // and by `hybrid-exec verify`).
    unsafe { SpirvModule::from_bytes_unchecked(spirv) }
}

macro_rules! module {
    ($file:literal) => {{
        static MODULE: std::sync::LazyLock<SpirvModule> = std::sync::LazyLock::new(|| {
            embedded_module(include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shaders/f32/",
                $file
            )))
        });
        &*MODULE
    }};
}

/// f32 operations on one Vulkan [`Context`], their kernels built once. Each call uploads
/// its inputs, runs, and reads its result back in one submission.
///
/// ```no_run
/// use std::sync::Arc;
/// use f32_ops::F32Gpu;
/// use vk_backend::{Context, ContextConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gpu = F32Gpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
/// let p = gpu.softmax(&[1.0, 2.0, 3.0])?;
/// assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
/// assert!((gpu.dot(&[1.0, 2.0], &[3.0, 4.0])? - 11.0).abs() < 1e-6);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct F32Gpu {
    ctx: Arc<Context>,
    map: Kernel,
    reduce: Kernel,
    matmul: Kernel,
    matmul_large: Kernel,
    /// Where the device offers f16 matrix products ([`Context::f16_matrix_products`]).
    matmul_f16: Option<Kernel>,
    fma: Kernel,
}

impl F32Gpu {
    /// Builds the kernels on `ctx`.
    ///
    /// # Errors
    /// [`F32Error::Backend`] when a kernel cannot be built.
    pub fn new(ctx: Arc<Context>) -> Result<Self, F32Error> {
        let map = module!("f32_map.spv");
        let reduce = module!("f32_reduce.spv");
        let matmul = module!("f32_matmul.spv");
        let matmul_large = module!("f32_matmul_128.spv");
        let fma = module!("f32_fma.spv");
        let matmul_f16 = if ctx.f16_matrix_products() {
            let desc = KernelDesc::general("f32_matmul_f16", module!("f32_matmul_f16.spv"), 3)
                .with_workgroup_size(WORKGROUP);
            Some(ctx.create_kernel(&desc)?)
        } else {
            None
        };
        Ok(Self {
            map: ctx.create_kernel(&KernelDesc::general("f32_map", map, 4))?,
            reduce: ctx.create_kernel(
                &KernelDesc::general("f32_reduce", reduce, 4).with_workgroup_size(WORKGROUP),
            )?,
            matmul: ctx.create_kernel(
                &KernelDesc::general("f32_matmul", matmul, 3).with_workgroup_size(WORKGROUP),
            )?,
            matmul_large: ctx.create_kernel(
                &KernelDesc::general("f32_matmul_128", matmul_large, 3)
                    .with_workgroup_size(WORKGROUP),
            )?,
            matmul_f16,
            fma: ctx.create_kernel(&KernelDesc::general("f32_fma", fma, 1))?,
            ctx,
        })
    }

    /// The device's f32 multiply-add rate in FLOP/s (two per fused multiply-add), the
    /// ceiling of matrix products: `invocations` independent invocations of 8 chains of
    /// `steps` multiply-adds each, timed by the GPU's timestamps (`None` where the queue has
    /// none). Enough invocations to fill the device (a few million on a large GPU) and a few
    /// hundred steps make the launch negligible.
    ///
    /// # Errors
    /// [`F32Error::TooLarge`] for more invocations than one dispatch takes;
    /// [`F32Error::Backend`].
    pub fn fma_rate(&self, invocations: usize, steps: u32) -> Result<Option<f64>, F32Error> {
        self.check_size("fma_rate", invocations)?;
        let out = self.ctx.alloc(1024, 1)?;
        let mut batch = self.ctx.timed_batch()?;
        batch.dispatch_general(&self.fma, &[&out], invocations, &[steps])?;
        let done = batch.submit()?.finish()?;
        Ok(done.timings().map(|t| {
            let flops = invocations as f64 * f64::from(steps) * 16.0;
            flops / (t.total_ns.max(1) as f64 * 1e-9)
        }))
    }

    /// The context the kernels run on.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// `a + b`, element by element: the CPU's [`add`](crate::cpu::add) bit for bit.
    ///
    /// # Errors
    /// [`F32Error::LengthMismatch`]; [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn add(&self, a: &[f32], b: &[f32]) -> Result<Vec<f32>, F32Error> {
        check_lengths("add", a, b)?;
        self.map_op("add", MAP_ADD, Src::Host(a), Some(Src::Host(b)))?
            .read()
    }

    /// `a` where it is above 0, else +0, element by element: the CPU's
    /// [`relu`](crate::cpu::relu) bit for bit.
    ///
    /// # Errors
    /// [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn relu(&self, a: &[f32]) -> Result<Vec<f32>, F32Error> {
        self.map_op("relu", MAP_RELU, Src::Host(a), None)?.read()
    }

    /// `1 / (1 + e^-a)`, element by element, within
    /// [`activation_bound`](crate::cpu::activation_bound).
    ///
    /// # Errors
    /// [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn sigmoid(&self, a: &[f32]) -> Result<Vec<f32>, F32Error> {
        self.map_op("sigmoid", MAP_SIGMOID, Src::Host(a), None)?
            .read()
    }

    /// GELU (tanh form, [`gelu`](crate::cpu::gelu)), element by element, within
    /// [`activation_bound`](crate::cpu::activation_bound) of its sigmoid's argument.
    ///
    /// # Errors
    /// [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn gelu(&self, a: &[f32]) -> Result<Vec<f32>, F32Error> {
        self.map_op("gelu", MAP_GELU, Src::Host(a), None)?.read()
    }

    /// Softmax of `a` ([`softmax`](crate::cpu::softmax)) in one submission: the maximum
    /// and the sum of exponentials by reduction levels, then the normalization; within
    /// [`softmax_bound`](crate::cpu::softmax_bound).
    ///
    /// # Errors
    /// [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn softmax(&self, a: &[f32]) -> Result<Vec<f32>, F32Error> {
        self.softmax_op(Src::Host(a))?.read()
    }

    /// `sum a_i b_i` in one submission (products summed in a tree), within
    /// [`sum_bound`](crate::cpu::sum_bound) of the exact sum; 0 for empty inputs.
    ///
    /// # Errors
    /// [`F32Error::LengthMismatch`]; [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn dot(&self, a: &[f32], b: &[f32]) -> Result<f32, F32Error> {
        check_lengths("dot", a, b)?;
        self.dot_op(Src::Host(a), Src::Host(b))
    }

    /// `C = A B` for row-major `a` (`m x k`) and `b` (`k x n`), `m x n` row-major: tiles of
    /// 64 x 64 or, for large products, 128 x 128 per workgroup, each element summed in f32
    /// in order of k, within [`sum_bound`](crate::cpu::sum_bound) of the exact product.
    ///
    /// # Errors
    /// [`F32Error::MatrixShape`]; [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn matmul(
        &self,
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<f32>, F32Error> {
        check_matmul(a, b, m, k, n)?;
        self.matmul_op(Src::Host(a), Src::Host(b), m, k, n, Precision::F32)?
            .read()
    }

    /// Whether [`matmul_f16`](Self::matmul_f16) runs here: the device multiplies f16
    /// matrices on its matrix units ([`Context::f16_matrix_products`]).
    pub fn has_f16_matmul(&self) -> bool {
        self.matmul_f16.is_some()
    }

    /// `C = A B` as [`matmul`](Self::matmul), but each value of A and B rounded to f16 and
    /// the products accumulated in f32 on the device's matrix units (16 x 16 x 16 products,
    /// tiles of 128 x 128 per workgroup): within
    /// [`f16_product_bound`](crate::cpu::f16_product_bound) of the exact product of the f32
    /// inputs. Values beyond f16's range (|x| > 65504) become infinities.
    ///
    /// # Errors
    /// [`F32Error::Unsupported`] where the device has no f16 matrix products
    /// ([`has_f16_matmul`](Self::has_f16_matmul)); as [`matmul`](Self::matmul) otherwise.
    pub fn matmul_f16(
        &self,
        a: &[f32],
        b: &[f32],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<f32>, F32Error> {
        check_matmul(a, b, m, k, n)?;
        self.matmul_op(Src::Host(a), Src::Host(b), m, k, n, Precision::F16)?
            .read()
    }

    /// Uploads `data` to the device, for the `*_resident` operations, which chain there
    /// without crossing the bus.
    ///
    /// # Errors
    /// [`F32Error::TooLarge`]; [`F32Error::Backend`].
    pub fn upload(&self, data: &[f32]) -> Result<F32Vec, F32Error> {
        self.check_size("upload", data.len())?;
        let mut batch = self.ctx.batch()?;
        let buf = self.upload_into(&mut batch, data)?;
        batch.submit()?.finish()?;
        Ok(F32Vec {
            buf,
            len: data.len(),
        })
    }

    /// Reads a resident vector back.
    ///
    /// # Errors
    /// [`F32Error::Backend`] (also for a vector of another context).
    pub fn download(&self, v: &F32Vec) -> Result<Vec<f32>, F32Error> {
        Ok(self.ctx.download(&v.buf, |w| unpack(w, v.len))?)
    }

    /// [`add`](Self::add) of resident vectors, into a new one.
    ///
    /// # Errors
    /// As [`add`](Self::add); [`F32Error::Backend`] for vectors of another context.
    pub fn add_resident(&self, a: &F32Vec, b: &F32Vec) -> Result<F32Vec, F32Error> {
        check_len("add", a.len, b.len)?;
        self.map_op("add", MAP_ADD, Src::Device(a), Some(Src::Device(b)))?
            .keep()
    }

    /// [`relu`](Self::relu) of a resident vector, into a new one.
    ///
    /// # Errors
    /// As [`add_resident`](Self::add_resident).
    pub fn relu_resident(&self, a: &F32Vec) -> Result<F32Vec, F32Error> {
        self.map_op("relu", MAP_RELU, Src::Device(a), None)?.keep()
    }

    /// [`sigmoid`](Self::sigmoid) of a resident vector, into a new one.
    ///
    /// # Errors
    /// As [`add_resident`](Self::add_resident).
    pub fn sigmoid_resident(&self, a: &F32Vec) -> Result<F32Vec, F32Error> {
        self.map_op("sigmoid", MAP_SIGMOID, Src::Device(a), None)?
            .keep()
    }

    /// [`gelu`](Self::gelu) of a resident vector, into a new one.
    ///
    /// # Errors
    /// As [`add_resident`](Self::add_resident).
    pub fn gelu_resident(&self, a: &F32Vec) -> Result<F32Vec, F32Error> {
        self.map_op("gelu", MAP_GELU, Src::Device(a), None)?.keep()
    }

    /// [`softmax`](Self::softmax) of a resident vector, into a new one.
    ///
    /// # Errors
    /// As [`add_resident`](Self::add_resident).
    pub fn softmax_resident(&self, a: &F32Vec) -> Result<F32Vec, F32Error> {
        self.softmax_op(Src::Device(a))?.keep()
    }

    /// [`dot`](Self::dot) of resident vectors.
    ///
    /// # Errors
    /// As [`add_resident`](Self::add_resident).
    pub fn dot_resident(&self, a: &F32Vec, b: &F32Vec) -> Result<f32, F32Error> {
        check_len("dot", a.len, b.len)?;
        self.dot_op(Src::Device(a), Src::Device(b))
    }

    /// [`matmul`](Self::matmul) of resident matrices, into a new one.
    ///
    /// # Errors
    /// As [`matmul`](Self::matmul); [`F32Error::Backend`] for vectors of another context.
    pub fn matmul_resident(
        &self,
        a: &F32Vec,
        b: &F32Vec,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<F32Vec, F32Error> {
        check_shape("A", a.len, m, k)?;
        check_shape("B", b.len, k, n)?;
        self.matmul_op(Src::Device(a), Src::Device(b), m, k, n, Precision::F32)?
            .keep()
    }

    /// [`matmul_f16`](Self::matmul_f16) on resident matrices, the result kept on the device.
    ///
    /// # Errors
    /// As [`matmul_f16`](Self::matmul_f16); [`F32Error::Backend`] for vectors of another
    /// context.
    pub fn matmul_f16_resident(
        &self,
        a: &F32Vec,
        b: &F32Vec,
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<F32Vec, F32Error> {
        check_shape("A", a.len, m, k)?;
        check_shape("B", b.len, k, n)?;
        self.matmul_op(Src::Device(a), Src::Device(b), m, k, n, Precision::F16)?
            .keep()
    }

    fn map_op(
        &self,
        op_name: &'static str,
        op: u32,
        a: Src<'_>,
        b: Option<Src<'_>>,
    ) -> Result<Output<'_>, F32Error> {
        let n = a.len();
        self.check_size(op_name, n)?;
        if n == 0 {
            return self.empty(0);
        }
        let mut batch = self.ctx.batch()?;
        let x = self.source(&mut batch, a)?;
        let y = match b {
            Some(b) => self.source(&mut batch, b)?,
            None => self.ctx.alloc(1, 1)?,
        };
        let stats = self.ctx.alloc(1, 1)?;
        let out = self.alloc_f32(n)?;
        batch.dispatch_general(&self.map, &[&x, &y, &stats, &out], n, &[n as u32, op])?;
        Ok(Output {
            batch,
            buf: out,
            len: n,
        })
    }

    fn softmax_op(&self, a: Src<'_>) -> Result<Output<'_>, F32Error> {
        let n = a.len();
        self.check_size("softmax", n)?;
        if n == 0 {
            return self.empty(0);
        }
        let mut batch = self.ctx.batch()?;
        let x = self.source(&mut batch, a)?;
        let stats = self.ctx.alloc(1, 1)?;
        let (d1, d2) = (self.ctx.alloc(1, 1)?, self.ctx.alloc(1, 1)?);
        // stats[0] = max x, then stats[1] = sum e^(x - stats[0]).
        self.record_reduce(&mut batch, [&x, &d1, &d2], REDUCE_MAX, n, &stats, 0)?;
        self.record_reduce(&mut batch, [&x, &d1, &stats], REDUCE_EXP_SUM, n, &stats, 1)?;
        let out = self.alloc_f32(n)?;
        batch.dispatch_general(
            &self.map,
            &[&x, &d1, &stats, &out],
            n,
            &[n as u32, MAP_SOFTMAX],
        )?;
        Ok(Output {
            batch,
            buf: out,
            len: n,
        })
    }

    fn dot_op(&self, a: Src<'_>, b: Src<'_>) -> Result<f32, F32Error> {
        let n = a.len();
        self.check_size("dot", n)?;
        if n == 0 {
            return Ok(0.0);
        }
        let mut batch = self.ctx.batch()?;
        let x = self.source(&mut batch, a)?;
        let y = self.source(&mut batch, b)?;
        let (result, dummy) = (self.ctx.alloc(1, 1)?, self.ctx.alloc(1, 1)?);
        self.record_reduce(&mut batch, [&x, &y, &dummy], REDUCE_DOT, n, &result, 0)?;
        Ok(Output {
            batch,
            buf: result,
            len: 1,
        }
        .read()?[0])
    }

    fn matmul_op(
        &self,
        a: Src<'_>,
        b: Src<'_>,
        m: usize,
        k: usize,
        n: usize,
        precision: Precision,
    ) -> Result<Output<'_>, F32Error> {
        let large = m.div_ceil(MATMUL_TILE_LARGE) * n.div_ceil(MATMUL_TILE_LARGE);
        let (kernel, tiles) = match precision {
            Precision::F32 if large >= LARGE_MATMUL_TILES => (&self.matmul_large, large),
            Precision::F32 => (
                &self.matmul,
                m.div_ceil(MATMUL_TILE) * n.div_ceil(MATMUL_TILE),
            ),
            Precision::F16 => match &self.matmul_f16 {
                Some(kernel) => (kernel, large),
                None => {
                    return Err(F32Error::Unsupported {
                        op: "matmul_f16",
                        reason: "the device offers no f16 matrix products \
                                 (VK_NV_cooperative_matrix, 16 x 16 x 16 f16 into f32)",
                    })
                }
            },
        };
        let elements = m * n;
        // Each dimension is at most its matrices' lengths, which fit the shader's indices.
        for len in [a.len(), b.len(), elements] {
            self.check_size("matmul", len)?;
        }
        if elements == 0 {
            return self.empty(0);
        }
        let mut batch = self.ctx.batch()?;
        let c = self.alloc_f32(elements)?;
        if k == 0 {
            batch.fill_zero(&c)?;
        } else {
            let x = self.source(&mut batch, a)?;
            let y = self.source(&mut batch, b)?;
            batch.dispatch_general(
                kernel,
                &[&x, &y, &c],
                tiles * WORKGROUP as usize,
                &[m as u32, n as u32, k as u32],
            )?;
        }
        Ok(Output {
            batch,
            buf: c,
            len: elements,
        })
    }

    /// An output of `len` zero values, with nothing to run.
    fn empty(&self, len: usize) -> Result<Output<'_>, F32Error> {
        let batch = self.ctx.batch()?;
        let buf = self.alloc_f32(len)?;
        Ok(Output { batch, buf, len })
    }

    /// The device buffer of an input: uploaded in `batch`, or the resident vector's own.
    fn source(&self, batch: &mut Batch<'_>, src: Src<'_>) -> Result<DeviceBuffer, F32Error> {
        match src {
            Src::Host(data) => self.upload_into(batch, data),
            Src::Device(v) => Ok(v.buf.clone()),
        }
    }

    /// Records the levels that reduce the first `n` values of `inputs[0]` (with
    /// `inputs[1]` and `inputs[2]` as the shader's b and stats) by `op` to one value, which
    /// lands in `dst` at `offset`. A level writes into `dst` only when it is the last one
    /// and `dst` is none of its inputs; otherwise into partial sums of its own.
    fn record_reduce(
        &self,
        batch: &mut Batch<'_>,
        inputs: [&DeviceBuffer; 3],
        mut op: u32,
        mut n: usize,
        dst: &DeviceBuffer,
        offset: u32,
    ) -> Result<(), F32Error> {
        let [mut input, mut b, mut stats] = inputs.map(DeviceBuffer::clone);
        loop {
            let groups = n.div_ceil(REDUCE_BLOCK).max(1);
            let last = groups == 1 && ![&input, &b, &stats].iter().any(|i| i.same_buffer(dst));
            let partial = if last {
                None
            } else {
                Some(self.alloc_f32(groups)?)
            };
            let (out, out_offset) = partial.as_ref().map_or((dst, offset), |p| (p, 0));
            batch.dispatch_general(
                &self.reduce,
                &[&input, &b, &stats, out],
                groups * WORKGROUP as usize,
                &[n as u32, op, out_offset],
            )?;
            let Some(partial) = partial else {
                return Ok(());
            };
            // Later levels reduce the partial results (sums of sums, maxima of maxima) and
            // read no b or stats.
            op = if op == REDUCE_MAX {
                REDUCE_MAX
            } else {
                REDUCE_SUM
            };
            (input, b, stats) = (partial, self.ctx.alloc(1, 1)?, self.ctx.alloc(1, 1)?);
            n = groups;
        }
    }

    fn check_size(&self, op: &'static str, elements: usize) -> Result<(), F32Error> {
        let limit = (self.ctx.max_kernel_buffer_bytes() / 4).min(u64::from(u32::MAX)) as usize;
        if elements > limit {
            Err(F32Error::TooLarge {
                op,
                elements,
                limit,
            })
        } else {
            Ok(())
        }
    }

    fn alloc_f32(&self, n: usize) -> Result<DeviceBuffer, F32Error> {
        Ok(self.ctx.alloc(n.div_ceil(2).max(1), 1)?)
    }

    fn upload_into(&self, batch: &mut Batch<'_>, data: &[f32]) -> Result<DeviceBuffer, F32Error> {
        let buf = self.alloc_f32(data.len())?;
        batch.upload(&buf, |words| {
            words
                .par_iter_mut()
                .zip(data.par_chunks(2))
                .with_min_len(1 << 14)
                .for_each(|(w, pair)| {
                    let lo = pair[0].to_bits();
                    let hi = pair.get(1).map_or(0, |x| x.to_bits());
                    *w = u64::from(lo) | (u64::from(hi) << 32);
                });
        })?;
        Ok(buf)
    }
}

/// The first `n` f32 values packed two to a word, the first in the low half.
fn unpack(words: &[u64], n: usize) -> Vec<f32> {
    // On all cores: one thread copies out of the device's memory at a fraction of the
    // bus's rate (a million values took longer than their upload, kernel and download).
    let mut out = vec![0.0f32; n.min(2 * words.len())];
    out.par_chunks_mut(2)
        .zip(words.par_iter())
        .with_min_len(1 << 14)
        .for_each(|(pair, w)| {
            pair[0] = f32::from_bits(*w as u32);
            if let Some(hi) = pair.get_mut(1) {
                *hi = f32::from_bits((w >> 32) as u32);
            }
        });
    out
}

/// An input of an operation: host values, uploaded with it, or a resident vector.
#[derive(Clone, Copy)]
enum Src<'a> {
    Host(&'a [f32]),
    Device(&'a F32Vec),
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Host(data) => data.len(),
            Src::Device(v) => v.len,
        }
    }
}

/// A recorded operation and its output buffer: read back, or kept on the device.
struct Output<'g> {
    batch: Batch<'g>,
    buf: DeviceBuffer,
    len: usize,
}

impl Output<'_> {
    /// Submits, waits and reads the output.
    fn read(mut self) -> Result<Vec<f32>, F32Error> {
        if self.len == 0 {
            return Ok(Vec::new());
        }
        let id = self.batch.download(&self.buf)?;
        let done = self.batch.submit()?.finish()?;
        Ok(done.read(id, |w| unpack(w, self.len))?)
    }

    /// Submits, waits, and keeps the output on the device.
    fn keep(self) -> Result<F32Vec, F32Error> {
        self.batch.submit()?.finish()?;
        Ok(F32Vec {
            buf: self.buf,
            len: self.len,
        })
    }
}

/// f32 values resident on the device of the [`F32Gpu`] that made them
/// ([`F32Gpu::upload`] or a `*_resident` operation): inputs and outputs of the `*_resident`
/// operations, which chain on the device without crossing the bus.
#[derive(Clone, Debug)]
pub struct F32Vec {
    buf: DeviceBuffer,
    len: usize,
}

impl F32Vec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
