//! Shared pieces of the curve tests: conversions between the crate's points and the
//! big-integer oracle's, edge scalars, random points.
#![allow(dead_code, unreachable_pub)]

pub mod oracle;

use curve_bls12::{G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use field_bls12::{Fq, Fq2};
use num_bigint::BigUint;
use oracle::{Field, Fp, Fp2, Point};
use rand::{rngs::StdRng, RngCore, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn fq_big(v: &Fq) -> BigUint {
    BigUint::from_bytes_be(&v.to_be_bytes())
}

pub fn big_fq(v: &BigUint) -> Fq {
    Fq::from_be_bytes(&be48(v)).expect("oracle values are reduced")
}

/// 48 big-endian bytes of a value below 2^384.
pub fn be48(v: &BigUint) -> [u8; 48] {
    let bytes = v.to_bytes_be();
    assert!(bytes.len() <= 48);
    let mut out = [0u8; 48];
    out[48 - bytes.len()..].copy_from_slice(&bytes);
    out
}

pub fn g1_oracle(p: &G1Affine) -> Point<Fp> {
    if p.is_identity() {
        Point::Infinity
    } else {
        Point::Affine(Fp(fq_big(&p.x())), Fp(fq_big(&p.y())))
    }
}

fn fq2_oracle(v: &Fq2) -> Fp2 {
    Fp2(Fp(fq_big(&v.c0)), Fp(fq_big(&v.c1)))
}

fn oracle_fq2(v: &Fp2) -> Fq2 {
    Fq2::new(big_fq(&v.0 .0), big_fq(&v.1 .0))
}

pub fn g2_oracle(p: &G2Affine) -> Point<Fp2> {
    if p.is_identity() {
        Point::Infinity
    } else {
        Point::Affine(fq2_oracle(&p.x()), fq2_oracle(&p.y()))
    }
}

/// The crate's point for an oracle point (checked on the curve, not in the subgroup).
pub fn oracle_g1(p: &Point<Fp>) -> G1Affine {
    match p {
        Point::Infinity => G1Affine::identity(),
        Point::Affine(x, y) => G1Affine::from_xy(big_fq(&x.0), big_fq(&y.0)).unwrap(),
    }
}

pub fn oracle_g2(p: &Point<Fp2>) -> G2Affine {
    match p {
        Point::Infinity => G2Affine::identity(),
        Point::Affine(x, y) => G2Affine::from_xy(oracle_fq2(x), oracle_fq2(y)).unwrap(),
    }
}

/// The EIP-2537 encoding of an oracle point, written here independently of the crate.
pub fn g1_oracle_eip(p: &Point<Fp>) -> Vec<u8> {
    let mut out = vec![0u8; 128];
    if let Point::Affine(x, y) = p {
        out[16..64].copy_from_slice(&be48(&x.0));
        out[80..128].copy_from_slice(&be48(&y.0));
    }
    out
}

pub fn g2_oracle_eip(p: &Point<Fp2>) -> Vec<u8> {
    let mut out = vec![0u8; 256];
    if let Point::Affine(x, y) = p {
        for (k, v) in [&x.0, &x.1, &y.0, &y.1].into_iter().enumerate() {
            out[64 * k + 16..64 * k + 64].copy_from_slice(&be48(&v.0));
        }
    }
    out
}

pub fn scalar_big(k: &Scalar) -> BigUint {
    BigUint::from_bytes_le(&k.to_le_bytes())
}

pub fn big_scalar(v: &BigUint) -> Scalar {
    let mut le = v.to_bytes_le();
    assert!(le.len() <= 32);
    le.resize(32, 0);
    Scalar::from_le_bytes(le.try_into().unwrap())
}

/// 0, 1, r-1, r, r+1, 2^255-1, 2^256-1.
pub fn edge_scalars() -> Vec<Scalar> {
    let r = oracle::r();
    let one = BigUint::from(1u32);
    [
        BigUint::from(0u32),
        one.clone(),
        &r - 1u32,
        r.clone(),
        &r + 1u32,
        (&one << 255u32) - 1u32,
        (&one << 256u32) - 1u32,
    ]
    .iter()
    .map(big_scalar)
    .collect()
}

pub fn random_scalar(rng: &mut impl RngCore) -> Scalar {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    Scalar::from_le_bytes(bytes)
}

pub fn random_g1(rng: &mut impl RngCore) -> G1Affine {
    G1Projective::generator()
        .mul(&random_scalar(rng))
        .to_affine()
}

pub fn random_g2(rng: &mut impl RngCore) -> G2Affine {
    G2Projective::generator()
        .mul(&random_scalar(rng))
        .to_affine()
}

/// A G1 point on the curve but outside the subgroup, found by the oracle.
pub fn g1_not_in_subgroup() -> G1Affine {
    oracle_g1(&Point::first_on_curve(Fp::from_u64(5), Fp::sqrt))
}

/// A G2 point on the curve but outside the subgroup, found by the oracle.
pub fn g2_not_in_subgroup() -> G2Affine {
    oracle_g2(&Point::first_on_curve(
        Fp2(Fp::from_u64(5), Fp::from_u64(1)),
        Fp2::sqrt,
    ))
}
