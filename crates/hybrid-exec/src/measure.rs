//! Inputs of the measuring subcommands (demo, calibrate, scan, bench, soak), made one way
//! so that every report measures the same kind of data.

use field_bls12::Fq;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;

/// Elements per generator: each chunk has its own seeded generator, so chunks fill in
/// parallel (bench's 16Mi-element inputs take ~0.4 s each on one core) and the values
/// depend only on `n` and the seed, not on the number of threads.
const CHUNK: usize = 1 << 16;

/// `n` uniformly random elements from `seed`.
pub(crate) fn random_fq(n: usize, seed: u64) -> Vec<Fq> {
    let mut out = vec![Fq::ZERO; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut rng =
                StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ c as u64);
            chunk.iter_mut().for_each(|x| *x = Fq::random(&mut rng));
        });
    out
}

/// Two different random vectors of `n` elements: the inputs of a two-input job.
pub(crate) fn random_pair(n: usize, seed: u64) -> [Vec<Fq>; 2] {
    [random_fq(n, 2 * seed), random_fq(n, 2 * seed + 1)]
}
