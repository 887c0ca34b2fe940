//! [`ff::Field`] and [`ff::PrimeField`] (ff 0.13) for [`Fq`], and its byte representation
//! [`FqRepr`].
//!
//! # Representation
//! [`PrimeField::to_repr`] gives 48 **little-endian** bytes of the canonical value, as the
//! `PrimeField` implementations of the ff ecosystem do (blstrs' and bls12_381's `Scalar`,
//! pasta_curves, ff_derive's usual choice), and as [`Fq::to_le_bytes`] does. BLS12-381's
//! usual wire format for base-field elements (the Zcash serialisation inside compressed
//! points) is big-endian: use [`Fq::to_be_bytes`] / [`Fq::from_be_bytes`] for that.
//!
//! # Constants
//! `p - 1 = 2 * t` with `t` odd (p = 3 mod 4), so [`PrimeField::S`] is 1. The smallest
//! generator of the multiplicative group is 2 (`GF(p).primitive_element()` in SageMath), so:
//! `MULTIPLICATIVE_GENERATOR = 2`; `ROOT_OF_UNITY = 2^t = -1` (2 is a non-square);
//! `ROOT_OF_UNITY_INV = -1`; `DELTA = 2^(2^S) = 4`; `TWO_INV = (p + 1) / 2`.
//! `tests/cpu_ff.rs` checks each against big-integer arithmetic and the factorisation of
//! `p - 1`.
//!
//! Note that `Fq` also has inherent items named `MODULUS` (the limbs), `ZERO`, `ONE` and
//! `random`; inherent items win in `Fq::MODULUS` paths, so generic code and code that wants
//! the trait's string writes `<Fq as PrimeField>::MODULUS`.

use ff::{Field, PrimeField};
use rand::RngCore;
use subtle::{Choice, ConditionallySelectable, CtOption};

use crate::blst_ops;
use crate::fq::{Fq, FQ_BYTES, FQ_LIMBS};

/// The [`PrimeField::Repr`] of [`Fq`]: 48 little-endian bytes of the canonical value.
///
/// A newtype rather than `[u8; 48]` because `PrimeField::Repr` must be `Default`, which the
/// standard library implements for arrays of at most 32 elements only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FqRepr(pub [u8; FQ_BYTES]);

impl Default for FqRepr {
    fn default() -> Self {
        FqRepr([0; FQ_BYTES])
    }
}

impl AsRef<[u8]> for FqRepr {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl AsMut<[u8]> for FqRepr {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

impl From<[u8; FQ_BYTES]> for FqRepr {
    fn from(bytes: [u8; FQ_BYTES]) -> Self {
        FqRepr(bytes)
    }
}

impl From<FqRepr> for [u8; FQ_BYTES] {
    fn from(repr: FqRepr) -> Self {
        repr.0
    }
}

/// `v` as a field element (every u64 is below p).
impl From<u64> for Fq {
    fn from(v: u64) -> Self {
        Fq::from_u64(v)
    }
}

impl Field for Fq {
    const ZERO: Self = Fq::ZERO;
    const ONE: Self = Fq::ONE;

    /// Uniform, by rejection sampling ([`Fq::random`]).
    fn random(mut rng: impl RngCore) -> Self {
        // Resolves to the inherent `Fq::random(&mut impl RngCore)`, not to this method.
        Fq::random(&mut rng)
    }

    fn square(&self) -> Self {
        self.square_impl()
    }

    fn double(&self) -> Self {
        self.double_impl()
    }

    /// `self^-1` through blst's constant-time inversion; none for 0.
    fn invert(&self) -> CtOption<Self> {
        // blst inverts Montgomery forms (xR -> x^-1 R): convert there and back.
        let inv = blst_ops::from_mont(&blst_ops::inverse(&blst_ops::to_mont(self.limbs())));
        CtOption::new(Fq::from_canonical_limbs(inv), !self.is_zero())
    }

    /// `ff::helpers::sqrt_ratio_generic`, built on [`Fq::sqrt`] below; the non-square `G_S`
    /// it multiplies by is [`PrimeField::ROOT_OF_UNITY`], here -1.
    fn sqrt_ratio(num: &Self, div: &Self) -> (Choice, Self) {
        ff::helpers::sqrt_ratio_generic(num, div)
    }

    /// A square root through blst (`a^((p+1)/4)`, constant time, p = 3 mod 4); none when `self`
    /// is not a square. Which of the two roots comes back is unspecified (as `ff` allows).
    fn sqrt(&self) -> CtOption<Self> {
        // Overridden: ff's default calls sqrt_ratio, which here calls sqrt.
        let (is_square, root) = blst_ops::sqrt(&blst_ops::to_mont(self.limbs()));
        // from_mont reduces fully, so the limbs are canonical even for a non-square.
        let root = Fq::from_canonical_limbs(blst_ops::from_mont(&root));
        CtOption::new(root, Choice::from(u8::from(is_square)))
    }
}

impl PrimeField for Fq {
    type Repr = FqRepr;

    /// Little-endian; `None` for a value `>= p`. Constant time.
    fn from_repr(repr: FqRepr) -> CtOption<Self> {
        let limbs: [u64; FQ_LIMBS] = core::array::from_fn(|i| {
            u64::from_le_bytes(repr.0[8 * i..8 * i + 8].try_into().expect("8 bytes"))
        });
        let is_canonical = Choice::from(crate::portable::lt_modulus(&limbs) as u8);
        // Zero the limbs when they are out of range, so the (hidden) value stays canonical.
        let masked: [u64; FQ_LIMBS] =
            core::array::from_fn(|i| u64::conditional_select(&0, &limbs[i], is_canonical));
        CtOption::new(Fq::from_canonical_limbs(masked), is_canonical)
    }

    /// Little-endian ([`Fq::to_le_bytes`]).
    fn to_repr(&self) -> FqRepr {
        FqRepr(self.to_le_bytes())
    }

    fn is_odd(&self) -> Choice {
        Choice::from((self.limbs()[0] & 1) as u8)
    }

    const MODULUS: &'static str = "0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";
    const NUM_BITS: u32 = 381;
    const CAPACITY: u32 = 380;
    /// `(p + 1) / 2`.
    const TWO_INV: Self = Fq::from_canonical_limbs([
        0xdcff_7fff_ffff_d556,
        0x0f55_ffff_58a9_ffff,
        0xb398_6950_7b58_7b12,
        0xb23b_a5c2_79c2_895f,
        0x258d_d3db_21a5_d66b,
        0x0d00_88f5_1cbf_f34d,
    ]);
    /// 2: the smallest generator of the multiplicative group, a non-square.
    const MULTIPLICATIVE_GENERATOR: Self = Fq::from_u64(2);
    /// `p - 1 = 2 * t`, t odd.
    const S: u32 = 1;
    /// `2^t = -1`, the only element of order `2^S = 2`.
    const ROOT_OF_UNITY: Self = MINUS_ONE;
    /// `(-1)^-1 = -1`.
    const ROOT_OF_UNITY_INV: Self = MINUS_ONE;
    /// `2^(2^S) = 4`, a generator of the order-t subgroup.
    const DELTA: Self = Fq::from_u64(4);
}

/// `p - 1`.
const MINUS_ONE: Fq = {
    let mut limbs = Fq::MODULUS;
    limbs[0] -= 1; // the low limb of p is odd, so no borrow
    Fq::from_canonical_limbs(limbs)
};
