//! Shared by the integration tests: the vector files under `tests/vectors/`.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use curve_bls12::{G1Affine, G2Affine, SubgroupCheck, G1_EIP2537_BYTES, G2_EIP2537_BYTES};
use eip2537::{G1_MSM_PAIR_BYTES, G2_MSM_PAIR_BYTES};
use serde_json::Value;

const G1: usize = G1_EIP2537_BYTES;
const G2: usize = G2_EIP2537_BYTES;
const G1_PAIR: usize = G1_MSM_PAIR_BYTES;
const G2_PAIR: usize = G2_MSM_PAIR_BYTES;

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn decode_hex(s: &str) -> Vec<u8> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub enum Outcome {
    Success { output: Vec<u8>, gas: Option<u64> },
    Failure(String),
}

pub struct Vector {
    pub name: String,
    pub input: Vec<u8>,
    pub outcome: Outcome,
}

pub fn load(file: &str) -> Vec<Vector> {
    let text = std::fs::read_to_string(vectors_dir().join(file)).expect("vector file");
    let json: Value = serde_json::from_str(&text).expect("vector JSON");
    json.as_array()
        .expect("an array of vectors")
        .iter()
        .map(|v| {
            let field = |k: &str| v.get(k).and_then(Value::as_str);
            let outcome = match (field("Expected"), field("ExpectedError")) {
                (Some(out), None) => Outcome::Success {
                    output: decode_hex(out),
                    gas: v.get("Gas").map(|g| g.as_u64().expect("Gas is an integer")),
                },
                (None, Some(err)) => Outcome::Failure(err.to_owned()),
                _ => panic!("{file}: a vector needs Expected or ExpectedError"),
            };
            Vector {
                name: field("Name").expect("Name").to_owned(),
                input: decode_hex(field("Input").expect("Input")),
                outcome,
            }
        })
        .collect()
}

/// The input of the vector `name` in `file`.
pub fn input_of(file: &str, name: &str) -> Vec<u8> {
    load(file)
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("{file} has no vector {name}"))
        .input
}

/// The first `N`-byte point of a vector's input that is on the curve but not in the
/// subgroup.
pub fn non_subgroup_point<const N: usize>(file: &str, name: &str, stride: usize) -> [u8; N] {
    let input = input_of(file, name);
    input
        .chunks(stride)
        .map(|c| <[u8; N]>::try_from(&c[..N]).unwrap())
        .find(|bytes| {
            if N == G1 {
                G1Affine::from_eip2537(bytes, SubgroupCheck::No).is_ok()
                    && G1Affine::from_eip2537(bytes, SubgroupCheck::Yes).is_err()
            } else {
                G2Affine::from_eip2537(bytes, SubgroupCheck::No).is_ok()
                    && G2Affine::from_eip2537(bytes, SubgroupCheck::Yes).is_err()
            }
        })
        .expect("the vector has a point outside the subgroup")
}

pub fn g1_non_subgroup() -> [u8; G1] {
    non_subgroup_point::<G1>(
        "fail-msm_G1_bls.json",
        "bls_g1msm_g1_not_in_correct_subgroup",
        G1_PAIR,
    )
}

pub fn g2_non_subgroup() -> [u8; G2] {
    non_subgroup_point::<G2>(
        "fail-msm_G2_bls.json",
        "bls_pairing_g2_not_in_correct_subgroup",
        G2_PAIR,
    )
}
