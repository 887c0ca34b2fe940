//! A stand-in for the blockchain VM: several threads send a stream of Fq jobs of mixed
//! sizes and kinds through one shared router, which places each one. Prints where the jobs
//! went and why, and the total time against forcing every job onto the CPU or the GPU.
//!
//! `cargo run --release -p hybrid-exec --example vm [jobs per thread] [threads] [rounds]`
//! (defaults 24, 4, 9: the medians of 9 rounds are the result; rounds of one binary on a
//! shared machine spread by 1.5x and more).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;
use field_bls12::Fq;
use hybrid_exec::{Policy, Route, Router, RouterConfig};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Jobs per "name x size -> route": (jobs, elements).
type Summary = BTreeMap<String, (usize, usize)>;

/// Job sizes: mostly small, some large, as transaction batches come.
const SIZES: [usize; 6] = [64, 1 << 10, 1 << 12, 1 << 14, 1 << 17, 1 << 20];

fn main() -> Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let jobs_per_thread = args.first().copied().unwrap_or(24);
    let threads = args.get(1).copied().unwrap_or(4);
    let rounds = args.get(2).copied().unwrap_or(9).max(1);
    let router = Router::new(&RouterConfig::from_env()?);
    println!("gpu: {}", router.gpu_status());
    // The job kinds a VM sends: single operations and a chain.
    let programs = hybrid_exec::jobs::standard()?;
    let mut rng = StdRng::seed_from_u64(7);
    let max = *SIZES.iter().max().expect("sizes");
    let (a, b): (Vec<Fq>, Vec<Fq>) = (0..max)
        .map(|_| (Fq::random(&mut rng), Fq::random(&mut rng)))
        .unzip();
    // The same job list for every policy: (program index, size).
    let jobs: Vec<Vec<(usize, usize)>> = (0..threads)
        .map(|t| {
            let mut rng = StdRng::seed_from_u64(100 + t as u64);
            (0..jobs_per_thread)
                .map(|_| {
                    (
                        rng.gen_range(0..programs.len()),
                        SIZES[rng.gen_range(0..SIZES.len())],
                    )
                })
                .collect()
        })
        .collect();

    let run = |policy: Policy| -> Result<(Duration, Summary)> {
        let summary = Mutex::new(Summary::new());
        let start = Instant::now();
        std::thread::scope(|s| -> Result<()> {
            let handles: Vec<_> = jobs
                .iter()
                .map(|list| {
                    let (programs, router, summary, a, b) = (&programs, &router, &summary, &a, &b);
                    s.spawn(move || -> Result<()> {
                        for &(p, n) in list {
                            let (name, program) = &programs[p];
                            let ins: Vec<&[Fq]> = [&a[..n], &b[..n]][..program.inputs()].to_vec();
                            let (_, route) = router.run_with(policy, program, &ins)?;
                            let to = match route {
                                Route::Cpu => "cpu",
                                Route::CpuFallback => "cpu (fallback)",
                                Route::Gpu => "gpu",
                                Route::Split { .. } => "split",
                            };
                            let mut sum = summary.lock().unwrap_or_else(|e| e.into_inner());
                            let e = sum
                                .entry(format!("{name:>8} x {n:>8} -> {to}"))
                                .or_default();
                            e.0 += 1;
                            e.1 += n;
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a VM thread panicked"))??;
            }
            Ok(())
        })?;
        Ok((
            start.elapsed(),
            summary.into_inner().unwrap_or_else(|e| e.into_inner()),
        ))
    };

    // Warm-up: let the cost model see both devices on every kind and size.
    for program in programs.iter().map(|(_, p)| p) {
        for &n in &SIZES {
            let ins: Vec<&[Fq]> = [&a[..n], &b[..n]][..program.inputs()].to_vec();
            for _ in 0..4 {
                router.run_with(Policy::Cpu, program, &ins)?;
                router.run_with(Policy::Gpu, program, &ins)?;
            }
        }
    }
    // Rounds, each running the three policies in a rotated order, so that drift of a
    // shared machine falls on all three; the medians are the result.
    let policies = [Policy::Cpu, Policy::Gpu, Policy::Auto];
    let mut times: [Vec<Duration>; 3] = Default::default();
    let mut summary = Summary::new();
    for round in 0..rounds {
        let mut line = Vec::new();
        for k in 0..policies.len() {
            let p = (round + k) % policies.len();
            let (time, where_to) = run(policies[p])?;
            times[p].push(time);
            line.push(format!(
                "{:?} {:.1} ms",
                policies[p],
                time.as_secs_f64() * 1e3
            ));
            if policies[p] == Policy::Auto {
                // Where the large jobs, which make most of the time, went this round.
                let large = |to: &str| -> usize {
                    where_to
                        .iter()
                        .filter(|(k, _)| k.ends_with(to))
                        .filter(|(_, (jobs, elems))| elems / jobs >= 1 << 17)
                        .map(|(_, (jobs, _))| jobs)
                        .sum()
                };
                line.push(format!(
                    "(Auto's jobs of 128Ki+: {} cpu, {} gpu)",
                    large("cpu"),
                    large("gpu")
                ));
                summary = where_to;
            }
        }
        println!("round {}: {}", round + 1, line.join(", "));
    }
    println!(
        "{threads} threads x {jobs_per_thread} jobs; where Auto sent them in the last round (jobs, elements):"
    );
    for (k, (jobs, elems)) in &summary {
        println!("  {k}: {jobs} jobs, {elems} elements");
    }
    let median_ms = |t: &mut Vec<Duration>| {
        t.sort();
        t[t.len() / 2].as_secs_f64() * 1e3
    };
    let [cpu, gpu, auto] = &mut times;
    println!(
        "median of {rounds} rounds: auto {:.1} ms, cpu only {:.1} ms, gpu only {:.1} ms",
        median_ms(auto),
        median_ms(cpu),
        median_ms(gpu)
    );
    let stats = router.stats();
    let f = router.load_factors();
    println!(
        "router: {} cpu, {} gpu, {} split, {} fallback jobs, {} gpu failures, breaker {:?}; \
         load factors (queue, beside): cpu {:.2} {:.2}, gpu {:.2} {:.2}",
        stats.cpu_jobs,
        stats.gpu_jobs,
        stats.split_jobs,
        stats.fallback_jobs,
        stats.gpu_failures,
        stats.breaker,
        f.cpu_queue,
        f.cpu_beside,
        f.gpu_queue,
        f.gpu_beside,
    );
    Ok(())
}
