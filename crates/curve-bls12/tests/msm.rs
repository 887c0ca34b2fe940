//! MSM against the big-integer oracle (small sizes, edge scalars, infinity, repeated points,
//! P with -P, points outside the subgroup) and against a naive sum of single
//! multiplications (sizes around and above blst's Pippenger threshold).

mod common;

use common::oracle::Point;
use common::*;
use curve_bls12::{
    msm_g1, msm_g2, CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar,
};
use proptest::prelude::*;
use rand::RngCore;
use rayon::prelude::*;

const ORACLE_SIZES: [usize; 7] = [0, 1, 2, 3, 31, 32, 33];

/// The edge scalars at even positions (starting at a different one for each size, so that
/// sizes 1 to 3 see more than 0 and 1), random ones between: 64-bit ones (the debug-build
/// oracle's cost grows with the scalars' bits; the proptest below takes full 256-bit ones).
fn scalars(n: usize, rng: &mut impl RngCore) -> Vec<Scalar> {
    let edges = edge_scalars();
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                edges[(i / 2 + 3 * n) % edges.len()]
            } else {
                Scalar::from_u64(rng.next_u64())
            }
        })
        .collect()
}

/// Full 256-bit random scalars (for the comparisons with the naive sum).
fn full_scalars(n: usize, rng: &mut impl RngCore) -> Vec<Scalar> {
    let edges = edge_scalars();
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                edges[(i / 2) % edges.len()]
            } else {
                random_scalar(rng)
            }
        })
        .collect()
}

fn g1_oracle_msm(points: &[G1Affine], scalars: &[Scalar]) -> Vec<u8> {
    let terms: Vec<Point<_>> = points
        .par_iter()
        .zip(scalars)
        .map(|(p, k)| g1_oracle(p).mul(&scalar_big(k)))
        .collect();
    g1_oracle_eip(&terms.iter().fold(Point::Infinity, |acc, t| acc.add(t)))
}

fn g2_oracle_msm(points: &[G2Affine], scalars: &[Scalar]) -> Vec<u8> {
    let terms: Vec<Point<_>> = points
        .par_iter()
        .zip(scalars)
        .map(|(p, k)| g2_oracle(p).mul(&scalar_big(k)))
        .collect();
    g2_oracle_eip(&terms.iter().fold(Point::Infinity, |acc, t| acc.add(t)))
}

fn g1_eip(p: G1Projective) -> Vec<u8> {
    p.to_affine().to_eip2537().to_vec()
}

fn g2_eip(p: G2Projective) -> Vec<u8> {
    p.to_affine().to_eip2537().to_vec()
}

#[test]
fn g1_msm_matches_oracle_for_small_sizes_and_edge_scalars() {
    let mut rng = rng(10);
    for n in ORACLE_SIZES {
        let points: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
        let ks = scalars(n, &mut rng);
        assert_eq!(
            g1_eip(msm_g1(&points, &ks).unwrap()),
            g1_oracle_msm(&points, &ks),
            "n = {n}"
        );
    }
}

#[test]
fn g2_msm_matches_oracle_for_small_sizes_and_edge_scalars() {
    let mut rng = rng(11);
    for n in ORACLE_SIZES {
        let points: Vec<G2Affine> = (0..n).map(|_| random_g2(&mut rng)).collect();
        let ks = scalars(n, &mut rng);
        if n == 31 || n == 32 {
            // The G2 oracle costs ~5 s more in a debug build for these two; the naive sum
            // is itself checked against the oracle (points.rs), and 3 and 33 take the same
            // two code paths (single multiplications, Pippenger) against the oracle.
            assert_eq!(
                msm_g2(&points, &ks).unwrap(),
                naive_g2(&points, &ks),
                "n = {n}"
            );
            continue;
        }
        assert_eq!(
            g2_eip(msm_g2(&points, &ks).unwrap()),
            g2_oracle_msm(&points, &ks),
            "n = {n}"
        );
    }
}

/// Every edge scalar alone on top of 32 terms, so that blst's Pippenger (not the small
/// path) sees it at full 256 bits.
#[test]
fn g1_pippenger_edge_scalars_match_oracle() {
    let mut rng = rng(12);
    let points: Vec<G1Affine> = (0..33).map(|_| random_g1(&mut rng)).collect();
    let base: Vec<Scalar> = (0..33).map(|_| Scalar::from_u64(rng.next_u64())).collect();
    // The oracle's sum without term 17, once; then term 17 for each edge scalar.
    let rest: Point<_> = (0..33)
        .into_par_iter()
        .filter(|&i| i != 17)
        .map(|i| g1_oracle(&points[i]).mul(&scalar_big(&base[i])))
        .reduce(|| Point::Infinity, |a, b| a.add(&b));
    for k in edge_scalars() {
        let mut ks = base.clone();
        ks[17] = k;
        let want = rest.add(&g1_oracle(&points[17]).mul(&scalar_big(&k)));
        assert_eq!(
            g1_eip(msm_g1(&points, &ks).unwrap()),
            g1_oracle_eip(&want),
            "{k:?}"
        );
    }
}

/// MSM against the oracle for small inputs, against the naive sum (itself checked against the
/// oracle in `points.rs`) for larger ones, where the debug-build oracle is slow.
fn check_g1(points: &[G1Affine], ks: &[Scalar]) {
    let got = msm_g1(points, ks).unwrap();
    if points.len() <= 8 {
        assert_eq!(g1_eip(got), g1_oracle_msm(points, ks));
    } else {
        assert_eq!(got, naive_g1(points, ks));
    }
}

#[test]
fn infinity_repeated_points_and_opposite_points() {
    let mut rng = rng(13);
    let p = random_g1(&mut rng);
    for n in [3, 40] {
        // Infinity among the bases, at the start, middle and end.
        let mut points: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
        for i in [0, n / 2, n - 1] {
            points[i] = G1Affine::identity();
        }
        let ks = scalars(n, &mut rng);
        check_g1(&points, &ks);

        // All infinity.
        let inf = vec![G1Affine::identity(); n];
        assert!(msm_g1(&inf, &ks).unwrap().is_identity());

        // The same point many times.
        let same = vec![p; n];
        check_g1(&same, &ks);
        let ones = vec![Scalar::ONE; n];
        assert_eq!(
            msm_g1(&same, &ones).unwrap(),
            p.to_projective().mul(&Scalar::from_u64(n as u64))
        );

        // P and -P with equal scalars cancel; with other scalars they do not.
        let mut pm: Vec<G1Affine> = (0..n / 2).flat_map(|_| [p, p.neg()]).collect();
        pm.push(p);
        let equal: Vec<Scalar> = vec![Scalar::from_u64(7); pm.len()];
        assert_eq!(
            msm_g1(&pm, &equal).unwrap(),
            p.to_projective().mul(&Scalar::from_u64(7))
        );
        let ks = scalars(pm.len(), &mut rng);
        check_g1(&pm, &ks);

        // G2: the same cases against the naive sum.
        let q = random_g2(&mut rng);
        let mut qs: Vec<G2Affine> = (0..n)
            .flat_map(|i| {
                [
                    q,
                    q.neg(),
                    if i % 3 == 0 { G2Affine::identity() } else { q },
                ]
            })
            .collect();
        qs.truncate(n);
        let ks = scalars(n, &mut rng);
        assert_eq!(msm_g2(&qs, &ks).unwrap(), naive_g2(&qs, &ks));
    }
}

#[test]
fn points_outside_the_subgroup_match_oracle() {
    let mut rng = rng(14);
    let bad = g1_not_in_subgroup();
    for n in [2, 33] {
        let mut points: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
        points[1] = bad;
        let ks = scalars(n, &mut rng);
        check_g1(&points, &ks);
    }
    let bad2 = g2_not_in_subgroup();
    let mut points: Vec<G2Affine> = (0..33).map(|_| random_g2(&mut rng)).collect();
    points[5] = bad2;
    let ks = full_scalars(33, &mut rng);
    assert_eq!(msm_g2(&points, &ks).unwrap(), naive_g2(&points, &ks));
    let ks = edge_scalars();
    let bads = vec![bad2; ks.len()];
    assert_eq!(
        g2_eip(msm_g2(&bads, &ks).unwrap()),
        g2_oracle_msm(&bads, &ks)
    );
}

fn naive_g1(points: &[G1Affine], ks: &[Scalar]) -> G1Projective {
    points
        .par_iter()
        .zip(ks)
        .map(|(p, k)| p.to_projective().mul(k))
        .reduce(G1Projective::identity, |a, b| a.add(&b))
}

fn naive_g2(points: &[G2Affine], ks: &[Scalar]) -> G2Projective {
    points
        .par_iter()
        .zip(ks)
        .map(|(p, k)| p.to_projective().mul(k))
        .reduce(G2Projective::identity, |a, b| a.add(&b))
}

/// Distinct points cheaply: multiples of a random point by consecutive small integers.
fn many_g1(n: usize, rng: &mut impl RngCore) -> Vec<G1Affine> {
    let step = random_g1(rng).to_projective();
    let mut acc = step;
    let projective: Vec<G1Projective> = (0..n)
        .map(|_| {
            acc = acc.add(&step);
            acc
        })
        .collect();
    curve_bls12::batch::g1::to_affine(&projective)
}

#[test]
fn g1_large_sizes_match_naive_sum() {
    let mut rng = rng(15);
    for n in [255, 257, 1000, 4097] {
        let mut points = many_g1(n, &mut rng);
        points[n / 3] = G1Affine::identity();
        let ks = full_scalars(n, &mut rng);
        assert_eq!(
            msm_g1(&points, &ks).unwrap(),
            naive_g1(&points, &ks),
            "n = {n}"
        );
    }
}

#[test]
fn g2_large_sizes_match_naive_sum() {
    let mut rng = rng(16);
    for n in [255, 257] {
        let step = random_g2(&mut rng).to_projective();
        let mut acc = step;
        let projective: Vec<G2Projective> = (0..n)
            .map(|_| {
                acc = acc.add(&step);
                acc
            })
            .collect();
        let points = curve_bls12::batch::g2::to_affine(&projective);
        let ks = full_scalars(n, &mut rng);
        assert_eq!(
            msm_g2(&points, &ks).unwrap(),
            naive_g2(&points, &ks),
            "n = {n}"
        );
    }
}

#[test]
fn length_mismatch_is_an_error() {
    let p = [G1Affine::generator(); 3];
    assert_eq!(
        msm_g1(&p, &[Scalar::ONE; 2]),
        Err(CurveError::LengthMismatch {
            op: "msm_g1",
            left: 3,
            right: 2
        })
    );
    let q = [G2Affine::generator(); 1];
    assert!(matches!(
        msm_g2(&q, &[]),
        Err(CurveError::LengthMismatch {
            left: 1,
            right: 0,
            ..
        })
    ));
    assert!(msm_g1(&[], &[]).unwrap().is_identity());
    assert!(msm_g2(&[], &[]).unwrap().is_identity());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]
    #[test]
    fn random_g1_msm_matches_oracle(seed in any::<u64>(), n in 0usize..4) {
        let mut rng = rng(seed);
        let points: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
        let ks: Vec<Scalar> = (0..n).map(|_| random_scalar(&mut rng)).collect();
        prop_assert_eq!(g1_eip(msm_g1(&points, &ks).unwrap()), g1_oracle_msm(&points, &ks));
    }
}
