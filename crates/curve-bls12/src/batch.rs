//! Batch operations over slices on all cores (rayon), one module per group with the same
//! functions: [`g1`] and [`g2`]. Element-wise operations on two slices return
//! [`crate::CurveError::LengthMismatch`] when the lengths differ; checks name the index of the
//! first failing point.

/// Points per rayon task for the cheap operations (an addition is ~1 µs): fewer tasks than
/// points keep the scheduling overhead small.
const MIN_PER_TASK: usize = 64;

/// Points per shared inversion in [`g1::to_affine`] / [`g2::to_affine`]: a batch inversion
/// costs one inversion plus 3 multiplications per point, so larger chunks gain little.
const AFFINE_CHUNK: usize = 1024;

macro_rules! batch_ops {
    ($module:ident, $group:literal, $Affine:ident, $Projective:ident, $Coord:ident, $ffi:ident, $BlstAffine:ident, $BlstProjective:ident) => {
        #[doc = concat!("Batch operations on ", $group, " points.")]
        pub mod $module {
            use field_bls12::$Coord;
            use rayon::prelude::*;

            use super::{AFFINE_CHUNK, MIN_PER_TASK};
            use crate::error::check_lengths;
            use crate::{$Affine, $Projective, CurveError, Scalar};

            /// `a[i] + b[i]`.
            ///
            /// # Errors
            /// [`CurveError::LengthMismatch`].
            pub fn add(
                a: &[$Projective],
                b: &[$Projective],
            ) -> Result<Vec<$Projective>, CurveError> {
                check_lengths("add", a.len(), b.len())?;
                Ok(a.par_iter()
                    .zip(b)
                    .with_min_len(MIN_PER_TASK)
                    .map(|(x, y)| x.add(y))
                    .collect())
            }

            /// `a[i] + b[i]` with affine `b` (mixed addition).
            ///
            /// # Errors
            /// [`CurveError::LengthMismatch`].
            pub fn add_affine(
                a: &[$Projective],
                b: &[$Affine],
            ) -> Result<Vec<$Projective>, CurveError> {
                check_lengths("add_affine", a.len(), b.len())?;
                Ok(a.par_iter()
                    .zip(b)
                    .with_min_len(MIN_PER_TASK)
                    .map(|(x, y)| x.add_affine(y))
                    .collect())
            }

            /// `2 a[i]`.
            pub fn double(a: &[$Projective]) -> Vec<$Projective> {
                a.par_iter()
                    .with_min_len(MIN_PER_TASK)
                    .map($Projective::double)
                    .collect()
            }

            /// `-a[i]`.
            pub fn neg(a: &[$Projective]) -> Vec<$Projective> {
                a.par_iter()
                    .with_min_len(MIN_PER_TASK)
                    .map($Projective::neg)
                    .collect()
            }

            /// `[k[i]] a[i]` for independent pairs (full 256-bit scalars, any curve point).
            ///
            /// # Errors
            /// [`CurveError::LengthMismatch`].
            pub fn mul(a: &[$Projective], k: &[Scalar]) -> Result<Vec<$Projective>, CurveError> {
                check_lengths("mul", a.len(), k.len())?;
                Ok(a.par_iter().zip(k).map(|(x, k)| x.mul(k)).collect())
            }

            /// The affine forms, one shared field inversion per chunk of points.
            pub fn to_affine(a: &[$Projective]) -> Vec<$Affine> {
                let mut out = vec![$Affine::identity(); a.len()];
                out.par_chunks_mut(AFFINE_CHUNK)
                    .zip(a.par_chunks(AFFINE_CHUNK))
                    .for_each(|(out, a)| {
                        let raw: Vec<blst::$BlstProjective> = a.iter().map(|p| p.0).collect();
                        let mut affine = vec![blst::$BlstAffine::default(); raw.len()];
                        crate::ffi::$ffi::batch_to_affine(&raw, &mut affine);
                        for (o, p) in out.iter_mut().zip(affine) {
                            *o = $Affine(p);
                        }
                    });
                out
            }

            /// Affine points from coordinates, each checked against the curve equation.
            ///
            /// # Errors
            /// [`CurveError::NotOnCurve`] naming the first index whose coordinates are not
            /// on the curve; nothing is returned then.
            pub fn from_xy(coordinates: &[($Coord, $Coord)]) -> Result<Vec<$Affine>, CurveError> {
                let points: Vec<Option<$Affine>> = coordinates
                    .par_iter()
                    .with_min_len(MIN_PER_TASK)
                    .map(|&(x, y)| $Affine::from_xy(x, y).ok())
                    .collect();
                match points.iter().position(Option::is_none) {
                    Some(i) => Err(CurveError::NotOnCurve { index: Some(i) }),
                    None => Ok(points.into_iter().flatten().collect()),
                }
            }

            /// Checks that every point is in the prime-order subgroup.
            ///
            /// # Errors
            /// [`CurveError::NotInSubgroup`] naming the first index outside it.
            pub fn check_subgroup(points: &[$Affine]) -> Result<(), CurveError> {
                match points.par_iter().position_first(|p| !p.is_in_subgroup()) {
                    Some(i) => Err(CurveError::NotInSubgroup { index: Some(i) }),
                    None => Ok(()),
                }
            }
        }
    };
}

batch_ops!(
    g1,
    "G1",
    G1Affine,
    G1Projective,
    Fq,
    p1,
    blst_p1_affine,
    blst_p1
);
batch_ops!(
    g2,
    "G2",
    G2Affine,
    G2Projective,
    Fq2,
    p2,
    blst_p2_affine,
    blst_p2
);
