//! Inputs of the measuring subcommands (demo, calibrate, scan, bench, soak, verify's curve
//! checks), made one way so that every report measures the same kind of data.

use curve_bls12::Scalar;
use field_bls12::Fq;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;

use crate::curve::Group;

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

/// Generator multiples per chunk of [`random_points`]: each chunk costs two scalar
/// multiplications, the rest are additions.
const POINT_CHUNK: usize = 4096;

/// `n` points of the group from `seed`, made on all cores: each chunk of
/// [`POINT_CHUNK`] starts at a random multiple `[s]G` of the generator and steps by another,
/// `[s + i t]G`. Points of the prime-order subgroup, none the identity (unless a seed hits
/// a multiple of r), all different within a chunk.
pub(crate) fn random_points<C: Group>(n: usize, seed: u64) -> Vec<C::Affine> {
    let g = C::generator();
    let projective: Vec<C::Projective> = (0..n.div_ceil(POINT_CHUNK))
        .into_par_iter()
        .flat_map_iter(|c| {
            let mut rng =
                StdRng::seed_from_u64(seed.wrapping_mul(0xa076_1d64_78bd_642f) ^ c as u64);
            let mut p = C::mul(&g, &random_scalar(&mut rng));
            let step = C::mul(&g, &random_scalar(&mut rng));
            (0..POINT_CHUNK.min(n - c * POINT_CHUNK)).map(move |_| {
                let q = p;
                p = C::add(&p, &step);
                q
            })
        })
        .collect();
    C::to_affine(&projective)
}

/// A uniformly random 256-bit scalar (not reduced mod r).
pub(crate) fn random_scalar(rng: &mut impl RngCore) -> Scalar {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    Scalar::from_le_bytes(b)
}

/// `n` uniformly random 256-bit scalars from `seed`, chunks filled in parallel as in
/// [`random_fq`].
pub(crate) fn random_scalars(n: usize, seed: u64) -> Vec<Scalar> {
    let mut out = vec![Scalar::ZERO; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut rng =
                StdRng::seed_from_u64(seed.wrapping_mul(0xe703_7ed1_a0b4_28db) ^ c as u64);
            chunk.iter_mut().for_each(|k| *k = random_scalar(&mut rng));
        });
    out
}
