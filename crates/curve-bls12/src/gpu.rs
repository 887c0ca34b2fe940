//! Batch G1 and G2 arithmetic on a Vulkan device.
//!
//! One GLSL kernel per operation and group (`shaders/curve/g1_*.comp`, `g2_*.comp`;
//! formulas in `shaders/include/curve.glsl`), compiled to SPIR-V by `cargo xtask shaders`
//! and embedded here. The kernels compute in homogeneous projective coordinates with the complete formulas of
//! Renes, Costello and Batina (2016), so one branch-free sequence covers the identity,
//! `P + P` and `P + (-P)`, for every point on the curve, in the subgroup or not.
//!
//! Points travel in blst's own layout (Jacobian coordinates, Montgomery form: 18 u64 words
//! per G1 point, 36 per G2 point; affine points padded to as many), so the host only copies
//! limbs; the kernels convert to and from homogeneous coordinates. Every result is checked on
//! the host (canonical coordinates, on the curve) before it becomes a point.
//!
//! Beside the arithmetic, the GPU half of [`crate::batch`]'s conversions and checks, with the
//! CPU's results bit for bit and its errors: `to_affine` (one inversion per point, by Fermat's
//! `Z^(p-2)`), `from_xy` (the curve equation, one flag per pair) and `check_subgroup` (blst's
//! endomorphism test, `sigma^2(P) = [-z^2] P` in G1 and `psi(P) = [z] P` in G2, never a
//! multiplication by r). The host checks their results too: affine points on the curve, flags
//! of exactly 0 or 1, and for the subgroup test a point on the curve that is the identity
//! exactly for the subgroup's points.
//!
//! The formulas run as step lists through one interpreter loop per kernel
//! (`shaders/include/curve.glsl` says why): correct first; not yet tuned for speed. Fixed
//! exponents (`p - 2`, `-z`, `z^2`) run through the same kind of loop, a chain of steps
//! driven by the exponent's bits (`CURVE_RUN_CHAIN`).

use std::sync::{Arc, Mutex};

use field_bls12::{Fq, Fq2};
use vk_backend::{Context, DeviceBuffer, ElementwiseJob, Kernel, KernelDesc, SpirvModule};

use crate::error::check_lengths;
use crate::gpu_msm::{self, Bases, MsmJob, MsmKernels, MsmOutput, MsmTuning, Pairs};
use crate::{ffi, CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};

/// u64 limbs per Fq element.
const FQ_WORDS: usize = 6;
/// Workgroup size of the point kernels.
const WORKGROUP_SIZE: u32 = 64;

/// Failures of the GPU batch operations ([`G1Gpu`], [`G2Gpu`]).
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
    /// An MSM window width outside `1..=16` bits.
    #[error("MSM window of {bits} bits is outside 1..=16")]
    WindowBits {
        /// The width asked for.
        bits: u32,
    },
    /// Another [`MsmTuning`] setting outside its range (see its fields).
    #[error("MSM tuning: {what} = {value} is outside its range")]
    Tuning {
        /// The setting.
        what: &'static str,
        /// Its value.
        value: u32,
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
    // `index < count` (CURVE_BEGIN in shaders/include/curve.glsl returns first for
    // invocations past the batch, and each invocation touches only its own element `index`
    // in each buffer, CURVE_POINT_VEC4 uvec4 from CURVE_POINT_VEC4 * index, plus the status
    // word through an atomic), and is used only with its own interface: `Group::KERNELS`
    // gives each kernel its own input count, and `PointKernels::new` elements of
    // `Group::WORDS` words, the element size the shader indexes with (18 u64 = 9 uvec4 for
    // G1, 36 = 18 for G2). No specialization constants other than the workgroup size. Every
    // kernel is tested against the CPU under the validation layer (tests/gpu.rs).
    unsafe { SpirvModule::from_bytes_unchecked(spirv) }
}

/// A fingerprint of every GPU kernel this crate embeds (FNV-1a over the SPIR-V): anything
/// measured with one build of the kernels (a router's calibration profile, say) is stale
/// with another.
pub fn kernels_fingerprint() -> u64 {
    let shared: [&[u8]; 2] = [spirv!("msm_sort"), spirv!("msm_scan")];
    let all = G1::KERNELS
        .iter()
        .chain(&G2::KERNELS)
        .map(|k| k.2)
        .chain(G1::MSM_KERNELS)
        .chain(G2::MSM_KERNELS)
        .chain(shared);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for spirv in all {
        for &b in spirv {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Operation indices into a group's kernels (the order of [`Group::KERNELS`]).
const ADD: usize = 0;
const ADD_AFFINE: usize = 1;
const DOUBLE: usize = 2;
const NEG: usize = 3;
const MUL: usize = 4;
const TO_AFFINE: usize = 5;
const FROM_XY: usize = 6;
const CHECK_SUBGROUP: usize = 7;

/// What the kernels of one group need from the host: the layout of its points in kernel
/// buffers, and the kernels.
trait Group: Send + Sync {
    type Projective: Copy + Send + Sync;
    type Affine: Copy + Send + Sync;
    /// A coordinate: Fq for G1, Fq2 for G2.
    type Coord: Copy + Sync;
    /// u64 words per element: X, Y, Z in blst's Montgomery limbs.
    const WORDS: usize;
    /// (name in errors, kernel name, SPIR-V, inputs) in operation order (ADD, ...).
    const KERNELS: [(&'static str, &'static str, &'static [u8], u32); 8];
    /// Writes blst's Jacobian coordinates (Montgomery form) of `p` into one element.
    fn write_projective(p: &Self::Projective, words: &mut [u64]);
    /// Writes blst's affine coordinates ((0, 0) for the identity), then zero padding.
    fn write_affine(p: &Self::Affine, words: &mut [u64]);
    /// Writes the coordinates `x`, `y` (Montgomery form, as blst's), then zero padding: the
    /// layout of `write_affine`.
    fn write_xy(x: &Self::Coord, y: &Self::Coord, words: &mut [u64]);
    /// The affine point `(x, y)`, or `None` off the curve: the CPU's `from_xy`, which the
    /// host runs again on the pairs the device accepted, as it checks every device result
    /// before it becomes a point (the type's invariant must not rest on the device).
    fn affine(x: Self::Coord, y: Self::Coord) -> Option<Self::Affine>;
    /// The affine point in one element (x, y, then zero padding), or `None` when the words
    /// are not that: canonical coordinates of a point on the curve (all zeros being the
    /// identity), then zeros.
    fn read_affine(words: &[u64]) -> Option<Self::Affine>;
    /// Whether `p` is the identity.
    fn is_identity(p: &Self::Projective) -> bool;
    /// The point in one element, or `None` when the words are not canonical coordinates of a
    /// point on the curve.
    fn read_projective(words: &[u64]) -> Option<Self::Projective>;
    /// The point in one element of homogeneous coordinates (x = X/Z, y = Y/Z, Montgomery
    /// form; the MSM kernels' intermediate form), or `None` as for `read_projective`.
    fn read_homogeneous(words: &[u64]) -> Option<Self::Projective>;
    /// The group's MSM modules (level, window, Horner, split).
    const MSM_KERNELS: [&'static [u8]; 4];
    /// MSMs per host thread up to which the host combines window sums.
    const HOST_HORNER_MSMS_PER_THREAD: usize;
    /// `2^bits a + b`, for combining MSM window sums.
    fn shift_add(a: &Self::Projective, bits: u32, b: &Self::Projective) -> Self::Projective;
    /// The identity.
    fn identity() -> Self::Projective;
    /// How MSMs over points known to lie in the prime-order subgroup split their scalars
    /// by an endomorphism: `(digits, bits)`, each scalar becoming `digits` scalars of `bits`
    /// bits ([`split_scalar`](Self::split_scalar)) over as many bases per point, which the
    /// group's `msm_split` kernel makes on the device.
    const SPLIT: (usize, u32);
    /// The digits of `k` for [`SPLIT`](Self::SPLIT), into `out` (`digits` long).
    fn split_scalar(k: &Scalar, out: &mut [Scalar]);
    /// `[2^(c j)] P` for every point P and j below `windows`, window-major (j, then P), for
    /// fixed-base MSMs over precomputed multiples; any points on the curve.
    fn multiples(points: &[Self::Affine], c: u32, windows: usize) -> Vec<Self::Affine>;
}

/// [`Group::multiples`] on the CPU: each window's points are the previous window's doubled
/// `c` times (on all cores), turned affine with one inversion per chunk of points.
fn multiples_by_doubling<P: Copy + Send + Sync, A: Copy + Send + Sync>(
    points: &[A],
    c: u32,
    windows: usize,
    to_projective: impl Fn(&A) -> P + Sync,
    double: impl Fn(&P) -> P + Sync,
    to_affine: impl Fn(&[P]) -> Vec<A>,
) -> Vec<A> {
    use rayon::prelude::*;
    let mut table = Vec::with_capacity(points.len() * windows);
    let mut window: Vec<P> = points.par_iter().map(&to_projective).collect();
    for j in 0..windows {
        if j > 0 {
            window
                .par_iter_mut()
                .for_each(|p| *p = (0..c).fold(*p, |p, _| double(&p)));
        }
        table.extend(if j == 0 {
            points.to_vec()
        } else {
            to_affine(&window)
        });
    }
    table
}

/// Writes Fq elements (blst's Montgomery limbs) one after another from the start of `words`.
fn write_fps(fps: &[&blst::blst_fp], words: &mut [u64]) {
    for (dst, fp) in words.chunks_exact_mut(FQ_WORDS).zip(fps) {
        dst.copy_from_slice(&fp.l);
    }
}

/// Fq element `e` of an element's words.
fn read_fp(words: &[u64], e: usize) -> blst::blst_fp {
    blst::blst_fp {
        l: words[e * FQ_WORDS..(e + 1) * FQ_WORDS]
            .try_into()
            .expect("6 limbs per Fq element"),
    }
}

/// G1's layout and kernels.
#[derive(Debug)]
enum G1 {}

impl Group for G1 {
    type Projective = G1Projective;
    type Affine = G1Affine;
    type Coord = Fq;
    const WORDS: usize = 3 * FQ_WORDS;
    const KERNELS: [(&'static str, &'static str, &'static [u8], u32); 8] = [
        ("add", "g1_add", spirv!("g1_add"), 2),
        ("add_affine", "g1_add_mixed", spirv!("g1_add_mixed"), 2),
        ("double", "g1_double", spirv!("g1_double"), 1),
        ("neg", "g1_neg", spirv!("g1_neg"), 1),
        ("mul", "g1_mul", spirv!("g1_mul"), 2),
        ("to_affine", "g1_to_affine", spirv!("g1_to_affine"), 1),
        ("from_xy", "g1_from_xy", spirv!("g1_from_xy"), 1),
        ("check_subgroup", "g1_subgroup", spirv!("g1_subgroup"), 1),
    ];

    fn write_projective(p: &G1Projective, words: &mut [u64]) {
        write_fps(&[&p.0.x, &p.0.y, &p.0.z], words);
    }

    fn write_affine(p: &G1Affine, words: &mut [u64]) {
        write_fps(&[&p.0.x, &p.0.y], words);
        words[2 * FQ_WORDS..].fill(0);
    }

    fn write_xy(x: &Fq, y: &Fq, words: &mut [u64]) {
        write_fps(&[&(*x).into(), &(*y).into()], words);
        words[2 * FQ_WORDS..].fill(0);
    }

    fn affine(x: Fq, y: Fq) -> Option<G1Affine> {
        G1Affine::from_xy(x, y).ok()
    }

    fn read_affine(words: &[u64]) -> Option<G1Affine> {
        let p = blst::blst_p1_affine {
            x: read_fp(words, 0),
            y: read_fp(words, 1),
        };
        let padding = words[2 * FQ_WORDS..].iter().all(|&w| w == 0);
        padding.then(|| G1Affine::try_from(p).ok()).flatten()
    }

    fn is_identity(p: &G1Projective) -> bool {
        p.is_identity()
    }

    fn read_projective(words: &[u64]) -> Option<G1Projective> {
        let p = blst::blst_p1 {
            x: read_fp(words, 0),
            y: read_fp(words, 1),
            z: read_fp(words, 2),
        };
        G1Projective::try_from(p).ok()
    }

    fn read_homogeneous(words: &[u64]) -> Option<G1Projective> {
        // Jacobian (X Z, Y Z^2, Z): X Z / Z^2 = X / Z and Y Z^2 / Z^3 = Y / Z.
        let [x, y, z] = [0, 1, 2].map(|e| read_fp(words, e));
        let mut jacobian = [0u64; G1::WORDS];
        let zz = ffi::fp_mul(&z, &z);
        write_fps(
            &[&ffi::fp_mul(&x, &z), &ffi::fp_mul(&y, &zz), &z],
            &mut jacobian,
        );
        Self::read_projective(&jacobian)
    }

    const HOST_HORNER_MSMS_PER_THREAD: usize = gpu_msm::HOST_HORNER_MSMS_PER_THREAD_G1;
    const MSM_KERNELS: [&'static [u8]; 4] = [
        spirv!("g1_msm_level"),
        spirv!("g1_msm_window"),
        spirv!("g1_msm_horner"),
        spirv!("g1_msm_split"),
    ];

    fn shift_add(a: &G1Projective, bits: u32, b: &G1Projective) -> G1Projective {
        (0..bits).fold(*a, |p, _| p.double()).add(b)
    }

    fn identity() -> G1Projective {
        G1Projective::identity()
    }

    // sigma^2 is multiplication by -z^2 on G1: a 256-bit scalar becomes two of 128 bits,
    // and an MSM's host Horner runs 128 doublings instead of 256.
    const SPLIT: (usize, u32) = (2, 128);

    /// `k = k0 + k1 z^2 (mod r)` from the base-|z| digits: `k0 = d0 + d1 |z|`, `k1 = d2 +
    /// d3 |z|`, each below z^2 < 2^128.
    fn split_scalar(k: &Scalar, out: &mut [Scalar]) {
        let d = crate::scalar::base_z_digits(k);
        for (o, pair) in out.iter_mut().zip(d.chunks_exact(2)) {
            let v = u128::from(pair[0]) + u128::from(pair[1]) * u128::from(crate::scalar::ABS_Z);
            let mut bytes = [0u8; 32];
            bytes[..16].copy_from_slice(&v.to_le_bytes());
            *o = Scalar::from_le_bytes(bytes);
        }
    }

    fn multiples(points: &[G1Affine], c: u32, windows: usize) -> Vec<G1Affine> {
        multiples_by_doubling(
            points,
            c,
            windows,
            G1Affine::to_projective,
            G1Projective::double,
            crate::batch::g1::to_affine,
        )
    }
}

/// G2's layout and kernels (an Fq2 is c0 then c1).
#[derive(Debug)]
enum G2 {}

impl Group for G2 {
    type Projective = G2Projective;
    type Affine = G2Affine;
    type Coord = Fq2;
    const WORDS: usize = 6 * FQ_WORDS;
    const KERNELS: [(&'static str, &'static str, &'static [u8], u32); 8] = [
        ("add", "g2_add", spirv!("g2_add"), 2),
        ("add_affine", "g2_add_mixed", spirv!("g2_add_mixed"), 2),
        ("double", "g2_double", spirv!("g2_double"), 1),
        ("neg", "g2_neg", spirv!("g2_neg"), 1),
        ("mul", "g2_mul", spirv!("g2_mul"), 2),
        ("to_affine", "g2_to_affine", spirv!("g2_to_affine"), 1),
        ("from_xy", "g2_from_xy", spirv!("g2_from_xy"), 1),
        ("check_subgroup", "g2_subgroup", spirv!("g2_subgroup"), 1),
    ];

    fn write_projective(p: &G2Projective, words: &mut [u64]) {
        let [x, y, z] = [&p.0.x.fp, &p.0.y.fp, &p.0.z.fp];
        write_fps(&[&x[0], &x[1], &y[0], &y[1], &z[0], &z[1]], words);
    }

    fn write_affine(p: &G2Affine, words: &mut [u64]) {
        let [x, y] = [&p.0.x.fp, &p.0.y.fp];
        write_fps(&[&x[0], &x[1], &y[0], &y[1]], words);
        words[4 * FQ_WORDS..].fill(0);
    }

    fn write_xy(x: &Fq2, y: &Fq2, words: &mut [u64]) {
        let [x, y] = [blst::blst_fp2::from(*x).fp, blst::blst_fp2::from(*y).fp];
        write_fps(&[&x[0], &x[1], &y[0], &y[1]], words);
        words[4 * FQ_WORDS..].fill(0);
    }

    fn affine(x: Fq2, y: Fq2) -> Option<G2Affine> {
        G2Affine::from_xy(x, y).ok()
    }

    fn read_affine(words: &[u64]) -> Option<G2Affine> {
        let fp2 = |e: usize| blst::blst_fp2 {
            fp: [read_fp(words, e), read_fp(words, e + 1)],
        };
        let p = blst::blst_p2_affine {
            x: fp2(0),
            y: fp2(2),
        };
        let padding = words[4 * FQ_WORDS..].iter().all(|&w| w == 0);
        padding.then(|| G2Affine::try_from(p).ok()).flatten()
    }

    fn is_identity(p: &G2Projective) -> bool {
        p.is_identity()
    }

    fn read_projective(words: &[u64]) -> Option<G2Projective> {
        let fp2 = |e: usize| blst::blst_fp2 {
            fp: [read_fp(words, e), read_fp(words, e + 1)],
        };
        let p = blst::blst_p2 {
            x: fp2(0),
            y: fp2(2),
            z: fp2(4),
        };
        G2Projective::try_from(p).ok()
    }

    fn read_homogeneous(words: &[u64]) -> Option<G2Projective> {
        let fp2 = |e: usize| blst::blst_fp2 {
            fp: [read_fp(words, e), read_fp(words, e + 1)],
        };
        let [x, y, z] = [fp2(0), fp2(2), fp2(4)];
        let zz = ffi::fp2_mul(&z, &z);
        let [x, y] = [ffi::fp2_mul(&x, &z), ffi::fp2_mul(&y, &zz)];
        let mut jacobian = [0u64; G2::WORDS];
        write_fps(
            &[&x.fp[0], &x.fp[1], &y.fp[0], &y.fp[1], &z.fp[0], &z.fp[1]],
            &mut jacobian,
        );
        Self::read_projective(&jacobian)
    }

    const HOST_HORNER_MSMS_PER_THREAD: usize = gpu_msm::HOST_HORNER_MSMS_PER_THREAD_G2;
    const MSM_KERNELS: [&'static [u8]; 4] = [
        spirv!("g2_msm_level"),
        spirv!("g2_msm_window"),
        spirv!("g2_msm_horner"),
        spirv!("g2_msm_split"),
    ];

    fn shift_add(a: &G2Projective, bits: u32, b: &G2Projective) -> G2Projective {
        (0..bits).fold(*a, |p, _| p.double()).add(b)
    }

    fn identity() -> G2Projective {
        G2Projective::identity()
    }

    // psi is multiplication by z on G2: a 256-bit scalar becomes four 64-bit ones, and an
    // MSM's host Horner runs 64 doublings instead of 256 (for 256 EIP-2537 calls of 128
    // points it was the longest part of the block's critical path).
    const SPLIT: (usize, u32) = (4, 64);

    fn split_scalar(k: &Scalar, out: &mut [Scalar]) {
        for (o, d) in out.iter_mut().zip(crate::scalar::base_z_digits(k)) {
            *o = Scalar::from_u64(d);
        }
    }

    fn multiples(points: &[G2Affine], c: u32, windows: usize) -> Vec<G2Affine> {
        multiples_by_doubling(
            points,
            c,
            windows,
            G2Affine::to_projective,
            G2Projective::double,
            crate::batch::g2::to_affine,
        )
    }
}

/// One group's kernels on one context, and the round trip that runs them.
#[derive(Debug)]
struct PointKernels<G> {
    ctx: Arc<Context>,
    /// One kernel per operation, in the order of [`Group::KERNELS`].
    kernels: Vec<Kernel>,
    /// The MSM kernels, built on the first MSM (a failed build is tried again next time).
    msm: Mutex<Option<Arc<MsmKernels>>>,
    group: std::marker::PhantomData<G>,
}

impl<G: Group> PointKernels<G> {
    fn new(ctx: Arc<Context>) -> Result<Self, GpuError> {
        if !ctx.shader_int64() || !ctx.shader_float64() {
            return Err(GpuError::Backend(vk_backend::Error::Unsupported {
                what: "shaderInt64 and shaderFloat64 (64-bit integers and doubles in shaders, \
                       used by the Fq multiplication in the curve kernels)"
                    .to_owned(),
            }));
        }
        let kernels = G::KERNELS
            .iter()
            .map(|&(_, kernel, spirv, inputs)| {
                let module = embedded_module(spirv);
                let desc = KernelDesc::elementwise(kernel, &module, inputs, G::WORDS as u32)
                    .with_workgroup_size(WORKGROUP_SIZE);
                ctx.create_kernel(&desc)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            ctx,
            kernels,
            msm: Mutex::new(None),
            group: std::marker::PhantomData,
        })
    }

    fn msm_kernels(&self) -> Result<Arc<MsmKernels>, GpuError> {
        let mut slot = self.msm.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = &*slot {
            return Ok(Arc::clone(k));
        }
        let k = Arc::new(MsmKernels::new(
            &self.ctx,
            &embedded_module(spirv!("msm_sort")),
            &embedded_module(spirv!("msm_scan")),
            &G::MSM_KERNELS.map(embedded_module),
            WORKGROUP_SIZE,
        )?);
        *slot = Some(Arc::clone(&k));
        Ok(k)
    }

    /// Runs `job` (its window width not yet set) and returns one point per MSM.
    fn run_msms(
        &self,
        job: MsmJob<'_>,
        tuning: &MsmTuning,
    ) -> Result<Vec<G::Projective>, GpuError> {
        let device = self.run_msms_on_device(job, tuning, &mut || {})?;
        Self::finish_msms(device)
    }

    /// The device's part of [`run_msms`](Self::run_msms): every submission, and the words
    /// read back. `on_submitted` runs while the device works on the last submission (not
    /// at all for a call without pairs, which submits nothing).
    fn run_msms_on_device(
        &self,
        mut job: MsmJob<'_>,
        tuning: &MsmTuning,
        on_submitted: &mut dyn FnMut(),
    ) -> Result<MsmDevice<G::Projective>, GpuError> {
        if let Some((what, value)) = tuning.invalid() {
            return Err(match what {
                "window_bits" => GpuError::WindowBits { bits: value },
                _ => GpuError::Tuning { what, value },
            });
        }
        let pairs: usize = job.scalars.iter().map(|k| k.len()).sum();
        let c = tuning.window_bits.unwrap_or_else(|| {
            gpu_msm::batch_window_bits(
                pairs,
                job.msms,
                8 * G::WORDS,
                self.ctx.max_kernel_buffer_bytes(),
                job.scalar_bits,
            )
        });
        let w = gpu_msm::windows_for(c, job.scalar_bits);
        if pairs == 0 {
            return Ok(MsmDevice::Sums(vec![G::identity(); job.msms]));
        }
        job.c = c;
        job.segment = tuning.segment as usize;
        job.first_segment = tuning
            .first_segment
            .map_or_else(|| gpu_msm::default_first_segment(w * pairs), |s| s as usize);
        job.chunk = tuning.chunk.unwrap_or(gpu_msm::default_chunk(c)) as usize;
        job.profile = tuning.profile;
        job.host_horner_msms = tuning.host_horner_msms.map_or(
            G::HOST_HORNER_MSMS_PER_THREAD * rayon::current_num_threads(),
            |m| m as usize,
        );
        let kernels = self.msm_kernels()?;
        Ok(MsmDevice::Output(
            gpu_msm::run(&self.ctx, &kernels, &job, on_submitted)?,
            c,
            if job.multiples { 1 } else { w },
        ))
    }

    /// The host's part of [`run_msms`](Self::run_msms): the words checked into points, and
    /// window sums combined.
    fn finish_msms(device: MsmDevice<G::Projective>) -> Result<Vec<G::Projective>, GpuError> {
        let (output, c, w) = match device {
            MsmDevice::Sums(sums) => return Ok(sums),
            MsmDevice::Output(output, c, w) => (output, c, w),
        };
        let points = |words: &[u64]| {
            words
                .chunks_exact(G::WORDS)
                .enumerate()
                .map(|(index, w)| {
                    G::read_homogeneous(w).ok_or(GpuError::InvalidResult { op: "msm", index })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        match output {
            MsmOutput::Results(words) => points(&words),
            // Horner over each MSM's window sums, the top window first, MSMs in parallel.
            MsmOutput::WindowSums(words) => {
                use rayon::prelude::*;
                words
                    .par_chunks_exact(w * G::WORDS)
                    .enumerate()
                    .map(|(m, msm_words)| {
                        let sums = points(msm_words).map_err(|e| match e {
                            GpuError::InvalidResult { op, index } => GpuError::InvalidResult {
                                op,
                                index: m * w + index,
                            },
                            other => other,
                        })?;
                        Ok(sums
                            .iter()
                            .rev()
                            .fold(G::identity(), |acc, s| G::shift_add(&acc, c, s)))
                    })
                    .collect()
            }
        }
    }

    fn msm(
        &self,
        points: &[G::Affine],
        scalars: &[Scalar],
        tuning: &MsmTuning,
    ) -> Result<G::Projective, GpuError> {
        check_lengths("msm", points.len(), scalars.len())?;
        let write = |i: usize, words: &mut [u64]| G::write_affine(&points[i], words);
        let sets = [scalars];
        let job = MsmJob::new(
            Bases::Upload {
                n: points.len(),
                split: 1,
                write: &write,
            },
            &sets,
            Pairs::Single,
            1,
            G::WORDS as u32,
        );
        Ok(self.run_msms(job, tuning)?[0])
    }

    fn msm_batch(
        &self,
        msms: &[(&[G::Affine], &[Scalar])],
        tuning: &MsmTuning,
    ) -> Result<Vec<G::Projective>, GpuError> {
        check_batch_lengths(msms)?;
        let total: usize = msms.iter().map(|(p, _)| p.len()).sum();
        if let Some(half) = self.split_point(tuning, total, msms.iter().map(|(p, _)| p.len())) {
            let mut sums = self.msm_batch(&msms[..half], tuning)?;
            sums.extend(self.msm_batch(&msms[half..], tuning)?);
            return Ok(sums);
        }
        let index = BatchIndex::new(msms);
        let sets: Vec<&[Scalar]> = msms.iter().map(|&(_, k)| k).collect();
        let write = |i: usize, words: &mut [u64]| G::write_affine(index.point(msms, i), words);
        self.run_msms(index.job(&sets, 1, &write, G::WORDS as u32), tuning)
    }

    /// [`msm_batch`](Self::msm_batch), and for each MSM whether all its points lie in the
    /// prime-order subgroup: the subgroup test runs on the device while the host combines
    /// the MSMs' window sums.
    fn msm_batch_checked(
        &self,
        msms: &[(&[G::Affine], &[Scalar])],
        tuning: &MsmTuning,
    ) -> Result<(Vec<G::Projective>, Vec<bool>), GpuError> {
        check_batch_lengths(msms)?;
        let total: usize = msms.iter().map(|(p, _)| p.len()).sum();
        let index = BatchIndex::new(msms);
        if self
            .split_point(tuning, total, msms.iter().map(|(p, _)| p.len()))
            .is_some()
        {
            // Too large for one submission: one part after the other.
            let sums = self.msm_batch(msms, tuning)?;
            return Ok((sums, self.calls_in_subgroup(msms, &index)?));
        }
        let point = |i: usize| index.point(msms, i);
        let started = std::time::Instant::now();
        // The MSMs run over the scalars and bases split by the group's endomorphism: right
        // for the points of the subgroup; the sums of calls with a point outside are not
        // used (their flags send them to the single-call path).
        let (digits, bits) = G::SPLIT;
        let split = {
            use rayon::prelude::*;
            let mut scalars = vec![Scalar::ZERO; index.ids.len() * digits];
            scalars
                .par_chunks_mut(digits)
                .enumerate()
                .for_each(|(i, out)| {
                    let m = index.ids[i] as usize;
                    G::split_scalar(&msms[m].1[i - index.starts[m]], out);
                });
            scalars
        };
        let sets: Vec<&[Scalar]> = msms
            .iter()
            .zip(&index.starts)
            .map(|((p, _), &start)| &split[digits * start..digits * (start + p.len())])
            .collect();
        let split_index = index.repeated(digits);
        // The device makes each point's `digits` bases.
        let write = |i: usize, words: &mut [u64]| G::write_affine(point(i), words);
        let mut job = split_index.job(&sets, digits, &write, G::WORDS as u32);
        job.scalar_bits = bits;
        let split_time = started.elapsed();
        // The check's input is filled while the device runs the MSMs, and the check runs
        // on the device behind them while the host combines the window sums. (Started
        // from another thread after the MSMs, the check's filling waited for the rayon
        // workers until the combining was done.)
        let mut check = None;
        let device = self.run_msms_on_device(job, tuning, &mut || {
            if !tuning.profile {
                check = Some(self.submit_subgroup_check(index.ids.len(), point));
            }
        })?;
        if tuning.profile {
            // One phase after the other: the split before the MSMs' phases, then the check
            // alone on the device, then the host's combining.
            gpu_msm::record_phase(0, "split scalars", split_time);
            let started = std::time::Instant::now();
            let submitted = self.submit_subgroup_check(index.ids.len(), point)?;
            gpu_msm::record_phase(usize::MAX, "fill check", started.elapsed());
            let started = std::time::Instant::now();
            let inside = self.finish_subgroup_check(submitted)?;
            gpu_msm::record_phase(usize::MAX, "subgroup check", started.elapsed());
            let started = std::time::Instant::now();
            let sums = Self::finish_msms(device)?;
            gpu_msm::record_phase(usize::MAX, "combine on host", started.elapsed());
            return Ok((sums, calls_inside(msms, &index, &inside)));
        }
        let sums = Self::finish_msms(device);
        let check = match check {
            Some(submitted) => submitted?,
            None => self.submit_subgroup_check(index.ids.len(), point)?,
        };
        let inside = self.finish_subgroup_check(check)?;
        Ok((sums?, calls_inside(msms, &index, &inside)))
    }

    /// For each call of `msms`, whether all its points lie in the prime-order subgroup (one
    /// device submission for all the points).
    fn calls_in_subgroup(
        &self,
        msms: &[(&[G::Affine], &[Scalar])],
        index: &BatchIndex,
    ) -> Result<Vec<bool>, GpuError> {
        let inside = self.points_in_subgroup(index.ids.len(), |i| index.point(msms, i))?;
        Ok(calls_inside(msms, index, &inside))
    }

    /// Where to cut a call of MSMs of `sizes` pairs (`pairs` in all) in two when, with the
    /// window width left to the engine, no width fits the device's buffers for all of them
    /// (the per-MSM bucket arrays grow with the number of MSMs): after the MSM where half
    /// the pairs are reached, and never at an end. `None`: run the call whole.
    fn split_point(
        &self,
        tuning: &MsmTuning,
        pairs: usize,
        sizes: impl Iterator<Item = usize>,
    ) -> Option<usize> {
        let sizes: Vec<usize> = sizes.collect();
        let fits = gpu_msm::fitting_window_bits(
            pairs,
            sizes.len(),
            8 * G::WORDS,
            self.ctx.max_kernel_buffer_bytes(),
            256,
        )
        .is_some();
        if fits || tuning.window_bits.is_some() || sizes.len() < 2 || pairs == 0 {
            return None;
        }
        let mut seen = 0;
        let half = sizes
            .iter()
            .position(|&n| {
                seen += n;
                2 * seen >= pairs
            })
            .map_or(sizes.len() / 2, |i| i + 1);
        Some(half.clamp(1, sizes.len() - 1))
    }

    fn upload_bases(&self, points: &[G::Affine]) -> Result<DeviceBuffer, GpuError> {
        let mut batch = self.ctx.batch()?;
        let words = gpu_msm::affine_words(G::WORDS as u32);
        let buf = self.ctx.alloc(points.len().max(1), words)?;
        batch.upload(&buf, |w| {
            use rayon::prelude::*;
            w.par_chunks_mut(words as usize)
                .zip(points.par_iter())
                .for_each(|(w, p)| G::write_affine(p, w));
        })?;
        batch.submit()?.finish()?;
        Ok(buf)
    }

    /// [`upload_bases`](Self::upload_bases) of the table of precomputed multiples of
    /// `points` ([`Group::multiples`]) for the window width that suits them, and that width;
    /// of the points alone (and `None`) when no table fits the device's buffers.
    fn upload_multiples(
        &self,
        points: &[G::Affine],
    ) -> Result<(DeviceBuffer, Option<u32>), GpuError> {
        let affine_bytes = 8 * gpu_msm::affine_words(G::WORDS as u32) as usize;
        let max = self.ctx.max_kernel_buffer_bytes();
        match gpu_msm::multiples_window_bits(points.len(), affine_bytes, max) {
            Some(c) if !points.is_empty() => {
                let table = G::multiples(points, c, gpu_msm::windows_for(c, 256));
                Ok((self.upload_bases(&table)?, Some(c)))
            }
            _ => Ok((self.upload_bases(points)?, None)),
        }
    }

    /// Fixed-base MSMs over `len` resident bases; `multiples`: the buffer holds their
    /// precomputed multiples for windows of that many bits (window 0 being the bases).
    fn msm_fixed(
        &self,
        bases: &DeviceBuffer,
        len: usize,
        multiples: Option<u32>,
        scalars: &[&[Scalar]],
        tuning: &MsmTuning,
    ) -> Result<Vec<G::Projective>, GpuError> {
        for (index, k) in scalars.iter().enumerate() {
            if k.len() != len {
                return Err(CurveError::BatchLengthMismatch {
                    op: "msm_fixed",
                    index,
                    points: len,
                    scalars: k.len(),
                }
                .into());
            }
        }
        let pairs = len * scalars.len();
        let fits = |c: u32, msms: usize| {
            let max = self.ctx.max_kernel_buffer_bytes();
            gpu_msm::window_fits(c, len * msms, msms, true, 8 * G::WORDS, max, 256)
        };
        // The table's width, unless the tuning asks for another or even one MSM over the
        // table would not fit the device's buffers: then window 0 of the table, the bases
        // themselves, serves as plain bases.
        let multiples = multiples
            .filter(|&c| tuning.window_bits.is_none_or(|t| t == c))
            .filter(|&c| fits(c, 1));
        let split = match multiples {
            Some(c) => (!fits(c, scalars.len())).then_some(scalars.len() / 2),
            None => self.split_point(tuning, pairs, std::iter::repeat_n(len, scalars.len())),
        };
        if let Some(half) = split {
            let mut sums = self.msm_fixed(bases, len, multiples, &scalars[..half], tuning)?;
            sums.extend(self.msm_fixed(bases, len, multiples, &scalars[half..], tuning)?);
            return Ok(sums);
        }
        let mut job = MsmJob::new(
            Bases::Resident(bases),
            scalars,
            Pairs::Shared { bases: len },
            scalars.len(),
            G::WORDS as u32,
        );
        job.multiples = multiples.is_some();
        let tuning = multiples.map_or(*tuning, |c| tuning.with_window_bits(c));
        self.run_msms(job, &tuning)
    }

    fn add(
        &self,
        a: &[G::Projective],
        b: &[G::Projective],
    ) -> Result<Vec<G::Projective>, GpuError> {
        check_lengths(G::KERNELS[ADD].0, a.len(), b.len())?;
        self.run(ADD, a.len(), |input, i, words| {
            G::write_projective(if input == 0 { &a[i] } else { &b[i] }, words);
        })
    }

    fn add_affine(
        &self,
        a: &[G::Projective],
        b: &[G::Affine],
    ) -> Result<Vec<G::Projective>, GpuError> {
        check_lengths(G::KERNELS[ADD_AFFINE].0, a.len(), b.len())?;
        self.run(ADD_AFFINE, a.len(), |input, i, words| {
            if input == 0 {
                G::write_projective(&a[i], words);
            } else {
                G::write_affine(&b[i], words);
            }
        })
    }

    fn unary(&self, op: usize, a: &[G::Projective]) -> Result<Vec<G::Projective>, GpuError> {
        self.run(op, a.len(), |_, i, words| G::write_projective(&a[i], words))
    }

    fn mul(&self, a: &[G::Projective], k: &[Scalar]) -> Result<Vec<G::Projective>, GpuError> {
        check_lengths(G::KERNELS[MUL].0, a.len(), k.len())?;
        self.run(MUL, a.len(), |input, i, words| {
            if input == 0 {
                G::write_projective(&a[i], words);
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

    fn to_affine(&self, a: &[G::Projective]) -> Result<Vec<G::Affine>, GpuError> {
        self.run_with(
            TO_AFFINE,
            a.len(),
            |_, i, words| G::write_projective(&a[i], words),
            G::read_affine,
        )
    }

    fn points_from_xy(
        &self,
        coordinates: &[(G::Coord, G::Coord)],
    ) -> Result<Vec<G::Affine>, GpuError> {
        let on_curve = self.run_with(
            FROM_XY,
            coordinates.len(),
            |_, i, words| G::write_xy(&coordinates[i].0, &coordinates[i].1, words),
            read_flag,
        )?;
        match on_curve.iter().position(|&ok| !ok) {
            Some(i) => Err(CurveError::NotOnCurve { index: Some(i) }.into()),
            None => coordinates
                .iter()
                .enumerate()
                .map(|(index, &(x, y))| {
                    G::affine(x, y).ok_or(GpuError::InvalidResult {
                        op: G::KERNELS[FROM_XY].0,
                        index,
                    })
                })
                .collect(),
        }
    }

    fn check_subgroup(&self, points: &[G::Affine]) -> Result<(), GpuError> {
        let in_subgroup = self.points_in_subgroup(points.len(), |i| &points[i])?;
        match in_subgroup.iter().position(|&ok| !ok) {
            Some(i) => Err(CurveError::NotInSubgroup { index: Some(i) }.into()),
            None => Ok(()),
        }
    }

    /// Whether each of `count` points (`point(i)`) lies in the prime-order subgroup.
    fn points_in_subgroup<'p>(
        &self,
        count: usize,
        point: impl Fn(usize) -> &'p G::Affine + Sync,
    ) -> Result<Vec<bool>, GpuError>
    where
        G::Affine: 'p,
    {
        let job = self.submit_subgroup_check(count, point)?;
        self.finish_subgroup_check(job)
    }

    /// The first half of [`points_in_subgroup`](Self::points_in_subgroup): the input filled
    /// and the check submitted.
    fn submit_subgroup_check<'p>(
        &self,
        count: usize,
        point: impl Fn(usize) -> &'p G::Affine + Sync,
    ) -> Result<ElementwiseJob, GpuError>
    where
        G::Affine: 'p,
    {
        self.submit_with(CHECK_SUBGROUP, count, |_, i, words| {
            G::write_affine(point(i), words)
        })
    }

    /// The second half of [`points_in_subgroup`](Self::points_in_subgroup).
    fn finish_subgroup_check(&self, job: ElementwiseJob) -> Result<Vec<bool>, GpuError> {
        // The kernel's result is a point on the curve, the identity (blst's all-zero
        // Jacobian form) exactly for the subgroup's points. Every other result is checked
        // like any result; the identity needs no check beyond its words (checking 32,768
        // identities on the curve took longer than the kernel).
        self.finish_with(CHECK_SUBGROUP, job, |words| {
            if words.iter().all(|&w| w == 0) {
                Some(true)
            } else {
                G::read_projective(words).map(|p| G::is_identity(&p))
            }
        })
    }

    /// Runs kernel `op` over `count` elements, `write(input, i, words)` filling element `i`
    /// of input `input`, and checks every result into a point.
    fn run(
        &self,
        op: usize,
        count: usize,
        write: impl Fn(usize, usize, &mut [u64]) + Sync,
    ) -> Result<Vec<G::Projective>, GpuError> {
        self.run_with(op, count, write, G::read_projective)
    }

    /// [`run`](Self::run) with `read` turning each result element into a `T`, or `None`
    /// when the device returned something that kernel never writes
    /// ([`GpuError::InvalidResult`]).
    fn run_with<T: Send>(
        &self,
        op: usize,
        count: usize,
        write: impl Fn(usize, usize, &mut [u64]) + Sync,
        read: impl Fn(&[u64]) -> Option<T> + Sync,
    ) -> Result<Vec<T>, GpuError> {
        let job = self.submit_with(op, count, write)?;
        self.finish_with(op, job, read)
    }

    /// The first half of [`run_with`](Self::run_with): the inputs filled and the kernel
    /// submitted.
    fn submit_with(
        &self,
        op: usize,
        count: usize,
        write: impl Fn(usize, usize, &mut [u64]) + Sync,
    ) -> Result<ElementwiseJob, GpuError> {
        use rayon::prelude::*;
        // Filling and checking run on all cores: for tens of thousands of points they took
        // longer on one thread than the kernels.
        Ok(self
            .ctx
            .submit_elementwise(&self.kernels[op], count, |input, words| {
                words
                    .par_chunks_exact_mut(G::WORDS)
                    .enumerate()
                    .for_each(|(i, element)| write(input, i, element));
            })?)
    }

    /// The second half of [`run_with`](Self::run_with): the wait, and the results read.
    fn finish_with<T: Send>(
        &self,
        op: usize,
        job: ElementwiseJob,
        read: impl Fn(&[u64]) -> Option<T> + Sync,
    ) -> Result<Vec<T>, GpuError> {
        use rayon::prelude::*;
        let name = G::KERNELS[op].0;
        job.finish(|words| {
            let results: Vec<Option<T>> = words.par_chunks_exact(G::WORDS).map(&read).collect();
            match results.iter().position(Option::is_none) {
                Some(index) => Err(GpuError::InvalidResult { op: name, index }),
                None => Ok(results.into_iter().flatten().collect()),
            }
        })?
    }
}

/// For each call of `msms`, whether all its points are inside by `inside` (point by point
/// in `index`'s order).
fn calls_inside<A>(msms: &[(&[A], &[Scalar])], index: &BatchIndex, inside: &[bool]) -> Vec<bool> {
    msms.iter()
        .zip(&index.starts)
        .map(|((p, _), &start)| inside[start..start + p.len()].iter().all(|&ok| ok))
        .collect()
}

/// Each MSM of a batch has as many scalars as points.
fn check_batch_lengths<A>(msms: &[(&[A], &[Scalar])]) -> Result<(), CurveError> {
    match msms.iter().position(|(p, k)| p.len() != k.len()) {
        Some(index) => Err(CurveError::BatchLengthMismatch {
            op: "msm_batch",
            index,
            points: msms[index].0.len(),
            scalars: msms[index].1.len(),
        }),
        None => Ok(()),
    }
}

/// What the device's part of an MSM call leaves for the host.
enum MsmDevice<P> {
    /// Nothing to combine (no pairs): the sums.
    Sums(Vec<P>),
    /// The words read back, the window width and the windows per MSM.
    Output(MsmOutput, u32, usize),
}

/// The pairs of a batch of MSMs as one list over the callers' slices, read in place
/// (copying them cost milliseconds for 4096 MSMs): pair i is point i - starts[ids[i]] of
/// MSM ids[i].
struct BatchIndex {
    ids: Vec<u32>,
    starts: Vec<usize>,
}

impl BatchIndex {
    fn new<A: Sync>(msms: &[(&[A], &[Scalar])]) -> Self {
        use rayon::prelude::*;
        let starts: Vec<usize> = msms
            .iter()
            .scan(0, |next, (p, _)| {
                let start = *next;
                *next += p.len();
                Some(start)
            })
            .collect();
        let total: usize = msms.iter().map(|(p, _)| p.len()).sum();
        // MSM indices fit: run() refuses more than 2^31 pairs, and empty MSMs have no pairs.
        let mut ids = vec![0u32; total];
        gpu_msm::split_regions(&mut ids, msms.iter().map(|(p, _)| p.len()))
            .into_par_iter()
            .enumerate()
            .for_each(|(m, region)| region.fill(m as u32));
        Self { ids, starts }
    }

    /// The list with every pair repeated `times` times in place (pair i becomes pairs
    /// `times i .. times (i + 1)`).
    fn repeated(&self, times: usize) -> Self {
        Self {
            ids: self
                .ids
                .iter()
                .flat_map(|&m| std::iter::repeat_n(m, times))
                .collect(),
            starts: self.starts.iter().map(|&s| s * times).collect(),
        }
    }

    /// Point `i` of the list.
    fn point<'a, A>(&self, msms: &[(&'a [A], &[Scalar])], i: usize) -> &'a A {
        let m = self.ids[i] as usize;
        &msms[m].0[i - self.starts[m]]
    }

    /// The MSM job over the list: `sets` the MSMs' scalars, `write(i, words)` filling
    /// point i's words, each point `split` consecutive entries of the list (a list from
    /// [`repeated`](Self::repeated)) and as many bases ([`Bases::Upload`]).
    fn job<'j>(
        &'j self,
        sets: &'j [&'j [Scalar]],
        split: usize,
        write: &'j (dyn Fn(usize, &mut [u64]) + Sync),
        point_words: u32,
    ) -> MsmJob<'j> {
        MsmJob::new(
            Bases::Upload {
                n: self.ids.len() / split,
                split,
                write,
            },
            sets,
            Pairs::Ids(&self.ids),
            sets.len(),
            point_words,
        )
    }
}

/// A flag element of the from_xy kernels: 1 (true) or 0 (false) in word 0, every other word
/// 0; `None` for anything else.
fn read_flag(words: &[u64]) -> Option<bool> {
    if words[1..].iter().any(|&w| w != 0) {
        return None;
    }
    match words[0] {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

/// Bases kept on the device for fixed-base MSMs ([`G1Gpu::msm_fixed`],
/// [`G2Gpu::msm_fixed`]): uploaded once by `upload_bases`, after which each call moves only
/// scalars. `P` is the group's affine type; the buffer belongs to the context of the
/// `G1Gpu`/`G2Gpu` that made it.
#[derive(Debug)]
pub struct GpuBases<P> {
    buf: DeviceBuffer,
    len: usize,
    /// The window width of the precomputed multiples the buffer holds, if it does.
    multiples: Option<u32>,
    group: std::marker::PhantomData<P>,
}

impl<P> GpuBases<P> {
    /// Number of bases.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The window width, in bits, of the precomputed multiples kept with the bases
    /// (`upload_bases_with_multiples`), or `None` for the bases alone.
    pub fn multiples_window_bits(&self) -> Option<u32> {
        self.multiples
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The public batch type of one group, over [`PointKernels`].
macro_rules! gpu_batch_type {
    (
        $(#[$doc:meta])*
        $Gpu:ident, $group:ident, $Projective:ident, $Affine:ident, $Coord:ident, $cpu:ident
    ) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $Gpu(PointKernels<$group>);

        impl $Gpu {
            /// Builds the kernels on `ctx`.
            ///
            /// # Errors
            /// [`GpuError::Backend`] when the device lacks 64-bit integers or doubles in
            /// shaders (the Fq multiplication uses both), or pipeline creation fails.
            pub fn new(ctx: Arc<Context>) -> Result<Self, GpuError> {
                PointKernels::new(ctx).map(Self)
            }

            /// The context the kernels run on.
            pub fn context(&self) -> &Arc<Context> {
                &self.0.ctx
            }

            /// `a[i] + b[i]` (complete: any two points, equal, opposite or the identity).
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::LengthMismatch`] when the lengths
            /// differ; [`GpuError::Backend`] or [`GpuError::InvalidResult`] when the device
            /// fails.
            pub fn add(&self, a: &[$Projective], b: &[$Projective]) -> Result<Vec<$Projective>, GpuError> {
                self.0.add(a, b)
            }

            /// `a[i] + b[i]` with affine `b` (mixed addition; `b[i]` may be the identity).
            ///
            /// # Errors
            /// As [`add`](Self::add).
            pub fn add_affine(&self, a: &[$Projective], b: &[$Affine]) -> Result<Vec<$Projective>, GpuError> {
                self.0.add_affine(a, b)
            }

            /// `2 a[i]`.
            ///
            /// # Errors
            /// [`GpuError::Backend`] or [`GpuError::InvalidResult`] when the device fails.
            pub fn double(&self, a: &[$Projective]) -> Result<Vec<$Projective>, GpuError> {
                self.0.unary(DOUBLE, a)
            }

            /// `-a[i]`.
            ///
            /// # Errors
            /// As [`double`](Self::double).
            pub fn neg(&self, a: &[$Projective]) -> Result<Vec<$Projective>, GpuError> {
                self.0.unary(NEG, a)
            }

            /// `[k[i]] a[i]` for independent pairs: full 256-bit scalars (not reduced mod
            /// r), any point on the curve. Every scalar takes the same 256 doublings and
            /// additions.
            ///
            /// # Errors
            /// As [`add`](Self::add).
            pub fn mul(&self, a: &[$Projective], k: &[Scalar]) -> Result<Vec<$Projective>, GpuError> {
                self.0.mul(a, k)
            }

            /// The affine forms of `a` (the identity as blst's all-zero point), bit for bit
            #[doc = concat!("those of [`batch::", stringify!($cpu), "::to_affine`](crate::batch::", stringify!($cpu), "::to_affine):")]
            /// one field inversion per point on the device, by Fermat (`Z^(p-2)`), where the
            /// CPU shares one inversion between many points.
            ///
            /// # Errors
            /// [`GpuError::Backend`], or [`GpuError::InvalidResult`] for a result that is
            /// not canonical coordinates of a point on the curve.
            pub fn to_affine(&self, a: &[$Projective]) -> Result<Vec<$Affine>, GpuError> {
                self.0.to_affine(a)
            }

            /// Affine points from coordinates, each checked against the curve equation
            /// (`y^2 = x^3 + b`) on the device, with the results and errors of
            #[doc = concat!("[`batch::", stringify!($cpu), "::from_xy`](crate::batch::", stringify!($cpu), "::from_xy):")]
            /// `(0, 0)` is not on the curve (use the identity).
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::NotOnCurve`] naming the first index
            /// whose coordinates are not on the curve (nothing is returned then);
            /// [`GpuError::Backend`] or [`GpuError::InvalidResult`] when the device fails.
            pub fn from_xy(
                &self,
                coordinates: &[($Coord, $Coord)],
            ) -> Result<Vec<$Affine>, GpuError> {
                self.0.points_from_xy(coordinates)
            }

            /// Checks that every point is in the prime-order subgroup (the identity is), by
            /// blst's endomorphism-based test on the device (Scott 2021: `sigma^2(P) =
            /// [-z^2] P` in G1, `psi(P) = [z] P` in G2), with the result of
            #[doc = concat!("[`batch::", stringify!($cpu), "::check_subgroup`](crate::batch::", stringify!($cpu), "::check_subgroup).")]
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::NotInSubgroup`] naming the first index
            /// outside the subgroup; [`GpuError::Backend`] or [`GpuError::InvalidResult`]
            /// when the device fails.
            pub fn check_subgroup(&self, points: &[$Affine]) -> Result<(), GpuError> {
                self.0.check_subgroup(points)
            }

            /// `sum_i [scalars[i]] points[i]`: multi-scalar multiplication by Pippenger's
            /// bucket method, every phase on the device in one submission (sorting by
            /// bucket included), with a window width chosen for the number of points. Full
            /// 256-bit scalars (not reduced mod r), any points on the curve; the result
            /// equals [`msm_g1`](crate::msm_g1) / [`msm_g2`](crate::msm_g2) as a point. No
            /// points: the identity, without touching the device.
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::LengthMismatch`] when the lengths
            /// differ; [`GpuError::Backend`] when the device fails or the MSM does not fit
            /// its buffers; [`GpuError::InvalidResult`] for a result off the curve.
            pub fn msm(&self, points: &[$Affine], scalars: &[Scalar]) -> Result<$Projective, GpuError> {
                self.0.msm(points, scalars, &MsmTuning::default())
            }

            /// [`msm`](Self::msm) with signed-digit windows of `window_bits` bits (1..=16)
            /// instead of the chosen width: for measurements and tests.
            ///
            /// # Errors
            /// As [`msm`](Self::msm); [`GpuError::WindowBits`] for a width outside 1..=16.
            pub fn msm_with_window(
                &self,
                points: &[$Affine],
                scalars: &[Scalar],
                window_bits: u32,
            ) -> Result<$Projective, GpuError> {
                self.0.msm(points, scalars, &MsmTuning::default().with_window_bits(window_bits))
            }

            /// [`msm`](Self::msm) with every [`MsmTuning`] knob set: for measurements (the
            /// `msm_sweep` example) and tuning on a new device.
            ///
            /// # Errors
            /// As [`msm`](Self::msm); [`GpuError::WindowBits`] or [`GpuError::Tuning`] for
            /// a setting outside its range.
            pub fn msm_tuned(
                &self,
                points: &[$Affine],
                scalars: &[Scalar],
                tuning: &MsmTuning,
            ) -> Result<$Projective, GpuError> {
                self.0.msm(points, scalars, tuning)
            }

            /// Many independent MSMs of any sizes (one per transaction or precompile
            /// call, say) in one submission: `msms[m] = (points, scalars)` gives result
            /// `m`. The window width suits the average size; empty MSMs give the identity.
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::BatchLengthMismatch`] naming the
            /// first MSM whose points and scalars differ in number; otherwise as
            /// [`msm`](Self::msm).
            pub fn msm_batch(
                &self,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<Vec<$Projective>, GpuError> {
                self.0.msm_batch(msms, &MsmTuning::default())
            }

            /// [`msm_batch`](Self::msm_batch) with windows of `window_bits` bits (1..=16).
            ///
            /// # Errors
            /// As [`msm_batch`](Self::msm_batch); [`GpuError::WindowBits`] for a width
            /// outside 1..=16.
            pub fn msm_batch_with_window(
                &self,
                msms: &[(&[$Affine], &[Scalar])],
                window_bits: u32,
            ) -> Result<Vec<$Projective>, GpuError> {
                self.0.msm_batch(msms, &MsmTuning::default().with_window_bits(window_bits))
            }

            /// [`msm_batch`](Self::msm_batch) with every [`MsmTuning`] knob set.
            ///
            /// # Errors
            /// As [`msm_batch`](Self::msm_batch); [`GpuError::WindowBits`] or
            /// [`GpuError::Tuning`] for a setting outside its range.
            pub fn msm_batch_tuned(
                &self,
                msms: &[(&[$Affine], &[Scalar])],
                tuning: &MsmTuning,
            ) -> Result<Vec<$Projective>, GpuError> {
                self.0.msm_batch(msms, tuning)
            }

            /// [`msm_batch`](Self::msm_batch) for MSMs whose points must lie in the
            /// prime-order subgroup (EIP-2537's G1MSM and G2MSM): each MSM's sum, and
            /// whether all its points are in the subgroup. The subgroup test (as
            /// [`check_subgroup`](Self::check_subgroup)'s) runs on the device while the
            /// host combines the sums, so it costs less than a check before the batch. The
            /// sum of an MSM whose flag is false is unspecified (the scalars are split by
            /// an endomorphism that is a multiplication only on the subgroup: G1's sigma^2
            /// by -z^2 into two 128-bit digits, G2's psi by z into four 64-bit digits):
            /// such a call should fail, not return it.
            ///
            /// # Errors
            /// As [`msm_batch`](Self::msm_batch).
            pub fn msm_batch_checked(
                &self,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<(Vec<$Projective>, Vec<bool>), GpuError> {
                self.0.msm_batch_checked(msms, &MsmTuning::default())
            }

            /// [`msm_batch_checked`](Self::msm_batch_checked) with every [`MsmTuning`]
            /// knob set. Profiled, the host's scalar split, the subgroup check and the
            /// host's combining of window sums are phases of their own, one after the other.
            ///
            /// # Errors
            /// As [`msm_batch_tuned`](Self::msm_batch_tuned).
            pub fn msm_batch_checked_tuned(
                &self,
                msms: &[(&[$Affine], &[Scalar])],
                tuning: &MsmTuning,
            ) -> Result<(Vec<$Projective>, Vec<bool>), GpuError> {
                self.0.msm_batch_checked(msms, tuning)
            }

            /// Uploads `points` once as bases for [`msm_fixed`](Self::msm_fixed).
            ///
            /// # Errors
            /// [`GpuError::Backend`] when the device fails or runs out of memory.
            pub fn upload_bases(&self, points: &[$Affine]) -> Result<GpuBases<$Affine>, GpuError> {
                Ok(GpuBases {
                    buf: self.0.upload_bases(points)?,
                    len: points.len(),
                    multiples: None,
                    group: std::marker::PhantomData,
                })
            }

            /// Uploads `points` once, with their precomputed multiples `[2^(c j)] P` for
            /// every window j of a 256-bit scalar, as bases for [`msm_fixed`](Self::msm_fixed):
            /// each MSM then sums the buckets of one window instead of every window's, with
            /// wider windows (13 bits for 4096 points, against 9). It takes `256 / c` times
            /// the memory of the bases alone (20 times for 4096 points: 7.9 MB in G1) and
            /// computes the table once, on the CPU's cores; where no table fits the device's
            /// buffers the bases go alone ([`GpuBases::multiples_window_bits`] says which).
            /// Right for any points on the curve, like every MSM here.
            ///
            /// # Errors
            /// As [`upload_bases`](Self::upload_bases).
            pub fn upload_bases_with_multiples(
                &self,
                points: &[$Affine],
            ) -> Result<GpuBases<$Affine>, GpuError> {
                let (buf, multiples) = self.0.upload_multiples(points)?;
                Ok(GpuBases {
                    buf,
                    len: points.len(),
                    multiples,
                    group: std::marker::PhantomData,
                })
            }

            /// One MSM per scalar set over the same resident bases, in one submission:
            /// result `m` is `sum_i [scalars[m][i]] bases[i]` (the KZG-commitment shape:
            /// the same setup points for every blob, only the scalars move). Over bases
            /// with precomputed multiples ([`upload_bases_with_multiples`](Self::upload_bases_with_multiples))
            /// each MSM sums one window of buckets, in the table's window width.
            ///
            /// # Errors
            /// [`GpuError::Curve`] with [`CurveError::BatchLengthMismatch`] for a scalar
            /// set whose length is not the number of bases; otherwise as
            /// [`msm`](Self::msm) (bases from another context are a backend error).
            pub fn msm_fixed(
                &self,
                bases: &GpuBases<$Affine>,
                scalars: &[&[Scalar]],
            ) -> Result<Vec<$Projective>, GpuError> {
                self.0.msm_fixed(
                    &bases.buf,
                    bases.len,
                    bases.multiples,
                    scalars,
                    &MsmTuning::default(),
                )
            }

            /// [`msm_fixed`](Self::msm_fixed) with every [`MsmTuning`] knob set. A window
            /// width other than that of the bases' precomputed multiples runs over the bases
            /// alone.
            ///
            /// # Errors
            /// As [`msm_fixed`](Self::msm_fixed); [`GpuError::WindowBits`] or
            /// [`GpuError::Tuning`] for a setting outside its range.
            pub fn msm_fixed_tuned(
                &self,
                bases: &GpuBases<$Affine>,
                scalars: &[&[Scalar]],
                tuning: &MsmTuning,
            ) -> Result<Vec<$Projective>, GpuError> {
                self.0.msm_fixed(&bases.buf, bases.len, bases.multiples, scalars, tuning)
            }
        }
    };
}

gpu_batch_type!(
    /// G1 batch operations on one Vulkan [`Context`], with its kernels built once.
    ///
    /// The methods mirror [`crate::batch::g1`]: element-wise over equally long slices, any
    /// points on the curve (in the prime-order subgroup or not), results equal to the CPU's
    /// as points (their projective coordinates may differ: compare with `==` or through
    /// [`G1Projective::to_affine`]). An empty batch returns an empty result without touching
    /// the device.
    ///
    /// GPU versions of the conversions and checks, with the CPU's results and errors:
    /// [`to_affine`](Self::to_affine), [`from_xy`](Self::from_xy) and
    /// [`check_subgroup`](Self::check_subgroup).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use curve_bls12::{CurveError, G1Affine, G1Gpu, G1Projective, GpuError, Scalar};
    /// use vk_backend::{Context, ContextConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gpu = G1Gpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
    /// let g = G1Projective::generator();
    /// assert_eq!(gpu.add(&[g], &[g])?, vec![g.double()]);
    /// assert_eq!(gpu.mul(&[g], &[Scalar::from_u64(3)])?, vec![g.double().add(&g)]);
    ///
    /// // Conversions and checks.
    /// let affine = gpu.to_affine(&[g, G1Projective::identity()])?;
    /// assert_eq!(affine, vec![G1Affine::generator(), G1Affine::identity()]);
    /// let (x, y) = (affine[0].x(), affine[0].y());
    /// assert_eq!(gpu.from_xy(&[(x, y)])?, vec![G1Affine::generator()]);
    /// assert!(matches!(
    ///     gpu.from_xy(&[(x, y), (x, x)]),
    ///     Err(GpuError::Curve(CurveError::NotOnCurve { index: Some(1) }))
    /// ));
    /// gpu.check_subgroup(&affine)?;
    /// # Ok(()) }
    /// ```
    G1Gpu, G1, G1Projective, G1Affine, Fq, g1
);

gpu_batch_type!(
    /// G2 batch operations on one Vulkan [`Context`], with its kernels built once; as
    /// [`G1Gpu`], mirroring [`crate::batch::g2`].
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use curve_bls12::{G2Gpu, G2Projective};
    /// use vk_backend::{Context, ContextConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let gpu = G2Gpu::new(Arc::new(Context::new(&ContextConfig::from_env()?)?))?;
    /// let g = G2Projective::generator();
    /// assert_eq!(gpu.double(&[g])?, vec![g.add(&g)]);
    /// gpu.check_subgroup(&gpu.to_affine(&[g])?)?;
    /// # Ok(()) }
    /// ```
    G2Gpu, G2, G2Projective, G2Affine, Fq2, g2
);

#[cfg(test)]
mod tests {
    use super::*;

    /// What `run` checks before a result becomes a point: canonical coordinates on the
    /// curve, the identity (Z = 0) included.
    #[test]
    fn only_points_on_the_curve_are_read_back() {
        let mut g1 = [0u64; G1::WORDS];
        G1::write_projective(&G1Projective::generator(), &mut g1);
        assert_eq!(G1::read_projective(&g1), Some(G1Projective::generator()));
        assert_eq!(
            G1::read_projective(&[0; G1::WORDS]),
            Some(G1Projective::identity())
        );
        let mut off_curve = g1;
        off_curve[0] ^= 1;
        assert_eq!(G1::read_projective(&off_curve), None);
        assert_eq!(G1::read_projective(&[u64::MAX; G1::WORDS]), None);

        let mut g2 = [0u64; G2::WORDS];
        G2::write_projective(&G2Projective::generator(), &mut g2);
        assert_eq!(G2::read_projective(&g2), Some(G2Projective::generator()));
        assert_eq!(
            G2::read_projective(&[0; G2::WORDS]),
            Some(G2Projective::identity())
        );
        let mut off_curve = g2;
        off_curve[FQ_WORDS] ^= 1;
        assert_eq!(G2::read_projective(&off_curve), None);
        assert_eq!(G2::read_projective(&[u64::MAX; G2::WORDS]), None);
    }

    /// What `to_affine` and `from_xy` accept from the device: affine points on the curve
    /// with zero padding, and flags of exactly 0 or 1.
    #[test]
    fn only_affine_points_and_flags_are_read_back() {
        let mut g1 = [0u64; G1::WORDS];
        G1::write_affine(&G1Affine::generator(), &mut g1);
        assert_eq!(G1::read_affine(&g1), Some(G1Affine::generator()));
        assert_eq!(G1::read_affine(&[0; G1::WORDS]), Some(G1Affine::identity()));
        let mut padded = g1;
        padded[2 * FQ_WORDS] = 1;
        assert_eq!(G1::read_affine(&padded), None);
        let mut off_curve = g1;
        off_curve[FQ_WORDS] ^= 1;
        assert_eq!(G1::read_affine(&off_curve), None);
        assert_eq!(G1::read_affine(&[u64::MAX; G1::WORDS]), None);

        let mut g2 = [0u64; G2::WORDS];
        G2::write_affine(&G2Affine::generator(), &mut g2);
        assert_eq!(G2::read_affine(&g2), Some(G2Affine::generator()));
        let mut padded = g2;
        padded[G2::WORDS - 1] = 1;
        assert_eq!(G2::read_affine(&padded), None);

        let mut flag = [0u64; G1::WORDS];
        assert_eq!(read_flag(&flag), Some(false));
        flag[0] = 1;
        assert_eq!(read_flag(&flag), Some(true));
        flag[0] = 2;
        assert_eq!(read_flag(&flag), None);
        flag[0] = 1 << 32; // word 1 of the 32-bit words
        assert_eq!(read_flag(&flag), None);
        flag[0] = 1;
        flag[G1::WORDS - 1] = 1;
        assert_eq!(read_flag(&flag), None);
    }

    /// `write_xy` writes what `write_affine` writes for the same point.
    #[test]
    fn coordinates_are_written_as_affine_points() {
        let g = G1Affine::generator();
        let (mut a, mut b) = ([0u64; G1::WORDS], [7u64; G1::WORDS]);
        G1::write_affine(&g, &mut a);
        G1::write_xy(&g.x(), &g.y(), &mut b);
        assert_eq!(a, b);
        assert_eq!(G1::affine(g.x(), g.y()), Some(g));
        let g = G2Affine::generator();
        let (mut a, mut b) = ([0u64; G2::WORDS], [7u64; G2::WORDS]);
        G2::write_affine(&g, &mut a);
        G2::write_xy(&g.x(), &g.y(), &mut b);
        assert_eq!(a, b);
        assert_eq!(G2::affine(g.x(), g.y()), Some(g));
    }

    /// The affine layout the mixed-addition kernels expect: x, y, then zeros; all zeros for
    /// the identity.
    #[test]
    fn affine_points_are_padded_with_zeros() {
        let mut words = [7u64; G2::WORDS];
        G2::write_affine(&G2Affine::identity(), &mut words);
        assert_eq!(words, [0; G2::WORDS]);
        let mut words = [7u64; G1::WORDS];
        G1::write_affine(&G1Affine::generator(), &mut words);
        assert!(words[2 * FQ_WORDS..].iter().all(|&w| w == 0));
        assert_eq!(words[..FQ_WORDS], G1Affine::generator().0.x.l);
    }
}
