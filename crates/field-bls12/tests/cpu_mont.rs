//! Montgomery form on the CPU: conversions (batch and single), `FqMont` batch operations and
//! operators, and the `blst_fp` conversions, against the portable implementation and the
//! big-integer oracle.

mod common;

use common::{
    batch, batch3, big_of, edge_values, limbs_of, modulus, oracle_from_mont, oracle_mont,
    oracle_to_mont, r_mod_p, SIZES,
};
use field_bls12::{cpu, portable, FieldError, Fq, FqMont};
use num_bigint::BigUint;

/// `(a, b, c)` in Montgomery form: the limbs of [`batch3`]'s values taken as Montgomery-form
/// limbs, so the edge limb patterns (0, 1, p-1, carries ...) are hit on the Montgomery side
/// (and random limbs below p are uniformly random Montgomery forms).
fn mont_batch3(n: usize, seed: u64) -> (Vec<FqMont>, Vec<FqMont>, Vec<FqMont>) {
    let as_mont = |v: Vec<Fq>| -> Vec<FqMont> {
        v.iter()
            .map(|x| FqMont::from_mont_limbs(*x.limbs()).unwrap())
            .collect()
    };
    let (a, b, c) = batch3(n, seed);
    (as_mont(a), as_mont(b), as_mont(c))
}

#[test]
fn to_mont_and_from_mont_match_oracle_at_every_size() {
    for (k, &n) in SIZES.iter().enumerate() {
        let (mut a, _) = batch(n, 400 + k as u64);
        a.iter_mut().zip(edge_values()).for_each(|(x, e)| *x = e);
        let mont = cpu::to_mont(&a);
        assert_eq!(mont, oracle_to_mont(&a), "to_mont, n = {n}");
        let port: Vec<FqMont> = a.iter().map(portable::to_mont).collect();
        assert_eq!(port, mont, "portable::to_mont, n = {n}");
        let single: Vec<FqMont> = a.iter().map(Fq::to_mont).collect();
        assert_eq!(single, mont, "Fq::to_mont, n = {n}");

        // from_mont on arbitrary Montgomery limbs (the edge values read as limbs), not only
        // on images of to_mont.
        let limbs: Vec<FqMont> = a
            .iter()
            .map(|x| FqMont::from_mont_limbs(*x.limbs()).unwrap())
            .collect();
        let back = cpu::from_mont(&limbs);
        assert_eq!(back, oracle_from_mont(&limbs), "from_mont, n = {n}");
        let port: Vec<Fq> = limbs.iter().map(portable::from_mont).collect();
        assert_eq!(port, back, "portable::from_mont, n = {n}");
        let single: Vec<Fq> = limbs.iter().map(FqMont::to_canonical).collect();
        assert_eq!(single, back, "FqMont::to_canonical, n = {n}");

        assert_eq!(cpu::from_mont(&mont), a, "round trip, n = {n}");
        assert_eq!(cpu::to_mont(&back), limbs, "round trip, n = {n}");
    }
}

#[test]
fn mont_binary_ops_match_portable_and_oracle() {
    type BlstOp = fn(&[FqMont], &[FqMont]) -> Result<Vec<FqMont>, FieldError>;
    type PortOp = fn(&FqMont, &FqMont) -> FqMont;
    // On the limbs y = x R: (y1, y2, R^-1) -> the result's limbs before reduction mod p.
    type OracleOp = fn(&[BigUint], &BigUint) -> BigUint;
    let ops: [(&str, BlstOp, PortOp, OracleOp); 3] = [
        ("mont_add", cpu::mont_add, portable::mont_add, |y, _| {
            &y[0] + &y[1]
        }),
        ("mont_sub", cpu::mont_sub, portable::mont_sub, |y, _| {
            &y[0] + modulus() - &y[1]
        }),
        ("mont_mul", cpu::mont_mul, portable::mont_mul, |y, r_inv| {
            &y[0] * &y[1] * r_inv
        }),
    ];
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b, _) = mont_batch3(n, 500 + k as u64);
        for (name, blst, port, oracle) in ops {
            let got = blst(&a, &b).unwrap();
            assert_eq!(got, oracle_mont(&[&a, &b], oracle), "{name}, n = {n}");
            let port: Vec<FqMont> = a.iter().zip(&b).map(|(x, y)| port(x, y)).collect();
            assert_eq!(port, got, "portable::{name}, n = {n}");
        }
    }
    for (name, blst, _, _) in ops {
        let err = blst(&[FqMont::ONE; 2], &[FqMont::ONE; 5]).unwrap_err();
        assert!(
            matches!(err, FieldError::LengthMismatch { op, left: 2, right: 5 } if op == name),
            "{err}"
        );
        assert!(blst(&[], &[]).unwrap().is_empty());
    }
}

#[test]
fn mont_square_and_fma_match_oracle() {
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b, c) = mont_batch3(n, 600 + k as u64);
        let sq = cpu::mont_square(&a).unwrap();
        let want = oracle_mont(&[&a], |y, r_inv| &y[0] * &y[0] * r_inv);
        assert_eq!(sq, want, "mont_square, n = {n}");
        let fma = cpu::mont_fma(&a, &b, &c).unwrap();
        let want = oracle_mont(&[&a, &b, &c], |y, r_inv| &y[0] * &y[1] * r_inv + &y[2]);
        assert_eq!(fma, want, "mont_fma, n = {n}");
        // Operators and methods on FqMont agree with the batches.
        let ops: Vec<FqMont> = (0..n).map(|i| a[i] * b[i] + c[i]).collect();
        assert_eq!(ops, fma, "FqMont operators, n = {n}");
        let sq_single: Vec<FqMont> = a.iter().map(FqMont::square).collect();
        assert_eq!(sq_single, sq, "FqMont::square, n = {n}");
    }
    assert!(cpu::mont_square(&[]).unwrap().is_empty());
    let err = cpu::mont_fma(&[FqMont::ONE; 2], &[FqMont::ONE; 2], &[FqMont::ONE]).unwrap_err();
    assert!(
        matches!(
            err,
            FieldError::LengthMismatch {
                op: "mont_fma",
                left: 2,
                right: 1
            }
        ),
        "{err}"
    );
}

#[test]
fn montgomery_constants() {
    assert_eq!(big_of(FqMont::ONE.mont_limbs()), r_mod_p());
    assert_eq!(big_of(&portable::R_MOD_P), r_mod_p());
    assert_eq!(
        big_of(&portable::R2_MOD_P),
        r_mod_p() * r_mod_p() % modulus()
    );
    // INV = -p^-1 mod 2^64.
    let two_64 = BigUint::from(1u32) << 64usize;
    let inv = BigUint::from(portable::INV);
    assert_eq!(
        (inv * (modulus() % &two_64) + 1u32) % &two_64,
        BigUint::from(0u32)
    );
    assert_eq!(FqMont::ONE.to_canonical(), Fq::ONE);
    assert_eq!(Fq::ONE.to_mont(), FqMont::ONE);
    assert_eq!(FqMont::ZERO.to_canonical(), Fq::ZERO);
    assert_eq!(FqMont::from(Fq::from_u64(9)), Fq::from_u64(9).to_mont());
    assert_eq!(Fq::from(FqMont::ONE), Fq::ONE);
}

#[test]
fn blst_fp_conversions_keep_the_value() {
    for v in edge_values() {
        let fp = blst::blst_fp::from(v);
        // blst_fp is Montgomery form: its limbs are v * R mod p, not v.
        assert_eq!(
            big_of(&fp.l),
            common::to_big(&v) * r_mod_p() % modulus(),
            "{v}"
        );
        assert_eq!(Fq::try_from(fp).unwrap(), v);
        let mont = v.to_mont();
        assert_eq!(blst::blst_fp::from(mont).l, *mont.mont_limbs());
        assert_eq!(FqMont::try_from(fp).unwrap(), mont);
    }
    // blst's own arithmetic agrees: 3 * 5 through blst_fp_mul on our conversions.
    let (a, b) = (
        blst::blst_fp::from(Fq::from_u64(3)),
        blst::blst_fp::from(Fq::from_u64(5)),
    );
    let mut out = blst::blst_fp::default();
    // SAFETY: three live, aligned blst_fp values.
    unsafe { blst::blst_fp_mul(&mut out, &a, &b) };
    assert_eq!(Fq::try_from(out).unwrap(), Fq::from_u64(15));

    // Non-canonical limbs are refused in both directions.
    let bad = blst::blst_fp { l: Fq::MODULUS };
    assert!(matches!(
        Fq::try_from(bad),
        Err(FieldError::NotCanonical { .. })
    ));
    assert!(matches!(
        FqMont::try_from(bad),
        Err(FieldError::NotCanonical { .. })
    ));
    let bad = blst::blst_fp { l: [u64::MAX; 6] };
    assert!(FqMont::try_from(bad).is_err());
    assert_eq!(limbs_of(&BigUint::from(7u32)), [7, 0, 0, 0, 0, 0]);
}
