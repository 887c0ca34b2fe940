//! Multi-scalar multiplication `sum_i [k_i] P_i` on the CPU: blst's Pippenger
//! (`blst_p1s_mult_pippenger` / `blst_p2s_mult_pippenger`) on chunks of the input in
//! parallel on rayon's pool, the chunks' sums added at the end.
//!
//! The scalars are full 256-bit integers (`nbits = 256`), not reduced mod r, and every
//! point on the curve is handled right, in the subgroup or not (EIP-2537's MSM inputs are
//! subgroup-checked, but the types here do not promise it).
//!
//! Why not the `blst` crate's own multi-threaded `MultiPoint::mult`: below
//! `max(32, its thread count)` points it sums single multiplications by
//! `blst_p1_mult`, whose GLV path is only right for points of the prime-order subgroup, and
//! that bound depends on the machine's core count; it also runs on a thread pool of its
//! own, beside rayon's. Calling blst's Pippenger directly avoids both.
//!
//! Points at infinity and zero scalars are dropped first: they add nothing.

use rayon::prelude::*;

use crate::error::check_lengths;
use crate::{CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};

/// Fewest terms per parallel chunk: below this, splitting costs more (each chunk pays its
/// own buckets and final sums) than a second core saves.
const MIN_TERMS_PER_CHUNK: usize = 512;

/// Terms per chunk for `n` terms: one chunk per rayon thread, but not below
/// [`MIN_TERMS_PER_CHUNK`].
fn chunk_len(n: usize) -> usize {
    n.div_ceil(rayon::current_num_threads().max(1))
        .max(MIN_TERMS_PER_CHUNK)
}

macro_rules! msm_impl {
    ($name:ident, $Affine:ident, $Projective:ident, $BlstAffine:ident, $ffi:ident) => {
        /// `sum_i [scalars[i]] points[i]` for full 256-bit scalars; the identity for no
        /// points.
        ///
        /// # Errors
        /// [`CurveError::LengthMismatch`] when the slices' lengths differ.
        pub fn $name(points: &[$Affine], scalars: &[Scalar]) -> Result<$Projective, CurveError> {
            check_lengths(stringify!($name), points.len(), scalars.len())?;
            let (bases, ks): (Vec<blst::$BlstAffine>, Vec<Scalar>) = points
                .iter()
                .zip(scalars)
                .filter(|(p, k)| !p.is_identity() && !k.is_zero())
                .map(|(p, k)| (p.0, *k))
                .unzip();
            let chunk = chunk_len(bases.len());
            Ok(bases
                .par_chunks(chunk)
                .zip(ks.par_chunks(chunk))
                .map(|(p, k)| $Projective(crate::ffi::$ffi::pippenger(p, k)))
                .reduce($Projective::identity, |a, b| a.add(&b)))
        }
    };
}

msm_impl!(msm_g1, G1Affine, G1Projective, blst_p1_affine, p1);
msm_impl!(msm_g2, G2Affine, G2Projective, blst_p2_affine, p2);

#[cfg(test)]
mod tests {
    use super::*;

    /// blst's Pippenger, called without the filter above, with infinity and with P beside
    /// -P among the bases, agrees with the sum of single multiplications, for each of its
    /// three methods (1 point, under 32, 32 and more).
    #[test]
    fn blst_pippenger_handles_infinity_and_opposite_points() {
        let g = G1Projective::generator();
        for n in [1usize, 5, 40] {
            let mut points: Vec<G1Affine> = (1..=n as u64)
                .map(|i| g.mul(&Scalar::from_u64(i * 7919)).to_affine())
                .collect();
            points[0] = G1Affine::identity();
            if n > 2 {
                points[2] = points[1].neg();
            }
            let scalars: Vec<Scalar> = (0..n as u64)
                .map(|i| Scalar::from_u64(u64::MAX - i * 0x1_0000_0001))
                .collect();
            let bases: Vec<blst::blst_p1_affine> = points.iter().map(|p| p.0).collect();
            let direct = G1Projective(crate::ffi::p1::pippenger(&bases, &scalars));
            let naive = points
                .iter()
                .zip(&scalars)
                .fold(G1Projective::identity(), |acc, (p, k)| {
                    acc.add(&p.to_projective().mul(k))
                });
            assert_eq!(direct, naive, "n = {n}");
        }
    }

    #[test]
    fn chunks_are_large_enough() {
        assert!(chunk_len(0) >= 1);
        assert_eq!(chunk_len(100), MIN_TERMS_PER_CHUNK);
        assert!(chunk_len(1 << 20) >= (1 << 20) / rayon::current_num_threads());
    }
}
