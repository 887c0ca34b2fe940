//! The seven precompiles: addresses, names, input and output lengths.

use core::fmt;

use curve_bls12::{G1_EIP2537_BYTES, G2_EIP2537_BYTES, SCALAR_BYTES};

/// Bytes of one (G1 point, scalar) pair of a G1MSM input.
pub const G1_MSM_PAIR_BYTES: usize = G1_EIP2537_BYTES + SCALAR_BYTES;
/// Bytes of one (G2 point, scalar) pair of a G2MSM input.
pub const G2_MSM_PAIR_BYTES: usize = G2_EIP2537_BYTES + SCALAR_BYTES;
/// Bytes of one (G1 point, G2 point) pair of a PAIRING_CHECK input.
pub const PAIRING_PAIR_BYTES: usize = G1_EIP2537_BYTES + G2_EIP2537_BYTES;
/// Bytes of an Fp element (MAP_FP_TO_G1's input): 16 zero bytes, 48 big-endian bytes.
pub const FP_BYTES: usize = curve_bls12::EIP2537_FQ_BYTES;
/// Bytes of an Fp2 element (MAP_FP2_TO_G2's input): c0, then c1.
pub const FP2_BYTES: usize = 2 * FP_BYTES;
/// Bytes of PAIRING_CHECK's output: 31 zero bytes, then 1 (true) or 0 (false).
pub const PAIRING_OUTPUT_BYTES: usize = 32;

/// One of EIP-2537's seven precompiles.
///
/// ```
/// use eip2537::Precompile;
///
/// assert_eq!(Precompile::from_address(0x0f), Some(Precompile::PairingCheck));
/// assert_eq!(Precompile::G1Msm.address(), 0x0c);
/// assert_eq!(Precompile::G2Add.to_string(), "BLS12_G2ADD");
/// assert_eq!(Precompile::from_address(0x12), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precompile {
    /// BLS12_G1ADD (0x0b): the sum of two G1 points (no subgroup check).
    G1Add,
    /// BLS12_G1MSM (0x0c): `sum_i [k_i] P_i` over G1 (subgroup-checked points).
    G1Msm,
    /// BLS12_G2ADD (0x0d): the sum of two G2 points (no subgroup check).
    G2Add,
    /// BLS12_G2MSM (0x0e): `sum_i [k_i] Q_i` over G2 (subgroup-checked points).
    G2Msm,
    /// BLS12_PAIRING_CHECK (0x0f): whether `prod_i e(P_i, Q_i) == 1` (subgroup-checked
    /// points).
    PairingCheck,
    /// BLS12_MAP_FP_TO_G1 (0x10): an Fp element to a G1 point.
    MapFpToG1,
    /// BLS12_MAP_FP2_TO_G2 (0x11): an Fp2 element to a G2 point.
    MapFp2ToG2,
}

/// The input lengths a precompile accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputLength {
    /// Exactly this many bytes.
    Exactly(usize),
    /// A positive multiple of this many bytes (one pair each; empty inputs are errors).
    PositiveMultipleOf(usize),
}

impl InputLength {
    /// Whether an input of `len` bytes has an accepted length.
    pub fn accepts(self, len: usize) -> bool {
        match self {
            InputLength::Exactly(n) => len == n,
            InputLength::PositiveMultipleOf(n) => len != 0 && len.is_multiple_of(n),
        }
    }
}

impl fmt::Display for InputLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputLength::Exactly(n) => write!(f, "exactly {n} bytes"),
            InputLength::PositiveMultipleOf(n) => write!(f, "a positive multiple of {n} bytes"),
        }
    }
}

impl Precompile {
    /// All seven, in address order.
    pub const ALL: [Precompile; 7] = [
        Precompile::G1Add,
        Precompile::G1Msm,
        Precompile::G2Add,
        Precompile::G2Msm,
        Precompile::PairingCheck,
        Precompile::MapFpToG1,
        Precompile::MapFp2ToG2,
    ];

    /// The precompile at an address given by its last byte (`0x0b..=0x11`); `None` for any
    /// other.
    pub fn from_address(address: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.address() == address)
    }

    /// The precompile at a 20-byte address (`0x00..000b` to `0x00..0011`); `None` for any
    /// other.
    pub fn from_address_bytes(address: &[u8; 20]) -> Option<Self> {
        match address.split_last() {
            Some((&last, rest)) if rest.iter().all(|&b| b == 0) => Self::from_address(last),
            _ => None,
        }
    }

    /// The last byte of its address.
    pub const fn address(self) -> u8 {
        match self {
            Precompile::G1Add => 0x0b,
            Precompile::G1Msm => 0x0c,
            Precompile::G2Add => 0x0d,
            Precompile::G2Msm => 0x0e,
            Precompile::PairingCheck => 0x0f,
            Precompile::MapFpToG1 => 0x10,
            Precompile::MapFp2ToG2 => 0x11,
        }
    }

    /// Its 20-byte address.
    pub const fn address_bytes(self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[19] = self.address();
        out
    }

    /// The EIP's name, e.g. `BLS12_G1ADD`.
    pub const fn name(self) -> &'static str {
        match self {
            Precompile::G1Add => "BLS12_G1ADD",
            Precompile::G1Msm => "BLS12_G1MSM",
            Precompile::G2Add => "BLS12_G2ADD",
            Precompile::G2Msm => "BLS12_G2MSM",
            Precompile::PairingCheck => "BLS12_PAIRING_CHECK",
            Precompile::MapFpToG1 => "BLS12_MAP_FP_TO_G1",
            Precompile::MapFp2ToG2 => "BLS12_MAP_FP2_TO_G2",
        }
    }

    /// The input lengths it accepts.
    pub const fn input_length(self) -> InputLength {
        match self {
            Precompile::G1Add => InputLength::Exactly(2 * G1_EIP2537_BYTES),
            Precompile::G1Msm => InputLength::PositiveMultipleOf(G1_MSM_PAIR_BYTES),
            Precompile::G2Add => InputLength::Exactly(2 * G2_EIP2537_BYTES),
            Precompile::G2Msm => InputLength::PositiveMultipleOf(G2_MSM_PAIR_BYTES),
            Precompile::PairingCheck => InputLength::PositiveMultipleOf(PAIRING_PAIR_BYTES),
            Precompile::MapFpToG1 => InputLength::Exactly(FP_BYTES),
            Precompile::MapFp2ToG2 => InputLength::Exactly(FP2_BYTES),
        }
    }

    /// The length of its output on success.
    pub const fn output_len(self) -> usize {
        match self {
            Precompile::G1Add | Precompile::G1Msm | Precompile::MapFpToG1 => G1_EIP2537_BYTES,
            Precompile::G2Add | Precompile::G2Msm | Precompile::MapFp2ToG2 => G2_EIP2537_BYTES,
            Precompile::PairingCheck => PAIRING_OUTPUT_BYTES,
        }
    }

    /// [`crate::call`] of this precompile.
    ///
    /// # Errors
    /// As [`crate::call`].
    pub fn call(self, input: &[u8]) -> Result<Vec<u8>, crate::PrecompileError> {
        crate::call(self, input)
    }

    /// [`crate::gas()`] of this precompile.
    ///
    /// # Errors
    /// As [`crate::gas()`].
    pub fn gas(self, input_len: usize) -> Result<u64, crate::PrecompileError> {
        crate::gas(self, input_len)
    }
}

impl fmt::Display for Precompile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
