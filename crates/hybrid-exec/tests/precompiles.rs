//! The EIP-2537 precompiles through the router (`Router::precompile`,
//! `Router::execute_block`): every official vector (`crates/eip2537/tests/vectors`) passes
//! on every policy, one call at a time and all in one block, with the G1 and G2 MSMs on
//! the GPU under `Policy::Gpu`; and blocks that mix valid calls with mangled ones return
//! for each call exactly what `eip2537::call` returns for it alone. Needs a Vulkan device
//! (lavapipe in CI), with the validation layer on.
//!
//! Timing (debug build, lavapipe with validation required, 2 cores): the one-at-a-time
//! pass under `Policy::Gpu` (192 GPU MSMs, up to 149 G1 points and 32 G2 points) took
//! 5.8 s, the block pass 5.8 s, so both run every vector.

use std::path::{Path, PathBuf};

use eip2537::{Precompile, PrecompileError};
use field_bls12::FqGpu;
use hybrid_exec::{Policy, Router, RouterConfig, RouterStats};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use vk_backend::test_support::{test_context, TestContext};

const POLICIES: [Policy; 3] = [Policy::Cpu, Policy::Gpu, Policy::Auto];

/// One vector of a file.
#[derive(Debug, Clone)]
struct Vector {
    file: String,
    precompile: Precompile,
    name: String,
    input: Vec<u8>,
    /// The output; `None` for an `ExpectedError` vector, which must fail.
    expected: Option<Vec<u8>>,
    gas: Option<u64>,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../eip2537/tests/vectors")
}

fn decode_hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// The precompile of a vector file, by the EIP's asset names.
fn precompile_of(file: &str) -> Precompile {
    let stem = file.strip_prefix("fail-").unwrap_or(file);
    [
        ("add_G1", Precompile::G1Add),
        ("add_G2", Precompile::G2Add),
        ("mul_G1", Precompile::G1Msm),
        ("msm_G1", Precompile::G1Msm),
        ("mul_G2", Precompile::G2Msm),
        ("msm_G2", Precompile::G2Msm),
        ("pairing_check", Precompile::PairingCheck),
        ("map_fp_to_G1", Precompile::MapFpToG1),
        ("map_fp2_to_G2", Precompile::MapFp2ToG2),
    ]
    .into_iter()
    .find(|(prefix, _)| stem.starts_with(prefix))
    .unwrap_or_else(|| panic!("{file}: no precompile for this file name"))
    .1
}

/// Every vector of every file, files in name order.
fn all_vectors() -> Vec<Vector> {
    let mut files: Vec<String> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| f.ends_with(".json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 18, "{files:?}");
    let mut out = Vec::new();
    for file in files {
        let precompile = precompile_of(&file);
        let text = std::fs::read_to_string(vectors_dir().join(&file)).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        for v in json.as_array().unwrap() {
            let field = |k: &str| v.get(k).and_then(Value::as_str);
            out.push(Vector {
                file: file.clone(),
                precompile,
                name: field("Name").unwrap().to_owned(),
                input: decode_hex(field("Input").unwrap()),
                expected: field("Expected").map(decode_hex),
                gas: v.get("Gas").and_then(Value::as_u64),
            });
        }
    }
    out
}

/// `result` is what vector `v` expects: its output and gas, or a failure, the same one
/// `eip2537::call` gives.
fn check(v: &Vector, result: &Result<Vec<u8>, PrecompileError>, how: &str) {
    let at = format!("{} {} ({how})", v.file, v.name);
    match &v.expected {
        Some(out) => {
            assert_eq!(result.as_ref(), Ok(out), "{at}");
            if let Some(g) = v.gas {
                assert_eq!(eip2537::gas(v.precompile, v.input.len()), Ok(g), "{at}");
            }
        }
        None => {
            assert!(result.is_err(), "{at}: must fail, gave {result:?}");
            assert_eq!(result, &eip2537::call(v.precompile, &v.input), "{at}");
        }
    }
}

fn router_on(ctx: &TestContext, policy: Policy) -> Router {
    let mut config = RouterConfig::default();
    config.policy = policy;
    Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap()))
}

/// The vectors that reach the router's MSM: G1MSM and G2MSM calls whose input decodes.
fn routed_msms(vectors: &[Vector]) -> u64 {
    vectors
        .iter()
        .filter(|v| matches!(v.precompile, Precompile::G1Msm | Precompile::G2Msm))
        .filter(|v| v.expected.is_some())
        .count() as u64
}

fn assert_no_gpu_trouble(stats: &RouterStats, policy: Policy) {
    assert_eq!(
        (stats.fallback_jobs, stats.gpu_failures, stats.split_jobs),
        (0, 0, 0),
        "{policy:?}: {stats:?}"
    );
}

#[test]
fn every_vector_passes_one_call_at_a_time_on_every_policy() {
    let Some(ctx) = test_context("every_vector_passes_one_call_at_a_time_on_every_policy") else {
        return;
    };
    let vectors = all_vectors();
    let msms = routed_msms(&vectors);
    assert_eq!(msms, 192);
    for policy in POLICIES {
        let router = router_on(&ctx, policy);
        let start = std::time::Instant::now();
        for v in &vectors {
            check(
                v,
                &router.precompile(v.precompile, &v.input),
                &format!("{policy:?}"),
            );
        }
        eprintln!(
            "{policy:?}: {} vectors one at a time in {:.2?}",
            vectors.len(),
            start.elapsed()
        );
        let stats = router.stats();
        assert_no_gpu_trouble(&stats, policy);
        assert_eq!(
            stats.cpu_jobs + stats.gpu_jobs,
            msms,
            "{policy:?}: {stats:?}"
        );
        match policy {
            Policy::Cpu => assert_eq!(stats.gpu_jobs, 0, "{stats:?}"),
            Policy::Gpu => assert_eq!(stats.gpu_jobs, msms, "{stats:?}"),
            Policy::Auto => {}
        }
    }
    ctx.assert_no_validation_messages();
}

#[test]
fn every_vector_passes_in_one_block_on_every_policy() {
    let Some(ctx) = test_context("every_vector_passes_in_one_block_on_every_policy") else {
        return;
    };
    let vectors = all_vectors();
    let calls: Vec<(Precompile, &[u8])> = vectors
        .iter()
        .map(|v| (v.precompile, &v.input[..]))
        .collect();
    for policy in POLICIES {
        let router = router_on(&ctx, policy);
        let start = std::time::Instant::now();
        let results = router.execute_block(&calls);
        eprintln!(
            "{policy:?}: {} vectors in one block in {:.2?}",
            vectors.len(),
            start.elapsed()
        );
        assert_eq!(results.len(), vectors.len());
        for (v, result) in vectors.iter().zip(&results) {
            check(v, result, &format!("{policy:?}, block"));
        }
        // One batch per group.
        let stats = router.stats();
        assert_no_gpu_trouble(&stats, policy);
        assert_eq!(stats.cpu_jobs + stats.gpu_jobs, 2, "{policy:?}: {stats:?}");
        match policy {
            Policy::Cpu => assert_eq!(stats.gpu_jobs, 0, "{stats:?}"),
            Policy::Gpu => assert_eq!(stats.gpu_jobs, 2, "{stats:?}"),
            Policy::Auto => {}
        }
    }
    ctx.assert_no_validation_messages();
}

/// A call built from a vector's input: as is, or mangled. Returns the call and what was
/// done to it.
/// Three in four come from vectors that succeed.
fn random_call(rng: &mut StdRng, sources: &[&Vector]) -> (Precompile, Vec<u8>, String) {
    let want_valid = rng.gen_bool(0.75);
    let pool: Vec<&Vector> = sources
        .iter()
        .copied()
        .filter(|v| v.expected.is_some() == want_valid)
        .collect();
    let v = pool[rng.gen_range(0..pool.len())];
    let mut input = v.input.clone();
    let mut precompile = v.precompile;
    let how = match rng.gen_range(0..6) {
        0 | 1 => "as is".to_owned(),
        2 if !input.is_empty() => {
            let (at, mask) = (rng.gen_range(0..input.len()), rng.gen_range(1..=255u8));
            input[at] ^= mask;
            format!("byte {at} ^= {mask:#04x}")
        }
        3 if !input.is_empty() => {
            let len = rng.gen_range(0..input.len());
            input.truncate(len);
            format!("truncated to {len}")
        }
        4 => {
            // Repeating the input keeps an MSM's or pairing's length valid.
            if rng.gen_bool(0.5) {
                input.extend_from_within(..);
                "repeated".to_owned()
            } else {
                let n = rng.gen_range(1..=300);
                input.extend((0..n).map(|_| rng.gen::<u8>()));
                format!("extended by {n} random bytes")
            }
        }
        _ => {
            precompile = Precompile::ALL[rng.gen_range(0..Precompile::ALL.len())];
            format!("sent to {precompile}")
        }
    };
    (precompile, input, format!("{} {}: {how}", v.file, v.name))
}

/// The property of `Router::execute_block`: each result is what `eip2537::call` gives for
/// that call alone, whatever the block around it. A seeded loop rather than proptest
/// (hybrid-exec has no proptest dev-dependency): 8 blocks of 1 to 16 calls per policy,
/// from vector inputs (up to 12 G1 or 7 G2 MSM pairs, to keep lavapipe fast; three in four
/// from vectors that succeed), a third as they are, the rest with a byte flipped,
/// truncated, extended or sent to another precompile.
#[test]
fn blocks_of_valid_and_mangled_calls_give_what_each_call_gives_alone() {
    let Some(ctx) =
        test_context("blocks_of_valid_and_mangled_calls_give_what_each_call_gives_alone")
    else {
        return;
    };
    let vectors = all_vectors();
    let sources: Vec<&Vector> = vectors.iter().filter(|v| v.input.len() <= 2048).collect();
    for policy in POLICIES {
        let router = router_on(&ctx, policy);
        let mut rng = StdRng::seed_from_u64(2537);
        let (mut ok, mut failed) = (0, 0);
        for case in 0..8 {
            let n = rng.gen_range(1..=16);
            let block: Vec<(Precompile, Vec<u8>, String)> =
                (0..n).map(|_| random_call(&mut rng, &sources)).collect();
            let calls: Vec<(Precompile, &[u8])> =
                block.iter().map(|(p, input, _)| (*p, &input[..])).collect();
            let results = router.execute_block(&calls);
            assert_eq!(results.len(), n);
            for (i, ((p, input, how), result)) in block.iter().zip(&results).enumerate() {
                assert_eq!(
                    result,
                    &eip2537::call(*p, input),
                    "{policy:?}, case {case}, call {i} of {n} ({p}, {how})"
                );
                if result.is_ok() {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
        }
        // The blocks hold both kinds of call, and MSMs that reach the router.
        assert!(ok > 5 && failed > 5, "{ok} succeeded, {failed} failed");
        let stats = router.stats();
        assert_no_gpu_trouble(&stats, policy);
        assert!(stats.cpu_jobs + stats.gpu_jobs > 0, "{policy:?}: {stats:?}");
        if policy == Policy::Gpu {
            assert_eq!(stats.cpu_jobs, 0, "{stats:?}");
        }
        eprintln!("{policy:?}: {ok} calls succeeded, {failed} failed, {stats:?}");
    }
    ctx.assert_no_validation_messages();
}

/// A G1 point on the curve outside the prime-order subgroup, EIP-2537-encoded: blst
/// decompresses public keys without the subgroup check.
fn g1_outside_subgroup() -> Vec<u8> {
    let mut x = [0u8; 48];
    (1u8..)
        .find_map(|i| {
            x[47] = i;
            x[0] = 0x80;
            let xy = blst::min_pk::PublicKey::uncompress(&x).ok()?.serialize();
            let mut eip = vec![0u8; 128];
            eip[16..64].copy_from_slice(&xy[..48]);
            eip[80..].copy_from_slice(&xy[48..]);
            let p =
                curve_bls12::G1Affine::from_eip2537(&eip, curve_bls12::SubgroupCheck::No).ok()?;
            (!p.is_in_subgroup()).then_some(eip)
        })
        .expect("a point outside the subgroup")
}

/// The block engine checks the subgroup of all its MSM points together (on the GPU under
/// `Policy::Gpu`); a call with a point outside fails alone with exactly the single call's
/// error, also when another error comes before or after it in the same input.
#[test]
fn points_outside_the_subgroup_fail_their_call_alone_on_every_policy() {
    let Some(ctx) =
        test_context("points_outside_the_subgroup_fail_their_call_alone_on_every_policy")
    else {
        return;
    };
    let outside = g1_outside_subgroup();
    let g = curve_bls12::G1Projective::generator();
    let pair = |i: u64, point: &[u8]| -> Vec<u8> {
        let mut k = [0u8; 32];
        k[24..].copy_from_slice(&(i * 0x9e37_79b9 + 1).to_be_bytes());
        [point, &k[..]].concat()
    };
    let valid_point = |i: u64| {
        g.mul(&curve_bls12::Scalar::from_u64(i + 2))
            .to_affine()
            .to_eip2537()
    };
    let call = |outside_at: Option<usize>, bad_field_at: Option<usize>, pairs: usize| {
        (0..pairs)
            .flat_map(|j| {
                let mut point = valid_point(j as u64).to_vec();
                if outside_at == Some(j) {
                    point.clone_from(&outside);
                }
                if bad_field_at == Some(j) {
                    point[5] = 1; // a non-zero byte in a field element's top 16
                }
                pair(j as u64, &point)
            })
            .collect::<Vec<u8>>()
    };
    let inputs = [
        call(None, None, 5),
        call(Some(2), None, 5),
        call(None, None, 3),
        call(Some(0), Some(3), 4), // outside first, then a bad field element
        call(Some(3), Some(1), 4), // a bad field element first
        call(Some(0), None, 1),
        call(None, None, 7),
    ];
    let calls: Vec<(Precompile, &[u8])> =
        inputs.iter().map(|i| (Precompile::G1Msm, &i[..])).collect();
    for policy in POLICIES {
        let router = router_on(&ctx, policy);
        let results = router.execute_block(&calls);
        for (i, ((p, input), result)) in calls.iter().zip(&results).enumerate() {
            assert_eq!(result, &eip2537::call(*p, input), "{policy:?}, call {i}");
        }
        let failed: Vec<usize> = (0..results.len())
            .filter(|&i| results[i].is_err())
            .collect();
        assert_eq!(failed, [1, 3, 4, 5], "{policy:?}");
        assert!(
            matches!(results[3], Err(PrecompileError::NotInSubgroup { .. })),
            "{:?}",
            results[3]
        );
        assert_no_gpu_trouble(&router.stats(), policy);
    }
    ctx.assert_no_validation_messages();
}

/// A GPU failure in a block's MSM batch (the batch with its subgroup checks, under
/// `Policy::Gpu`), at each stage of a submission: every call still gets exactly its
/// single-call result, the failing points' calls their error, and the router counts the
/// failure.
#[test]
fn a_gpu_failure_in_a_blocks_msm_batch_changes_no_result() {
    let Some(ctx) = test_context("a_gpu_failure_in_a_blocks_msm_batch_changes_no_result") else {
        return;
    };
    let outside = g1_outside_subgroup();
    let g1 = curve_bls12::G1Projective::generator();
    let g2 = curve_bls12::G2Projective::generator();
    let scalar = |i: u64| {
        let mut k = [0u8; 32];
        k[24..].copy_from_slice(&(i * 0x9e37_79b9 + 5).to_be_bytes());
        k
    };
    let g1_call = |n: u64, outside_at: Option<u64>| -> Vec<u8> {
        (0..n)
            .flat_map(|j| {
                let point = if outside_at == Some(j) {
                    outside.clone()
                } else {
                    g1.mul(&curve_bls12::Scalar::from_u64(j + 3))
                        .to_affine()
                        .to_eip2537()
                        .to_vec()
                };
                [point, scalar(j).to_vec()].concat()
            })
            .collect()
    };
    let g2_call = |n: u64| -> Vec<u8> {
        (0..n)
            .flat_map(|j| {
                let point = g2.mul(&curve_bls12::Scalar::from_u64(j + 7)).to_affine();
                [point.to_eip2537().to_vec(), scalar(j).to_vec()].concat()
            })
            .collect()
    };
    let inputs = [
        (Precompile::G1Msm, g1_call(5, None)),
        (Precompile::G2Msm, g2_call(3)),
        (Precompile::G1Msm, g1_call(4, Some(1))),
        (Precompile::G1Msm, g1_call(33, None)),
        (Precompile::G2Msm, g2_call(1)),
    ];
    let calls: Vec<(Precompile, &[u8])> = inputs.iter().map(|(p, i)| (*p, &i[..])).collect();
    let want: Vec<_> = calls.iter().map(|&(p, i)| eip2537::call(p, i)).collect();
    assert!(want[2].is_err() && want.iter().filter(|r| r.is_err()).count() == 1);
    let router = router_on(&ctx, Policy::Gpu);
    for (n, stage) in [
        vk_backend::FaultStage::Upload,
        vk_backend::FaultStage::Compute,
        vk_backend::FaultStage::Download,
    ]
    .into_iter()
    .enumerate()
    {
        ctx.inject_fault(
            stage,
            vk_backend::Error::OutOfDeviceMemory { call: "injected" },
        );
        assert_eq!(router.execute_block(&calls), want, "{stage:?}");
        let stats = router.stats();
        assert!(stats.gpu_failures > n as u64, "{stage:?}: {stats:?}");
        assert!(
            stats.last_failure.as_deref().unwrap().contains("injected"),
            "{stage:?}: {stats:?}"
        );
    }
    ctx.assert_no_validation_messages();
}
