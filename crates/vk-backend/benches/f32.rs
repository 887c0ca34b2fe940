//! `cargo bench -p vk-backend --bench f32`: seed 003's table on this backend (f32 vector
//! add, dot product, ReLU, sigmoid, GELU, softmax at 1K-1M elements; square matrix products
//! of 100-1000), through `f32_ops`: the GPU from slices, the GPU on resident vectors and the
//! CPU reference. `hybrid-exec bench --only f32` measures the same once, beside ceilings.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use f32_ops::{cpu, F32Gpu};
use vk_backend::{Context, ContextConfig};

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed) % 2001) as f32 / 250.0 - 4.0)
        .collect()
}

fn f32_table(c: &mut Criterion) {
    let gpu = match ContextConfig::from_env()
        .and_then(|cfg| Context::new(&cfg))
        .map_err(f32_ops::F32Error::from)
        .and_then(|ctx| F32Gpu::new(Arc::new(ctx)))
    {
        Ok(gpu) => gpu,
        Err(e) => {
            eprintln!("f32 benchmarks skipped: {e}");
            return;
        }
    };
    let mut g = c.benchmark_group("f32 vector");
    for n in [1_000usize, 10_000, 100_000, 1_000_000] {
        let (a, b) = (values(n, 1), values(n, 2));
        let (ra, rb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("add gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.add(&a, &b).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("add gpu resident", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.add_resident(&ra, &rb).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("add cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::add(&a, &b).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("dot gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.dot(&a, &b).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("dot cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::dot(&a, &b).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("relu gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.relu(&a).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("relu cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::relu(&a)))
        });
        g.bench_with_input(BenchmarkId::new("sigmoid gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.sigmoid(&a).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("sigmoid cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::sigmoid(&a)))
        });
        g.bench_with_input(BenchmarkId::new("gelu gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.gelu(&a).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("gelu cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::gelu(&a)))
        });
        g.bench_with_input(BenchmarkId::new("softmax gpu", n), &n, |bch, _| {
            bch.iter(|| black_box(gpu.softmax(&a).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("softmax cpu", n), &n, |bch, _| {
            bch.iter(|| black_box(cpu::softmax(&a)))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("f32 matmul");
    g.sample_size(10);
    for side in [100usize, 500, 1000] {
        let (a, b) = (values(side * side, 3), values(side * side, 4));
        g.throughput(Throughput::Elements((2 * side * side * side) as u64));
        g.bench_with_input(BenchmarkId::new("gpu", side), &side, |bch, &s| {
            bch.iter(|| black_box(gpu.matmul(&a, &b, s, s, s).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("cpu", side), &side, |bch, &s| {
            bch.iter(|| black_box(cpu::matmul(&a, &b, s, s, s).unwrap()))
        });
        if gpu.has_f16_matmul() {
            g.bench_with_input(
                BenchmarkId::new("gpu f16 inputs", side),
                &side,
                |bch, &s| bch.iter(|| black_box(gpu.matmul_f16(&a, &b, s, s, s).unwrap())),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, f32_table);
criterion_main!(benches);
