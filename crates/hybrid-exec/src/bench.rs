//! `hybrid-exec bench`: the Vulkan backend's figures, each beside a ceiling measured in the
//! same run, as one table and optionally JSON.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use field_bls12::{Fq, FqGpu, FqOp};
use gpu_core::{median, sample_pair, ValueStats};
use hybrid_exec::jobs::{chain10, two_input};
use rayon::prelude::*;
use serde::Serialize;
use vk_backend::{Context, DeviceBuffer};

use crate::measure::random_fq as random;

/// What a figure measures; decides how it prints and which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Latency in microseconds (lower is better).
    Micros,
    /// Nanoseconds per element (lower is better).
    NsPerElement,
    /// Microseconds per task (lower is better).
    MicrosPerTask,
    /// Bandwidth in GB/s (higher is better).
    GBps,
    /// Bandwidth in TB/s (higher is better).
    TBps,
    /// Throughput in G elements/s (higher is better).
    GElemsPerSec,
    /// Milliseconds per call (lower is better).
    Millis,
    /// Gas processed per second, in millions (higher is better): a VM's throughput.
    MgasPerSec,
    /// Floating-point operations per second, in trillions (higher is better).
    TflopsPerSec,
}

impl Unit {
    fn label(self) -> &'static str {
        match self {
            Unit::Micros => "us",
            Unit::NsPerElement => "ns/elem",
            Unit::MicrosPerTask => "us/task",
            Unit::GBps => "GB/s",
            Unit::TBps => "TB/s",
            Unit::GElemsPerSec => "Gelem/s",
            Unit::Millis => "ms",
            Unit::MgasPerSec => "Mgas/s",
            Unit::TflopsPerSec => "TFLOP/s",
        }
    }

    fn higher_is_better(self) -> bool {
        matches!(
            self,
            Unit::GBps | Unit::TBps | Unit::GElemsPerSec | Unit::MgasPerSec | Unit::TflopsPerSec
        )
    }
}

/// One measured figure: samples in its unit, and the ceiling it is judged against.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    pub(crate) name: String,
    pub(crate) unit: Unit,
    pub(crate) samples: Vec<f64>,
    pub(crate) ceiling: Option<(String, f64)>,
}

impl Figure {
    /// The samples' statistics (`None` for a figure this device could not measure, such
    /// as GPU copy times on a queue without timestamps).
    fn stats(&self) -> Option<ValueStats> {
        ValueStats::from_values(&self.samples)
    }

    /// How close the median is to the ceiling, as a fraction (1.0 = at the ceiling).
    fn ratio(&self) -> Option<f64> {
        let median = self.stats()?.median;
        self.ceiling.as_ref().map(|&(_, c)| {
            if self.unit.higher_is_better() {
                median / c
            } else {
                c / median
            }
        })
    }
}

/// Options of `hybrid-exec bench`.
#[derive(Clone, Debug)]
pub(crate) struct BenchOptions {
    /// Timed samples per figure (large transfers use a third of this, at least 3).
    pub(crate) samples: usize,
    /// Elements of the large figures (16Mi by default); also the most (point, scalar) pairs
    /// of an MSM figure.
    pub(crate) large: usize,
    /// The sections to run (all when empty).
    pub(crate) only: Vec<Section>,
    /// A Python with PyTorch on CUDA: the f32 section then measures cuBLAS's matrix
    /// products in the same run, as their peers.
    pub(crate) torch: Option<std::path::PathBuf>,
}

/// A section of `hybrid-exec bench`, as `--only` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Section {
    /// Latency, PCIe, device memory, Fq add/mul/chain, the router's rows, seed 001's
    /// compositions.
    Fq,
    /// Multi-scalar multiplication: single MSMs, batches of MSMs and fixed-base MSMs.
    Msm,
    /// EIP-2537 blocks through the router's block engine.
    Eip,
    /// f32 workloads (seed 003's table): vector ops, activations, softmax, matrix products.
    F32,
    /// Several GPUs (a `DeviceGroup` over `VK_BACKEND_DEVICES`) against the first alone: a
    /// G1 MSM of 2^22 points, a block of 512 G1MSM calls of 128 points, a 16Mi-element
    /// 10-op chain from host slices, host vectors and resident.
    Multi,
}

/// [`gpu_core::sample`] of values in a figure's unit (the closures' `?` then knows the
/// error type).
fn sample(warmup: usize, samples: usize, f: impl FnMut() -> Result<f64>) -> Result<Vec<f64>> {
    gpu_core::sample(warmup, samples, f)
}

/// `samples` times of `f` in milliseconds, after a first call and then calls for at least
/// a second: a GPU's clocks fall while it idles (as it does while the CPU's rows run), and
/// come back only after a while under load. On the H100 (2026-12-06) a G1 MSM of 2^10
/// points took 15.8 ms after a single warm-up call and 2.8 ms on a busy device; a block of
/// 256 G1MSM calls on the Gpu policy took 64, then 45 ms for its first ~0.7 s and 15.5 ms
/// after (a quarter second of warm-up measured the 45). The first call is not part of the
/// second: with the pipeline cache off it built the block's kernels for 2.2 s, and the
/// samples that followed ran at 40 ms against 13 ms a second later.
fn warm_millis(samples: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<Vec<f64>> {
    f()?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(1) {
        f()?;
    }
    sample(0, samples, || Ok(secs(&mut *f)?.1 * 1e3))
}

/// Calls `f` once: its result and how long it took in seconds.
fn secs<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let (out, took) = gpu_core::time(f)?;
    Ok((out, took.as_secs_f64()))
}

/// Copies `src` into `dst` on all cores (one thread's memcpy into mapped memory is ~10 GB/s).
fn par_copy(dst: &mut [u64], src: &[u64]) {
    dst.par_chunks_mut(1 << 16)
        .zip(src.par_chunks(1 << 16))
        .for_each(|(d, s)| d.copy_from_slice(s));
}

/// Measures the figures of the sections `opts` selects on `ctx`, using `fq` for the Fq
/// kernels.
pub(crate) fn run(ctx: &Context, fq: &FqGpu, opts: &BenchOptions) -> Result<Vec<Figure>> {
    let n = opts.samples.max(3);
    let few = (n / 3).max(3);
    let large = opts.large;
    let runs = |s: Section| opts.only.is_empty() || opts.only.contains(&s);
    let mut figures = Vec::new();
    let mut mont_rate = None;
    if runs(Section::Fq) {
        let (fq_figures, rate) = fq_figures(ctx, fq, n, few, large)?;
        figures = fq_figures;
        mont_rate = Some(rate);
    }
    if runs(Section::Msm) {
        // The MSM ceilings are priced at the Montgomery rate: measured alone when the Fq
        // section, which reports it, is skipped.
        let mont_rate = match mont_rate {
            Some(rate) => rate,
            None => {
                let (a, b) = resident_inputs(large);
                median(&ResidentFq::upload(ctx, &a, &b)?.montgomery_rate(ctx, fq, few)?)
            }
        };
        msm_figures(fq.context(), &mut figures, few, large, mont_rate)?;
    }
    if runs(Section::Eip) {
        precompile_figures(fq.context(), &mut figures, few, large)?;
    }
    // Not among the defaults: the backend's figures are the Fq engine's and the curve's.
    if opts.only.contains(&Section::F32) {
        f32_figures(
            fq.context(),
            &mut figures,
            few,
            large,
            opts.torch.as_deref(),
        )?;
    }
    if opts.only.contains(&Section::Multi) {
        multi_figures(&mut figures, few, large)?;
    }
    Ok(figures)
}

/// The group of every device against its first device alone (issue 18's targets), each
/// on the Gpu policy: one G1 MSM of 2^22 points (or `large`, if fewer), a block of 512
/// G1MSM calls of 128 points (fewer below the default `large`) and a 10-op chain over
/// `large` elements, all from host slices. Beside each group figure, the first device's alone, measured just before.
fn multi_figures(figures: &mut Vec<Figure>, few: usize, large: usize) -> Result<()> {
    use eip2537::Precompile;
    use hybrid_exec::{DeviceGroup, Policy, RouterConfig};

    let mut config = RouterConfig::default();
    config.policy = Policy::Gpu;
    config.profile_dir = None;
    let group = DeviceGroup::new(&config);
    let names: Vec<String> = group.devices().into_iter().map(|(n, _)| n).collect();
    let label = format!("{} devices ({})", names.len(), names.join(", "));
    let one = &group.routers()[0];
    let samples = few.max(3);
    let millis = |f: &mut dyn FnMut() -> Result<()>| warm_millis(samples, f);
    let mut pair = |what: &str, one_ms: Vec<f64>, group_ms: Vec<f64>| {
        let alone = median(&one_ms);
        push_figure(
            figures,
            &format!("{what}, first device alone"),
            Unit::Millis,
            one_ms,
            None,
        );
        push_figure(
            figures,
            &format!("{what}, {label}"),
            Unit::Millis,
            group_ms,
            Some(("the first device alone", alone)),
        );
    };

    let n = (1usize << 22).min(large);
    let points = crate::measure::random_points::<crate::curve::G1>(n, 91);
    let scalars = crate::measure::random_scalars(n, 92);
    let one_ms = millis(&mut || {
        std::hint::black_box(one.msm_g1_with(Policy::Gpu, &points, &scalars)?);
        Ok(())
    })?;
    let group_ms = millis(&mut || {
        std::hint::black_box(group.msm_g1(&points, &scalars)?);
        Ok(())
    })?;
    pair(
        &format!("G1 MSM of {n} points from slices"),
        one_ms,
        group_ms,
    );
    drop((points, scalars));

    // 512 calls at the default size; fewer below it (a software device, say).
    let (calls, per_call) = ((512 * large / (1 << 24)).clamp(2, 512), 128);
    let points = crate::measure::random_points::<crate::curve::G1>(calls * per_call, 93);
    let scalars = crate::measure::random_scalars(calls * per_call, 94);
    let inputs: Vec<Vec<u8>> = points
        .chunks(per_call)
        .zip(scalars.chunks(per_call))
        .map(|(p, k)| {
            p.iter()
                .zip(k)
                .flat_map(|(p, k)| [&p.to_eip2537()[..], &k.to_be_bytes()[..]].concat())
                .collect()
        })
        .collect();
    let block: Vec<(Precompile, &[u8])> =
        inputs.iter().map(|i| (Precompile::G1Msm, &i[..])).collect();
    let one_ms = millis(&mut || {
        std::hint::black_box(one.execute_block_with(Policy::Gpu, &block));
        Ok(())
    })?;
    let group_ms = millis(&mut || {
        std::hint::black_box(group.execute_block(&block));
        Ok(())
    })?;
    pair(
        &format!("EIP-2537 block of {calls} G1MSM calls of {per_call} points"),
        one_ms,
        group_ms,
    );

    let chain = chain10()?;
    let (a, b) = (random(large, 95), random(large, 96));
    let one_ms = millis(&mut || {
        std::hint::black_box(one.run_with(Policy::Gpu, &chain, &[&a, &b])?);
        Ok(())
    })?;
    let group_ms = millis(&mut || {
        std::hint::black_box(group.run(&chain, &[&a, &b])?);
        Ok(())
    })?;
    pair(
        &format!("10-op chain of {large} elements from slices"),
        one_ms,
        group_ms,
    );

    // The same chain on host vectors and on resident vectors: the first device's own
    // against one shard per device.
    if let Some(gpu) = one.gpu() {
        let (ha, hb) = (gpu.host_vec_from(&a)?, gpu.host_vec_from(&b)?);
        let mut out = gpu.alloc_host_vec(large)?;
        let one_ms = millis(&mut || {
            one.run_host(Policy::Gpu, &chain, &[&ha, &hb], &mut out)?;
            Ok(())
        })?;
        let (ga, gb) = (group.host_vec_from(&a)?, group.host_vec_from(&b)?);
        let mut gout = group.alloc_host_vec_like(&ga)?;
        let group_ms = millis(&mut || {
            group.run_host(&chain, &[&ga, &gb], &mut gout)?;
            Ok(())
        })?;
        pair(
            &format!("10-op chain of {large} elements on host vectors"),
            one_ms,
            group_ms,
        );
        let (ra, rb) = (gpu.upload(&a)?, gpu.upload(&b)?);
        let one_ms = millis(&mut || {
            std::hint::black_box(gpu.run_program_resident(&chain, &[&ra, &rb])?);
            Ok(())
        })?;
        let (ga, gb) = (group.upload(&a)?, group.upload(&b)?);
        let group_ms = millis(&mut || {
            std::hint::black_box(group.run_resident(&chain, &[&ga, &gb])?);
            Ok(())
        })?;
        pair(
            &format!("10-op chain of {large} elements, resident"),
            one_ms,
            group_ms,
        );
    }
    Ok(())
}

/// Seed 003's table on this backend (issue 19): vector add, dot product, ReLU, sigmoid,
/// GELU and softmax at 1K, 10K, 100K and 1M elements, and square matrix products of 100,
/// 500, 1000 and 4096 (sizes above `large` elements, and matrices of more, left out), each on the CPU (all cores), the GPU from slices (upload,
/// kernels, readback in one submission), the GPU on resident vectors (one submission, no
/// transfer) and the router's Auto (after four runs under the Gpu policy have shown it the
/// shape). Beside the vector rows from slices, the time their bytes take across the bus at
/// the copy rates measured in this run (64 MiB up, including the host's fill of staging
/// memory, and down); beside the resident ones, their bytes at this run's compute-copy
/// rate; beside Auto, the better of CPU and GPU; beside the matrix rows from slices, the
/// CPU, and beside the resident ones their 2 n^3 FLOP at the device's multiply-add rate
/// measured in this run (`F32Gpu::fma_rate`). With `torch` (a Python with PyTorch on
/// CUDA), cuBLAS's products through PyTorch run in the same process's run as the matrix
/// rows' peers ([`cublas_peers`]).
fn f32_figures(
    ctx: &Arc<Context>,
    figures: &mut Vec<Figure>,
    few: usize,
    large: usize,
    torch: Option<&std::path::Path>,
) -> Result<()> {
    use f32_ops::{cpu, F32Gpu};

    let gpu = F32Gpu::new(Arc::clone(ctx))?;
    let samples = few.max(5);
    let millis = |f: &mut dyn FnMut() -> Result<()>| warm_millis(samples, f);
    // The bus, both ways, with the host's copies: bytes per second.
    let words = 8 << 20;
    let data = vec![0x3f80_0000_3f80_0000u64; words];
    let dev = ctx.alloc(words, 1)?;
    let up = millis(&mut || {
        let mut batch = ctx.batch()?;
        batch.upload(&dev, |w| par_copy(w, &data))?;
        batch.submit()?.finish()?;
        Ok(())
    })?;
    let mut sink = vec![0u64; words];
    let down = millis(&mut || {
        let mut batch = ctx.batch()?;
        let id = batch.download(&dev)?;
        batch
            .submit()?
            .finish()?
            .read(id, |w| par_copy(&mut sink, w))?;
        Ok(())
    })?;
    let bytes = (words * 8) as f64;
    let (up_rate, down_rate) = (bytes / median(&up) * 1e3, bytes / median(&down) * 1e3);
    push_figure(
        figures,
        "f32 section: upload 64 MiB incl. the host's fill",
        Unit::GBps,
        up.iter().map(|ms| bytes / ms / 1e6).collect(),
        None,
    );
    push_figure(
        figures,
        "f32 section: download 64 MiB incl. the host's copy",
        Unit::GBps,
        down.iter().map(|ms| bytes / ms / 1e6).collect(),
        None,
    );
    let values = |n: usize, seed: u64| -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-4.0f32..4.0)).collect()
    };
    fn keep<T>(result: T) -> Result<()> {
        std::hint::black_box(result);
        Ok(())
    }
    // Device memory: 256 MiB (or the largest bindable buffer) copied by a compute shader,
    // the resident rows' ceiling.
    let copy = ctx.copy_kernel()?;
    let elems16 = ((256u64 << 20).min(ctx.max_kernel_buffer_bytes()) / 16) as usize;
    let (src, dst) = (ctx.alloc(elems16, 2)?, ctx.alloc(elems16, 2)?);
    let copy_ns = gpu_sample(ctx, few, |batch| {
        batch.dispatch(&copy, &[&src], &dst)?;
        Ok(())
    })?;
    let mem_rate = (2 * elems16 * 16) as f64 / median(&copy_ns) * 1e9; // bytes per second
    drop((src, dst));
    let router = {
        let mut config = hybrid_exec::RouterConfig::default();
        config.profile_dir = None;
        hybrid_exec::Router::with_gpu(&config, Some(FqGpu::new(Arc::clone(ctx))?))
    };
    let us = |ms: Vec<f64>| -> Vec<f64> { ms.into_iter().map(|ms| ms * 1e3).collect() };
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        if n > large {
            continue;
        }
        let (a, b) = (values(n, 1), values(n, 2));
        let (ra, rb) = (gpu.upload(&a)?, gpu.upload(&b)?);
        use hybrid_exec::F32Job;
        type Call<'a> = Box<dyn Fn() -> Result<()> + 'a>;
        // (name, inputs, outputs, GPU from slices, GPU resident, CPU, the router's job)
        let rows: Vec<(&str, usize, usize, Call<'_>, Call<'_>, Call<'_>, F32Job<'_>)> = vec![
            (
                "add",
                2,
                n,
                Box::new(|| keep(gpu.add(&a, &b)?)),
                Box::new(|| keep(gpu.add_resident(&ra, &rb)?)),
                Box::new(|| keep(cpu::add(&a, &b)?)),
                F32Job::Add(&a, &b),
            ),
            (
                "dot",
                2,
                1,
                Box::new(|| keep(gpu.dot(&a, &b)?)),
                Box::new(|| keep(gpu.dot_resident(&ra, &rb)?)),
                Box::new(|| keep(cpu::dot(&a, &b)?)),
                F32Job::Dot(&a, &b),
            ),
            (
                "relu",
                1,
                n,
                Box::new(|| keep(gpu.relu(&a)?)),
                Box::new(|| keep(gpu.relu_resident(&ra)?)),
                Box::new(|| keep(cpu::relu(&a))),
                F32Job::Relu(&a),
            ),
            (
                "sigmoid",
                1,
                n,
                Box::new(|| keep(gpu.sigmoid(&a)?)),
                Box::new(|| keep(gpu.sigmoid_resident(&ra)?)),
                Box::new(|| keep(cpu::sigmoid(&a))),
                F32Job::Sigmoid(&a),
            ),
            (
                "gelu",
                1,
                n,
                Box::new(|| keep(gpu.gelu(&a)?)),
                Box::new(|| keep(gpu.gelu_resident(&ra)?)),
                Box::new(|| keep(cpu::gelu(&a))),
                F32Job::Gelu(&a),
            ),
            (
                "softmax",
                1,
                n,
                Box::new(|| keep(gpu.softmax(&a)?)),
                Box::new(|| keep(gpu.softmax_resident(&ra)?)),
                Box::new(|| keep(cpu::softmax(&a))),
                F32Job::Softmax(&a),
            ),
        ];
        for (op, inputs, outputs, on_gpu, resident, on_cpu, job) in rows {
            let cpu_ms = millis(&mut || on_cpu())?;
            let gpu_ms = millis(&mut || on_gpu())?;
            let resident_ms = millis(&mut || resident())?;
            // Auto weighs the GPU once it has seen it run the shape (4 runs: the first
            // pays one-time costs, trust comes after three).
            for _ in 0..4 {
                router.f32_with(hybrid_exec::Policy::Gpu, job)?;
            }
            let auto_ms = millis(&mut || keep(router.f32_with(hybrid_exec::Policy::Auto, job)?))?;
            let bytes = ((inputs * n + outputs) * 4) as f64;
            let bus_us =
                (inputs * n * 4) as f64 / up_rate * 1e6 + (outputs * 4) as f64 / down_rate * 1e6;
            let better_us = median(&cpu_ms).min(median(&gpu_ms)) * 1e3;
            let name = |who: &str| format!("f32 {op}, {n} elements, {who}");
            push_figure(
                figures,
                &name("CPU (rayon, all cores)"),
                Unit::Micros,
                us(cpu_ms),
                None,
            );
            push_figure(
                figures,
                &name("GPU from slices (one submission)"),
                Unit::Micros,
                us(gpu_ms),
                Some(("bytes across the bus at this run's copy rates", bus_us)),
            );
            push_figure(
                figures,
                &name("GPU resident (one submission)"),
                Unit::Micros,
                us(resident_ms),
                Some((
                    "bytes at this run's compute-copy rate",
                    bytes / mem_rate * 1e6,
                )),
            );
            push_figure(
                figures,
                &name("router, Auto"),
                Unit::Micros,
                us(auto_ms),
                Some(("the better of CPU and GPU from slices", better_us)),
            );
        }
        // Where a job from slices spends its time: its inputs' way in and its output's way
        // back, each alone (one submission each), beside their bytes at the bus's rates.
        let bytes = (4 * n) as f64;
        let up_ms = millis(&mut || keep(gpu.upload(&a)?))?;
        push_figure(
            figures,
            &format!("f32 {n} elements: upload alone (host fill included)"),
            Unit::Micros,
            us(up_ms),
            Some(("bytes at this run's upload rate", bytes / up_rate * 1e6)),
        );
        let down_ms = millis(&mut || {
            std::hint::black_box(gpu.download(&ra)?);
            Ok(())
        })?;
        push_figure(
            figures,
            &format!("f32 {n} elements: download alone (into a fresh Vec)"),
            Unit::Micros,
            us(down_ms),
            Some(("bytes at this run's download rate", bytes / down_rate * 1e6)),
        );
    }
    // The matrix rows' ceiling: the device's multiply-add rate (up to 4Mi invocations of 8
    // chains of 512 steps: about 69 GFLOP), the median of the samples.
    let invocations = (1usize << 22).min(4 * large);
    let fma_rates = sample(1, few, || {
        gpu.fma_rate(invocations, 512)?
            .context("this device's queue has no timestamps")
    })?;
    let fma_rate = median(&fma_rates);
    push_figure(
        figures,
        &format!("f32 section: multiply-add rate ({invocations} invocations of 8 chains)"),
        Unit::TflopsPerSec,
        fma_rates.iter().map(|r| r / 1e12).collect(),
        None,
    );
    let peers = match torch {
        Some(python) => cublas_peers(python)?,
        None => Vec::new(),
    };
    let peer = |name: &str, side: usize| {
        peers
            .iter()
            .find(|p| p.name == name && p.side == side)
            .map(|p| p.millis)
    };
    for side in [100, 500, 1000, 4096] {
        if side * side > large {
            continue;
        }
        let (a, b) = (values(side * side, 3), values(side * side, 4));
        let cpu_ms = millis(&mut || {
            std::hint::black_box(cpu::matmul(&a, &b, side, side, side)?);
            Ok(())
        })?;
        let gpu_ms = millis(&mut || {
            std::hint::black_box(gpu.matmul(&a, &b, side, side, side)?);
            Ok(())
        })?;
        let (ra, rb) = (gpu.upload(&a)?, gpu.upload(&b)?);
        let resident_ms = millis(&mut || keep(gpu.matmul_resident(&ra, &rb, side, side, side)?))?;
        let f16_ms = if gpu.has_f16_matmul() {
            Some(millis(&mut || {
                keep(gpu.matmul_f16_resident(&ra, &rb, side, side, side)?)
            })?)
        } else {
            None
        };
        let job = hybrid_exec::F32Job::Matmul {
            a: &a,
            b: &b,
            m: side,
            k: side,
            n: side,
        };
        for _ in 0..4 {
            router.f32_with(hybrid_exec::Policy::Gpu, job)?;
        }
        let auto_ms = millis(&mut || keep(router.f32_with(hybrid_exec::Policy::Auto, job)?))?;
        let better = median(&cpu_ms).min(median(&gpu_ms));
        let resident_median = median(&resident_ms);
        let cpu_median = median(&cpu_ms);
        push_figure(
            figures,
            &format!("f32 matmul {side} x {side}, CPU (rayon, all cores)"),
            Unit::Millis,
            cpu_ms,
            None,
        );
        push_figure(
            figures,
            &format!("f32 matmul {side} x {side}, GPU from slices (one submission)"),
            Unit::Millis,
            gpu_ms.clone(),
            Some(("CPU, all cores", cpu_median)),
        );
        let flops = 2.0 * (side as f64).powi(3);
        push_figure(
            figures,
            &format!("f32 matmul {side} x {side}, GPU resident (one submission)"),
            Unit::Millis,
            resident_ms.clone(),
            Some((
                "2 n^3 FLOP at this run's multiply-add rate",
                flops / fma_rate * 1e3,
            )),
        );
        if let Some(f16_ms) = &f16_ms {
            push_figure(
                figures,
                &format!(
                    "f16-input matmul {side} x {side} (f32 accumulation, matrix units), \
                     GPU resident"
                ),
                Unit::Millis,
                f16_ms.clone(),
                Some(("the f32 product, resident", resident_median)),
            );
        }
        for p in peers.iter().filter(|p| p.side == side) {
            push_figure(
                figures,
                &format!("{side} x {side}: {} (PyTorch, this run)", p.name),
                Unit::Millis,
                vec![p.millis],
                None,
            );
        }
        for (ours, samples, theirs) in [
            ("f32 matmul, GPU resident", resident_ms, CUBLAS_FP32),
            ("f32 matmul, GPU from slices", gpu_ms, TORCH_HOST_FP32),
            (
                "f16-input matmul, GPU resident",
                f16_ms.unwrap_or_default(),
                CUBLAS_FP16,
            ),
        ] {
            if let (Some(t), false) = (peer(theirs, side), samples.is_empty()) {
                push_figure(
                    figures,
                    &format!("{ours} {side} x {side}, against {theirs}"),
                    Unit::Millis,
                    samples,
                    Some((theirs, t)),
                );
            }
        }
        push_figure(
            figures,
            &format!("f32 matmul {side} x {side}, router, Auto"),
            Unit::Millis,
            auto_ms,
            Some(("the better of CPU and GPU from slices", better)),
        );
    }
    Ok(())
}

/// The inputs of the resident Fq figures: two random vectors of `large` elements.
fn resident_inputs(large: usize) -> (Vec<Fq>, Vec<Fq>) {
    (random(large, 3), random(large, 4))
}

/// Two Fq vectors and an output of the same length in device memory, for kernel figures
/// that leave the bus out.
struct ResidentFq {
    a: DeviceBuffer,
    b: DeviceBuffer,
    out: DeviceBuffer,
    len: usize,
}

impl ResidentFq {
    fn upload(ctx: &Context, a: &[Fq], b: &[Fq]) -> Result<Self> {
        Ok(Self {
            a: upload_fq(ctx, a)?,
            b: upload_fq(ctx, b)?,
            out: ctx.alloc(a.len(), 6)?,
            len: a.len(),
        })
    }

    /// ns per dispatch of `op` over the vectors.
    fn dispatch_ns(&self, ctx: &Context, fq: &FqGpu, op: FqOp, few: usize) -> Result<Vec<f64>> {
        gpu_sample(ctx, few, |batch| {
            batch.dispatch(fq.kernel(op), &[&self.a, &self.b], &self.out)?;
            Ok(())
        })
    }

    /// One Montgomery product per element, in G elements/s: the data already in Montgomery
    /// form, as a chain of multiplications keeps it (canonical values < p are valid
    /// Montgomery forms).
    fn montgomery_rate(&self, ctx: &Context, fq: &FqGpu, few: usize) -> Result<Vec<f64>> {
        let ns = self.dispatch_ns(ctx, fq, FqOp::MontMul, few)?;
        Ok(ns.iter().map(|&t| self.len as f64 / t).collect())
    }
}

/// The Fq section: every figure before the MSMs, and the resident Montgomery rate (G/s)
/// that prices the MSM ceilings.
fn fq_figures(
    ctx: &Context,
    fq: &FqGpu,
    n: usize,
    few: usize,
    large: usize,
) -> Result<(Vec<Figure>, f64)> {
    let mut figures = Vec::new();
    let push = push_figure;

    // Latency floor: an empty batch, submitted and waited for.
    let empty = sample(20, n * 10, || {
        Ok(secs(|| Ok(ctx.batch()?.submit()?.finish()?))?.1 * 1e6)
    })?;
    push(
        &mut figures,
        "empty submit + wait",
        Unit::Micros,
        empty.clone(),
        None,
    );
    let empty_median = median(&empty);

    // Raw floors of a small round trip, through the backend with nothing of the engine:
    // 48 KiB written into device memory, the copy kernel, 48 KiB read back from host
    // memory (what 1Ki Fq elements move one way), and the same with an add's two inputs and
    // its kernel.
    let raw_floor = |inputs: usize| -> Result<Vec<f64>> {
        let words = 1024 * 6;
        let src: Vec<u64> = (0..words as u64).collect();
        let (kernel, wpe) = if inputs == 1 {
            (ctx.copy_kernel()?, 2)
        } else {
            (fq.kernel(FqOp::Add).clone(), 6)
        };
        let elems = words / wpe as usize;
        let ins = (0..inputs)
            .map(|_| ctx.alloc(elems, wpe))
            .collect::<Result<Vec<_>, _>>()?;
        let out = ctx.alloc_host(elems, wpe)?;
        let refs: Vec<&DeviceBuffer> = ins.iter().collect();
        sample(20, n * 10, || {
            Ok(secs(|| {
                let mut batch = ctx.batch()?;
                for buf in &ins {
                    batch.upload(buf, |w| w.copy_from_slice(&src))?;
                }
                batch.dispatch(&kernel, &refs, &out)?;
                let id = batch.read_host(&out)?;
                let done = batch.submit()?.finish()?;
                Ok(done.read(id, |w| std::hint::black_box(w.iter().fold(0, |s, x| s ^ x)))?)
            })?
            .1 * 1e6)
        })
    };
    let floor_48k = raw_floor(1)?;
    let floor_48k_median = median(&floor_48k);
    push(
        &mut figures,
        "raw round trip, 48 KiB up, copy kernel, 48 KiB back",
        Unit::Micros,
        floor_48k,
        Some(("empty submit + wait", empty_median)),
    );
    let floor_add = raw_floor(2)?;
    let floor_add_median = median(&floor_add);
    push(
        &mut figures,
        "raw round trip, 2 x 48 KiB up, add kernel, 48 KiB back",
        Unit::Micros,
        floor_add,
        Some(("48 KiB raw round trip", floor_48k_median)),
    );

    for size in [1usize, 1024] {
        let (a, b) = (random(size, 1), random(size, 2));
        let rt = sample(20, n * 10, || Ok(secs(|| Ok(fq.add(&a, &b)?))?.1 * 1e6))?;
        let ceiling = if size == 1024 {
            ("raw add round trip", floor_add_median)
        } else {
            ("empty submit + wait", empty_median)
        };
        push(
            &mut figures,
            &format!("Fq add round trip, {size} elem"),
            Unit::Micros,
            rt,
            Some(ceiling),
        );
    }

    // PCIe: 256 MiB each way; the GPU's own timing of the copy is the ceiling for the
    // end-to-end rate (which adds the host-side copy into staging memory).
    let words = 32 << 20;
    let host: Vec<u64> = (0..words as u64).collect();
    let dev = ctx.alloc(words / 2, 2)?; // large: device-local, so uploads go through staging
    let mut gpu_up = Vec::new();
    let up = sample(1, few, || {
        let (done, s) = secs(|| {
            let mut batch = ctx.timed_batch()?;
            batch.upload(&dev, |w| par_copy(w, &host))?;
            Ok(batch.submit()?.finish()?)
        })?;
        if let Some(t) = done.timings() {
            gpu_up.push(gb_per_s(words * 8, t.total_ns));
        }
        Ok((words * 8) as f64 / s / 1e9)
    })?;
    let mut gpu_down = Vec::new();
    let mut sink = vec![0u64; words];
    let down = sample(1, few, || {
        let (_, s) = secs(|| {
            let mut batch = ctx.timed_batch()?;
            let id = batch.download(&dev)?;
            let done = batch.submit()?.finish()?;
            if let Some(t) = done.timings() {
                gpu_down.push(gb_per_s(words * 8, t.total_ns));
            }
            Ok(done.read(id, |w| par_copy(&mut sink, w))?)
        })?;
        Ok((words * 8) as f64 / s / 1e9)
    })?;
    let (up_gpu, down_gpu) = (median(&gpu_up), median(&gpu_down));
    push(
        &mut figures,
        "upload 256 MiB, GPU copy time",
        Unit::GBps,
        gpu_up.clone(),
        None,
    );
    push(
        &mut figures,
        "upload 256 MiB, host to device",
        Unit::GBps,
        up,
        Some(("GPU copy time", up_gpu)),
    );
    push(
        &mut figures,
        "download 256 MiB, GPU copy time",
        Unit::GBps,
        gpu_down.clone(),
        None,
    );
    push(
        &mut figures,
        "download 256 MiB, device to host",
        Unit::GBps,
        down,
        Some(("GPU copy time", down_gpu)),
    );
    drop((host, sink, dev));

    // Device memory: 1 GiB (or the largest bindable buffer) copied by a compute shader
    // (the ceiling) and by vkCmdCopyBuffer.
    let copy = ctx.copy_kernel()?;
    let elems16 = ((1u64 << 30).min(ctx.max_kernel_buffer_bytes()) / 16) as usize; // 16-byte elements
    let (src, dst) = (ctx.alloc(elems16, 2)?, ctx.alloc(elems16, 2)?);
    let bytes_moved = 2 * elems16 * 16;
    let shader_copy = gpu_sample(ctx, few, |batch| {
        batch.dispatch(&copy, &[&src], &dst)?;
        Ok(())
    })?;
    let shader_copy: Vec<f64> = shader_copy
        .iter()
        .map(|&ns| bytes_moved as f64 / ns / 1e3)
        .collect();
    let mem_ceiling = median(&shader_copy);
    push(
        &mut figures,
        &format!("device copy {} MiB, compute shader", elems16 >> 16),
        Unit::TBps,
        shader_copy,
        None,
    );
    let cmd_copy = gpu_sample(ctx, few, |batch| {
        batch.copy(&src, &dst)?;
        Ok(())
    })?;
    let cmd_copy = cmd_copy
        .iter()
        .map(|&ns| bytes_moved as f64 / ns / 1e3)
        .collect();
    push(
        &mut figures,
        &format!("device copy {} MiB, vkCmdCopyBuffer", elems16 >> 16),
        Unit::TBps,
        cmd_copy,
        Some(("compute copy", mem_ceiling)),
    );
    drop((src, dst));

    // Resident Fq add: 144 bytes per element (two 48-byte reads, one write).
    let (a, b) = resident_inputs(large);
    let resident_fq = ResidentFq::upload(ctx, &a, &b)?;
    let resident = |op: FqOp| resident_fq.dispatch_ns(ctx, fq, op, few);
    let per_elem = |ns: Vec<f64>, scale: f64| ns.iter().map(|&t| scale / t).collect();
    let elem_ceiling = Some(("144 B/elem at compute copy", mem_ceiling * 1e3 / 144.0));
    push(
        &mut figures,
        &format!("resident Fq add, {large} elem"),
        Unit::TBps,
        per_elem(resident(FqOp::Add)?, (144 * large) as f64 / 1e3),
        Some(("compute copy", mem_ceiling)),
    );
    // Canonical mul: two Montgomery multiplications per element.
    push(
        &mut figures,
        &format!("resident Fq mul, {large} elem"),
        Unit::GElemsPerSec,
        per_elem(resident(FqOp::Mul)?, large as f64),
        elem_ceiling,
    );
    let mont_mul = resident_fq.montgomery_rate(ctx, fq, few)?;
    let mont_rate = median(&mont_mul);
    push(
        &mut figures,
        &format!("resident Fq Montgomery mul, {large} elem"),
        Unit::GElemsPerSec,
        mont_mul,
        elem_ceiling,
    );
    drop(resident_fq);

    // Jobs from slices move every byte twice on the host as well as over the bus: the
    // inputs into GPU-visible memory and the results out of it (the caller's memory cannot
    // be handed to the GPU cheaply: importing it pins every page, measured at 13.7 ns per
    // element for a 16Mi add on the H200). Their ceiling is the slower of the two: 96 bytes
    // up per element at the measured PCIe rate, and the host copying 96 bytes in and 48
    // out per element on all cores (plain copies between ordinary vectors).
    let host_copies = {
        let (mut ia, mut ib, mut io) = (
            vec![Fq::ZERO; large],
            vec![Fq::ZERO; large],
            vec![Fq::ZERO; large],
        );
        let copy = |dst: &mut [Fq], src: &[Fq]| {
            dst.par_chunks_mut(1 << 14)
                .zip(src.par_chunks(1 << 14))
                .for_each(|(d, s)| d.copy_from_slice(s));
        };
        sample(1, few, || {
            Ok(secs(|| {
                copy(&mut ia, &a);
                copy(&mut ib, &b);
                copy(&mut io, &a);
                Ok(())
            })?
            .1 * 1e9
                / large as f64)
        })?
    };
    let host_copies_ns = median(&host_copies);
    push(
        &mut figures,
        &format!("host copies alone, 96 B in + 48 B out per elem, all cores, {large} elem"),
        Unit::NsPerElement,
        host_copies,
        None,
    );
    let slice_ceiling = Some((
        "max(96 B/elem at upload rate, host copies)",
        (96.0 / up_gpu).max(host_copies_ns),
    ));

    // Host -> GPU -> host Fq add, chunked and pipelined.
    let streamed = sample(1, few, || {
        Ok(secs(|| Ok(fq.add(&a, &b)?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("host Fq add, {} elem", large),
        Unit::NsPerElement,
        streamed,
        slice_ceiling,
    );
    let streamed_mul = sample(1, few, || {
        Ok(secs(|| Ok(fq.mul(&a, &b)?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("host Fq mul, {} elem", large),
        Unit::NsPerElement,
        streamed_mul,
        slice_ceiling,
    );

    // A 10-operation chain of muls and adds (x = a; 5 times: x = x * b + a), one fused
    // kernel: host -> GPU -> host and resident, against 16 CPU cores running the same chain.
    let chain = chain10()?;
    let cpu_chain = sample(1, few, || {
        Ok(secs(|| Ok(chain.run_cpu(&[&a, &b])?))?.1 * 1e9 / large as f64)
    })?;
    let cpu_chain_ns = median(&cpu_chain);
    push(
        &mut figures,
        &format!(
            "10-op chain, CPU ({} threads), {large} elem",
            rayon::current_num_threads()
        ),
        Unit::NsPerElement,
        cpu_chain,
        None,
    );
    let gpu_chain = sample(1, few, || {
        Ok(secs(|| Ok(chain.run_gpu(fq, &[&a, &b])?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("10-op chain, host to GPU to host, {large} elem"),
        Unit::NsPerElement,
        gpu_chain,
        slice_ceiling,
    );
    let mut reused = vec![Fq::ZERO; large];
    let gpu_chain_into = sample(1, few, || {
        Ok(secs(|| Ok(chain.run_gpu_into(fq, &[&a, &b], &mut reused)?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("10-op chain, host to GPU to host, reused output, {large} elem"),
        Unit::NsPerElement,
        gpu_chain_into,
        slice_ceiling,
    );
    let add_program = two_input(|p, x, y| p.add(x, y))?;
    let add_into = sample(1, few, || {
        Ok(
            secs(|| Ok(add_program.run_gpu_into(fq, &[&a, &b], &mut reused)?))?.1 * 1e9
                / large as f64,
        )
    })?;
    push(
        &mut figures,
        &format!("host Fq add, reused output, {large} elem"),
        Unit::NsPerElement,
        add_into,
        slice_ceiling,
    );
    let mul_program = two_input(|p, x, y| p.mul(x, y))?;
    let mul_into = sample(1, few, || {
        Ok(
            secs(|| Ok(mul_program.run_gpu_into(fq, &[&a, &b], &mut reused)?))?.1 * 1e9
                / large as f64,
        )
    })?;
    push(
        &mut figures,
        &format!("host Fq mul, reused output, {large} elem"),
        Unit::NsPerElement,
        mul_into,
        slice_ceiling,
    );
    drop(reused);
    // The same from host vectors the caller fills and reads in place (GPU-visible host
    // memory): the kernel reads and writes it over the bus, the CPU only checks results.
    let (ha, hb) = (fq.host_vec_from(&a)?, fq.host_vec_from(&b)?);
    let mut hout = fq.alloc_host_vec(large)?;
    let add_host = sample(1, few, || {
        Ok(
            secs(|| Ok(add_program.run_gpu_host(fq, &[&ha, &hb], &mut hout)?))?.1 * 1e9
                / large as f64,
        )
    })?;
    push(
        &mut figures,
        &format!("host Fq add, host vectors, {large} elem"),
        Unit::NsPerElement,
        add_host,
        Some(("96 B/elem at upload rate", 96.0 / up_gpu)),
    );
    let chain_host = sample(1, few, || {
        Ok(secs(|| Ok(chain.run_gpu_host(fq, &[&ha, &hb], &mut hout)?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("10-op chain, host vectors, {large} elem"),
        Unit::NsPerElement,
        chain_host,
        Some(("CPU time / 10 (target)", cpu_chain_ns / 10.0)),
    );
    drop((ha, hb, hout));
    let (va, vb) = (fq.upload(&a)?, fq.upload(&b)?);
    let resident_chain = sample(1, few, || {
        Ok(secs(|| Ok(fq.run_program_resident(&chain, &[&va, &vb])?))?.1 * 1e9 / large as f64)
    })?;
    push(
        &mut figures,
        &format!("10-op chain, resident, {large} elem"),
        Unit::NsPerElement,
        resident_chain,
        Some(("CPU time / 10 (target)", cpu_chain_ns / 10.0)),
    );
    drop((va, vb));

    // The CPU path against a plain rayon loop over the same blst calls.
    let mut sizes = vec![1usize << 10, 1 << 16, 1 << 20, large];
    sizes.retain(|&n| n <= large);
    sizes.dedup();
    for n in sizes {
        let (x, y) = (&a[..n], &b[..n]);
        let per_elem =
            |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> { Ok(secs(f)?.1 * 1e9 / n as f64) };
        let (plain_add, ours_add) = sample_pair(
            3,
            n_for(n, few),
            || {
                per_elem(&mut || {
                    let v: Vec<Fq> = x.par_iter().zip(y).map(|(p, q)| p + q).collect();
                    drop(std::hint::black_box(v));
                    Ok(())
                })
            },
            || {
                per_elem(&mut || {
                    drop(std::hint::black_box(field_bls12::cpu::add(x, y)?));
                    Ok(())
                })
            },
        )?;
        push(
            &mut figures,
            &format!("CPU add, {n} elem"),
            Unit::NsPerElement,
            ours_add,
            Some(("plain rayon loop", median(&plain_add))),
        );
        let (plain_mul, ours_mul) = sample_pair(
            3,
            n_for(n, few),
            || {
                per_elem(&mut || {
                    let v: Vec<Fq> = x.par_iter().zip(y).map(|(p, q)| p * q).collect();
                    drop(std::hint::black_box(v));
                    Ok(())
                })
            },
            || {
                per_elem(&mut || {
                    drop(std::hint::black_box(field_bls12::cpu::mul(x, y)?));
                    Ok(())
                })
            },
        )?;
        push(
            &mut figures,
            &format!("CPU mul, {n} elem"),
            Unit::NsPerElement,
            ours_mul,
            Some(("plain rayon loop", median(&plain_mul))),
        );
    }

    // The router at 16Mi from host slices: CPU only, GPU only, and Auto once the model has
    // seen both (Auto may split the job between them).
    let router = hybrid_exec::Router::with_gpu(
        &hybrid_exec::RouterConfig::default(),
        Some(FqGpu::new(std::sync::Arc::clone(fq.context()))?),
    );
    let mul_program = two_input(|p, x, y| p.mul(x, y))?;
    for (name, program) in [
        ("add", &add_program),
        ("mul", &mul_program),
        ("10-op chain", &chain),
    ] {
        let per_elem = |route: hybrid_exec::Route| -> Result<Vec<f64>> {
            sample(1, few, || {
                Ok(secs(|| Ok(router.execute(route, program, &[&a, &b])?))?.1 * 1e9 / large as f64)
            })
        };
        let cpu_only = per_elem(hybrid_exec::Route::Cpu)?;
        let gpu_only = per_elem(hybrid_exec::Route::Gpu)?;
        let (c, g) = (median(&cpu_only), median(&gpu_only));
        let best = c.min(g);
        push(
            &mut figures,
            &format!("router {name}, CPU only, {large} elem"),
            Unit::NsPerElement,
            cpu_only,
            None,
        );
        push(
            &mut figures,
            &format!("router {name}, GPU only, {large} elem"),
            Unit::NsPerElement,
            gpu_only,
            None,
        );
        let route = router.plan(program, large);
        let auto = sample(1, few, || {
            Ok(
                secs(|| Ok(router.run_with(hybrid_exec::Policy::Auto, program, &[&a, &b])?))?.1
                    * 1e9
                    / large as f64,
            )
        })?;
        push(
            &mut figures,
            &format!("router {name}, auto ({route:?}), {large} elem"),
            Unit::NsPerElement,
            auto,
            Some(("better of CPU and GPU only", best)),
        );
        // Co-execution from slices, forced, at the share that would make both devices
        // finish together by their rates alone (off by default for slices: whether it
        // pays is what this row says).
        let gpu_len = ((large as f64 * c / (c + g)) as usize).clamp(1, large - 1);
        let split = per_elem(hybrid_exec::Route::Split { gpu_len })?;
        push(
            &mut figures,
            &format!(
                "router {name}, forced split ({:.0}% GPU), {large} elem",
                100.0 * gpu_len as f64 / large as f64
            ),
            Unit::NsPerElement,
            split,
            Some(("better of CPU and GPU only", best)),
        );
    }

    // Host vectors (GPU-visible host memory, no copies) through the router: GPU only, CPU
    // only (in place, all cores), then Auto, which has seen both and may split the job
    // (co-execution, the GPU's share from the two observed rates).
    {
        let (ha, hb) = (fq.host_vec_from(&a)?, fq.host_vec_from(&b)?);
        let mut hout = fq.alloc_host_vec(large)?;
        for (name, program) in [("add", &add_program), ("mul", &mul_program)] {
            let mut run = |policy: hybrid_exec::Policy| -> Result<(Vec<f64>, hybrid_exec::Route)> {
                let mut route = hybrid_exec::Route::Cpu;
                let times = sample(1, few, || {
                    let (r, t) =
                        secs(|| Ok(router.run_host(policy, program, &[&ha, &hb], &mut hout)?))?;
                    route = r;
                    Ok(t * 1e9 / large as f64)
                })?;
                Ok((times, route))
            };
            let (gpu_only, _) = run(hybrid_exec::Policy::Gpu)?;
            let (cpu_only, _) = run(hybrid_exec::Policy::Cpu)?;
            let best = median(&gpu_only).min(median(&cpu_only));
            let (auto, route) = run(hybrid_exec::Policy::Auto)?;
            push(
                &mut figures,
                &format!("host vectors {name}, GPU only, {large} elem"),
                Unit::NsPerElement,
                gpu_only,
                None,
            );
            push(
                &mut figures,
                &format!("host vectors {name}, CPU only, {large} elem"),
                Unit::NsPerElement,
                cpu_only,
                None,
            );
            let route = match route {
                hybrid_exec::Route::Split { gpu_len } => {
                    format!("split, {:.0}% GPU", 100.0 * gpu_len as f64 / large as f64)
                }
                r => format!("{r:?}"),
            };
            push(
                &mut figures,
                &format!("host vectors {name}, auto ({route}), {large} elem"),
                Unit::NsPerElement,
                auto,
                Some(("better of CPU and GPU only", best)),
            );
        }
    }

    // Seed 001's seven batch compositions: upload, add and download every task in one batch.
    for (name, sizes) in seed_001_compositions() {
        let tasks: Vec<(Vec<Fq>, Vec<Fq>)> = sizes
            .iter()
            .map(|&s| (random(s, s as u64), random(s, 7)))
            .collect();
        let total: usize = sizes.iter().sum();
        let outs: Vec<DeviceBuffer> = sizes
            .iter()
            .map(|&s| ctx.alloc(s, 6))
            .collect::<Result<_, _>>()?;
        let ins: Vec<(DeviceBuffer, DeviceBuffer)> = sizes
            .iter()
            .map(|&s| Ok((ctx.alloc(s, 6)?, ctx.alloc(s, 6)?)))
            .collect::<Result<_>>()?;
        let per_task = sample(3, n, || {
            let (_, s) = secs(|| {
                let mut batch = ctx.batch()?;
                let mut ids = Vec::new();
                for ((a, b), ((da, db), out)) in tasks.iter().zip(ins.iter().zip(&outs)) {
                    batch.upload(da, |w| write_fq(w, a))?;
                    batch.upload(db, |w| write_fq(w, b))?;
                    batch.dispatch(fq.kernel(FqOp::Add), &[da, db], out)?;
                    ids.push(batch.download(out)?);
                }
                let done = batch.submit()?.finish()?;
                for id in ids {
                    done.read(id, |w| std::hint::black_box(w.len()))?;
                }
                Ok(())
            })?;
            Ok(s * 1e6 / sizes.len() as f64)
        })?;
        let floor_us = (empty_median
            + (96 * total) as f64 / up_gpu / 1e3
            + (48 * total) as f64 / down_gpu / 1e3)
            / sizes.len() as f64;
        push(
            &mut figures,
            &format!("seed 001 {name}"),
            Unit::MicrosPerTask,
            per_task,
            Some(("submit + PCIe time", floor_us)),
        );
    }
    Ok((figures, mont_rate))
}

/// Multi-scalar multiplication on the CPU, curve-bls12's route (blst's Pippenger tiles on
/// rayon, every point handled whether or not it is in the subgroup) beside the `blst`
/// crate's own multi-threaded Pippenger (`p1_affines::mult`, all cores), the peer, on the
/// same points and full 256-bit scalars: G1 at 2^10, 2^16 and 2^20 points, G2 at 2^10 and
/// 2^16 (sizes above `large` are left out); and the GPU's (`G1Gpu::msm`, `G2Gpu::msm`, from
/// host slices, everything included) beside a compute ceiling: the bucket additions alone
/// (one mixed addition per non-zero signed digit, ceil(257 / c) per point, 13 Montgomery
/// products each in G1 and 39 in G2) at the Montgomery rate `mont_rate` (G/s) measured in
/// the same run ([`bucket_ceiling_ms`]).
///
/// Then many MSMs per call, each GPU result checked against blst's once (untimed) and the
/// bench failed on any difference: a block's worth of small independent MSMs
/// (`msm_batch`: 4096 MSMs of 64 points in G1, 1024 in G2) beside blst's `mult` on each
/// MSM, the MSMs spread over all cores by rayon; and scalar sets over the same resident
/// bases, the KZG-commitment shape (`msm_fixed`: 64 MSMs of 4096 points in G1, 16 in G2,
/// the bases uploaded once, untimed) beside blst's `mult` once per set on one table (each
/// call on all cores). Where those pairs in all exceed `large` a row runs fewer and, below
/// one MSM's size, smaller MSMs ([`shape_within`]; the row's name gives its shape), so that
/// a slow device still checks and times every call. Their ceilings are the same bucket
/// additions over all pairs, at the window width the GPU chooses for the call
/// ([`batch_window_bits`]).
fn msm_figures(
    ctx: &Arc<Context>,
    figures: &mut Vec<Figure>,
    few: usize,
    large: usize,
    mont_rate: f64,
) -> Result<()> {
    use curve_bls12::{G1Affine, G1Gpu, G1Projective, G2Affine, G2Gpu, G2Projective, Scalar};

    let samples = few.max(3);
    let millis = |f: &mut dyn FnMut() -> Result<()>| warm_millis(samples, f);
    let g1_gpu = G1Gpu::new(Arc::clone(ctx))?;
    let g2_gpu = G2Gpu::new(Arc::clone(ctx))?;
    macro_rules! msm_rows {
        (
            $group:literal, $G:ident, $Projective:ident, $blst:ident, $table:ident,
            $msm:ident, $gpu:ident, $products:literal, $point_bytes:literal, $logs:expr
        ) => {
            for log in $logs {
                let n = 1usize << log;
                if n > large {
                    continue;
                }
                let points = crate::measure::random_points::<crate::curve::$G>(n, 2537);
                let k = crate::measure::random_scalars(n, 2538);
                let blst_points: Vec<blst::$blst> = points
                    .iter()
                    .map(|&p| blst::$blst::from($Projective::from(p)))
                    .collect();
                let table = blst::$table::from(&blst_points);
                let k_bytes: Vec<u8> = k.iter().flat_map(|s| s.to_le_bytes()).collect();
                let peer = millis(&mut || {
                    std::hint::black_box(table.mult(&k_bytes, 256));
                    Ok(())
                })?;
                let ours = millis(&mut || {
                    std::hint::black_box(curve_bls12::$msm(&points, &k)?);
                    Ok(())
                })?;
                let peer_ms = median(&peer);
                let name = |who: &str| format!("{} MSM 2^{log}, {who}", $group);
                push_figure(
                    figures,
                    &name(concat!("blst ", stringify!($table), "::mult (all cores)")),
                    Unit::Millis,
                    peer,
                    None,
                );
                push_figure(
                    figures,
                    &name("curve-bls12 CPU"),
                    Unit::Millis,
                    ours,
                    Some(("blst, all cores", peer_ms)),
                );
                // Once untimed: pipelines and the pool's first buffers.
                std::hint::black_box($gpu.msm(&points, &k)?);
                let gpu = millis(&mut || {
                    std::hint::black_box($gpu.msm(&points, &k)?);
                    Ok(())
                })?;
                let c =
                    curve_bls12::msm_window_bits(n, $point_bytes, ctx.max_kernel_buffer_bytes());
                push_figure(
                    figures,
                    &name(&format!("curve-bls12 GPU (c = {c}; blst {peer_ms:.2} ms)")),
                    Unit::Millis,
                    gpu,
                    Some((
                        "bucket additions at the Montgomery rate",
                        bucket_ceiling_ms(n, c, $products, mont_rate),
                    )),
                );
            }
        };
    }
    msm_rows!(
        "G1",
        G1,
        G1Projective,
        blst_p1,
        p1_affines,
        msm_g1,
        g1_gpu,
        13,
        144,
        [10u32, 16, 20]
    );
    msm_rows!(
        "G2",
        G2,
        G2Projective,
        blst_p2,
        p2_affines,
        msm_g2,
        g2_gpu,
        39,
        288,
        [10u32, 16]
    );

    // Points per MSM of the batch rows and of the fixed-base rows.
    const BATCH_POINTS: usize = 64;
    const FIXED_POINTS: usize = 4096;
    macro_rules! msm_many_rows {
        (
            $group:literal, $G:ident, $Affine:ident, $Projective:ident, $blst:ident,
            $table:ident, $gpu:ident, $products:literal, $point_bytes:literal,
            batch: $batch_msms:expr, fixed: $fixed_msms:expr
        ) => {{
            let to_blst = |points: &[$Affine]| -> Vec<blst::$blst> {
                points
                    .iter()
                    .map(|&p| blst::$blst::from($Projective::from(p)))
                    .collect()
            };
            let to_points = |peer: Vec<blst::$blst>| -> Result<Vec<$Projective>> {
                Ok(peer
                    .into_iter()
                    .map($Projective::try_from)
                    .collect::<Result<_, _>>()?)
            };
            let max_buffer = ctx.max_kernel_buffer_bytes();

            let (msms, size) = shape_within($batch_msms, BATCH_POINTS, large);
            let pairs = msms * size;
            if msms > 0 {
                let points = crate::measure::random_points::<crate::curve::$G>(pairs, 2539);
                let k = crate::measure::random_scalars(pairs, 2540);
                let batch: Vec<(&[$Affine], &[Scalar])> =
                    points.chunks(size).zip(k.chunks(size)).collect();
                let tables: Vec<blst::$table> = points
                    .chunks(size)
                    .map(|p| blst::$table::from(&to_blst(p)))
                    .collect();
                let k_bytes: Vec<u8> = k.iter().flat_map(|s| s.to_le_bytes()).collect();
                // A CPU client's batch: one blst call per MSM, the MSMs spread over rayon's
                // threads.
                let peer_call = || -> Vec<blst::$blst> {
                    tables
                        .par_iter()
                        .zip(k_bytes.par_chunks(size * 32))
                        .map(|(table, k)| table.mult(k, 256))
                        .collect()
                };
                let name = |who: &str| format!("{} MSM batch {msms} x {size}, {who}", $group);
                // Once untimed: the check, and the pipelines and the pool's first buffers.
                check_msms(
                    &name("msm_batch"),
                    &$gpu.msm_batch(&batch)?,
                    &to_points(peer_call())?,
                )?;
                let peer = millis(&mut || {
                    std::hint::black_box(peer_call());
                    Ok(())
                })?;
                let gpu = millis(&mut || {
                    std::hint::black_box($gpu.msm_batch(&batch)?);
                    Ok(())
                })?;
                let peer_ms = median(&peer);
                let c = batch_window_bits(msms, size, $point_bytes, max_buffer);
                push_figure(
                    figures,
                    &name(concat!(
                        "blst ",
                        stringify!($table),
                        "::mult per MSM (rayon par_iter, all cores)"
                    )),
                    Unit::Millis,
                    peer,
                    None,
                );
                push_figure(
                    figures,
                    &name(&format!(
                        "curve-bls12 GPU (msm_batch, c = {c}; blst {peer_ms:.2} ms)"
                    )),
                    Unit::Millis,
                    gpu,
                    Some((
                        "bucket additions at the Montgomery rate",
                        bucket_ceiling_ms(pairs, c, $products, mont_rate),
                    )),
                );
            }

            let (msms, size) = shape_within($fixed_msms, FIXED_POINTS, large);
            let pairs = msms * size;
            if msms > 0 {
                let points = crate::measure::random_points::<crate::curve::$G>(size, 2541);
                let k = crate::measure::random_scalars(pairs, 2542);
                let sets: Vec<&[Scalar]> = k.chunks(size).collect();
                let table = blst::$table::from(&to_blst(&points));
                let k_bytes: Vec<u8> = k.iter().flat_map(|s| s.to_le_bytes()).collect();
                let peer_call = || -> Vec<blst::$blst> {
                    k_bytes
                        .chunks(size * 32)
                        .map(|k| table.mult(k, 256))
                        .collect()
                };
                let bases = $gpu.upload_bases(&points)?;
                let with_multiples = $gpu.upload_bases_with_multiples(&points)?;
                let name = |who: &str| {
                    format!(
                        "{} MSM fixed-base {msms} x {size}, resident bases, {who}",
                        $group
                    )
                };
                // Once untimed: the check, and the pipelines and the pool's first buffers.
                check_msms(
                    &name("msm_fixed"),
                    &$gpu.msm_fixed(&bases, &sets)?,
                    &to_points(peer_call())?,
                )?;
                let peer = millis(&mut || {
                    std::hint::black_box(peer_call());
                    Ok(())
                })?;
                check_msms(
                    &name("msm_fixed over precomputed multiples"),
                    &$gpu.msm_fixed(&with_multiples, &sets)?,
                    &to_points(peer_call())?,
                )?;
                let gpu = millis(&mut || {
                    std::hint::black_box($gpu.msm_fixed(&bases, &sets)?);
                    Ok(())
                })?;
                let gpu_multiples = millis(&mut || {
                    std::hint::black_box($gpu.msm_fixed(&with_multiples, &sets)?);
                    Ok(())
                })?;
                let peer_ms = median(&peer);
                let c = batch_window_bits(msms, size, $point_bytes, max_buffer);
                push_figure(
                    figures,
                    &name(concat!(
                        "blst ",
                        stringify!($table),
                        "::mult per MSM (one after another, each on all cores)"
                    )),
                    Unit::Millis,
                    peer,
                    None,
                );
                push_figure(
                    figures,
                    &name(&format!(
                        "curve-bls12 GPU (msm_fixed, c = {c}; blst {peer_ms:.2} ms)"
                    )),
                    Unit::Millis,
                    gpu,
                    Some((
                        "bucket additions at the Montgomery rate",
                        bucket_ceiling_ms(pairs, c, $products, mont_rate),
                    )),
                );
                if let Some(c) = with_multiples.multiples_window_bits() {
                    push_figure(
                        figures,
                        &name(&format!(
                            "curve-bls12 GPU (msm_fixed over precomputed multiples, c = {c}; \
                             blst {peer_ms:.2} ms)"
                        )),
                        Unit::Millis,
                        gpu_multiples,
                        Some((
                            "bucket additions at the Montgomery rate",
                            bucket_ceiling_ms(pairs, c, $products, mont_rate),
                        )),
                    );
                }
            }
        }};
    }
    msm_many_rows!(
        "G1",
        G1,
        G1Affine,
        G1Projective,
        blst_p1,
        p1_affines,
        g1_gpu,
        13,
        144,
        batch: 4096,
        fixed: 64
    );
    // G2's additions cost three times G1's: fewer MSMs keep the rows' time alike.
    msm_many_rows!(
        "G2",
        G2,
        G2Affine,
        G2Projective,
        blst_p2,
        p2_affines,
        g2_gpu,
        39,
        288,
        batch: 1024,
        fixed: 16
    );

    // Subgroup checks of the points of a block of EIP-2537 MSM calls (256 calls of 128
    // points), which the block engine runs together: blst on all cores against one GPU
    // submission.
    macro_rules! subgroup_rows {
        ($group:literal, $G:ident, $batch:ident, $gpu:ident, $n:expr) => {{
            let n = ($n as usize).min(large);
            let points = crate::measure::random_points::<crate::curve::$G>(n, 2541);
            let name = |who: &str| format!("{} subgroup check, {n} points, {who}", $group);
            let peer = millis(&mut || Ok(curve_bls12::batch::$batch::check_subgroup(&points)?))?;
            let gpu = millis(&mut || Ok($gpu.check_subgroup(&points)?))?;
            let peer_ms = median(&peer);
            push_figure(
                figures,
                &name("blst on all cores (batch::check_subgroup)"),
                Unit::Millis,
                peer,
                None,
            );
            push_figure(
                figures,
                &name("curve-bls12 GPU (check_subgroup)"),
                Unit::Millis,
                gpu,
                Some(("blst, all cores", peer_ms)),
            );
        }};
    }
    subgroup_rows!("G1", G1, g1, g1_gpu, 1 << 15);
    subgroup_rows!("G2", G2, g2, g2_gpu, 1 << 15);
    Ok(())
}

/// The shape of a many-MSM row, (MSMs, pairs each): `msms` MSMs of `points` pairs, or
/// where that exceeds `large` pairs in all, as many MSMs as fit of at most `large` pairs
/// each.
fn shape_within(msms: usize, points: usize, large: usize) -> (usize, usize) {
    let points = points.min(large);
    if points == 0 {
        return (0, 0);
    }
    (msms.min(large / points), points)
}

/// The compute ceiling of an MSM's bucket additions, in ms: one mixed addition per
/// non-zero signed digit, ceil(257 / c) per (point, scalar) pair, `products` Montgomery
/// products each, at `mont_rate` G products/s.
fn bucket_ceiling_ms(pairs: usize, c: u32, products: usize, mont_rate: f64) -> f64 {
    (257usize.div_ceil(c as usize) * pairs * products) as f64 / mont_rate / 1e6
}

/// The window width `msm_batch` and `msm_fixed` choose for `msms` MSMs of `points` pairs
/// each, from curve-bls12's public choice for one MSM: a call's additions and buffers are
/// `msms` times one MSM's, so one MSM on a `msms`-th of the buffer limit has the same best
/// width (the two can part only through rounding at the edge of a buffer limit).
fn batch_window_bits(msms: usize, points: usize, point_bytes: usize, max_buffer: u64) -> u32 {
    curve_bls12::msm_window_bits(points, point_bytes, max_buffer / msms.max(1) as u64)
}

/// Fails the bench when a GPU call's results differ from the peer's: a wrong result's time
/// is no figure.
fn check_msms<P: PartialEq>(row: &str, gpu: &[P], peer: &[P]) -> Result<()> {
    if gpu.len() != peer.len() {
        anyhow::bail!(
            "{row}: the GPU returned {} results, blst {}",
            gpu.len(),
            peer.len()
        );
    }
    if let Some(i) = gpu.iter().zip(peer).position(|(g, p)| g != p) {
        anyhow::bail!("{row}: the GPU's MSM {i} differs from blst's");
    }
    Ok(())
}

/// EIP-2537 blocks, in Mgas/s (the block's gas by the EIP's schedule over its time): the
/// one-call-at-a-time CPU path (`eip2537::call` per call in order, as clients run
/// precompiles today: the peer), and the router's block engine (`Router::execute_block`:
/// inputs checked on all cores, the block's MSMs batched) under the CPU, GPU and Auto
/// policies. Before the Auto row the router runs the block four times with the GPU forced,
/// which teaches it the GPU's cost of such a batch. Blocks: 256
/// G1MSM and 256 G2MSM calls of 128 points, 10,000 G1ADD calls, 64 two-pair pairing checks
/// and 1,000 MAP_FP_TO_G1 calls (an eighth of each when `large` is below 2^24). A single
/// G1MSM call of 128 points on the engine's CPU route beside `eip2537::call` shows the
/// engine's own overhead.
fn precompile_figures(
    ctx: &Arc<Context>,
    figures: &mut Vec<Figure>,
    few: usize,
    large: usize,
) -> Result<()> {
    use eip2537::Precompile;
    use hybrid_exec::{Policy, Router, RouterConfig};

    let scale = if large >= 1 << 24 { 1 } else { 8 };
    let samples = few.max(3);
    let millis = |f: &mut dyn FnMut() -> Result<()>| warm_millis(samples, f);
    let router = |policy: Policy| -> Result<Router> {
        let mut config = RouterConfig::default();
        config.policy = policy;
        config.profile_dir = None;
        Ok(Router::with_gpu(
            &config,
            Some(FqGpu::new(Arc::clone(ctx))?),
        ))
    };
    let msm_inputs = |g2: bool, calls: usize, points: usize| -> Vec<Vec<u8>> {
        let k = crate::measure::random_scalars(calls * points, 77);
        let encoded: Vec<Vec<u8>> = if g2 {
            crate::measure::random_points::<crate::curve::G2>(calls * points, 78)
                .iter()
                .map(|p| p.to_eip2537().to_vec())
                .collect()
        } else {
            crate::measure::random_points::<crate::curve::G1>(calls * points, 79)
                .iter()
                .map(|p| p.to_eip2537().to_vec())
                .collect()
        };
        (0..calls)
            .map(|c| {
                (c * points..(c + 1) * points)
                    .flat_map(|i| [&encoded[i][..], &k[i].to_be_bytes()[..]].concat())
                    .collect()
            })
            .collect()
    };
    let g1 = crate::measure::random_points::<crate::curve::G1>(2 * 10_000 / scale, 80);
    let g2 = crate::measure::random_points::<crate::curve::G2>(64 / scale, 81);
    let workloads: Vec<(String, Precompile, Vec<Vec<u8>>, bool)> = vec![
        (
            format!("{} G1MSM calls of 128 points", 256 / scale),
            Precompile::G1Msm,
            msm_inputs(false, 256 / scale, 128),
            true,
        ),
        (
            format!("{} G2MSM calls of 128 points", 256 / scale),
            Precompile::G2Msm,
            msm_inputs(true, 256 / scale, 128),
            true,
        ),
        (
            format!("{} G1ADD calls", 10_000 / scale),
            Precompile::G1Add,
            g1.chunks_exact(2)
                .map(|p| [p[0].to_eip2537(), p[1].to_eip2537()].concat())
                .collect(),
            false,
        ),
        (
            format!("{} PAIRING_CHECK calls of 2 pairs", 64 / scale),
            Precompile::PairingCheck,
            (0..64 / scale)
                .map(|i| {
                    let (p, q) = (g1[i], g2[i]);
                    // e(P, Q) e(-P, Q) = 1: a passing check.
                    [
                        &p.to_eip2537()[..],
                        &q.to_eip2537()[..],
                        &p.neg().to_eip2537()[..],
                        &q.to_eip2537()[..],
                    ]
                    .concat()
                })
                .collect(),
            false,
        ),
        (
            format!("{} MAP_FP_TO_G1 calls", 1000 / scale),
            Precompile::MapFpToG1,
            g1[..1000 / scale]
                .iter()
                .map(|p| p.to_eip2537()[..64].to_vec())
                .collect(),
            false,
        ),
    ];
    for (name, precompile, inputs, is_msm) in &workloads {
        let calls: Vec<(Precompile, &[u8])> =
            inputs.iter().map(|i| (*precompile, &i[..])).collect();
        let gas: u64 = inputs
            .iter()
            .map(|i| eip2537::gas(*precompile, i.len()))
            .sum::<Result<u64, _>>()?;
        let mgas =
            |ms: Vec<f64>| -> Vec<f64> { ms.iter().map(|ms| gas as f64 / (ms * 1e3)).collect() };
        let one_at_a_time = || -> Result<Vec<f64>> {
            Ok(mgas(millis(&mut || {
                for (p, input) in &calls {
                    std::hint::black_box(eip2537::call(*p, input)?);
                }
                Ok(())
            })?))
        };
        let mut one_by_one = one_at_a_time()?;
        let mut blocks = Vec::new();
        for policy in [Policy::Cpu, Policy::Gpu, Policy::Auto] {
            let r = router(policy)?;
            if policy == Policy::Auto && *is_msm {
                // Auto weighs a batch on the GPU once it has seen some.
                for _ in 0..4 {
                    for result in r.execute_block_with(Policy::Gpu, &calls) {
                        std::hint::black_box(result?);
                    }
                }
            }
            let block = mgas(millis(&mut || {
                for result in r.execute_block(&calls) {
                    std::hint::black_box(result?);
                }
                Ok(())
            })?);
            blocks.push((policy, block));
        }
        // The peer again after the blocks, and the ratios to the median of both sets: its
        // speed drifts within a run (on one H100 host, 2026-12-06, the same code gave 694
        // and 886 Mgas/s minutes apart).
        one_by_one.extend(one_at_a_time()?);
        let peer = median(&one_by_one);
        push_figure(
            figures,
            &format!("EIP-2537 {name}: one call at a time, CPU (eip2537::call), before and after"),
            Unit::MgasPerSec,
            one_by_one,
            None,
        );
        for (policy, block) in blocks {
            push_figure(
                figures,
                &format!("EIP-2537 {name}: block engine, {policy:?} policy"),
                Unit::MgasPerSec,
                block,
                Some(("one call at a time", peer)),
            );
        }
    }
    // The engine's own overhead on one call. The two take turns, sample by sample (each
    // the mean of a run of calls), so that the host's drift falls on both alike.
    let input = &workloads[0].2[0];
    let cpu = router(Policy::Cpu)?;
    let mut direct_call = || -> Result<()> {
        std::hint::black_box(eip2537::call(Precompile::G1Msm, input)?);
        Ok(())
    };
    let mut routed_call = || -> Result<()> {
        std::hint::black_box(cpu.precompile(Precompile::G1Msm, input)?);
        Ok(())
    };
    millis(&mut direct_call)?;
    millis(&mut routed_call)?;
    const CALLS_PER_SAMPLE: usize = 16;
    let per_call = |f: &mut dyn FnMut() -> Result<()>| -> Result<f64> {
        let (_, took) = secs(|| (0..CALLS_PER_SAMPLE).try_for_each(|_| f()))?;
        Ok(took * 1e3 / CALLS_PER_SAMPLE as f64)
    };
    let (mut direct, mut routed) = (Vec::new(), Vec::new());
    for _ in 0..samples.max(5) {
        direct.push(per_call(&mut direct_call)?);
        routed.push(per_call(&mut routed_call)?);
    }
    push_figure(
        figures,
        "EIP-2537 one G1MSM call of 128 points: engine, CPU route (turns with the peer)",
        Unit::Millis,
        routed,
        Some(("eip2537::call", median(&direct))),
    );
    Ok(())
}

/// cuBLAS's FP32 product through PyTorch, TF32 off, on resident tensors.
const CUBLAS_FP32: &str = "cuBLAS FP32 (TF32 off), resident";
/// cuBLAS's FP16 product (FP32 accumulation) through PyTorch, on resident tensors.
const CUBLAS_FP16: &str = "cuBLAS FP16 (FP32 accumulation), resident";
/// PyTorch's FP32 product from host tensors to a host tensor (pageable memory).
const TORCH_HOST_FP32: &str = "PyTorch FP32 from host tensors";

/// One matrix product PyTorch timed: what, the side, ms (the script's median).
#[derive(Debug, PartialEq)]
struct Peer {
    name: &'static str,
    side: usize,
    millis: f64,
}

/// Runs `benches/peers/cublas_sgemm.py` (embedded) with `python` and reads its figures.
///
/// # Errors
/// When the interpreter cannot be run, exits non-zero (no PyTorch, no CUDA device), or
/// prints no figures.
fn cublas_peers(python: &std::path::Path) -> Result<Vec<Peer>> {
    const SCRIPT: &str = include_str!("../../../benches/peers/cublas_sgemm.py");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .output()
        .with_context(|| format!("running {} for the cuBLAS peers", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        anyhow::bail!(
            "{} exited with {} running the cuBLAS peers: {}",
            python.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let peers = parse_peers(&stdout);
    if peers.is_empty() {
        anyhow::bail!("the cuBLAS peer script printed no figures: {stdout}");
    }
    Ok(peers)
}

/// The figures in the peer script's lines, e.g. `cuBLAS fp32 (TF32 off) matmul 4096:
/// 2.6747 ms resident ...`; other lines are skipped.
fn parse_peers(text: &str) -> Vec<Peer> {
    let kinds = [
        ("cuBLAS fp32 (TF32 off) matmul ", CUBLAS_FP32),
        ("cuBLAS fp16 (fp32 accumulate) matmul ", CUBLAS_FP16),
        ("PyTorch fp32 matmul ", TORCH_HOST_FP32),
    ];
    text.lines()
        .filter_map(|line| {
            let (name, rest) = kinds
                .iter()
                .find_map(|(prefix, name)| line.strip_prefix(prefix).map(|r| (*name, r)))?;
            let side = rest.split([' ', ':']).next()?.parse().ok()?;
            let (_, after) = rest.split_once(": ")?;
            let millis = after.split(' ').next()?.parse().ok()?;
            Some(Peer { name, side, millis })
        })
        .collect()
}

fn push_figure(
    figures: &mut Vec<Figure>,
    name: &str,
    unit: Unit,
    samples: Vec<f64>,
    ceiling: Option<(&str, f64)>,
) {
    figures.push(Figure {
        name: name.to_owned(),
        unit,
        samples,
        ceiling: ceiling.map(|(n, v)| (n.to_owned(), v)),
    });
}

/// More samples for small sizes, where one sample is cheap and noisy.
/// Samples for a CPU figure of `n` elements: many for short runs, whose times scatter most,
/// and at least 9 pairs for long ones, enough for a stable median.
fn n_for(n: usize, few: usize) -> usize {
    if n <= 1 << 16 {
        few * 20
    } else {
        few.max(9)
    }
}

fn gb_per_s(bytes: usize, ns: u64) -> f64 {
    bytes as f64 / ns.max(1) as f64
}

/// Dispatches (or copies) per timed batch: back to back they keep the GPU busy and at full
/// clock, so a figure is the steady rate rather than one cold launch.
const REPS: usize = 10;

/// GPU time in ns (timestamps) of one command recorded by `record`, as the median over
/// `samples` timed batches of [`REPS`] such commands each (after one warm-up batch).
fn gpu_sample(
    ctx: &Context,
    samples: usize,
    mut record: impl FnMut(&mut vk_backend::Batch<'_>) -> Result<()>,
) -> Result<Vec<f64>> {
    sample(1, samples, || {
        let mut batch = ctx.timed_batch()?;
        for _ in 0..REPS {
            record(&mut batch)?;
        }
        let done = batch.submit()?.finish()?;
        let t = done
            .timings()
            .context("this device's queue has no timestamps")?;
        Ok(t.total_ns as f64 / REPS as f64)
    })
}

fn write_fq(words: &mut [u64], src: &[Fq]) {
    words
        .par_chunks_mut(6 << 12)
        .zip(src.par_chunks(1 << 12))
        .for_each(|(w, s)| {
            for (d, x) in w.chunks_exact_mut(6).zip(s) {
                d.copy_from_slice(x.limbs());
            }
        });
}

fn upload_fq(ctx: &Context, v: &[Fq]) -> Result<DeviceBuffer> {
    Ok(ctx.upload(v.len(), 6, |w| write_fq(w, v))?)
}

/// Seed 001's seven compositions (elements per task).
fn seed_001_compositions() -> [(&'static str, Vec<usize>); 7] {
    [
        ("uniform 32K", vec![32_000; 4]),
        ("uniform 64K", vec![64_000; 4]),
        ("mixed same bucket", vec![20_000, 25_000, 30_000, 28_000]),
        ("mixed adjacent", vec![20_000, 40_000, 20_000, 40_000]),
        ("mixed diverse", vec![10_000, 50_000, 100_000, 200_000]),
        ("large uniform 8x500K", vec![500_000; 8]),
        (
            "large mixed 6x256K/512K",
            vec![256_000, 512_000, 256_000, 512_000, 256_000, 512_000],
        ),
    ]
}

/// The table: each figure beside its ceiling and the ratio.
pub(crate) fn table(figures: &[Figure]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<44} {:>10} {:>10} {:>10} {:>10}  {:<9} {:>10}  {:<26} {:>6}",
        "figure", "min", "median", "p90", "max", "unit", "ceiling", "ceiling is", "ratio"
    );
    for f in figures {
        let [min, med, p90, max] = f
            .stats()
            .map_or([f64::NAN; 4], |s| [s.min, s.median, s.p90, s.max]);
        let (cname, cval) = match &f.ceiling {
            Some((n, v)) => (n.as_str(), format!("{v:.3}")),
            None => ("-", "-".to_owned()),
        };
        let ratio = f
            .ratio()
            .map_or("-".to_owned(), |r| format!("{:.0}%", r * 100.0));
        let _ = writeln!(
            out,
            "{:<44} {min:>10.3} {med:>10.3} {p90:>10.3} {max:>10.3}  {:<9} {cval:>10}  {cname:<26} {ratio:>6}",
            f.name,
            f.unit.label()
        );
    }
    out
}

/// `bench --json`: the run's device and date, and each figure with its statistics.
#[derive(Serialize)]
struct BenchJson<'a> {
    device: &'a str,
    driver: &'a str,
    /// UTC, `YYYY-MM-DD`.
    date: String,
    figures: Vec<FigureJson<'a>>,
}

/// One figure in `bench --json` (the field names of the data files under docs/bench/).
#[derive(Serialize)]
struct FigureJson<'a> {
    name: &'a str,
    unit: &'static str,
    samples: usize,
    min: Option<f64>,
    median: Option<f64>,
    p90: Option<f64>,
    max: Option<f64>,
    ceiling_name: Option<&'a str>,
    ceiling: Option<f64>,
    ratio: Option<f64>,
}

/// The figures as JSON.
pub(crate) fn json(figures: &[Figure], device: &str, driver: &str) -> Result<String> {
    let figures = figures
        .iter()
        .map(|f| {
            let stats = f.stats();
            FigureJson {
                name: &f.name,
                unit: f.unit.label(),
                samples: f.samples.len(),
                min: stats.map(|s| s.min),
                median: stats.map(|s| s.median),
                p90: stats.map(|s| s.p90),
                max: stats.map(|s| s.max),
                ceiling_name: f.ceiling.as_ref().map(|(n, _)| n.as_str()),
                ceiling: f.ceiling.as_ref().map(|&(_, v)| v),
                ratio: f.ratio(),
            }
        })
        .collect();
    let report = BenchJson {
        device,
        driver,
        date: crate::today(),
        figures,
    };
    Ok(serde_json::to_string_pretty(&report)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as the H200 printed them (run y, 2026-12-06).
    const PEER_OUTPUT: &str = "torch 2.11.0+cu130 cuda 13.0 NVIDIA H200
cuBLAS fp32 (TF32 off) matmul 1000: 0.0506 ms resident (median of 9, each the mean of 100), 39.5 TFLOP/s
cuBLAS fp16 (fp32 accumulate) matmul 1000: 0.0109 ms resident (median of 9, each the mean of 100), 183.9 TFLOP/s
PyTorch fp32 matmul 1000 host to host (pageable tensors): 0.8952 ms (median of 9)
cuBLAS fp32 (TF32 off) matmul 4096: 2.6747 ms resident (median of 9, each the mean of 20), 51.4 TFLOP/s
cuBLAS fp32 (TF32 off) matmul garbage: x ms
";

    #[test]
    fn peer_lines_parse_to_figures() {
        let peers = parse_peers(PEER_OUTPUT);
        let want = [
            (CUBLAS_FP32, 1000, 0.0506),
            (CUBLAS_FP16, 1000, 0.0109),
            (TORCH_HOST_FP32, 1000, 0.8952),
            (CUBLAS_FP32, 4096, 2.6747),
        ];
        assert_eq!(peers.len(), want.len(), "{peers:?}");
        for (p, (name, side, millis)) in peers.iter().zip(want) {
            assert_eq!(*p, Peer { name, side, millis });
        }
    }

    /// The interpreter is run with the embedded script; a stand-in that prints the lines
    /// (or fails) shows both outcomes without PyTorch.
    #[test]
    fn the_peer_script_runs_through_the_interpreter_given() {
        let dir = std::env::temp_dir().join(format!("hybrid-exec-peers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let printing = dir.join("printing-python");
        let body = format!("#!/bin/sh\n[ \"$1\" = -c ] || exit 3\ncat <<'EOF'\n{PEER_OUTPUT}EOF\n");
        std::fs::write(&printing, body).unwrap();
        let failing = dir.join("failing-python");
        std::fs::write(
            &failing,
            "#!/bin/sh\necho no module named torch >&2\nexit 1\n",
        )
        .unwrap();
        let silent = dir.join("silent-python");
        std::fs::write(&silent, "#!/bin/sh\nexit 0\n").unwrap();
        for f in [&printing, &failing, &silent] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        assert_eq!(cublas_peers(&printing).unwrap().len(), 4);
        let err = cublas_peers(&failing).unwrap_err().to_string();
        assert!(err.contains("no module named torch"), "{err}");
        assert!(cublas_peers(&silent).is_err());
        assert!(cublas_peers(&dir.join("no-such-python")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_has_the_fields_of_the_data_files() {
        let figures = [
            Figure {
                name: "upload \"256\" MiB".to_owned(),
                unit: Unit::GBps,
                samples: vec![2.0, 1.0, 3.0],
                ceiling: Some(("GPU copy time".to_owned(), 4.0)),
            },
            Figure {
                name: "no samples".to_owned(),
                unit: Unit::Micros,
                samples: vec![],
                ceiling: None,
            },
        ];
        let v: serde_json::Value =
            serde_json::from_str(&json(&figures, "dev", "drv").unwrap()).unwrap();
        assert_eq!(v["device"], "dev");
        assert_eq!(v["date"].as_str().map(str::len), Some(10));
        let f = &v["figures"][0];
        assert_eq!(f["name"], "upload \"256\" MiB");
        assert_eq!(
            (f["unit"].as_str(), f["samples"].as_u64()),
            (Some("GB/s"), Some(3))
        );
        assert_eq!(
            (f["median"].as_f64(), f["ratio"].as_f64()),
            (Some(2.0), Some(0.5))
        );
        assert_eq!(f["ceiling_name"], "GPU copy time");
        let empty = &v["figures"][1];
        assert!(empty["median"].is_null() && empty["ceiling"].is_null());
    }

    #[test]
    fn many_msm_rows_shrink_to_large() {
        assert_eq!(shape_within(4096, 64, 1 << 24), (4096, 64));
        assert_eq!(shape_within(4096, 64, 1024), (16, 64));
        assert_eq!(shape_within(4096, 64, 1000), (15, 64));
        assert_eq!(shape_within(64, 4096, 1024), (1, 1024));
        assert_eq!(shape_within(64, 4096, 0), (0, 0));
    }

    #[test]
    fn one_msm_ceiling_and_window_are_the_single_rows() {
        // 2^20 pairs at c = 16: 17 windows, 13 products each, at 1 G products/s.
        let ms = bucket_ceiling_ms(1 << 20, 16, 13, 1.0);
        assert!((ms - ((17 * 13) << 20) as f64 / 1e6).abs() < 1e-9);
        for n in [1usize << 10, 1 << 16, 1 << 20] {
            assert_eq!(
                batch_window_bits(1, n, 144, 1 << 32),
                curve_bls12::msm_window_bits(n, 144, 1 << 32)
            );
        }
    }

    #[test]
    fn a_differing_msm_fails_the_check() {
        assert!(check_msms("row", &[1, 2], &[1, 2]).is_ok());
        let err = check_msms("row", &[1, 3], &[1, 2]).unwrap_err().to_string();
        assert!(err.contains("MSM 1"), "{err}");
        assert!(check_msms("row", &[1], &[1, 2]).is_err());
    }
}
