//! The pairing check `prod_i e(P_i, Q_i) == 1` (EIP-2537's PAIRING_CHECK): one Miller loop
//! per pair (blst's `blst_miller_loop_n`, which shares the Fp12 squarings of a run of
//! pairs), the loops' product, then ONE final exponentiation. Large inputs split the pairs
//! into runs that loop in parallel on rayon's pool.

use rayon::prelude::*;

use crate::{ffi, G1Affine, G2Affine};

/// At least this many pairs per rayon task: a Miller loop costs about as much as a
/// third of the final exponentiation, and a run shares its Fp12 squarings, so fewer pairs
/// than this are not worth a task of their own.
const MIN_PAIRS_PER_TASK: usize = 2;

/// Whether `prod_i e(P_i, Q_i)` is 1 in GT, for `pairs` of `(P_i, Q_i)`; true for no pairs.
///
/// A pair with a point at infinity contributes `e = 1` (it is skipped). The Miller loops
/// run on rayon's threads when there are several pairs; their product takes one final
/// exponentiation.
///
/// The points must be in the prime-order subgroups for this to be the pairing (the
/// reduced Tate pairing is only bilinear and non-degenerate there): EIP-2537 checks every
/// input point's subgroup before pairing, and so should other callers
/// ([`G1Affine::is_in_subgroup`], [`G2Affine::is_in_subgroup`], or decoding with
/// [`crate::SubgroupCheck::Yes`]). Points outside the subgroups give a well-defined but
/// meaningless answer, never undefined behaviour.
///
/// ```
/// use curve_bls12::{pairing_check, G1Affine, G2Affine};
///
/// // e(P, Q) * e(-P, Q) = e(P, Q) * e(P, Q)^-1 = 1.
/// let (p, q) = (G1Affine::generator(), G2Affine::generator());
/// assert!(pairing_check(&[(p, q), (p.neg(), q)]));
/// // e(P, Q) alone is not 1 (non-degeneracy).
/// assert!(!pairing_check(&[(p, q)]));
/// // Pairs with the point at infinity contribute 1; no pairs at all is the empty product.
/// assert!(pairing_check(&[(G1Affine::identity(), q), (p, G2Affine::identity())]));
/// assert!(pairing_check(&[]));
/// ```
pub fn pairing_check(pairs: &[(G1Affine, G2Affine)]) -> bool {
    let (ps, qs): (Vec<blst::blst_p1_affine>, Vec<blst::blst_p2_affine>) = pairs
        .iter()
        .filter(|(p, q)| !p.is_identity() && !q.is_identity())
        .map(|(p, q)| (p.0, q.0))
        .unzip();
    if ps.is_empty() {
        return true;
    }
    let threads = rayon::current_num_threads();
    let per_task = ps.len().div_ceil(threads).max(MIN_PAIRS_PER_TASK);
    let f = if threads < 2 || ps.len() <= per_task {
        ffi::miller_loop_n(&qs, &ps)
    } else {
        ps.par_chunks(per_task)
            .zip(qs.par_chunks(per_task))
            .map(|(ps, qs)| ffi::miller_loop_n(qs, ps))
            .reduce(ffi::fp12_one, |a, b| ffi::fp12_mul(&a, &b))
    };
    ffi::final_exp_is_one(&f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{G1Projective, G2Projective, Scalar};

    fn scalar(seed: u64) -> Scalar {
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 8 * 8)) as u8 ^ i as u8;
        }
        bytes[31] &= 0x3f; // below 2^254 < r
        Scalar::from_le_bytes(bytes)
    }

    /// e(aP, Q) e(-P, aQ) == 1 and e(aP, bQ) e(-abP, Q) == 1, with a, b below r; one
    /// factor changed breaks it.
    #[test]
    fn bilinearity() {
        let (g1, g2) = (G1Projective::generator(), G2Projective::generator());
        for seed in 1..4u64 {
            let (a, b) = (scalar(seed), scalar(seed + 100));
            let p = g1.mul(&scalar(seed + 200)).to_affine();
            let q = g2.mul(&scalar(seed + 300)).to_affine();
            let ap = p.to_projective().mul(&a).to_affine();
            let aq = q.to_projective().mul(&a).to_affine();
            assert!(pairing_check(&[(ap, q), (p.neg(), aq)]), "seed {seed}");
            let bq = q.to_projective().mul(&b).to_affine();
            let abp = ap.to_projective().mul(&b).to_affine();
            assert!(pairing_check(&[(ap, bq), (abp.neg(), q)]), "seed {seed}");
            assert!(!pairing_check(&[(ap, bq), (abp, q)]), "seed {seed}");
            assert!(!pairing_check(&[(ap, q), (p.neg(), bq)]), "seed {seed}");
        }
    }

    /// Identity pairs contribute 1 wherever they stand, and do not hide the other pairs.
    #[test]
    fn identity_pairs() {
        let (p, q) = (G1Affine::generator(), G2Affine::generator());
        let (o1, o2) = (G1Affine::identity(), G2Affine::identity());
        assert!(pairing_check(&[]));
        assert!(pairing_check(&[(o1, o2)]));
        assert!(pairing_check(&[(o1, q), (p, o2), (o1, o2)]));
        assert!(!pairing_check(&[(o1, q), (p, q), (p, o2)]));
        assert!(pairing_check(&[(o1, q), (p, q), (p, o2), (p.neg(), q)]));
    }

    /// The parallel split (many pairs, any thread count) agrees with one sequential loop:
    /// n pairs that cancel in twos are 1; one extra factor is not.
    #[test]
    fn many_pairs_any_thread_count() {
        let (g1, g2) = (G1Projective::generator(), G2Projective::generator());
        let mut pairs = Vec::new();
        for i in 0..19u64 {
            let p = g1.mul(&Scalar::from_u64(i + 2)).to_affine();
            let q = g2.mul(&Scalar::from_u64(3 * i + 5)).to_affine();
            pairs.push((p, q));
            pairs.push((p.neg(), q));
        }
        let mut unbalanced = pairs.clone();
        unbalanced.push((G1Affine::generator(), G2Affine::generator()));
        for threads in [1usize, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                assert!(pairing_check(&pairs), "{threads} threads");
                assert!(!pairing_check(&unbalanced), "{threads} threads");
            });
        }
    }
}
