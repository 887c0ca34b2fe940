//! Every official EIP-2537 test vector (`tests/vectors/`, copied from the EIP's assets;
//! `msm_G2_generated.json` from py_ecc): each success vector's output equals `Expected`
//! and its gas equals `Gas`; each failure vector fails with the typed error its
//! `ExpectedError` names, at an offset inside the input.

mod common;

use std::time::Instant;

use common::{load, vectors_dir, Outcome};

use eip2537::gas::{G1_MSM_DISCOUNTS, G1_MSM_MAX_DISCOUNT, G2_MSM_DISCOUNTS, G2_MSM_MAX_DISCOUNT};
use eip2537::{call, gas, Group, InputLength, Precompile, PrecompileError};

/// Whether `err` is the error an `ExpectedError` string names.
fn is_expected_error(err: &PrecompileError, expected: &str) -> bool {
    use PrecompileError::*;
    match expected {
        "invalid input length" => matches!(err, InvalidInputLength { .. }),
        "invalid fp.Element encoding" => matches!(err, FieldElementNotCanonical { .. }),
        "invalid field element top bytes" => matches!(err, FieldElementTopBytes { .. }),
        "invalid point: not on curve" => matches!(err, NotOnCurve { .. }),
        "g1 point is not in the correct subgroup" => {
            matches!(err, NotInSubgroup { point, .. } if point.group == Group::G1)
        }
        "g2 point is not in the correct subgroup" => {
            matches!(err, NotInSubgroup { point, .. } if point.group == Group::G2)
        }
        other => panic!("unknown ExpectedError {other:?}"),
    }
}

/// The number of pairs (or operands) of an input of a valid length.
fn units(precompile: Precompile, len: usize) -> usize {
    match precompile.input_length() {
        InputLength::Exactly(_) => 2,
        InputLength::PositiveMultipleOf(n) => len / n,
    }
}

/// Runs every vector of `file` through `precompile`; returns how many ran.
fn run_file(file: &str, precompile: Precompile) -> usize {
    let start = Instant::now();
    let vectors = load(file);
    assert!(!vectors.is_empty(), "{file} has no vectors");
    for v in &vectors {
        let result = call(precompile, &v.input);
        match &v.outcome {
            Outcome::Success { output, gas: g } => {
                assert_eq!(
                    result.as_deref(),
                    Ok(output.as_slice()),
                    "{file}: {}",
                    v.name
                );
                assert_eq!(output.len(), precompile.output_len(), "{file}: {}", v.name);
                if let Some(g) = g {
                    assert_eq!(gas(precompile, v.input.len()), Ok(*g), "{file}: {}", v.name);
                }
            }
            Outcome::Failure(expected) => {
                let err = result.expect_err(&format!("{file}: {} must fail", v.name));
                assert!(
                    is_expected_error(&err, expected),
                    "{file}: {}: expected {expected:?}, got {err:?} ({err})",
                    v.name
                );
                if let Some(offset) = err.offset() {
                    assert!(offset < v.input.len(), "{file}: {}: {err:?}", v.name);
                }
                if let Some(point) = err.point() {
                    assert!(
                        point.index < units(precompile, v.input.len()),
                        "{file}: {}: {err:?}",
                        v.name
                    );
                }
                // The gas function never fails on these lengths (the EIP: it does not
                // validate).
                assert!(gas(precompile, v.input.len()).is_ok());
            }
        }
    }
    eprintln!(
        "{file}: {} vectors in {:.2?}",
        vectors.len(),
        start.elapsed()
    );
    vectors.len()
}

#[test]
fn g1_add() {
    assert_eq!(run_file("add_G1_bls.json", Precompile::G1Add), 9);
    assert_eq!(run_file("fail-add_G1_bls.json", Precompile::G1Add), 7);
}

#[test]
fn g2_add() {
    assert_eq!(run_file("add_G2_bls.json", Precompile::G2Add), 9);
    assert_eq!(run_file("fail-add_G2_bls.json", Precompile::G2Add), 7);
}

#[test]
fn g1_mul_through_msm() {
    assert_eq!(run_file("mul_G1_bls.json", Precompile::G1Msm), 11);
    assert_eq!(run_file("fail-mul_G1_bls.json", Precompile::G1Msm), 8);
}

#[test]
fn g2_mul_through_msm() {
    assert_eq!(run_file("mul_G2_bls.json", Precompile::G2Msm), 11);
    assert_eq!(run_file("fail-mul_G2_bls.json", Precompile::G2Msm), 8);
}

#[test]
fn g1_msm() {
    assert_eq!(run_file("msm_G1_bls.json", Precompile::G1Msm), 163);
    assert_eq!(run_file("fail-msm_G1_bls.json", Precompile::G1Msm), 8);
}

#[test]
fn g2_msm() {
    assert_eq!(run_file("msm_G2_generated.json", Precompile::G2Msm), 7);
    assert_eq!(run_file("fail-msm_G2_bls.json", Precompile::G2Msm), 8);
}

#[test]
fn pairing_check() {
    assert_eq!(
        run_file("pairing_check_bls.json", Precompile::PairingCheck),
        15
    );
    assert_eq!(
        run_file("fail-pairing_check_bls.json", Precompile::PairingCheck),
        25
    );
}

#[test]
fn map_fp_to_g1() {
    assert_eq!(run_file("map_fp_to_G1_bls.json", Precompile::MapFpToG1), 5);
    assert_eq!(
        run_file("fail-map_fp_to_G1_bls.json", Precompile::MapFpToG1),
        5
    );
}

#[test]
fn map_fp2_to_g2() {
    assert_eq!(
        run_file("map_fp2_to_G2_bls.json", Precompile::MapFp2ToG2),
        5
    );
    assert_eq!(
        run_file("fail-map_fp2_to_G2_bls.json", Precompile::MapFp2ToG2),
        5
    );
}

/// Every vector file is run by a test above.
#[test]
fn every_vector_file_is_covered() {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "add_G1_bls.json",
            "add_G2_bls.json",
            "fail-add_G1_bls.json",
            "fail-add_G2_bls.json",
            "fail-map_fp2_to_G2_bls.json",
            "fail-map_fp_to_G1_bls.json",
            "fail-msm_G1_bls.json",
            "fail-msm_G2_bls.json",
            "fail-mul_G1_bls.json",
            "fail-mul_G2_bls.json",
            "fail-pairing_check_bls.json",
            "map_fp2_to_G2_bls.json",
            "map_fp_to_G1_bls.json",
            "msm_G1_bls.json",
            "msm_G2_generated.json",
            "mul_G1_bls.json",
            "mul_G2_bls.json",
            "pairing_check_bls.json",
        ]
    );
}

/// The discount tables in `eip2537::gas` are the EIP text's, entry for entry (the EIP's
/// text is kept beside the vectors).
#[test]
fn discount_tables_match_the_eip_text() {
    let text = std::fs::read_to_string(vectors_dir().join("eip-2537.md")).unwrap();
    for (heading, table, max) in [
        ("##### G1 discounts", &G1_MSM_DISCOUNTS, G1_MSM_MAX_DISCOUNT),
        ("##### G2 discounts", &G2_MSM_DISCOUNTS, G2_MSM_MAX_DISCOUNT),
    ] {
        let section = &text[text.find(heading).expect(heading)..];
        let list = &section[section.find("[[").unwrap()..section.find("]]").unwrap() + 2];
        let parsed: Vec<[u16; 2]> = serde_json::from_str(list).unwrap();
        assert_eq!(parsed, table.to_vec(), "{heading}");
        let max_line = section
            .lines()
            .find(|l| l.starts_with("`max_discount = "))
            .unwrap();
        assert_eq!(max_line, format!("`max_discount = {max}`"), "{heading}");
    }
}
