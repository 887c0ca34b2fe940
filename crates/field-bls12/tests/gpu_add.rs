//! The Vulkan path against the CPU path and the big-integer oracle, with the validation
//! layer on. Needs a Vulkan device (lavapipe in CI); see vk_backend::test_support.

mod common;

use common::{batch, edge_pairs, oracle_add, SIZES};
use field_bls12::{cpu, FieldError, Fq, FqGpu, FQ_BYTES};
use vk_backend::test_support::test_context;

#[test]
fn gpu_add_matches_cpu_and_oracle_at_every_size() {
    let Some(ctx) = test_context("gpu_add_matches_cpu_and_oracle_at_every_size") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = batch(n, 100 + k as u64);
        let on_gpu = gpu.add(&a, &b).unwrap();
        let on_cpu = cpu::add(&a, &b).unwrap();
        assert_eq!(on_gpu.len(), n);
        if let Some(i) = on_gpu.iter().zip(&on_cpu).position(|(x, y)| x != y) {
            panic!(
                "GPU != CPU at n = {n}, index {i}: {} + {}: gpu {} cpu {}",
                a[i], b[i], on_gpu[i], on_cpu[i]
            );
        }
        assert_eq!(on_gpu, oracle_add(&a, &b), "GPU != oracle at n = {n}");
    }
}

#[test]
fn gpu_add_edge_values() {
    let Some(ctx) = test_context("gpu_add_edge_values") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let (a, b): (Vec<Fq>, Vec<Fq>) = edge_pairs().into_iter().unzip();
    let got = gpu.add(&a, &b).unwrap();
    assert_eq!(got, oracle_add(&a, &b));
    assert_eq!(got, cpu::add(&a, &b).unwrap());
    assert_eq!(got[4], Fq::ZERO); // (p-1) + 1
    assert_eq!(got[5], Fq::ONE); // (p-1) + 2
}

#[test]
fn gpu_add_is_independent_of_workgroup_size() {
    let Some(ctx) = test_context("gpu_add_is_independent_of_workgroup_size") else {
        return;
    };
    let (a, b) = batch(1000, 7);
    let want = oracle_add(&a, &b);
    for size in [1, 32, 64, 100, 256] {
        let gpu = FqGpu::with_workgroup_size(ctx.arc(), size).unwrap();
        assert_eq!(gpu.add(&a, &b).unwrap(), want, "workgroup size {size}");
    }
}

#[test]
fn gpu_add_rejects_bad_input_without_touching_the_gpu() {
    let Some(ctx) = test_context("gpu_add_rejects_bad_input_without_touching_the_gpu") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    // Building the kernels allocates no device memory; from here on, nothing may.
    let (allocations, pool) = (ctx.live_allocations(), ctx.pool_stats());
    let err = gpu.add(&[Fq::ONE; 2], &[Fq::ONE; 5]).unwrap_err();
    assert!(
        matches!(
            err,
            FieldError::LengthMismatch {
                op: "add",
                left: 2,
                right: 5
            }
        ),
        "{err}"
    );
    assert!(gpu.add(&[], &[]).unwrap().is_empty());
    let err = FqGpu::with_workgroup_size(ctx.arc(), 0).unwrap_err();
    assert!(
        matches!(err, FieldError::Gpu(vk_backend::Error::InvalidArgument(_))),
        "{err}"
    );
    // No buffer was asked of the pool (every job takes its buffers there) and no device
    // memory was allocated.
    assert_eq!(ctx.pool_stats(), pool, "buffer pool");
    assert_eq!(ctx.live_allocations(), allocations, "device allocations");
    assert_eq!(allocations, 0);
}

#[test]
fn streamed_batches_match_the_cpu() {
    // Small thresholds, so a modest batch takes the streamed path in many uneven chunks.
    let Some(ctx) =
        vk_backend::test_support::test_context_with("streamed_batches_match_the_cpu", |c| {
            c.with_stream_chunk_bytes(48 * 4099)
        })
    else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap().with_stream_above(48 * 1000);
    let (a, b) = batch(65537, 11);
    let batch_bytes = (a.len() * FQ_BYTES) as u64;
    let mut got = Vec::new();
    let mean = common::mean_pool_buffer_after(&ctx, || got = gpu.add(&a, &b).unwrap());
    // Streamed: chunk-sized buffers only (about 200 KB each, in pool buckets).
    assert!(
        mean > 0 && mean < batch_bytes / 4,
        "streamed add left pool buffers of {mean} bytes on average; the batch is {batch_bytes}"
    );
    assert_eq!(got, cpu::add(&a, &b).unwrap());
    assert_eq!(got, oracle_add(&a, &b));
    let mut m = Vec::new();
    let mean = common::mean_pool_buffer_after(&ctx, || m = gpu.mul(&a, &b).unwrap());
    assert!(
        mean > 0 && mean < batch_bytes / 4,
        "streamed mul: {mean} bytes"
    );
    assert_eq!(m, cpu::mul(&a, &b).unwrap());
    // The control: the same batch in one round trip holds buffers of the batch's size.
    let round_trip = FqGpu::new(ctx.arc()).unwrap();
    let mean = common::mean_pool_buffer_after(&ctx, || {
        assert_eq!(round_trip.add(&a, &b).unwrap(), got);
    });
    assert!(mean >= batch_bytes, "round trip: {mean} bytes");
}
