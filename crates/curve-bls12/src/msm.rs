//! Multi-scalar multiplication `sum_i [k_i] P_i` on the CPU: blst's multi-threaded
//! Pippenger (its own thread pool) for 32 points or more, a parallel sum of single
//! multiplications below that.
//!
//! The scalars are full 256-bit integers (`nbits = 256`), not reduced mod r.
//!
//! Pippenger's bucket method is generic, right for every point on the curve. For fewer than
//! 32 points blst's wrapper would instead call its single multiplication, whose GLV path
//! is only right for points of the prime-order subgroup, so that case is done here with
//! [`crate::G1Projective::mul`], right for every point. Points at infinity and zero scalars
//! are dropped before blst sees them: they add nothing, and it spares blst's bucket code an
//! edge case.

use blst::MultiPoint;

use crate::error::check_lengths;
use crate::{CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar, SCALAR_BYTES};

/// From this many (non-trivial) terms on, blst's Pippenger; below, single multiplications.
const PIPPENGER_MIN_POINTS: usize = 32;

macro_rules! msm_impl {
    ($name:ident, $Affine:ident, $Projective:ident, $BlstAffine:ident) => {
        /// `sum_i [scalars[i]] points[i]`; the identity for no points.
        ///
        /// # Errors
        /// [`CurveError::LengthMismatch`] when the slices' lengths differ.
        pub fn $name(points: &[$Affine], scalars: &[Scalar]) -> Result<$Projective, CurveError> {
            use rayon::prelude::*;
            check_lengths(stringify!($name), points.len(), scalars.len())?;
            let terms: Vec<(&$Affine, &Scalar)> = points
                .iter()
                .zip(scalars)
                .filter(|(p, k)| !p.is_identity() && !k.is_zero())
                .collect();
            if terms.len() < PIPPENGER_MIN_POINTS {
                return Ok(terms
                    .par_iter()
                    .map(|(p, k)| p.to_projective().mul(k))
                    .reduce($Projective::identity, |a, b| a.add(&b)));
            }
            let bases: Vec<blst::$BlstAffine> = terms.iter().map(|(p, _)| p.0).collect();
            let mut scalar_bytes = Vec::with_capacity(terms.len() * SCALAR_BYTES);
            for (_, k) in &terms {
                scalar_bytes.extend_from_slice(&k.to_le_bytes());
            }
            // blst panics only when `scalar_bytes` is shorter than 32 bytes per point, and
            // `bases` is not empty here.
            let sum = bases.mult(&scalar_bytes, 8 * SCALAR_BYTES);
            Ok($Projective(sum))
        }
    };
}

msm_impl!(msm_g1, G1Affine, G1Projective, blst_p1_affine);
msm_impl!(msm_g2, G2Affine, G2Projective, blst_p2_affine);

#[cfg(test)]
mod tests {
    use super::*;

    /// blst's Pippenger, called directly with infinity and with P beside -P among 40 bases,
    /// agrees with the sum of single multiplications: if a blst upgrade broke that, the
    /// filter above would hide it from `msm_g1`'s tests but not from this one.
    #[test]
    fn blst_pippenger_handles_infinity_and_opposite_points() {
        let g = G1Projective::generator();
        let mut points: Vec<G1Affine> = (1..=40u64)
            .map(|i| g.mul(&Scalar::from_u64(i * 7919)).to_affine())
            .collect();
        points[3] = G1Affine::identity();
        points[9] = points[8].neg();
        let scalars: Vec<Scalar> = (0..40u64)
            .map(|i| Scalar::from_u64(u64::MAX - i * 0x1_0000_0001))
            .collect();
        let bases: Vec<blst::blst_p1_affine> = points.iter().map(|p| p.0).collect();
        let bytes: Vec<u8> = scalars.iter().flat_map(Scalar::to_le_bytes).collect();
        let direct = G1Projective(bases.mult(&bytes, 8 * SCALAR_BYTES));
        let naive = points
            .iter()
            .zip(&scalars)
            .fold(G1Projective::identity(), |acc, (p, k)| {
                acc.add(&p.to_projective().mul(k))
            });
        assert_eq!(direct, naive);
    }
}
