//! The router's MSM (`Router::msm_g1`, `msm_g2` and their `_with` / `execute_` forms): the
//! same point as `curve_bls12::msm_g1` / `msm_g2` on every policy and route, forced splits,
//! CPU fallback on GPU failures reported as such and seen by the circuit breaker, typed
//! errors for bad input with nothing run, and a GPU MSM cost that is unknown until
//! observed. Needs a Vulkan device (lavapipe in CI), with the validation layer on; G2 MSM
//! is slow on lavapipe, so its sizes stay at 33 points and below.

use std::time::Duration;

use curve_bls12::{
    msm_g1, msm_g2, CurveError, G1Affine, G1Projective, G2Affine, G2Projective, Scalar,
};
use field_bls12::{Fq, FqGpu};
use hybrid_exec::{
    BreakerState, GpuStatus, MsmGroup, Policy, Route, Router, RouterConfig, RouterError,
    RouterStats,
};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use vk_backend::test_support::{test_context, TestContext};
use vk_backend::{Error, FaultStage};

/// The sizes compared with the CPU: empty, one point, a few, and past the router's
/// smallest weighed size (256). G2 stops at 33: its GPU MSM is slow on lavapipe.
const G1_SIZES: [usize; 5] = [0, 1, 3, 33, 257];
const G2_SIZES: [usize; 4] = [0, 1, 3, 33];

fn scalar(rng: &mut StdRng) -> Scalar {
    let mut bytes = [0u8; 32];
    rng.fill_bytes(&mut bytes);
    Scalar::from_le_bytes(bytes)
}

/// `n` full 256-bit scalars; a zero and a one among them once there are three.
fn scalars(n: usize, seed: u64) -> Vec<Scalar> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| match i {
            1 if n >= 3 => Scalar::ZERO,
            2 if n >= 3 => Scalar::ONE,
            _ => scalar(&mut rng),
        })
        .collect()
}

/// `n` points: random multiples of the generator, with the identity, P and -P among them
/// once there are four.
macro_rules! points_fn {
    ($name:ident, $Affine:ident, $Projective:ident) => {
        fn $name(n: usize, seed: u64) -> Vec<$Affine> {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut v: Vec<$Affine> = (0..n)
                .map(|_| $Projective::generator().mul(&scalar(&mut rng)).to_affine())
                .collect();
            if n >= 4 {
                v[0] = $Affine::identity();
                v[3] = v[2].neg();
            }
            v
        }
    };
}
points_fn!(g1_points, G1Affine, G1Projective);
points_fn!(g2_points, G2Affine, G2Projective);

fn injected_oom() -> Error {
    Error::OutOfDeviceMemory { call: "injected" }
}

fn router_on(ctx: &TestContext, config: &RouterConfig) -> Router {
    Router::with_gpu(config, Some(FqGpu::new(ctx.arc()).unwrap()))
}

fn with_policy(policy: Policy) -> RouterConfig {
    let mut config = RouterConfig::default();
    config.policy = policy;
    config
}

/// A config whose breaker never opens (for tests that fail the GPU several times).
fn no_breaker() -> RouterConfig {
    let mut config = RouterConfig::default();
    config.breaker.failures = u32::MAX;
    config
}

/// Jobs counted under any route.
fn jobs(s: &RouterStats) -> u64 {
    s.cpu_jobs + s.gpu_jobs + s.split_jobs + s.fallback_jobs
}

#[test]
fn msm_matches_the_cpu_at_every_size_on_every_policy() {
    let Some(ctx) = test_context("msm_matches_the_cpu_at_every_size_on_every_policy") else {
        return;
    };
    for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
        let router = router_on(&ctx, &with_policy(policy));
        for n in G1_SIZES {
            let (p, k) = (g1_points(n, n as u64), scalars(n, 100 + n as u64));
            let want = msm_g1(&p, &k).unwrap();
            assert_eq!(router.msm_g1(&p, &k).unwrap(), want, "G1 {n}, {policy:?}");
        }
        for n in G2_SIZES {
            let (p, k) = (g2_points(n, n as u64), scalars(n, 200 + n as u64));
            let want = msm_g2(&p, &k).unwrap();
            assert_eq!(router.msm_g2(&p, &k).unwrap(), want, "G2 {n}, {policy:?}");
        }
        let stats = router.stats();
        assert_eq!(jobs(&stats), 9, "{policy:?}: {stats:?}");
        assert_eq!(
            (stats.fallback_jobs, stats.gpu_failures, stats.split_jobs),
            (0, 0, 0),
            "{policy:?}: {stats:?}"
        );
        match policy {
            Policy::Cpu => assert_eq!(stats.cpu_jobs, 9, "{stats:?}"),
            // Every MSM with points (an empty one never touches the GPU).
            Policy::Gpu => assert_eq!((stats.gpu_jobs, stats.cpu_jobs), (7, 2), "{stats:?}"),
            // Cold, the GPU's MSM cost is unknown: Auto keeps MSMs on the CPU.
            Policy::Auto => assert_eq!(stats.cpu_jobs, 9, "{stats:?}"),
        }
    }
    // The route-reporting forms agree on the routes.
    let router = router_on(&ctx, &RouterConfig::default());
    let (p, k) = (g1_points(33, 1), scalars(33, 2));
    let want = msm_g1(&p, &k).unwrap();
    for (policy, route) in [
        (Policy::Cpu, Route::Cpu),
        (Policy::Gpu, Route::Gpu),
        (Policy::Auto, Route::Cpu),
    ] {
        assert_eq!(
            router.msm_g1_with(policy, &p, &k).unwrap(),
            (want, route),
            "{policy:?}"
        );
    }
    assert_eq!(
        router.msm_g2_with(Policy::Gpu, &[], &[]).unwrap(),
        (G2Projective::identity(), Route::Cpu),
        "an empty MSM never touches the GPU"
    );
    drop(router);
    ctx.assert_no_validation_messages();
}

#[test]
fn forced_splits_give_the_unsplit_result_and_say_so() {
    let Some(ctx) = test_context("forced_splits_give_the_unsplit_result_and_say_so") else {
        return;
    };
    let router = router_on(&ctx, &RouterConfig::default());
    let (p, k) = (g1_points(257, 3), scalars(257, 4));
    let want = msm_g1(&p, &k).unwrap();
    for (route, ran) in [
        (Route::Split { gpu_len: 1 }, Route::Split { gpu_len: 1 }),
        (Route::Split { gpu_len: 100 }, Route::Split { gpu_len: 100 }),
        (Route::Split { gpu_len: 256 }, Route::Split { gpu_len: 256 }),
        // Past the end: the whole MSM on the GPU, and it says so.
        (Route::Split { gpu_len: 1000 }, Route::Gpu),
        (Route::CpuFallback, Route::Cpu),
    ] {
        assert_eq!(
            router.execute_msm_g1(route, &p, &k).unwrap(),
            (want, ran),
            "{route:?}"
        );
    }
    let (p, k) = (g2_points(33, 5), scalars(33, 6));
    let route = Route::Split { gpu_len: 11 };
    assert_eq!(
        router.execute_msm_g2(route, &p, &k).unwrap(),
        (msm_g2(&p, &k).unwrap(), route)
    );
    let stats = router.stats();
    assert_eq!(
        (
            stats.split_jobs,
            stats.gpu_jobs,
            stats.cpu_jobs,
            stats.gpu_failures
        ),
        (4, 1, 1, 0),
        "{stats:?}"
    );
    drop(router);
    ctx.assert_no_validation_messages();
}

#[test]
fn gpu_failures_are_recomputed_on_the_cpu_and_reported_as_fallbacks() {
    let Some(ctx) = test_context("gpu_failures_are_recomputed_on_the_cpu") else {
        return;
    };
    let router = router_on(&ctx, &no_breaker());
    let (p, k) = (g1_points(33, 7), scalars(33, 8));
    let want = msm_g1(&p, &k).unwrap();
    let mut fallbacks = 0;
    let mut check = |ran: Route, what: &str| {
        fallbacks += 1;
        assert_eq!(ran, Route::CpuFallback, "{what}");
        let stats = router.stats();
        assert_eq!(
            (stats.fallback_jobs, stats.gpu_failures),
            (fallbacks, fallbacks),
            "{what}: {stats:?}"
        );
        assert_eq!(
            stats.cpu_jobs + stats.gpu_jobs + stats.split_jobs,
            0,
            "{what}: a job that fell back is counted as a fallback only: {stats:?}"
        );
        assert!(
            stats.last_failure.as_deref().unwrap().contains("injected"),
            "{what}: {stats:?}"
        );
        assert_eq!(
            stats.breaker,
            BreakerState::Closed {
                failures: fallbacks as u32
            },
            "{what}: the breaker counts MSM failures"
        );
    };
    for stage in [
        FaultStage::Upload,
        FaultStage::Compute,
        FaultStage::Download,
    ] {
        ctx.inject_fault(stage, injected_oom());
        let (sum, ran) = router.msm_g1_with(Policy::Gpu, &p, &k).unwrap();
        assert_eq!(sum, want, "{stage:?}");
        check(ran, &format!("G1 fault at {stage:?}"));
    }
    // A split whose GPU share fails: the CPU recomputes that share.
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    let (sum, ran) = router
        .execute_msm_g1(Route::Split { gpu_len: 20 }, &p, &k)
        .unwrap();
    assert_eq!(sum, want);
    check(ran, "G1 split");
    // G2, and the router's own policy (here the GPU) through `msm_g2`.
    let gpu_router = router_on(&ctx, &with_policy(Policy::Gpu));
    let (p2, k2) = (g2_points(3, 9), scalars(3, 10));
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    assert_eq!(
        gpu_router.msm_g2(&p2, &k2).unwrap(),
        msm_g2(&p2, &k2).unwrap()
    );
    let stats = gpu_router.stats();
    assert_eq!(
        (stats.fallback_jobs, stats.gpu_failures),
        (1, 1),
        "{stats:?}"
    );
    // The next MSM finds the GPU working again.
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (want, Route::Gpu)
    );
    assert_eq!(router.stats().breaker, BreakerState::Closed { failures: 0 });
    assert!(router.msm_gpu_status(MsmGroup::G1).is_ready());
    drop((router, gpu_router));
    ctx.assert_no_validation_messages();
}

#[test]
fn msm_and_fq_failures_share_the_circuit_breaker() {
    let Some(ctx) = test_context("msm_and_fq_failures_share_the_circuit_breaker") else {
        return;
    };
    let mut config = RouterConfig::default();
    config.breaker.failures = 2;
    config.breaker.backoff = Duration::from_secs(600);
    let router = router_on(&ctx, &config);
    let (p, k) = (g1_points(3, 11), scalars(3, 12));
    let want = msm_g1(&p, &k).unwrap();
    // One failed Fq job and one failed MSM: two in a row open the breaker.
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    let (a, b) = (vec![Fq::ONE; 300], vec![Fq::ONE; 300]);
    let (_, ran) = router
        .run_with(
            Policy::Gpu,
            &hybrid_exec::jobs::two_input(|p, x, y| p.add(x, y)).unwrap(),
            &[&a, &b],
        )
        .unwrap();
    assert_eq!(ran, Route::CpuFallback);
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (want, Route::CpuFallback)
    );
    let stats = router.stats();
    assert!(
        matches!(stats.breaker, BreakerState::Open { .. }),
        "{stats:?}"
    );
    assert_eq!(stats.breaker_trips, 1);
    // Open: MSMs run on the CPU without touching the GPU (a fault armed for its next
    // submission stays armed), whatever the policy or forced route.
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (want, Route::Cpu)
    );
    let (p2, k2) = (g2_points(1, 13), scalars(1, 14));
    assert_eq!(
        router
            .execute_msm_g2(Route::Split { gpu_len: 1 }, &p2, &k2)
            .unwrap(),
        (msm_g2(&p2, &k2).unwrap(), Route::Cpu)
    );
    assert_eq!(router.plan_msm(MsmGroup::G1, 1 << 20), Route::Cpu);
    assert!(
        matches!(
            router.msm_gpu_status(MsmGroup::G2),
            GpuStatus::CircuitOpen { .. }
        ),
        "{}",
        router.msm_gpu_status(MsmGroup::G2)
    );
    assert_eq!(router.stats().gpu_failures, 2, "nothing ran on the GPU");
    drop(router);
    ctx.assert_no_validation_messages();
}

#[test]
fn a_lost_device_ends_gpu_msm_for_good() {
    let Some(ctx) = test_context("a_lost_device_ends_gpu_msm_for_good") else {
        return;
    };
    let router = router_on(&ctx, &no_breaker());
    let (p, k) = (g1_points(3, 15), scalars(3, 16));
    let want = msm_g1(&p, &k).unwrap();
    ctx.inject_fault(FaultStage::Compute, Error::DeviceLost { call: "injected" });
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (want, Route::CpuFallback)
    );
    let name = ctx.info().name.clone();
    assert_eq!(router.gpu_status(), GpuStatus::Lost { name: name.clone() });
    assert_eq!(
        router.msm_gpu_status(MsmGroup::G1),
        GpuStatus::Lost { name }
    );
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (want, Route::Cpu)
    );
    assert!(router.stats().last_failure.unwrap().contains("lost"));
}

#[test]
fn mismatched_lengths_are_typed_errors_and_nothing_runs() {
    let Some(ctx) = test_context("mismatched_lengths_are_typed_errors_and_nothing_runs") else {
        return;
    };
    let router = router_on(&ctx, &no_breaker());
    let (p1, p2, k) = (g1_points(3, 17), g2_points(3, 18), scalars(2, 19));
    let before = router.stats();
    // A fault armed for the next submission: if any of the calls below reached the GPU, it
    // would be consumed.
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    let mismatch = |r: Result<(), RouterError>, want_op: &str| match r {
        Err(RouterError::Curve(CurveError::LengthMismatch { op, left, right })) => {
            assert_eq!((op, left, right), (want_op, 3, 2))
        }
        other => panic!("{want_op}: {other:?}"),
    };
    mismatch(router.msm_g1(&p1, &k).map(drop), "msm_g1");
    mismatch(router.msm_g2(&p2, &k).map(drop), "msm_g2");
    for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
        mismatch(router.msm_g1_with(policy, &p1, &k).map(drop), "msm_g1");
        mismatch(router.msm_g2_with(policy, &p2, &k).map(drop), "msm_g2");
    }
    for route in [Route::Cpu, Route::Gpu, Route::Split { gpu_len: 1 }] {
        mismatch(router.execute_msm_g1(route, &p1, &k).map(drop), "msm_g1");
        mismatch(router.execute_msm_g2(route, &p2, &k).map(drop), "msm_g2");
    }
    assert_eq!(router.stats(), before, "an invalid MSM is not counted");
    // The fault is still armed: the next GPU MSM meets it.
    let (p, k) = (g1_points(2, 20), scalars(2, 21));
    assert_eq!(
        router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
        (msm_g1(&p, &k).unwrap(), Route::CpuFallback)
    );
    // Without a GPU too.
    let cpu_only = Router::with_gpu(&RouterConfig::default(), None);
    mismatch(cpu_only.msm_g1(&p1, &k[..2]).map(drop), "msm_g1");
    assert_eq!(jobs(&cpu_only.stats()), 0);
    drop(router);
    ctx.assert_no_validation_messages();
}

#[test]
fn the_gpu_msm_cost_is_unknown_until_observed_then_learned_and_saved() {
    let Some(ctx) = test_context("the_gpu_msm_cost_is_unknown_until_observed") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("hybrid-exec-msm-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = RouterConfig::default();
    config.profile_dir = Some(dir.clone());
    // Splits weighed from the size used here, so that Auto may pick any route below.
    config.co_execute_msm_above = 256;
    let router = router_on(&ctx, &config);
    // Cold: the CPU is priced from the reference machine, the GPU not at all, and Auto
    // plans the CPU at every size.
    for group in [MsmGroup::G1, MsmGroup::G2] {
        for n in [256, 1 << 12, 1 << 16, 1 << 20] {
            let (cpu, gpu) = router.predict_msm(group, n);
            assert!(cpu > Duration::ZERO, "{group} {n}");
            assert_eq!(gpu, None, "{group} {n}");
            assert_eq!(router.plan_msm(group, n), Route::Cpu, "{group} {n}");
        }
    }
    // Forced GPU runs teach the model their size bucket (the first run is dropped as cold,
    // three more make it trusted), and CPU runs the CPU's.
    let n = 300;
    let (p, k) = (g1_points(n, 22), scalars(n, 23));
    let want = msm_g1(&p, &k).unwrap();
    for _ in 0..4 {
        assert_eq!(
            router.msm_g1_with(Policy::Gpu, &p, &k).unwrap(),
            (want, Route::Gpu)
        );
        assert_eq!(
            router.msm_g1_with(Policy::Cpu, &p, &k).unwrap(),
            (want, Route::Cpu)
        );
    }
    let (cpu, gpu) = router.predict_msm(MsmGroup::G1, n);
    let gpu = gpu.expect("observed: priced");
    assert!(
        router.predict_msm(MsmGroup::G1, 1 << 16).1.is_none(),
        "other sizes are still unknown"
    );
    assert!(router.predict_msm(MsmGroup::G2, n).1.is_none(), "G2 too");
    assert_eq!(router.plan_msm(MsmGroup::G2, n), Route::Cpu);
    // Auto now weighs both, and whatever it picks gives the same point.
    let planned = router.plan_msm(MsmGroup::G1, n);
    match planned {
        Route::Gpu => assert!(gpu < cpu, "{gpu:?} against {cpu:?}"),
        Route::Cpu => assert!(cpu <= gpu, "{cpu:?} against {gpu:?}"),
        Route::Split { gpu_len } => assert!((1..n).contains(&gpu_len)),
        Route::CpuFallback => panic!("never planned"),
    }
    let (sum, ran) = router.msm_g1_with(Policy::Auto, &p, &k).unwrap();
    assert_eq!(sum, want);
    assert_ne!(ran, Route::CpuFallback);
    // The samples outlive the router in its calibration profile.
    router.save_profile().unwrap();
    let next = router_on(&ctx, &config);
    assert!(
        next.profile_status().starts_with("loaded"),
        "{}",
        next.profile_status()
    );
    // Equal up to the rounding of times through the profile (a nanosecond in
    // milliseconds was seen in CI).
    let close =
        |a: Duration, b: Duration| a.abs_diff(b) <= a.max(b) / 1_000_000 + Duration::from_nanos(1);
    let (saved, loaded) = (
        router.predict_msm(MsmGroup::G1, n),
        next.predict_msm(MsmGroup::G1, n),
    );
    assert!(close(saved.0, loaded.0), "{saved:?} against {loaded:?}");
    assert!(
        close(
            saved.1.expect("priced"),
            loaded.1.expect("priced after loading")
        ),
        "{saved:?} against {loaded:?}"
    );
    assert_eq!(next.plan_msm(MsmGroup::G1, 1 << 20), Route::Cpu);
    drop((router, next));
    let _ = std::fs::remove_dir_all(&dir);
    ctx.assert_no_validation_messages();
}

#[test]
fn without_a_gpu_every_msm_runs_on_the_cpu() {
    let router = Router::with_gpu(&with_policy(Policy::Gpu), None);
    assert_eq!(router.msm_gpu_status(MsmGroup::G1), GpuStatus::Off);
    assert_eq!(router.plan_msm(MsmGroup::G1, 1 << 20), Route::Cpu);
    for n in G1_SIZES {
        let (p, k) = (g1_points(n, 24), scalars(n, 25));
        let want = msm_g1(&p, &k).unwrap();
        assert_eq!(router.msm_g1(&p, &k).unwrap(), want);
        for route in [Route::Gpu, Route::Split { gpu_len: n / 2 + 1 }] {
            assert_eq!(
                router.execute_msm_g1(route, &p, &k).unwrap(),
                (want, Route::Cpu)
            );
        }
    }
    let (p, k) = (g2_points(3, 26), scalars(3, 27));
    assert_eq!(
        router.msm_g2_with(Policy::Auto, &p, &k).unwrap(),
        (msm_g2(&p, &k).unwrap(), Route::Cpu)
    );
    let stats = router.stats();
    assert_eq!(stats.cpu_jobs, 3 * G1_SIZES.len() as u64 + 1, "{stats:?}");
    assert_eq!(jobs(&stats), stats.cpu_jobs);
}

/// Batches of MSMs (`msm_batch_g1`, `msm_batch_g2`): every policy gives each MSM's own CPU
/// result, in order, with the route that ran; a GPU failure recomputes the batch on the
/// CPU and says so; a mismatched MSM is a typed error naming it, and nothing runs.
#[test]
fn msm_batches_match_the_cpu_on_every_policy_and_fall_back() {
    let Some(ctx) = test_context("msm_batches_match_the_cpu_on_every_policy_and_fall_back") else {
        return;
    };
    let sizes = [0usize, 1, 3, 33, 12, 1];
    let g1: Vec<(Vec<G1Affine>, Vec<Scalar>)> = sizes
        .iter()
        .map(|&n| (g1_points(n, 7 + n as u64), scalars(n, 70 + n as u64)))
        .collect();
    let g2: Vec<(Vec<G2Affine>, Vec<Scalar>)> = sizes[..4]
        .iter()
        .map(|&n| (g2_points(n, 9 + n as u64), scalars(n, 90 + n as u64)))
        .collect();
    let g1_msms: Vec<(&[G1Affine], &[Scalar])> = g1.iter().map(|(p, k)| (&p[..], &k[..])).collect();
    let g2_msms: Vec<(&[G2Affine], &[Scalar])> = g2.iter().map(|(p, k)| (&p[..], &k[..])).collect();
    let g1_want: Vec<G1Projective> = g1.iter().map(|(p, k)| msm_g1(p, k).unwrap()).collect();
    let g2_want: Vec<G2Projective> = g2.iter().map(|(p, k)| msm_g2(p, k).unwrap()).collect();
    let router = router_on(&ctx, &no_breaker());
    for (policy, route) in [
        (Policy::Cpu, Route::Cpu),
        (Policy::Gpu, Route::Gpu),
        // 50 points in all: below the model's smallest size, the CPU.
        (Policy::Auto, Route::Cpu),
    ] {
        assert_eq!(
            router.msm_batch_g1_with(policy, &g1_msms).unwrap(),
            (g1_want.clone(), route),
            "{policy:?}"
        );
        assert_eq!(
            router.msm_batch_g2_with(policy, &g2_msms).unwrap(),
            (g2_want.clone(), route),
            "{policy:?}"
        );
    }
    // Above the model's smallest size: Auto keeps batches on the CPU until GPU batches of
    // about their size have been seen, then weighs both (either route, the same sums).
    let big: Vec<(Vec<G1Affine>, Vec<Scalar>)> = (0..3)
        .map(|m| (g1_points(100, 40 + m), scalars(100, 50 + m)))
        .collect();
    let big_msms: Vec<(&[G1Affine], &[Scalar])> =
        big.iter().map(|(p, k)| (&p[..], &k[..])).collect();
    let big_want: Vec<G1Projective> = big.iter().map(|(p, k)| msm_g1(p, k).unwrap()).collect();
    assert_eq!(
        router.msm_batch_g1_with(Policy::Auto, &big_msms).unwrap(),
        (big_want.clone(), Route::Cpu)
    );
    for _ in 0..4 {
        assert_eq!(
            router.msm_batch_g1_with(Policy::Gpu, &big_msms).unwrap(),
            (big_want.clone(), Route::Gpu)
        );
    }
    let (sums, route) = router.msm_batch_g1_with(Policy::Auto, &big_msms).unwrap();
    assert_eq!(sums, big_want);
    assert!(matches!(route, Route::Cpu | Route::Gpu), "{route:?}");
    let before = router.stats();
    ctx.inject_fault(FaultStage::Compute, injected_oom());
    assert_eq!(
        router.msm_batch_g1_with(Policy::Gpu, &g1_msms).unwrap(),
        (g1_want.clone(), Route::CpuFallback)
    );
    assert_eq!(router.stats().fallback_jobs, before.fallback_jobs + 1);
    let mut bad = g1_msms.clone();
    bad[2].1 = &bad[2].1[1..];
    let before = jobs(&router.stats());
    assert!(matches!(
        router.msm_batch_g1(&bad),
        Err(RouterError::Curve(CurveError::BatchLengthMismatch {
            op: "msm_g1_batch",
            index: 2,
            points: 3,
            scalars: 2
        }))
    ));
    assert_eq!(jobs(&router.stats()), before);
    drop(router);
    ctx.assert_no_validation_messages();
}
