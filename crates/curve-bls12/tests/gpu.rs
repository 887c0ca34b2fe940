//! G1 batch operations on the GPU against the CPU batch operations (`batch::g1`), compared
//! as encoded affine points, with the validation layer on: the batch sizes, with edge
//! inputs (the identity on either side, P + P, P + (-P), repeated points, points outside the
//! prime-order subgroup, projective points with Z != 1) mixed into random ones, the edge
//! scalars for `mul`, and input errors. Needs a Vulkan device (lavapipe in CI); see
//! vk_backend::test_support.

mod common;

use common::*;
use curve_bls12::batch::g1;
use curve_bls12::{CurveError, G1Affine, G1Gpu, G1Projective, GpuError, Scalar};
use vk_backend::test_support::test_context;

const SIZES: [usize; 7] = [0, 1, 3, 31, 33, 65, 257];
/// `mul` runs 256 rounds per point: smaller batches keep the file quick on lavapipe.
const MUL_SIZES: [usize; 5] = [0, 1, 3, 31, 33];

fn encoded(points: &[G1Projective]) -> Vec<[u8; 96]> {
    points
        .iter()
        .map(|p| p.to_affine().to_uncompressed())
        .collect()
}

/// Operand pairs for a batch of `n`: the edge pairs first (cycled when `n` is smaller than
/// their number, so that every size gets some), then seeded random points, some of them with
/// Z != 1.
fn pairs(n: usize, seed: u64) -> (Vec<G1Projective>, Vec<G1Projective>) {
    let mut rng = rng(seed);
    let p = random_g1(&mut rng).to_projective();
    // Z != 1: the result of an addition.
    let q = p.add(&G1Projective::generator());
    let outside = g1_not_in_subgroup().to_projective();
    let outside_z = outside.double();
    let o = G1Projective::identity();
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
                (p, random_g1(&mut rng).to_projective())
            } else {
                let a = random_g1(&mut rng).to_projective();
                (a.double(), random_g1(&mut rng).to_projective())
            }
        })
        .unzip()
}

#[test]
fn add_double_neg_match_the_cpu_at_every_size() {
    let Some(ctx) = test_context("add_double_neg_match_the_cpu_at_every_size") else {
        return;
    };
    let gpu = G1Gpu::new(ctx.arc()).unwrap();
    for (seed, n) in SIZES.into_iter().enumerate() {
        let (a, b) = pairs(n, seed as u64);
        assert_eq!(
            encoded(&gpu.add(&a, &b).unwrap()),
            encoded(&g1::add(&a, &b).unwrap()),
            "add, n = {n}"
        );
        let b_affine: Vec<G1Affine> = b.iter().map(G1Projective::to_affine).collect();
        assert_eq!(
            encoded(&gpu.add_affine(&a, &b_affine).unwrap()),
            encoded(&g1::add_affine(&a, &b_affine).unwrap()),
            "add_affine, n = {n}"
        );
        assert_eq!(
            encoded(&gpu.double(&a).unwrap()),
            encoded(&g1::double(&a)),
            "double, n = {n}"
        );
        assert_eq!(
            encoded(&gpu.neg(&b).unwrap()),
            encoded(&g1::neg(&b)),
            "neg, n = {n}"
        );
    }
    drop(gpu);
    ctx.assert_no_validation_messages();
}

#[test]
fn results_are_equal_points_and_identities_are_identities() {
    let Some(ctx) = test_context("results_are_equal_points_and_identities_are_identities") else {
        return;
    };
    let gpu = G1Gpu::new(ctx.arc()).unwrap();
    let p = G1Projective::generator();
    let outside = g1_not_in_subgroup().to_projective();
    let sums = gpu
        .add(
            &[p, outside, G1Projective::identity()],
            &[p.neg(), outside.neg(), G1Projective::identity()],
        )
        .unwrap();
    assert!(sums.iter().all(G1Projective::is_identity), "{sums:?}");
    let mixed = gpu
        .add_affine(
            &[G1Projective::identity(), p],
            &[G1Affine::identity(), G1Affine::identity()],
        )
        .unwrap();
    assert!(mixed[0].is_identity());
    assert_eq!(mixed[1], p);
    // The projective `==` compares points, whatever their coordinates.
    assert_eq!(gpu.double(&[outside]).unwrap(), vec![outside.double()]);
    assert_eq!(
        gpu.neg(&[G1Projective::identity()]).unwrap(),
        vec![G1Projective::identity()]
    );
    drop(gpu);
    ctx.assert_no_validation_messages();
}

#[test]
fn mul_matches_the_cpu_with_edge_scalars() {
    let Some(ctx) = test_context("mul_matches_the_cpu_with_edge_scalars") else {
        return;
    };
    let gpu = G1Gpu::new(ctx.arc()).unwrap();
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
            encoded(&g1::mul(&a, &k).unwrap()),
            "mul, n = {n}"
        );
    }
    // Every edge scalar on a point outside the subgroup, where r is not its order.
    let outside = vec![g1_not_in_subgroup().to_projective().double(); edges.len()];
    assert_eq!(
        encoded(&gpu.mul(&outside, &edges).unwrap()),
        encoded(&g1::mul(&outside, &edges).unwrap()),
        "mul outside the subgroup"
    );
    drop(gpu);
    ctx.assert_no_validation_messages();
}

#[test]
fn length_mismatches_are_errors() {
    let Some(ctx) = test_context("length_mismatches_are_errors") else {
        return;
    };
    let gpu = G1Gpu::new(ctx.arc()).unwrap();
    let p = [G1Projective::generator(); 2];
    let mismatch = |op, r: Result<Vec<G1Projective>, GpuError>| match r {
        Err(GpuError::Curve(CurveError::LengthMismatch {
            op: o,
            left: 2,
            right: 1,
        })) => {
            assert_eq!(o, op)
        }
        other => panic!("{op}: {other:?}"),
    };
    mismatch("add", gpu.add(&p, &p[..1]));
    mismatch("add_affine", gpu.add_affine(&p, &[G1Affine::generator()]));
    mismatch("mul", gpu.mul(&p, &[Scalar::ONE]));
    drop(gpu);
    ctx.assert_no_validation_messages();
}
