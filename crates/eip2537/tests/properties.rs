//! Property tests: no input of any length or content makes a precompile panic; every
//! result is either an output of the right shape or a typed error whose point and offset
//! lie inside the input; inputs built from valid, infinity and deliberately broken parts
//! give exactly the first error in input order, or the output an independent computation
//! gives (single multiplications for the MSMs, `curve_bls12`'s pairing and maps).

mod common;

use common::{g1_non_subgroup, g2_non_subgroup};
use curve_bls12::{
    map_fp2_to_g2, map_fp_to_g1, pairing_check, G1Affine, G1Projective, G2Affine, G2Projective,
    Scalar, SubgroupCheck, EIP2537_FQ_BYTES,
};
use eip2537::{call, Group, InputLength, InputPoint, Precompile, PrecompileError};
use field_bls12::{Fq, Fq2};
use proptest::prelude::*;

/// Checks what must hold for any input: the output's shape on success; on failure, a
/// length error exactly when the length is wrong, else a point and offset inside the
/// input and the point's own bytes.
fn check_invariants(precompile: Precompile, input: &[u8]) -> Result<Vec<u8>, PrecompileError> {
    let result = call(precompile, input);
    let length_ok = precompile.input_length().accepts(input.len());
    match &result {
        Ok(out) => {
            assert!(length_ok);
            assert_eq!(out.len(), precompile.output_len());
            match precompile {
                Precompile::PairingCheck => {
                    assert!(out[..31].iter().all(|&b| b == 0) && out[31] <= 1);
                }
                Precompile::G1Add | Precompile::G1Msm | Precompile::MapFpToG1 => {
                    let check = if precompile == Precompile::G1Add {
                        SubgroupCheck::No
                    } else {
                        SubgroupCheck::Yes
                    };
                    G1Affine::from_eip2537(out, check).expect("a valid G1 output");
                }
                _ => {
                    let check = if precompile == Precompile::G2Add {
                        SubgroupCheck::No
                    } else {
                        SubgroupCheck::Yes
                    };
                    G2Affine::from_eip2537(out, check).expect("a valid G2 output");
                }
            }
        }
        Err(PrecompileError::InvalidInputLength {
            precompile: p,
            expected,
            got,
        }) => {
            assert!(!length_ok, "{precompile}: {}", input.len());
            assert_eq!(
                (*p, *expected, *got),
                (precompile, precompile.input_length(), input.len())
            );
        }
        Err(err) => {
            assert!(length_ok, "{precompile}: {err:?}");
            let offset = err.offset().expect("decoding errors have an offset");
            assert!(offset < input.len(), "{precompile}: {err:?}");
            match err.point() {
                None => assert!(matches!(
                    precompile,
                    Precompile::MapFpToG1 | Precompile::MapFp2ToG2
                )),
                Some(point) => {
                    let range = point_range(precompile, point);
                    assert!(range.contains(&offset), "{precompile}: {err:?}");
                    assert!(range.end <= input.len(), "{precompile}: {err:?}");
                }
            }
            assert!(!matches!(
                err,
                PrecompileError::Curve { .. } | PrecompileError::GasOverflow { .. }
            ));
        }
    }
    result
}

/// The bytes of a point of the input.
fn point_range(precompile: Precompile, point: InputPoint) -> std::ops::Range<usize> {
    let (g1, g2) = (128, 256);
    let len = if point.group == Group::G1 { g1 } else { g2 };
    let start = match precompile {
        Precompile::G1Add | Precompile::G2Add => point.index * len,
        Precompile::G1Msm | Precompile::G2Msm => point.index * (len + 32),
        Precompile::PairingCheck => {
            point.index * (g1 + g2) + if point.group == Group::G2 { g1 } else { 0 }
        }
        _ => unreachable!("map inputs have no points"),
    };
    start..start + len
}

/// The largest length worth trying: two units and a byte.
fn max_len(precompile: Precompile) -> usize {
    match precompile.input_length() {
        InputLength::Exactly(n) | InputLength::PositiveMultipleOf(n) => 2 * n + 1,
    }
}

/// Every length from 0 to two units and a byte, for every precompile, with zeros (all
/// points at infinity: valid), 0xff bytes and pseudo-random bytes.
#[test]
fn every_length_of_zeros_ones_and_noise() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    };
    for precompile in Precompile::ALL {
        for len in 0..=max_len(precompile) {
            let zeros = vec![0u8; len];
            let r = check_invariants(precompile, &zeros);
            assert_eq!(r.is_ok(), precompile.input_length().accepts(len));
            check_invariants(precompile, &vec![0xffu8; len]).unwrap_err();
            let random: Vec<u8> = (0..len).map(|_| noise()).collect();
            check_invariants(precompile, &random).ok();
            // Zeros with a few random bytes, past the top bytes of some elements.
            let mut sparse = zeros;
            for _ in 0..3 {
                if len > 0 {
                    let i = usize::from(noise()) * usize::from(noise()) % len;
                    sparse[i] = noise();
                }
            }
            check_invariants(precompile, &sparse).ok();
        }
    }
}

/// One point (or field element) slot of a structured input.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A valid subgroup point (or a canonical field element) from the pool.
    Valid(usize),
    /// The point at infinity (or the field element 0).
    Infinity,
    /// On the curve, outside the subgroup (a valid field element for the maps).
    NonSubgroup,
    /// A valid point with the low bit of its last coordinate flipped: off the curve.
    OffCurve,
    /// The value of element `e` (mod the point's element count) set to p.
    ValueP(usize),
    /// Top byte `b` of element `e` set to the non-zero `v`.
    TopByte(usize, usize, u8),
}

fn slot() -> impl Strategy<Value = Slot> {
    prop_oneof![
        8 => (0..POOL).prop_map(Slot::Valid),
        2 => Just(Slot::Infinity),
        1 => Just(Slot::NonSubgroup),
        1 => Just(Slot::OffCurve),
        1 => (0..4usize).prop_map(Slot::ValueP),
        1 => (0..4usize, 0..16usize, 1..=255u8).prop_map(|(e, b, v)| Slot::TopByte(e, b, v)),
    ]
}

const POOL: usize = 4;

struct Pool {
    g1: Vec<G1Affine>,
    g2: Vec<G2Affine>,
    fq: Vec<Fq>,
    g1_bad: [u8; 128],
    g2_bad: [u8; 256],
}

fn pool() -> Pool {
    let ks = [1u64, 2, 0xdead_beef, u64::MAX];
    Pool {
        g1: ks
            .iter()
            .map(|&k| {
                G1Projective::generator()
                    .mul(&Scalar::from_u64(k))
                    .to_affine()
            })
            .collect(),
        g2: ks
            .iter()
            .map(|&k| {
                G2Projective::generator()
                    .mul(&Scalar::from_u64(k))
                    .to_affine()
            })
            .collect(),
        fq: ks
            .iter()
            .map(|&k| Fq::from_u64(k.wrapping_mul(977)))
            .collect(),
        g1_bad: g1_non_subgroup(),
        g2_bad: g2_non_subgroup(),
    }
}

fn p_be() -> [u8; 48] {
    let mut p = Fq::MODULUS_MINUS_ONE_BE;
    p[47] += 1;
    p
}

/// Writes a point slot's bytes; returns the error it must cause (given the precompile's
/// subgroup rule), if any.
fn write_point(
    pool: &Pool,
    slot: Slot,
    group: Group,
    index: usize,
    start: usize,
    subgroup_checked: bool,
    out: &mut Vec<u8>,
) -> Option<PrecompileError> {
    let point = InputPoint { group, index };
    let valid = |i: usize| match group {
        Group::G1 => pool.g1[i].to_eip2537().to_vec(),
        Group::G2 => pool.g2[i].to_eip2537().to_vec(),
    };
    let elements = if group == Group::G1 { 2 } else { 4 };
    let (bytes, err) = match slot {
        Slot::Valid(i) => (valid(i), None),
        Slot::Infinity => (vec![0u8; 64 * elements], None),
        Slot::NonSubgroup => (
            match group {
                Group::G1 => pool.g1_bad.to_vec(),
                Group::G2 => pool.g2_bad.to_vec(),
            },
            subgroup_checked.then_some(PrecompileError::NotInSubgroup {
                point,
                offset: start,
            }),
        ),
        Slot::OffCurve => {
            let mut b = valid(1);
            *b.last_mut().unwrap() ^= 1;
            (
                b,
                Some(PrecompileError::NotOnCurve {
                    point,
                    offset: start,
                }),
            )
        }
        Slot::ValueP(e) => {
            let e = e % elements;
            let mut b = valid(0);
            b[64 * e + 16..64 * e + 64].copy_from_slice(&p_be());
            (
                b,
                Some(PrecompileError::FieldElementNotCanonical {
                    point: Some(point),
                    offset: start + 64 * e,
                }),
            )
        }
        Slot::TopByte(e, byte, v) => {
            let e = e % elements;
            let mut b = valid(0);
            b[64 * e + byte] = v;
            (
                b,
                Some(PrecompileError::FieldElementTopBytes {
                    point: Some(point),
                    offset: start + 64 * e + byte,
                }),
            )
        }
    };
    out.extend_from_slice(&bytes);
    err
}

/// Writes a field-element slot of a map input; returns its error, if any.
fn write_fp(pool: &Pool, slot: Slot, start: usize, out: &mut Vec<u8>) -> Option<PrecompileError> {
    let mut bytes = [0u8; EIP2537_FQ_BYTES];
    let mut value = |v: &[u8; 48]| bytes[16..].copy_from_slice(v);
    let err = match slot {
        Slot::Valid(i) => {
            value(&pool.fq[i].to_be_bytes());
            None
        }
        Slot::Infinity => None,
        Slot::NonSubgroup | Slot::OffCurve => {
            value(&Fq::MODULUS_MINUS_ONE_BE);
            None
        }
        Slot::ValueP(_) => {
            value(&p_be());
            Some(PrecompileError::FieldElementNotCanonical {
                point: None,
                offset: start,
            })
        }
        Slot::TopByte(_, byte, v) => {
            bytes[byte] = v;
            Some(PrecompileError::FieldElementTopBytes {
                point: None,
                offset: start + byte,
            })
        }
    };
    out.extend_from_slice(&bytes);
    err
}

/// An input of `units` (point, point or scalar) slots, cycled to the count of the
/// fixed-length precompiles; the first error it must give.
fn build(
    pool: &Pool,
    precompile: Precompile,
    units: &[(Slot, Slot, [u8; 32])],
) -> (Vec<u8>, Option<PrecompileError>) {
    let mut out = Vec::new();
    let mut first = None;
    let mut note = |e: Option<PrecompileError>| {
        if first.is_none() {
            first = e;
        }
    };
    match precompile {
        Precompile::G1Add | Precompile::G2Add => {
            let group = if precompile == Precompile::G1Add {
                Group::G1
            } else {
                Group::G2
            };
            for (i, (a, _, _)) in units.iter().cycle().take(2).enumerate() {
                let start = out.len();
                note(write_point(pool, *a, group, i, start, false, &mut out));
            }
        }
        Precompile::G1Msm | Precompile::G2Msm => {
            let group = if precompile == Precompile::G1Msm {
                Group::G1
            } else {
                Group::G2
            };
            for (i, (a, _, k)) in units.iter().enumerate() {
                let start = out.len();
                note(write_point(pool, *a, group, i, start, true, &mut out));
                out.extend_from_slice(k);
            }
        }
        Precompile::PairingCheck => {
            for (i, (a, b, _)) in units.iter().enumerate() {
                let start = out.len();
                note(write_point(pool, *a, Group::G1, i, start, true, &mut out));
                let start = out.len();
                note(write_point(pool, *b, Group::G2, i, start, true, &mut out));
            }
        }
        Precompile::MapFpToG1 | Precompile::MapFp2ToG2 => {
            let n = if precompile == Precompile::MapFpToG1 {
                1
            } else {
                2
            };
            for (a, _, _) in units.iter().cycle().take(n) {
                let start = out.len();
                note(write_fp(pool, *a, start, &mut out));
            }
        }
    }
    (out, first)
}

/// The output computed without the precompile: single multiplications summed for the
/// MSMs, `curve_bls12`'s pairing check and maps.
fn reference(precompile: Precompile, input: &[u8]) -> Vec<u8> {
    let g1 = |b: &[u8]| G1Affine::from_eip2537(b, SubgroupCheck::No).unwrap();
    let g2 = |b: &[u8]| G2Affine::from_eip2537(b, SubgroupCheck::No).unwrap();
    let k = |b: &[u8]| Scalar::from_be_slice(b).unwrap();
    let fq = |b: &[u8]| Fq::from_be_slice(&b[16..64]).unwrap();
    match precompile {
        Precompile::G1Add => g1(&input[..128])
            .to_projective()
            .add(&g1(&input[128..]).to_projective())
            .to_affine()
            .to_eip2537()
            .to_vec(),
        Precompile::G2Add => g2(&input[..256])
            .to_projective()
            .add(&g2(&input[256..]).to_projective())
            .to_affine()
            .to_eip2537()
            .to_vec(),
        Precompile::G1Msm => input
            .chunks(160)
            .fold(G1Projective::identity(), |acc, c| {
                acc.add(&g1(&c[..128]).to_projective().mul(&k(&c[128..])))
            })
            .to_affine()
            .to_eip2537()
            .to_vec(),
        Precompile::G2Msm => input
            .chunks(288)
            .fold(G2Projective::identity(), |acc, c| {
                acc.add(&g2(&c[..256]).to_projective().mul(&k(&c[256..])))
            })
            .to_affine()
            .to_eip2537()
            .to_vec(),
        Precompile::PairingCheck => {
            let pairs: Vec<_> = input
                .chunks(384)
                .map(|c| (g1(&c[..128]), g2(&c[128..])))
                .collect();
            let mut out = vec![0u8; 32];
            out[31] = u8::from(pairing_check(&pairs));
            out
        }
        Precompile::MapFpToG1 => map_fp_to_g1(&fq(input)).to_eip2537().to_vec(),
        Precompile::MapFp2ToG2 => map_fp2_to_g2(&Fq2::new(fq(&input[..64]), fq(&input[64..])))
            .to_eip2537()
            .to_vec(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes of random lengths (up to two units and a byte) never panic.
    #[test]
    fn random_bytes_never_panic(
        which in 0..7usize,
        bytes in prop::collection::vec(any::<u8>(), 0..=769),
    ) {
        let precompile = Precompile::ALL[which];
        let len = bytes.len().min(max_len(precompile));
        let _ = check_invariants(precompile, &bytes[..len]);
    }

    /// Inputs built from valid, infinity and broken parts give exactly the first error in
    /// input order, or the reference output; one random byte changed, or a byte added or
    /// removed, still gives a well-formed result.
    #[test]
    fn structured_inputs(
        which in 0..7usize,
        units in prop::collection::vec((slot(), slot(), any::<[u8; 32]>()), 1..=4),
        mutation in (any::<prop::sample::Index>(), any::<u8>()),
        resize in 0..3u8,
    ) {
        let precompile = Precompile::ALL[which];
        let pool = pool();
        let (mut input, expected_error) = build(&pool, precompile, &units);
        let result = check_invariants(precompile, &input);
        match expected_error {
            Some(err) => prop_assert_eq!(result, Err(err)),
            None => prop_assert_eq!(result, Ok(reference(precompile, &input))),
        }

        let i = mutation.0.index(input.len());
        input[i] ^= mutation.1;
        let _ = check_invariants(precompile, &input);
        match resize {
            0 => input.push(0),
            1 => { input.pop(); }
            _ => {}
        }
        let _ = check_invariants(precompile, &input);
    }
}
