//! The measurements: where the time of a round trip goes, host write rates into each kind
//! of mapped memory, streamed-job settings, wait policy, co-execution, and kernel variants
//! loaded from SPIR-V files (so candidates can be timed on the GPU machine without
//! committing them). Each writes one line per measurement to `out`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use field_bls12::{Fq, FqGpu, FqOp};
use gpu_core::{median, time, TimingStats};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rayon::prelude::*;
use vk_backend::{Context, ContextConfig, DeviceBuffer, Kernel, KernelDesc};

/// Elements of the large jobs unless `--elements` says otherwise.
const LARGE: usize = 1 << 24;

/// Median microseconds of `n` calls of `f` (after 3 untimed ones).
fn time_us<T>(n: usize, f: impl FnMut() -> Result<T>) -> Result<f64> {
    Ok(TimingStats::measure(3, n, f)?.median.as_secs_f64() * 1e6)
}

fn open(adjust: impl FnOnce(ContextConfig) -> ContextConfig) -> Result<Arc<Context>> {
    Ok(Arc::new(Context::new(&adjust(ContextConfig::from_env()?))?))
}

/// `n` random elements from `seed` (on one core: ~0.4 s for 16Mi, little beside the
/// measurements that use them).
fn random(n: usize, seed: u64) -> Vec<Fq> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| Fq::random(&mut rng)).collect()
}

/// Streamed jobs from slices (`FqGpu::add`, 16Mi, fresh outputs): copies on the transfer
/// queues (uploads on one, downloads on the other) or all on the compute queue, by chunk
/// size; the settings alternate within each round so that drift falls on all of them.
pub(crate) fn streams(log: &mut dyn Write, elements: Option<usize>) -> Result<()> {
    let n = elements.unwrap_or(LARGE);
    let (a, b) = (random(n, 3), random(n, 4));
    let settings = [(true, 16u64), (false, 16), (true, 32), (false, 32)];
    let gpus = settings
        .iter()
        .map(|&(tq, mib)| {
            let c = open(|c| c.with_transfer_queue(tq).with_stream_chunk_bytes(mib << 20))?;
            let g = FqGpu::new(c)?;
            g.add(&a, &b)?; // warm: pipelines, pools
            Ok(g)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut times = vec![Vec::new(); settings.len()];
    for _ in 0..5 {
        for (g, t) in gpus.iter().zip(&mut times) {
            let start = Instant::now();
            drop(g.add(&a, &b)?);
            t.push(start.elapsed().as_secs_f64() * 1e9 / n as f64);
        }
    }
    for ((tq, mib), t) in settings.iter().zip(times) {
        let queues = if *tq {
            "transfer queues"
        } else {
            "compute queue only"
        };
        writeln!(log, "streamed add from slices, {n} elem, {queues}, chunk {mib} MiB: {:.2} ns/elem (median of 5)", median(&t))?;
    }
    Ok(())
}

/// A 1Ki add round trip taken apart (medians of 400, the variants interleaved so drift
/// falls on all): the raw floor the issue names (48 KiB written into device memory, the
/// copy kernel, 48 KiB read back from host memory, spinning), the same with the add
/// kernel's two inputs, then with the engine's per-element fill and checked read into a
/// `Vec<Fq>`, and the engine's `FqGpu::add` itself.
pub(crate) fn round_trip_steps(log: &mut dyn Write) -> Result<()> {
    let ctx = open(|c| c)?;
    let fq = FqGpu::new(Arc::clone(&ctx))?;
    let n = 1024;
    let (a, b) = (random(n, 3), random(n, 4));
    let words = |v: &[Fq]| -> Vec<u64> { v.iter().flat_map(|x| *x.limbs()).collect() };
    let (wa, wb) = (words(&a), words(&b));
    let copy = ctx.copy_kernel()?;
    let add = fq.kernel(FqOp::Add).clone();
    let (cx, cout) = (ctx.alloc(n * 3, 2)?, ctx.alloc_host(n * 3, 2)?);
    let (x, y, out) = (ctx.alloc(n, 6)?, ctx.alloc(n, 6)?, ctx.alloc_host(n, 6)?);
    let fold = |w: &[u64]| std::hint::black_box(w.iter().fold(0u64, |s, x| s ^ x));
    type Step<'a> = (&'a str, Box<dyn FnMut() -> Result<()> + 'a>);
    let mut steps: Vec<Step<'_>> = vec![
        (
            "raw floor: 48 KiB up, copy kernel, 48 KiB back",
            Box::new(|| {
                let mut batch = ctx.batch()?;
                batch.upload(&cx, |w| w.copy_from_slice(&wa))?;
                batch.dispatch(&copy, &[&cx], &cout)?;
                let id = batch.read_host(&cout)?;
                batch.submit()?.finish()?.read(id, fold)?;
                Ok(())
            }),
        ),
        (
            "raw add: 2 x 48 KiB up (memcpy), add kernel, 48 KiB back (xor fold)",
            Box::new(|| {
                let mut batch = ctx.batch()?;
                batch.upload(&x, |w| w.copy_from_slice(&wa))?;
                batch.upload(&y, |w| w.copy_from_slice(&wb))?;
                batch.dispatch(&add, &[&x, &y], &out)?;
                let id = batch.read_host(&out)?;
                batch.submit()?.finish()?.read(id, fold)?;
                Ok(())
            }),
        ),
        (
            "raw add, per-element fill and a checked read into a Vec<Fq>",
            Box::new(|| {
                let mut batch = ctx.batch()?;
                for (buf, src) in [(&x, &a), (&y, &b)] {
                    batch.upload(buf, |w| {
                        for (d, s) in w.chunks_exact_mut(6).zip(src.iter()) {
                            d.copy_from_slice(s.limbs());
                        }
                    })?;
                }
                batch.dispatch(&add, &[&x, &y], &out)?;
                let id = batch.read_host(&out)?;
                let v = batch.submit()?.finish()?.read(id, |w| {
                    w.chunks_exact(6)
                        .map(|c| Fq::from_limbs(c.try_into().expect("6 words")))
                        .collect::<Result<Vec<Fq>, _>>()
                })?;
                std::hint::black_box(v?);
                Ok(())
            }),
        ),
        (
            "raw add, fresh buffers from the pool each time",
            Box::new(|| {
                let (x, y, out) = (ctx.alloc(n, 6)?, ctx.alloc(n, 6)?, ctx.alloc_host(n, 6)?);
                let mut batch = ctx.batch()?;
                batch.upload(&x, |w| w.copy_from_slice(&wa))?;
                batch.upload(&y, |w| w.copy_from_slice(&wb))?;
                batch.dispatch(&add, &[&x, &y], &out)?;
                let id = batch.read_host(&out)?;
                batch.submit()?.finish()?.read(id, fold)?;
                Ok(())
            }),
        ),
        (
            "engine: FqGpu::add",
            Box::new(|| {
                std::hint::black_box(fq.add(&a, &b)?);
                Ok(())
            }),
        ),
        (
            "engine: empty batch submit + wait",
            Box::new(|| {
                ctx.batch()?.submit()?.finish()?;
                Ok(())
            }),
        ),
    ];
    let mut times = vec![Vec::new(); steps.len()];
    for round in 0..420 {
        for (i, (_, f)) in steps.iter_mut().enumerate() {
            let start = Instant::now();
            f()?;
            if round >= 20 {
                times[i].push(start.elapsed().as_secs_f64() * 1e6);
            }
        }
    }
    for ((name, _), t) in steps.iter().zip(times) {
        let mut t = t;
        t.sort_by(f64::total_cmp);
        writeln!(
            log,
            "round trip 1Ki, {name}: median {:.1} us, p10 {:.1}, p90 {:.1}",
            t[t.len() / 2],
            t[t.len() / 10],
            t[t.len() * 9 / 10]
        )?;
    }
    Ok(())
}

/// Jobs from slices run in place on the caller's memory, imported a piece at a time
/// (VK_EXT_external_memory_host pins the pages; each piece is imported, run and released
/// by `run_elementwise_host`), pieces spread over a pool of threads so that pinning
/// overlaps the GPU's work: 16Mi add, raw words, by piece size and thread count, into a
/// reused and a fresh output; beside the streamed path and the CPU.
pub(crate) fn imports(log: &mut dyn Write, elements: Option<usize>) -> Result<()> {
    let n = elements.unwrap_or(LARGE);
    let ctx = open(|c| c)?;
    let fq = FqGpu::new(Arc::clone(&ctx))?;
    for f in ["enabled", "defrag"] {
        let path = format!("/sys/kernel/mm/transparent_hugepage/{f}");
        let v = std::fs::read_to_string(&path).unwrap_or_default();
        writeln!(log, "{path}: {}", v.trim())?;
    }
    if !ctx.imports_host_memory() {
        writeln!(log, "the device does not import host memory")?;
        return Ok(());
    }
    let (a, b) = (random(n, 3), random(n, 4));
    let raw = |v: &[Fq]| -> Vec<[u64; 6]> { v.iter().map(|x| *x.limbs()).collect() };
    let (ra, rb) = (raw(&a), raw(&b));
    let mut out = vec![[0u64; 6]; n];
    let k = fq.kernel(FqOp::Add);
    let want = field_bls12::cpu::add(&a, &b)?;
    let run = |pool: &rayon::ThreadPool, piece: usize, out: &mut [[u64; 6]]| -> Result<()> {
        pool.install(|| {
            out.par_chunks_mut(piece)
                .enumerate()
                .try_for_each(|(i, o)| {
                    let r = i * piece..i * piece + o.len();
                    ctx.run_elementwise_host(k, &[&ra[r.clone()], &rb[r]], o)
                })
        })?;
        Ok(())
    };
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let us = time_us(3, || run(&one, n, &mut out))?;
    writeln!(
        log,
        "imports {n} add, one piece, reused output: {:.2} ns/elem",
        us * 1e3 / n as f64
    )?;
    for threads in [4usize, 8, 16] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()?;
        for piece in [1usize << 16, 1 << 18, 1 << 20] {
            out.fill([0; 6]);
            run(&pool, piece, &mut out)?;
            assert!(
                out.iter().zip(&want).all(|(o, w)| o == w.limbs()),
                "wrong sums"
            );
            let us = time_us(5, || run(&pool, piece, &mut out))?;
            let fresh = time_us(5, || {
                let mut fresh = vec![[0u64; 6]; n];
                run(&pool, piece, &mut fresh)?;
                Ok(fresh)
            })?;
            writeln!(
                log,
                "imports {n} add, {threads} threads, pieces of {piece}: reused output {:.2} ns/elem, fresh {:.2}",
                us * 1e3 / n as f64,
                fresh * 1e3 / n as f64
            )?;
        }
    }
    let us = time_us(5, || Ok(fq.add(&a, &b)?))?;
    writeln!(
        log,
        "streamed {n} add, FqGpu::add (today's path), fresh: {:.2} ns/elem",
        us * 1e3 / n as f64
    )?;
    let us = time_us(5, || Ok(field_bls12::cpu::add(&a, &b)?))?;
    writeln!(
        log,
        "{n} add, CPU, fresh: {:.2} ns/elem",
        us * 1e3 / n as f64
    )?;
    let us = time_us(5, || Ok(vec![[0u64; 6]; n]))?;
    writeln!(
        log,
        "(vec![0; n] alone: {:.2} ns/elem)",
        us * 1e3 / n as f64
    )?;
    Ok(())
}

/// Where a job from slices spends its time (`elements`, default sizes 256Ki, 1Mi and
/// 16Mi): the whole `FqProgram::run_gpu` with a fresh output and into a
/// reused one, and the raw pipeline with its host work taken apart (parallel fills, reads
/// that copy, no host work at all), with the time spent inside the fill and read steps.
pub(crate) fn slices(log: &mut dyn Write, elements: Option<usize>) -> Result<()> {
    let ctx = open(|c| c)?;
    let fq = FqGpu::new(Arc::clone(&ctx))?;
    let sizes: Vec<usize> = match elements {
        Some(n) => vec![n],
        None => vec![1 << 18, 1 << 20, LARGE],
    };
    let jobs = hybrid_exec::jobs::standard()?;
    for n in sizes {
        let (a, b) = (random(n, 3), random(n, 4));
        let mut out = vec![Fq::ZERO; n];
        for (name, program) in &jobs {
            // Alternating, so that drift falls on all four.
            let mut t = [const { Vec::new() }; 4];
            let us = |d: Duration| d.as_secs_f64() * 1e6;
            for _ in 0..9 {
                t[0].push(us(time(|| program.run_gpu(&fq, &[&a, &b]))?.1));
                t[1].push(us(
                    time(|| program.run_gpu_into(&fq, &[&a, &b], &mut out))?.1
                ));
                t[2].push(us(time(|| program.run_cpu(&[&a, &b]))?.1));
                t[3].push(us(time(|| program.run_cpu_into(&[&a, &b], &mut out))?.1));
            }
            // The first two rounds warm up.
            let [fresh, into, cpu, cpu_into] = t.map(|v| median(&v[2..]));
            writeln!(
                log,
                "slices {name} {n}: gpu fresh {:.2} ns/elem, gpu into {:.2}, cpu fresh {:.2}, cpu into {:.2}",
                fresh * 1e3 / n as f64,
                into * 1e3 / n as f64,
                cpu * 1e3 / n as f64,
                cpu_into * 1e3 / n as f64
            )?;
        }
        // The raw pipeline (the add kernel; words as they are).
        let kernel = fq.tiled_kernel(FqOp::Add).clone();
        let words = |v: &[Fq]| -> Vec<u64> { v.iter().flat_map(|x| *x.limbs()).collect() };
        let (wa, wb) = (words(&a), words(&b));
        let mut wout = vec![0u64; n * 6];
        let streamed = n * 48 > 32 << 20;
        for (label, do_fill, do_read) in [
            ("no host work", false, false),
            ("fill only", true, false),
            ("fill + read copy", true, true),
        ] {
            let mut totals = Vec::new();
            let mut fills = Vec::new();
            let mut reads = Vec::new();
            for _ in 0..8 {
                let (mut f, mut r) = (Duration::ZERO, Duration::ZERO);
                let start = Instant::now();
                let mut fill = |i: usize, range: std::ops::Range<usize>, dst: &mut [u64]| {
                    let t = Instant::now();
                    if do_fill {
                        let src = if i == 0 { &wa } else { &wb };
                        dst.par_chunks_mut(1 << 17)
                            .zip(src[range.start * 6..range.end * 6].par_chunks(1 << 17))
                            .for_each(|(d, s)| d.copy_from_slice(s));
                    }
                    f += t.elapsed();
                };
                let mut read = |range: std::ops::Range<usize>, w: &[u64]| {
                    let t = Instant::now();
                    if do_read {
                        wout[range.start * 6..range.end * 6]
                            .par_chunks_mut(1 << 17)
                            .zip(w.par_chunks(1 << 17))
                            .for_each(|(d, s)| d.copy_from_slice(s));
                    }
                    r += t.elapsed();
                };
                if streamed {
                    ctx.run_streamed(
                        &kernel,
                        n,
                        0,
                        |i, range, d| fill(i, range, d),
                        |range, w, _| read(range, w),
                    )?;
                } else {
                    ctx.run_elementwise(&kernel, n, |i, d| fill(i, 0..n, d), |w| read(0..n, w))?;
                }
                totals.push(start.elapsed().as_secs_f64());
                fills.push(f.as_secs_f64());
                reads.push(r.as_secs_f64());
            }
            let ns = |v: Vec<f64>| median(&v[2..]) * 1e9 / n as f64;
            writeln!(
                log,
                "raw {} add {n}, {label}: total {:.2} ns/elem, in fill {:.2}, in read {:.2}",
                if streamed { "streamed" } else { "round trip" },
                ns(totals),
                ns(fills),
                ns(reads)
            )?;
        }
    }
    Ok(())
}

/// Runs every exploration but the ones of their own (streams, slices, co-execution), or
/// only the kernel variants.
pub(crate) fn run(
    log: &mut dyn Write,
    spv_dir: Option<&Path>,
    only_kernels: bool,
    elements: Option<usize>,
) -> Result<()> {
    let ctx = open(|c| c)?;
    writeln!(
        log,
        "device {} ({}), int64 {}",
        ctx.info().name,
        ctx.info().driver,
        ctx.shader_int64()
    )?;
    let fq = FqGpu::new(Arc::clone(&ctx))?;
    if only_kernels {
        let n = elements.unwrap_or(LARGE);
        return kernels(log, &ctx, &fq, spv_dir, &random(n, 3), &random(n, 4));
    }

    // Wait policy: empty submit with and without spinning.
    for spin in [0u64, 20, 200] {
        let c = open(|c| c.with_spin(Duration::from_micros(spin)))?;
        let us = time_us(200, || Ok(c.batch()?.submit()?.finish()?))?;
        writeln!(log, "wait: empty submit, spin {spin:>3} us: {us:.1} us")?;
    }

    // Where a 1Ki round trip's time goes (FqGpu::add's steps, timed on the host).
    {
        let add = fq.kernel(FqOp::Add).clone();
        let words: Vec<u64> = (0..1024 * 6).map(|i| i as u64 % 7).collect();
        let mut phases: Vec<Vec<f64>> = vec![Vec::new(); 7];
        for rep in 0..600 {
            let t0 = Instant::now();
            let (x, y, out) = (
                ctx.alloc(1024, 6)?,
                ctx.alloc(1024, 6)?,
                ctx.alloc_host(1024, 6)?,
            );
            let t1 = Instant::now();
            let mut batch = ctx.batch()?;
            let t2 = Instant::now();
            batch.upload(&x, |w| w.copy_from_slice(&words))?;
            batch.upload(&y, |w| w.copy_from_slice(&words))?;
            let t3 = Instant::now();
            batch.dispatch(&add, &[&x, &y], &out)?;
            let id = batch.read_host(&out)?;
            let t4 = Instant::now();
            let ticket = batch.submit()?;
            let t5 = Instant::now();
            let done = ticket.finish()?;
            let t6 = Instant::now();
            done.read(id, |w| {
                std::hint::black_box(w.iter().fold(0u64, |s, x| s ^ x))
            })?;
            drop(done);
            drop((x, y, out));
            let t7 = Instant::now();
            if rep >= 100 {
                for (i, (a, b)) in [
                    (t0, t1),
                    (t1, t2),
                    (t2, t3),
                    (t3, t4),
                    (t4, t5),
                    (t5, t6),
                    (t6, t7),
                ]
                .into_iter()
                .enumerate()
                {
                    phases[i].push((b - a).as_secs_f64() * 1e6);
                }
            }
        }
        let names = [
            "alloc x3",
            "batch",
            "2 uploads (BAR writes)",
            "dispatch + read_host",
            "submit",
            "wait",
            "read + drop",
        ];
        for (n, v) in names.iter().zip(phases) {
            writeln!(log, "1Ki round trip phase {n}: {:.2} us", median(&v))?;
        }
    }
    // Round trip of 1Ki: raw words vs Fq conversion; direct (BAR) vs staged.
    let add = fq.kernel(FqOp::Add).clone();
    let words: Vec<u64> = (0..1024 * 6).map(|i| i as u64 % 7).collect();
    for (name, c) in [
        ("direct", Arc::clone(&ctx)),
        ("staged", open(|c| c.with_direct_limit(0))?),
    ] {
        let k = if Arc::ptr_eq(&c, &ctx) {
            add.clone()
        } else {
            FqGpu::new(Arc::clone(&c))?.kernel(FqOp::Add).clone()
        };
        let us = time_us(500, || {
            c.run_elementwise(
                &k,
                1024,
                |_, w| w.copy_from_slice(&words),
                |w| std::hint::black_box(w[0]),
            )?;
            Ok(())
        })?;
        writeln!(log, "1Ki round trip, raw words, {name}: {us:.1} us")?;
    }
    // Where the inputs and the output of a 1Ki round trip live.
    for (name, host_in, host_out) in [
        ("BAR in, host out", false, true),
        ("host in, host out", true, true),
        ("BAR in, device out + copy", false, false),
    ] {
        let us = time_us(500, || {
            let alloc = |host: bool| {
                if host {
                    ctx.alloc_host(1024, 6)
                } else {
                    ctx.alloc(1024, 6)
                }
            };
            let (x, y, out) = (alloc(host_in)?, alloc(host_in)?, alloc(host_out)?);
            round_trip(&ctx, &add, [&x, &y, &out], &words, host_out)
        })?;
        writeln!(log, "1Ki round trip, raw words, {name}: {us:.1} us")?;
    }
    let (a, b) = (random(1024, 1), random(1024, 2));
    let us = time_us(500, || Ok(fq.add(&a, &b)?))?;
    writeln!(log, "1Ki round trip, FqGpu::add: {us:.1} us")?;
    let us = time_us(500, || {
        let mut batch = ctx.batch()?;
        let buf = ctx.alloc(1024, 6)?;
        batch.upload(&buf, |w| w.copy_from_slice(&words))?;
        drop(batch.submit()?.finish()?);
        Ok(())
    })?;
    writeln!(
        log,
        "1Ki upload only (alloc + direct write + submit + wait): {us:.1} us"
    )?;

    // Host write rate into mapped memory: BAR (direct) vs host staging, 1 thread vs all.
    let big = open(|c| c.with_direct_limit(1 << 30))?;
    for mib in [4usize, 64] {
        let n = mib << 17; // u64 words
        let src: Vec<u64> = (0..n as u64).collect();
        for (kind, c) in [
            ("BAR", &big),
            ("staging", &open(|c| c.with_direct_limit(0))?),
        ] {
            let buf = c.alloc(n / 2, 2)?;
            for par in [false, true] {
                let mut rates = Vec::new();
                for _ in 0..5 {
                    let mut batch = c.batch()?;
                    let mut secs = 0.0;
                    batch.upload(&buf, |w| {
                        let t = Instant::now();
                        if par {
                            w.par_chunks_mut(1 << 15)
                                .zip(src.par_chunks(1 << 15))
                                .for_each(|(d, s)| d.copy_from_slice(s));
                        } else {
                            w.copy_from_slice(&src);
                        }
                        secs = t.elapsed().as_secs_f64();
                    })?;
                    drop(batch.submit()?.finish()?);
                    rates.push((n * 8) as f64 / secs / 1e9);
                }
                writeln!(
                    log,
                    "host write {mib} MiB into {kind}, {}: {:.1} GB/s",
                    if par { "all threads" } else { "1 thread" },
                    median(&rates)
                )?;
            }
        }
    }

    // Streamed 16Mi add: raw words vs Fq, chunk sizes, transfer queue on/off.
    let n = LARGE;
    let wa: Vec<u64> = (0..n as u64 * 6).map(|i| i % 5).collect();
    for (tq, chunk_mib) in [(true, 8u64), (true, 32), (true, 128), (false, 32)] {
        let c = open(|c| {
            c.with_transfer_queue(tq)
                .with_stream_chunk_bytes(chunk_mib << 20)
        })?;
        let k = FqGpu::new(Arc::clone(&c))?.kernel(FqOp::Add).clone();
        let us = time_us(3, || {
            c.run_streamed(
                &k,
                n,
                0,
                |_, r, w| {
                    w.par_chunks_mut(1 << 15)
                        .zip(wa[r.start * 6..r.end * 6].par_chunks(1 << 15))
                        .for_each(|(d, s)| d.copy_from_slice(s))
                },
                |_, w, _| {
                    std::hint::black_box(w.par_chunks(1 << 15).map(|c| c[0]).sum::<u64>());
                },
            )?;
            Ok(())
        })?;
        writeln!(log, "streamed 16Mi add, raw words, transfer queue {tq}, chunk {chunk_mib} MiB: {:.2} ns/elem", us * 1e3 / n as f64)?;
    }
    // Host vectors (caller-filled GPU-visible host memory), which kernels read in place,
    // by chunk size.
    {
        let (a, b) = (random(n, 5), random(n, 6));
        let g = FqGpu::new(Arc::clone(&ctx))?;
        let (ha, hb) = (g.host_vec_from(&a)?, g.host_vec_from(&b)?);
        let mut p = field_bls12::FqProgram::builder();
        let (x, y) = (p.input(), p.input());
        let s = p.add(x, y);
        let add = p.build(s)?;
        let mut out = g.alloc_host_vec(n)?;
        let us = time_us(5, || Ok(add.run_gpu_host(&g, &[&ha, &hb], &mut out)?))?;
        writeln!(
            log,
            "host vectors 16Mi add (run_gpu_host): {:.2} ns/elem",
            us * 1e3 / n as f64
        )?;
        // Co-execution by GPU share, and the host's memory bandwidth (16 threads adding
        // plain vectors: the CPU side's ceiling).
        for pct in [0usize, 40, 50, 55, 60, 65, 70, 80, 100] {
            let k = n * pct / 100;
            let us = time_us(5, || {
                Ok(add.run_split_host(&g, &[&ha, &hb], &mut out, k)?)
            })?;
            writeln!(
                log,
                "host vectors 16Mi add, {pct}% on the GPU: {:.3} ns/elem",
                us * 1e3 / n as f64
            )?;
        }
        let x: Vec<[u64; 6]> = (0..n as u64).into_par_iter().map(|i| [i; 6]).collect();
        let y = x.clone();
        let mut z = vec![[0u64; 6]; n];
        let us = time_us(5, || {
            z.par_chunks_mut(1 << 14)
                .zip(x.par_chunks(1 << 14).zip(y.par_chunks(1 << 14)))
                .for_each(|(z, (x, y))| {
                    for ((z, x), y) in z.iter_mut().zip(x).zip(y) {
                        *z = std::array::from_fn(|k| x[k] ^ y[k]);
                    }
                });
            Ok(())
        })?;
        writeln!(
                log,
            "host memory: 16 threads reading 2 x 768 MiB and writing 768 MiB: {:.3} ns/elem, {:.1} GB/s",
            us * 1e3 / n as f64,
            144.0 * n as f64 / (us * 1e3)
        )?;
        // The same kernel over raw host buffers by chunk size, with and without a pass over
        // each finished chunk (what run_gpu_host's canonical check costs).
        let k = g.tiled_kernel(FqOp::Add).clone();
        let (wa, wb, wo) = (
            ctx.alloc_host(n, 6)?,
            ctx.alloc_host(n, 6)?,
            ctx.alloc_host(n, 6)?,
        );
        for chunk_mib in [4usize, 8, 16, 32, 64] {
            for check in [false, true] {
                let us = time_us(5, || {
                    ctx.run_streamed_buffers(
                        &k,
                        &[&wa, &wb],
                        &wo,
                        (chunk_mib << 20) / 48,
                        |_, w, _| {
                            if check {
                                std::hint::black_box(
                                    w.par_chunks(6 << 14)
                                        .map(|c| c.iter().step_by(6).filter(|&&x| x == 7).count())
                                        .sum::<usize>(),
                                );
                            }
                        },
                    )?;
                    Ok(())
                })?;
                writeln!(
                log,
                    "host buffers 16Mi add, chunk {chunk_mib} MiB, pass over results {check}: {:.2} ns/elem",
                    us * 1e3 / n as f64
                )?;
            }
        }
    }
    // The kernel on the caller's memory (VK_EXT_external_memory_host): no staging at all.
    if ctx.imports_host_memory() && n * 48 <= ctx.max_kernel_buffer_bytes() as usize {
        let ha: Vec<[u64; 6]> = wa
            .chunks_exact(6)
            .map(|c| c.try_into().expect("6 words"))
            .collect();
        let mut hout = vec![[0u64; 6]; n];
        let k = fq.kernel(FqOp::Add);
        let us = time_us(5, || {
            Ok(ctx.run_elementwise_host(k, &[&ha, &ha], &mut hout)?)
        })?;
        writeln!(
            log,
            "host-memory 16Mi add, raw words, reused output: {:.2} ns/elem",
            us * 1e3 / n as f64
        )?;
        // A fresh zeroed output, written on all cores (its page faults spread out).
        let zeroed = || {
            let mut fresh: Vec<[u64; 6]> = Vec::with_capacity(n);
            fresh.par_extend(rayon::iter::repeat_n([0u64; 6], n));
            fresh
        };
        let us = time_us(5, || {
            let mut fresh = zeroed();
            ctx.run_elementwise_host(k, &[&ha, &ha], &mut fresh)?;
            Ok(fresh)
        })?;
        writeln!(
            log,
            "host-memory 16Mi add, raw words, fresh output: {:.2} ns/elem",
            us * 1e3 / n as f64
        )?;
        let us = time_us(5, || Ok(zeroed()))?;
        writeln!(
            log,
            "(allocating + zeroing a fresh 16Mi output alone: {:.2} ns/elem)",
            us * 1e3 / n as f64
        )?;
    }
    if ctx.imports_host_memory() {
        let k = fq.kernel(FqOp::Add);
        let small: Vec<[u64; 6]> = (0..1024u64).map(|i| [i, 0, 0, 0, 0, 0]).collect();
        let mut sout = vec![[0u64; 6]; 1024];
        let us = time_us(200, || {
            Ok(ctx.run_elementwise_host(k, &[&small, &small], &mut sout)?)
        })?;
        writeln!(log, "host-memory 1Ki add, raw words: {us:.1} us")?;
    }
    let (a, b) = (random(n, 3), random(n, 4));
    let us = time_us(3, || Ok(fq.add(&a, &b)?))?;
    writeln!(
        log,
        "streamed 16Mi add, FqGpu::add: {:.2} ns/elem",
        us * 1e3 / n as f64
    )?;
    let us = time_us(3, || Ok(field_bls12::cpu::add(&a, &b)?))?;
    writeln!(log, "16Mi add, CPU: {:.2} ns/elem", us * 1e3 / n as f64)?;

    kernels(log, &ctx, &fq, spv_dir, &a, &b)
}

/// One round trip of `kernel`: `words` written into both inputs, the output read in place
/// when it is host memory (`host_out`) or downloaded, every word of it looked at.
fn round_trip(
    ctx: &Context,
    kernel: &Kernel,
    [x, y, out]: [&DeviceBuffer; 3],
    words: &[u64],
    host_out: bool,
) -> Result<()> {
    let mut batch = ctx.batch()?;
    batch.upload(x, |w| w.copy_from_slice(words))?;
    batch.upload(y, |w| w.copy_from_slice(words))?;
    batch.dispatch(kernel, &[x, y], out)?;
    let id = if host_out {
        batch.read_host(out)?
    } else {
        batch.download(out)?
    };
    let done = batch.submit()?.finish()?;
    done.read(id, |w| {
        std::hint::black_box(w.iter().fold(0u64, |s, x| s ^ x))
    })?;
    Ok(())
}

/// Kernel variants from SPIR-V files, resident at 16Mi, against the shipped kernels.
fn kernels(
    log: &mut dyn Write,
    ctx: &Context,
    fq: &FqGpu,
    spv_dir: Option<&Path>,
    a: &[Fq],
    b: &[Fq],
) -> Result<()> {
    let n = a.len();
    let Some(dir) = spv_dir else { return Ok(()) };
    let n = n.min((ctx.max_kernel_buffer_bytes() / 48) as usize);
    let (a, b) = (&a[..n], &b[..n]);
    let upload = |v: &[Fq]| {
        ctx.upload(v.len(), 6, |w| {
            w.par_chunks_mut(6 << 12)
                .zip(v.par_chunks(1 << 12))
                .for_each(|(d, s)| {
                    for (d, x) in d.chunks_exact_mut(6).zip(s) {
                        d.copy_from_slice(x.limbs());
                    }
                })
        })
    };
    let (da, db) = (upload(a)?, upload(b)?);
    let out = ctx.alloc(n, 6)?;
    // The same data in host memory, for kernels that read and write over the bus.
    let host_from = |v: &[Fq]| -> Result<vk_backend::DeviceBuffer> {
        let h = ctx.alloc_host(v.len(), 6)?;
        ctx.host_write::<[u64; 6], _>(&h, |w| {
            w.par_chunks_mut(1 << 12)
                .zip(v.par_chunks(1 << 12))
                .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, s)| *d = *s.limbs()))
        })?;
        Ok(h)
    };
    let (ha, hb, hout) = (host_from(a)?, host_from(b)?, ctx.alloc_host(n, 6)?);
    let small: Vec<u64> = a[..1024].iter().flat_map(|x| *x.limbs()).collect();
    let reference = |op: FqOp| -> Result<Vec<u64>> {
        let mut batch = ctx.batch()?;
        batch.dispatch(fq.kernel(op), &[&da, &db], &out)?;
        let id = batch.download(&out)?;
        Ok(batch.submit()?.finish()?.read(id, |w| w.to_vec())?)
    };
    let refs = [
        ("add", reference(FqOp::Add)?),
        ("mul", reference(FqOp::Mul)?),
        ("montmul", reference(FqOp::MontMul)?),
    ];
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "spv"))
        .collect();
    files.sort();
    for path in files {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
        // SAFETY: `--spv` is a development switch; whoever runs it vouches that the kernels
        // in the directory are element-wise kernels of the shipped interface (2 inputs of 6
        // words) that stay below `count`, as the shipped shaders do.
        let spirv = unsafe { vk_backend::SpirvModule::from_bytes_unchecked(bytes) };
        let Some((_, want)) = refs.iter().find(|(p, _)| name.split('_').next() == Some(p)) else {
            continue;
        };
        // Both orders, each timing after a warm-up load: the GPU's clock ramps up over tens
        // of milliseconds, which would otherwise favour whichever size runs last.
        for wg in [64u32, 128, 256, 512, 256, 128, 64] {
            let k = match ctx.create_kernel(
                &KernelDesc::elementwise("explore", &spirv, 2, 6).with_workgroup_size(wg),
            ) {
                Ok(k) => k,
                Err(e) => {
                    writeln!(log, "kernel {name} wg {wg}: {e}")?;
                    continue;
                }
            };
            let timed = |reps: usize, check: bool| -> Result<(f64, bool)> {
                let mut batch = ctx.timed_batch()?;
                for _ in 0..reps {
                    batch.dispatch(&k, &[&da, &db], &out)?;
                }
                let id = check.then(|| batch.download(&out)).transpose()?;
                let done = batch.submit()?.finish()?;
                let same = match id {
                    Some(id) => done.read(id, |w| w == want.as_slice())?,
                    None => true,
                };
                Ok((
                    done.timings()
                        .map_or(f64::NAN, |t| t.compute_ns as f64 / reps as f64),
                    same,
                ))
            };
            let (_, same) = timed(40, true)?; // warm-up, and the correctness check
            let ns = median(
                &(0..3)
                    .map(|_| timed(20, false).map(|t| t.0))
                    .collect::<Result<Vec<_>>>()?,
            );
            writeln!(
                log,
                "kernel {name:<20} wg {wg:>4}: {:>7.3} ms, {:>6.2} Gelem/s, {:>5.2} TB/s (144 B/elem), matches shipped: {same}",
                ns / 1e6,
                n as f64 / ns,
                144.0 * n as f64 / ns / 1e3
            )?;
            if wg > 256 {
                continue;
            }
            // Over the bus: device inputs into a host output, and host to host.
            for (place, x, y) in [("dev->host", &da, &db), ("host->host", &ha, &hb)] {
                let timed = || -> Result<f64> {
                    let mut batch = ctx.timed_batch()?;
                    batch.dispatch(&k, &[x, y], &hout)?;
                    let done = batch.submit()?.finish()?;
                    Ok(done.timings().map_or(f64::NAN, |t| t.compute_ns as f64))
                };
                timed()?;
                let same =
                    ctx.host_read::<[u64; 6], _>(&hout, |w| w.as_flattened() == want.as_slice())?;
                let ns = median(&(0..3).map(|_| timed()).collect::<Result<Vec<_>>>()?);
                writeln!(
                log,
                    "kernel {name:<20} wg {wg:>4} {place}: {:>7.3} ms, {:>5.2} ns/elem, {:>5.1} GB/s in, matches: {same}",
                    ns / 1e6,
                    ns / n as f64,
                    96.0 * n as f64 / ns
                )?;
            }
            // A 1Ki round trip with host inputs and output.
            let (x, y, o) = (
                ctx.alloc_host(1024, 6)?,
                ctx.alloc_host(1024, 6)?,
                ctx.alloc_host(1024, 6)?,
            );
            let us = time_us(300, || round_trip(ctx, &k, [&x, &y, &o], &small, true))?;
            writeln!(
                log,
                "kernel {name:<20} wg {wg:>4} 1Ki round trip host in/out: {us:.1} us"
            )?;
        }
    }
    Ok(())
}

/// Co-execution on host vectors (16Mi add and mul): where a split loses against the sum of
/// the two devices' rates. Shares with and without the host's canonical check of the GPU's
/// results; each device alone; the host memory's streaming ceiling on host-vector memory
/// and on ordinary memory, with ordinary and with non-temporal stores.
pub(crate) fn coexec(log: &mut dyn Write, elements: Option<usize>) -> Result<()> {
    use field_bls12::FqProgram;
    let n = elements.unwrap_or(LARGE);
    let ctx = open(|c| c)?;
    let g = FqGpu::new(Arc::clone(&ctx))?;
    writeln!(log, "rayon threads {}", rayon::current_num_threads())?;
    let (a, b) = (random(n, 5), random(n, 6));
    let (ha, hb) = (g.host_vec_from(&a)?, g.host_vec_from(&b)?);
    let mut hout = g.alloc_host_vec(n)?;
    // Raw host buffers with the same values, for the GPU's share without the check.
    let (ra, rb, ro) = (
        ctx.alloc_host(n, 6)?,
        ctx.alloc_host(n, 6)?,
        ctx.alloc_host(n, 6)?,
    );
    for (r, v) in [(&ra, &a), (&rb, &b)] {
        ctx.host_write::<[u64; 6], _>(r, |w| {
            w.iter_mut().zip(v).for_each(|(w, x)| *w = *x.limbs())
        })?;
    }
    let per = |us: f64| us * 1e3 / n as f64;
    for op in [FqOp::Add, FqOp::Mul] {
        let mut p = FqProgram::builder();
        let (x, y) = (p.input(), p.input());
        let r = match op {
            FqOp::Add => p.add(x, y),
            _ => p.mul(x, y),
        };
        let prog = p.build(r)?;
        let k = g.tiled_kernel(op).clone();
        let mut vout = vec![Fq::ZERO; n];
        let cpu_vec = time_us(5, || Ok(prog.run_cpu_into(&[&a, &b], &mut vout)?))?;
        writeln!(
            log,
            "{op:?} CPU only, ordinary memory: {:.3} ns/elem",
            per(cpu_vec)
        )?;
        let mut rows = Vec::new();
        for pct in [0usize, 50, 60, 65, 70, 75, 80, 85, 100] {
            let k_len = n * pct / 100;
            let checked = time_us(5, || {
                Ok(prog.run_split_host(&g, &[&ha, &hb], &mut hout, k_len)?)
            })?;
            // Raw words are no `Fq` outside field-bls12: the CPU's share computes from the
            // same values in ordinary memory into `vout`, piece by piece as they come.
            let unchecked = time_us(5, || {
                let (mut cpu, mut at) = (Ok(()), k_len);
                ctx.run_streamed_buffers_beside::<[u64; 6]>(
                    &k,
                    &[&ra, &rb],
                    &ro,
                    k_len,
                    0,
                    |_, _, _| {},
                    |_, o| {
                        let r = at..at + o.len();
                        if cpu.is_ok() {
                            cpu = prog.run_cpu_into(&[&a[r.clone()], &b[r.clone()]], &mut vout[r]);
                        }
                        at += o.len();
                    },
                )?;
                Ok(cpu?)
            })?;
            rows.push((pct, per(checked), per(unchecked)));
        }
        for (pct, c, u) in rows {
            writeln!(
                log,
                "{op:?} split {pct}% GPU: run_split_host {c:.3} ns/elem, raw op kernel {u:.3}"
            )?;
        }
    }
    // Streaming ceilings: 2 inputs read, 1 output written, 144 bytes per element.
    let stream = |x: &[[u64; 6]], y: &[[u64; 6]], z: &mut [[u64; 6]], nt: bool| {
        z.par_chunks_mut(1 << 12)
            .zip(x.par_chunks(1 << 12).zip(y.par_chunks(1 << 12)))
            .for_each(|(z, (x, y))| {
                for ((z, x), y) in z.iter_mut().zip(x).zip(y) {
                    let v: [u64; 6] = std::array::from_fn(|k| x[k] ^ y[k]);
                    if nt {
                        nt_store(z, &v);
                    } else {
                        *z = v;
                    }
                }
                nt_fence();
            });
    };
    for nt in [false, true] {
        let us = time_us(5, || {
            ctx.host_read::<[u64; 6], _>(&ra, |x| {
                ctx.host_read::<[u64; 6], _>(&rb, |y| {
                    ctx.host_write::<[u64; 6], _>(&ro, |z| stream(x, y, z, nt))
                })
            })???;
            Ok(())
        })?;
        writeln!(
            log,
            "stream 144 B/elem, host-vector memory, non-temporal {nt}: {:.3} ns/elem, {:.1} GB/s",
            per(us),
            144e-3 * n as f64 / us
        )?;
        let x: Vec<[u64; 6]> = (0..n as u64).into_par_iter().map(|i| [i; 6]).collect();
        let y = x.clone();
        let mut z = vec![[0u64; 6]; n];
        let us = time_us(5, || {
            stream(&x, &y, &mut z, nt);
            Ok(())
        })?;
        writeln!(
            log,
            "stream 144 B/elem, ordinary memory, non-temporal {nt}: {:.3} ns/elem, {:.1} GB/s",
            per(us),
            144e-3 * n as f64 / us
        )?;
    }
    Ok(())
}

/// Stores `v` into `z` bypassing the caches (x86-64), or plainly elsewhere.
fn nt_store(z: &mut [u64; 6], v: &[u64; 6]) {
    #[cfg(target_arch = "x86_64")]
    for (d, s) in z.iter_mut().zip(v) {
        // SAFETY: `d` is a valid, aligned, exclusively borrowed u64; movnti is SSE2, which
        // every x86-64 CPU has.
        unsafe { std::arch::x86_64::_mm_stream_si64(std::ptr::from_mut(d).cast(), *s as i64) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        *z = *v;
    }
}

fn nt_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: sfence is SSE, which every x86-64 CPU has.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}
