//! Independent reference for the curve tests: affine point formulas over plain big integers
//! (num-bigint), for G1 over Fp and G2 over Fp2 = Fp[u]/(u^2 + 1). Nothing here uses blst or
//! the crate under test. Slow (an inversion per addition): for small sizes only.

use num_bigint::BigUint;

/// The base field modulus p.
pub fn p() -> &'static BigUint {
    // Parsed once: every field operation reduces by it.
    static P: std::sync::OnceLock<BigUint> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        BigUint::parse_bytes(
            b"1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab",
            16,
        )
        .expect("valid hex")
    })
}

/// The prime order r of G1 and G2.
pub fn r() -> BigUint {
    BigUint::parse_bytes(
        b"73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001",
        16,
    )
    .expect("valid hex")
}

/// Arithmetic the affine formulas need.
pub trait Field: Clone + PartialEq + std::fmt::Debug {
    fn zero() -> Self;
    fn from_u64(v: u64) -> Self;
    fn add(&self, o: &Self) -> Self;
    fn sub(&self, o: &Self) -> Self;
    fn mul(&self, o: &Self) -> Self;
    /// The inverse of a non-zero element.
    fn inv(&self) -> Self;
    fn is_zero(&self) -> bool {
        *self == Self::zero()
    }
    fn neg(&self) -> Self {
        Self::zero().sub(self)
    }
    /// The curve's constant b.
    fn curve_b() -> Self;
}

/// An element of Fp, reduced.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Fp(pub BigUint);

impl Fp {
    pub fn new(v: BigUint) -> Self {
        Fp(v % p())
    }
    pub fn pow(&self, e: &BigUint) -> Self {
        Fp(self.0.modpow(e, p()))
    }
    /// A square root (p = 3 mod 4), if any.
    pub fn sqrt(&self) -> Option<Self> {
        let root = self.pow(&((p() + 1u32) >> 2u32));
        (root.mul(&root) == *self).then_some(root)
    }
}

impl Field for Fp {
    fn zero() -> Self {
        Fp(BigUint::from(0u32))
    }
    fn from_u64(v: u64) -> Self {
        Fp::new(BigUint::from(v))
    }
    fn add(&self, o: &Self) -> Self {
        Fp::new(&self.0 + &o.0)
    }
    fn sub(&self, o: &Self) -> Self {
        Fp::new(&self.0 + p() - &o.0)
    }
    fn mul(&self, o: &Self) -> Self {
        Fp::new(&self.0 * &o.0)
    }
    fn inv(&self) -> Self {
        Fp(self.0.modinv(p()).expect("inverse of a non-zero element"))
    }
    fn curve_b() -> Self {
        Fp::from_u64(4)
    }
}

/// An element `c0 + c1 u` of Fp2.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Fp2(pub Fp, pub Fp);

impl Fp2 {
    fn pow(&self, e: &BigUint) -> Self {
        let mut acc = Fp2::from_u64(1);
        for i in (0..e.bits()).rev() {
            acc = acc.mul(&acc);
            if e.bit(i) {
                acc = acc.mul(self);
            }
        }
        acc
    }

    /// A square root, if any (p = 3 mod 4: Adj and Rodriguez-Henriquez, Algorithm 9).
    pub fn sqrt(&self) -> Option<Self> {
        if self.is_zero() {
            return Some(self.clone());
        }
        let a1 = self.pow(&((p() - 3u32) >> 2u32));
        let alpha = a1.mul(&a1).mul(self);
        let conj = Fp2(alpha.0.clone(), alpha.1.neg());
        let minus_one = Fp2::from_u64(1).neg();
        if conj.mul(&alpha) == minus_one {
            return None;
        }
        let x0 = a1.mul(self);
        let root = if alpha == minus_one {
            Fp2(Fp::zero(), Fp::from_u64(1)).mul(&x0)
        } else {
            let b = alpha.add(&Fp2::from_u64(1)).pow(&((p() - 1u32) >> 1u32));
            b.mul(&x0)
        };
        (root.mul(&root) == *self).then_some(root)
    }
}

impl Field for Fp2 {
    fn zero() -> Self {
        Fp2(Fp::zero(), Fp::zero())
    }
    fn from_u64(v: u64) -> Self {
        Fp2(Fp::from_u64(v), Fp::zero())
    }
    fn add(&self, o: &Self) -> Self {
        Fp2(self.0.add(&o.0), self.1.add(&o.1))
    }
    fn sub(&self, o: &Self) -> Self {
        Fp2(self.0.sub(&o.0), self.1.sub(&o.1))
    }
    fn mul(&self, o: &Self) -> Self {
        Fp2(
            self.0.mul(&o.0).sub(&self.1.mul(&o.1)),
            self.0.mul(&o.1).add(&self.1.mul(&o.0)),
        )
    }
    fn inv(&self) -> Self {
        let norm_inv = self.0.mul(&self.0).add(&self.1.mul(&self.1)).inv();
        Fp2(self.0.mul(&norm_inv), self.1.neg().mul(&norm_inv))
    }
    fn curve_b() -> Self {
        Fp2(Fp::from_u64(4), Fp::from_u64(4))
    }
}

/// A point in affine coordinates, or infinity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Point<F> {
    Infinity,
    Affine(F, F),
}

impl<F: Field> Point<F> {
    pub fn is_on_curve(&self) -> bool {
        match self {
            Point::Infinity => true,
            Point::Affine(x, y) => y.mul(y) == x.mul(x).mul(x).add(&F::curve_b()),
        }
    }

    pub fn neg(&self) -> Self {
        match self {
            Point::Infinity => Point::Infinity,
            Point::Affine(x, y) => Point::Affine(x.clone(), y.neg()),
        }
    }

    pub fn double(&self) -> Self {
        match self {
            Point::Infinity => Point::Infinity,
            Point::Affine(_, y) if y.is_zero() => Point::Infinity,
            Point::Affine(x, y) => {
                let xx = x.mul(x);
                let lambda = xx.add(&xx).add(&xx).mul(&y.add(y).inv());
                let x3 = lambda.mul(&lambda).sub(x).sub(x);
                let y3 = lambda.mul(&x.sub(&x3)).sub(y);
                Point::Affine(x3, y3)
            }
        }
    }

    pub fn add(&self, other: &Self) -> Self {
        match (self, other) {
            (Point::Infinity, q) => q.clone(),
            (p, Point::Infinity) => p.clone(),
            (Point::Affine(x1, y1), Point::Affine(x2, y2)) => {
                if x1 == x2 {
                    return if y1 == y2 {
                        self.double()
                    } else {
                        Point::Infinity
                    };
                }
                let lambda = y2.sub(y1).mul(&x2.sub(x1).inv());
                let x3 = lambda.mul(&lambda).sub(x1).sub(x2);
                let y3 = lambda.mul(&x1.sub(&x3)).sub(y1);
                Point::Affine(x3, y3)
            }
        }
    }

    /// `[k] self` by double-and-add over all bits of `k` (no reduction mod r).
    pub fn mul(&self, k: &BigUint) -> Self {
        let mut acc = Point::Infinity;
        for i in (0..k.bits()).rev() {
            acc = acc.double();
            if k.bit(i) {
                acc = acc.add(self);
            }
        }
        acc
    }

    /// `sum_i [k_i] P_i`, term by term.
    pub fn msm(points: &[Self], scalars: &[BigUint]) -> Self {
        assert_eq!(points.len(), scalars.len());
        points
            .iter()
            .zip(scalars)
            .fold(Point::Infinity, |acc, (p, k)| acc.add(&p.mul(k)))
    }

    /// The first point on the curve whose x is `x0, x0 + 1, ...` (with the root `sqrt`
    /// gives), found by trying x values. Such points are almost never in the subgroup
    /// (cofactors of about 2^126 and 2^380).
    pub fn first_on_curve(mut x: F, sqrt: impl Fn(&F) -> Option<F>) -> Self {
        loop {
            let rhs = x.mul(&x).mul(&x).add(&F::curve_b());
            if let Some(y) = sqrt(&rhs) {
                let point = Point::Affine(x, y);
                assert!(point.is_on_curve());
                return point;
            }
            x = x.add(&F::from_u64(1));
        }
    }
}
