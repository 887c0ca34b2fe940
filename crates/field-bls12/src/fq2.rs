//! The quadratic extension Fq2 = Fq[u] / (u^2 + 1), the field of BLS12-381's G2 coordinates.
//!
//! Built on [`Fq`]'s own operations (each of which goes through blst), so this module needs
//! no `unsafe`: the formulas are the schoolbook ones for `u^2 = -1`.

use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};
use std::fmt;

use blst::{blst_fp, blst_fp2};
use ff::Field;
use rand::RngCore;

use crate::{FieldError, Fq};

/// An element `c0 + c1 * u` of Fq2, where `u^2 = -1`.
///
/// Both coordinates are canonical [`Fq`] values, so every `Fq2` is a valid element.
///
/// ```
/// use field_bls12::{Fq, Fq2};
/// let u = Fq2::new(Fq::ZERO, Fq::ONE);
/// assert_eq!(u * u, -Fq2::ONE);
/// let x = Fq2::new(Fq::from_u64(3), Fq::from_u64(5));
/// assert_eq!(x * x.inverse().unwrap(), Fq2::ONE);
/// assert_eq!(Fq2::ZERO.inverse(), None);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fq2 {
    /// The coordinate of 1.
    pub c0: Fq,
    /// The coordinate of `u`.
    pub c1: Fq,
}

impl Fq2 {
    /// 0.
    pub const ZERO: Fq2 = Fq2::new(Fq::ZERO, Fq::ZERO);
    /// 1.
    pub const ONE: Fq2 = Fq2::new(Fq::ONE, Fq::ZERO);

    /// `c0 + c1 * u`.
    pub const fn new(c0: Fq, c1: Fq) -> Self {
        Fq2 { c0, c1 }
    }

    /// An element of the base field, `c0 + 0 * u`.
    pub const fn from_fq(c0: Fq) -> Self {
        Fq2 { c0, c1: Fq::ZERO }
    }

    /// A uniformly random element.
    pub fn random(rng: &mut impl RngCore) -> Self {
        Fq2::new(Fq::random(rng), Fq::random(rng))
    }

    /// Whether this is 0.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// `2 * self`.
    pub fn double(&self) -> Self {
        Fq2::new(self.c0.double(), self.c1.double())
    }

    /// `self^2`: `(c0 + c1)(c0 - c1) + 2 c0 c1 u`, two multiplications instead of three.
    pub fn square(&self) -> Self {
        let c1 = (self.c0 * self.c1).double();
        let c0 = (self.c0 + self.c1) * (self.c0 - self.c1);
        Fq2::new(c0, c1)
    }

    /// The conjugate `c0 - c1 * u` (the Frobenius map `x -> x^p`).
    pub fn conjugate(&self) -> Self {
        Fq2::new(self.c0, -self.c1)
    }

    /// `self * (1 + u)`: multiplication by the non-residue that defines Fq6 over Fq2 and
    /// the G2 curve constant `4 (1 + u)`. It is `(c0 - c1) + (c0 + c1) u`.
    pub fn mul_by_nonresidue(&self) -> Self {
        Fq2::new(self.c0 - self.c1, self.c0 + self.c1)
    }

    /// The norm `c0^2 + c1^2 = self * conjugate(self)`, an element of Fq.
    pub fn norm(&self) -> Fq {
        self.c0.square() + self.c1.square()
    }

    /// `self^-1`, or `None` for 0.
    ///
    /// `1 / (c0 + c1 u) = (c0 - c1 u) / (c0^2 + c1^2)`; the norm is 0 only for 0, since -1
    /// is not a square in Fq (p = 3 mod 4).
    pub fn inverse(&self) -> Option<Self> {
        let norm_inv = Option::<Fq>::from(self.norm().invert())?;
        Some(Fq2::new(self.c0 * norm_inv, -(self.c1 * norm_inv)))
    }
}

impl Add for Fq2 {
    type Output = Fq2;
    fn add(self, rhs: Fq2) -> Fq2 {
        Fq2::new(self.c0 + rhs.c0, self.c1 + rhs.c1)
    }
}

impl Sub for Fq2 {
    type Output = Fq2;
    fn sub(self, rhs: Fq2) -> Fq2 {
        Fq2::new(self.c0 - rhs.c0, self.c1 - rhs.c1)
    }
}

impl Neg for Fq2 {
    type Output = Fq2;
    fn neg(self) -> Fq2 {
        Fq2::new(-self.c0, -self.c1)
    }
}

impl Mul for Fq2 {
    type Output = Fq2;
    /// `(a0 + a1 u)(b0 + b1 u) = (a0 b0 - a1 b1) + (a0 b1 + a1 b0) u`.
    fn mul(self, rhs: Fq2) -> Fq2 {
        let c0 = self.c0 * rhs.c0 - self.c1 * rhs.c1;
        let c1 = self.c0 * rhs.c1 + self.c1 * rhs.c0;
        Fq2::new(c0, c1)
    }
}

impl AddAssign for Fq2 {
    fn add_assign(&mut self, rhs: Fq2) {
        *self = *self + rhs;
    }
}

impl SubAssign for Fq2 {
    fn sub_assign(&mut self, rhs: Fq2) {
        *self = *self - rhs;
    }
}

impl MulAssign for Fq2 {
    fn mul_assign(&mut self, rhs: Fq2) {
        *self = *self * rhs;
    }
}

impl From<Fq> for Fq2 {
    /// [`Fq2::from_fq`].
    fn from(v: Fq) -> Self {
        Fq2::from_fq(v)
    }
}

/// The same element as a `blst_fp2`, whose coordinates are in Montgomery form: converted,
/// not copied.
impl From<Fq2> for blst_fp2 {
    fn from(v: Fq2) -> Self {
        blst_fp2 {
            fp: [blst_fp::from(v.c0), blst_fp::from(v.c1)],
        }
    }
}

/// Reads a `blst_fp2` (Montgomery-form coordinates) as the element it stands for.
impl TryFrom<blst_fp2> for Fq2 {
    type Error = FieldError;
    /// # Errors
    /// [`FieldError::NotCanonical`] when a coordinate's limbs are `>= p`.
    fn try_from(v: blst_fp2) -> Result<Self, FieldError> {
        Ok(Fq2::new(Fq::try_from(v.fp[0])?, Fq::try_from(v.fp[1])?))
    }
}

impl fmt::Debug for Fq2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fq2({} + {} * u)", self.c0, self.c1)
    }
}
