use std::fmt;

use blst::blst_fp;
use rand::RngCore;
use rayon::prelude::*;

use crate::blst_ops;
use crate::FieldError;

/// Limbs per element.
pub const FQ_LIMBS: usize = 6;
/// Bytes in an encoded element.
pub const FQ_BYTES: usize = 48;

/// An element of the BLS12-381 base field Fq, integers modulo
/// p = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab.
///
/// Stored as 6 little-endian u64 limbs in canonical (not Montgomery) form and always
/// `< p`: every constructor checks, so a value of this type is a valid element.
///
/// Arithmetic, all through blst: the operators `+ - * -x` (and `+=`, `Sum`, `Product` ...,
/// also on references), [`ff::Field`] and [`ff::PrimeField`] (`square`, `double`, `invert`,
/// `sqrt`, `pow`, `to_repr` ...; `ff` is re-exported as [`crate::ff`]), and batches in
/// [`crate::cpu`]. [`crate::portable`] does the same in plain Rust. [`FqMont`] is the
/// Montgomery form, where multiplication is cheaper.
///
/// ```
/// use field_bls12::ff::Field;
/// use field_bls12::Fq;
/// let x = Fq::from_u64(9);
/// assert_eq!(x * x.invert().unwrap(), Fq::ONE);
/// assert_eq!(x.sqrt().unwrap().square(), x);
/// assert_eq!(x - x, Fq::ZERO);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
// Exactly 6 little-endian u64 words: GPU buffers hold it as is, and host vectors' words are
// seen as elements in place (`raw::host_elements`). Deliberately not a
// `vk_backend::HostElement`: with that, safe code could read any words as `Fq`.
#[repr(transparent)]
pub struct Fq([u64; FQ_LIMBS]);

impl Fq {
    /// The modulus p as little-endian limbs.
    pub const MODULUS: [u64; FQ_LIMBS] = [
        0xb9fe_ffff_ffff_aaab,
        0x1eab_fffe_b153_ffff,
        0x6730_d2a0_f6b0_f624,
        0x6477_4b84_f385_12bf,
        0x4b1b_a7b6_434b_acd7,
        0x1a01_11ea_397f_e69a,
    ];

    /// p - 1, big-endian: the largest canonical value.
    pub const MODULUS_MINUS_ONE_BE: [u8; FQ_BYTES] = {
        let mut limbs = Self::MODULUS;
        limbs[0] -= 1; // the low limb of p is odd, so no borrow
        limbs_to_be(&limbs)
    };

    /// 0.
    pub const ZERO: Fq = Fq([0; FQ_LIMBS]);
    /// 1.
    pub const ONE: Fq = Fq([1, 0, 0, 0, 0, 0]);

    /// The element with these little-endian limbs.
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] when the value is `>= p`.
    pub const fn from_limbs(limbs: [u64; FQ_LIMBS]) -> Result<Self, FieldError> {
        if is_canonical(&limbs) {
            Ok(Fq(limbs))
        } else {
            Err(FieldError::NotCanonical { index: None })
        }
    }

    /// The little-endian limbs.
    pub const fn limbs(&self) -> &[u64; FQ_LIMBS] {
        &self.0
    }

    /// A small integer.
    pub const fn from_u64(v: u64) -> Self {
        // Every u64 is below p (p > 2^380).
        Fq([v, 0, 0, 0, 0, 0])
    }

    /// Decodes 48 big-endian bytes (the usual serialisation of BLS12-381 field elements).
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] when the value is `>= p`.
    pub fn from_be_bytes(bytes: &[u8; FQ_BYTES]) -> Result<Self, FieldError> {
        let mut limbs = [0u64; FQ_LIMBS];
        for (i, chunk) in bytes.rchunks_exact(8).enumerate() {
            limbs[i] =
                u64::from_be_bytes(chunk.try_into().expect("rchunks_exact(8) yields 8 bytes"));
        }
        Self::from_limbs(limbs)
    }

    /// Decodes 48 little-endian bytes.
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] when the value is `>= p`.
    pub fn from_le_bytes(bytes: &[u8; FQ_BYTES]) -> Result<Self, FieldError> {
        let mut limbs = [0u64; FQ_LIMBS];
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            limbs[i] =
                u64::from_le_bytes(chunk.try_into().expect("chunks_exact(8) yields 8 bytes"));
        }
        Self::from_limbs(limbs)
    }

    /// Decodes a big-endian byte slice that must be exactly 48 bytes long.
    ///
    /// # Errors
    /// [`FieldError::BadEncodingLength`] for another length, [`FieldError::NotCanonical`]
    /// when the value is `>= p`.
    pub fn from_be_slice(bytes: &[u8]) -> Result<Self, FieldError> {
        let array: &[u8; FQ_BYTES] = bytes
            .try_into()
            .map_err(|_| FieldError::BadEncodingLength(bytes.len()))?;
        Self::from_be_bytes(array)
    }

    /// 48 big-endian bytes.
    pub const fn to_be_bytes(&self) -> [u8; FQ_BYTES] {
        limbs_to_be(&self.0)
    }

    /// 48 little-endian bytes.
    pub fn to_le_bytes(&self) -> [u8; FQ_BYTES] {
        let mut out = [0u8; FQ_BYTES];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// A uniformly random element (rejection sampling on 381-bit values).
    pub fn random(rng: &mut impl RngCore) -> Self {
        loop {
            let mut limbs = [0u64; FQ_LIMBS];
            for limb in &mut limbs {
                *limb = rng.next_u64();
            }
            limbs[5] &= (1 << (381 - 320)) - 1; // keep 381 bits: p has 381
            if let Ok(v) = Self::from_limbs(limbs) {
                return v;
            }
        }
    }

    /// Builds an element from limbs the caller has already proven canonical.
    pub(crate) const fn from_canonical_limbs(limbs: [u64; FQ_LIMBS]) -> Self {
        debug_assert!(is_canonical(&limbs));
        Fq(limbs)
    }

    /// A batch of elements from little-endian limbs, all checked.
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] naming the first index whose value is `>= p`; nothing
    /// is returned then.
    pub fn from_limbs_batch(limbs: &[[u64; FQ_LIMBS]]) -> Result<Vec<Fq>, FieldError> {
        check_batch(limbs, Fq)
    }

    /// This element in Montgomery form (`x * R mod p`), through blst.
    pub fn to_mont(&self) -> FqMont {
        FqMont(blst_ops::to_mont(&self.0))
    }
}

/// `wrap` on every limb array of a batch if all are canonical, else the first bad index.
fn check_batch<T>(
    limbs: &[[u64; FQ_LIMBS]],
    wrap: fn([u64; FQ_LIMBS]) -> T,
) -> Result<Vec<T>, FieldError> {
    match first_non_canonical(limbs) {
        Some(i) => Err(FieldError::NotCanonical { index: Some(i) }),
        None => Ok(limbs.iter().map(|l| wrap(*l)).collect()),
    }
}

/// The index of the first element of `limbs` that is not canonical (`>= p`), if any; in
/// parallel for large batches. Nearly every element's top limb is below p's, which settles
/// it: each block first takes a branch-free pass over its top limbs, and only a block with a
/// top limb at or above p's gets the exact comparison. (The exact scan alone, on 16Mi
/// results in host memory, cost 0.1 ns per element more than such a pass, on the H100
/// machine: 2.19-2.23 against 2.07-2.09 ns for a 16Mi add from host vectors.)
pub(crate) fn first_non_canonical(limbs: &[[u64; FQ_LIMBS]]) -> Option<usize> {
    const BLOCK: usize = 1 << 12;
    let top = Fq::MODULUS[FQ_LIMBS - 1];
    let scan = |(b, xs): (usize, &[[u64; FQ_LIMBS]])| {
        if xs.iter().fold(true, |ok, x| ok & (x[FQ_LIMBS - 1] < top)) {
            return None;
        }
        xs.iter()
            .position(|x| !is_canonical(x))
            .map(|i| b * BLOCK + i)
    };
    if limbs.len() <= 4 * BLOCK {
        limbs.chunks(BLOCK).enumerate().find_map(scan)
    } else {
        limbs.par_chunks(BLOCK).enumerate().find_map_first(scan)
    }
}

/// `limbs < p`, comparing from the most significant limb down.
///
/// Not constant time (it stops at the first differing limb); constant-time decoding
/// (`PrimeField::from_repr`) uses a full subtraction instead.
pub(crate) const fn is_canonical(limbs: &[u64; FQ_LIMBS]) -> bool {
    let mut i = FQ_LIMBS;
    while i > 0 {
        i -= 1;
        if limbs[i] != Fq::MODULUS[i] {
            return limbs[i] < Fq::MODULUS[i];
        }
    }
    false // equal to p
}

const fn limbs_to_be(limbs: &[u64; FQ_LIMBS]) -> [u8; FQ_BYTES] {
    let mut out = [0u8; FQ_BYTES];
    let mut i = 0;
    while i < FQ_LIMBS {
        let bytes = limbs[FQ_LIMBS - 1 - i].to_be_bytes();
        let mut j = 0;
        while j < 8 {
            out[8 * i + j] = bytes[j];
            j += 1;
        }
        i += 1;
    }
    out
}

/// An Fq element in Montgomery form: the limbs hold `x * R mod p` with `R = 2^384`,
/// canonical (`< p`).
///
/// A distinct type so that canonical and Montgomery representations can never be mixed by
/// accident: arithmetic that wants Montgomery form takes `FqMont`, and the only ways between
/// the two are explicit conversions ([`Fq::to_mont`], [`FqMont::to_canonical`], the `From`
/// impls, [`crate::cpu::to_mont`] and [`crate::cpu::from_mont`]).
///
/// This is the representation blst itself uses (`blst::blst_fp`), so multiplication here is a
/// single Montgomery multiplication; the operators `+ - * -x` work on `FqMont` directly.
///
/// ```
/// use field_bls12::{Fq, FqMont};
/// let (a, b) = (Fq::from_u64(6).to_mont(), Fq::from_u64(7).to_mont());
/// assert_eq!((a * b).to_canonical(), Fq::from_u64(42));
/// assert_eq!(FqMont::ONE.to_canonical(), Fq::ONE);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FqMont([u64; FQ_LIMBS]);

impl FqMont {
    /// Montgomery form of 0.
    pub const ZERO: FqMont = FqMont([0; FQ_LIMBS]);
    /// Montgomery form of 1: `R mod p`.
    pub const ONE: FqMont = FqMont(crate::portable::R_MOD_P);

    /// The element whose Montgomery-form limbs are `limbs` (little-endian, `x * R mod p`).
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] when the limbs are `>= p`.
    pub const fn from_mont_limbs(limbs: [u64; FQ_LIMBS]) -> Result<Self, FieldError> {
        if is_canonical(&limbs) {
            Ok(FqMont(limbs))
        } else {
            Err(FieldError::NotCanonical { index: None })
        }
    }

    /// The Montgomery-form limbs (`x * R mod p`, little-endian).
    pub const fn mont_limbs(&self) -> &[u64; FQ_LIMBS] {
        &self.0
    }

    /// Builds an element from limbs the caller has already proven canonical.
    pub(crate) const fn from_canonical_mont_limbs(limbs: [u64; FQ_LIMBS]) -> Self {
        debug_assert!(is_canonical(&limbs));
        FqMont(limbs)
    }

    /// A batch of elements from Montgomery-form limbs, all checked (as
    /// [`Fq::from_limbs_batch`]).
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] naming the first index whose limbs are `>= p`.
    pub fn from_mont_limbs_batch(limbs: &[[u64; FQ_LIMBS]]) -> Result<Vec<FqMont>, FieldError> {
        check_batch(limbs, FqMont)
    }

    /// The canonical element (`x` from `x * R mod p`), through blst.
    pub fn to_canonical(&self) -> Fq {
        Fq(blst_ops::from_mont(&self.0))
    }
}

impl From<Fq> for FqMont {
    /// [`Fq::to_mont`].
    fn from(v: Fq) -> Self {
        v.to_mont()
    }
}

impl From<FqMont> for Fq {
    /// [`FqMont::to_canonical`].
    fn from(v: FqMont) -> Self {
        v.to_canonical()
    }
}

/// The same field element as a `blst_fp`, which is in Montgomery form: the limbs are
/// converted (`x -> x * R mod p`), not copied.
impl From<Fq> for blst_fp {
    fn from(v: Fq) -> Self {
        blst_fp { l: v.to_mont().0 }
    }
}

/// The limbs unchanged: `blst_fp` is in Montgomery form too.
impl From<FqMont> for blst_fp {
    fn from(v: FqMont) -> Self {
        blst_fp { l: v.0 }
    }
}

/// Reads a `blst_fp` (Montgomery form) as the field element it stands for: the limbs are
/// converted (`x * R -> x`), not copied.
impl TryFrom<blst_fp> for Fq {
    type Error = FieldError;
    /// # Errors
    /// [`FieldError::NotCanonical`] when the limbs are `>= p` (blst's own functions never
    /// return such values, but a `blst_fp` can be built from any limbs).
    fn try_from(v: blst_fp) -> Result<Self, FieldError> {
        Ok(FqMont::try_from(v)?.to_canonical())
    }
}

/// Takes the limbs of a `blst_fp` unchanged: both are Montgomery form.
impl TryFrom<blst_fp> for FqMont {
    type Error = FieldError;
    /// # Errors
    /// [`FieldError::NotCanonical`] when the limbs are `>= p`.
    fn try_from(v: blst_fp) -> Result<Self, FieldError> {
        FqMont::from_mont_limbs(v.l)
    }
}

impl fmt::Debug for FqMont {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FqMont(0x")?;
        for limb in self.0.iter().rev() {
            write!(f, "{limb:016x}")?;
        }
        f.write_str(")")
    }
}

impl fmt::Debug for Fq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fq({self})")
    }
}

/// Big-endian hex with a `0x` prefix, all 96 digits.
impl fmt::Display for Fq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        for limb in self.0.iter().rev() {
            write!(f, "{limb:016x}")?;
        }
        Ok(())
    }
}

impl TryFrom<[u64; FQ_LIMBS]> for Fq {
    type Error = FieldError;
    fn try_from(limbs: [u64; FQ_LIMBS]) -> Result<Self, FieldError> {
        Fq::from_limbs(limbs)
    }
}

impl From<Fq> for [u64; FQ_LIMBS] {
    fn from(v: Fq) -> Self {
        v.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_is_rejected_and_p_minus_one_accepted() {
        assert!(matches!(
            Fq::from_limbs(Fq::MODULUS),
            Err(FieldError::NotCanonical { index: None })
        ));
        let mut p_minus_1 = Fq::MODULUS;
        p_minus_1[0] -= 1;
        let v = Fq::from_limbs(p_minus_1).unwrap();
        assert_eq!(v.to_be_bytes(), Fq::MODULUS_MINUS_ONE_BE);
        assert!(Fq::from_limbs([u64::MAX; 6]).is_err());
        let mut above = Fq::MODULUS;
        above[2] += 1;
        assert!(Fq::from_limbs(above).is_err());
    }

    #[test]
    fn encodings_round_trip() {
        let v = Fq::from_limbs([1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(Fq::from_be_bytes(&v.to_be_bytes()).unwrap(), v);
        assert_eq!(Fq::from_le_bytes(&v.to_le_bytes()).unwrap(), v);
        assert_eq!(v.to_be_bytes()[47], 1);
        assert_eq!(v.to_le_bytes()[0], 1);
        assert_eq!(v.to_be_bytes()[40 - 1], 2);
        assert_eq!(format!("{}", Fq::ONE), format!("0x{}1", "0".repeat(95)));
    }

    #[test]
    fn bad_encodings_are_rejected() {
        let p_be = limbs_to_be(&Fq::MODULUS);
        let err = Fq::from_be_bytes(&p_be).unwrap_err();
        assert!(
            err.to_string()
                .contains(">= the BLS12-381 base field modulus p"),
            "{err}"
        );
        let mut p_le = p_be;
        p_le.reverse();
        assert!(Fq::from_le_bytes(&p_le).is_err());
        assert!(matches!(
            Fq::from_be_slice(&[0u8; 47]),
            Err(FieldError::BadEncodingLength(47))
        ));
        assert!(Fq::from_be_slice(&[0u8; 48]).is_ok());
    }

    #[test]
    fn mont_batch_check_names_first_bad_index() {
        let err = FqMont::from_mont_limbs_batch(&[[0; 6], [1; 6], Fq::MODULUS]).unwrap_err();
        assert!(
            matches!(err, FieldError::NotCanonical { index: Some(2) }),
            "{err}"
        );
        assert_eq!(
            FqMont::from_mont_limbs_batch(&[[7, 0, 0, 0, 0, 0]]).unwrap(),
            vec![FqMont([7, 0, 0, 0, 0, 0])]
        );
    }

    #[test]
    fn batch_check_names_first_bad_index() {
        let err = Fq::from_limbs_batch(&[[0; 6], Fq::MODULUS, Fq::MODULUS]).unwrap_err();
        assert!(
            matches!(err, FieldError::NotCanonical { index: Some(1) }),
            "{err}"
        );
        assert!(err.to_string().contains("index 1"), "{err}");
        assert_eq!(
            Fq::from_limbs_batch(&[[7, 0, 0, 0, 0, 0]]).unwrap(),
            vec![Fq::from_u64(7)]
        );
    }
}
