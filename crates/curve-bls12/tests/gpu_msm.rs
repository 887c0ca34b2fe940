//! GPU MSM (`G1Gpu::msm`, `G2Gpu::msm`) against the CPU's (blst's Pippenger, itself tested
//! against the big-integer oracle in tests/msm.rs) and, at the small sizes, against the
//! oracle directly, compared as encoded affine points, with the validation layer on: the
//! issue's sizes, the edge scalars (0, 1, r-1, r, r+1, 2^255-1, 2^256-1), the identity among
//! the bases, P and -P, one point many times, every scalar equal (one bucket holds every
//! point), points outside the subgroup, several window widths, repeated runs, input errors
//! and a backend failure. Needs a Vulkan device (lavapipe in CI); see
//! vk_backend::test_support.

mod common;

use common::oracle::Point;
use common::*;
use curve_bls12::{
    msm_g1, msm_g2, CurveError, G1Affine, G1Gpu, G1Projective, G2Affine, G2Gpu, G2Projective,
    GpuError, MsmTuning, Scalar,
};
use proptest::prelude::*;
use rand::RngCore;
use std::time::Duration;

use vk_backend::test_support::test_context_with;
use vk_backend::{Error, FaultStage};

/// Sizes compared with the CPU (the edge table up to what lavapipe runs quickly;
/// 2^16 + 1 and up belong to `hybrid-exec verify` on the GPU machine).
const SIZES: [usize; 10] = [0, 1, 2, 3, 31, 32, 33, 255, 257, 1000];
/// Sizes also compared with the oracle.
const ORACLE_SIZES: [usize; 4] = [1, 2, 3, 33];

macro_rules! group_tests {
    (
        $module:ident, $Gpu:ident, $Projective:ident, $Affine:ident, $cpu_msm:ident, $random:ident,
        $outside:ident, $oracle:ident, $oracle_eip:ident, $wide:literal
    ) => {
        mod $module {
            use super::*;

            fn encoded(p: &$Projective) -> Vec<u8> {
                p.to_affine().to_uncompressed().to_vec()
            }

            /// Bases for `n` points: the edge points first (the identity, P and -P, a point
            /// outside the subgroup, P again), then random points, every third one repeated.
            fn bases(n: usize, rng: &mut impl RngCore) -> Vec<$Affine> {
                let p = $random(rng);
                let edges = [$Affine::identity(), p, p.neg(), $outside(), p];
                (0..n)
                    .map(|i| match i {
                        _ if i < edges.len() => edges[i],
                        _ if i % 3 == 0 => p,
                        _ => $random(rng),
                    })
                    .collect()
            }

            /// The edge scalars at every other position, full 256-bit random ones between.
            fn scalars(n: usize, rng: &mut impl RngCore) -> Vec<Scalar> {
                let edges = edge_scalars();
                (0..n)
                    .map(|i| {
                        if i % 2 == 0 {
                            edges[(i / 2 + n) % edges.len()]
                        } else {
                            random_scalar(rng)
                        }
                    })
                    .collect()
            }

            fn gpu(test: &str) -> Option<(vk_backend::test_support::TestContext, $Gpu)> {
                // Lavapipe runs every test's submissions on two cores at once here: give
                // them time (a wedged device still fails, after two minutes).
                let ctx = test_context_with(&format!("{}::{test}", stringify!($module)), |c| {
                    c.with_timeout(Duration::from_secs(120))
                })?;
                let gpu = $Gpu::new(ctx.arc()).unwrap();
                Some((ctx, gpu))
            }

            #[test]
            fn msm_matches_the_cpu_at_every_size() {
                let Some((ctx, gpu)) = gpu("msm_matches_the_cpu_at_every_size") else {
                    return;
                };
                let mut rng = rng(11);
                for n in SIZES {
                    let points = bases(n, &mut rng);
                    let k = scalars(n, &mut rng);
                    let want = encoded(&$cpu_msm(&points, &k).unwrap());
                    assert_eq!(encoded(&gpu.msm(&points, &k).unwrap()), want, "n = {n}");
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn msm_matches_the_oracle() {
                let Some((ctx, gpu)) = gpu("msm_matches_the_oracle") else {
                    return;
                };
                let mut rng = rng(12);
                for n in ORACLE_SIZES {
                    let points = bases(n, &mut rng);
                    // 64-bit scalars and the edge ones: the oracle is slow in debug builds.
                    let edges = edge_scalars();
                    let k: Vec<Scalar> = (0..n)
                        .map(|i| match i % 2 {
                            0 => edges[(i / 2 + n) % edges.len()],
                            _ => Scalar::from_u64(rng.next_u64()),
                        })
                        .collect();
                    let sum = points
                        .iter()
                        .zip(&k)
                        .map(|(p, k)| $oracle(p).mul(&scalar_big(k)))
                        .fold(Point::Infinity, |acc, t| acc.add(&t));
                    let got = gpu.msm(&points, &k).unwrap().to_affine().to_eip2537();
                    assert_eq!(got.to_vec(), $oracle_eip(&sum), "n = {n}");
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Window widths up to `$wide` bits on one input (the widest take lavapipe
            /// seconds: 16-bit windows, the choice for 2^20 G1 points, are checked by
            /// `hybrid-exec verify` on the GPU machine), and the shapes that load one
            /// bucket:
            /// every scalar equal (all points in one bucket of one window, summed over
            /// several levels), all scalars zero, 2^256 - 1 everywhere (carries through
            /// every window).
            #[test]
            fn window_widths_and_crowded_buckets() {
                let Some((ctx, gpu)) = gpu("window_widths_and_crowded_buckets") else {
                    return;
                };
                let mut rng = rng(13);
                let points = bases(70, &mut rng);
                let k = scalars(70, &mut rng);
                let want = encoded(&$cpu_msm(&points, &k).unwrap());
                for c in [1, 2, 3, 7, 8, $wide] {
                    let got = gpu.msm_with_window(&points, &k, c).unwrap();
                    assert_eq!(encoded(&got), want, "c = {c}");
                }
                let max = edge_scalars()[6];
                for k in [Scalar::from_u64(5), Scalar::ZERO, max] {
                    let same = vec![k; 300];
                    let points = bases(300, &mut rng);
                    let want = encoded(&$cpu_msm(&points, &same).unwrap());
                    for c in [4, 9] {
                            let got = gpu.msm_with_window(&points, &same, c).unwrap();
                        assert_eq!(encoded(&got), want, "k = {k:?}, c = {c}");
                    }
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// One point many times: a bucket's sum meets the same point again, where the
            /// first level's addition must double (with equal scalars every entry of a
            /// window lands in one bucket; with random ones pairs still share buckets).
            #[test]
            fn one_point_many_times() {
                let Some((ctx, gpu)) = gpu("one_point_many_times") else {
                    return;
                };
                let mut rng = rng(17);
                let p = $random(&mut rng);
                for n in [2, 3, 40, 300] {
                    let points = vec![p; n];
                    let equal = vec![Scalar::from_u64(3); n];
                    let random: Vec<Scalar> = (0..n).map(|_| random_scalar(&mut rng)).collect();
                    for k in [equal, random] {
                        let want = encoded(&$cpu_msm(&points, &k).unwrap());
                        for c in [3, 8] {
                            let got = gpu.msm_with_window(&points, &k, c).unwrap();
                            assert_eq!(encoded(&got), want, "n = {n}, c = {c}");
                        }
                    }
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Segment and chunk sizes at their limits give the same sums (more levels,
            /// longer running sums); settings out of range are typed errors.
            #[test]
            fn tuning_changes_nothing_but_speed() {
                let Some((ctx, gpu)) = gpu("tuning_changes_nothing_but_speed") else {
                    return;
                };
                let mut rng = rng(18);
                let points = bases(200, &mut rng);
                let k = scalars(200, &mut rng);
                let want = encoded(&$cpu_msm(&points, &k).unwrap());
                for tuning in [
                    MsmTuning::default().with_segment(4).with_chunk(1).with_window_bits(6),
                    MsmTuning::default().with_segment(200).with_chunk(32768),
                    MsmTuning::default().with_segment(5).with_chunk(3).with_window_bits(9),
                ] {
                    let got = gpu.msm_tuned(&points, &k, &tuning).unwrap();
                    assert_eq!(encoded(&got), want, "{tuning:?}");
                }
                for (tuning, what) in [
                    (MsmTuning::default().with_segment(3), "segment"),
                    (MsmTuning::default().with_segment(1025), "segment"),
                    (MsmTuning::default().with_chunk(0), "chunk"),
                ] {
                    assert!(
                        matches!(
                            gpu.msm_tuned(&points, &k, &tuning),
                            Err(GpuError::Tuning { what: w, .. }) if w == what
                        ),
                        "{tuning:?}"
                    );
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn repeated_runs_are_identical() {
                let Some((ctx, gpu)) = gpu("repeated_runs_are_identical") else {
                    return;
                };
                let mut rng = rng(14);
                let points = bases(257, &mut rng);
                let k = scalars(257, &mut rng);
                let first = encoded(&gpu.msm(&points, &k).unwrap());
                for _ in 0..3 {
                    assert_eq!(encoded(&gpu.msm(&points, &k).unwrap()), first);
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Many MSMs of different sizes in one call (empty ones, single points, the
            /// edge sizes), each equal to its own CPU MSM, with the window sums combined on
            /// the host and (more MSMs than `host_horner_msms`) on the device.
            #[test]
            fn batched_msms_match_the_cpu_one_by_one() {
                let Some((ctx, gpu)) = gpu("batched_msms_match_the_cpu_one_by_one") else {
                    return;
                };
                let mut rng = rng(16);
                let sizes = [0, 1, 3, 31, 2, 0, 33, 64, 5, 1, 17, 40];
                let inputs: Vec<(Vec<$Affine>, Vec<Scalar>)> = sizes
                    .iter()
                    .map(|&n| (bases(n, &mut rng), scalars(n, &mut rng)))
                    .collect();
                let want: Vec<Vec<u8>> = inputs
                    .iter()
                    .map(|(p, k)| encoded(&$cpu_msm(p, k).unwrap()))
                    .collect();
                let msms: Vec<(&[$Affine], &[Scalar])> =
                    inputs.iter().map(|(p, k)| (&p[..], &k[..])).collect();
                let on_device = MsmTuning::default().with_host_horner_msms(4);
                for got in [
                    gpu.msm_batch(&msms).unwrap(),
                    gpu.msm_batch_with_window(&msms, 3).unwrap(),
                    gpu.msm_batch_tuned(&msms, &on_device).unwrap(),
                    gpu.msm_batch_tuned(&msms, &on_device.with_window_bits(3)).unwrap(),
                ] {
                    let got: Vec<Vec<u8>> = got.iter().map(encoded).collect();
                    assert_eq!(got, want);
                }
                let few = gpu.msm_batch(&msms[..3]).unwrap();
                assert_eq!(few.iter().map(encoded).collect::<Vec<_>>(), want[..3]);
                assert!(gpu.msm_batch(&[]).unwrap().is_empty());
                let mismatched = [msms[2], (msms[3].0, &msms[3].1[1..])];
                assert!(matches!(
                    gpu.msm_batch(&mismatched),
                    Err(GpuError::Curve(CurveError::BatchLengthMismatch { index: 1, .. }))
                ));
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// More MSMs in one call than the device's buffers hold buckets for at any
            /// window width (on lavapipe, whose storage buffers stop at 128 MiB, a few
            /// thousand): the call is split and every sum is still right, for batches and
            /// for fixed bases.
            #[test]
            fn calls_too_large_for_one_submission_are_split() {
                let Some((ctx, gpu)) = gpu("calls_too_large_for_one_submission_are_split") else {
                    return;
                };
                // At the narrowest width (2 bits: 129 windows of 2 buckets) one more MSM
                // than the bucket array holds; a device with larger buffers runs it whole.
                let point_bytes = std::mem::size_of::<$Projective>() as u64;
                let limit = gpu.context().max_kernel_buffer_bytes();
                let n = ((limit / (258 * point_bytes)) as usize + 1).min(1 << 17);
                let mut rng = rng(18);
                let points: Vec<$Affine> = (0..16).map(|_| $random(&mut rng)).collect();
                let k: Vec<Scalar> = (0..n).map(|_| random_scalar(&mut rng)).collect();
                let msms: Vec<(&[$Affine], &[Scalar])> =
                    (0..n).map(|i| (&points[i % 16..i % 16 + 1], &k[i..i + 1])).collect();
                let want: Vec<Vec<u8>> = msms
                    .iter()
                    .map(|(p, k)| encoded(&$cpu_msm(p, k).unwrap()))
                    .collect();
                let got: Vec<Vec<u8>> = gpu.msm_batch(&msms).unwrap().iter().map(encoded).collect();
                assert_eq!(got, want);
                let bases = gpu.upload_bases(&points[..1]).unwrap();
                let sets: Vec<&[Scalar]> = (0..n).map(|i| &k[i..i + 1]).collect();
                let want: Vec<Vec<u8>> = sets
                    .iter()
                    .map(|k| encoded(&$cpu_msm(&points[..1], k).unwrap()))
                    .collect();
                let got: Vec<Vec<u8>> =
                    gpu.msm_fixed(&bases, &sets).unwrap().iter().map(encoded).collect();
                assert_eq!(got, want);
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Checked batches: every sum as the CPU's (points outside the subgroup are
            /// summed like any), and a flag per call that is false exactly for the calls
            /// holding a point outside the subgroup (the identity is inside).
            #[test]
            fn checked_batches_flag_calls_with_points_outside_the_subgroup() {
                let Some((ctx, gpu)) =
                    gpu("checked_batches_flag_calls_with_points_outside_the_subgroup")
                else {
                    return;
                };
                let mut rng = rng(19);
                let sizes = [0, 1, 3, 33, 5, 2];
                let inputs: Vec<(Vec<$Affine>, Vec<Scalar>)> = sizes
                    .iter()
                    .enumerate()
                    .map(|(m, &n)| {
                        let mut p: Vec<$Affine> = (0..n).map(|_| $random(&mut rng)).collect();
                        match m {
                            2 | 5 => p[n - 1] = $outside(),
                            3 => p[0] = $Affine::identity(),
                            _ => {}
                        }
                        (p, scalars(n, &mut rng))
                    })
                    .collect();
                let msms: Vec<(&[$Affine], &[Scalar])> =
                    inputs.iter().map(|(p, k)| (&p[..], &k[..])).collect();
                let (sums, flags) = gpu.msm_batch_checked(&msms).unwrap();
                assert_eq!(flags, [true, true, false, true, true, false]);
                // The sums of the calls inside the subgroup (the others are unspecified).
                let inside = |m: &usize| flags[*m];
                let got: Vec<Vec<u8>> = (0..sizes.len())
                    .filter(inside)
                    .map(|m| encoded(&sums[m]))
                    .collect();
                let want: Vec<Vec<u8>> = (0..sizes.len())
                    .filter(inside)
                    .map(|m| encoded(&$cpu_msm(msms[m].0, msms[m].1).unwrap()))
                    .collect();
                assert_eq!(got, want);
                // Edge scalars (0, 1, r - 1, r, r + 1, 2^255 - 1, 2^256 - 1) on repeated
                // points and on P and -P, whole and split alike.
                let edges = edge_scalars();
                let p = $random(&mut rng);
                let points: Vec<$Affine> = (0..edges.len())
                    .map(|i| if i % 3 == 2 { p.neg() } else { p })
                    .collect();
                let one = [(&points[..], &edges[..])];
                let (sums, flags) = gpu.msm_batch_checked(&one).unwrap();
                assert_eq!(flags, [true]);
                assert_eq!(
                    encoded(&sums[0]),
                    encoded(&$cpu_msm(&points, &edges).unwrap())
                );
                assert_eq!(gpu.msm_batch_checked(&[]).unwrap(), (vec![], vec![]));
                let mismatched = [msms[1], (msms[3].0, &msms[3].1[1..])];
                assert!(matches!(
                    gpu.msm_batch_checked(&mismatched),
                    Err(GpuError::Curve(CurveError::BatchLengthMismatch { index: 1, .. }))
                ));
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            /// Fixed bases uploaded once, several scalar sets per call, two calls.
            #[test]
            fn fixed_base_msms_match_the_cpu() {
                let Some((ctx, gpu)) = gpu("fixed_base_msms_match_the_cpu") else {
                    return;
                };
                let mut rng = rng(17);
                let points = bases(65, &mut rng);
                let resident = gpu.upload_bases(&points).unwrap();
                assert_eq!(resident.len(), 65);
                for sets in [3, 10] {
                    let scalar_sets: Vec<Vec<Scalar>> =
                        (0..sets).map(|_| scalars(65, &mut rng)).collect();
                    let refs: Vec<&[Scalar]> = scalar_sets.iter().map(|k| &k[..]).collect();
                    let got: Vec<Vec<u8>> =
                        gpu.msm_fixed(&resident, &refs).unwrap().iter().map(encoded).collect();
                    let want: Vec<Vec<u8>> = scalar_sets
                        .iter()
                        .map(|k| encoded(&$cpu_msm(&points, k).unwrap()))
                        .collect();
                    assert_eq!(got, want, "{sets} sets");
                }
                let short = scalars(64, &mut rng);
                assert!(matches!(
                    gpu.msm_fixed(&resident, &[&short]),
                    Err(GpuError::Curve(CurveError::BatchLengthMismatch { index: 0, points: 65, scalars: 64, .. }))
                ));
                let none = gpu.upload_bases(&[]).unwrap();
                assert!(none.is_empty());
                assert!(gpu.msm_fixed(&none, &[&[], &[]]).unwrap().iter().all(|p| p.is_identity()));
                drop((resident, none, gpu));
                ctx.assert_no_validation_messages();
            }

            /// Fixed bases with precomputed multiples: every size of the edge table, the
            /// edge points and scalars, several scalar sets per call (and more than the
            /// host combines), the tuning's own window width (the bases alone), against
            /// the CPU.
            #[test]
            fn fixed_base_msms_over_multiples_match_the_cpu() {
                let Some((ctx, gpu)) = gpu("fixed_base_msms_over_multiples_match_the_cpu") else {
                    return;
                };
                let mut rng = rng(19);
                for n in SIZES {
                    let points = bases(n, &mut rng);
                    let resident = gpu.upload_bases_with_multiples(&points).unwrap();
                    assert_eq!(resident.len(), n);
                    assert_eq!(resident.multiples_window_bits().is_some(), n > 0, "{n} bases");
                    let sets = if n == 33 { 70 } else { 3 };
                    let scalar_sets: Vec<Vec<Scalar>> =
                        (0..sets).map(|_| scalars(n, &mut rng)).collect();
                    let refs: Vec<&[Scalar]> = scalar_sets.iter().map(|k| &k[..]).collect();
                    let want: Vec<Vec<u8>> = scalar_sets
                        .iter()
                        .map(|k| encoded(&$cpu_msm(&points, k).unwrap()))
                        .collect();
                    let got: Vec<Vec<u8>> =
                        gpu.msm_fixed(&resident, &refs).unwrap().iter().map(encoded).collect();
                    assert_eq!(got, want, "{n} bases, {sets} sets");
                    if n == 33 {
                        let device_horner = MsmTuning::default().with_host_horner_msms(1);
                        let got: Vec<Vec<u8>> = gpu
                            .msm_fixed_tuned(&resident, &refs, &device_horner)
                            .unwrap()
                            .iter()
                            .map(encoded)
                            .collect();
                        assert_eq!(got, want, "{n} bases, Horner on the device");
                        let other = MsmTuning::default().with_window_bits(3);
                        let got: Vec<Vec<u8>> = gpu
                            .msm_fixed_tuned(&resident, &refs[..3], &other)
                            .unwrap()
                            .iter()
                            .map(encoded)
                            .collect();
                        assert_eq!(got, want[..3], "{n} bases, the bases alone");
                    }
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }

            #[test]
            fn bad_input_and_backend_failures_are_errors() {
                let Some((ctx, gpu)) = gpu("bad_input_and_backend_failures_are_errors") else {
                    return;
                };
                let mut rng = rng(15);
                let points = bases(33, &mut rng);
                let k = scalars(33, &mut rng);
                assert!(matches!(
                    gpu.msm(&points, &k[..32]),
                    Err(GpuError::Curve(CurveError::LengthMismatch { .. }))
                ));
                for bits in [0, 17] {
                    assert!(matches!(
                        gpu.msm_with_window(&points, &k, bits),
                        Err(GpuError::WindowBits { bits: b }) if b == bits
                    ));
                }
                let empty: [$Affine; 0] = [];
                assert!(gpu.msm(&empty, &[]).unwrap().is_identity());
                let want = encoded(&$cpu_msm(&points, &k).unwrap());
                for stage in [FaultStage::Upload, FaultStage::Compute, FaultStage::Download] {
                    ctx.inject_fault(stage, Error::OutOfDeviceMemory { call: "injected" });
                    assert!(
                        matches!(
                            gpu.msm(&points, &k),
                            Err(GpuError::Backend(Error::OutOfDeviceMemory { .. }))
                        ),
                        "{stage:?}"
                    );
                    assert_eq!(encoded(&gpu.msm(&points, &k).unwrap()), want, "{stage:?}");
                }
                drop(gpu);
                ctx.assert_no_validation_messages();
            }
        }
    };
}

group_tests!(
    g1_msm,
    G1Gpu,
    G1Projective,
    G1Affine,
    msm_g1,
    random_g1,
    g1_not_in_subgroup,
    g1_oracle,
    g1_oracle_eip,
    16
);
group_tests!(
    g2_msm,
    G2Gpu,
    G2Projective,
    G2Affine,
    msm_g2,
    random_g2,
    g2_not_in_subgroup,
    g2_oracle,
    g2_oracle_eip,
    10
);

/// One device for the property test's cases (a context per case would dominate its time).
fn shared_g1() -> Option<&'static (vk_backend::test_support::TestContext, G1Gpu)> {
    static GPU: std::sync::OnceLock<Option<(vk_backend::test_support::TestContext, G1Gpu)>> =
        std::sync::OnceLock::new();
    GPU.get_or_init(|| {
        let ctx = test_context_with("gpu_msm::random_g1_msm_matches_the_cpu", |c| {
            c.with_timeout(Duration::from_secs(120))
        })?;
        let gpu = G1Gpu::new(ctx.arc()).unwrap();
        Some((ctx, gpu))
    })
    .as_ref()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    /// Random sizes, points (some repeated or negated), scalars (some small, so buckets
    /// collide) and window widths: the GPU equals the CPU.
    #[test]
    fn random_g1_msm_matches_the_cpu(seed in any::<u64>(), n in 0usize..40, c in 1u32..=10) {
        let Some((ctx, gpu)) = shared_g1() else {
            return Ok(());
        };
        let mut rng = rng(seed);
        let mut points: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
        for i in (2..n).step_by(5) {
            points[i] = if i % 2 == 0 { points[i - 1] } else { points[i - 2].neg() };
        }
        let k: Vec<Scalar> = (0..n)
            .map(|i| match i % 3 {
                0 => Scalar::from_u64(rng.next_u64() % 8),
                _ => random_scalar(&mut rng),
            })
            .collect();
        let got = gpu.msm_with_window(&points, &k, c).unwrap();
        prop_assert_eq!(got, msm_g1(&points, &k).unwrap());
        prop_assert!(ctx.take_validation_messages().is_empty());
    }
}
