//! Fq batch add: CPU (blst + rayon) against the Vulkan round trip (host -> GPU -> host).
//!
//! `cargo bench -p fq-benches`. The GPU group is skipped, with a message, when no Vulkan
//! device can be opened. Record H100 figures in docs/performance.md, not from tests.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use field_bls12::{cpu, Fq, FqGpu};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vk_backend::{Context, ContextConfig};

const SIZES: [usize; 4] = [1 << 10, 1 << 14, 1 << 18, 1 << 20];

fn inputs(n: usize) -> (Vec<Fq>, Vec<Fq>) {
    let mut rng = StdRng::seed_from_u64(n as u64);
    (0..n)
        .map(|_| (Fq::random(&mut rng), Fq::random(&mut rng)))
        .unzip()
}

fn fq_add(c: &mut Criterion) {
    let gpu = match ContextConfig::from_env().and_then(|cfg| Context::new(&cfg)) {
        Ok(ctx) => Some(FqGpu::new(Arc::new(ctx)).expect("building the Fq kernels")),
        Err(e) => {
            eprintln!("GPU benchmarks skipped: {e}");
            None
        }
    };
    let mut group = c.benchmark_group("fq_add");
    for n in SIZES {
        let (a, b) = inputs(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("cpu", n), &n, |bench, _| {
            bench.iter(|| cpu::add(black_box(&a), black_box(&b)).unwrap())
        });
        if let Some(gpu) = &gpu {
            let name = format!("gpu round trip ({})", gpu.context().info().name);
            group.bench_with_input(BenchmarkId::new(name, n), &n, |bench, _| {
                bench.iter(|| gpu.add(black_box(&a), black_box(&b)).unwrap())
            });
        }
    }
    group.finish();
}

criterion_group!(benches, fq_add);
criterion_main!(benches);
