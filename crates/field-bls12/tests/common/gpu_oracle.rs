//! Big-integer oracle for every element-wise Fq operation the GPU runs, canonical and
//! Montgomery form alike (`R = 2^384`). Used by `gpu_ops.rs` as
//! `#[path = "common/gpu_oracle.rs"] mod gpu_oracle;` beside `mod common;`.
#![allow(dead_code, unreachable_pub)]

use field_bls12::{Fq, FqMont, FQ_LIMBS};
use num_bigint::BigUint;
use rayon::prelude::*;

use crate::common::modulus;

/// R mod p (the Montgomery form of 1), little-endian: blst's `BLS12_381_ONE`, written down
/// independently of the oracle's own arithmetic.
pub const R_MOD_P: [u64; FQ_LIMBS] = [
    0x7609_0000_0002_fffd,
    0xebf4_000b_c40c_0002,
    0x5f48_9857_53c7_58ba,
    0x77ce_5853_7052_5745,
    0x5c07_1a97_a256_ec6d,
    0x15f6_5ec3_fa80_e493,
];

/// p, R mod p and R^-1 mod p as big integers.
#[derive(Debug)]
pub struct Oracle {
    p: BigUint,
    r: BigUint,
    r_inv: BigUint,
}

impl Default for Oracle {
    fn default() -> Self {
        Self::new()
    }
}

impl Oracle {
    pub fn new() -> Self {
        let p = modulus();
        let r: BigUint = (BigUint::from(1u32) << 384usize) % &p;
        // p is prime: R^-1 = R^(p-2) mod p.
        let r_inv = r.modpow(&(&p - 2u32), &p);
        assert_eq!(&r * &r_inv % &p, BigUint::from(1u32));
        assert_eq!(limbs_of(&r), R_MOD_P, "R mod p");
        Self { p, r, r_inv }
    }

    /// The integer a Montgomery form's limbs hold (`x * R mod p`).
    pub fn mont_big(v: &FqMont) -> BigUint {
        big(v.mont_limbs())
    }

    /// The Montgomery form whose limbs hold `v` (`v < p`).
    pub fn mont_from_big(v: &BigUint) -> FqMont {
        FqMont::from_mont_limbs(limbs_of(v)).expect("oracle values are reduced")
    }

    /// `f` on every element, in parallel (the oracle is the slow half of a debug-build test).
    fn map<T: Sync, U: Send>(a: &[T], f: impl Fn(&T) -> U + Sync + Send) -> Vec<U> {
        a.par_iter().map(f).collect()
    }

    fn zip<T: Sync, U: Send>(a: &[T], b: &[T], f: impl Fn(&T, &T) -> U + Sync + Send) -> Vec<U> {
        assert_eq!(a.len(), b.len());
        a.par_iter().zip(b).map(|(x, y)| f(x, y)).collect()
    }

    /// The canonical element `v mod p`.
    fn fq(&self, v: &BigUint) -> Fq {
        Fq::from_limbs(limbs_of(&(v % &self.p))).expect("reduced mod p")
    }

    pub fn add(&self, a: &[Fq], b: &[Fq]) -> Vec<Fq> {
        Self::zip(a, b, |x, y| self.fq(&(fq_big(x) + fq_big(y))))
    }

    pub fn sub(&self, a: &[Fq], b: &[Fq]) -> Vec<Fq> {
        Self::zip(a, b, |x, y| self.fq(&(fq_big(x) + &self.p - fq_big(y))))
    }

    pub fn neg(&self, a: &[Fq]) -> Vec<Fq> {
        Self::map(a, |x| self.fq(&(&self.p - fq_big(x))))
    }

    pub fn double(&self, a: &[Fq]) -> Vec<Fq> {
        Self::map(a, |x| self.fq(&(fq_big(x) << 1u32)))
    }

    pub fn mul(&self, a: &[Fq], b: &[Fq]) -> Vec<Fq> {
        Self::zip(a, b, |x, y| self.fq(&(fq_big(x) * fq_big(y))))
    }

    pub fn square(&self, a: &[Fq]) -> Vec<Fq> {
        Self::map(a, |x| {
            let v = fq_big(x);
            self.fq(&(&v * &v))
        })
    }

    pub fn fma(&self, a: &[Fq], b: &[Fq], c: &[Fq]) -> Vec<Fq> {
        assert_eq!(a.len(), c.len());
        let ab = self.mul(a, b);
        Self::zip(&ab, c, |x, z| self.fq(&(fq_big(x) + fq_big(z))))
    }

    /// `x * R mod p`.
    pub fn to_mont(&self, a: &[Fq]) -> Vec<FqMont> {
        Self::map(a, |x| Self::mont_from_big(&(fq_big(x) * &self.r % &self.p)))
    }

    /// `x * R^-1 mod p`.
    #[allow(clippy::wrong_self_convention)] // named after FqGpu::from_mont, which it checks
    pub fn from_mont(&self, a: &[FqMont]) -> Vec<Fq> {
        Self::map(a, |x| self.fq(&(Self::mont_big(x) * &self.r_inv)))
    }

    /// `x * y * R^-1 mod p`.
    pub fn mont_mul(&self, a: &[FqMont], b: &[FqMont]) -> Vec<FqMont> {
        Self::zip(a, b, |x, y| {
            let xy = Self::mont_big(x) * Self::mont_big(y) % &self.p;
            Self::mont_from_big(&(xy * &self.r_inv % &self.p))
        })
    }
}

/// Little-endian u64 limbs as an integer.
fn big(limbs: &[u64; FQ_LIMBS]) -> BigUint {
    let digits: Vec<u32> = limbs
        .iter()
        .flat_map(|&l| [l as u32, (l >> 32) as u32])
        .collect();
    BigUint::new(digits)
}

fn fq_big(v: &Fq) -> BigUint {
    big(v.limbs())
}

/// An integer below 2^384 as little-endian u64 limbs.
fn limbs_of(v: &BigUint) -> [u64; FQ_LIMBS] {
    let digits = v.to_u64_digits();
    assert!(digits.len() <= FQ_LIMBS, "oracle value too large");
    let mut limbs = [0u64; FQ_LIMBS];
    limbs[..digits.len()].copy_from_slice(&digits);
    limbs
}
