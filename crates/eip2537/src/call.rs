//! [`call`]: the precompiles on the CPU.

use curve_bls12::{
    map_fp2_to_g2, map_fp_to_g1, msm_g1, msm_g2, pairing_check, CurveError, G1Affine, G1Projective,
    G2Affine, G2Projective, Scalar, SubgroupCheck, G1_EIP2537_BYTES, G2_EIP2537_BYTES,
    SCALAR_BYTES,
};
use field_bls12::{Fq, Fq2, FQ_BYTES};
use rayon::prelude::*;

use crate::precompile::{FP_BYTES, PAIRING_OUTPUT_BYTES, PAIRING_PAIR_BYTES};
use crate::{Group, InputPoint, Precompile, PrecompileError};

/// Pairs per rayon task when decoding MSM and pairing inputs: a subgroup check costs tens
/// of microseconds, so a few pairs already pay for a task.
const MIN_PAIRS_PER_TASK: usize = 4;

/// Runs `precompile` on `input` on the CPU and returns its output, exactly as EIP-2537
/// specifies.
///
/// - G1ADD / G2ADD: two points (128 / 256 bytes each); each must be on its curve or be
///   the point at infinity (all zero bytes); no subgroup check. Output: their sum.
/// - G1MSM / G2MSM: `k >= 1` pairs of a point and a 32-byte big-endian scalar (any 256-bit
///   value, not reduced mod r); each point must be on the curve and in the prime-order
///   subgroup. Output: `sum_i [k_i] P_i` (one multiplication for k = 1, Pippenger above).
/// - PAIRING_CHECK: `k >= 1` pairs of a G1 and a G2 point, all on their curves and in their
///   subgroups. Output: 32 bytes, the last one 1 if `prod_i e(P_i, Q_i) == 1`, else 0.
/// - MAP_FP_TO_G1 / MAP_FP2_TO_G2: one Fp (64 bytes) / Fp2 (128 bytes: c0, c1) element.
///   Output: its image under the EIP's SSWU map, isogeny and cofactor clearing.
///
/// Every field element is 64 bytes: 16 zero bytes, then a big-endian value below p.
/// Output points are encoded the same way (all zero for infinity).
///
/// Never panics, whatever the input.
///
/// # Errors
/// [`PrecompileError::InvalidInputLength`] (checked first, before any decoding), then the
/// first problem in input order: [`PrecompileError::FieldElementTopBytes`],
/// [`PrecompileError::FieldElementNotCanonical`], [`PrecompileError::NotOnCurve`],
/// [`PrecompileError::NotInSubgroup`] (MSM and pairing inputs only).
pub fn call(precompile: Precompile, input: &[u8]) -> Result<Vec<u8>, PrecompileError> {
    check_length(precompile, input)?;
    Ok(match precompile {
        Precompile::G1Add => add::<G1>(input)?,
        Precompile::G2Add => add::<G2>(input)?,
        Precompile::G1Msm => msm::<G1>(input)?,
        Precompile::G2Msm => msm::<G2>(input)?,
        Precompile::PairingCheck => pairing(input)?,
        Precompile::MapFpToG1 => map_fp_to_g1(&read_fp(input, 0)?).to_eip2537().to_vec(),
        Precompile::MapFp2ToG2 => {
            let u = Fq2::new(read_fp(input, 0)?, read_fp(input, FP_BYTES)?);
            map_fp2_to_g2(&u).to_eip2537().to_vec()
        }
    })
}

/// The operations of one group that the precompiles use.
trait Curve {
    type Affine: Copy + Send + Sync;
    const GROUP: Group;
    const POINT_BYTES: usize;
    fn decode(bytes: &[u8], check: SubgroupCheck) -> Result<Self::Affine, CurveError>;
    fn add_encoded(a: &Self::Affine, b: &Self::Affine) -> Vec<u8>;
    fn msm_encoded(points: &[Self::Affine], scalars: &[Scalar]) -> Vec<u8>;
}

struct G1;
struct G2;

macro_rules! curve_impl {
    ($Marker:ident, $Affine:ident, $BYTES:expr, $msm:ident) => {
        impl Curve for $Marker {
            type Affine = $Affine;
            const GROUP: Group = Group::$Marker;
            const POINT_BYTES: usize = $BYTES;

            fn decode(bytes: &[u8], check: SubgroupCheck) -> Result<$Affine, CurveError> {
                $Affine::from_eip2537(bytes, check)
            }

            fn add_encoded(a: &$Affine, b: &$Affine) -> Vec<u8> {
                a.to_projective()
                    .add_affine(b)
                    .to_affine()
                    .to_eip2537()
                    .to_vec()
            }

            fn msm_encoded(points: &[$Affine], scalars: &[Scalar]) -> Vec<u8> {
                let sum = match (points, scalars) {
                    // One pair: a single multiplication (right for every point on the curve).
                    ([p], [k]) => p.to_projective().mul(k),
                    _ => $msm(points, scalars)
                        .expect("one point and one scalar are decoded per pair"),
                };
                sum.to_affine().to_eip2537().to_vec()
            }
        }
    };
}

curve_impl!(G1, G1Affine, G1_EIP2537_BYTES, msm_g1);
curve_impl!(G2, G2Affine, G2_EIP2537_BYTES, msm_g2);

/// Decodes the point whose encoding starts at `offset`, operand or pair `index`.
fn decode_at<C: Curve>(
    input: &[u8],
    offset: usize,
    index: usize,
    check: SubgroupCheck,
) -> Result<C::Affine, PrecompileError> {
    let point = InputPoint {
        group: C::GROUP,
        index,
    };
    let bytes = input
        .get(offset..offset + C::POINT_BYTES)
        .ok_or(PrecompileError::Curve {
            point,
            offset,
            source: CurveError::BadLength {
                expected: C::POINT_BYTES,
                got: input.len().saturating_sub(offset),
            },
        })?;
    C::decode(bytes, check).map_err(|e| PrecompileError::from_curve_error(e, point, offset))
}

fn add<C: Curve>(input: &[u8]) -> Result<Vec<u8>, PrecompileError> {
    let a = decode_at::<C>(input, 0, 0, SubgroupCheck::No)?;
    let b = decode_at::<C>(input, C::POINT_BYTES, 1, SubgroupCheck::No)?;
    Ok(C::add_encoded(&a, &b))
}

/// `f(pair index, pair offset)` for every pair of `pair_bytes` bytes of `input`, on rayon's
/// threads; the results in input order, or the error of the first pair (in input order)
/// that fails.
fn decode_pairs<T: Send>(
    input: &[u8],
    pair_bytes: usize,
    f: impl Fn(usize, usize) -> Result<T, PrecompileError> + Sync,
) -> Result<Vec<T>, PrecompileError> {
    let results: Vec<Result<T, PrecompileError>> = (0..input.len() / pair_bytes)
        .into_par_iter()
        .with_min_len(MIN_PAIRS_PER_TASK)
        .map(|i| f(i, i * pair_bytes))
        .collect();
    results.into_iter().collect()
}

/// A G1MSM input, checked and decoded as [`call`] does (length, then every point on the
/// curve and in the subgroup, in input order): its points and scalars, for callers that
/// run many MSMs together (a block engine). [`encode_g1`] turns the sum into the output.
///
/// # Errors
/// As [`call`] for [`Precompile::G1Msm`].
pub fn decode_g1_msm(input: &[u8]) -> Result<(Vec<G1Affine>, Vec<Scalar>), PrecompileError> {
    check_length(Precompile::G1Msm, input)?;
    decode_msm::<G1>(input, SubgroupCheck::Yes)
}

/// [`decode_g1_msm`] without the subgroup checks, for a block engine that checks the
/// points of many calls together (on a GPU, say). Every point is still checked on the
/// curve. The caller must check the subgroup, and for a call with a point outside it (or
/// whose decoding here fails) take [`call`]'s result: only `call` knows which error comes
/// first in input order.
///
/// # Errors
/// As [`call`] for [`Precompile::G1Msm`], less [`PrecompileError::NotInSubgroup`].
pub fn decode_g1_msm_unchecked(
    input: &[u8],
) -> Result<(Vec<G1Affine>, Vec<Scalar>), PrecompileError> {
    check_length(Precompile::G1Msm, input)?;
    decode_msm::<G1>(input, SubgroupCheck::No)
}

/// [`decode_g1_msm`] for G2MSM; [`encode_g2`] turns the sum into the output.
///
/// # Errors
/// As [`call`] for [`Precompile::G2Msm`].
pub fn decode_g2_msm(input: &[u8]) -> Result<(Vec<G2Affine>, Vec<Scalar>), PrecompileError> {
    check_length(Precompile::G2Msm, input)?;
    decode_msm::<G2>(input, SubgroupCheck::Yes)
}

/// [`decode_g1_msm_unchecked`] for G2MSM.
///
/// # Errors
/// As [`call`] for [`Precompile::G2Msm`], less [`PrecompileError::NotInSubgroup`].
pub fn decode_g2_msm_unchecked(
    input: &[u8],
) -> Result<(Vec<G2Affine>, Vec<Scalar>), PrecompileError> {
    check_length(Precompile::G2Msm, input)?;
    decode_msm::<G2>(input, SubgroupCheck::No)
}

/// The output of a G1 precompile for result `p`: 128 bytes, all zero for infinity.
pub fn encode_g1(p: &G1Projective) -> Vec<u8> {
    p.to_affine().to_eip2537().to_vec()
}

/// The output of a G2 precompile for result `p`: 256 bytes, all zero for infinity.
pub fn encode_g2(p: &G2Projective) -> Vec<u8> {
    p.to_affine().to_eip2537().to_vec()
}

fn check_length(precompile: Precompile, input: &[u8]) -> Result<(), PrecompileError> {
    let expected = precompile.input_length();
    if expected.accepts(input.len()) {
        Ok(())
    } else {
        Err(PrecompileError::InvalidInputLength {
            precompile,
            expected,
            got: input.len(),
        })
    }
}

fn msm<C: Curve>(input: &[u8]) -> Result<Vec<u8>, PrecompileError> {
    let (points, scalars) = decode_msm::<C>(input, SubgroupCheck::Yes)?;
    Ok(C::msm_encoded(&points, &scalars))
}

#[allow(clippy::type_complexity)]
fn decode_msm<C: Curve>(
    input: &[u8],
    check: SubgroupCheck,
) -> Result<(Vec<C::Affine>, Vec<Scalar>), PrecompileError> {
    let pair_bytes = C::POINT_BYTES + SCALAR_BYTES;
    let pairs = decode_pairs(input, pair_bytes, |index, offset| {
        let point = decode_at::<C>(input, offset, index, check)?;
        let scalar_at = offset + C::POINT_BYTES;
        let mut scalar = [0u8; SCALAR_BYTES];
        scalar.copy_from_slice(&input[scalar_at..scalar_at + SCALAR_BYTES]);
        Ok((point, Scalar::from_be_bytes(scalar)))
    })?;
    Ok(pairs.into_iter().unzip())
}

fn pairing(input: &[u8]) -> Result<Vec<u8>, PrecompileError> {
    let pairs = decode_pairs(input, PAIRING_PAIR_BYTES, |index, offset| {
        let p = decode_at::<G1>(input, offset, index, SubgroupCheck::Yes)?;
        let q = decode_at::<G2>(input, offset + G1_EIP2537_BYTES, index, SubgroupCheck::Yes)?;
        Ok((p, q))
    })?;
    let mut out = vec![0u8; PAIRING_OUTPUT_BYTES];
    out[PAIRING_OUTPUT_BYTES - 1] = u8::from(pairing_check(&pairs));
    Ok(out)
}

/// The Fp element in the 64 bytes at `offset` of a map precompile's input.
fn read_fp(input: &[u8], offset: usize) -> Result<Fq, PrecompileError> {
    let padding = FP_BYTES - FQ_BYTES;
    let element = &input[offset..offset + FP_BYTES];
    if let Some(i) = element[..padding].iter().position(|&b| b != 0) {
        return Err(PrecompileError::FieldElementTopBytes {
            point: None,
            offset: offset + i,
        });
    }
    let mut be = [0u8; FQ_BYTES];
    be.copy_from_slice(&element[padding..]);
    Fq::from_be_bytes(&be).map_err(|_| PrecompileError::FieldElementNotCanonical {
        point: None,
        offset,
    })
}
