//! Fq2 against an independent big-integer oracle: pairs `(c0, c1)` of integers mod p with
//! `u^2 = -1`, on edge values (0, 1, p-1, u, ...) and random ones.

mod common;

use common::{from_big, modulus, to_big};
use field_bls12::{Fq, Fq2};
use num_bigint::BigUint;
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};

type Big2 = (BigUint, BigUint);

fn big2(v: &Fq2) -> Big2 {
    (to_big(&v.c0), to_big(&v.c1))
}

fn fq2(v: &Big2) -> Fq2 {
    let p = modulus();
    Fq2::new(from_big(&(&v.0 % &p)), from_big(&(&v.1 % &p)))
}

fn o_add(a: &Big2, b: &Big2) -> Big2 {
    (&a.0 + &b.0, &a.1 + &b.1)
}

fn o_sub(a: &Big2, b: &Big2) -> Big2 {
    let p = modulus();
    (&a.0 + &p - &b.0, &a.1 + &p - &b.1)
}

fn o_neg(a: &Big2) -> Big2 {
    let p = modulus();
    ((&p - &a.0) % &p, (&p - &a.1) % &p)
}

fn o_mul(a: &Big2, b: &Big2) -> Big2 {
    let p = modulus();
    // a0 b0 - a1 b1 without underflow: reduce the subtrahend, then add p.
    let c0 = (&a.0 * &b.0 % &p + &p - (&a.1 * &b.1) % &p) % &p;
    let c1 = (&a.0 * &b.1 + &a.1 * &b.0) % &p;
    (c0, c1)
}

/// `a^-1` via Fermat in Fq2: `a^-1 = conj(a) * norm(a)^(p-2)`.
fn o_inv(a: &Big2) -> Option<Big2> {
    let p = modulus();
    let norm = (&a.0 * &a.0 + &a.1 * &a.1) % &p;
    if norm == BigUint::from(0u32) {
        return None;
    }
    let n_inv = norm.modpow(&(&p - 2u32), &p);
    Some((&a.0 * &n_inv % &p, (&p - &a.1 % &p) * &n_inv % &p))
}

fn edge_values() -> Vec<Fq2> {
    let pm1 = Fq::from_be_bytes(&Fq::MODULUS_MINUS_ONE_BE).unwrap();
    let half = from_big(&(modulus() >> 1u32));
    let scalars = [Fq::ZERO, Fq::ONE, pm1, half, Fq::from_u64(2)];
    let mut out = Vec::new();
    for a in scalars {
        for b in scalars {
            out.push(Fq2::new(a, b));
        }
    }
    let mut rng = StdRng::seed_from_u64(0xf92);
    out.extend((0..8).map(|_| Fq2::random(&mut rng)));
    out
}

fn check_all(a: Fq2, b: Fq2) {
    let (x, y) = (big2(&a), big2(&b));
    assert_eq!(a + b, fq2(&o_add(&x, &y)), "{a:?} + {b:?}");
    assert_eq!(a - b, fq2(&o_sub(&x, &y)), "{a:?} - {b:?}");
    assert_eq!(-a, fq2(&o_neg(&x)), "-{a:?}");
    assert_eq!(a * b, fq2(&o_mul(&x, &y)), "{a:?} * {b:?}");
    assert_eq!(a.square(), fq2(&o_mul(&x, &x)), "{a:?}^2");
    assert_eq!(a.double(), fq2(&o_add(&x, &x)), "2 {a:?}");
    assert_eq!(
        a.conjugate(),
        fq2(&(x.0.clone(), o_neg(&x).1)),
        "conj {a:?}"
    );
    let one_plus_u = (BigUint::from(1u32), BigUint::from(1u32));
    assert_eq!(
        a.mul_by_nonresidue(),
        fq2(&o_mul(&x, &one_plus_u)),
        "{a:?} (1 + u)"
    );
    assert_eq!(a.inverse(), o_inv(&x).map(|v| fq2(&v)), "1 / {a:?}");
}

#[test]
fn edge_values_match_oracle() {
    let values = edge_values();
    for &a in &values {
        for &b in values.iter().step_by(3) {
            check_all(a, b);
        }
    }
}

#[test]
fn u_squared_is_minus_one_and_constants() {
    let u = Fq2::new(Fq::ZERO, Fq::ONE);
    assert_eq!(u.square(), -Fq2::ONE);
    assert_eq!(u * u, -Fq2::ONE);
    assert_eq!(u.inverse(), Some(-u));
    assert_eq!(Fq2::ZERO.inverse(), None);
    assert_eq!(Fq2::ONE.inverse(), Some(Fq2::ONE));
    assert!(Fq2::ZERO.is_zero());
    assert_eq!(Fq2::from(Fq::ONE), Fq2::ONE);
    assert_eq!(Fq2::ONE.mul_by_nonresidue(), Fq2::new(Fq::ONE, Fq::ONE));
}

#[test]
fn blst_conversion_round_trips() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..16 {
        let v = Fq2::random(&mut rng);
        let b = blst::blst_fp2::from(v);
        assert_eq!(Fq2::try_from(b).unwrap(), v);
    }
    let bad = blst::blst_fp2 {
        fp: [blst::blst_fp { l: Fq::MODULUS }, blst::blst_fp::default()],
    };
    assert!(Fq2::try_from(bad).is_err());
}

fn arb_fq() -> impl Strategy<Value = Fq> {
    any::<u64>().prop_map(|seed| Fq::random(&mut StdRng::seed_from_u64(seed)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_values_match_oracle(a0 in arb_fq(), a1 in arb_fq(), b0 in arb_fq(), b1 in arb_fq()) {
        check_all(Fq2::new(a0, a1), Fq2::new(b0, b1));
    }
}
