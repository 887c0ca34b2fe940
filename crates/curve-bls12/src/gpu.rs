//! Batch G1 arithmetic on a Vulkan device.
//!
//! One GLSL kernel per operation (`shaders/curve/g1_*.comp`, formulas in
//! `shaders/include/g1.glsl`), compiled to SPIR-V by `cargo xtask shaders` and embedded here.
//! The kernels compute in homogeneous projective coordinates with the complete formulas of
//! Renes, Costello and Batina (2016), so one branch-free sequence covers the identity,
//! `P + P` and `P + (-P)`, for every point on the curve, in the subgroup or not.
//!
//! Points travel in blst's own layout (Jacobian coordinates, Montgomery form, 18 u64 words
//! per point; affine points padded to 18 words), so the host only copies limbs; the kernels
//! convert to and from homogeneous coordinates. Every result is checked on the host (canonical
//! coordinates, on the curve) before it becomes a point.
//!
//! The formulas run as step lists through one interpreter loop per kernel
//! (`shaders/include/g1.glsl` says why): correct first; not yet tuned for speed.

use std::sync::Arc;

use vk_backend::{Context, Kernel, KernelDesc, SpirvModule};

use crate::error::check_lengths;
use crate::{CurveError, G1Affine, G1Projective, Scalar};

/// u64 words per point in a kernel buffer: X, Y, Z of 6 limbs each.
const POINT_WORDS: usize = 18;
/// u64 limbs per coordinate.
const COORD_WORDS: usize = 6;
/// Workgroup size of the point kernels.
const WORKGROUP_SIZE: u32 = 64;

/// Failures of the GPU batch operations ([`G1Gpu`]).
///
/// A type of its own rather than a [`CurveError`] variant: [`CurveError`] is `Copy` and
/// `Eq`, which a backend error is not.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// Bad input, such as operands of different lengths ([`CurveError::LengthMismatch`]).
    #[error(transparent)]
    Curve(#[from] CurveError),
    /// The Vulkan backend failed (device lost, out of memory, unsupported device, ...).
    #[error("GPU backend: {0}")]
    Backend(#[from] vk_backend::Error),
    /// The device returned something that is not a point on the curve (a coordinate `>= p`,
    /// or coordinates off the curve): a kernel bug or a hardware fault.
    #[error("the GPU returned an invalid point at index {index} of {op}")]
    InvalidResult {
        /// The operation.
        op: &'static str,
        /// Position of the first bad point in its batch.
        index: usize,
    },
}

/// The SPIR-V of `shaders/curve/<name>.comp`.
macro_rules! spirv {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shaders/curve/",
            $name,
            ".spv"
        ))
    };
}

/// A kernel this crate embeds, as a module the backend may run. The crate's one audited
/// `unsafe` place outside the blst FFI.
#[allow(unsafe_code)]
fn embedded_module(spirv: &'static [u8]) -> SpirvModule {
    // SAFETY: every shader under shaders/curve guards each buffer access with
    // `index < count` (G1_BEGIN in shaders/include/g1_kernel.glsl returns first for
    // invocations past the batch, and each invocation touches only the 9 uvec4 of its own
    // element `index` in each buffer, plus the status word through an atomic), and is used
    // only with its own interface: `G1Op::spec` gives each kernel its own input count and
    // elements of POINT_WORDS words, the sizes the shader indexes with. No specialization
    // constants other than the workgroup size. Every kernel is tested against the CPU under
    // the validation layer (tests/gpu.rs).
    unsafe { SpirvModule::from_bytes_unchecked(spirv) }
}

/// The operations, one kernel each (`G1Op as usize` indexes [`G1Gpu::kernels`]).
#[derive(Clone, Copy, Debug)]
enum G1Op {
    Add,
    AddAffine,
    Double,
    Neg,
    Mul,
}

impl G1Op {
    const ALL: [G1Op; 5] = [
        G1Op::Add,
        G1Op::AddAffine,
        G1Op::Double,
        G1Op::Neg,
        G1Op::Mul,
    ];

    /// (name in errors, kernel name, SPIR-V, inputs).
    fn spec(self) -> (&'static str, &'static str, &'static [u8], u32) {
        match self {
            G1Op::Add => ("add", "g1_add", spirv!("g1_add"), 2),
            G1Op::AddAffine => ("add_affine", "g1_add_mixed", spirv!("g1_add_mixed"), 2),
            G1Op::Double => ("double", "g1_double", spirv!("g1_double"), 1),
            G1Op::Neg => ("neg", "g1_neg", spirv!("g1_neg"), 1),
            G1Op::Mul => ("mul", "g1_mul", spirv!("g1_mul"), 2),
        }
    }
}

/// G1 batch operations on one Vulkan [`Context`], with its kernels built once.
///
/// The methods mirror [`crate::batch::g1`]: element-wise over equally long slices, any
/// points on the curve (in the prime-order subgroup or not), results equal to the CPU's as
/// points (their projective coordinates may differ: compare with `==` or through
/// [`G1Projective::to_affine`]). An empty batch returns an empty result without touching
/// the device.
///
/// ```no_run
/// use std::sync::Arc;
/// use curve_bls12::{G1Gpu, G1Projective, Scalar};
/// use vk_backend::{Context, ContextConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let gpu = G1Gpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
/// let g = G1Projective::generator();
/// assert_eq!(gpu.add(&[g], &[g])?, vec![g.double()]);
/// assert_eq!(gpu.mul(&[g], &[Scalar::from_u64(3)])?, vec![g.double().add(&g)]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct G1Gpu {
    ctx: Arc<Context>,
    /// One kernel per [`G1Op`], indexed by `G1Op as usize`.
    kernels: Vec<Kernel>,
}

impl G1Gpu {
    /// Builds the kernels on `ctx`.
    ///
    /// # Errors
    /// [`GpuError::Backend`] when the device lacks 64-bit integers or doubles in shaders
    /// (the Fq multiplication uses both), or pipeline creation fails.
    pub fn new(ctx: Arc<Context>) -> Result<Self, GpuError> {
        if !ctx.shader_int64() || !ctx.shader_float64() {
            return Err(GpuError::Backend(vk_backend::Error::Unsupported {
                what: "shaderInt64 and shaderFloat64 (64-bit integers and doubles in shaders, \
                       used by the Fq multiplication in the G1 kernels)"
                    .to_owned(),
            }));
        }
        let kernels = G1Op::ALL
            .iter()
            .enumerate()
            .map(|(index, &op)| {
                debug_assert_eq!(index, op as usize, "G1Op::ALL is in discriminant order");
                let (_, kernel, spirv, inputs) = op.spec();
                let module = embedded_module(spirv);
                let desc = KernelDesc::elementwise(kernel, &module, inputs, POINT_WORDS as u32)
                    .with_workgroup_size(WORKGROUP_SIZE);
                ctx.create_kernel(&desc)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { ctx, kernels })
    }

    /// The context the kernels run on.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// `a[i] + b[i]` (complete: any two points, equal, opposite or the identity).
    ///
    /// # Errors
    /// [`GpuError::Curve`] with [`CurveError::LengthMismatch`] when the lengths differ;
    /// [`GpuError::Backend`] or [`GpuError::InvalidResult`] when the device fails.
    pub fn add(
        &self,
        a: &[G1Projective],
        b: &[G1Projective],
    ) -> Result<Vec<G1Projective>, GpuError> {
        check_lengths("add", a.len(), b.len())?;
        self.run(G1Op::Add, a.len(), |input, i, words| {
            let p = if input == 0 { &a[i] } else { &b[i] };
            write_projective(p, words);
        })
    }

    /// `a[i] + b[i]` with affine `b` (mixed addition; `b[i]` may be the identity).
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn add_affine(
        &self,
        a: &[G1Projective],
        b: &[G1Affine],
    ) -> Result<Vec<G1Projective>, GpuError> {
        check_lengths("add_affine", a.len(), b.len())?;
        self.run(G1Op::AddAffine, a.len(), |input, i, words| {
            if input == 0 {
                write_projective(&a[i], words);
            } else {
                // blst's affine layout, (0, 0) for the identity; the Z slot stays zero.
                words[..COORD_WORDS].copy_from_slice(&b[i].0.x.l);
                words[COORD_WORDS..2 * COORD_WORDS].copy_from_slice(&b[i].0.y.l);
                words[2 * COORD_WORDS..].fill(0);
            }
        })
    }

    /// `2 a[i]`.
    ///
    /// # Errors
    /// [`GpuError::Backend`] or [`GpuError::InvalidResult`] when the device fails.
    pub fn double(&self, a: &[G1Projective]) -> Result<Vec<G1Projective>, GpuError> {
        self.run(G1Op::Double, a.len(), |_, i, words| {
            write_projective(&a[i], words)
        })
    }

    /// `-a[i]`.
    ///
    /// # Errors
    /// As [`double`](Self::double).
    pub fn neg(&self, a: &[G1Projective]) -> Result<Vec<G1Projective>, GpuError> {
        self.run(G1Op::Neg, a.len(), |_, i, words| {
            write_projective(&a[i], words)
        })
    }

    /// `[k[i]] a[i]` for independent pairs: full 256-bit scalars (not reduced mod r), any
    /// point on the curve. Every scalar takes the same 256 doublings and additions.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn mul(&self, a: &[G1Projective], k: &[Scalar]) -> Result<Vec<G1Projective>, GpuError> {
        check_lengths("mul", a.len(), k.len())?;
        self.run(G1Op::Mul, a.len(), |input, i, words| {
            if input == 0 {
                write_projective(&a[i], words);
            } else {
                // 4 little-endian u64 words, then padding to the point's size.
                let bytes = k[i].to_le_bytes();
                for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
                    *word = u64::from_le_bytes(chunk.try_into().expect("8-byte chunks"));
                }
                words[bytes.len() / 8..].fill(0);
            }
        })
    }

    /// Runs `op`'s kernel over `count` elements, `write(input, i, words)` filling element
    /// `i` of input `input`, and checks every result into a point.
    fn run(
        &self,
        op: G1Op,
        count: usize,
        write: impl Fn(usize, usize, &mut [u64]),
    ) -> Result<Vec<G1Projective>, GpuError> {
        let (name, ..) = op.spec();
        let read = |words: &[u64]| -> Result<Vec<G1Projective>, GpuError> {
            words
                .chunks_exact(POINT_WORDS)
                .enumerate()
                .map(|(index, w)| {
                    read_projective(w).ok_or(GpuError::InvalidResult { op: name, index })
                })
                .collect()
        };
        self.ctx.run_elementwise(
            &self.kernels[op as usize],
            count,
            |input, words| {
                for (i, element) in words.chunks_exact_mut(POINT_WORDS).enumerate() {
                    write(input, i, element);
                }
            },
            read,
        )?
    }
}

/// Writes blst's Jacobian coordinates (Montgomery form) of `p` into one element's words.
fn write_projective(p: &G1Projective, words: &mut [u64]) {
    for (coord, limbs) in words
        .chunks_exact_mut(COORD_WORDS)
        .zip([&p.0.x.l, &p.0.y.l, &p.0.z.l])
    {
        coord.copy_from_slice(limbs);
    }
}

/// The point in one element's words, or `None` when they are not canonical coordinates of
/// a point on the curve.
fn read_projective(words: &[u64]) -> Option<G1Projective> {
    let coord = |c: usize| blst::blst_fp {
        l: words[c * COORD_WORDS..(c + 1) * COORD_WORDS]
            .try_into()
            .expect("6 limbs per coordinate"),
    };
    let p = blst::blst_p1 {
        x: coord(0),
        y: coord(1),
        z: coord(2),
    };
    G1Projective::try_from(p).ok()
}
