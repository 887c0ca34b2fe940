//! Multi-scalar multiplication `sum_i [k_i] P_i` on the CPU: blst's Pippenger, split into
//! tiles (a range of points x a window of scalar bits, `blst_p1s_tile_pippenger`) that run
//! in parallel on rayon's pool and are combined row by row, the split the `blst` crate's
//! own multi-threaded `mult` uses; small inputs run `blst_p1s_mult_pippenger` whole.
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

/// Below this many terms (or on one thread) blst's Pippenger runs whole on the calling
/// thread: the `blst` crate's own threshold for its tiled split.
const MIN_TILED_TERMS: usize = 32;

/// Bits of the scalars.
const NBITS: usize = 256;

fn num_bits(l: usize) -> usize {
    usize::BITS as usize - l.leading_zeros() as usize
}

/// Pippenger's window for `n` points, as blst chooses it.
fn window_size(n: usize) -> usize {
    match num_bits(n) {
        w if w > 13 => w - 4,
        w if w > 5 => w - 3,
        _ => 2,
    }
}

/// How to tile an MSM of `NBITS`-bit scalars with Pippenger window `window` over `ncpus`
/// threads: (point ranges, bit rows, bits per row). The `blst` crate's `breakdown`, so
/// that the tiles and their cost are the ones its multi-threaded `mult` measures.
fn breakdown(window: usize, ncpus: usize) -> (usize, usize, usize) {
    let nbits = NBITS;
    let mut nx = 1usize;
    let mut wnd = window;
    if nbits > window * ncpus {
        wnd = num_bits(ncpus / 4);
        if (window + wnd) > 18 {
            wnd = window - wnd;
        } else {
            wnd = (nbits / window).div_ceil(ncpus);
            if (nbits / (window + 1)).div_ceil(ncpus) < wnd {
                wnd = window + 1;
            } else {
                wnd = window;
            }
        }
    } else if window > 3 {
        nx = 2;
        wnd = window - 2;
        while wnd > 1 && (nbits / wnd + 1) * nx < ncpus {
            nx += 1;
            wnd = window - num_bits(3 * nx / 2);
        }
        nx -= 1;
        wnd = window - num_bits(3 * nx / 2);
    }
    let ny = nbits / wnd + 1;
    let wnd = nbits / ny + 1;
    (nx, ny, wnd)
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
            let n = bases.len();
            let ncpus = rayon::current_num_threads();
            if n < MIN_TILED_TERMS.max(ncpus) || ncpus < 2 {
                return Ok($Projective(crate::ffi::$ffi::pippenger(&bases, &ks)));
            }
            let bytes: Vec<u8> = ks.iter().flat_map(Scalar::to_le_bytes).collect();
            let (nx, ny, window) = breakdown(window_size(n), ncpus);
            let dx = n / nx;
            // Tile (x, row): points x*dx.. (the last range to the end), bits row*window..
            let tiles: Vec<$Projective> = (0..nx * ny)
                .into_par_iter()
                .map(|t| {
                    let (x, row) = (t % nx, t / nx);
                    let end = if x + 1 == nx { n } else { (x + 1) * dx };
                    let range = x * dx..end;
                    $Projective(crate::ffi::$ffi::tile_pippenger(
                        &bases[range.clone()],
                        &bytes[range.start * 32..range.end * 32],
                        row * window,
                        window,
                    ))
                })
                .collect();
            // From the top row down: shift what is summed so far by a window, add the row.
            let mut sum = $Projective::identity();
            for row in (0..ny).rev() {
                if row + 1 < ny {
                    for _ in 0..window {
                        sum = sum.double();
                    }
                }
                for tile in &tiles[row * nx..(row + 1) * nx] {
                    sum = sum.add(tile);
                }
            }
            Ok(sum)
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

    /// The tiled split gives the sum of single multiplications whatever the thread count
    /// (which decides the tiles: one range of points and many rows on few threads, several
    /// ranges on many), for G1 and G2, at sizes around the threshold and with the edge
    /// scalars 0, 1, 2^255 - 1 and 2^256 - 1 among random ones.
    #[test]
    fn tiled_msm_matches_single_multiplications_for_every_thread_count() {
        use rand::{RngCore as _, SeedableRng as _};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let scalars = |n: usize, rng: &mut rand::rngs::StdRng| -> Vec<Scalar> {
            (0..n)
                .map(|i| match i % 7 {
                    0 => Scalar::from_u64(0),
                    1 => Scalar::from_u64(1),
                    2 => Scalar::from_le_bytes([0xff; 32]),
                    3 => {
                        let mut b = [0xff; 32];
                        b[31] = 0x7f;
                        Scalar::from_le_bytes(b)
                    }
                    _ => {
                        let mut b = [0u8; 32];
                        rng.fill_bytes(&mut b);
                        Scalar::from_le_bytes(b)
                    }
                })
                .collect()
        };
        let (g1, g2) = (G1Projective::generator(), G2Projective::generator());
        for n in [31usize, 32, 33, 70, 300] {
            let k = scalars(n, &mut rng);
            let p1: Vec<G1Affine> = (1..=n as u64)
                .map(|i| g1.mul(&Scalar::from_u64(i * 1_000_003)).to_affine())
                .collect();
            let p2: Vec<G2Affine> = (1..=n as u64)
                .map(|i| g2.mul(&Scalar::from_u64(i * 999_983)).to_affine())
                .collect();
            let naive1 = p1
                .iter()
                .zip(&k)
                .fold(G1Projective::identity(), |a, (p, k)| {
                    a.add(&p.to_projective().mul(k))
                });
            let naive2 = p2
                .iter()
                .zip(&k)
                .fold(G2Projective::identity(), |a, (p, k)| {
                    a.add(&p.to_projective().mul(k))
                });
            for threads in [1usize, 2, 5, 16, 64] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let (m1, m2) =
                    pool.install(|| (msm_g1(&p1, &k).unwrap(), msm_g2(&p2, &k).unwrap()));
                assert_eq!(m1, naive1, "G1, n = {n}, {threads} threads");
                assert_eq!(m2, naive2, "G2, n = {n}, {threads} threads");
            }
        }
    }

    /// The tiling covers every bit of the scalars with rows of equal width (the top one
    /// possibly starting at the end, then empty) and at least one point range, for every
    /// size and thread count the crate may meet.
    #[test]
    fn tiles_cover_all_bits() {
        for ncpus in [2usize, 3, 4, 8, 16, 32, 64, 128] {
            for log in 5..=24 {
                let (nx, ny, window) = breakdown(window_size(1 << log), ncpus);
                assert!(nx >= 1 && (1..=24).contains(&window), "{ncpus} {log}");
                assert!(
                    ny * window >= NBITS,
                    "{ncpus} cpus, 2^{log}: {ny} x {window}"
                );
                assert!(
                    (ny - 1) * window <= NBITS,
                    "{ncpus} cpus, 2^{log}: rows to spare"
                );
            }
        }
    }
}
