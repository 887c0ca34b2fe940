//! The EIP-2537 precompiles through the router: single calls, and blocks of calls whose
//! MSMs run together.

use curve_bls12::{G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use eip2537::{Precompile, PrecompileError};
use rayon::prelude::*;

use crate::{Policy, Router};

/// One call of a block, checked and decoded: its output (or failure) already, or the MSM
/// it still needs.
enum Decoded {
    Done(Result<Vec<u8>, PrecompileError>),
    G1Msm(Vec<G1Affine>, Vec<Scalar>),
    G2Msm(Vec<G2Affine>, Vec<Scalar>),
}

/// One call of a block after the MSM batches: its output (or failure), or its MSM's sum
/// (`None` for a point outside the subgroup or a failed batch: the call then goes the
/// single-call way).
enum Summed {
    Done(Result<Vec<u8>, PrecompileError>),
    G1(Option<G1Projective>),
    G2(Option<G2Projective>),
}

impl Router {
    /// Runs one EIP-2537 precompile call: exactly [`eip2537::call`]'s output or error, with
    /// G1MSM and G2MSM routed ([`Router::msm_g1`], [`Router::msm_g2`]: CPU, GPU or both,
    /// by the cost model) and the others on the CPU. Price calls with [`eip2537::gas()`].
    ///
    /// ```
    /// use eip2537::Precompile;
    /// use hybrid_exec::{Router, RouterConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let router = Router::new(&RouterConfig::default());
    /// let g = curve_bls12::G1Affine::generator().to_eip2537();
    /// let mut input = g.to_vec();
    /// input.extend_from_slice(&[0u8; 31]);
    /// input.push(2); // [2]G
    /// assert_eq!(
    ///     router.precompile(Precompile::G1Msm, &input)?,
    ///     eip2537::call(Precompile::G1Msm, &input)?
    /// );
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The [`PrecompileError`] that [`eip2537::call`] returns for the same input.
    pub fn precompile(
        &self,
        precompile: Precompile,
        input: &[u8],
    ) -> Result<Vec<u8>, PrecompileError> {
        match precompile {
            Precompile::G1Msm => {
                let (points, scalars) = eip2537::decode_g1_msm(input)?;
                match self.msm_g1(&points, &scalars) {
                    Ok(sum) => Ok(eip2537::encode_g1(&sum)),
                    // Not reached (the decoder pairs every point with a scalar); the
                    // CPU path still answers.
                    Err(_) => eip2537::call(precompile, input),
                }
            }
            Precompile::G2Msm => {
                let (points, scalars) = eip2537::decode_g2_msm(input)?;
                match self.msm_g2(&points, &scalars) {
                    Ok(sum) => Ok(eip2537::encode_g2(&sum)),
                    Err(_) => eip2537::call(precompile, input),
                }
            }
            _ => eip2537::call(precompile, input),
        }
    }

    /// Runs a block's precompile calls and returns one result per call, in order, each
    /// exactly what [`eip2537::call`] returns for that call alone.
    ///
    /// Every input is checked and decoded first, on all cores; calls that fail do so
    /// alone. Then the block's G1MSMs run as one batch ([`Router::msm_batch_g1`]: one GPU
    /// submission, or side by side on the CPU, by the cost model; a GPU failure
    /// recomputes the batch on the CPU), its G2MSMs likewise, and the other calls (adds,
    /// pairings, maps) on the CPU cores. The subgroup checks of all of a batch's points
    /// are one job too; wherever the batch goes to the GPU they go with it, and run on the
    /// device while the host finishes the sums.
    ///
    /// ```
    /// use eip2537::Precompile;
    /// use hybrid_exec::{Router, RouterConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let router = Router::new(&RouterConfig::default());
    /// let g = curve_bls12::G1Affine::generator().to_eip2537();
    /// let add = [g.as_slice(), g.as_slice()].concat();
    /// let msm = [g.as_slice(), &[7u8; 32]].concat();
    /// let calls = [
    ///     (Precompile::G1Add, &add[..]),
    ///     (Precompile::G1Msm, &msm[..]),
    ///     (Precompile::G1Msm, &msm[..5]), // too short: fails alone
    /// ];
    /// let results = router.execute_block(&calls);
    /// for ((precompile, input), result) in calls.iter().zip(&results) {
    ///     assert_eq!(result, &eip2537::call(*precompile, input));
    /// }
    /// assert!(results[2].is_err());
    /// # Ok(()) }
    /// ```
    pub fn execute_block(
        &self,
        calls: &[(Precompile, &[u8])],
    ) -> Vec<Result<Vec<u8>, PrecompileError>> {
        self.execute_block_with(self.policy, calls)
    }

    /// [`Router::execute_block`] with the block's MSM batches under `policy` (for
    /// example [`Policy::Gpu`] to teach [`Policy::Auto`] what a GPU batch costs).
    pub fn execute_block_with(
        &self,
        policy: Policy,
        calls: &[(Precompile, &[u8])],
    ) -> Vec<Result<Vec<u8>, PrecompileError>> {
        // Decoded without subgroup checks, which run below for all MSM calls together; a
        // call whose decoding fails, or with a point outside the subgroup, takes the
        // single-call path, the only one that knows which of its errors comes first.
        let start = std::time::Instant::now();
        let decoded: Vec<Decoded> = calls
            .par_iter()
            .map(|&(precompile, input)| match precompile {
                Precompile::G1Msm => match eip2537::decode_g1_msm_unchecked(input) {
                    Ok((p, k)) => Decoded::G1Msm(p, k),
                    Err(_) => Decoded::Done(eip2537::call(precompile, input)),
                },
                Precompile::G2Msm => match eip2537::decode_g2_msm_unchecked(input) {
                    Ok((p, k)) => Decoded::G2Msm(p, k),
                    Err(_) => Decoded::Done(eip2537::call(precompile, input)),
                },
                _ => Decoded::Done(eip2537::call(precompile, input)),
            })
            .collect();
        let g1: Vec<(&[G1Affine], &[Scalar])> = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::G1Msm(p, k) => Some((&p[..], &k[..])),
                _ => None,
            })
            .collect();
        let g2: Vec<(&[G2Affine], &[Scalar])> = decoded
            .iter()
            .filter_map(|d| match d {
                Decoded::G2Msm(p, k) => Some((&p[..], &k[..])),
                _ => None,
            })
            .collect();
        let decoded_at = start.elapsed();
        let mut g1_sums = self
            .checked_msm_sums::<crate::router::G1>(policy, &g1)
            .into_iter();
        let mut g2_sums = self
            .checked_msm_sums::<crate::router::G2>(policy, &g2)
            .into_iter();
        let summed_at = start.elapsed();
        let msm_calls = g1.len() + g2.len();
        // Each MSM call takes its sum in order; the encodings (an inversion each) then run
        // on all cores.
        let sums: Vec<Summed> = decoded
            .into_iter()
            .map(|d| match d {
                Decoded::Done(result) => Summed::Done(result),
                Decoded::G1Msm(..) => Summed::G1(g1_sums.next().flatten()),
                Decoded::G2Msm(..) => Summed::G2(g2_sums.next().flatten()),
            })
            .collect();
        let results = sums
            .into_par_iter()
            .zip(calls)
            .map(|(s, &(precompile, input))| match s {
                Summed::Done(result) => result,
                Summed::G1(Some(sum)) => Ok(eip2537::encode_g1(&sum)),
                Summed::G2(Some(sum)) => Ok(eip2537::encode_g2(&sum)),
                Summed::G1(None) | Summed::G2(None) => eip2537::call(precompile, input),
            })
            .collect();
        // Where a block's time goes, for tuning (RUST_LOG=hybrid_exec=debug).
        tracing::debug!(
            calls = calls.len(),
            msm_calls,
            decode_ms = decoded_at.as_secs_f64() * 1e3,
            checks_and_msms_ms = (summed_at - decoded_at).as_secs_f64() * 1e3,
            total_ms = start.elapsed().as_secs_f64() * 1e3,
            "EIP-2537 block"
        );
        results
    }
}
