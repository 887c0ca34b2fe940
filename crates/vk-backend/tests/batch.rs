//! Resident buffers, one-submit batches, tickets and threads, on a real driver with the
//! validation layer (synchronization validation where offered) on.
//!
//! The Fq add kernel on small values (sums far below p) makes integer addition the
//! reference, so these tests check the plumbing, not the field.

use std::time::Duration;

use vk_backend::test_support::{add_words_module, test_context, test_context_with, TestContext};
use vk_backend::{Context, DeviceBuffer, Error, Kernel, KernelDesc};

const W: u32 = 6;

fn add_kernel(ctx: &Context) -> Kernel {
    ctx.create_kernel(&KernelDesc::elementwise(
        "fq_add",
        vk_backend::test_support::fq_add_module(),
        2,
        W,
    ))
    .unwrap()
}

/// Element i of "vector v" is (v * 1000 + i, i, 0, 0, 0, v): distinct per vector and index.
fn vector(v: u64, n: usize) -> Vec<u64> {
    (0..n as u64)
        .flat_map(|i| [v * 1000 + i, i, 0, 0, 0, v])
        .collect()
}

fn add_words(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

fn upload(ctx: &Context, v: u64, n: usize) -> DeviceBuffer {
    let data = vector(v, n);
    ctx.upload(n, W, |w| w.copy_from_slice(&data)).unwrap()
}

fn resident_chain(ctx: &TestContext, n: usize) {
    let add = add_kernel(ctx);
    let a = upload(ctx, 1, n);
    let b = upload(ctx, 2, n);
    let t1 = ctx.alloc(n, W).unwrap();
    let t2 = ctx.alloc(n, W).unwrap();
    let t3 = ctx.alloc(n, W).unwrap();
    // Three dependent dispatches and three downloads in one submission.
    let mut batch = ctx.timed_batch().unwrap();
    batch.dispatch(&add, &[&a, &b], &t1).unwrap();
    batch.dispatch(&add, &[&t1, &b], &t2).unwrap();
    batch.dispatch(&add, &[&t2, &t1], &t3).unwrap();
    let ids = [
        batch.download(&t1).unwrap(),
        batch.download(&t2).unwrap(),
        batch.download(&t3).unwrap(),
    ];
    let done = batch.submit().unwrap().finish().unwrap();
    let (va, vb) = (vector(1, n), vector(2, n));
    let w1 = add_words(&va, &vb);
    let w2 = add_words(&w1, &vb);
    let w3 = add_words(&w2, &w1);
    for (id, want) in ids.into_iter().zip([w1, w2, w3]) {
        assert_eq!(done.read(id, |w| w.to_vec()).unwrap(), want, "n = {n}");
    }
    let t = done
        .timings()
        .expect("lavapipe and NVIDIA support timestamps");
    assert!(t.total_ns > 0 && t.total_ns >= t.compute_ns, "{t:?}");
}

#[test]
fn resident_buffers_chain_in_one_submit() {
    let Some(ctx) = test_context("resident_buffers_chain_in_one_submit") else {
        return;
    };
    for n in [1, 63, 65, 257, 65537] {
        resident_chain(&ctx, n);
    }
}

#[test]
fn staging_path_gives_the_same_results() {
    let Some(ctx) = test_context_with("staging_path_gives_the_same_results", |c| {
        c.with_direct_limit(0)
    }) else {
        return;
    };
    assert!(!ctx.direct_writes());
    for n in [1, 257, 65537] {
        resident_chain(&ctx, n);
    }
    let add = add_kernel(&ctx);
    let (a, b) = (vector(3, 1000), vector(4, 1000));
    let got = ctx
        .run_elementwise(
            &add,
            1000,
            |i, w| w.copy_from_slice(if i == 0 { &a } else { &b }),
            |w| w.to_vec(),
        )
        .unwrap();
    assert_eq!(got, add_words(&a, &b));
}

/// Staged uploads go through the persistent staging ring (64 MiB): enough of them, in
/// batches that complete, wrap around it several times, with pending and abandoned batches
/// in between and uploads too large for it (pooled staging); every byte arrives.
#[test]
fn staged_uploads_cycle_through_the_staging_ring() {
    let Some(ctx) = test_context_with("staged_uploads_cycle_through_the_staging_ring", |c| {
        c.with_direct_limit(0)
    }) else {
        return;
    };
    let add = add_kernel(&ctx);
    // 3 MiB per buffer (65536 elements of 48 bytes), a pair per batch: 6 MiB per batch.
    let n = 65_536;
    let mut pending = Vec::new();
    for round in 0..16u64 {
        let (x, y, out) = (
            ctx.alloc(n, W).unwrap(),
            ctx.alloc(n, W).unwrap(),
            ctx.alloc(n, W).unwrap(),
        );
        let (va, vb) = (vector(round, n), vector(round + 100, n));
        let mut batch = ctx.batch().unwrap();
        batch.upload(&x, |w| w.copy_from_slice(&va)).unwrap();
        batch.upload(&y, |w| w.copy_from_slice(&vb)).unwrap();
        batch.dispatch(&add, &[&x, &y], &out).unwrap();
        let id = batch.download(&out).unwrap();
        if round % 5 == 3 {
            drop(batch); // abandoned: its regions come free at once
            continue;
        }
        let ticket = batch.submit().unwrap();
        // Keep a few submissions in flight while later batches take regions.
        pending.push((ticket, id, add_words(&va, &vb)));
        if pending.len() == 3 {
            for (ticket, id, want) in pending.drain(..) {
                let got = ticket.finish().unwrap().read(id, |w| w.to_vec()).unwrap();
                assert_eq!(got, want, "round {round}");
            }
        }
    }
    for (ticket, id, want) in pending {
        assert_eq!(
            ticket.finish().unwrap().read(id, |w| w.to_vec()).unwrap(),
            want
        );
    }
    // Larger than a quarter of the ring: a pooled staging buffer instead.
    let big = (20 << 20) / 48;
    let data = vector(9, big);
    let buf = ctx.upload(big, W, |w| w.copy_from_slice(&data)).unwrap();
    let mut batch = ctx.batch().unwrap();
    let id = batch.download(&buf).unwrap();
    let got = batch.submit().unwrap().finish().unwrap();
    assert!(got.read(id, |w| w == data.as_slice()).unwrap());
}

#[test]
fn seed_001_batch_compositions() {
    let Some(ctx) = test_context("seed_001_batch_compositions") else {
        return;
    };
    let add = add_kernel(&ctx);
    // Seed 001's seven compositions, scaled down 16x to keep lavapipe quick.
    let compositions: [&[usize]; 7] = [
        &[2048; 4],
        &[4096; 4],
        &[1250, 1563, 1875, 1750],
        &[1250, 2500, 1250, 2500],
        &[625, 3125, 6250, 12500],
        &[31250; 8],
        &[16384, 32768, 16384, 32768, 16384, 32768],
    ];
    for sizes in compositions {
        let inputs: Vec<(DeviceBuffer, DeviceBuffer, DeviceBuffer)> = sizes
            .iter()
            .enumerate()
            .map(|(j, &n)| {
                (
                    upload(&ctx, j as u64, n),
                    upload(&ctx, j as u64 + 50, n),
                    ctx.alloc(n, W).unwrap(),
                )
            })
            .collect();
        let mut batch = ctx.batch().unwrap();
        let mut ids = Vec::new();
        for (a, b, out) in &inputs {
            batch.dispatch(&add, &[a, b], out).unwrap();
            ids.push(batch.download(out).unwrap());
        }
        let done = batch.submit().unwrap().finish().unwrap();
        for (j, (&n, id)) in sizes.iter().zip(ids).enumerate() {
            let want = add_words(&vector(j as u64, n), &vector(j as u64 + 50, n));
            assert_eq!(
                done.read(id, |w| w.to_vec()).unwrap(),
                want,
                "composition {sizes:?}, task {j}"
            );
        }
    }
    let stats = ctx.pool_stats();
    assert!(
        stats.hits > 0,
        "steady-state batches reuse pooled buffers: {stats:?}"
    );
}

#[test]
fn dropping_buffers_and_tickets_early_is_safe() {
    let Some(ctx) = test_context("dropping_buffers_and_tickets_early_is_safe") else {
        return;
    };
    let add = add_kernel(&ctx);
    for round in 0..4 {
        let n = 65537;
        let a = upload(&ctx, 1, n);
        let b = upload(&ctx, 2, n);
        let out = ctx.alloc(n, W).unwrap();
        let mut batch = ctx.batch().unwrap();
        batch.dispatch(&add, &[&a, &b], &out).unwrap();
        let ticket = batch.submit().unwrap();
        // Everything dropped while the GPU may still run: buffers must survive until done
        // (the validation layer reports destroying in-use objects), and trimming the pool
        // must not free them either.
        drop((a, b, out));
        if round % 2 == 0 {
            drop(ticket);
        } else {
            ticket.wait(Duration::from_secs(10)).unwrap();
        }
        ctx.trim_pool();
    }
    // The context still works afterwards.
    resident_chain(&ctx, 100);
}

#[test]
fn sixteen_threads_submit_at_once() {
    let Some(ctx) = test_context("sixteen_threads_submit_at_once") else {
        return;
    };
    let add = add_kernel(&ctx);
    std::thread::scope(|s| {
        for t in 0..16u64 {
            let (ctx, add) = (&*ctx, &add);
            s.spawn(move || {
                for round in 0..4u64 {
                    let n = 100 + (t * 97 + round * 31) as usize;
                    let (va, vb) = (vector(t, n), vector(100 + round, n));
                    let a = ctx.upload(n, W, |w| w.copy_from_slice(&va)).unwrap();
                    let b = ctx.upload(n, W, |w| w.copy_from_slice(&vb)).unwrap();
                    let out = ctx.alloc(n, W).unwrap();
                    let mut batch = ctx.batch().unwrap();
                    batch.dispatch(add, &[&a, &b], &out).unwrap();
                    let id = batch.download(&out).unwrap();
                    let got = batch
                        .submit()
                        .unwrap()
                        .finish()
                        .unwrap()
                        .read(id, |w| w.to_vec())
                        .unwrap();
                    assert_eq!(got, add_words(&va, &vb), "thread {t} round {round}");
                    let direct = ctx
                        .run_elementwise(
                            add,
                            n,
                            |i, w| w.copy_from_slice(if i == 0 { &va } else { &vb }),
                            |w| w.to_vec(),
                        )
                        .unwrap();
                    assert_eq!(
                        direct,
                        add_words(&va, &vb),
                        "thread {t} round {round} (one call)"
                    );
                }
            });
        }
    });
}

#[test]
fn batches_overlap_recording_and_execution() {
    let Some(ctx) = test_context("batches_overlap_recording_and_execution") else {
        return;
    };
    let add = add_kernel(&ctx);
    let n = 20_000;
    let a = upload(&ctx, 1, n);
    let b = upload(&ctx, 2, n);
    let outs: Vec<DeviceBuffer> = (0..4).map(|_| ctx.alloc(n, W).unwrap()).collect();
    // Record and submit batch k+1 before waiting for batch k.
    let mut tickets = Vec::new();
    for (k, out) in outs.iter().enumerate() {
        let mut batch = ctx.batch().unwrap();
        if k == 0 {
            batch.dispatch(&add, &[&a, &b], out).unwrap();
        } else {
            batch.dispatch(&add, &[&outs[k - 1], &b], out).unwrap();
        }
        let id = batch.download(out).unwrap();
        tickets.push((batch.submit().unwrap(), id));
    }
    let mut want = vector(1, n);
    for (ticket, id) in tickets {
        want = add_words(&want, &vector(2, n));
        let got = ticket.finish().unwrap().read(id, |w| w.to_vec()).unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn bad_batches_are_typed_errors() {
    let Some(ctx) = test_context("bad_batches_are_typed_errors") else {
        return;
    };
    let add = add_kernel(&ctx);
    let a = ctx.alloc(10, W).unwrap();
    let b = ctx.alloc(11, W).unwrap();
    let c = ctx.alloc(10, 2).unwrap();
    let out = ctx.alloc(10, W).unwrap();
    let mut batch = ctx.batch().unwrap();
    let err = |r: Result<(), Error>| match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert!(err(batch.dispatch(&add, &[&a], &out)).contains("1 inputs given"));
    assert!(err(batch.dispatch(&add, &[&a, &b], &out)).contains("11 elements"));
    assert!(err(batch.dispatch(&add, &[&a, &c], &out)).contains("words per element"));
    assert!(err(batch.dispatch(&add, &[&a, &out], &out)).contains("also an input"));
    // The batch is still usable after rejected commands.
    batch.dispatch(&add, &[&a, &a], &out).unwrap();
    batch.submit().unwrap().finish().unwrap();
    let Some(other) = test_context("bad_batches_are_typed_errors (second context)") else {
        return;
    };
    let mut batch = other.batch().unwrap();
    assert!(matches!(
        batch.upload(&a, |_| ()),
        Err(Error::ForeignBuffer { .. })
    ));
}

/// General kernels: push-constant arguments, invocation counts that are not the buffers'
/// lengths, buffers of different sizes, `fill_zero`, and every argument check.
#[test]
fn general_kernels_run_and_check_their_arguments() {
    let Some(ctx) = test_context("general_kernels_run_and_check_their_arguments") else {
        return;
    };
    let desc = KernelDesc::general("add_words", add_words_module(), 2).with_workgroup_size(64);
    let general = ctx.create_kernel(&desc).unwrap();
    // 1000 u32 words in, 600 out: invocations past either end do nothing.
    let src: Vec<u64> = (0..500u64).map(|i| (2 * i) | ((2 * i + 1) << 32)).collect();
    let a = ctx.alloc(500, 1).unwrap();
    let out = ctx.alloc(300, 1).unwrap();
    let zeroed = ctx.alloc(7, 1).unwrap();
    let mut batch = ctx.batch().unwrap();
    batch.upload(&a, |w| w.copy_from_slice(&src)).unwrap();
    batch.upload(&zeroed, |w| w.fill(u64::MAX)).unwrap();
    batch.fill_zero(&zeroed).unwrap();
    batch
        .dispatch_general(&general, &[&a, &out], 0, &[1])
        .unwrap();
    batch
        .dispatch_general(&general, &[&a, &out], 5000, &[7])
        .unwrap();
    let got = batch.download(&out).unwrap();
    let zeros = batch.download(&zeroed).unwrap();
    let done = batch.submit().unwrap().finish().unwrap();
    let want: Vec<u64> = (0..300u64)
        .map(|i| (2 * i + 7) | ((2 * i + 8) << 32))
        .collect();
    done.read(got, |w| assert_eq!(w, &want[..])).unwrap();
    done.read(zeros, |w| assert_eq!(w, &[0; 7])).unwrap();

    let add = add_kernel(&ctx);
    let mut batch = ctx.batch().unwrap();
    let err = |r: Result<(), Error>| match r {
        Err(Error::InvalidArgument(m)) => m,
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    assert!(err(batch.dispatch_general(&add, &[&a, &out], 1, &[])).contains("element-wise"));
    assert!(err(batch.dispatch(&general, &[&a], &out)).contains("general kernel"));
    assert!(err(batch.dispatch_general(&general, &[&a], 1, &[])).contains("1 buffers given"));
    assert!(err(batch.dispatch_general(&general, &[&a, &a], 1, &[])).contains("bound twice"));
    assert!(
        err(batch.dispatch_general(&general, &[&a, &out], 1, &[0; 15])).contains("15 arguments")
    );
    drop(batch);
    let Some(other) = test_context("general_kernels_run_and_check_their_arguments (second)") else {
        return;
    };
    let theirs = other.alloc(4, 1).unwrap();
    let mut batch = ctx.batch().unwrap();
    assert!(batch
        .dispatch_general(&general, &[&a, &theirs], 1, &[])
        .is_err());
    assert!(batch.fill_zero(&theirs).is_err());
    drop(batch);
    ctx.assert_no_validation_messages();
    other.assert_no_validation_messages();
}

/// Elements per buffer of the early-upload tests: a little over 4 MiB of 48-byte elements
/// (above the direct-write limit of resizable-BAR devices), so their uploads go ahead of
/// the batch.
const LARGE_N: usize = (4 << 20) / 48 + 3;

/// Large uploads go ahead of their batch on the upload lane: several in one batch, a buffer
/// uploaded twice with a dispatch between (the second upload stays in the batch, after the
/// dispatch that reads the first), a buffer still read by an earlier pending batch (its
/// upload waits in the batch), and a batch dropped unsubmitted (its copy is waited for, and
/// the buffer then takes newer data). Every result is checked word by word.
#[test]
fn large_uploads_go_ahead_of_their_batch_in_order() {
    let Some(ctx) = test_context("large_uploads_go_ahead_of_their_batch") else {
        return;
    };
    let n = LARGE_N;
    let add = add_kernel(&ctx);
    let data: Vec<Vec<u64>> = (1..=6).map(|v| vector(v, n)).collect();
    let bufs: Vec<DeviceBuffer> = (0..4).map(|_| ctx.alloc(n, W).unwrap()).collect();
    let outs: Vec<DeviceBuffer> = (0..3).map(|_| ctx.alloc(n, W).unwrap()).collect();

    // Four uploads ahead of the batch, two sums, and x = bufs[0] uploaded again after the
    // first sum read it.
    let mut batch = ctx.batch().unwrap();
    for (buf, d) in bufs.iter().zip(&data) {
        batch.upload(buf, |w| w.copy_from_slice(d)).unwrap();
    }
    batch
        .dispatch(&add, &[&bufs[0], &bufs[1]], &outs[0])
        .unwrap();
    batch
        .dispatch(&add, &[&bufs[2], &bufs[3]], &outs[1])
        .unwrap();
    batch
        .upload(&bufs[0], |w| w.copy_from_slice(&data[4]))
        .unwrap();
    batch
        .dispatch(&add, &[&bufs[0], &bufs[1]], &outs[2])
        .unwrap();
    let ids: Vec<_> = outs.iter().map(|o| batch.download(o).unwrap()).collect();
    let done = batch.submit().unwrap().finish().unwrap();
    let want = [
        add_words(&data[0], &data[1]),
        add_words(&data[2], &data[3]),
        add_words(&data[4], &data[1]),
    ];
    for (id, want) in ids.into_iter().zip(&want) {
        assert!(done.read(id, |w| w == want.as_slice()).unwrap());
    }

    // bufs[1] is read by a pending batch; a new batch's upload into it must not overtake.
    let mut first = ctx.batch().unwrap();
    first
        .dispatch(&add, &[&bufs[1], &bufs[2]], &outs[0])
        .unwrap();
    let first_id = first.download(&outs[0]).unwrap();
    let first = first.submit().unwrap();
    let mut second = ctx.batch().unwrap();
    second
        .upload(&bufs[1], |w| w.copy_from_slice(&data[5]))
        .unwrap();
    second
        .dispatch(&add, &[&bufs[1], &bufs[2]], &outs[1])
        .unwrap();
    let second_id = second.download(&outs[1]).unwrap();
    let second = second.submit().unwrap();
    let first_want = add_words(&data[1], &data[2]);
    let second_want = add_words(&data[5], &data[2]);
    assert!(first
        .finish()
        .unwrap()
        .read(first_id, |w| w == first_want.as_slice())
        .unwrap());
    assert!(second
        .finish()
        .unwrap()
        .read(second_id, |w| w == second_want.as_slice())
        .unwrap());

    // Dropped unsubmitted after its upload went ahead: the buffer then takes newer data.
    let mut dropped = ctx.batch().unwrap();
    dropped
        .upload(&bufs[3], |w| w.copy_from_slice(&data[0]))
        .unwrap();
    drop(dropped);
    let mut batch = ctx.batch().unwrap();
    batch
        .upload(&bufs[3], |w| w.copy_from_slice(&data[5]))
        .unwrap();
    batch
        .dispatch(&add, &[&bufs[3], &bufs[2]], &outs[2])
        .unwrap();
    let id = batch.download(&outs[2]).unwrap();
    let done = batch.submit().unwrap().finish().unwrap();
    let want = add_words(&data[5], &data[2]);
    assert!(done.read(id, |w| w == want.as_slice()).unwrap());
    ctx.assert_no_validation_messages();
}
