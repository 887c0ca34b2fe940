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
use field_bls12::{Fq, Fq2};
use vk_backend::test_support::test_context;
use vk_backend::{Error, FaultStage};

const SIZES: [usize; 7] = [0, 1, 3, 31, 33, 65, 257];
/// `mul` runs 256 rounds per point: smaller batches keep the file quick on lavapipe.
const MUL_SIZES: [usize; 5] = [0, 1, 3, 31, 33];
/// `to_affine` runs a 381-bit exponentiation per point.
const TO_AFFINE_SIZES: [usize; 5] = [0, 1, 3, 33, 257];
const FROM_XY_SIZES: [usize; 3] = [0, 1, 33];
/// `check_subgroup` runs a 64-bit (G2) or 128-bit (G1) multiplication per point.
const SUBGROUP_SIZES: [usize; 3] = [0, 1, 65];

/// The same tests for both groups.
macro_rules! group_tests {
    (
        $module:ident, $Gpu:ident, $Projective:ident, $Affine:ident, $cpu:ident,
        $random:ident, $outside:ident, $Coord:ident, $BlstAffine:ident
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

            /// blst's own affine points: the bits, not only the points.
            fn raw(points: &[$Affine]) -> Vec<blst::$BlstAffine> {
                points.iter().map(|&p| p.into()).collect()
            }

            #[test]
            fn to_affine_matches_the_cpu_bit_for_bit() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::to_affine_matches_the_cpu_bit_for_bit"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                for (seed, n) in TO_AFFINE_SIZES.into_iter().enumerate() {
                    // The edge operands (the identity, Z != 1, points outside the subgroup)
                    // from both sides of `pairs`, then random and repeated points.
                    let (a, b) = pairs(n, 300 + seed as u64);
                    let points: Vec<$Projective> = a
                        .iter()
                        .zip(&b)
                        .enumerate()
                        .map(|(i, (a, b))| if i % 2 == 0 { *a } else { *b })
                        .collect();
                    assert_eq!(
                        raw(&gpu.to_affine(&points).unwrap()),
                        raw(&$cpu::to_affine(&points)),
                        "n = {n}"
                    );
                }
                // Identities only, and one point many times.
                let o = $Projective::identity();
                let q = $Projective::generator().double();
                let points = [o, q, o, q, q, o];
                let affine = gpu.to_affine(&points).unwrap();
                assert_eq!(raw(&affine), raw(&$cpu::to_affine(&points)));
                assert!(affine[0].is_identity() && affine[5].is_identity());
                assert_eq!(affine[1], q.to_affine());
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn from_xy_matches_the_cpu_and_names_the_first_bad_pair() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::from_xy_matches_the_cpu_and_names_the_first_bad_pair"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let xy = |p: &$Affine| (p.x(), p.y());
                let mut rng = rng(400);
                let outside = $outside();
                for n in FROM_XY_SIZES {
                    // Points on the curve, outside the subgroup too.
                    let coordinates: Vec<($Coord, $Coord)> = (0..n)
                        .map(|i| match i % 4 {
                            1 => xy(&outside),
                            3 => xy(&$random(&mut rng).neg()),
                            _ => xy(&$random(&mut rng)),
                        })
                        .collect();
                    let points = gpu.from_xy(&coordinates).unwrap();
                    assert_eq!(raw(&points), raw(&$cpu::from_xy(&coordinates).unwrap()));
                }
                let good: Vec<($Coord, $Coord)> = (0..33).map(|_| xy(&$random(&mut rng))).collect();
                // y + 1 is off the curve (the other square root is -y); so are (0, 0),
                // blst's encoding of infinity, which from_xy rejects, and (x, 0) for an x
                // on the curve (no point of order 2).
                let (x, y) = good[5];
                let bad = [
                    (x, y + $Coord::ONE),
                    ($Coord::ZERO, $Coord::ZERO),
                    (x, $Coord::ZERO),
                ];
                for (k, &pair) in bad.iter().enumerate() {
                    for at in [0, 17, 32] {
                        let mut coordinates = good.clone();
                        coordinates[at] = pair;
                        // A second bad pair later in the batch: the first is named.
                        if at < 32 {
                            coordinates[32] = bad[(k + 1) % bad.len()];
                        }
                        let want = $cpu::from_xy(&coordinates).unwrap_err();
                        assert_eq!(want, CurveError::NotOnCurve { index: Some(at) });
                        match gpu.from_xy(&coordinates) {
                            Err(GpuError::Curve(e)) => assert_eq!(e, want, "bad {k} at {at}"),
                            other => panic!("bad {k} at {at}: {other:?}"),
                        }
                    }
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn check_subgroup_matches_the_cpu() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::check_subgroup_matches_the_cpu"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let mut rng = rng(500);
                let points: Vec<$Affine> = (0..65)
                    .map(|i| {
                        if i % 7 == 3 {
                            $Affine::identity()
                        } else {
                            $random(&mut rng)
                        }
                    })
                    .collect();
                for n in SUBGROUP_SIZES {
                    assert_eq!($cpu::check_subgroup(&points[..n]), Ok(()));
                    gpu.check_subgroup(&points[..n]).unwrap();
                }
                gpu.check_subgroup(&[$Affine::identity()]).unwrap();
                // Points outside the subgroup at several positions; the first is named.
                let outside = $outside();
                let other = outside.to_projective().double().to_affine();
                for places in [&[37][..], &[0], &[64], &[10, 50], &[37, 38, 64]] {
                    let mut batch = points.clone();
                    for (k, &at) in places.iter().enumerate() {
                        batch[at] = if k % 2 == 0 { outside } else { other };
                    }
                    let want = CurveError::NotInSubgroup {
                        index: Some(places[0]),
                    };
                    assert_eq!($cpu::check_subgroup(&batch), Err(want));
                    match gpu.check_subgroup(&batch) {
                        Err(GpuError::Curve(e)) => assert_eq!(e, want, "{places:?}"),
                        other => panic!("{places:?}: {other:?}"),
                    }
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Point by point against blst's `is_in_subgroup`, on a mix of points in and
            /// out of the subgroup: t outside it, p + t, multiples of t (some of which are
            /// back in the subgroup when k kills t's small-order part), the identity.
            #[test]
            fn check_subgroup_agrees_with_blst_point_by_point() {
                let Some(ctx) = test_context(concat!(
                    stringify!($module),
                    "::check_subgroup_agrees_with_blst_point_by_point"
                )) else {
                    return;
                };
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                let mut rng = rng(600);
                let t = $outside().to_projective();
                let points: Vec<$Affine> = (0..64u64)
                    .map(|i| {
                        let p = $random(&mut rng).to_projective();
                        let k = Scalar::from_u64(i / 8 + 1);
                        match i % 8 {
                            0 => p,
                            1 => $Projective::identity(),
                            2 => t.mul(&k),
                            3 => p.add(&t),
                            4 => p.add(&t.mul(&k)).neg(),
                            5 => t.mul(&Scalar::from_u64(3 * (i / 8 + 1))),
                            6 => t.mul(&random_scalar(&mut rng)),
                            _ => p.add(&t.mul(&Scalar::from_u64(11 * (i / 8 + 1)))),
                        }
                        .to_affine()
                    })
                    .collect();
                let want: Vec<bool> = points.iter().map($Affine::is_in_subgroup).collect();
                assert!(want.contains(&true) && want.contains(&false), "{want:?}");
                let got: Vec<bool> = points
                    .iter()
                    .map(|p| match gpu.check_subgroup(std::slice::from_ref(p)) {
                        Ok(()) => true,
                        Err(GpuError::Curve(CurveError::NotInSubgroup { index: Some(0) })) => false,
                        Err(e) => panic!("{p:?}: {e}"),
                    })
                    .collect();
                assert_eq!(got, want);
                // And the whole batch at once names the first.
                let first = want.iter().position(|&ok| !ok);
                match (gpu.check_subgroup(&points), first) {
                    (Err(GpuError::Curve(CurveError::NotInSubgroup { index })), Some(_)) => {
                        assert_eq!(index, first)
                    }
                    (other, _) => panic!("{other:?}, want the first at {first:?}"),
                }
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
    g1_not_in_subgroup,
    Fq,
    blst_p1_affine
);
group_tests!(
    g2_gpu,
    G2Gpu,
    G2Projective,
    G2Affine,
    g2,
    random_g2,
    g2_not_in_subgroup,
    Fq2,
    blst_p2_affine
);
