//! Hand tests: where errors point (pair index and byte offset in the input), that the
//! first problem in input order is the one reported, and the precompiles' semantics on
//! small cases (no subgroup check in ADD, unreduced MSM scalars, k = 1 against k > 1,
//! pairing outputs).

mod common;

use common::{g1_non_subgroup, g2_non_subgroup};

use curve_bls12::{
    G1Affine, G1Projective, G2Affine, G2Projective, Scalar, SubgroupCheck, G1_EIP2537_BYTES,
    G2_EIP2537_BYTES,
};
use eip2537::{call, Group, InputLength, InputPoint, Precompile, PrecompileError};
use field_bls12::Fq;

const G1: usize = G1_EIP2537_BYTES;
const G2: usize = G2_EIP2537_BYTES;
const G1_PAIR: usize = eip2537::G1_MSM_PAIR_BYTES;
const G2_PAIR: usize = eip2537::G2_MSM_PAIR_BYTES;
const PAIR: usize = eip2537::PAIRING_PAIR_BYTES;

fn g1(k: u64) -> G1Affine {
    G1Projective::generator()
        .mul(&Scalar::from_u64(k))
        .to_affine()
}

fn g2(k: u64) -> G2Affine {
    G2Projective::generator()
        .mul(&Scalar::from_u64(k))
        .to_affine()
}

fn scalar(k: u64) -> [u8; 32] {
    Scalar::from_u64(k).to_be_bytes()
}

/// p, big-endian in 48 bytes (p - 1 ends in 0xaa, so adding 1 does not carry).
fn p_be() -> [u8; 48] {
    let mut p = Fq::MODULUS_MINUS_ONE_BE;
    p[47] += 1;
    p
}

/// r, the subgroup order, as a 256-bit scalar.
fn r_be() -> [u8; 32] {
    let hex = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

fn g1_msm_input(pairs: &[(G1Affine, u64)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|(p, k)| [p.to_eip2537().to_vec(), scalar(*k).to_vec()].concat())
        .collect()
}

fn g2_msm_input(pairs: &[(G2Affine, u64)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|(p, k)| [p.to_eip2537().to_vec(), scalar(*k).to_vec()].concat())
        .collect()
}

fn pairing_input(pairs: &[(G1Affine, G2Affine)]) -> Vec<u8> {
    pairs
        .iter()
        .flat_map(|(p, q)| [p.to_eip2537().to_vec(), q.to_eip2537().to_vec()].concat())
        .collect()
}

fn at(group: Group, index: usize) -> InputPoint {
    InputPoint { group, index }
}

#[test]
fn bad_field_element_in_second_msm_point_names_the_pair_and_offset() {
    let base = g1_msm_input(&[(g1(1), 5), (g1(2), 6), (g1(3), 7)]);

    // Pair 1's y (bytes 160 + 64.. ) = p.
    let mut input = base.clone();
    input[G1_PAIR + 64 + 16..G1_PAIR + 128].copy_from_slice(&p_be());
    let err = call(Precompile::G1Msm, &input).unwrap_err();
    assert_eq!(
        err,
        PrecompileError::FieldElementNotCanonical {
            point: Some(at(Group::G1, 1)),
            offset: 224,
        }
    );
    assert_eq!(
        err.to_string(),
        "the field element at offset 224 of G1 point #1 is not canonical: it is >= the base \
         field modulus p"
    );

    // Pair 1's x = p.
    let mut input = base.clone();
    input[G1_PAIR + 16..G1_PAIR + 64].copy_from_slice(&p_be());
    assert_eq!(
        call(Precompile::G1Msm, &input),
        Err(PrecompileError::FieldElementNotCanonical {
            point: Some(at(Group::G1, 1)),
            offset: 160,
        })
    );

    // A non-zero top byte (byte 3 of pair 1's y) is named exactly.
    let mut input = base.clone();
    input[G1_PAIR + 64 + 3] = 0x80;
    let err = call(Precompile::G1Msm, &input).unwrap_err();
    assert_eq!(
        err,
        PrecompileError::FieldElementTopBytes {
            point: Some(at(Group::G1, 1)),
            offset: 227,
        }
    );
    assert_eq!(
        (err.point(), err.offset()),
        (Some(at(Group::G1, 1)), Some(227))
    );

    // The scalar's bytes are not checked: any 256-bit value is valid.
    let mut input = base;
    input[G1_PAIR + G1..2 * G1_PAIR].fill(0xff);
    assert!(call(Precompile::G1Msm, &input).is_ok());
}

#[test]
fn g2_msm_offsets() {
    let base = g2_msm_input(&[(g2(1), 5), (g2(2), 6)]);
    // Pair 1's x.c1 = p: its 64 bytes start at 288 + 64.
    let mut input = base.clone();
    input[G2_PAIR + 64 + 16..G2_PAIR + 128].copy_from_slice(&p_be());
    assert_eq!(
        call(Precompile::G2Msm, &input),
        Err(PrecompileError::FieldElementNotCanonical {
            point: Some(at(Group::G2, 1)),
            offset: 352,
        })
    );
    // A top byte of pair 1's y.c1 (its last top byte).
    let mut input = base.clone();
    input[G2_PAIR + 192 + 15] = 1;
    assert_eq!(
        call(Precompile::G2Msm, &input),
        Err(PrecompileError::FieldElementTopBytes {
            point: Some(at(Group::G2, 1)),
            offset: 288 + 192 + 15,
        })
    );
    // Pair 1 outside the subgroup.
    let mut input = base;
    input[G2_PAIR..G2_PAIR + G2].copy_from_slice(&g2_non_subgroup());
    assert_eq!(
        call(Precompile::G2Msm, &input),
        Err(PrecompileError::NotInSubgroup {
            point: at(Group::G2, 1),
            offset: 288,
        })
    );
}

#[test]
fn curve_and_subgroup_errors_name_the_point() {
    let base = g1_msm_input(&[(g1(1), 5), (g1(2), 6), (g1(3), 7)]);
    // Pair 2 off the curve (y + 1).
    let mut input = base.clone();
    input[2 * G1_PAIR + 127] ^= 1;
    assert_eq!(
        call(Precompile::G1Msm, &input),
        Err(PrecompileError::NotOnCurve {
            point: at(Group::G1, 2),
            offset: 320,
        })
    );
    // Pair 1 outside the subgroup.
    let mut input = base;
    input[G1_PAIR..G1_PAIR + G1].copy_from_slice(&g1_non_subgroup());
    let err = call(Precompile::G1Msm, &input).unwrap_err();
    assert_eq!(
        err,
        PrecompileError::NotInSubgroup {
            point: at(Group::G1, 1),
            offset: 160,
        }
    );
    assert_eq!(
        err.to_string(),
        "G1 point #1 (offset 160) is not in the prime-order subgroup"
    );
}

/// With problems in several pairs of a long input (decoded on several threads), the first
/// in input order is reported, whatever its kind.
#[test]
fn the_first_problem_in_input_order_is_reported() {
    let pairs: Vec<(G1Affine, u64)> = (1..=40).map(|i| (g1(i), i)).collect();
    let mut input = g1_msm_input(&pairs);
    input[30 * G1_PAIR + 127] ^= 1; // pair 30 off the curve
    input[17 * G1_PAIR..17 * G1_PAIR + G1].copy_from_slice(&g1_non_subgroup()); // pair 17
    input[35 * G1_PAIR] = 1; // pair 35's top byte
    assert_eq!(
        call(Precompile::G1Msm, &input),
        Err(PrecompileError::NotInSubgroup {
            point: at(Group::G1, 17),
            offset: 17 * 160,
        })
    );
    // In a pairing, the G1 point of a pair comes before its G2 point.
    let mut input = pairing_input(&[(g1(1), g2(1)), (g1(2), g2(2)), (g1(3), g2(3))]);
    input[PAIR + G1..PAIR + G1 + G2].copy_from_slice(&g2_non_subgroup());
    input[PAIR + 127] ^= 1;
    assert_eq!(
        call(Precompile::PairingCheck, &input),
        Err(PrecompileError::NotOnCurve {
            point: at(Group::G1, 1),
            offset: 384,
        })
    );
}

#[test]
fn pairing_errors_name_the_pair_and_group() {
    let base = pairing_input(&[(g1(1), g2(1)), (g1(2), g2(2))]);
    let mut input = base.clone();
    input[PAIR + G1..PAIR + G1 + G2].copy_from_slice(&g2_non_subgroup());
    assert_eq!(
        call(Precompile::PairingCheck, &input),
        Err(PrecompileError::NotInSubgroup {
            point: at(Group::G2, 1),
            offset: 512,
        })
    );
    let mut input = base.clone();
    input[..G1].copy_from_slice(&g1_non_subgroup());
    assert_eq!(
        call(Precompile::PairingCheck, &input),
        Err(PrecompileError::NotInSubgroup {
            point: at(Group::G1, 0),
            offset: 0,
        })
    );
    // Pair 1's G2 y.c0 = p.
    let mut input = base;
    input[PAIR + G1 + 128 + 16..PAIR + G1 + 192].copy_from_slice(&p_be());
    assert_eq!(
        call(Precompile::PairingCheck, &input),
        Err(PrecompileError::FieldElementNotCanonical {
            point: Some(at(Group::G2, 1)),
            offset: 384 + 128 + 128,
        })
    );
}

#[test]
fn add_has_no_subgroup_check_but_checks_the_curve() {
    let bad = g1_non_subgroup();
    let p = G1Affine::from_eip2537(&bad, SubgroupCheck::No).unwrap();
    let input = [bad.as_slice(), &g1(7).to_eip2537()].concat();
    let expected = p.to_projective().add_affine(&g1(7)).to_affine();
    assert_eq!(
        call(Precompile::G1Add, &input).unwrap(),
        expected.to_eip2537()
    );
    let mut off_curve = input.clone();
    off_curve[G1 + 127] ^= 1;
    assert_eq!(
        call(Precompile::G1Add, &off_curve),
        Err(PrecompileError::NotOnCurve {
            point: at(Group::G1, 1),
            offset: 128,
        })
    );

    let bad2 = g2_non_subgroup();
    let q = G2Affine::from_eip2537(&bad2, SubgroupCheck::No).unwrap();
    let input = [g2(3).to_eip2537().as_slice(), &bad2].concat();
    let expected = g2(3).to_projective().add_affine(&q).to_affine();
    assert_eq!(
        call(Precompile::G2Add, &input).unwrap(),
        expected.to_eip2537()
    );
    // P + (-P) is infinity: 256 zero bytes.
    let input = [q.to_eip2537().as_slice(), &q.neg().to_eip2537()].concat();
    assert_eq!(call(Precompile::G2Add, &input).unwrap(), vec![0u8; G2]);
    let mut off_curve = input;
    off_curve[G2 + 255] ^= 4;
    assert_eq!(
        call(Precompile::G2Add, &off_curve),
        Err(PrecompileError::NotOnCurve {
            point: at(Group::G2, 1),
            offset: 256,
        })
    );
}

#[test]
fn map_errors() {
    // c1's top byte 7.
    let mut input = [0u8; 128];
    input[64 + 7] = 9;
    assert_eq!(
        call(Precompile::MapFp2ToG2, &input),
        Err(PrecompileError::FieldElementTopBytes {
            point: None,
            offset: 71,
        })
    );
    let mut input = [0u8; 128];
    input[64 + 16..].copy_from_slice(&p_be());
    let err = call(Precompile::MapFp2ToG2, &input).unwrap_err();
    assert_eq!(
        err,
        PrecompileError::FieldElementNotCanonical {
            point: None,
            offset: 64,
        }
    );
    assert_eq!((err.point(), err.offset()), (None, Some(64)));
    // p - 1 is valid; p is not.
    let mut input = [0u8; 64];
    input[16..].copy_from_slice(&Fq::MODULUS_MINUS_ONE_BE);
    assert_eq!(call(Precompile::MapFpToG1, &input).unwrap().len(), 128);
    input[16..].copy_from_slice(&p_be());
    assert_eq!(
        call(Precompile::MapFpToG1, &input),
        Err(PrecompileError::FieldElementNotCanonical {
            point: None,
            offset: 0,
        })
    );
    // The output is curve_bls12's map.
    let u = Fq::from_u64(12345);
    let mut input = [0u8; 64];
    input[16..].copy_from_slice(&u.to_be_bytes());
    assert_eq!(
        call(Precompile::MapFpToG1, &input).unwrap(),
        curve_bls12::map_fp_to_g1(&u).to_eip2537()
    );
}

#[test]
fn length_errors() {
    assert_eq!(
        call(Precompile::G1Add, &[0; 255]),
        Err(PrecompileError::InvalidInputLength {
            precompile: Precompile::G1Add,
            expected: InputLength::Exactly(256),
            got: 255,
        })
    );
    let err = call(Precompile::PairingCheck, &[]).unwrap_err();
    assert_eq!(
        err,
        PrecompileError::InvalidInputLength {
            precompile: Precompile::PairingCheck,
            expected: InputLength::PositiveMultipleOf(384),
            got: 0,
        }
    );
    assert_eq!(
        err.to_string(),
        "BLS12_PAIRING_CHECK takes a positive multiple of 384 bytes, got 0"
    );
    assert_eq!((err.point(), err.offset()), (None, None));
    // The length is checked before any byte: a bad field element in a too-long input is
    // a length error.
    let mut input = vec![0xffu8; 2 * G2_PAIR + 1];
    input[0] = 1;
    assert!(matches!(
        call(Precompile::G2Msm, &input),
        Err(PrecompileError::InvalidInputLength { got: 577, .. })
    ));
}

#[test]
fn msm_scalars_are_not_reduced_and_k1_agrees_with_k2() {
    let p = g1(11);
    let q = g2(13);
    // [k + r]P = [k]P for a subgroup point: r + 5 as a 256-bit scalar.
    let mut r_plus_5 = r_be();
    r_plus_5[31] += 5;
    let g1_with =
        |s: [u8; 32]| call(Precompile::G1Msm, &[p.to_eip2537().as_slice(), &s].concat()).unwrap();
    assert_eq!(g1_with(r_plus_5), g1_with(scalar(5)));
    assert_eq!(g1_with(r_be()), vec![0u8; G1]);
    // 2^256 - 1.
    let expected = p
        .to_projective()
        .mul(&Scalar::from_be_bytes([0xff; 32]))
        .to_affine()
        .to_eip2537();
    assert_eq!(g1_with([0xff; 32]), expected);

    // k = 1 (a single multiplication) against k > 1 (Pippenger).
    let one = call(Precompile::G1Msm, &g1_msm_input(&[(p, 12)])).unwrap();
    let two = call(Precompile::G1Msm, &g1_msm_input(&[(p, 5), (p, 7)])).unwrap();
    let with_zero = call(
        Precompile::G1Msm,
        &g1_msm_input(&[(p, 12), (G1Affine::identity(), 3), (g1(5), 0)]),
    )
    .unwrap();
    assert_eq!(one, two);
    assert_eq!(one, with_zero);
    assert_eq!(one, g1(11 * 12).to_eip2537());

    let one = call(Precompile::G2Msm, &g2_msm_input(&[(q, 12)])).unwrap();
    let three = call(
        Precompile::G2Msm,
        &g2_msm_input(&[
            (q, 5),
            (q, 4),
            (q.neg(), 0),
            (G2Affine::identity(), 9),
            (q, 3),
        ]),
    )
    .unwrap();
    assert_eq!(one, three);
    assert_eq!(one, g2(13 * 12).to_eip2537());
    // All infinity: infinity.
    assert_eq!(
        call(Precompile::G2Msm, &vec![0u8; 3 * G2_PAIR]).unwrap(),
        vec![0u8; G2]
    );
}

#[test]
fn pairing_outputs() {
    let yes = {
        let mut v = vec![0u8; 32];
        v[31] = 1;
        v
    };
    let no = vec![0u8; 32];
    let (p, q) = (g1(1), g2(1));
    let pairing = |pairs: &[(G1Affine, G2Affine)]| {
        call(Precompile::PairingCheck, &pairing_input(pairs)).unwrap()
    };
    assert_eq!(pairing(&[(p, q), (p.neg(), q)]), yes);
    assert_eq!(pairing(&[(p, q)]), no);
    // e(aP, Q) e(-P, aQ) = 1.
    assert_eq!(pairing(&[(g1(77), q), (p.neg(), g2(77))]), yes);
    assert_eq!(pairing(&[(g1(77), q), (p.neg(), g2(78))]), no);
    // Infinity anywhere contributes 1.
    let (o1, o2) = (G1Affine::identity(), G2Affine::identity());
    assert_eq!(pairing(&[(o1, o2)]), yes);
    assert_eq!(pairing(&[(o1, q), (p, o2)]), yes);
    assert_eq!(pairing(&[(o1, q), (p, q), (p, o2)]), no);
}
