//! Encodings: round trips for every format; the byte layouts against encodings written
//! here from the oracle's coordinates; every decoder fed each malformed class (length,
//! flags, coordinates >= p, padding, off the curve, outside the subgroup, junk in infinity)
//! with the offsets asserted; random bytes never make a decoder panic.

mod common;

use common::oracle::{Field, Fp, Point};
use common::*;
use curve_bls12::{
    CurveError, FlagProblem, G1Affine, G2Affine, SubgroupCheck, G1_COMPRESSED_BYTES,
    G1_EIP2537_BYTES, G1_UNCOMPRESSED_BYTES, G2_COMPRESSED_BYTES, G2_EIP2537_BYTES,
    G2_UNCOMPRESSED_BYTES,
};
use field_bls12::Fq;
use num_bigint::BigUint;
use proptest::prelude::*;

fn p_be() -> [u8; 48] {
    be48(common::oracle::p())
}

/// Whether y is the "larger" root: y > (p - 1) / 2.
fn is_large(y: &BigUint) -> bool {
    y > &(common::oracle::p() >> 1u32)
}

fn g1_samples() -> Vec<G1Affine> {
    let mut rng = rng(20);
    let mut v = vec![
        G1Affine::identity(),
        G1Affine::generator(),
        G1Affine::generator().neg(),
    ];
    v.extend((0..6).map(|_| random_g1(&mut rng)));
    v
}

fn g2_samples() -> Vec<G2Affine> {
    let mut rng = rng(21);
    let mut v = vec![
        G2Affine::identity(),
        G2Affine::generator(),
        G2Affine::generator().neg(),
    ];
    v.extend((0..6).map(|_| random_g2(&mut rng)));
    v
}

#[test]
fn g1_round_trips_and_layouts() {
    for p in g1_samples() {
        let c = p.to_compressed();
        let u = p.to_uncompressed();
        let e = p.to_eip2537();
        assert_eq!(G1Affine::from_compressed(&c), Ok(p));
        assert_eq!(G1Affine::from_uncompressed(&u), Ok(p));
        assert_eq!(G1Affine::from_eip2537(&e, SubgroupCheck::Yes), Ok(p));
        assert_eq!(G1Affine::from_eip2537(&e, SubgroupCheck::No), Ok(p));
        match g1_oracle(&p) {
            Point::Infinity => {
                let mut want_c = [0u8; 48];
                want_c[0] = 0xc0;
                assert_eq!(c, want_c);
                let mut want_u = [0u8; 96];
                want_u[0] = 0x40;
                assert_eq!(u, want_u);
                assert_eq!(e, [0u8; 128]);
            }
            Point::Affine(x, y) => {
                let mut want_u = [0u8; 96];
                want_u[..48].copy_from_slice(&be48(&x.0));
                want_u[48..].copy_from_slice(&be48(&y.0));
                assert_eq!(u, want_u);
                let mut want_c = be48(&x.0);
                want_c[0] |= 0x80 | if is_large(&y.0) { 0x20 } else { 0 };
                assert_eq!(c, want_c);
                assert_eq!(e.to_vec(), g1_oracle_eip(&g1_oracle(&p)));
            }
        }
    }
}

#[test]
fn g2_round_trips_and_layouts() {
    for p in g2_samples() {
        let c = p.to_compressed();
        let u = p.to_uncompressed();
        let e = p.to_eip2537();
        assert_eq!(G2Affine::from_compressed(&c), Ok(p));
        assert_eq!(G2Affine::from_uncompressed(&u), Ok(p));
        assert_eq!(G2Affine::from_eip2537(&e, SubgroupCheck::Yes), Ok(p));
        assert_eq!(G2Affine::from_eip2537(&e, SubgroupCheck::No), Ok(p));
        match g2_oracle(&p) {
            Point::Infinity => {
                let mut want_c = [0u8; 96];
                want_c[0] = 0xc0;
                assert_eq!(c, want_c);
                let mut want_u = [0u8; 192];
                want_u[0] = 0x40;
                assert_eq!(u, want_u);
                assert_eq!(e, [0u8; 256]);
            }
            Point::Affine(x, y) => {
                // ZCash: c1 before c0.
                let mut want_u = Vec::new();
                for v in [&x.1, &x.0, &y.1, &y.0] {
                    want_u.extend_from_slice(&be48(&v.0));
                }
                assert_eq!(u.to_vec(), want_u);
                let large = if y.1 .0 != BigUint::from(0u32) {
                    is_large(&y.1 .0)
                } else {
                    is_large(&y.0 .0)
                };
                let mut want_c = want_u[..96].to_vec();
                want_c[0] |= 0x80 | if large { 0x20 } else { 0 };
                assert_eq!(c.to_vec(), want_c);
                assert_eq!(e.to_vec(), g2_oracle_eip(&g2_oracle(&p)));
            }
        }
    }
}

/// Every decoder, by name, as a function of bytes (the EIP-2537 ones with the subgroup
/// check).
/// A decoder that only says whether the bytes decode.
type Decoder = fn(&[u8]) -> Result<(), CurveError>;

fn decoders() -> Vec<(&'static str, usize, Decoder)> {
    vec![
        ("g1 compressed", G1_COMPRESSED_BYTES, |b| {
            G1Affine::from_compressed(b).map(drop)
        }),
        ("g1 uncompressed", G1_UNCOMPRESSED_BYTES, |b| {
            G1Affine::from_uncompressed(b).map(drop)
        }),
        ("g1 eip2537", G1_EIP2537_BYTES, |b| {
            G1Affine::from_eip2537(b, SubgroupCheck::Yes).map(drop)
        }),
        ("g2 compressed", G2_COMPRESSED_BYTES, |b| {
            G2Affine::from_compressed(b).map(drop)
        }),
        ("g2 uncompressed", G2_UNCOMPRESSED_BYTES, |b| {
            G2Affine::from_uncompressed(b).map(drop)
        }),
        ("g2 eip2537", G2_EIP2537_BYTES, |b| {
            G2Affine::from_eip2537(b, SubgroupCheck::Yes).map(drop)
        }),
    ]
}

#[test]
fn bad_lengths() {
    for (name, len, decode) in decoders() {
        for got in [0, 1, len - 1, len + 1, 2 * len] {
            assert_eq!(
                decode(&vec![0u8; got]),
                Err(CurveError::BadLength { expected: len, got }),
                "{name}"
            );
        }
    }
}

#[test]
fn bad_flags() {
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let bad = |flags, problem| Some(CurveError::BadFlags { flags, problem });

    // Compressed without the compression bit (a valid x otherwise).
    let mut c = g1.to_compressed();
    c[0] &= 0x7f;
    assert_eq!(
        G1Affine::from_compressed(&c).err(),
        bad(c[0] & 0xe0, FlagProblem::CompressionBitClear)
    );
    let mut c = g2.to_compressed();
    c[0] &= 0x7f;
    assert_eq!(
        G2Affine::from_compressed(&c).err(),
        bad(c[0] & 0xe0, FlagProblem::CompressionBitClear)
    );

    // Uncompressed with the compression bit, or the sign bit.
    let mut u = g1.to_uncompressed();
    u[0] |= 0x80;
    assert_eq!(
        G1Affine::from_uncompressed(&u).err(),
        bad(0x80, FlagProblem::CompressionBitSet)
    );
    let mut u = g1.to_uncompressed();
    u[0] |= 0x20;
    assert_eq!(
        G1Affine::from_uncompressed(&u).err(),
        bad(0x20, FlagProblem::SignBitInUncompressed)
    );
    let mut u = g2.to_uncompressed();
    u[0] |= 0x80;
    assert_eq!(
        G2Affine::from_uncompressed(&u).err(),
        bad(0x80, FlagProblem::CompressionBitSet)
    );
    let mut u = g2.to_uncompressed();
    u[0] |= 0x20;
    assert_eq!(
        G2Affine::from_uncompressed(&u).err(),
        bad(0x20, FlagProblem::SignBitInUncompressed)
    );

    // Infinity with the sign bit.
    let mut c = [0u8; 48];
    c[0] = 0xe0;
    assert_eq!(
        G1Affine::from_compressed(&c).err(),
        bad(0xe0, FlagProblem::SignBitWithInfinity)
    );
    let mut c = [0u8; 96];
    c[0] = 0xe0;
    assert_eq!(
        G2Affine::from_compressed(&c).err(),
        bad(0xe0, FlagProblem::SignBitWithInfinity)
    );

    // An all-zero ZCash compressed encoding has no compression bit.
    assert_eq!(
        G1Affine::from_compressed(&[0u8; 48]).err(),
        bad(0, FlagProblem::CompressionBitClear)
    );
}

#[test]
fn infinity_with_junk() {
    for (len, compressed) in [(48, true), (96, false)] {
        for junk_at in [0usize, 1, 17, len - 1] {
            let mut b = vec![0u8; len];
            b[0] = if compressed { 0xc0 } else { 0x40 };
            b[junk_at] |= 1;
            let got = if compressed {
                G1Affine::from_compressed(&b)
            } else {
                G1Affine::from_uncompressed(&b)
            };
            assert_eq!(
                got,
                Err(CurveError::InfinityWithNonZeroBytes { offset: junk_at })
            );
        }
    }
    for (len, compressed) in [(96, true), (192, false)] {
        for junk_at in [0usize, 50, len - 1] {
            let mut b = vec![0u8; len];
            b[0] = if compressed { 0xc0 } else { 0x40 };
            b[junk_at] |= 0x10;
            let got = if compressed {
                G2Affine::from_compressed(&b)
            } else {
                G2Affine::from_uncompressed(&b)
            };
            assert_eq!(
                got,
                Err(CurveError::InfinityWithNonZeroBytes { offset: junk_at })
            );
        }
    }
}

#[test]
fn coordinates_not_below_p_name_their_offset() {
    let not_canonical = |offset| Some(CurveError::FieldElementNotCanonical { offset });
    let p = p_be();
    // All ones (masked: 0x1f ff ..) is above p too.
    let all_ones = [0xffu8; 48];
    for value in [p, all_ones] {
        // ZCash: each coordinate slot in turn, the others left valid.
        for (slot, offset) in [(0, 0), (1, 48)] {
            let mut u = G1Affine::generator().to_uncompressed();
            u[offset..offset + 48].copy_from_slice(&value);
            if slot == 0 {
                u[0] &= 0x1f;
            }
            assert_eq!(G1Affine::from_uncompressed(&u).err(), not_canonical(offset));
        }
        let mut c = value;
        c[0] = (c[0] & 0x1f) | 0x80;
        assert_eq!(G1Affine::from_compressed(&c).err(), not_canonical(0));
        for offset in [0, 48, 96, 144] {
            let mut u = G2Affine::generator().to_uncompressed();
            u[offset..offset + 48].copy_from_slice(&value);
            if offset == 0 {
                u[0] &= 0x1f;
            }
            assert_eq!(G2Affine::from_uncompressed(&u).err(), not_canonical(offset));
        }
        for offset in [0, 48] {
            let mut c = G2Affine::generator().to_compressed();
            let flags = c[0] & 0xe0;
            c[offset..offset + 48].copy_from_slice(&value);
            if offset == 0 {
                c[0] = (c[0] & 0x1f) | flags;
            }
            assert_eq!(G2Affine::from_compressed(&c).err(), not_canonical(offset));
        }
    }
    // EIP-2537: the 48-byte value after 16 bytes of padding.
    for k in 0..2 {
        let mut e = G1Affine::generator().to_eip2537();
        e[64 * k + 16..64 * k + 64].copy_from_slice(&p);
        assert_eq!(
            G1Affine::from_eip2537(&e, SubgroupCheck::No).err(),
            not_canonical(64 * k + 16)
        );
    }
    for k in 0..4 {
        let mut e = G2Affine::generator().to_eip2537();
        e[64 * k + 16..64 * k + 64].copy_from_slice(&p);
        assert_eq!(
            G2Affine::from_eip2537(&e, SubgroupCheck::No).err(),
            not_canonical(64 * k + 16)
        );
    }
    // p - 1 is fine as far as canonicity goes (then it is off the curve).
    let mut e = G1Affine::generator().to_eip2537();
    e[16..64].copy_from_slice(&Fq::MODULUS_MINUS_ONE_BE);
    assert_eq!(
        G1Affine::from_eip2537(&e, SubgroupCheck::No),
        Err(CurveError::NotOnCurve { index: None })
    );
}

#[test]
fn eip2537_padding_must_be_zero() {
    for k in 0..2 {
        for j in [0, 7, 15] {
            let mut e = G1Affine::generator().to_eip2537();
            e[64 * k + j] = 0x01;
            assert_eq!(
                G1Affine::from_eip2537(&e, SubgroupCheck::No),
                Err(CurveError::NonZeroPadding { offset: 64 * k + j })
            );
        }
    }
    for k in 0..4 {
        let mut e = [0u8; 256]; // padding is checked on infinity too
        e[64 * k + 3] = 0x80;
        assert_eq!(
            G2Affine::from_eip2537(&e, SubgroupCheck::No),
            Err(CurveError::NonZeroPadding { offset: 64 * k + 3 })
        );
    }
}

#[test]
fn points_off_the_curve() {
    let off = Some(CurveError::NotOnCurve { index: None });
    // y + 1.
    let mut u = G1Affine::generator().to_uncompressed();
    u[95] ^= 1;
    assert_eq!(G1Affine::from_uncompressed(&u).err(), off);
    let mut u = G2Affine::generator().to_uncompressed();
    u[191] ^= 1;
    assert_eq!(G2Affine::from_uncompressed(&u).err(), off);
    let mut e = G1Affine::generator().to_eip2537();
    e[127] ^= 1;
    assert_eq!(G1Affine::from_eip2537(&e, SubgroupCheck::No).err(), off);
    let mut e = G2Affine::generator().to_eip2537();
    e[255] ^= 1;
    assert_eq!(G2Affine::from_eip2537(&e, SubgroupCheck::No).err(), off);
    // (0, 0) without the infinity flag, and EIP-2537 (0, 1).
    assert_eq!(G1Affine::from_uncompressed(&[0u8; 96]).err(), off);
    assert_eq!(G2Affine::from_uncompressed(&[0u8; 192]).err(), off);
    let mut e = [0u8; 128];
    e[127] = 1;
    assert_eq!(G1Affine::from_eip2537(&e, SubgroupCheck::No).err(), off);

    // Compressed: an x with no y, found by the oracle.
    let mut x = Fp::from_u64(1);
    while x.mul(&x).mul(&x).add(&Fp::curve_b()).sqrt().is_some() {
        x = x.add(&Fp::from_u64(1));
    }
    let mut c = be48(&x.0);
    c[0] |= 0x80;
    assert_eq!(G1Affine::from_compressed(&c).err(), off);
    // G2: x = (x, 0) has x^3 + 4 + 4u with a non-zero u part; try until no root.
    let mut x2 = common::oracle::Fp2(Fp::from_u64(1), Fp::from_u64(0));
    while x2
        .mul(&x2)
        .mul(&x2)
        .add(&common::oracle::Fp2::curve_b())
        .sqrt()
        .is_some()
    {
        x2 = x2.add(&common::oracle::Fp2::from_u64(1));
    }
    let mut c = [0u8; 96];
    c[..48].copy_from_slice(&be48(&x2.1 .0));
    c[48..].copy_from_slice(&be48(&x2.0 .0));
    c[0] |= 0x80;
    assert_eq!(G2Affine::from_compressed(&c).err(), off);
}

#[test]
fn points_outside_the_subgroup() {
    let outside = Some(CurveError::NotInSubgroup { index: None });
    let p = g1_not_in_subgroup();
    assert_eq!(G1Affine::from_compressed(&p.to_compressed()).err(), outside);
    assert_eq!(
        G1Affine::from_uncompressed(&p.to_uncompressed()).err(),
        outside
    );
    assert_eq!(
        G1Affine::from_eip2537(&p.to_eip2537(), SubgroupCheck::Yes).err(),
        outside
    );
    assert_eq!(
        G1Affine::from_eip2537(&p.to_eip2537(), SubgroupCheck::No),
        Ok(p)
    );
    let q = g2_not_in_subgroup();
    assert_eq!(G2Affine::from_compressed(&q.to_compressed()).err(), outside);
    assert_eq!(
        G2Affine::from_uncompressed(&q.to_uncompressed()).err(),
        outside
    );
    assert_eq!(
        G2Affine::from_eip2537(&q.to_eip2537(), SubgroupCheck::Yes).err(),
        outside
    );
    assert_eq!(
        G2Affine::from_eip2537(&q.to_eip2537(), SubgroupCheck::No),
        Ok(q)
    );
}

#[test]
fn errors_describe_themselves() {
    let e = CurveError::FieldElementNotCanonical { offset: 80 };
    assert!(e.to_string().contains("offset 80"), "{e}");
    let e = CurveError::NotInSubgroup { index: Some(3) };
    assert!(e.to_string().contains("index 3"), "{e}");
    let e = CurveError::BadFlags {
        flags: 0xe0,
        problem: FlagProblem::SignBitWithInfinity,
    };
    assert!(e.to_string().contains("sign bit"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Random multiples of the generators (and of a point outside the subgroup, through
    /// EIP-2537 without the subgroup check) survive every format.
    #[test]
    fn random_points_round_trip(k in any::<[u8; 32]>()) {
        let k = curve_bls12::Scalar::from_le_bytes(k);
        let p = curve_bls12::G1Projective::generator().mul(&k).to_affine();
        prop_assert_eq!(G1Affine::from_compressed(&p.to_compressed()), Ok(p));
        prop_assert_eq!(G1Affine::from_uncompressed(&p.to_uncompressed()), Ok(p));
        prop_assert_eq!(G1Affine::from_eip2537(&p.to_eip2537(), SubgroupCheck::Yes), Ok(p));
        let q = curve_bls12::G2Projective::generator().mul(&k).to_affine();
        prop_assert_eq!(G2Affine::from_compressed(&q.to_compressed()), Ok(q));
        prop_assert_eq!(G2Affine::from_uncompressed(&q.to_uncompressed()), Ok(q));
        prop_assert_eq!(G2Affine::from_eip2537(&q.to_eip2537(), SubgroupCheck::Yes), Ok(q));
        let outside = g1_not_in_subgroup().to_projective().mul(&k).to_affine();
        prop_assert_eq!(G1Affine::from_eip2537(&outside.to_eip2537(), SubgroupCheck::No), Ok(outside));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Random bytes of any length, and of each format's exact length with each flag
    /// pattern: the decoders answer, never panic.
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), flags in 0u8..8) {
        for (_, len, decode) in decoders() {
            let _ = decode(&bytes);
            let mut exact = bytes.clone();
            exact.resize(len, 0);
            exact[0] = (exact[0] & 0x1f) | (flags << 5);
            let _ = decode(&exact);
            // Small coordinates, so that some reach the curve and subgroup checks.
            let mut small = vec![0u8; len];
            for (i, b) in bytes.iter().take(4).enumerate() {
                small[len - 1 - i] = *b;
            }
            small[0] = flags << 5;
            let _ = decode(&small);
        }
        let _ = G1Affine::from_eip2537(&bytes, SubgroupCheck::No);
        let _ = G2Affine::from_eip2537(&bytes, SubgroupCheck::No);
    }
}
