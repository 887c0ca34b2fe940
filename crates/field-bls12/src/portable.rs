//! Fq arithmetic in portable Rust: no blst, no assembly, no `unsafe`.
//!
//! Every function here gives exactly the same result as the blst-backed path ([`crate::cpu`]
//! and the operators on [`Fq`]); the tests use this module as an independent oracle for
//! blst, next to a big-integer one. It is also usable on its own where blst's assembly is not
//! wanted. It is written for clarity first: a 6-limb Montgomery multiplication (CIOS) on `u64`
//! limbs with `u128` intermediates, and conditional subtractions done with masks rather than
//! branches, so that the running time does not depend on the values.
//!
//! The functions are `const fn`, which is how [`R_MOD_P`] and [`R2_MOD_P`] are derived at
//! compile time from the modulus rather than written down.
//!
//! ```
//! use field_bls12::{portable, Fq};
//! let six = portable::mul(&Fq::from_u64(2), &Fq::from_u64(3));
//! assert_eq!(six, Fq::from_u64(6));
//! assert_eq!(portable::add(&portable::neg(&six), &six), Fq::ZERO);
//! assert_eq!(portable::from_mont(&portable::to_mont(&six)), six);
//! ```
#![forbid(unsafe_code)]

use crate::fq::{Fq, FqMont, FQ_LIMBS};

type Limbs = [u64; FQ_LIMBS];

/// The modulus p, little-endian limbs.
const P: Limbs = Fq::MODULUS;

/// `-p^-1 mod 2^64`, the Montgomery reduction constant for the low limb.
pub const INV: u64 = 0x89f3_fffc_fffc_fffd;
// p[0] * INV = -1 (mod 2^64), checked when compiling.
const _: () = assert!(P[0].wrapping_mul(INV) == u64::MAX);

/// `R mod p` with `R = 2^384`: the Montgomery form of 1 (little-endian limbs), computed at
/// compile time by doubling 1 modulo p 384 times.
pub const R_MOD_P: Limbs = double_n(&[1, 0, 0, 0, 0, 0], 384);

/// `R^2 mod p` (little-endian limbs): Montgomery-multiplying by it converts a canonical value
/// to Montgomery form. Computed at compile time by doubling `R mod p` 384 more times.
pub const R2_MOD_P: Limbs = double_n(&R_MOD_P, 384);

/// `a + b + carry`, returning (low word, carry out).
const fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = a as u128 + b as u128 + carry as u128;
    (t as u64, (t >> 64) as u64)
}

/// `a - b - borrow` with `borrow` 0 or 1, returning (low word, borrow out 0 or 1).
const fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub(b as u128 + borrow as u128);
    (t as u64, (t >> 127) as u64)
}

/// `a + b * c + carry`, returning (low word, high word). Cannot overflow a u128:
/// (2^64-1) + (2^64-1)^2 + (2^64-1) = 2^128 - 1.
const fn mac(a: u64, b: u64, c: u64, carry: u64) -> (u64, u64) {
    let t = a as u128 + (b as u128) * (c as u128) + carry as u128;
    (t as u64, (t >> 64) as u64)
}

/// `a - b` over 384 bits, returning the difference and the final borrow (0 or 1).
const fn sub_raw(a: &Limbs, b: &Limbs) -> (Limbs, u64) {
    let mut out = [0u64; FQ_LIMBS];
    let mut borrow = 0;
    let mut i = 0;
    while i < FQ_LIMBS {
        (out[i], borrow) = sbb(a[i], b[i], borrow);
        i += 1;
    }
    (out, borrow)
}

/// 1 when `limbs < p`, else 0, in constant time (the borrow of `limbs - p`).
pub(crate) const fn lt_modulus(limbs: &Limbs) -> u64 {
    sub_raw(limbs, &P).1
}

/// `if mask == !0 { a } else { b }` for `mask` 0 or all ones, without a branch.
const fn select(mask: u64, a: &Limbs, b: &Limbs) -> Limbs {
    let mut out = [0u64; FQ_LIMBS];
    let mut i = 0;
    while i < FQ_LIMBS {
        out[i] = (a[i] & mask) | (b[i] & !mask);
        i += 1;
    }
    out
}

/// Reduces `hi * 2^384 + v`, known to be `< 2p`, to `[0, p)`: subtracts p unless that
/// borrows past the carry word `hi` (0 or 1).
const fn reduce_once(v: &Limbs, hi: u64) -> Limbs {
    let (diff, borrow) = sub_raw(v, &P);
    // The subtraction is valid (result >= 0) unless it borrowed and there was no carry.
    let (_, keep_v) = sbb(hi, 0, borrow); // 1 exactly when hi = 0 and borrow = 1
    select(keep_v.wrapping_neg(), v, &diff)
}

const fn add_limbs(a: &Limbs, b: &Limbs) -> Limbs {
    let mut sum = [0u64; FQ_LIMBS];
    let mut carry = 0;
    let mut i = 0;
    while i < FQ_LIMBS {
        (sum[i], carry) = adc(a[i], b[i], carry);
        i += 1;
    }
    reduce_once(&sum, carry)
}

const fn sub_limbs(a: &Limbs, b: &Limbs) -> Limbs {
    let (diff, borrow) = sub_raw(a, b);
    // On a borrow the true difference is diff - 2^384; adding p wraps it back into [0, p).
    let addend = select(borrow.wrapping_neg(), &P, &[0; FQ_LIMBS]);
    let mut out = [0u64; FQ_LIMBS];
    let mut carry = 0;
    let mut i = 0;
    while i < FQ_LIMBS {
        (out[i], carry) = adc(diff[i], addend[i], carry);
        i += 1;
    }
    out
}

const fn double_n(a: &Limbs, n: u32) -> Limbs {
    let mut v = *a;
    let mut i = 0;
    while i < n {
        v = add_limbs(&v, &v);
        i += 1;
    }
    v
}

/// Montgomery multiplication `a * b * R^-1 mod p` (CIOS: coarsely integrated operand
/// scanning), for `a, b < p`; the result is `< p`.
const fn mont_mul_limbs(a: &Limbs, b: &Limbs) -> Limbs {
    // t holds the running value in 6 limbs plus two carry words.
    let mut t = [0u64; FQ_LIMBS + 2];
    let mut i = 0;
    while i < FQ_LIMBS {
        // t += a * b[i]
        let mut carry = 0;
        let mut j = 0;
        while j < FQ_LIMBS {
            (t[j], carry) = mac(t[j], a[j], b[i], carry);
            j += 1;
        }
        (t[FQ_LIMBS], t[FQ_LIMBS + 1]) = adc(t[FQ_LIMBS], carry, 0);

        // t = (t + m * p) / 2^64, with m chosen so that the low limb becomes 0.
        let m = t[0].wrapping_mul(INV);
        let (_, mut carry) = mac(t[0], m, P[0], 0);
        let mut j = 1;
        while j < FQ_LIMBS {
            (t[j - 1], carry) = mac(t[j], m, P[j], carry);
            j += 1;
        }
        (t[FQ_LIMBS - 1], carry) = adc(t[FQ_LIMBS], carry, 0);
        t[FQ_LIMBS] = t[FQ_LIMBS + 1] + carry;
        t[FQ_LIMBS + 1] = 0;
        i += 1;
    }
    // t < 2p here (a, b < p < R), so one conditional subtraction reduces it.
    let low = [t[0], t[1], t[2], t[3], t[4], t[5]];
    reduce_once(&low, t[FQ_LIMBS])
}

/// `a + b mod p`.
pub const fn add(a: &Fq, b: &Fq) -> Fq {
    Fq::from_canonical_limbs(add_limbs(a.limbs(), b.limbs()))
}

/// `a - b mod p`.
pub const fn sub(a: &Fq, b: &Fq) -> Fq {
    Fq::from_canonical_limbs(sub_limbs(a.limbs(), b.limbs()))
}

/// `-a mod p` (0 for 0).
pub const fn neg(a: &Fq) -> Fq {
    Fq::from_canonical_limbs(sub_limbs(&[0; FQ_LIMBS], a.limbs()))
}

/// `2a mod p`.
pub const fn double(a: &Fq) -> Fq {
    add(a, a)
}

/// `a * b mod p` for canonical operands.
///
/// Montgomery multiplication gives `a * b / R`; a second one by `R^2` gives `a * b`: two
/// Montgomery multiplications, the same strategy as the blst path.
pub const fn mul(a: &Fq, b: &Fq) -> Fq {
    let ab_over_r = mont_mul_limbs(a.limbs(), b.limbs());
    Fq::from_canonical_limbs(mont_mul_limbs(&ab_over_r, &R2_MOD_P))
}

/// `a^2 mod p`.
pub const fn square(a: &Fq) -> Fq {
    mul(a, a)
}

/// `a * b + c mod p`.
pub const fn fma(a: &Fq, b: &Fq, c: &Fq) -> Fq {
    add(&mul(a, b), c)
}

/// `a + b` on Montgomery forms (addition is the same in both representations).
pub const fn mont_add(a: &FqMont, b: &FqMont) -> FqMont {
    FqMont::from_canonical_mont_limbs(add_limbs(a.mont_limbs(), b.mont_limbs()))
}

/// `a - b` on Montgomery forms.
pub const fn mont_sub(a: &FqMont, b: &FqMont) -> FqMont {
    FqMont::from_canonical_mont_limbs(sub_limbs(a.mont_limbs(), b.mont_limbs()))
}

/// `a * b` on Montgomery forms: one Montgomery multiplication, `(xR)(yR)/R = xyR`.
pub const fn mont_mul(a: &FqMont, b: &FqMont) -> FqMont {
    FqMont::from_canonical_mont_limbs(mont_mul_limbs(a.mont_limbs(), b.mont_limbs()))
}

/// Canonical to Montgomery form: `x -> x * R mod p`, as a Montgomery multiplication by `R^2`.
pub const fn to_mont(a: &Fq) -> FqMont {
    FqMont::from_canonical_mont_limbs(mont_mul_limbs(a.limbs(), &R2_MOD_P))
}

/// Montgomery to canonical form: `xR -> x`, as a Montgomery multiplication by 1.
pub const fn from_mont(a: &FqMont) -> Fq {
    Fq::from_canonical_limbs(mont_mul_limbs(a.mont_limbs(), &[1, 0, 0, 0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values() {
        let (two, three) = (Fq::from_u64(2), Fq::from_u64(3));
        assert_eq!(add(&two, &three), Fq::from_u64(5));
        assert_eq!(sub(&three, &two), Fq::ONE);
        assert_eq!(mul(&two, &three), Fq::from_u64(6));
        assert_eq!(neg(&Fq::ZERO), Fq::ZERO);
        assert_eq!(add(&neg(&two), &two), Fq::ZERO);
        assert_eq!(from_mont(&to_mont(&three)), three);
        assert_eq!(*to_mont(&Fq::ONE).mont_limbs(), R_MOD_P);
    }
}
