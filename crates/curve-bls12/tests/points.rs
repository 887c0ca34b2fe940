//! Single-point operations against the big-integer oracle: add, mixed add, double, negate,
//! scalar multiplication with edge scalars (subgroup points and points outside it),
//! conversions to and from blst's types.

mod common;

use common::oracle::{self, Point};
use common::*;
use curve_bls12::{CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use field_bls12::{Fq, Fq2};
use proptest::prelude::*;

#[test]
fn generators_are_on_curve_and_of_order_r() {
    let g1 = g1_oracle(&G1Affine::generator());
    assert!(g1.is_on_curve());
    assert_eq!(g1.mul(&oracle::r()), Point::Infinity);
    let g2 = g2_oracle(&G2Affine::generator());
    assert!(g2.is_on_curve());
    assert!(G1Affine::generator().is_in_subgroup() && G2Affine::generator().is_in_subgroup());
    assert!(G1Affine::identity().is_in_subgroup() && G2Affine::identity().is_in_subgroup());
    assert!(G1Projective::identity().is_identity());
    assert_eq!(G1Projective::identity().to_affine(), G1Affine::identity());
    assert_eq!(G2Projective::identity().to_affine(), G2Affine::identity());
}

#[test]
fn g1_group_law_matches_oracle() {
    let mut rng = rng(1);
    let mut points = vec![
        G1Affine::identity(),
        G1Affine::generator(),
        g1_not_in_subgroup(),
    ];
    points.extend((0..4).map(|_| random_g1(&mut rng)));
    points.push(points[3].neg());
    for a in &points {
        let oa = g1_oracle(a);
        let pa = a.to_projective();
        assert_eq!(
            pa.double().to_affine().to_eip2537().to_vec(),
            g1_oracle_eip(&oa.double())
        );
        assert_eq!(
            pa.neg().to_affine().to_eip2537().to_vec(),
            g1_oracle_eip(&oa.neg())
        );
        assert_eq!(a.neg().to_eip2537().to_vec(), g1_oracle_eip(&oa.neg()));
        for b in &points {
            let ob = g1_oracle(b);
            let want = g1_oracle_eip(&oa.add(&ob));
            assert_eq!(
                pa.add(&b.to_projective()).to_affine().to_eip2537().to_vec(),
                want
            );
            assert_eq!(pa.add_affine(b).to_affine().to_eip2537().to_vec(), want);
        }
    }
}

#[test]
fn g2_group_law_matches_oracle() {
    let mut rng = rng(2);
    let mut points = vec![
        G2Affine::identity(),
        G2Affine::generator(),
        g2_not_in_subgroup(),
    ];
    points.extend((0..2).map(|_| random_g2(&mut rng)));
    points.push(points[3].neg());
    for a in &points {
        let oa = g2_oracle(a);
        let pa = a.to_projective();
        assert_eq!(
            pa.double().to_affine().to_eip2537().to_vec(),
            g2_oracle_eip(&oa.double())
        );
        assert_eq!(
            pa.neg().to_affine().to_eip2537().to_vec(),
            g2_oracle_eip(&oa.neg())
        );
        for b in &points {
            let ob = g2_oracle(b);
            let want = g2_oracle_eip(&oa.add(&ob));
            assert_eq!(
                pa.add(&b.to_projective()).to_affine().to_eip2537().to_vec(),
                want
            );
            assert_eq!(pa.add_affine(b).to_affine().to_eip2537().to_vec(), want);
        }
    }
}

#[test]
fn g1_mul_edge_scalars_match_oracle_in_and_outside_subgroup() {
    let mut rng = rng(3);
    for point in [
        random_g1(&mut rng),
        g1_not_in_subgroup(),
        G1Affine::identity(),
    ] {
        let o = g1_oracle(&point);
        for k in edge_scalars() {
            assert_eq!(
                point
                    .to_projective()
                    .mul(&k)
                    .to_affine()
                    .to_eip2537()
                    .to_vec(),
                g1_oracle_eip(&o.mul(&scalar_big(&k))),
                "{point:?} * {k:?}"
            );
        }
    }
}

#[test]
fn g2_mul_edge_scalars_match_oracle_in_and_outside_subgroup() {
    let mut rng = rng(4);
    for point in [random_g2(&mut rng), g2_not_in_subgroup()] {
        let o = g2_oracle(&point);
        for k in edge_scalars() {
            assert_eq!(
                point
                    .to_projective()
                    .mul(&k)
                    .to_affine()
                    .to_eip2537()
                    .to_vec(),
                g2_oracle_eip(&o.mul(&scalar_big(&k))),
                "{point:?} * {k:?}"
            );
        }
    }
}

#[test]
fn blst_conversions_check_the_curve() {
    let g = G1Affine::generator();
    let raw: blst::blst_p1_affine = g.into();
    assert_eq!(G1Affine::try_from(raw), Ok(g));
    assert_eq!(
        G1Affine::try_from(blst::blst_p1_affine::default()),
        Ok(G1Affine::identity())
    );
    let mut off = raw;
    off.y = blst::blst_fp::from(Fq::ONE);
    assert_eq!(
        G1Affine::try_from(off),
        Err(CurveError::NotOnCurve { index: None })
    );
    off.y = blst::blst_fp { l: Fq::MODULUS };
    assert_eq!(
        G1Affine::try_from(off),
        Err(CurveError::NotOnCurve { index: None })
    );
    let proj: blst::blst_p1 = G1Projective::generator().double().into();
    assert_eq!(
        G1Projective::try_from(proj),
        Ok(G1Projective::generator().double())
    );

    let h = G2Affine::generator();
    let raw: blst::blst_p2_affine = h.into();
    assert_eq!(G2Affine::try_from(raw), Ok(h));
    let mut off = raw;
    off.x = blst::blst_fp2::from(Fq2::ONE);
    assert!(G2Affine::try_from(off).is_err());
    let proj: blst::blst_p2 = G2Projective::generator().into();
    assert_eq!(G2Projective::try_from(proj), Ok(G2Projective::generator()));
    assert_eq!(
        G1Affine::from_xy(Fq::ZERO, Fq::ZERO),
        Err(CurveError::NotOnCurve { index: None })
    );
    assert!(G2Affine::from_xy(Fq2::ZERO, Fq2::ZERO).is_err());
}

#[test]
fn non_subgroup_points_are_detected() {
    let p = g1_not_in_subgroup();
    assert!(!p.is_in_subgroup() && !p.to_projective().is_in_subgroup());
    let q = g2_not_in_subgroup();
    assert!(!q.is_in_subgroup());
    // Order r would make [r]P infinity.
    assert!(!p
        .to_projective()
        .mul(&big_scalar(&oracle::r()))
        .is_identity());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn random_g1_mul_and_add_match_oracle(seed in any::<u64>(), k in any::<[u8; 32]>()) {
        let mut rng = rng(seed);
        let (a, b) = (random_g1(&mut rng), random_g1(&mut rng));
        let k = Scalar::from_le_bytes(k);
        let (oa, ob) = (g1_oracle(&a), g1_oracle(&b));
        let got = a.to_projective().mul(&k).add_affine(&b).to_affine();
        prop_assert_eq!(got.to_eip2537().to_vec(), g1_oracle_eip(&oa.mul(&scalar_big(&k)).add(&ob)));
    }
}
