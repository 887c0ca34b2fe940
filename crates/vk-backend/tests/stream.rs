//! Chunked, pipelined host -> GPU -> host jobs equal the one-shot path, at sizes that are
//! not multiples of the chunk.

use vk_backend::test_support::{test_context, test_context_with};
use vk_backend::{Context, KernelDesc};

const W: usize = 6;

fn input(v: u64, n: usize) -> Vec<u64> {
    (0..n as u64)
        .flat_map(|i| [v + i, i * 3, v, 0, i, 0])
        .collect()
}

fn streamed(ctx: &Context, n: usize, chunk: usize) -> Vec<u64> {
    let kernel = ctx
        .create_kernel(&KernelDesc::elementwise(
            "fq_add",
            vk_backend::test_support::fq_add_module(),
            2,
            W as u32,
        ))
        .unwrap();
    let (a, b) = (input(5, n), input(1 << 20, n));
    let mut out = vec![u64::MAX; n * W];
    let mut next = 0;
    ctx.run_streamed(
        &kernel,
        n,
        chunk,
        |i, range, words| {
            let src = if i == 0 { &a } else { &b };
            words.copy_from_slice(&src[range.start * W..range.end * W]);
        },
        |range, words, _| {
            assert_eq!(range.start, next, "chunks arrive in order");
            next = range.end;
            out[range.start * W..range.end * W].copy_from_slice(words);
        },
    )
    .unwrap();
    assert_eq!(next, n);
    let one_shot = ctx
        .run_elementwise(
            &kernel,
            n,
            |i, w| w.copy_from_slice(if i == 0 { &a } else { &b }),
            |w| w.to_vec(),
        )
        .unwrap();
    assert_eq!(
        out, one_shot,
        "streamed != one-shot at n = {n}, chunk = {chunk}"
    );
    let want: Vec<u64> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    assert_eq!(out, want);
    out
}

#[test]
fn streamed_equals_one_shot_at_awkward_sizes() {
    let Some(ctx) = test_context("streamed_equals_one_shot_at_awkward_sizes") else {
        return;
    };
    for (n, chunk) in [
        (1, 1000),
        (999, 1000),
        (1000, 1000),
        (10_007, 1000),
        (65_537, 4096),
        (3, 1),
    ] {
        streamed(&ctx, n, chunk);
    }
}

#[test]
fn streamed_default_chunk_and_staging_path() {
    let Some(ctx) = test_context_with("streamed_default_chunk_and_staging_path", |c| {
        c.with_direct_limit(0).with_stream_chunk_bytes(48 * 777)
    }) else {
        return;
    };
    streamed(&ctx, 20_000, 0); // 777-element chunks, 26 of them
    assert!(
        ctx.pool_stats().hits > 0,
        "chunks reuse pooled staging buffers"
    );
}

/// A streamed job that fails at any stage (upload, compute submission, the wait for a
/// download) while other chunks are in flight returns that error, has handed only whole
/// chunks, in order, to `read`, and leaves the context sound: the chunks still in flight
/// on the compute and download lanes release their resources when they complete, and the
/// next job is correct (the test context's drop checks validation messages and leaks).
#[test]
fn streamed_job_failing_at_each_stage_leaves_the_context_sound() {
    use vk_backend::{Error, FaultStage};
    let Some(ctx) = test_context("streamed_job_failing_at_each_stage_leaves_the_context_sound")
    else {
        return;
    };
    let kernel = ctx
        .create_kernel(&KernelDesc::elementwise(
            "fq_add",
            vk_backend::test_support::fq_add_module(),
            2,
            W as u32,
        ))
        .unwrap();
    let n = 10_000;
    let (a, b) = (input(5, n), input(1 << 20, n));
    for stage in [
        FaultStage::Upload,
        FaultStage::Compute,
        FaultStage::Download,
    ] {
        ctx.inject_fault(stage, Error::OutOfDeviceMemory { call: "injected" });
        let mut next = 0;
        let result = ctx.run_streamed(
            &kernel,
            n,
            1000,
            |i, range, words| {
                let src = if i == 0 { &a } else { &b };
                words.copy_from_slice(&src[range.start * W..range.end * W]);
            },
            |range, words, _| {
                assert_eq!(range.start, next, "chunks arrive in order");
                assert_eq!(range.len() * W, words.len());
                for (k, w) in words.iter().enumerate() {
                    let at = range.start * W + k;
                    assert_eq!(*w, a[at] + b[at]);
                }
                next = range.end;
            },
        );
        assert!(
            matches!(result, Err(Error::OutOfDeviceMemory { .. })),
            "{stage:?}: {result:?}"
        );
        assert!(next < n, "{stage:?}: the job stopped early");
        streamed(&ctx, 3001, 1000);
    }
}
