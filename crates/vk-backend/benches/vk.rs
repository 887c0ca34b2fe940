//! `cargo bench -p vk-backend`: round-trip latency, PCIe bandwidth, device copies (compute
//! shader vs vkCmdCopyBuffer), resident Fq add, the streamed host -> host pipeline and seed
//! 001's batch compositions. `hybrid-exec bench` measures the same figures once, beside
//! their ceilings, for docs/performance.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use vk_backend::{Context, ContextConfig, DeviceBuffer, Kernel, KernelDesc};

const W: u32 = 6;

/// Small canonical Fq values (the kernel's inputs must be below p).
fn words(n: usize, v: u64) -> Vec<u64> {
    (0..n as u64).flat_map(|i| [i ^ v, v, i, 0, 0, 1]).collect()
}

fn vk(c: &mut Criterion) {
    let ctx = match ContextConfig::from_env().and_then(|cfg| Context::new(&cfg)) {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("vk-backend benchmarks skipped: {e}");
            return;
        }
    };
    let add = ctx
        .create_kernel(&KernelDesc::elementwise(
            "fq_add",
            vk_backend::test_support::fq_add_module(),
            2,
            W,
        ))
        .unwrap();
    let copy = ctx.copy_kernel().unwrap();

    let mut g = c.benchmark_group("latency");
    g.bench_function("empty submit + wait", |b| {
        b.iter(|| ctx.batch().unwrap().submit().unwrap().finish().unwrap())
    });
    for n in [1usize, 1024] {
        let (a, bb) = (words(n, 1), words(n, 2));
        g.bench_with_input(BenchmarkId::new("fq add round trip", n), &n, |b, &n| {
            b.iter(|| {
                ctx.run_elementwise(
                    &add,
                    n,
                    |i, w| w.copy_from_slice(if i == 0 { &a } else { &bb }),
                    |w| black_box(w[0]),
                )
                .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pcie");
    let n = 8 << 20; // 64 MiB of u64 words
    let host = words(n / 6, 3);
    let dev = ctx.alloc(host.len() / 2, 2).unwrap();
    g.throughput(Throughput::Bytes(host.len() as u64 * 8));
    g.bench_function("upload 64 MiB", |b| {
        b.iter(|| {
            let mut batch = ctx.batch().unwrap();
            batch.upload(&dev, |w| w.copy_from_slice(&host)).unwrap();
            batch.submit().unwrap().finish().unwrap()
        })
    });
    g.bench_function("download 64 MiB", |b| {
        b.iter(|| ctx.download(&dev, |w| black_box(w[w.len() - 1])).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("device memory");
    let elems = 1 << 24; // 16-byte elements: 256 MiB per buffer
    let (src, dst) = (ctx.alloc(elems, 2).unwrap(), ctx.alloc(elems, 2).unwrap());
    g.throughput(Throughput::Bytes(2 * elems as u64 * 16));
    g.bench_function("copy 256 MiB, compute shader", |b| {
        b.iter(|| one(&ctx, |batch| batch.dispatch(&copy, &[&src], &dst).unwrap()))
    });
    g.bench_function("copy 256 MiB, vkCmdCopyBuffer", |b| {
        b.iter(|| one(&ctx, |batch| batch.copy(&src, &dst).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("fq add");
    let n = 1 << 22;
    let (a, bb) = (words(n, 5), words(n, 6));
    let (da, db, out) = (up(&ctx, &a), up(&ctx, &bb), ctx.alloc(n, W).unwrap());
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("resident 4Mi", |b| {
        b.iter(|| {
            one(&ctx, |batch| {
                batch.dispatch(&add, &[&da, &db], &out).unwrap()
            })
        })
    });
    g.bench_function("streamed host to host 4Mi", |b| {
        b.iter(|| streamed(&ctx, &add, n, &a, &bb));
    });
    g.finish();

    let mut g = c.benchmark_group("seed 001 compositions");
    let compositions: [(&str, &[usize]); 7] = [
        ("uniform 32K", &[32_000; 4]),
        ("uniform 64K", &[64_000; 4]),
        ("mixed same bucket", &[20_000, 25_000, 30_000, 28_000]),
        ("mixed adjacent", &[20_000, 40_000, 20_000, 40_000]),
        ("mixed diverse", &[10_000, 50_000, 100_000, 200_000]),
        ("large uniform 8x500K", &[500_000; 8]),
        (
            "large mixed 6x256K/512K",
            &[256_000, 512_000, 256_000, 512_000, 256_000, 512_000],
        ),
    ];
    for (name, sizes) in compositions {
        let tasks: Vec<(Vec<u64>, Vec<u64>, [DeviceBuffer; 3])> = sizes
            .iter()
            .map(|&s| {
                (
                    words(s, 8),
                    words(s, 9),
                    [0; 3].map(|_| ctx.alloc(s, W).unwrap()),
                )
            })
            .collect();
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut batch = ctx.batch().unwrap();
                for (a, bb, [da, db, out]) in &tasks {
                    batch.upload(da, |w| w.copy_from_slice(a)).unwrap();
                    batch.upload(db, |w| w.copy_from_slice(bb)).unwrap();
                    batch.dispatch(&add, &[da, db], out).unwrap();
                    batch.download(out).unwrap();
                }
                batch.submit().unwrap().finish().unwrap()
            })
        });
    }
    g.finish();
}

fn one(ctx: &Context, record: impl FnOnce(&mut vk_backend::Batch<'_>)) {
    let mut batch = ctx.batch().unwrap();
    record(&mut batch);
    batch.submit().unwrap().finish().unwrap();
}

fn up(ctx: &Context, w: &[u64]) -> DeviceBuffer {
    ctx.upload(w.len() / W as usize, W, |d| d.copy_from_slice(w))
        .unwrap()
}

fn streamed(ctx: &Context, add: &Kernel, n: usize, a: &[u64], b: &[u64]) {
    let w = W as usize;
    ctx.run_streamed(
        add,
        n,
        0,
        |i, r, dst| dst.copy_from_slice(&(if i == 0 { a } else { b })[r.start * w..r.end * w]),
        |_, src, _| {
            black_box(src[0]);
        },
    )
    .unwrap();
}

criterion_group!(benches, vk);
criterion_main!(benches);
