//! Jobs from ordinary slices, streamed: chunks larger than the parallel-copy threshold (so
//! the copies run on all cores with streaming stores, and the results are trusted on the
//! kernel's own check) give the same bits as the one-round-trip path and the CPU, at sizes
//! that are multiples of neither the chunk nor a page, for slices that start one element
//! into a larger allocation, into fresh and reused outputs. The inputs are dropped right
//! after each call: nothing may read them later. Needs a Vulkan device (lavapipe in CI).

use field_bls12::{cpu, Fq, FqGpu, FqProgram};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vk_backend::test_support::test_context_with;

/// Elements per streamed chunk: above the copies' parallel threshold (16Ki elements).
const CHUNK: usize = 40_000;

fn random(n: usize, seed: u64) -> Vec<Fq> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fq::random(&mut rng)).collect()
}

/// x = a; twice { x = x * b + a }.
fn chain() -> FqProgram {
    let mut p = FqProgram::builder();
    let (a, b) = (p.input(), p.input());
    let mut x = a;
    for _ in 0..2 {
        let t = p.mul(x, b);
        x = p.add(t, a);
    }
    p.build(x).unwrap()
}

#[test]
fn streamed_slice_jobs_equal_the_one_shot_path_for_unaligned_slices_fresh_and_reused() {
    let Some(ctx) = test_context_with("streamed_slice_jobs_equal_the_one_shot_path", |c| {
        c.with_stream_chunk_bytes(48 * CHUNK as u64)
    }) else {
        return;
    };
    let streamed = FqGpu::new(ctx.arc()).unwrap().with_stream_above(0);
    let one_shot = FqGpu::new(ctx.arc()).unwrap().with_stream_above(u64::MAX);
    let program = chain();
    for n in [1usize, 4097, CHUNK, 2 * CHUNK + 4099] {
        // One element into larger allocations: neither slice starts where its allocation
        // does, nor (48-byte elements) on a page.
        let big_a = random(n + 2, n as u64);
        let big_b = random(n + 2, n as u64 + 1);
        let (a, b) = (&big_a[1..=n], &big_b[1..=n]);
        let want_add = cpu::add(a, b).unwrap();
        let want_chain = program.run_cpu(&[a, b]).unwrap();

        let fresh = streamed.add(a, b).unwrap();
        assert_eq!(fresh, one_shot.add(a, b).unwrap(), "n = {n}: one shot");
        assert_eq!(fresh, want_add, "n = {n}: add, fresh output");
        assert_eq!(
            streamed.mul(a, b).unwrap(),
            cpu::mul(a, b).unwrap(),
            "n = {n}: mul"
        );
        let chain_fresh = program.run_gpu(&streamed, &[a, b]).unwrap();
        assert_eq!(chain_fresh, want_chain, "n = {n}: chain, fresh output");

        let mut reused = vec![Fq::from_u64(7); n];
        program
            .run_gpu_into(&streamed, &[a, b], &mut reused)
            .unwrap();
        assert_eq!(reused, want_chain, "n = {n}: chain, reused output");
        // The inputs go now; results computed from them must not change.
        drop((big_a, big_b));
        assert_eq!(reused, want_chain, "n = {n}: after the inputs were dropped");
        assert_eq!(fresh, want_add, "n = {n}: after the inputs were dropped");
    }
    ctx.assert_no_validation_messages();
}
