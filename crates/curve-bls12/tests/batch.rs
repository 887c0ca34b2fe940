//! Batch operations against the big-integer oracle (element by element), length mismatches,
//! and the first-failure indices of the batch checks.

mod common;

use common::*;
use curve_bls12::batch::{g1, g2};
use curve_bls12::{CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use field_bls12::{Fq, Fq2};
use rayon::prelude::*;

fn g1_points(n: usize, seed: u64) -> Vec<G1Affine> {
    let mut rng = rng(seed);
    let mut v: Vec<G1Affine> = (0..n).map(|_| random_g1(&mut rng)).collect();
    if n > 3 {
        v[1] = G1Affine::identity();
        v[2] = v[0];
        v[3] = v[0].neg();
    }
    v
}

fn g2_points(n: usize, seed: u64) -> Vec<G2Affine> {
    let mut rng = rng(seed);
    let mut v: Vec<G2Affine> = (0..n).map(|_| random_g2(&mut rng)).collect();
    if n > 3 {
        v[1] = G2Affine::identity();
        v[2] = v[0];
        v[3] = v[0].neg();
    }
    v
}

fn proj1(v: &[G1Affine]) -> Vec<G1Projective> {
    v.iter().map(G1Affine::to_projective).collect()
}

fn proj2(v: &[G2Affine]) -> Vec<G2Projective> {
    v.iter().map(G2Affine::to_projective).collect()
}

#[test]
fn g1_batch_ops_match_oracle() {
    let a = g1_points(12, 30);
    let mut b = g1_points(12, 31);
    b[0] = a[0]; // doubling through add
    b[2] = a[2].neg(); // cancelling
    let (pa, pb) = (proj1(&a), proj1(&b));
    let eip = |v: Vec<G1Projective>| -> Vec<Vec<u8>> {
        g1::to_affine(&v)
            .iter()
            .map(|p| p.to_eip2537().to_vec())
            .collect()
    };
    let oracle =
        |f: &(dyn Fn(usize) -> common::oracle::Point<common::oracle::Fp> + Sync)| -> Vec<Vec<u8>> {
            (0..a.len())
                .into_par_iter()
                .map(|i| g1_oracle_eip(&f(i)))
                .collect()
        };
    let want_add = oracle(&|i| g1_oracle(&a[i]).add(&g1_oracle(&b[i])));
    assert_eq!(eip(g1::add(&pa, &pb).unwrap()), want_add);
    assert_eq!(eip(g1::add_affine(&pa, &b).unwrap()), want_add);
    assert_eq!(eip(g1::double(&pa)), oracle(&|i| g1_oracle(&a[i]).double()));
    assert_eq!(eip(g1::neg(&pa)), oracle(&|i| g1_oracle(&a[i]).neg()));
    let ks: Vec<Scalar> = (0..a.len() as u64)
        .map(|i| Scalar::from_u64(i * 0x1234_5678_9abc + 3))
        .collect();
    assert_eq!(
        eip(g1::mul(&pa, &ks).unwrap()),
        oracle(&|i| g1_oracle(&a[i]).mul(&scalar_big(&ks[i])))
    );
    // Normalisation of projective points with Z != 1, infinity among them.
    let doubled = g1::double(&pa);
    let normal = g1::to_affine(&doubled);
    assert_eq!(
        normal,
        doubled
            .iter()
            .map(G1Projective::to_affine)
            .collect::<Vec<_>>()
    );
    assert!(normal[1].is_identity());
}

#[test]
fn g2_batch_ops_match_oracle() {
    let a = g2_points(6, 32);
    let mut b = g2_points(6, 33);
    b[0] = a[0];
    b[2] = a[2].neg();
    let (pa, pb) = (proj2(&a), proj2(&b));
    let eip = |v: Vec<G2Projective>| -> Vec<Vec<u8>> {
        g2::to_affine(&v)
            .iter()
            .map(|p| p.to_eip2537().to_vec())
            .collect()
    };
    let oracle =
        |f: &(dyn Fn(usize) -> common::oracle::Point<common::oracle::Fp2> + Sync)| -> Vec<Vec<u8>> {
            (0..a.len())
                .into_par_iter()
                .map(|i| g2_oracle_eip(&f(i)))
                .collect()
        };
    let want_add = oracle(&|i| g2_oracle(&a[i]).add(&g2_oracle(&b[i])));
    assert_eq!(eip(g2::add(&pa, &pb).unwrap()), want_add);
    assert_eq!(eip(g2::add_affine(&pa, &b).unwrap()), want_add);
    assert_eq!(eip(g2::double(&pa)), oracle(&|i| g2_oracle(&a[i]).double()));
    assert_eq!(eip(g2::neg(&pa)), oracle(&|i| g2_oracle(&a[i]).neg()));
    let ks: Vec<Scalar> = (0..a.len() as u64)
        .map(|i| Scalar::from_u64(i * 0x1234_5678 + 5))
        .collect();
    assert_eq!(
        eip(g2::mul(&pa, &ks).unwrap()),
        oracle(&|i| g2_oracle(&a[i]).mul(&scalar_big(&ks[i])))
    );
}

#[test]
fn large_batches_match_single_operations() {
    // Several affine chunks and rayon tasks.
    let n = 2500;
    let g = G1Projective::generator();
    let mut acc = g;
    let pa: Vec<G1Projective> = (0..n)
        .map(|i| {
            acc = acc.add(&g);
            if i % 700 == 0 {
                G1Projective::identity()
            } else {
                acc
            }
        })
        .collect();
    let affine = g1::to_affine(&pa);
    assert!(affine.iter().zip(&pa).all(|(a, p)| *a == p.to_affine()));
    let sum = g1::add_affine(&pa, &affine).unwrap();
    assert_eq!(sum, g1::double(&pa));
    assert!(g1::check_subgroup(&affine).is_ok());
}

#[test]
fn length_mismatches() {
    let p1 = vec![G1Projective::generator(); 3];
    let a1 = vec![G1Affine::generator(); 2];
    let mismatch = |op, left, right| Some(CurveError::LengthMismatch { op, left, right });
    assert_eq!(g1::add(&p1, &p1[..1]).err(), mismatch("add", 3, 1));
    assert_eq!(g1::add_affine(&p1, &a1).err(), mismatch("add_affine", 3, 2));
    assert_eq!(g1::mul(&p1, &[Scalar::ONE]).err(), mismatch("mul", 3, 1));
    let p2 = vec![G2Projective::generator(); 2];
    let a2 = vec![G2Affine::generator(); 1];
    assert_eq!(g2::add(&p2, &[]).err(), mismatch("add", 2, 0));
    assert_eq!(g2::add_affine(&p2, &a2).err(), mismatch("add_affine", 2, 1));
    assert_eq!(g2::mul(&[], &[Scalar::ONE]).err(), mismatch("mul", 0, 1));
    assert!(g1::add(&[], &[]).unwrap().is_empty());
    assert!(g2::to_affine(&[]).is_empty());
}

#[test]
fn checks_name_the_first_failing_index() {
    let mut points = g1_points(50, 34);
    assert_eq!(g1::check_subgroup(&points), Ok(()));
    points[37] = g1_not_in_subgroup();
    points[45] = g1_not_in_subgroup();
    assert_eq!(
        g1::check_subgroup(&points),
        Err(CurveError::NotInSubgroup { index: Some(37) })
    );

    let mut q = g2_points(9, 35);
    q[4] = g2_not_in_subgroup();
    assert_eq!(
        g2::check_subgroup(&q),
        Err(CurveError::NotInSubgroup { index: Some(4) })
    );

    let mut coords: Vec<(Fq, Fq)> = points
        .iter()
        .filter(|p| !p.is_identity())
        .map(|p| (p.x(), p.y()))
        .collect();
    let good = g1::from_xy(&coords).unwrap();
    assert_eq!(good.len(), coords.len());
    assert_eq!(
        good[5],
        G1Affine::from_xy(coords[5].0, coords[5].1).unwrap()
    );
    coords[20].1 += Fq::ONE;
    coords[30] = (Fq::ZERO, Fq::ZERO);
    assert_eq!(
        g1::from_xy(&coords),
        Err(CurveError::NotOnCurve { index: Some(20) })
    );

    let mut coords2: Vec<(Fq2, Fq2)> = q
        .iter()
        .filter(|p| !p.is_identity())
        .map(|p| (p.x(), p.y()))
        .collect();
    assert!(g2::from_xy(&coords2).is_ok());
    coords2[6].0 += Fq2::ONE;
    assert_eq!(
        g2::from_xy(&coords2),
        Err(CurveError::NotOnCurve { index: Some(6) })
    );
}
