//! The router's f32 jobs (`Router::f32`, `f32_with`): the CPU reference's results on the
//! CPU route, the GPU kernels' on the GPU route (bit for bit where the operation is exact,
//! within the stated bounds elsewhere), Auto on the CPU until the GPU has run the shape,
//! CPU fallback on GPU failures reported as such, and typed errors for bad jobs with
//! nothing run. Needs a Vulkan device (lavapipe in CI), with the validation layer on.

use f32_ops::{cpu, F32Error};
use field_bls12::FqGpu;
use hybrid_exec::{F32Job, F32Output, Policy, Route, Router, RouterConfig, RouterError};
use vk_backend::test_support::{test_context, TestContext};
use vk_backend::{Error, FaultStage};

fn router_on(ctx: &TestContext) -> Router {
    let mut config = RouterConfig::default();
    config.profile_dir = None;
    Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap()))
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 250.0 - 4.0)
        .collect()
}

fn values_of(out: F32Output) -> Vec<f32> {
    match out {
        F32Output::Values(v) => v,
        other => panic!("expected values, got {other:?}"),
    }
}

#[test]
fn every_route_gives_the_reference_result() {
    let Some(ctx) = test_context("every_route_gives_the_reference_result") else {
        return;
    };
    let router = router_on(&ctx);
    let (a, b) = (values(3000, 1), values(3000, 2));
    for policy in [Policy::Cpu, Policy::Gpu] {
        let want_route = if policy == Policy::Cpu {
            Route::Cpu
        } else {
            Route::Gpu
        };
        let (sum, ran) = router.f32_with(policy, F32Job::Add(&a, &b)).unwrap();
        assert_eq!(
            (values_of(sum), ran),
            (cpu::add(&a, &b).unwrap(), want_route)
        );
        let (relu, ran) = router.f32_with(policy, F32Job::Relu(&a)).unwrap();
        assert_eq!((values_of(relu), ran), (cpu::relu(&a), want_route));
        let (dot, ran) = router.f32_with(policy, F32Job::Dot(&a, &b)).unwrap();
        let F32Output::Scalar(dot) = dot else {
            panic!("a dot product is one value")
        };
        let (exact, abs) = cpu::dot_f64(&a, &b);
        assert!(
            (f64::from(dot) - exact).abs() <= cpu::sum_bound(a.len(), abs),
            "{policy:?}"
        );
        assert_eq!(ran, want_route);
        let (c, ran) = router
            .f32_with(
                policy,
                F32Job::Matmul {
                    a: &a[..600],
                    b: &b[..1200],
                    m: 20,
                    k: 30,
                    n: 40,
                },
            )
            .unwrap();
        let c = values_of(c);
        let reference = cpu::matmul(&a[..600], &b[..1200], 20, 30, 40).unwrap();
        assert_eq!((c.len(), ran), (800, want_route));
        for (g, r) in c.iter().zip(&reference) {
            // Both within sum_bound(30, ..) of the exact value; |a|, |b| <= 4.
            assert!((g - r).abs() <= 2.0 * cpu::sum_bound(30, 30.0 * 16.0) as f32);
        }
    }
    ctx.assert_no_validation_messages();
}

#[test]
fn auto_keeps_f32_jobs_on_the_cpu_until_the_gpu_has_run_their_shape() {
    let Some(ctx) =
        test_context("auto_keeps_f32_jobs_on_the_cpu_until_the_gpu_has_run_their_shape")
    else {
        return;
    };
    let router = router_on(&ctx);
    let a = values(1 << 16, 3);
    // Small jobs never weigh the GPU; unseen shapes stay on the CPU.
    assert_eq!(
        router
            .f32_with(Policy::Auto, F32Job::Relu(&a[..100]))
            .unwrap()
            .1,
        Route::Cpu
    );
    assert_eq!(
        router
            .f32_with(Policy::Auto, F32Job::Sigmoid(&a))
            .unwrap()
            .1,
        Route::Cpu
    );
    assert!(router.predict_f32(&F32Job::Sigmoid(&a)).1.is_none());
    // Once the GPU has run the shape enough to be trusted, Auto weighs both devices and
    // either may win; the result is right wherever it ran.
    for _ in 0..5 {
        router.f32_with(Policy::Gpu, F32Job::Sigmoid(&a)).unwrap();
    }
    let (cpu_time, gpu_time) = router.predict_f32(&F32Job::Sigmoid(&a));
    assert!(gpu_time.is_some() && cpu_time > std::time::Duration::ZERO);
    let reference = cpu::sigmoid(&a);
    for _ in 0..6 {
        let (out, ran) = router.f32_with(Policy::Auto, F32Job::Sigmoid(&a)).unwrap();
        assert!(matches!(ran, Route::Cpu | Route::Gpu), "{ran:?}");
        for ((g, r), x) in values_of(out).iter().zip(&reference).zip(&a) {
            // Both within activation_bound(x) of the exact sigmoid, so within twice of each other.
            let bound = 2.0 * cpu::activation_bound(f64::from(*x)) as f32 * r.abs() + 1e-37;
            assert!(
                (g - r).abs() <= bound,
                "sigmoid({x}): {g} vs {r} on {ran:?}"
            );
        }
    }
    ctx.assert_no_validation_messages();
}

#[test]
fn gpu_failures_fall_back_to_the_cpu_and_bad_jobs_are_typed_errors() {
    let Some(ctx) = test_context("gpu_failures_fall_back_to_the_cpu_and_bad_jobs_are_typed_errors")
    else {
        return;
    };
    let router = router_on(&ctx);
    let (a, b) = (values(1000, 4), values(1000, 5));
    for stage in [
        FaultStage::Upload,
        FaultStage::Compute,
        FaultStage::Download,
    ] {
        ctx.inject_fault(stage, Error::OutOfDeviceMemory { call: "injected" });
        let (out, ran) = router.f32_with(Policy::Gpu, F32Job::Add(&a, &b)).unwrap();
        assert_eq!(
            (values_of(out), ran),
            (cpu::add(&a, &b).unwrap(), Route::CpuFallback)
        );
    }
    let stats = router.stats();
    assert_eq!(
        (stats.fallback_jobs, stats.gpu_failures),
        (3, 3),
        "{stats:?}"
    );
    let before = router.stats();
    assert!(matches!(
        router.f32(F32Job::Dot(&a, &b[..999])),
        Err(RouterError::F32(F32Error::LengthMismatch {
            op: "dot",
            left: 1000,
            right: 999
        }))
    ));
    assert!(matches!(
        router.f32_with(
            Policy::Gpu,
            F32Job::Matmul {
                a: &a,
                b: &b,
                m: 10,
                k: 10,
                n: 10
            }
        ),
        Err(RouterError::F32(F32Error::MatrixShape { matrix: "A", .. }))
    ));
    let after = router.stats();
    assert_eq!(
        (before.cpu_jobs, before.gpu_jobs),
        (after.cpu_jobs, after.gpu_jobs)
    );
    ctx.assert_no_validation_messages();
}
