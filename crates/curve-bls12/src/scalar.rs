use crate::CurveError;

/// Bytes in a [`Scalar`].
pub const SCALAR_BYTES: usize = 32;

/// A 256-bit unsigned integer used as a scalar multiplier, NOT reduced modulo the group order
/// r: EIP-2537 passes arbitrary 256-bit big-endian values, and `[k]P` is computed for the
/// full integer `k` (for a point of order r that equals `[k mod r]P`).
///
/// ```
/// use curve_bls12::Scalar;
/// let k = Scalar::from_u64(5);
/// assert_eq!(k.to_be_bytes()[31], 5);
/// assert_eq!(Scalar::from_be_bytes(k.to_be_bytes()), k);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug)]
pub struct Scalar([u8; SCALAR_BYTES]); // little-endian

impl Scalar {
    /// 0.
    pub const ZERO: Scalar = Scalar([0; SCALAR_BYTES]);
    /// 1.
    pub const ONE: Scalar = Scalar::from_u64(1);

    /// From 32 little-endian bytes.
    pub const fn from_le_bytes(bytes: [u8; SCALAR_BYTES]) -> Self {
        Scalar(bytes)
    }

    /// From 32 big-endian bytes (the EIP-2537 encoding).
    pub fn from_be_bytes(mut bytes: [u8; SCALAR_BYTES]) -> Self {
        bytes.reverse();
        Scalar(bytes)
    }

    /// From a big-endian slice that must be exactly 32 bytes long.
    ///
    /// # Errors
    /// [`CurveError::BadLength`] for another length.
    pub fn from_be_slice(bytes: &[u8]) -> Result<Self, CurveError> {
        let array: [u8; SCALAR_BYTES] = bytes.try_into().map_err(|_| CurveError::BadLength {
            expected: SCALAR_BYTES,
            got: bytes.len(),
        })?;
        Ok(Self::from_be_bytes(array))
    }

    /// A small integer.
    pub const fn from_u64(v: u64) -> Self {
        let le = v.to_le_bytes();
        let mut bytes = [0u8; SCALAR_BYTES];
        let mut i = 0;
        while i < 8 {
            bytes[i] = le[i];
            i += 1;
        }
        Scalar(bytes)
    }

    /// The 32 little-endian bytes (what blst's scalar multiplications read).
    pub const fn to_le_bytes(&self) -> [u8; SCALAR_BYTES] {
        self.0
    }

    /// The 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; SCALAR_BYTES] {
        let mut bytes = self.0;
        bytes.reverse();
        bytes
    }

    /// Whether this is 0.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; SCALAR_BYTES]
    }
}

/// The group order r, little-endian 64-bit limbs.
const R: [u64; 4] = [
    0xffff_ffff_0000_0001,
    0x53bd_a402_fffe_5bfe,
    0x3339_d808_09a1_d805,
    0x73ed_a753_299d_7d48,
];
/// |z| for the BLS parameter z = -0xd201000000010000.
pub(crate) const ABS_Z: u64 = 0xd201_0000_0001_0000;

/// `k mod r` in base |z|: the digits d_0..d_3, least significant first, with
/// `k = sum_i d_i |z|^i (mod r)` (r = z^4 - z^2 + 1 < |z|^4, so four digits hold it).
/// On G2, where the endomorphism psi is multiplication by z, `[k]P = sum_i [d_i] Q_i` for
/// `Q_i = [|z|^i]P = (-1)^i psi^i(P)`: four 64-bit multiplications for one of 256 bits.
pub(crate) fn base_z_digits(k: &Scalar) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (limb, bytes) in w.iter_mut().zip(k.0.chunks_exact(8)) {
        *limb = u64::from_le_bytes(bytes.try_into().expect("8-byte chunks"));
    }
    // k < 2^256 < 3r: at most two subtractions.
    while w.iter().rev().cmp(R.iter().rev()) != std::cmp::Ordering::Less {
        let mut borrow = false;
        for (limb, r) in w.iter_mut().zip(R) {
            let (d, b1) = limb.overflowing_sub(r);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *limb = d;
            borrow = b1 || b2;
        }
    }
    let mut digits = [0u64; 4];
    for digit in &mut digits[..3] {
        *digit = div_rem_abs_z(&mut w);
    }
    debug_assert!(w[1..].iter().all(|&l| l == 0) && w[0] < ABS_Z);
    digits[3] = w[0];
    digits
}

/// `w /= |z|` in place; returns the remainder. |z| = 2^16 m with m < 2^48, so the division
/// by m runs in 16-bit steps on u64 values, divisions by a constant that the compiler turns
/// into multiplications (a u128 division is a library call, several times slower).
fn div_rem_abs_z(w: &mut [u64; 4]) -> u64 {
    const M: u64 = ABS_Z >> 16;
    const _: () = assert!(M << 16 == ABS_Z && M < 1 << 48);
    let low = w[0] & 0xffff;
    for i in 0..4 {
        w[i] = (w[i] >> 16) | w.get(i + 1).map_or(0, |&next| next << 48);
    }
    // rem < m < 2^48, so (rem << 16) | chunk fits a u64 and its quotient a 16-bit digit.
    let mut rem = 0u64;
    for limb in w.iter_mut().rev() {
        let mut q = 0u64;
        for shift in [48, 32, 16, 0] {
            let cur = (rem << 16) | ((*limb >> shift) & 0xffff);
            q |= (cur / M) << shift;
            rem = cur % M;
        }
        *limb = q;
    }
    (rem << 16) | low
}

impl From<u64> for Scalar {
    fn from(v: u64) -> Self {
        Scalar::from_u64(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_orders() {
        let mut be = [0u8; 32];
        be[0] = 0x80;
        be[31] = 1;
        let k = Scalar::from_be_bytes(be);
        assert_eq!(k.to_le_bytes()[31], 0x80);
        assert_eq!(k.to_le_bytes()[0], 1);
        assert_eq!(Scalar::from_le_bytes(k.to_le_bytes()), k);
        assert_eq!(k.to_be_bytes(), be);
        assert_eq!(Scalar::from(258u64).to_le_bytes()[..2], [2, 1]);
        assert!(Scalar::ZERO.is_zero() && !Scalar::ONE.is_zero());
        assert_eq!(
            Scalar::from_be_slice(&[0; 31]),
            Err(CurveError::BadLength {
                expected: 32,
                got: 31
            })
        );
        assert_eq!(Scalar::from_be_slice(&be), Ok(k));
    }

    /// The digits lie below |z| and recombine (Horner in base |z|, big integers) to k mod r.
    #[test]
    fn base_z_digits_recombine_to_k_mod_r() {
        fn value(limbs: &[u64]) -> num_bigint::BigUint {
            limbs
                .iter()
                .rev()
                .fold(num_bigint::BigUint::default(), |acc, &l| (acc << 64u32) + l)
        }
        let r = value(&R);
        let z = num_bigint::BigUint::from(ABS_Z);
        let mut ks = vec![Scalar::ZERO, Scalar::ONE, Scalar::from_le_bytes([0xff; 32])];
        let le = |v: &num_bigint::BigUint| {
            let mut bytes = v.to_bytes_le();
            bytes.resize(32, 0);
            Scalar::from_le_bytes(bytes.try_into().unwrap())
        };
        for v in [&r - 1u32, r.clone(), &r + 1u32, &r * 2u32, &r * 2u32 + 5u32] {
            ks.push(le(&v));
        }
        // Digits at their edges: |z|^i - 1 (all digits |z| - 1 below i), |z|^i, |z|^i + 1.
        for i in 1..4u32 {
            let p = z.pow(i);
            for v in [&p - 1u32, p.clone(), &p + 1u32] {
                ks.push(le(&v));
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..64 {
            let mut bytes = [0u8; 32];
            for b in &mut bytes {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            ks.push(Scalar::from_le_bytes(bytes));
        }
        for k in ks {
            let digits = base_z_digits(&k);
            assert!(digits.iter().all(|&d| d < ABS_Z), "{k:?}");
            let got = digits
                .iter()
                .rev()
                .fold(num_bigint::BigUint::default(), |acc, &d| acc * &z + d);
            let k_value = num_bigint::BigUint::from_bytes_le(&k.to_le_bytes());
            assert_eq!(got, k_value % &r, "{k:?}");
        }
    }
}
