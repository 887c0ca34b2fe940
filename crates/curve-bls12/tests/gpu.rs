//! G1 and G2 batch operations on the GPU against the CPU batch operations (`batch::g1`,
//! `batch::g2`), compared as encoded affine points, with the validation layer on: the
//! issue's batch sizes, with edge inputs (the identity on either side, P + P, P + (-P),
//! repeated points, points outside the prime-order subgroup, projective points with Z != 1)
//! mixed into random ones, the edge scalars for `mul`, input errors and backend failures. Needs a Vulkan
//! device (lavapipe in CI); see vk_backend::test_support.

mod common;

use common::*;
use curve_bls12::batch::{g1, g2};
use curve_bls12::{
    CurveError, G1Affine, G1Gpu, G1Projective, G2Affine, G2Gpu, G2Projective, GpuError, Scalar,
};
use vk_backend::test_support::test_context;
use vk_backend::{Error, FaultStage};

const SIZES: [usize; 7] = [0, 1, 3, 31, 33, 65, 257];
/// `mul` runs 256 rounds per point: smaller batches keep the file quick on lavapipe.
const MUL_SIZES: [usize; 5] = [0, 1, 3, 31, 33];

/// The same tests for both groups.
macro_rules! group_tests {
    (
        $module:ident, $Gpu:ident, $Projective:ident, $Affine:ident, $cpu:ident,
        $random:ident, $outside:ident
    ) => {
        mod $module {
            use super::*;

            fn encoded(points: &[$Projective]) -> Vec<Vec<u8>> {
                points
                    .iter()
                    .map(|p| p.to_affine().to_uncompressed().to_vec())
                    .collect()
            }

            /// Operand pairs for a batch of `n`: the edge pairs first (rotated by the seed,
            /// so that the small sizes see different ones), then seeded random points, some
            /// of them with Z != 1 and some repeated.
            fn pairs(n: usize, seed: u64) -> (Vec<$Projective>, Vec<$Projective>) {
                let mut rng = rng(seed);
                let p = $random(&mut rng).to_projective();
                // Z != 1: the result of an addition.
                let q = p.add(&$Projective::generator());
                let outside = $outside().to_projective();
                let outside_z = outside.double();
                let o = $Projective::identity();
                let edges = [
                    (o, p),
                    (p, o),
                    (o, o),
                    (p, p),
                    (q, q),
                    (p, p.neg()),
                    (q, q.neg()),
                    (outside, outside),
                    (outside, outside.neg()),
                    (outside, p),
                    (q, outside_z),
                    (outside_z, o),
                    (o, outside_z),
                    (p, q),
                ];
                let offset = (seed as usize) % edges.len();
                (0..n)
                    .map(|i| {
                        if i < edges.len() {
                            edges[(i + offset) % edges.len()]
                        } else if i % 3 == 0 {
                            // A point repeated from earlier in the batch.
                            (p, $random(&mut rng).to_projective())
                        } else {
                            let a = $random(&mut rng).to_projective();
                            (a.double(), $random(&mut rng).to_projective())
                        }
                    })
                    .unzip()
            }

            #[test]
            fn add_double_neg_match_the_cpu_at_every_size() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::add_double_neg_match_the_cpu_at_every_size"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                for (seed, n) in SIZES.into_iter().enumerate() {
                    let (a, b) = pairs(n, seed as u64);
                    assert_eq!(
                        encoded(&gpu.add(&a, &b).unwrap()),
                        encoded(&$cpu::add(&a, &b).unwrap()),
                        "add, n = {n}"
                    );
                    let b_affine: Vec<$Affine> = b.iter().map($Projective::to_affine).collect();
                    assert_eq!(
                        encoded(&gpu.add_affine(&a, &b_affine).unwrap()),
                        encoded(&$cpu::add_affine(&a, &b_affine).unwrap()),
                        "add_affine, n = {n}"
                    );
                    assert_eq!(
                        encoded(&gpu.double(&a).unwrap()),
                        encoded(&$cpu::double(&a)),
                        "double, n = {n}"
                    );
                    assert_eq!(
                        encoded(&gpu.neg(&b).unwrap()),
                        encoded(&$cpu::neg(&b)),
                        "neg, n = {n}"
                    );
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn results_are_equal_points_and_identities_are_identities() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::results_are_equal_points_and_identities_are_identities"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let p = $Projective::generator();
                let o = $Projective::identity();
                let outside = $outside().to_projective();
                let sums = gpu
                    .add(&[p, outside, o], &[p.neg(), outside.neg(), o])
                    .unwrap();
                assert!(sums.iter().all($Projective::is_identity), "{sums:?}");
                let mixed = gpu
                    .add_affine(&[o, p], &[$Affine::identity(), $Affine::identity()])
                    .unwrap();
                assert!(mixed[0].is_identity());
                assert_eq!(mixed[1], p);
                // The projective `==` compares points, whatever their coordinates.
                assert_eq!(
                    gpu.double(&[outside, o]).unwrap(),
                    vec![outside.double(), o]
                );
                assert_eq!(gpu.neg(&[o]).unwrap(), vec![o]);
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn mul_matches_the_cpu_with_edge_scalars() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::mul_matches_the_cpu_with_edge_scalars"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let edges = edge_scalars();
                for (seed, n) in MUL_SIZES.into_iter().enumerate() {
                    let (a, _) = pairs(n, 100 + seed as u64);
                    let mut rng = rng(200 + seed as u64);
                    // Every point meets a different edge scalar from one size to the next.
                    let k: Vec<Scalar> = (0..n)
                        .map(|i| match i % (edges.len() + 2) {
                            j if j < edges.len() => edges[(j + seed) % edges.len()],
                            _ => random_scalar(&mut rng),
                        })
                        .collect();
                    assert_eq!(
                        encoded(&gpu.mul(&a, &k).unwrap()),
                        encoded(&$cpu::mul(&a, &k).unwrap()),
                        "mul, n = {n}"
                    );
                }
                // Every edge scalar on a point outside the subgroup (where r is not the
                // order) and on the identity.
                let mut points = vec![$outside().to_projective().double(); edges.len()];
                points.extend(vec![$Projective::identity(); edges.len()]);
                let scalars = [edges.clone(), edges].concat();
                assert_eq!(
                    encoded(&gpu.mul(&points, &scalars).unwrap()),
                    encoded(&$cpu::mul(&points, &scalars).unwrap()),
                    "mul outside the subgroup and on the identity"
                );
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn length_mismatches_are_errors() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::length_mismatches_are_errors"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let p = [$Projective::generator(); 2];
                let mismatch = |op, r: Result<Vec<$Projective>, GpuError>| match r {
                    Err(GpuError::Curve(CurveError::LengthMismatch {
                        op: o,
                        left: 2,
                        right: 1,
                    })) => assert_eq!(o, op),
                    other => panic!("{op}: {other:?}"),
                };
                mismatch("add", gpu.add(&p, &p[..1]));
                mismatch("add_affine", gpu.add_affine(&p, &[$Affine::generator()]));
                mismatch("mul", gpu.mul(&p, &[Scalar::ONE]));
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn backend_failures_are_errors_and_the_next_call_recovers() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::backend_failures_are_errors_and_the_next_call_recovers"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let (a, b) = pairs(5, 7);
                let want = encoded(&$cpu::add(&a, &b).unwrap());
                for stage in [
                    FaultStage::Upload,
                    FaultStage::Compute,
                    FaultStage::Download,
                ] {
                    ctx.inject_fault(stage, Error::OutOfDeviceMemory { call: "injected" });
                    match gpu.add(&a, &b) {
                        Err(GpuError::Backend(Error::OutOfDeviceMemory { .. })) => {}
                        other => panic!("{stage:?}: {other:?}"),
                    }
                    assert_eq!(encoded(&gpu.add(&a, &b).unwrap()), want, "{stage:?}, again");
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }
        }
    };
}

group_tests!(
    g1_gpu,
    G1Gpu,
    G1Projective,
    G1Affine,
    g1,
    random_g1,
    g1_not_in_subgroup
);
group_tests!(
    g2_gpu,
    G2Gpu,
    G2Projective,
    G2Affine,
    g2,
    random_g2,
    g2_not_in_subgroup
);
