//! Single-element arithmetic: the operator traits (`+ - * -x`, their `*Assign` forms, `Sum`,
//! `Product`, each also for references) and `subtle`'s constant-time traits, for [`Fq`] and
//! [`FqMont`], all through blst (see `blst_ops.rs` for what each blst call means in each
//! representation).
//!
//! Multiplication of canonical values costs two Montgomery multiplications (see
//! `Fq::mul_impl`); on [`FqMont`] it is one.

use core::iter::{Product, Sum};
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::blst_ops;
use crate::fq::{Fq, FqMont, FQ_LIMBS};

impl Fq {
    pub(crate) fn add_impl(&self, rhs: &Fq) -> Fq {
        Fq::from_canonical_limbs(blst_ops::add(self.limbs(), rhs.limbs()))
    }

    pub(crate) fn sub_impl(&self, rhs: &Fq) -> Fq {
        Fq::from_canonical_limbs(blst_ops::sub(self.limbs(), rhs.limbs()))
    }

    pub(crate) fn neg_impl(&self) -> Fq {
        Fq::from_canonical_limbs(blst_ops::neg(self.limbs()))
    }

    pub(crate) fn double_impl(&self) -> Fq {
        Fq::from_canonical_limbs(blst_ops::double(self.limbs()))
    }

    /// `a * b mod p` for canonical `a`, `b`.
    ///
    /// blst only has Montgomery multiplication: on canonical limbs it gives `a * b / R`. The
    /// cheapest correct fix-up is one more Montgomery multiplication, by `R^2` (which is what
    /// blst's canonical-to-Montgomery conversion `blst_fp_from_uint64` does): `(ab/R) * R^2 / R
    /// = ab`. Two Montgomery multiplications is the minimum with blst's primitives: converting
    /// one operand first (`(aR) * b / R`) costs the same, a Montgomery reduction alone can only
    /// divide by `R`, and blst's `blst_fp_from_uint64` uses its own `R^2` constant, so there
    /// is none of ours to get wrong. Squaring uses blst's cheaper squaring for the first step.
    pub(crate) fn mul_impl(&self, rhs: &Fq) -> Fq {
        let ab_over_r = blst_ops::mont_mul(self.limbs(), rhs.limbs());
        Fq::from_canonical_limbs(blst_ops::to_mont(&ab_over_r))
    }

    /// `a^2 mod p`: Montgomery squaring, then the same `R^2` fix-up as [`Fq::mul_impl`].
    pub(crate) fn square_impl(&self) -> Fq {
        Fq::from_canonical_limbs(blst_ops::to_mont(&blst_ops::mont_sqr(self.limbs())))
    }

    /// `a * b + c mod p`.
    pub(crate) fn fma_impl(&self, b: &Fq, c: &Fq) -> Fq {
        self.mul_impl(b).add_impl(c)
    }
}

impl FqMont {
    pub(crate) fn add_impl(&self, rhs: &FqMont) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::add(self.mont_limbs(), rhs.mont_limbs()))
    }

    pub(crate) fn sub_impl(&self, rhs: &FqMont) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::sub(self.mont_limbs(), rhs.mont_limbs()))
    }

    pub(crate) fn neg_impl(&self) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::neg(self.mont_limbs()))
    }

    /// `(xR)(yR)/R = xyR`: one Montgomery multiplication.
    pub(crate) fn mul_impl(&self, rhs: &FqMont) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::mont_mul(self.mont_limbs(), rhs.mont_limbs()))
    }

    /// `a * b + c` in Montgomery form.
    pub(crate) fn fma_impl(&self, b: &FqMont, c: &FqMont) -> FqMont {
        self.mul_impl(b).add_impl(c)
    }

    /// `2a` (Montgomery form in and out).
    pub fn double(&self) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::double(self.mont_limbs()))
    }

    /// `a^2` (Montgomery form in and out): one Montgomery squaring.
    pub fn square(&self) -> FqMont {
        FqMont::from_canonical_mont_limbs(blst_ops::mont_sqr(self.mont_limbs()))
    }
}

/// Implements a binary operator and its assigning form for all four owned/borrowed
/// combinations, from one `fn(&T, &T) -> T`.
macro_rules! binary_ops {
    ($ty:ty, $Op:ident, $op:ident, $OpAssign:ident, $op_assign:ident, $imp:ident) => {
        impl $Op<&$ty> for &$ty {
            type Output = $ty;
            fn $op(self, rhs: &$ty) -> $ty {
                <$ty>::$imp(self, rhs)
            }
        }
        impl $Op<$ty> for &$ty {
            type Output = $ty;
            fn $op(self, rhs: $ty) -> $ty {
                <$ty>::$imp(self, &rhs)
            }
        }
        impl $Op<&$ty> for $ty {
            type Output = $ty;
            fn $op(self, rhs: &$ty) -> $ty {
                <$ty>::$imp(&self, rhs)
            }
        }
        impl $Op<$ty> for $ty {
            type Output = $ty;
            fn $op(self, rhs: $ty) -> $ty {
                <$ty>::$imp(&self, &rhs)
            }
        }
        impl $OpAssign<&$ty> for $ty {
            fn $op_assign(&mut self, rhs: &$ty) {
                *self = <$ty>::$imp(self, rhs);
            }
        }
        impl $OpAssign<$ty> for $ty {
            fn $op_assign(&mut self, rhs: $ty) {
                *self = <$ty>::$imp(self, &rhs);
            }
        }
    };
}

/// Everything in this module for one element type: operators, `Sum`/`Product` (owned and
/// borrowed items) and the `subtle` traits.
macro_rules! field_element_traits {
    ($ty:ident, $limbs:ident, $from_limbs:path) => {
        binary_ops!($ty, Add, add, AddAssign, add_assign, add_impl);
        binary_ops!($ty, Sub, sub, SubAssign, sub_assign, sub_impl);
        binary_ops!($ty, Mul, mul, MulAssign, mul_assign, mul_impl);

        impl Neg for $ty {
            type Output = $ty;
            fn neg(self) -> $ty {
                self.neg_impl()
            }
        }
        impl Neg for &$ty {
            type Output = $ty;
            fn neg(self) -> $ty {
                self.neg_impl()
            }
        }

        impl Sum for $ty {
            fn sum<I: Iterator<Item = $ty>>(iter: I) -> $ty {
                iter.fold($ty::ZERO, |acc, x| acc.add_impl(&x))
            }
        }
        impl<'a> Sum<&'a $ty> for $ty {
            fn sum<I: Iterator<Item = &'a $ty>>(iter: I) -> $ty {
                iter.fold($ty::ZERO, |acc, x| acc.add_impl(x))
            }
        }
        impl Product for $ty {
            fn product<I: Iterator<Item = $ty>>(iter: I) -> $ty {
                iter.fold($ty::ONE, |acc, x| acc.mul_impl(&x))
            }
        }
        impl<'a> Product<&'a $ty> for $ty {
            fn product<I: Iterator<Item = &'a $ty>>(iter: I) -> $ty {
                iter.fold($ty::ONE, |acc, x| acc.mul_impl(x))
            }
        }

        /// Compares all limbs without branching on their values.
        impl ConstantTimeEq for $ty {
            fn ct_eq(&self, other: &$ty) -> Choice {
                self.$limbs()[..].ct_eq(&other.$limbs()[..])
            }
        }

        /// Selects limb by limb without branching; both inputs are canonical, so the result is.
        impl ConditionallySelectable for $ty {
            fn conditional_select(a: &$ty, b: &$ty, choice: Choice) -> $ty {
                let (a, b) = (a.$limbs(), b.$limbs());
                let limbs: [u64; FQ_LIMBS] =
                    core::array::from_fn(|i| u64::conditional_select(&a[i], &b[i], choice));
                $from_limbs(limbs)
            }
        }
    };
}

field_element_traits!(Fq, limbs, Fq::from_canonical_limbs);
field_element_traits!(FqMont, mont_limbs, FqMont::from_canonical_mont_limbs);
