//! CI's soak: the built `hybrid-exec soak` for 20 s from two threads, with the Vulkan
//! validation layer required. It must pass (exit 0), run jobs of every kind, and find no
//! mismatch, validation message or leak, nor more threads submitting GPU work than it has.

use std::process::Command;
use std::time::Instant;

use vk_backend::test_support::ENV_SKIP_GPU_TESTS;
use vk_backend::{ENV_PIPELINE_CACHE, ENV_VALIDATION};

#[test]
fn a_short_soak_finds_no_mismatch_validation_message_or_leak() {
    let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("soak.json");
    let mut soak = Command::new(env!("CARGO_BIN_EXE_hybrid-exec"));
    soak.args(["soak", "--seconds", "20", "--threads", "2", "--json"])
        .arg(&report)
        .env("HYBRID_EXEC_PROFILE", "off");
    // Validation required unless the caller chose otherwise; no pipeline cache file.
    for (var, value) in [(ENV_VALIDATION, "require"), (ENV_PIPELINE_CACHE, "off")] {
        if std::env::var_os(var).is_none() {
            soak.env(var, value);
        }
    }
    let gpu = std::env::var(ENV_SKIP_GPU_TESTS).as_deref() != Ok("1");
    if !gpu {
        eprintln!("SKIPPED the GPU: {ENV_SKIP_GPU_TESTS}=1; soaking the CPU paths only");
        soak.env(hybrid_exec::ENV_BACKEND, "off");
    }
    let started = Instant::now();
    let out = soak.output().expect("hybrid-exec runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "soak took {:.1} s:\n{stdout}{}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the soak failed: {}", out.status);
    assert!(stdout.contains("soak: PASSED"));

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the soak wrote its report"))
            .expect("the report is JSON");
    assert!(report["jobs"].as_u64() > Some(0), "no job ran");
    assert_eq!(report["mismatches"], 0);
    assert_eq!(report["unexpected_failures"], 0);
    let kinds: Vec<&str> = report["jobs_by_route"]
        .as_array()
        .expect("jobs by route")
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    if gpu {
        let device = report["gpu"].as_str().unwrap_or_default();
        assert!(!device.starts_with("none"), "the soak had no GPU: {device}");
        for kind in ["slice", "host", "resident"] {
            assert!(kinds.contains(&kind), "no {kind} job ran");
        }
        assert_eq!(
            report["validation_messages"].as_array().map(Vec::len),
            Some(0)
        );
        assert_eq!(report["live_allocations_after_drop"], 0);
        // Split jobs would add a thread each if they spawned one.
        let threads = report["submitting_threads"].as_u64().expect("a count");
        assert!(threads <= report["submitting_threads_allowed"].as_u64().unwrap());
    } else {
        assert!(kinds.iter().all(|k| *k == "slice"));
    }
}
