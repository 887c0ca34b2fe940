//! The router: same bits on every route, CPU fallback at every GPU stage, cold-start routes.

use field_bls12::{cpu, Fq, FqGpu, FqProgram};
use hybrid_exec::{Policy, Route, Router, RouterConfig, RouterError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vk_backend::test_support::test_context;
use vk_backend::{Error, FaultStage};

fn random(n: usize, seed: u64) -> Vec<Fq> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fq::random(&mut rng)).collect()
}

/// x = a; five times { x = x * b + a }: the 10-operation chain.
fn chain10() -> FqProgram {
    hybrid_exec::jobs::chain10().unwrap()
}

fn chain10_by_ops(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let mut x = a.to_vec();
    for _ in 0..5 {
        x = cpu::add(&cpu::mul(&x, b).unwrap(), a).unwrap();
    }
    x
}

#[test]
fn every_route_gives_the_same_bits() {
    let Some(ctx) = test_context("every_route_gives_the_same_bits") else {
        return;
    };
    let router = Router::with_gpu(
        &RouterConfig::default(),
        Some(FqGpu::new(ctx.arc()).unwrap()),
    );
    for n in [0usize, 1, 63, 1000, 4099] {
        let (a, b) = (random(n, 1 + n as u64), random(n, 2 + n as u64));
        let want = chain10_by_ops(&a, &b);
        let mut routes = vec![Route::Cpu, Route::Gpu];
        if n > 2 {
            routes.extend([
                Route::Split { gpu_len: 1 },
                Route::Split { gpu_len: n / 3 },
                Route::Split { gpu_len: n - 1 },
            ]);
        }
        for route in routes {
            assert_eq!(
                router.execute(route, &chain10(), &[&a, &b]).unwrap(),
                want,
                "n = {n}, {route:?}"
            );
        }
        for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
            assert_eq!(
                router.run_with(policy, &chain10(), &[&a, &b]).unwrap().0,
                want,
                "n = {n}, {policy:?}"
            );
        }
    }
    let stats = router.stats();
    assert_eq!(stats.gpu_failures, 0, "{stats:?}");
    assert!(
        stats.cpu_jobs > 0 && stats.gpu_jobs > 0 && stats.split_jobs > 0,
        "{stats:?}"
    );
}

#[test]
fn gpu_failures_at_every_stage_fall_back_to_the_cpu() {
    let Some(ctx) = test_context("gpu_failures_at_every_stage_fall_back_to_the_cpu") else {
        return;
    };
    let router = Router::with_gpu(
        &RouterConfig::default(),
        Some(FqGpu::new(ctx.arc()).unwrap()),
    );
    let (a, b) = (random(777, 5), random(777, 6));
    let want = chain10_by_ops(&a, &b);
    let faults = [
        (
            FaultStage::Upload,
            Error::OutOfDeviceMemory { call: "injected" },
        ),
        (
            FaultStage::Compute,
            Error::Timeout {
                call: "injected",
                after: std::time::Duration::from_millis(1),
            },
        ),
        (
            FaultStage::Download,
            Error::Timeout {
                call: "injected",
                after: std::time::Duration::from_millis(1),
            },
        ),
    ];
    for (i, (stage, err)) in faults.into_iter().enumerate() {
        ctx.inject_fault(stage, err);
        let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
        assert_eq!(route, Route::Gpu);
        assert_eq!(out, want, "fault at {stage:?}: every element still right");
        assert_eq!(router.stats().gpu_failures, i as u64 + 1);
        assert!(
            router.gpu_status().is_ok(),
            "a transient failure keeps the GPU in service"
        );
    }
    // A split whose GPU half fails: the CPU redoes that half, in order.
    ctx.inject_fault(
        FaultStage::Compute,
        Error::OutOfDeviceMemory { call: "injected" },
    );
    let out = router
        .execute(Route::Split { gpu_len: 300 }, &chain10(), &[&a, &b])
        .unwrap();
    assert_eq!(out, want);
    // A lost device: the job still completes, and no GPU work is offered afterwards.
    ctx.inject_fault(FaultStage::Compute, Error::DeviceLost { call: "injected" });
    let (out, _) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!(out, want);
    assert!(router.gpu_status().is_err(), "{:?}", router.gpu_status());
    assert!(router.gpu().is_none());
    assert_eq!(router.plan(&chain10(), 1 << 24), Route::Cpu);
    let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!((out, route), (want, Route::Cpu));
    assert!(router.stats().last_failure.unwrap().contains("lost"));
}

#[test]
fn cold_start_routes_are_sensible() {
    let Some(ctx) = test_context("cold_start_routes_are_sensible") else {
        return;
    };
    let router = Router::with_gpu(
        &RouterConfig::default(),
        Some(FqGpu::new(ctx.arc()).unwrap()),
    );
    let mut p = FqProgram::builder();
    let (x, y) = (p.input(), p.input());
    let s = p.add(x, y);
    let add = p.build(s).unwrap();
    assert_eq!(
        router.plan(&add, 1024),
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
fn without_a_gpu_everything_runs_on_the_cpu() {
    let router = Router::with_gpu(&RouterConfig::default(), None);
    assert!(router.gpu_status().is_err());
    let (a, b) = (random(100, 7), random(100, 8));
    let (out, route) = router.run_with(Policy::Gpu, &chain10(), &[&a, &b]).unwrap();
    assert_eq!((out, route), (chain10_by_ops(&a, &b), Route::Cpu));
    // Bad input is an error whatever the policy.
    let r = router.run_with(Policy::Auto, &chain10(), &[&a, &b[..5]]);
    assert!(matches!(r, Err(RouterError::Field(_))), "{r:?}");
    let cfg = RouterConfig::default();
    assert_eq!(cfg.clone().with_backend("GPU").unwrap().policy, Policy::Gpu);
    assert!(!cfg.clone().with_backend("off").unwrap().use_gpu);
    assert!(matches!(
        cfg.with_backend("sometimes"),
        Err(RouterError::BadEnv { .. })
    ));
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
    let first = Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap()));
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
    first.save_profile().unwrap();
    let second = Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap()));
    assert!(
        second.profile_status().starts_with("loaded"),
        "{}",
        second.profile_status()
    );
    assert_eq!(second.predict(&chain10(), 2000), learned);
    drop((first, second));
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
    let router = Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap()));
    let add = hybrid_exec::jobs::two_input(|p, x, y| p.add(x, y)).unwrap();
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
                    Policy::Gpu => assert_eq!(route, Route::Gpu),
                    Policy::Auto => {}
                }
            }
        }
    }
    assert!(
        router.stats().split_jobs > 0,
        "Auto shares a 20000-element add between CPU and GPU: {:?}",
        router.stats()
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
    // A GPU failure: the CPU recomputes the job.
    let hb = gpu.host_vec_from(&b[..10]).unwrap();
    ctx.inject_fault(
        FaultStage::Compute,
        Error::Timeout {
            call: "injected",
            after: std::time::Duration::from_millis(1),
        },
    );
    let failures = router.stats().gpu_failures;
    let route = router
        .run_host(Policy::Gpu, &add, &[&ha, &hb], &mut out)
        .unwrap();
    assert_eq!(route, Route::Cpu);
    assert_eq!(out.to_vec().unwrap(), cpu::add(&a, &b[..10]).unwrap());
    assert_eq!(router.stats().gpu_failures, failures + 1);
}
