//! The router: same bits on every route, CPU fallback at every GPU stage reported as such,
//! the circuit breaker, the single operations, cold-start routes, profiles.

use std::time::Duration;

use field_bls12::{cpu, FieldError, Fq, FqGpu, FqProgram, HostFqVec};
use hybrid_exec::{
    BreakerState, GpuStatus, Policy, ProfileError, Route, Router, RouterConfig, RouterError,
};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vk_backend::test_support::{test_context, TestContext};
use vk_backend::{Error, FaultStage};

fn random(n: usize, seed: u64) -> Vec<Fq> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fq::random(&mut rng)).collect()
}

/// x = a; five times { x = x * b + a }: the 10-operation chain.
fn chain10() -> FqProgram {
    hybrid_exec::jobs::chain10().unwrap()
}

fn add_program() -> FqProgram {
    hybrid_exec::jobs::two_input(|p, x, y| p.add(x, y)).unwrap()
}

fn chain10_by_ops(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let mut x = a.to_vec();
    for _ in 0..5 {
        x = cpu::add(&cpu::mul(&x, b).unwrap(), a).unwrap();
    }
    x
}

fn timeout() -> Error {
    Error::Timeout {
        call: "injected",
        after: Duration::from_millis(1),
    }
}

fn router_on(ctx: &TestContext, config: &RouterConfig) -> Router {
    Router::with_gpu(config, Some(FqGpu::new(ctx.arc()).unwrap()))
}

/// A config whose breaker never opens in these tests (for tests of other things that fail
/// the GPU several times in a row).
fn no_breaker() -> RouterConfig {
    let mut config = RouterConfig::default();
    config.breaker.failures = u32::MAX;
    config
}

#[test]
fn every_route_gives_the_same_bits_and_reports_the_route_that_ran() {
    let Some(ctx) = test_context("every_route_gives_the_same_bits") else {
        return;
    };
    let router = router_on(&ctx, &RouterConfig::default());
    for n in [0usize, 1, 63, 1000, 4099] {
        let (a, b) = (random(n, 1 + n as u64), random(n, 2 + n as u64));
        let want = chain10_by_ops(&a, &b);
        let mut routes = vec![Route::Cpu, Route::Gpu, Route::CpuFallback];
        if n > 2 {
            routes.extend([
                Route::Split { gpu_len: 1 },
                Route::Split { gpu_len: n / 3 },
                Route::Split { gpu_len: n - 1 },
            ]);
        }
        for route in routes {
            let (out, ran) = router.execute(route, &chain10(), &[&a, &b]).unwrap();
            assert_eq!(out, want, "n = {n}, {route:?}");
            let expected = match route {
                // An empty job does nothing on the GPU; a forced fallback is a CPU job.
                _ if n == 0 => Route::Cpu,
                Route::CpuFallback => Route::Cpu,
                r => r,
            };
            assert_eq!(ran, expected, "n = {n}, {route:?}");
        }
        for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
            assert_eq!(
                router.run_with(policy, &chain10(), &[&a, &b]).unwrap().0,
                want,
                "n = {n}, {policy:?}"
            );
        }
    }
    // A split past the end is the whole job on the GPU, and says so.
    let (a, b) = (random(300, 3), random(300, 4));
    let (out, ran) = router
        .execute(Route::Split { gpu_len: 1000 }, &chain10(), &[&a, &b])
        .unwrap();
    assert_eq!((out, ran), (chain10_by_ops(&a, &b), Route::Gpu));
    let stats = router.stats();
    assert_eq!(
        (stats.gpu_failures, stats.fallback_jobs),
        (0, 0),
        "{stats:?}"
    );
    assert!(
        stats.cpu_jobs > 0 && stats.gpu_jobs > 0 && stats.split_jobs > 0,
        "{stats:?}"
    );
    assert_eq!(stats.breaker, BreakerState::Closed { failures: 0 });
}

/// A split job runs its GPU share on the calling thread: a thread per job would leave the
/// NVIDIA driver state for each, released slowly when the context closes (40,000 split
/// jobs took 29 s to close on the H200).
#[test]
fn split_jobs_submit_from_the_callers_thread_not_one_thread_each() {
    let Some(ctx) = test_context("split_jobs_submit_from_the_callers_thread") else {
        return;
    };
    let router = router_on(&ctx, &RouterConfig::default());
    let (a, b) = (random(257, 5), random(257, 6));
    let want = chain10_by_ops(&a, &b);
    for gpu_len in 1..=64 {
        let route = Route::Split { gpu_len };
        let (out, ran) = router.execute(route, &chain10(), &[&a, &b]).unwrap();
        assert_eq!((out, ran), (want.clone(), route));
    }
    // This thread, and the copy pool's where uploads are parallel: fewer than one per job.
    let threads = ctx.submitting_threads();
    assert!((1..64).contains(&threads), "{threads} submitting threads");
}

#[test]
fn gpu_failures_at_every_stage_fall_back_to_the_cpu_and_say_so() {
    let Some(ctx) = test_context("gpu_failures_at_every_stage_fall_back_to_the_cpu") else {
        return;
    };
    let router = router_on(&ctx, &no_breaker());
    let (a, b) = (random(777, 5), random(777, 6));
    let want = chain10_by_ops(&a, &b);
    let faults = [
        (
            FaultStage::Upload,
            Error::OutOfDeviceMemory { call: "injected" },
        ),
        (FaultStage::Compute, timeout()),
        (FaultStage::Download, timeout()),
    ];
    for (i, (stage, err)) in faults.into_iter().enumerate() {
        ctx.inject_fault(stage, err);
        let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
        assert_eq!(route, Route::CpuFallback, "fault at {stage:?}");
        assert_eq!(out, want, "fault at {stage:?}: every element still right");
        let stats = router.stats();
        assert_eq!(stats.gpu_failures, i as u64 + 1);
        assert_eq!(stats.fallback_jobs, i as u64 + 1);
        assert_eq!(stats.gpu_jobs, 0, "a job that fell back is no GPU job");
        assert!(
            router.gpu_status().is_ready(),
            "a transient failure keeps the GPU in service: {}",
            router.gpu_status()
        );
    }
    // A split whose GPU half fails: the CPU redoes that half, in order.
    ctx.inject_fault(
        FaultStage::Compute,
        Error::OutOfDeviceMemory { call: "injected" },
    );
    let (out, route) = router
        .execute(Route::Split { gpu_len: 300 }, &chain10(), &[&a, &b])
        .unwrap();
    assert_eq!((out, route), (want.clone(), Route::CpuFallback));
    assert_eq!(router.stats().split_jobs, 0);
    assert_eq!(router.stats().fallback_jobs, 4);
    // A lost device: the job still completes, and no GPU work is offered afterwards.
    ctx.inject_fault(FaultStage::Compute, Error::DeviceLost { call: "injected" });
    let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!((&out, route), (&want, Route::CpuFallback));
    let name = ctx.info().name.clone();
    assert_eq!(router.gpu_status(), GpuStatus::Lost { name });
    assert!(router.gpu().is_none());
    assert_eq!(router.plan(&chain10(), 1 << 24), Route::Cpu);
    let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!((out, route), (want, Route::Cpu));
    assert!(router.stats().last_failure.unwrap().contains("lost"));
}

#[test]
fn fallbacks_are_reported_by_run_execute_run_host_and_the_single_operations() {
    let Some(ctx) = test_context("fallbacks_are_reported_by_every_entry_point") else {
        return;
    };
    let mut config = no_breaker();
    config.policy = Policy::Gpu;
    config.co_execute_host_above = 256;
    let router = router_on(&ctx, &config);
    let gpu = router.gpu().unwrap();
    let n = 1000;
    let (a, b) = (random(n, 7), random(n, 8));
    let sum = cpu::add(&a, &b).unwrap();
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(n).unwrap();
    let add = add_program();
    let mut fallbacks = 0;
    let mut check = |ran: Route, what: &str| {
        fallbacks += 1;
        assert_eq!(ran, Route::CpuFallback, "{what}");
        let stats = router.stats();
        assert_eq!(stats.fallback_jobs, fallbacks, "{what}: {stats:?}");
        assert_eq!(stats.gpu_failures, fallbacks, "{what}: {stats:?}");
        assert_eq!(
            stats.cpu_jobs + stats.gpu_jobs + stats.split_jobs,
            0,
            "{what}: {stats:?}"
        );
    };
    ctx.inject_fault(FaultStage::Compute, timeout());
    let (v, ran) = router.run(&add, &[&a, &b]).unwrap();
    assert_eq!(v, sum);
    check(ran, "run");
    ctx.inject_fault(FaultStage::Compute, timeout());
    // A 1000-element chain: the cold model plans the GPU.
    let (v, ran) = router
        .run_with(Policy::Auto, &chain10(), &[&a, &b])
        .unwrap();
    assert_eq!(v, chain10_by_ops(&a, &b));
    check(ran, "run_with(Auto)");
    ctx.inject_fault(FaultStage::Compute, timeout());
    let (v, ran) = router
        .execute(Route::Split { gpu_len: 10 }, &add, &[&a, &b])
        .unwrap();
    assert_eq!(v, sum);
    check(ran, "execute(Split)");
    ctx.inject_fault(FaultStage::Compute, timeout());
    let ran = router
        .run_host(Policy::Gpu, &add, &[&ha, &hb], &mut out)
        .unwrap();
    assert_eq!(out.to_vec().unwrap(), sum);
    check(ran, "run_host(Gpu)");
    // A 1000-element add from host vectors: the cold model splits it.
    ctx.inject_fault(FaultStage::Compute, timeout());
    out.write(|o| o.fill(Fq::ZERO)).unwrap();
    let ran = router
        .run_host(Policy::Auto, &add, &[&ha, &hb], &mut out)
        .unwrap();
    assert_eq!(out.to_vec().unwrap(), sum);
    check(ran, "run_host(Auto, split)");
    // The single operations run under the router's policy (here the GPU) and fall back too.
    ctx.inject_fault(FaultStage::Compute, timeout());
    assert_eq!(router.add(&a, &b).unwrap(), sum);
    check(Route::CpuFallback, "add");
}

/// Waits until the breaker's back-off has passed.
fn wait_for_probe(router: &Router) {
    match router.stats().breaker {
        BreakerState::Open { retry_in, .. } => std::thread::sleep(retry_in),
        other => panic!("the breaker is not open: {other:?}"),
    }
}

fn assert_open(router: &Router, backoff: Duration, trips: u64) {
    let stats = router.stats();
    assert!(
        matches!(stats.breaker, BreakerState::Open { backoff: b, retry_in }
            if b == backoff && retry_in <= backoff),
        "{stats:?}"
    );
    assert_eq!(stats.breaker_trips, trips, "{stats:?}");
    assert!(
        matches!(router.gpu_status(), GpuStatus::CircuitOpen { retry_in, .. } if retry_in <= backoff),
        "{}",
        router.gpu_status()
    );
}

#[test]
fn the_breaker_takes_a_failing_gpu_out_of_routing_and_probes_it_after_the_backoff() {
    let Some(ctx) = test_context("the_breaker_takes_a_failing_gpu_out_of_routing") else {
        return;
    };
    let backoff = Duration::from_millis(1500);
    let mut config = RouterConfig::default();
    config.breaker.failures = 3;
    config.breaker.backoff = backoff;
    config.breaker.max_backoff = Duration::from_secs(60);
    let router = router_on(&ctx, &config);
    let (a, b) = (random(1000, 9), random(1000, 10));
    let want = chain10_by_ops(&a, &b);
    let job = |policy: Policy| {
        let (out, route) = router.run_with(policy, &chain10(), &[&a, &b]).unwrap();
        assert_eq!(out, want, "{policy:?}");
        route
    };
    // Two failures, then a success: the count of failures in a row starts over.
    for _ in 0..2 {
        ctx.inject_fault(FaultStage::Compute, timeout());
        assert_eq!(job(Policy::Gpu), Route::CpuFallback);
    }
    assert_eq!(router.stats().breaker, BreakerState::Closed { failures: 2 });
    assert_eq!(job(Policy::Gpu), Route::Gpu);
    assert_eq!(router.stats().breaker, BreakerState::Closed { failures: 0 });
    // Three failures in a row open it.
    for stage in [
        FaultStage::Upload,
        FaultStage::Compute,
        FaultStage::Download,
    ] {
        assert!(router.gpu_status().is_ready());
        ctx.inject_fault(stage, timeout());
        assert_eq!(job(Policy::Gpu), Route::CpuFallback);
    }
    assert_open(&router, backoff, 1);
    let failures = router.stats().gpu_failures;
    assert_eq!(failures, 5);

    // While open, no job touches the GPU: a fault armed for the next GPU submission stays
    // armed through every kind of job (it is consumed by the probe below).
    ctx.inject_fault(FaultStage::Compute, timeout());
    assert_eq!(job(Policy::Gpu), Route::Cpu);
    assert_eq!(job(Policy::Auto), Route::Cpu);
    assert_eq!(router.plan(&chain10(), 1 << 24), Route::Cpu);
    for route in [Route::Gpu, Route::Split { gpu_len: 500 }] {
        let (out, ran) = router.execute(route, &chain10(), &[&a, &b]).unwrap();
        assert_eq!((&out, ran), (&want, Route::Cpu), "{route:?}");
    }
    assert_eq!(
        router.mul(&a, &b).unwrap(),
        cpu::mul(&a, &b).unwrap(),
        "the single operations too"
    );
    let stats = router.stats();
    assert_eq!(
        stats.gpu_failures, failures,
        "nothing failed: nothing ran on the GPU"
    );
    assert_eq!(stats.breaker_trips, 1);
    assert!(
        matches!(stats.breaker, BreakerState::Open { .. }),
        "the back-off ({backoff:?}) ran out during the CPU jobs above: {stats:?}"
    );
    // The GPU is still there for work the router does not place.
    assert!(router.gpu().is_some());

    // After the back-off, one GPU job is the probe (here of four started at once): it meets
    // the armed fault, the others run on the CPU, and the breaker re-opens for twice as
    // long.
    wait_for_probe(&router);
    assert!(
        matches!(
            router.plan(&chain10(), 1 << 24),
            Route::Gpu | Route::Split { .. }
        ),
        "a probe is due: Auto may plan the GPU"
    );
    let routes: Vec<Route> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..4).map(|_| s.spawn(|| job(Policy::Gpu))).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let probes = routes.iter().filter(|r| **r == Route::CpuFallback).count();
    let on_cpu = routes.iter().filter(|r| **r == Route::Cpu).count();
    assert_eq!((probes, on_cpu), (1, 3), "{routes:?}");
    assert_eq!(router.stats().gpu_failures, failures + 1);
    assert_open(&router, backoff * 2, 2);
    assert_eq!(job(Policy::Gpu), Route::Cpu, "open again");
    // After the longer back-off, a probe that succeeds closes it.
    wait_for_probe(&router);
    assert_eq!(job(Policy::Gpu), Route::Gpu);
    let stats = router.stats();
    assert_eq!(stats.breaker, BreakerState::Closed { failures: 0 });
    assert_eq!((stats.breaker_trips, stats.gpu_failures), (2, failures + 1));
    assert!(router.gpu_status().is_ready(), "{}", router.gpu_status());
    assert_eq!(job(Policy::Gpu), Route::Gpu);
}

#[test]
fn the_breaker_covers_host_vector_jobs() {
    let Some(ctx) = test_context("the_breaker_covers_host_vector_jobs") else {
        return;
    };
    let backoff = Duration::from_millis(800);
    let mut config = RouterConfig::default();
    config.breaker.failures = 2;
    config.breaker.backoff = backoff;
    let router = router_on(&ctx, &config);
    let gpu = router.gpu().unwrap();
    let n = 2000;
    let (a, b) = (random(n, 11), random(n, 12));
    let want = chain10_by_ops(&a, &b);
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(n).unwrap();
    let job = |policy: Policy, out: &mut HostFqVec| {
        out.write(|o| o.fill(Fq::ZERO)).unwrap();
        let route = router
            .run_host(policy, &chain10(), &[&ha, &hb], out)
            .unwrap();
        assert_eq!(out.to_vec().unwrap(), want, "{policy:?}");
        route
    };
    for _ in 0..2 {
        ctx.inject_fault(FaultStage::Compute, timeout());
        assert_eq!(job(Policy::Gpu, &mut out), Route::CpuFallback);
    }
    assert_open(&router, backoff, 1);
    let failures = router.stats().gpu_failures;
    ctx.inject_fault(FaultStage::Compute, timeout());
    assert_eq!(job(Policy::Gpu, &mut out), Route::Cpu);
    assert_eq!(job(Policy::Auto, &mut out), Route::Cpu);
    assert_eq!(
        router.stats().gpu_failures,
        failures,
        "nothing ran on the GPU"
    );
    assert_eq!(router.stats().breaker_trips, 1);
    wait_for_probe(&router);
    assert_eq!(
        job(Policy::Gpu, &mut out),
        Route::CpuFallback,
        "the probe meets the armed fault"
    );
    assert_open(&router, backoff * 2, 2);
    wait_for_probe(&router);
    assert_eq!(job(Policy::Gpu, &mut out), Route::Gpu);
    assert_eq!(router.stats().breaker, BreakerState::Closed { failures: 0 });
    let stats = router.stats();
    assert_eq!(stats.fallback_jobs, 3, "{stats:?}");
}

/// The sizes the single operations are checked at: empty, tiny, around the smallest job
/// the model weighs (256), and past a power of two.
const AWKWARD: [usize; 7] = [0, 1, 3, 255, 256, 257, 1025];

fn check_single_operations(router: &Router, what: &str) {
    for n in AWKWARD {
        let s = 100 + n as u64;
        let (a, b, c) = (random(n, s), random(n, s + 1), random(n, s + 2));
        let at = |op: &str| format!("{what}: {op} of {n}");
        assert_eq!(
            router.add(&a, &b).unwrap(),
            cpu::add(&a, &b).unwrap(),
            "{}",
            at("add")
        );
        assert_eq!(
            router.sub(&a, &b).unwrap(),
            cpu::sub(&a, &b).unwrap(),
            "{}",
            at("sub")
        );
        assert_eq!(
            router.mul(&a, &b).unwrap(),
            cpu::mul(&a, &b).unwrap(),
            "{}",
            at("mul")
        );
        assert_eq!(
            router.fma(&a, &b, &c).unwrap(),
            cpu::fma(&a, &b, &c).unwrap(),
            "{}",
            at("fma")
        );
        assert_eq!(
            router.square(&a).unwrap(),
            cpu::square(&a).unwrap(),
            "{}",
            at("square")
        );
        assert_eq!(
            router.neg(&a).unwrap(),
            cpu::neg(&a).unwrap(),
            "{}",
            at("neg")
        );
        assert_eq!(
            router.double(&a).unwrap(),
            cpu::double(&a).unwrap(),
            "{}",
            at("double")
        );
    }
    // Edge values: 0, 1 and p - 1, whose sums, differences and negations wrap.
    let p_minus_1 = Fq::from_be_bytes(&Fq::MODULUS_MINUS_ONE_BE).unwrap();
    let edge = [Fq::ZERO, Fq::ONE, p_minus_1];
    let (x, y): (Vec<Fq>, Vec<Fq>) = edge
        .iter()
        .flat_map(|&x| edge.iter().map(move |&y| (x, y)))
        .unzip();
    assert_eq!(router.add(&x, &y).unwrap(), cpu::add(&x, &y).unwrap());
    assert_eq!(router.sub(&x, &y).unwrap(), cpu::sub(&x, &y).unwrap());
    assert_eq!(router.mul(&x, &y).unwrap(), cpu::mul(&x, &y).unwrap());
    assert_eq!(router.neg(&x).unwrap(), cpu::neg(&x).unwrap());
    assert_eq!(router.add(&[p_minus_1], &[Fq::ONE]).unwrap(), [Fq::ZERO]);
}

fn check_length_mismatches(router: &Router) {
    let before = router.stats();
    let (three, four) = (random(3, 1), random(4, 2));
    let mismatch = |r: Result<Vec<Fq>, RouterError>, want_op: &str, l: usize, rr: usize| match r {
        Err(RouterError::Field(FieldError::LengthMismatch { op, left, right })) => {
            assert_eq!((op, left, right), (want_op, l, rr))
        }
        other => panic!("{want_op}: {other:?}"),
    };
    mismatch(router.add(&three, &four), "add", 3, 4);
    mismatch(router.sub(&four, &three), "sub", 4, 3);
    mismatch(router.mul(&three, &[]), "mul", 3, 0);
    mismatch(router.fma(&three, &four, &three), "fma", 3, 4);
    mismatch(router.fma(&three, &three, &four), "fma", 3, 4);
    assert_eq!(router.stats(), before, "an invalid job is not counted");
}

#[test]
fn single_operations_match_the_cpu_at_awkward_sizes_on_every_policy() {
    let Some(ctx) = test_context("single_operations_match_the_cpu") else {
        return;
    };
    for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
        let mut config = RouterConfig::default();
        config.policy = policy;
        let router = router_on(&ctx, &config);
        check_single_operations(&router, &format!("{policy:?}"));
        check_length_mismatches(&router);
        let stats = router.stats();
        assert_eq!(stats.gpu_failures, 0, "{stats:?}");
        match policy {
            Policy::Cpu => assert_eq!(stats.gpu_jobs, 0, "{stats:?}"),
            // Every non-empty job: 7 operations at 6 sizes, 5 on edge values.
            Policy::Gpu => assert_eq!(stats.gpu_jobs, 7 * 6 + 5, "{stats:?}"),
            Policy::Auto => {}
        }
    }
}

#[test]
fn without_a_gpu_everything_runs_on_the_cpu() {
    let router = Router::with_gpu(&RouterConfig::default(), None);
    assert_eq!(router.gpu_status(), GpuStatus::Off);
    assert!(router.gpu().is_none());
    let (a, b) = (random(300, 7), random(300, 8));
    let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!((out, route), (chain10_by_ops(&a, &b), Route::Cpu));
    let (_, route) = router.execute(Route::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!(route, Route::Cpu);
    check_single_operations(&router, "no GPU");
    check_length_mismatches(&router);
    // Bad input is an error whatever the policy or route.
    let r = router.run_with(Policy::Auto, &chain10(), &[&a, &b[..5]]);
    assert!(
        matches!(
            r,
            Err(RouterError::Field(FieldError::LengthMismatch {
                left: 300,
                right: 5,
                ..
            }))
        ),
        "{r:?}"
    );
    let r = router.execute(Route::Gpu, &chain10(), &[&a]);
    assert!(
        matches!(r, Err(RouterError::Field(FieldError::InvalidProgram(_)))),
        "{r:?}"
    );
    assert!(matches!(router.save_profile(), Err(ProfileError::Off)));
    let stats = router.stats();
    assert_eq!(
        (
            stats.gpu_jobs,
            stats.split_jobs,
            stats.fallback_jobs,
            stats.gpu_failures
        ),
        (0, 0, 0, 0)
    );
    let cfg = RouterConfig::default();
    assert_eq!(cfg.clone().with_backend("GPU").unwrap().policy, Policy::Gpu);
    assert!(!cfg.clone().with_backend("off").unwrap().use_gpu);
    let off = Router::new(&cfg.clone().with_backend("off").unwrap());
    assert_eq!(off.gpu_status(), GpuStatus::Off);
    assert!(matches!(
        cfg.with_backend("sometimes"),
        Err(RouterError::BadEnv { .. })
    ));
}

#[test]
fn cold_start_routes_are_sensible() {
    let Some(ctx) = test_context("cold_start_routes_are_sensible") else {
        return;
    };
    let router = router_on(&ctx, &RouterConfig::default());
    assert_eq!(
        router.plan(&add_program(), 1024),
        Route::Cpu,
        "a small add: the GPU's fixed cost dominates"
    );
    assert!(
        matches!(
            router.plan(&chain10(), 1 << 24),
            Route::Gpu | Route::Split { .. }
        ),
        "a long chain on 16Mi elements goes (at least partly) to the GPU"
    );
    assert!(
        matches!(router.plan(&chain10(), 1 << 16), Route::Gpu),
        "a 64Ki chain on the GPU"
    );
}

#[test]
fn calibration_profiles_carry_the_model_to_the_next_router() {
    let Some(ctx) = test_context("calibration_profiles_carry_the_model_to_the_next_router") else {
        return;
    };
    let dir =
        std::env::temp_dir().join(format!("hybrid-exec-router-profile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = RouterConfig::default();
    config.profile_dir = Some(dir.clone());
    let first = router_on(&ctx, &config);
    assert!(
        first.profile_status().starts_with("no profile yet"),
        "{}",
        first.profile_status()
    );
    let (a, b) = (random(2000, 1), random(2000, 2));
    for _ in 0..5 {
        first.execute(Route::Cpu, &chain10(), &[&a, &b]).unwrap();
        first.execute(Route::Gpu, &chain10(), &[&a, &b]).unwrap();
    }
    let learned = first.predict(&chain10(), 2000);
    let path = first.save_profile().unwrap();
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("json"));
    let second = router_on(&ctx, &config);
    assert!(
        second.profile_status().starts_with("loaded"),
        "{}",
        second.profile_status()
    );
    assert_eq!(second.predict(&chain10(), 2000), learned);
    // A damaged profile is ignored: the defaults again, and the status says why.
    std::fs::write(&path, "{\"format\": 3, \"key\": ").unwrap();
    let third = router_on(&ctx, &config);
    assert!(
        third.profile_status().starts_with("ignored")
            && third.profile_status().contains("not a calibration profile"),
        "{}",
        third.profile_status()
    );
    assert_eq!(
        third.predict(&chain10(), 2000),
        router_on(&ctx, &RouterConfig::default()).predict(&chain10(), 2000)
    );
    drop((first, second, third));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn host_vector_jobs_take_every_route_with_the_same_bits() {
    let Some(ctx) = test_context("host_vector_jobs_take_every_route_with_the_same_bits") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let mut config = RouterConfig::default();
    config.co_execute_host_above = 256;
    let router = router_on(&ctx, &config);
    let add = add_program();
    for n in [0usize, 1, 63, 257, 20_000] {
        let (a, b) = (random(n, 30 + n as u64), random(n, 31 + n as u64));
        let (ha, hb) = (
            gpu.host_vec_from(&a).unwrap(),
            gpu.host_vec_from(&b).unwrap(),
        );
        for (program, want) in [
            (&add, cpu::add(&a, &b).unwrap()),
            (&chain10(), chain10_by_ops(&a, &b)),
        ] {
            for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
                let mut out = gpu.alloc_host_vec(n).unwrap();
                let route = router
                    .run_host(policy, program, &[&ha, &hb], &mut out)
                    .unwrap();
                assert_eq!(
                    out.to_vec().unwrap(),
                    want,
                    "n = {n}, {policy:?}, {route:?}"
                );
                match policy {
                    Policy::Cpu => assert_eq!(route, Route::Cpu),
                    Policy::Gpu if n == 0 => assert_eq!(route, Route::Cpu),
                    Policy::Gpu => assert_eq!(route, Route::Gpu),
                    Policy::Auto => assert_ne!(route, Route::CpuFallback),
                }
            }
        }
    }
    let stats = router.stats();
    assert!(
        stats.split_jobs > 0,
        "Auto shares a 20000-element add between CPU and GPU: {stats:?}"
    );
    assert_eq!(
        (stats.fallback_jobs, stats.gpu_failures),
        (0, 0),
        "{stats:?}"
    );
    // Bad jobs are typed errors, and nothing is written.
    let (a, b) = (random(10, 1), random(11, 2));
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(10).unwrap();
    for inputs in [&[&ha, &hb][..], &[&ha][..]] {
        let err = router
            .run_host(Policy::Auto, &add, inputs, &mut out)
            .unwrap_err();
        assert!(matches!(err, RouterError::Field(_)), "{err}");
    }
    assert!(out.read(|v| v.iter().all(|x| *x == Fq::ZERO)).unwrap());
    assert_eq!(router.stats(), stats, "an invalid job is not counted");
}
