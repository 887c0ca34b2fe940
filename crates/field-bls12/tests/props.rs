//! Algebraic properties of Fq, with proptest, on the blst-backed operators and batches and on
//! the portable implementation: field axioms, inverses, conversions, square roots. Inputs mix
//! the edge values of `common` with uniformly random elements; case counts are modest so the
//! suite stays fast in debug builds.

mod common;

use common::edge_values;
use field_bls12::ff::Field;
use field_bls12::{cpu, portable, Fq, FqMont};
use proptest::prelude::*;

/// A field element: an edge value a quarter of the time, else uniform (random 381-bit limbs,
/// the 17% at or above p rejected).
fn fq() -> impl Strategy<Value = Fq> {
    let uniform = any::<[u64; 6]>().prop_filter_map("not below p", |mut limbs| {
        limbs[5] &= (1 << (381 - 320)) - 1;
        Fq::from_limbs(limbs).ok()
    });
    prop_oneof![1 => proptest::sample::select(edge_values()), 3 => uniform]
}

/// A Montgomery form: any canonical limbs.
fn fq_mont() -> impl Strategy<Value = FqMont> {
    fq().prop_map(|v| FqMont::from_mont_limbs(*v.limbs()).unwrap())
}

/// Three equally long batches, 0 to 40 elements.
fn batches() -> impl Strategy<Value = (Vec<Fq>, Vec<Fq>, Vec<Fq>)> {
    (0usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec(fq(), n),
            prop::collection::vec(fq(), n),
            prop::collection::vec(fq(), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn commutative(a in fq(), b in fq()) {
        prop_assert_eq!(a + b, b + a);
        prop_assert_eq!(a * b, b * a);
        prop_assert_eq!(portable::mul(&a, &b), portable::mul(&b, &a));
    }

    #[test]
    fn associative(a in fq(), b in fq(), c in fq()) {
        prop_assert_eq!((a + b) + c, a + (b + c));
        prop_assert_eq!((a * b) * c, a * (b * c));
    }

    #[test]
    fn distributive(a in fq(), b in fq(), c in fq()) {
        prop_assert_eq!(a * (b + c), a * b + a * c);
        prop_assert_eq!((a - b) * c, a * c - b * c);
    }

    #[test]
    fn additive_inverses(a in fq(), b in fq()) {
        prop_assert_eq!(a - a, Fq::ZERO);
        prop_assert_eq!(a + (-a), Fq::ZERO);
        prop_assert_eq!(a - b, a + (-b));
        prop_assert_eq!(portable::add(&a, &portable::neg(&a)), Fq::ZERO);
        prop_assert_eq!(portable::sub(&a, &b), a - b);
    }

    #[test]
    fn identities(a in fq()) {
        prop_assert_eq!(a + Fq::ZERO, a);
        prop_assert_eq!(a * Fq::ONE, a);
        prop_assert_eq!(a * Fq::ZERO, Fq::ZERO);
    }

    #[test]
    fn double_and_square(a in fq()) {
        prop_assert_eq!(a.double(), a + a);
        prop_assert_eq!(a.square(), a * a);
        prop_assert_eq!(portable::double(&a), a + a);
        prop_assert_eq!(portable::square(&a), a * a);
    }

    #[test]
    fn multiplicative_inverse(a in fq()) {
        let inv = a.invert();
        if a == Fq::ZERO {
            prop_assert!(bool::from(inv.is_none()));
        } else {
            prop_assert_eq!(inv.unwrap() * a, Fq::ONE);
        }
    }

    #[test]
    fn sqrt_of_square(a in fq()) {
        let root = a.square().sqrt().unwrap();
        prop_assert!(root == a || root == -a, "{} is not +-{}", root, a);
    }

    #[test]
    fn montgomery_round_trips(x in fq(), y in fq_mont()) {
        prop_assert_eq!(x.to_mont().to_canonical(), x);
        prop_assert_eq!(y.to_canonical().to_mont(), y);
        prop_assert_eq!(portable::from_mont(&portable::to_mont(&x)), x);
        prop_assert_eq!(portable::to_mont(&x), x.to_mont());
    }

    #[test]
    fn montgomery_arithmetic_agrees_with_canonical(a in fq(), b in fq(), c in fq()) {
        let (am, bm, cm) = (a.to_mont(), b.to_mont(), c.to_mont());
        prop_assert_eq!((am * bm + cm).to_canonical(), a * b + c);
        prop_assert_eq!((am - bm).to_canonical(), a - b);
        prop_assert_eq!((-am).to_canonical(), -a);
        prop_assert_eq!(am.square().to_canonical(), a.square());
        prop_assert_eq!(am.double().to_canonical(), a.double());
        prop_assert_eq!(portable::mont_mul(&am, &bm), am * bm);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn batches_agree_with_single_elements((a, b, c) in batches()) {
        let n = a.len();
        let each = |f: &dyn Fn(usize) -> Fq| (0..n).map(f).collect::<Vec<Fq>>();
        prop_assert_eq!(cpu::add(&a, &b).unwrap(), each(&|i| a[i] + b[i]));
        prop_assert_eq!(cpu::sub(&a, &b).unwrap(), each(&|i| a[i] - b[i]));
        prop_assert_eq!(cpu::mul(&a, &b).unwrap(), each(&|i| a[i] * b[i]));
        prop_assert_eq!(cpu::neg(&a).unwrap(), each(&|i| -a[i]));
        prop_assert_eq!(cpu::double(&a).unwrap(), cpu::add(&a, &a).unwrap());
        prop_assert_eq!(cpu::square(&a).unwrap(), cpu::mul(&a, &a).unwrap());
        let ab = cpu::mul(&a, &b).unwrap();
        prop_assert_eq!(cpu::fma(&a, &b, &c).unwrap(), cpu::add(&ab, &c).unwrap());
        let (am, bm, cm) = (cpu::to_mont(&a), cpu::to_mont(&b), cpu::to_mont(&c));
        prop_assert_eq!(cpu::from_mont(&am), a.clone());
        prop_assert_eq!(cpu::to_mont(&cpu::from_mont(&am)), am.clone());
        let fma = cpu::mont_fma(&am, &bm, &cm).unwrap();
        prop_assert_eq!(cpu::from_mont(&fma), cpu::fma(&a, &b, &c).unwrap());
        let sq = cpu::mont_square(&am).unwrap();
        prop_assert_eq!(sq, cpu::mont_mul(&am, &am).unwrap());
        let diff = cpu::mont_sub(&cpu::mont_add(&am, &bm).unwrap(), &bm).unwrap();
        prop_assert_eq!(diff, am);
    }
}
