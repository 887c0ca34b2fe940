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
}
