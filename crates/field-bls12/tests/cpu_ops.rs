//! Every canonical-form batch operation on the CPU (blst) against the portable Rust
//! implementation and the big-integer oracle, three ways: edge values, the batch
//! sizes, seeded random values, length errors.

mod common;

use common::{
    batch, batch3, edge_values, oracle_double, oracle_fma, oracle_mul, oracle_neg, oracle_square,
    oracle_sub, SIZES,
};
use field_bls12::{cpu, portable, FieldError, Fq};

type Batch = Result<Vec<Fq>, FieldError>;

/// Asserts `got == want`, naming the first differing index and its inputs.
fn assert_same(what: &str, n: usize, inputs: &[&[Fq]], got: &[Fq], want: &[Fq]) {
    assert_eq!(got.len(), want.len(), "{what}, n = {n}: lengths");
    if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
        let args: Vec<String> = inputs.iter().map(|x| x[i].to_string()).collect();
        panic!(
            "{what}, n = {n}: first difference at index {i}, inputs {args:?}: got {}, want {}",
            got[i], want[i]
        );
    }
}

/// blst batch == portable == oracle for a unary operation, at every size.
fn check_unary(
    name: &str,
    blst: fn(&[Fq]) -> Batch,
    port: fn(&Fq) -> Fq,
    oracle: fn(&[Fq]) -> Vec<Fq>,
) {
    for (k, &n) in SIZES.iter().enumerate() {
        // Every distinct edge value first, then seeded random values.
        let (mut a, _) = batch(n, 100 + k as u64);
        a.iter_mut().zip(edge_values()).for_each(|(x, e)| *x = e);
        let got = blst(&a).unwrap();
        let want = oracle(&a);
        assert_same(&format!("cpu::{name} vs oracle"), n, &[&a], &got, &want);
        let port: Vec<Fq> = a.iter().map(port).collect();
        assert_same(
            &format!("portable::{name} vs oracle"),
            n,
            &[&a],
            &port,
            &want,
        );
    }
}

/// blst batch == portable == oracle for a binary operation, at every size, plus its length
/// check.
fn check_binary(
    name: &'static str,
    blst: fn(&[Fq], &[Fq]) -> Batch,
    port: fn(&Fq, &Fq) -> Fq,
    oracle: fn(&[Fq], &[Fq]) -> Vec<Fq>,
) {
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = batch(n, 200 + k as u64);
        let got = blst(&a, &b).unwrap();
        let want = oracle(&a, &b);
        assert_same(&format!("cpu::{name} vs oracle"), n, &[&a, &b], &got, &want);
        let port: Vec<Fq> = a.iter().zip(&b).map(|(x, y)| port(x, y)).collect();
        assert_same(
            &format!("portable::{name} vs oracle"),
            n,
            &[&a, &b],
            &port,
            &want,
        );
    }
    let err = blst(&[Fq::ONE; 3], &[Fq::ONE; 2]).unwrap_err();
    assert!(
        matches!(err, FieldError::LengthMismatch { op, left: 3, right: 2 } if op == name),
        "{err}"
    );
    assert!(blst(&[Fq::ONE], &[]).is_err());
    assert!(blst(&[], &[]).unwrap().is_empty());
}

#[test]
fn sub_matches_portable_and_oracle() {
    check_binary("sub", cpu::sub, portable::sub, oracle_sub);
}

#[test]
fn mul_matches_portable_and_oracle() {
    check_binary("mul", cpu::mul, portable::mul, oracle_mul);
}

#[test]
fn add_matches_portable_and_oracle() {
    check_binary("add", cpu::add, portable::add, common::oracle_add);
}

#[test]
fn neg_matches_portable_and_oracle() {
    check_unary("neg", cpu::neg, portable::neg, oracle_neg);
}

#[test]
fn double_matches_portable_and_oracle() {
    check_unary("double", cpu::double, portable::double, oracle_double);
}

#[test]
fn square_matches_portable_and_oracle() {
    check_unary("square", cpu::square, portable::square, oracle_square);
}

#[test]
fn fma_matches_portable_and_oracle() {
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b, c) = batch3(n, 300 + k as u64);
        let got = cpu::fma(&a, &b, &c).unwrap();
        let want = oracle_fma(&a, &b, &c);
        assert_same("cpu::fma vs oracle", n, &[&a, &b, &c], &got, &want);
        let port: Vec<Fq> = (0..n).map(|i| portable::fma(&a[i], &b[i], &c[i])).collect();
        assert_same("portable::fma vs oracle", n, &[&a, &b, &c], &port, &want);
    }
}

#[test]
fn fma_rejects_mismatched_lengths_naming_the_short_operand() {
    let three = [Fq::ONE; 3];
    for (b, c, right) in [(&three[..2], &three[..], 2), (&three[..], &three[..1], 1)] {
        let err = cpu::fma(&three, b, c).unwrap_err();
        assert!(
            matches!(err, FieldError::LengthMismatch { op: "fma", left: 3, right: r } if r == right),
            "{err}"
        );
    }
    assert!(cpu::fma(&[], &[], &[]).unwrap().is_empty());
}

#[test]
fn unary_ops_of_empty_batches_are_empty() {
    assert!(cpu::neg(&[]).unwrap().is_empty());
    assert!(cpu::double(&[]).unwrap().is_empty());
    assert!(cpu::square(&[]).unwrap().is_empty());
}

#[test]
fn hand_checked_values() {
    // Independent of both oracles: small numbers and the edges of the range.
    let p_minus_1 = Fq::from_be_bytes(&Fq::MODULUS_MINUS_ONE_BE).unwrap();
    let (two, three) = (Fq::from_u64(2), Fq::from_u64(3));
    assert_eq!(cpu::sub(&[two], &[three]).unwrap(), [p_minus_1]);
    assert_eq!(
        cpu::neg(&[Fq::ZERO, Fq::ONE]).unwrap(),
        [Fq::ZERO, p_minus_1]
    );
    assert_eq!(cpu::double(&[p_minus_1]).unwrap(), [p_minus_1 - Fq::ONE]);
    // (p-1)^2 = 1, (p-1) * 2 = p - 2, 2^64 * 2^64 = 2^128.
    assert_eq!(cpu::square(&[p_minus_1]).unwrap(), [Fq::ONE]);
    assert_eq!(
        cpu::mul(&[p_minus_1], &[two]).unwrap(),
        [p_minus_1 - Fq::ONE]
    );
    let two_64 = Fq::from_limbs([0, 1, 0, 0, 0, 0]).unwrap();
    let two_128 = Fq::from_limbs([0, 0, 1, 0, 0, 0]).unwrap();
    assert_eq!(cpu::mul(&[two_64], &[two_64]).unwrap(), [two_128]);
    assert_eq!(
        cpu::fma(&[two], &[three], &[p_minus_1]).unwrap(),
        [Fq::from_u64(5)]
    );
}

#[test]
fn oracles_themselves_are_sane() {
    let (two, three) = (Fq::from_u64(2), Fq::from_u64(3));
    assert_eq!(oracle_mul(&[two], &[three]), [Fq::from_u64(6)]);
    assert_eq!(oracle_sub(&[two], &[two]), [Fq::ZERO]);
    assert_eq!(oracle_neg(&[Fq::ZERO]), [Fq::ZERO]);
    assert_eq!(oracle_fma(&[two], &[three], &[Fq::ONE]), [Fq::from_u64(7)]);
    assert_eq!(oracle_square(&[three]), [Fq::from_u64(9)]);
    assert_eq!(oracle_double(&[three]), [Fq::from_u64(6)]);
}
