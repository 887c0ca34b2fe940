//! The CPU path against the big-integer oracle.

mod common;

use common::{batch, edge_pairs, oracle_add, SIZES};
use field_bls12::{cpu, FieldError, Fq};

#[test]
fn cpu_add_matches_oracle_at_every_size() {
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = batch(n, k as u64);
        let got = cpu::add(&a, &b).unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(got, oracle_add(&a, &b), "n = {n}");
    }
}

#[test]
fn cpu_add_edge_values() {
    let (a, b): (Vec<Fq>, Vec<Fq>) = edge_pairs().into_iter().unzip();
    let got = cpu::add(&a, &b).unwrap();
    assert_eq!(got, oracle_add(&a, &b));
    // Spot checks that do not depend on the oracle: (p-1) + 1 = 0, (p-1) + 2 = 1.
    assert_eq!(got[4], Fq::ZERO);
    assert_eq!(got[5], Fq::ONE);
}

#[test]
fn cpu_add_rejects_mismatched_lengths() {
    let err = cpu::add(&[Fq::ONE; 3], &[Fq::ONE; 2]).unwrap_err();
    assert!(
        matches!(
            err,
            FieldError::LengthMismatch {
                op: "add",
                left: 3,
                right: 2
            }
        ),
        "{err}"
    );
    assert!(cpu::add(&[], &[]).unwrap().is_empty());
}

#[test]
fn oracle_itself_is_sane() {
    // Guards the oracle against a shared mistake: check it on values small enough to add by hand.
    let a = [Fq::from_u64(2), Fq::from_u64(u64::MAX)];
    let b = [Fq::from_u64(3), Fq::from_u64(1)];
    let got = oracle_add(&a, &b);
    assert_eq!(got[0], Fq::from_u64(5));
    assert_eq!(got[1], Fq::from_limbs([0, 1, 0, 0, 0, 0]).unwrap());
}
