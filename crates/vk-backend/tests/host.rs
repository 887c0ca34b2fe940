//! Kernels on the caller's memory, imported with VK_EXT_external_memory_host.

use vk_backend::test_support::test_context;
use vk_backend::{Context, DeviceBuffer, Error, Kernel, KernelDesc};

fn inputs(n: usize) -> (Vec<[u64; 6]>, Vec<[u64; 6]>) {
    let a = (0..n as u64).map(|i| [i, 2 * i, 0, i, 0, 1]).collect();
    let b = (0..n as u64).map(|i| [3, i, i, 0, 7, 0]).collect();
    (a, b)
}

/// `inputs(n)` and their element-wise sums, the inputs in host buffers, and an output
/// host buffer.
#[allow(clippy::type_complexity)]
fn host_job(
    ctx: &Context,
    n: usize,
) -> (
    (Vec<[u64; 6]>, Vec<[u64; 6]>),
    Vec<[u64; 6]>,
    [DeviceBuffer; 3],
) {
    let (a, b) = inputs(n);
    let bufs = [(); 3].map(|()| ctx.alloc_host(n, 6).unwrap());
    ctx.host_write::<[u64; 6], _>(&bufs[0], |w| w.copy_from_slice(&a))
        .unwrap();
    ctx.host_write::<[u64; 6], _>(&bufs[1], |w| w.copy_from_slice(&b))
        .unwrap();
    let want = a
        .iter()
        .zip(&b)
        .map(|(x, y)| std::array::from_fn(|k| x[k] + y[k]))
        .collect();
    ((a, b), want, bufs)
}

#[test]
fn kernels_read_and_write_host_memory_in_place() {
    let Some(ctx) = test_context("kernels_read_and_write_host_memory_in_place") else {
        return;
    };
    let add = ctx
        .create_kernel(&KernelDesc::elementwise(
            "fq_add",
            vk_backend::test_support::fq_add_module(),
            2,
            6,
        ))
        .unwrap();
    if !ctx.imports_host_memory() {
        let mut out = vec![[0u64; 6]; 4];
        let (a, b) = inputs(4);
        let r = ctx.run_elementwise_host(&add, &[&a, &b], &mut out);
        assert!(matches!(r, Err(Error::Unsupported { .. })), "{r:?}");
        eprintln!("device cannot import host memory: checked the typed error only");
        return;
    }
    for n in [1usize, 63, 65, 1000, 65537] {
        let (a, b) = inputs(n);
        // Sub-slices start mid-allocation, as callers' chunks do.
        let (a, b) = (&a[..], &b[..]);
        let mut out = vec![[u64::MAX; 6]; n];
        ctx.run_elementwise_host(&add, &[a, b], &mut out).unwrap();
        let want: Vec<[u64; 6]> = a
            .iter()
            .zip(b)
            .map(|(x, y)| std::array::from_fn(|k| x[k] + y[k]))
            .collect();
        assert_eq!(out, want, "n = {n}");
        if n > 2 {
            let mut tail = vec![[0u64; 6]; n - 2];
            ctx.run_elementwise_host(&add, &[&a[2..], &b[2..]], &mut tail)
                .unwrap();
            assert_eq!(tail, want[2..], "offset slices, n = {n}");
        }
    }
    let (a, b) = inputs(8);
    let mut short = vec![[0u64; 6]; 7];
    assert!(matches!(
        ctx.run_elementwise_host(&add, &[&a, &b], &mut short),
        Err(Error::InvalidArgument(_))
    ));
    let mut words = vec![0u64; 8];
    let (wa, wb) = (vec![1u64; 8], vec![2u64; 8]);
    assert!(matches!(
        ctx.run_elementwise_host(&add, &[&wa, &wb], &mut words),
        Err(Error::InvalidArgument(_))
    ));
}

/// A test context whose streamed jobs cut into small ranges (chunks of 1001 elements), and
/// the add kernel.
fn streaming_context(name: &str) -> Option<(vk_backend::test_support::TestContext, Kernel)> {
    let ctx = vk_backend::test_support::test_context_with(name, |c| {
        c.with_stream_chunk_bytes(48 * 1001)
    })?;
    let add = ctx
        .create_kernel(&KernelDesc::elementwise(
            "fq_add",
            vk_backend::test_support::fq_add_module(),
            2,
            6,
        ))
        .unwrap();
    Some((ctx, add))
}

#[test]
fn host_buffers_stream_through_the_gpu_without_host_copies() {
    let Some((ctx, add)) = streaming_context("host_buffers_stream") else {
        return;
    };
    for n in [1usize, 1000, 1001, 20_000] {
        let ((a, _), want, [ha, hb, out]) = host_job(&ctx, n);
        let mut seen = 0;
        let mut lens = Vec::new();
        ctx.run_streamed_buffers(&add, &[&ha, &hb], &out, 0, |r, w, flags| {
            assert_eq!(r.start, seen, "ranges in order");
            assert_eq!(w.len(), r.len() * 6);
            assert_eq!(flags, 0, "canonical results raise no flag");
            seen = r.end;
            lens.push(r.len());
        })
        .unwrap();
        assert_eq!(seen, n, "every range seen");
        // By default, halves of what is left, down to twice the stream chunk.
        assert!(lens.windows(2).all(|w| w[0] >= w[1]), "{lens:?}");
        assert!(lens.iter().all(|&l| l == n || l <= n / 2 + 256), "{lens:?}");
        if n == 20_000 {
            assert!(lens.len() >= 3, "{lens:?}");
        }
        assert_eq!(
            ctx.host_read::<[u64; 6], _>(&out, |w| w.to_vec()).unwrap(),
            want,
            "n = {n}"
        );
        // Device-local inputs work too, and an explicit chunk size.
        let da = ctx
            .upload(n, 6, |w| w.copy_from_slice(a.as_flattened()))
            .unwrap();
        let out2 = ctx.alloc_host(n, 6).unwrap();
        ctx.run_streamed_buffers(&add, &[&da, &hb], &out2, 333, |_, _, _| ())
            .unwrap();
        assert_eq!(
            ctx.host_read::<[u64; 6], _>(&out2, |w| w.to_vec()).unwrap(),
            want,
            "n = {n}, device input"
        );
    }
    let h = ctx.alloc_host(4, 6).unwrap();
    let d = ctx.alloc(4, 6).unwrap();
    assert!(
        matches!(
            ctx.host_read::<[u64; 6], _>(&d, |_| ()),
            Err(Error::InvalidArgument(_))
        ),
        "device memory"
    );
    assert!(
        matches!(
            ctx.host_read::<u64, _>(&h, |_| ()),
            Err(Error::InvalidArgument(_))
        ),
        "element size"
    );
    assert!(
        matches!(
            ctx.run_streamed_buffers(&add, &[&h, &h], &h, 0, |_, _, _| ()),
            Err(Error::InvalidArgument(_))
        ),
        "aliasing"
    );
}

#[test]
fn host_buffer_jobs_share_between_gpu_and_cpu() {
    let Some((ctx, add)) = streaming_context("host_buffers_beside") else {
        return;
    };
    for n in [0usize, 1, 65, 257, 20_000] {
        let (_, want, [ha, hb, out]) = host_job(&ctx, n);
        let mut splits = vec![0, 1, n / 3, n];
        splits.retain(|&k| k <= n);
        for gpu_len in splits {
            let mut seen = 0;
            let mut cpu_len = None;
            ctx.run_streamed_buffers_beside::<[u64; 6]>(
                &add,
                &[&ha, &hb],
                &out,
                gpu_len,
                0,
                |r, _, _| {
                    assert_eq!(r.start, seen);
                    seen = r.end;
                },
                |ins, o| {
                    cpu_len = Some(cpu_len.unwrap_or(0) + o.len());
                    for (i, o) in o.iter_mut().enumerate() {
                        *o = std::array::from_fn(|k| ins[0][i][k] + ins[1][i][k]);
                    }
                },
            )
            .unwrap();
            assert_eq!(seen, gpu_len, "the GPU's ranges, n = {n}");
            let want_cpu = (gpu_len < n).then_some(n - gpu_len);
            assert_eq!(cpu_len, want_cpu, "the CPU's share (if any), n = {n}");
            assert_eq!(
                ctx.host_read::<[u64; 6], _>(&out, |w| w.to_vec()).unwrap(),
                want,
                "n = {n}, GPU {gpu_len}"
            );
        }
    }
    let (h, g) = (ctx.alloc_host(4, 6).unwrap(), ctx.alloc_host(4, 6).unwrap());
    let d = ctx.alloc(4, 6).unwrap();
    let mut called = false;
    let mut run = |inputs: &[&vk_backend::DeviceBuffer], gpu_len: usize| {
        ctx.run_streamed_buffers_beside::<[u64; 6]>(
            &add,
            inputs,
            &g,
            gpu_len,
            0,
            |_, _, _| (),
            |_, _| called = true,
        )
    };
    for (inputs, gpu_len, why) in [
        (&[&h, &d][..], 2, "device memory"),
        (&[&h, &h][..], 5, "past the end"),
    ] {
        let err = run(inputs, gpu_len).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{why}: {err}");
        assert!(err.to_string().contains(why), "{why}: {err}");
    }
    assert!(!called, "nothing ran");
    assert!(matches!(
        ctx.run_streamed_buffers_beside::<u64>(&add, &[&h, &h], &g, 2, 0, |_, _, _| (), |_, _| ()),
        Err(Error::InvalidArgument(_))
    ));
}

/// BLS12-381's modulus p, little-endian words (the add kernel's).
const P: [u64; 6] = [
    0xb9fe_ffff_ffff_aaab,
    0x1eab_fffe_b153_ffff,
    0x6730_d2a0_f6b0_f624,
    0x6477_4b84_f385_12bf,
    0x4b1b_a7b6_434b_acd7,
    0x1a01_11ea_397f_e69a,
];

/// Whether `w >= p`, compared on the host.
fn at_least_p(w: &[u64; 6]) -> bool {
    w.iter().rev().cmp(P.iter().rev()) != std::cmp::Ordering::Less
}

/// The Fq kernels check every result they store and raise bit 0 of their dispatch's status
/// word for one that is not canonical. Fed inputs that are not canonical (all ones: the
/// reduced sum is then still above p), exactly the chunks and batches whose outputs hold
/// such a value (compared with p on the host) report the flag; the others report none.
#[test]
fn kernel_status_words_flag_non_canonical_results() {
    let Some((ctx, add)) = streaming_context("kernel_status_words") else {
        return;
    };
    let n = 3000;
    let bad = 2100; // in the third chunk of 1001
    let (_, _, [ha, hb, out]) = host_job(&ctx, n);
    for h in [&ha, &hb] {
        ctx.host_write::<[u64; 6], _>(h, |w| w[bad] = [u64::MAX; 6])
            .unwrap();
    }
    let mut flagged = Vec::new();
    ctx.run_streamed_buffers(&add, &[&ha, &hb], &out, 0, |r, w, flags| {
        let host_sees = w.chunks_exact(6).any(|x| at_least_p(x.try_into().unwrap()));
        assert_eq!(flags != 0, host_sees, "range {r:?}: flags {flags}");
        flagged.push((r, flags));
    })
    .unwrap();
    let hit: Vec<_> = flagged.iter().filter(|(_, f)| *f != 0).collect();
    assert_eq!(hit.len(), 1, "{flagged:?}");
    assert!(hit[0].0.contains(&bad) && hit[0].1 == 1, "{flagged:?}");
    // One batch of several dispatches: flags from any of them reach the finished batch.
    let good = ctx.upload(n, 6, |w| w.fill(1)).unwrap();
    let ones = ctx.upload(n, 6, |w| w.fill(u64::MAX)).unwrap();
    let (o1, o2) = (ctx.alloc(n, 6).unwrap(), ctx.alloc(n, 6).unwrap());
    for (second, want) in [(&good, 0), (&ones, 1)] {
        let mut batch = ctx.batch().unwrap();
        batch.dispatch(&add, &[&good, &good], &o1).unwrap();
        batch.dispatch(&add, &[second, second], &o2).unwrap();
        let id = batch.download(&o2).unwrap();
        let done = batch.submit().unwrap().finish().unwrap();
        let host_sees = done
            .read(id, |w| {
                w.chunks_exact(6).any(|x| at_least_p(x.try_into().unwrap()))
            })
            .unwrap();
        assert_eq!(host_sees, want != 0);
        assert_eq!(done.kernel_flags(), want);
    }
    // More dispatches than one status buffer holds (64), the bad one last; then a short
    // clean batch, on a recorder that may still hold the long batch's words.
    let small = |fill: u64| ctx.upload(4, 6, |w| w.fill(fill)).unwrap();
    let (ok, bad_in) = (small(1), small(u64::MAX));
    let outs: Vec<_> = (0..70).map(|_| ctx.alloc(4, 6).unwrap()).collect();
    let mut batch = ctx.batch().unwrap();
    for (i, o) in outs.iter().enumerate() {
        let x = if i == 69 { &bad_in } else { &ok };
        batch.dispatch(&add, &[x, x], o).unwrap();
    }
    assert_eq!(batch.submit().unwrap().finish().unwrap().kernel_flags(), 1);
    let mut batch = ctx.batch().unwrap();
    batch.dispatch(&add, &[&ok, &ok], &outs[0]).unwrap();
    assert_eq!(batch.submit().unwrap().finish().unwrap().kernel_flags(), 0);
}
