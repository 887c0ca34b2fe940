//! G1 and G2 as the curve parts of `verify` and `scan` use them: one trait over both groups
//! with the CPU route (curve-bls12, on blst), the `blst` crate's own multi-threaded
//! Pippenger (the peer) and the GPU (`G1Gpu`, `G2Gpu`), so that every check and every
//! timing is written once for both groups.

use std::sync::Arc;

use curve_bls12::{
    batch, msm_g1, msm_g2, CurveError, G1Affine, G1Gpu, G1Projective, G2Affine, G2Gpu,
    G2Projective, GpuError, Scalar, SubgroupCheck, G1_EIP2537_BYTES, G2_EIP2537_BYTES,
};
use hybrid_exec::{MsmGroup, Policy, Route, Router, RouterError};
use vk_backend::Context;

/// An element-wise batch operation, on the CPU (`curve_bls12::batch`) or the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BatchOp {
    /// `a[i] + b[i]`.
    Add,
    /// `a[i] + b[i]`, `b` affine.
    AddAffine,
    /// `2 a[i]`.
    Double,
    /// `-a[i]`.
    Neg,
    /// `[k[i]] a[i]`.
    Mul,
}

impl BatchOp {
    pub(crate) const ALL: [BatchOp; 5] = [
        BatchOp::Add,
        BatchOp::AddAffine,
        BatchOp::Double,
        BatchOp::Neg,
        BatchOp::Mul,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            BatchOp::Add => "add",
            BatchOp::AddAffine => "add_affine",
            BatchOp::Double => "double",
            BatchOp::Neg => "neg",
            BatchOp::Mul => "mul",
        }
    }
}

/// One group: its points, its routes and how results are compared.
pub(crate) trait Group {
    /// `G1` or `G2`, as reports name the group.
    const NAME: &'static str;
    /// The peer's call, as reports name it.
    const PEER: &'static str;
    /// Largest MSM that `scan` times for this group.
    const SCAN_MAX: usize;
    /// The MSM job's name in `scan`'s report.
    const MSM_JOB: &'static str;
    type Affine: Copy + Send + Sync;
    type Projective: Copy + Send + Sync;
    type Gpu;

    /// The group's GPU kernels on `ctx`.
    fn new_gpu(ctx: Arc<Context>) -> Result<Self::Gpu, GpuError>;
    fn generator() -> Self::Projective;
    fn identity() -> Self::Affine;
    fn add(a: &Self::Projective, b: &Self::Projective) -> Self::Projective;
    fn mul(p: &Self::Projective, k: &Scalar) -> Self::Projective;
    fn neg(p: &Self::Affine) -> Self::Affine;
    fn to_projective(p: &Self::Affine) -> Self::Projective;
    /// Affine forms, on all cores.
    fn to_affine(points: &[Self::Projective]) -> Vec<Self::Affine>;
    /// The uncompressed encoding of the affine point: the form results are compared in.
    fn encode(p: &Self::Affine) -> Vec<u8>;

    /// curve-bls12's CPU MSM (`msm_g1`, `msm_g2`).
    fn cpu_msm(points: &[Self::Affine], k: &[Scalar]) -> Result<Self::Projective, CurveError>;
    /// The `blst` crate's multi-threaded Pippenger (`p1_affines::mult`, `p2_affines::mult`,
    /// 256-bit scalars); the identity for no points, which it does not take. Right for
    /// points of the prime-order subgroup (below 32 points it sums single
    /// multiplications, whose GLV path assumes the subgroup).
    fn peer_msm(points: &[Self::Affine], k: &[Scalar]) -> Result<Self::Projective, CurveError>;
    /// The router's MSM on `route` (`Router::execute_msm_g1`, ...), or under `Policy::Auto`
    /// for `None`; returns the route that ran.
    fn router_msm(
        router: &Router,
        route: Option<Route>,
        points: &[Self::Affine],
        k: &[Scalar],
    ) -> Result<(Self::Projective, Route), RouterError>;
    /// The router's name for this group's MSMs.
    const MSM_GROUP: MsmGroup;
    /// The router's batch of MSMs under `policy` (`Router::msm_batch_g1_with`, ...).
    fn router_msm_batch(
        router: &Router,
        policy: Policy,
        msms: &[(&[Self::Affine], &[Scalar])],
    ) -> Result<(Vec<Self::Projective>, Route), RouterError>;
    /// The GPU's MSM (`G1Gpu::msm`, `G2Gpu::msm`).
    fn gpu_msm(
        gpu: &Self::Gpu,
        points: &[Self::Affine],
        k: &[Scalar],
    ) -> Result<Self::Projective, GpuError>;

    /// `op` on the CPU (`b` unread by the unary operations, `k` read by `Mul` only).
    fn cpu_batch(
        op: BatchOp,
        a: &[Self::Projective],
        b: &[Self::Projective],
        k: &[Scalar],
    ) -> Result<Vec<Self::Projective>, CurveError>;
    /// `op` on the GPU, as [`cpu_batch`](Self::cpu_batch).
    fn gpu_batch(
        gpu: &Self::Gpu,
        op: BatchOp,
        a: &[Self::Projective],
        b: &[Self::Projective],
        k: &[Scalar],
    ) -> Result<Vec<Self::Projective>, GpuError>;

    /// The GPU's batch of MSMs (`G1Gpu::msm_batch`, ...).
    fn gpu_msm_batch(
        gpu: &Self::Gpu,
        msms: &[(&[Self::Affine], &[Scalar])],
    ) -> Result<Vec<Self::Projective>, GpuError>;
    /// Fixed-base MSMs, one per scalar set, over `points` uploaded with their precomputed
    /// multiples (`G1Gpu::upload_bases_with_multiples` and `msm_fixed`, ...).
    fn gpu_msm_fixed_multiples(
        gpu: &Self::Gpu,
        points: &[Self::Affine],
        sets: &[&[Scalar]],
    ) -> Result<Vec<Self::Projective>, GpuError>;
    /// The same with each MSM's subgroup flag (`G1Gpu::msm_batch_checked`, ...).
    #[allow(clippy::type_complexity)]
    fn gpu_msm_batch_checked(
        gpu: &Self::Gpu,
        msms: &[(&[Self::Affine], &[Scalar])],
    ) -> Result<(Vec<Self::Projective>, Vec<bool>), GpuError>;

    /// The GPU's affine forms (`G1Gpu::to_affine`, ...).
    fn gpu_to_affine(
        gpu: &Self::Gpu,
        points: &[Self::Projective],
    ) -> Result<Vec<Self::Affine>, GpuError>;
    /// The CPU's subgroup check of every point (`batch::g1::check_subgroup`, ...).
    fn cpu_check_subgroup(points: &[Self::Affine]) -> Result<(), CurveError>;
    /// The GPU's (`G1Gpu::check_subgroup`, ...).
    fn gpu_check_subgroup(gpu: &Self::Gpu, points: &[Self::Affine]) -> Result<(), GpuError>;
    /// A point on the curve outside the prime-order subgroup: the first x from 1 up whose
    /// compressed encoding blst decompresses (blst checks the curve there, not the
    /// subgroup) to a point outside it.
    fn not_in_subgroup() -> Self::Affine;

    /// Encodings of a slice of projective points (one batch conversion).
    fn encode_all(points: &[Self::Projective]) -> Vec<Vec<u8>> {
        Self::to_affine(points).iter().map(Self::encode).collect()
    }

    /// The encoding of one projective point.
    fn encode_one(p: &Self::Projective) -> Vec<u8> {
        Self::encode_all(std::slice::from_ref(p)).remove(0)
    }
}

/// G1.
#[derive(Debug)]
pub(crate) struct G1;

/// G2.
#[derive(Debug)]
pub(crate) struct G2;

/// [`Group::not_in_subgroup`] for `G1` or `G2`: blst's public-key types decompress
/// without the subgroup check (`min_pk` keys are G1 points, `min_sig` keys G2 points), and
/// their uncompressed serialization (ZCash order: x, then y, Fq2 as c1, c0) becomes the
/// EIP-2537 encoding, decoded without the check.
macro_rules! not_in_subgroup {
    (G1) => {{
        let mut x = [0u8; 48];
        (1u8..)
            .find_map(|i| {
                x[47] = i;
                x[0] = 0x80; // compressed, not infinity, the smaller y
                let key = blst::min_pk::PublicKey::uncompress(&x).ok()?;
                let xy = key.serialize();
                let mut eip = [0u8; G1_EIP2537_BYTES];
                eip[16..64].copy_from_slice(&xy[..48]);
                eip[80..128].copy_from_slice(&xy[48..]);
                let p = G1Affine::from_eip2537(&eip, SubgroupCheck::No).ok()?;
                (!p.is_in_subgroup()).then_some(p)
            })
            .expect("half of all x give a point, nearly all outside the subgroup")
    }};
    (G2) => {{
        let mut x = [0u8; 96];
        (1u8..)
            .find_map(|i| {
                x[95] = i;
                x[0] = 0x80;
                let key = blst::min_sig::PublicKey::uncompress(&x).ok()?;
                let xy = key.serialize();
                let mut eip = [0u8; G2_EIP2537_BYTES];
                // ZCash: x.c1, x.c0, y.c1, y.c0; EIP-2537: x.c0, x.c1, y.c0, y.c1.
                for (slot, half) in [1usize, 0, 3, 2].into_iter().enumerate() {
                    eip[64 * slot + 16..64 * slot + 64]
                        .copy_from_slice(&xy[48 * half..48 * half + 48]);
                }
                let p = G2Affine::from_eip2537(&eip, SubgroupCheck::No).ok()?;
                (!p.is_in_subgroup()).then_some(p)
            })
            .expect("half of all x give a point, nearly all outside the subgroup")
    }};
}

macro_rules! group {
    (
        $G:ident, $name:literal, $scan_max:expr, $Affine:ident, $Projective:ident, $Gpu:ident,
        $batch:ident, $msm:ident, $blst:ident, $table:ident, $execute:ident, $with:ident, $batch_with:ident
    ) => {
        impl Group for $G {
            const NAME: &'static str = $name;
            const PEER: &'static str = concat!("blst ", stringify!($table), "::mult");
            const SCAN_MAX: usize = $scan_max;
            const MSM_JOB: &'static str = concat!($name, " msm");
            type Affine = $Affine;
            type Projective = $Projective;
            type Gpu = $Gpu;

            fn new_gpu(ctx: Arc<Context>) -> Result<$Gpu, GpuError> {
                $Gpu::new(ctx)
            }
            fn generator() -> $Projective {
                $Projective::generator()
            }
            fn identity() -> $Affine {
                $Affine::identity()
            }
            fn add(a: &$Projective, b: &$Projective) -> $Projective {
                a.add(b)
            }
            fn mul(p: &$Projective, k: &Scalar) -> $Projective {
                p.mul(k)
            }
            fn neg(p: &$Affine) -> $Affine {
                p.neg()
            }
            fn to_projective(p: &$Affine) -> $Projective {
                p.to_projective()
            }
            fn to_affine(points: &[$Projective]) -> Vec<$Affine> {
                batch::$batch::to_affine(points)
            }
            fn encode(p: &$Affine) -> Vec<u8> {
                p.to_uncompressed().to_vec()
            }
            fn cpu_msm(points: &[$Affine], k: &[Scalar]) -> Result<$Projective, CurveError> {
                $msm(points, k)
            }
            fn peer_msm(points: &[$Affine], k: &[Scalar]) -> Result<$Projective, CurveError> {
                if points.len() != k.len() {
                    return Err(CurveError::LengthMismatch {
                        op: stringify!($table),
                        left: points.len(),
                        right: k.len(),
                    });
                }
                if points.is_empty() {
                    return Ok($Projective::identity());
                }
                let projective: Vec<blst::$blst> = points
                    .iter()
                    .map(|&p| blst::$blst::from($Projective::from(p)))
                    .collect();
                let bytes: Vec<u8> = k.iter().flat_map(Scalar::to_le_bytes).collect();
                $Projective::try_from(blst::$table::from(&projective).mult(&bytes, 256))
            }
            fn router_msm(
                router: &Router,
                route: Option<Route>,
                points: &[$Affine],
                k: &[Scalar],
            ) -> Result<($Projective, Route), RouterError> {
                match route {
                    Some(route) => router.$execute(route, points, k),
                    None => router.$with(Policy::Auto, points, k),
                }
            }
            const MSM_GROUP: MsmGroup = MsmGroup::$G;
            fn router_msm_batch(
                router: &Router,
                policy: Policy,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<(Vec<$Projective>, Route), RouterError> {
                router.$batch_with(policy, msms)
            }
            fn gpu_msm(
                gpu: &$Gpu,
                points: &[$Affine],
                k: &[Scalar],
            ) -> Result<$Projective, GpuError> {
                gpu.msm(points, k)
            }
            fn gpu_msm_batch(
                gpu: &$Gpu,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<Vec<$Projective>, GpuError> {
                gpu.msm_batch(msms)
            }
            fn gpu_msm_fixed_multiples(
                gpu: &$Gpu,
                points: &[$Affine],
                sets: &[&[Scalar]],
            ) -> Result<Vec<$Projective>, GpuError> {
                gpu.msm_fixed(&gpu.upload_bases_with_multiples(points)?, sets)
            }
            fn gpu_msm_batch_checked(
                gpu: &$Gpu,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<(Vec<$Projective>, Vec<bool>), GpuError> {
                gpu.msm_batch_checked(msms)
            }
            fn gpu_to_affine(gpu: &$Gpu, points: &[$Projective]) -> Result<Vec<$Affine>, GpuError> {
                gpu.to_affine(points)
            }
            fn cpu_check_subgroup(points: &[$Affine]) -> Result<(), CurveError> {
                batch::$batch::check_subgroup(points)
            }
            fn gpu_check_subgroup(gpu: &$Gpu, points: &[$Affine]) -> Result<(), GpuError> {
                gpu.check_subgroup(points)
            }
            fn not_in_subgroup() -> $Affine {
                not_in_subgroup!($G)
            }
            fn cpu_batch(
                op: BatchOp,
                a: &[$Projective],
                b: &[$Projective],
                k: &[Scalar],
            ) -> Result<Vec<$Projective>, CurveError> {
                use batch::$batch as cpu;
                match op {
                    BatchOp::Add => cpu::add(a, b),
                    BatchOp::AddAffine => cpu::add_affine(a, &cpu::to_affine(b)),
                    BatchOp::Double => Ok(cpu::double(a)),
                    BatchOp::Neg => Ok(cpu::neg(a)),
                    BatchOp::Mul => cpu::mul(a, k),
                }
            }
            fn gpu_batch(
                gpu: &$Gpu,
                op: BatchOp,
                a: &[$Projective],
                b: &[$Projective],
                k: &[Scalar],
            ) -> Result<Vec<$Projective>, GpuError> {
                match op {
                    BatchOp::Add => gpu.add(a, b),
                    BatchOp::AddAffine => gpu.add_affine(a, &batch::$batch::to_affine(b)),
                    BatchOp::Double => gpu.double(a),
                    BatchOp::Neg => gpu.neg(a),
                    BatchOp::Mul => gpu.mul(a, k),
                }
            }
        }
    };
}

group!(
    G1,
    "G1",
    1 << 20,
    G1Affine,
    G1Projective,
    G1Gpu,
    g1,
    msm_g1,
    blst_p1,
    p1_affines,
    execute_msm_g1,
    msm_g1_with,
    msm_batch_g1_with
);
group!(
    G2,
    "G2",
    1 << 16,
    G2Affine,
    G2Projective,
    G2Gpu,
    g2,
    msm_g2,
    blst_p2,
    p2_affines,
    execute_msm_g2,
    msm_g2_with,
    msm_batch_g2_with
);
