//! `ff::Field` / `ff::PrimeField` for `Fq`: every constant checked with big integers (the
//! generator against the full factorisation of p - 1), inversion and square roots against
//! the oracle, the representation, and the operator traits.

mod common;

use common::{batch, edge_values, from_big, modulus, to_big};
use field_bls12::ff::{Field, PrimeField};
use field_bls12::{Fq, FqRepr};
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::SeedableRng;
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

fn big(v: u64) -> BigUint {
    BigUint::from(v)
}

/// The prime factors of p - 1 (each to the first power except 3, squared), as computed with
/// PARI/GP's `factor(p - 1)`; the test below re-checks the product and each primality.
const P_MINUS_1_FACTORS: [&str; 10] = [
    "2",
    "3",
    "11",
    "23",
    "47",
    "10177",
    "859267",
    "52437899",
    "2584487767265781317813",
    "15778400344354997994418419698270088123916926905054652752758194827714659",
];

/// Miller-Rabin with the first 24 primes as bases: deterministic for n < 3.3 * 10^24 and a
/// false-positive chance below 4^-24 per composite above that.
fn is_probable_prime(n: &BigUint) -> bool {
    let one = big(1);
    let two = big(2);
    if *n < two {
        return false;
    }
    let bases = [
        2u64, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
        89,
    ];
    if bases.iter().any(|&b| *n == big(b)) {
        return true;
    }
    if bases.iter().any(|&b| (n % big(b)) == big(0)) {
        return false;
    }
    let n_minus_1 = n - &one;
    let s = n_minus_1.trailing_zeros().unwrap();
    let d = &n_minus_1 >> s;
    'bases: for b in bases {
        let mut x = big(b).modpow(&d, n);
        if x == one || x == n_minus_1 {
            continue;
        }
        for _ in 1..s {
            x = &x * &x % n;
            if x == n_minus_1 {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

fn fq_big(v: &Fq) -> BigUint {
    to_big(v)
}

#[test]
fn modulus_string_and_sizes() {
    let s = <Fq as PrimeField>::MODULUS;
    let p = BigUint::parse_bytes(s.strip_prefix("0x").unwrap().as_bytes(), 16).unwrap();
    assert_eq!(p, modulus());
    assert_eq!(common::big_of(&Fq::MODULUS), p);
    assert_eq!(p.bits(), u64::from(Fq::NUM_BITS));
    assert_eq!(Fq::CAPACITY, Fq::NUM_BITS - 1);
    assert!(is_probable_prime(&p));
}

#[test]
fn two_adicity_and_roots_of_unity() {
    let p = modulus();
    let p_minus_1 = &p - 1u32;
    // S: p - 1 = 2^S * t, t odd.
    assert_eq!(p_minus_1.trailing_zeros(), Some(u64::from(Fq::S)));
    assert_eq!(Fq::S, 1);
    let t = &p_minus_1 >> Fq::S;
    let g = fq_big(&Fq::MULTIPLICATIVE_GENERATOR);
    // ROOT_OF_UNITY = g^t, of order exactly 2^S; its inverse.
    assert_eq!(fq_big(&Fq::ROOT_OF_UNITY), g.modpow(&t, &p));
    assert_eq!(fq_big(&Fq::ROOT_OF_UNITY), p_minus_1);
    assert_eq!(
        fq_big(&Fq::ROOT_OF_UNITY) * fq_big(&Fq::ROOT_OF_UNITY_INV) % &p,
        big(1)
    );
    // DELTA = g^(2^S), of order t.
    assert_eq!(fq_big(&Fq::DELTA), g.modpow(&(big(1) << Fq::S), &p));
    assert_eq!(fq_big(&Fq::DELTA).modpow(&t, &p), big(1));
    // TWO_INV.
    assert_eq!(fq_big(&Fq::TWO_INV) * 2u32 % &p, big(1));
    assert_eq!(Fq::TWO_INV.double(), Fq::ONE);
}

#[test]
fn multiplicative_generator_generates_and_is_a_non_square() {
    let p = modulus();
    let p_minus_1 = &p - 1u32;
    let factors: Vec<BigUint> = P_MINUS_1_FACTORS
        .iter()
        .map(|f| f.parse::<BigUint>().unwrap())
        .collect();
    // The factorisation is complete (3 appears squared) and every factor is prime.
    let product = factors.iter().fold(big(3), |acc, f| acc * f);
    assert_eq!(product, p_minus_1);
    for f in &factors {
        assert!(is_probable_prime(f), "{f} is not prime");
    }
    // g has order p - 1: g^((p-1)/q) != 1 for every prime q dividing p - 1.
    let g = fq_big(&Fq::MULTIPLICATIVE_GENERATOR);
    assert_eq!(g, big(2));
    for q in &factors {
        assert_ne!(
            g.modpow(&(&p_minus_1 / q), &p),
            big(1),
            "order divides (p-1)/{q}"
        );
    }
    // A quadratic non-residue (Euler's criterion), as ff requires.
    assert_eq!(g.modpow(&(&p_minus_1 >> 1), &p), p_minus_1);
    assert!(bool::from(Fq::MULTIPLICATIVE_GENERATOR.sqrt().is_none()));
}

#[test]
fn invert_matches_fermat() {
    let p = modulus();
    let (a, _) = batch(300, 7);
    for x in a.iter().chain(&edge_values()) {
        let inv = x.invert();
        if *x == Fq::ZERO {
            assert!(bool::from(inv.is_none()));
            continue;
        }
        let inv = inv.unwrap();
        assert_eq!(inv, from_big(&fq_big(x).modpow(&(&p - 2u32), &p)), "{x}");
        assert_eq!(inv * x, Fq::ONE);
    }
}

#[test]
fn sqrt_matches_euler_criterion() {
    let p = modulus();
    let half = (&p - 1u32) >> 1;
    let (a, _) = batch(300, 8);
    let mut squares = 0;
    for x in a.iter().chain(&edge_values()) {
        let is_square = *x == Fq::ZERO || fq_big(x).modpow(&half, &p) == big(1);
        let root = x.sqrt();
        assert_eq!(bool::from(root.is_some()), is_square, "{x}");
        if is_square {
            squares += 1;
            assert_eq!(root.unwrap().square(), *x);
        }
        // sqrt_ratio(x, 1) agrees with sqrt; for a non-square it gives sqrt(-x).
        let (ok, r) = Fq::sqrt_ratio(x, &Fq::ONE);
        assert_eq!(bool::from(ok), is_square);
        if is_square {
            assert_eq!(r.square(), *x);
        } else {
            assert_eq!(r.square(), -*x);
        }
    }
    assert!(squares > 100, "{squares}"); // about half are squares
}

#[test]
fn sqrt_ratio_cases() {
    let (four, nine) = (Fq::from(4), Fq::from(9));
    // num/div a square: (true, sqrt(num/div)).
    let (ok, r) = Fq::sqrt_ratio(&four, &nine);
    assert!(bool::from(ok));
    assert_eq!(r.square() * nine, four);
    // num zero: (true, 0).
    assert_eq!(Fq::sqrt_ratio(&Fq::ZERO, &nine).1, Fq::ZERO);
    assert!(bool::from(Fq::sqrt_ratio(&Fq::ZERO, &Fq::ZERO).0));
    // div zero, num not: (false, 0).
    let (ok, r) = Fq::sqrt_ratio(&four, &Fq::ZERO);
    assert!(!bool::from(ok));
    assert_eq!(r, Fq::ZERO);
    // non-square ratio: (false, sqrt(G_S * num/div)).
    let g = Fq::MULTIPLICATIVE_GENERATOR;
    let (ok, r) = Fq::sqrt_ratio(&g, &nine);
    assert!(!bool::from(ok));
    assert_eq!(r.square() * nine, Fq::ROOT_OF_UNITY * g);
}

#[test]
fn repr_is_little_endian_and_rejects_non_canonical() {
    let mut rng = StdRng::seed_from_u64(9);
    for x in edge_values()
        .into_iter()
        .chain((0..100).map(|_| Fq::random(&mut rng)))
    {
        let repr = x.to_repr();
        assert_eq!(repr.0, x.to_le_bytes());
        assert_eq!(Fq::from_repr(repr).unwrap(), x);
        assert_eq!(Fq::from_repr_vartime(repr), Some(x));
        assert_eq!(bool::from(x.is_odd()), fq_big(&x).bit(0));
        assert_eq!(bool::from(x.is_even()), !fq_big(&x).bit(0));
    }
    let p = modulus();
    let le = |v: &BigUint| {
        let mut bytes = v.to_bytes_le();
        bytes.resize(48, 0);
        FqRepr(bytes.try_into().unwrap())
    };
    for bad in [
        p.clone(),
        &p + 1u32,
        &p + big(u64::MAX),
        (big(1) << 381) - 1u32,
        (big(1) << 384) - 1u32,
    ] {
        assert!(bool::from(Fq::from_repr(le(&bad)).is_none()), "{bad:x}");
        assert_eq!(Fq::from_repr_vartime(le(&bad)), None);
    }
    let p_minus_1 = &p - 1u32;
    assert_eq!(Fq::from_repr(le(&p_minus_1)).unwrap(), -Fq::ONE);
    assert_eq!(FqRepr::default().0, [0u8; 48]);
    assert_eq!(Fq::from_repr(FqRepr::default()).unwrap(), Fq::ZERO);
}

#[test]
fn integer_conversions() {
    assert_eq!(Fq::from(7u64), Fq::from_u64(7));
    let v = u128::MAX - 5;
    assert_eq!(Fq::from_u128(v), from_big(&BigUint::from(v)));
    assert_eq!(
        Fq::from_str_vartime("123456789012345678901234567890"),
        Some(from_big(&"123456789012345678901234567890".parse().unwrap()))
    );
    // A decimal string >= p is reduced.
    let p_plus_5 = (modulus() + 5u32).to_string();
    assert_eq!(Fq::from_str_vartime(&p_plus_5), Some(Fq::from(5u64)));
    assert_eq!(Fq::from_str_vartime("012"), None);
}

#[test]
fn pow_matches_modpow() {
    let p = modulus();
    let (a, _) = batch(40, 10);
    for x in &a {
        let e = [0x1234_5678_9abc_def0u64, 0xfedc_ba98, 3];
        let want = from_big(&fq_big(x).modpow(&common::big_of(&[e[0], e[1], e[2], 0, 0, 0]), &p));
        assert_eq!(x.pow(e), want);
        assert_eq!(x.pow_vartime(e), want);
        assert_eq!(x.cube(), *x * x * x);
    }
    // Fermat: x^(p-1) = 1.
    let mut p_minus_1 = Fq::MODULUS;
    p_minus_1[0] -= 1;
    assert_eq!(Fq::from(3u64).pow_vartime(p_minus_1), Fq::ONE);
}

#[test]
#[allow(clippy::op_ref)] // the borrowed forms are what is under test
fn operator_traits_and_subtle() {
    let (a, b) = (Fq::from(6u64), Fq::from(7u64));
    // Every owned/borrowed form gives the same answer.
    assert_eq!(a + b, Fq::from(13u64));
    assert_eq!(&a + &b, a + b);
    assert_eq!(&a + b, a + &b);
    assert_eq!(a - b, -Fq::ONE);
    assert_eq!(&a - &b, a - &b);
    assert_eq!(&a - b, a - b);
    assert_eq!(a * b, Fq::from(42u64));
    assert_eq!(&a * &b, &a * b);
    assert_eq!(a * &b, a * b);
    assert_eq!(-&a, -a);
    let mut c = a;
    c += b;
    c -= &b;
    c *= b;
    c *= &Fq::TWO_INV;
    c += &a;
    c -= a;
    assert_eq!(c, Fq::from(21u64));
    let xs = [a, b, Fq::from(2u64)];
    assert_eq!(xs.iter().sum::<Fq>(), Fq::from(15u64));
    assert_eq!(xs.into_iter().sum::<Fq>(), Fq::from(15u64));
    assert_eq!(xs.iter().product::<Fq>(), Fq::from(84u64));
    assert_eq!(xs.into_iter().product::<Fq>(), Fq::from(84u64));
    assert_eq!(std::iter::empty::<Fq>().product::<Fq>(), Fq::ONE);
    // subtle.
    assert!(bool::from(a.ct_eq(&Fq::from(6u64))));
    assert!(!bool::from(a.ct_eq(&b)));
    assert_eq!(Fq::conditional_select(&a, &b, Choice::from(0)), a);
    assert_eq!(Fq::conditional_select(&a, &b, Choice::from(1)), b);
    assert!(bool::from(Fq::ZERO.is_zero()));
    assert!(!Fq::ONE.is_zero_vartime());
    // Field::random is uniform rejection sampling like the inherent one.
    let mut r1 = StdRng::seed_from_u64(1);
    let mut r2 = StdRng::seed_from_u64(1);
    assert_eq!(<Fq as Field>::random(&mut r1), Fq::random(&mut r2));
}
