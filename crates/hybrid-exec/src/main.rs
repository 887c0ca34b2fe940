//! `hybrid-exec`: the operator CLI.

#![forbid(unsafe_code)]

mod bench;
mod curve;
mod eip2537_runner;
mod measure;
mod scan;
mod soak;
mod verify;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use field_bls12::{cpu, FqGpu};
use gpu_core::TimingStats;
use hybrid_exec::{Route, Router, RouterConfig};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::EnvFilter;
use vk_backend::{Context, ContextConfig};

#[derive(Parser, Debug)]
#[command(
    name = "hybrid-exec",
    version,
    about = "BLS12-381 Fq batches on CPU and Vulkan GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Add two random Fq batches on the CPU and on the best Vulkan device; print both
    /// timings, the device and whether the results match bit for bit.
    Demo {
        /// Elements per batch.
        #[arg(long, default_value_t = 1 << 20)]
        size: usize,
        /// Timed runs per path (after one warm-up run); the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Seed for the random inputs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure the Vulkan backend's figures (latency, PCIe, device memory, resident and
    /// streamed Fq add, seed 001's batch compositions, MSMs, EIP-2537 blocks), each beside
    /// a ceiling measured in the same run.
    Bench {
        /// Timed samples per figure (after a short warm-up).
        #[arg(long, default_value_t = 15)]
        samples: usize,
        /// Elements of the large figures; also the most (point, scalar) pairs of an MSM
        /// figure: single MSMs above it are left out, batch and fixed-base rows run fewer
        /// (and, below one MSM's size, smaller) MSMs, e.g. on a slow software device.
        #[arg(long, default_value_t = 1 << 24)]
        large: usize,
        /// Only these sections, comma-separated (default: fq, msm and eip; f32 and multi
        /// run only when named).
        #[arg(long, value_enum, value_delimiter = ',')]
        only: Vec<bench::Section>,
        /// The f32 section (seed 003's table): the same as naming f32 in `--only`.
        #[arg(long)]
        f32: bool,
        /// A Python interpreter with PyTorch on CUDA (e.g. /opt/torch/.venv/bin/python3):
        /// the f32 section then times cuBLAS's matrix products through it in the same run
        /// and puts them beside its own.
        #[arg(long, value_name = "PYTHON")]
        torch: Option<std::path::PathBuf>,
        /// Also write the figures as JSON to this file.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
    /// Time add, mul and a 10-op chain on the CPU, the GPU and Auto at sizes from 1 up;
    /// print the crossovers and write scan.csv and scan.html.
    Scan {
        /// Largest batch size (elements).
        #[arg(long, default_value_t = 1 << 20)]
        max_size: usize,
        /// Timed samples per point (after one untimed run).
        #[arg(long, default_value_t = 3)]
        samples: usize,
        /// Directory for scan.csv and scan.html.
        #[arg(long, default_value = "scan-out")]
        out: std::path::PathBuf,
    },
    /// List the Vulkan devices, which one is chosen and why.
    Devices,
    /// Measure add, mul and a 10-op chain on the CPU and the GPU at sizes from 1Ki to 4Mi,
    /// MSMs and batches of them, and the f32 jobs, and save the router's calibration
    /// profile for this device.
    Calibrate {
        /// Runs per (job, size, device).
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Differential self-check: CPU (blst) against the portable implementation, GPU against
    /// CPU, on edge values and awkward sizes; G1 and G2 MSM on the CPU, the GPU and blst's
    /// own Pippenger (1 to 2^16+1 points), batches of MSMs (plain and with subgroup
    /// flags) against the CPU's MSMs one by one, and the GPU's batch point operations
    /// against the CPU's; exits non-zero on any mismatch.
    Verify {
        /// Also G1 MSM at 2^20 points.
        #[arg(long)]
        large: bool,
        /// Skip batches and MSMs larger than this (elements or points), e.g. on a slow
        /// software device.
        #[arg(long)]
        max_size: Option<usize>,
    },
    /// Mixed jobs from several threads (every policy, resident, slice and host-vector jobs,
    /// sizes 0 to 64Ki, some invalid), every result checked against the CPU; reports jobs,
    /// failures, validation messages and leaks, and exits non-zero on any problem.
    Soak {
        /// Stop after this many jobs (or at --seconds, whichever comes first).
        #[arg(long, default_value_t = 1_000_000)]
        ops: u64,
        /// Threads submitting jobs (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Stop after this many seconds (or at --ops, whichever comes first).
        #[arg(long, default_value_t = 300)]
        seconds: u64,
        /// Seed of the inputs and of the job mix.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
    /// Conformance: run EIP-2537 test-vector files (the EIP's JSON) through the router's
    /// precompiles; check every output, every Gas and that every ExpectedError vector
    /// fails; print PASS or FAIL per file and a summary; exit non-zero on any failure.
    Eip2537 {
        /// Where MSMs run (default: HYBRID_EXEC_BACKEND, else auto).
        #[arg(long, value_enum)]
        policy: Option<eip2537_runner::PolicyArg>,
        /// Run every vector of every file as one block (Router::execute_block: the
        /// block's MSMs batched), not one call at a time.
        #[arg(long)]
        block: bool,
        /// The precompile of every file, by name (G1MSM, BLS12_PAIRING_CHECK) or address
        /// (0x0c); default: from each file's name (add_G1*, mul_G1*, msm_G1*, ...,
        /// pairing_check*, map_fp_to_G1*, map_fp2_to_G2*, optionally fail-*).
        #[arg(long, value_parser = eip2537_runner::parse_precompile)]
        precompile: Option<eip2537::Precompile>,
        /// Vector files (JSON arrays of {Input, Name, Expected, Gas} or {Input, Name,
        /// ExpectedError}).
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Library warnings (a GPU job recomputed on the CPU, an ignored profile) go to stderr
    // by default; RUST_LOG chooses more or less.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(LevelFilter::WARN.into())
                .from_env_lossy(),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Demo { size, runs, seed } => demo(size, runs.max(1), seed),
        Command::Bench {
            samples,
            large,
            only,
            f32,
            torch,
            json,
        } => run_bench(
            &bench::BenchOptions {
                samples,
                large,
                only: with_f32(only, f32),
                torch,
            },
            json.as_deref(),
        ),
        Command::Scan {
            max_size,
            samples,
            out,
        } => run_scan(max_size, samples.max(1), &out),
        Command::Devices => devices(),
        Command::Calibrate { runs } => calibrate(runs.max(2)),
        Command::Verify { large, max_size } => {
            let gpu = open_gpu();
            let opts = verify::VerifyOptions { large, max_size };
            gpu.and_then(|g| verify::run(g.as_ref(), &opts)).map(passed)
        }
        Command::Soak {
            ops,
            threads,
            seconds,
            seed,
            json,
        } => soak::run(&soak::SoakOptions {
            ops,
            threads: threads.unwrap_or_else(host_threads).max(1),
            duration: Duration::from_secs(seconds),
            seed,
            json,
        })
        .map(passed),
        Command::Eip2537 {
            policy,
            block,
            precompile,
            files,
        } => run_eip2537(policy, block, precompile, &files),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit code of a check: success when it passed.
fn passed(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn demo(size: usize, runs: usize, seed: u64) -> anyhow::Result<ExitCode> {
    let [a, b] = measure::random_pair(size, seed);
    println!("Fq add, {size} elements per batch, median of {runs} runs");

    // The first (warm-up) run's results are the ones compared.
    let on_cpu = cpu::add(&a, &b)?;
    let cpu_stats = TimingStats::measure(0, runs, || cpu::add(&a, &b))?;
    println!(
        "cpu   : {:>12}  (blst, {} threads)",
        ms(cpu_stats.median),
        host_threads()
    );

    let Some(gpu) = open_gpu()? else {
        return Ok(ExitCode::SUCCESS);
    };
    let on_gpu = gpu.add(&a, &b)?;
    let gpu_stats = TimingStats::measure(0, runs, || gpu.add(&a, &b))?;
    let name = &gpu.context().info().name;
    println!(
        "gpu   : {:>12}  ({name}, host -> device -> host)",
        ms(gpu_stats.median)
    );
    let mismatch = on_cpu.iter().zip(&on_gpu).position(|(x, y)| x != y);
    match (on_cpu.len() == on_gpu.len(), mismatch) {
        (true, None) => {
            println!("match : yes, all {size} results bit-identical on cpu and {name}");
            Ok(ExitCode::SUCCESS)
        }
        (_, first) => {
            println!("match : NO (first difference at index {first:?})");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Opens the GPU for a subcommand that needs it; `Ok(None)` (after printing why, in one
/// line) when there is none.
fn open_gpu() -> anyhow::Result<Option<FqGpu>> {
    match ContextConfig::from_env().and_then(|c| Context::new(&c)) {
        Ok(ctx) => Ok(Some(
            FqGpu::new(Arc::new(ctx)).context("building the Fq kernels")?,
        )),
        Err(e) => {
            println!("gpu   : {}", gpu_line(None, e));
            Ok(None)
        }
    }
}

/// Which GPU a subcommand runs on, or why none: printed before any table, so that the
/// console shows whether the GPU ran. `why_none` is read only when there is no GPU.
fn gpu_line(gpu: Option<&FqGpu>, why_none: impl std::fmt::Display) -> String {
    match gpu {
        Some(g) => {
            let i = g.context().info();
            format!(
                "{} ({:?}, driver {}; Vulkan device {})",
                i.name, i.device_type, i.driver, i.index
            )
        }
        None => format!("none: {why_none}"),
    }
}

/// [`gpu_line`] for a router: the GPU it routes to, or why it has none.
fn router_gpu_line(router: &Router) -> String {
    gpu_line(router.gpu(), router.gpu_status())
}

/// A route as reports name it: `cpu`, `gpu`, `split` (whatever the share). Routes the
/// router may add later (a CPU fallback) show under their own Debug name.
fn route_label(route: &Route) -> String {
    match route {
        Route::Split { .. } => "split".to_owned(),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn run_bench(
    opts: &bench::BenchOptions,
    json: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let Some(gpu) = open_gpu()? else {
        println!("bench measures the Vulkan backend; nothing to do without a device");
        return Ok(ExitCode::FAILURE);
    };
    let ctx = gpu.context();
    let info = ctx.info();
    println!(
        "device: {} ({}), transfer queue: {}, download queue: {}, direct writes: {}",
        info.name,
        info.driver,
        ctx.has_transfer_queue(),
        ctx.has_download_queue(),
        ctx.direct_writes()
    );
    let figures = bench::run(ctx, &gpu, opts)?;
    print!("{}", bench::table(&figures));
    if let Some(path) = json {
        std::fs::write(path, bench::json(&figures, &info.name, &info.driver)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn run_scan(max_size: usize, samples: usize, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let router = Router::new(&RouterConfig::from_env()?);
    let gpu = router_gpu_line(&router);
    println!("gpu   : {gpu}");
    scan::run(&router, &gpu, max_size, samples, out)?;
    Ok(ExitCode::SUCCESS)
}

fn run_eip2537(
    policy: Option<eip2537_runner::PolicyArg>,
    block: bool,
    precompile: Option<eip2537::Precompile>,
    files: &[std::path::PathBuf],
) -> anyhow::Result<ExitCode> {
    // Every file's precompile is known before the GPU is opened.
    let files = eip2537_runner::resolve(files, precompile)?;
    let mut config = RouterConfig::from_env()?;
    if let Some(p) = policy {
        config.policy = p.into();
    }
    let router = Router::new(&config);
    let gpu = router_gpu_line(&router);
    println!("gpu   : {gpu}");
    let mut out = std::io::stdout().lock();
    eip2537_runner::run(&router, config.policy, &files, block, &gpu, &mut out).map(passed)
}

fn calibrate(runs: usize) -> anyhow::Result<ExitCode> {
    let router = Router::new(&RouterConfig::from_env()?);
    println!("gpu   : {}", router_gpu_line(&router));
    if router.gpu().is_none() {
        println!("calibrate: nothing to calibrate without a GPU");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", router.profile_status());
    let programs = hybrid_exec::jobs::standard()?;
    let [a, b] = measure::random_pair(1 << 22, 3);
    println!(
        "{:<12} {:>9} {:>14} {:>14}",
        "job", "elements", "cpu predicted", "gpu predicted"
    );
    for (name, program) in &programs {
        for n in [1usize << 10, 1 << 14, 1 << 18, 1 << 22] {
            for _ in 0..runs {
                router.execute(Route::Cpu, program, &[&a[..n], &b[..n]])?;
                router.execute(Route::Gpu, program, &[&a[..n], &b[..n]])?;
            }
            let (c, g) = router.predict(program, n);
            println!(
                "{name:<12} {n:>9} {:>11.1} us {:>11.1} us",
                c.as_secs_f64() * 1e6,
                g.as_secs_f64() * 1e6
            );
        }
    }
    calibrate_msm::<curve::G1>(&router, runs, &[1 << 8, 1 << 12, 1 << 16, 1 << 20])?;
    calibrate_msm::<curve::G2>(&router, runs, &[1 << 8, 1 << 12, 1 << 16])?;
    calibrate_f32(&router, runs)?;
    match router.save_profile() {
        Ok(path) => println!("saved {}", path.display()),
        Err(why) => println!("not saved: {why}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the f32 jobs (element-wise, reductions, softmax, matrix products) at a few sizes
/// on both routes `runs` times each, so that the router's model learns both (the GPU's f32
/// costs have no cold-start figures), and prints its predictions.
fn calibrate_f32(router: &Router, runs: usize) -> anyhow::Result<()> {
    use hybrid_exec::{F32Job, Policy};
    let values: Vec<f32> = (0..1u32 << 22)
        .map(|i| (i % 1000) as f32 / 125.0 - 4.0)
        .collect();
    let mut jobs: Vec<(String, F32Job<'_>)> = Vec::new();
    for n in [1usize << 10, 1 << 14, 1 << 18, 1 << 22] {
        let v = &values[..n];
        jobs.push((format!("f32 add {n}"), F32Job::Add(v, v)));
        jobs.push((format!("f32 gelu {n}"), F32Job::Gelu(v)));
        jobs.push((format!("f32 dot {n}"), F32Job::Dot(v, v)));
        jobs.push((format!("f32 softmax {n}"), F32Job::Softmax(v)));
    }
    for side in [64usize, 256, 1024] {
        let v = &values[..side * side];
        let job = F32Job::Matmul {
            a: v,
            b: v,
            m: side,
            k: side,
            n: side,
        };
        jobs.push((format!("f32 matmul {side}"), job));
    }
    for (name, job) in jobs {
        for _ in 0..runs {
            for policy in [Policy::Cpu, Policy::Gpu] {
                router.f32_with(policy, job)?;
            }
        }
        let (c, g) = router.predict_f32(&job);
        println!(
            "{name:<22} {:>11.1} us {:>14}",
            c.as_secs_f64() * 1e6,
            g.map_or("unknown".to_owned(), |g| format!(
                "{:.1} us",
                g.as_secs_f64() * 1e6
            ))
        );
    }
    Ok(())
}

/// Runs `C`'s MSM at `sizes` on both routes `runs` times each, so that the router's model
/// learns both (the GPU's MSM cost has no cold-start figure), and prints its predictions.
fn calibrate_msm<C: curve::Group>(
    router: &Router,
    runs: usize,
    sizes: &[usize],
) -> anyhow::Result<()> {
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let points = measure::random_points::<C>(largest, 5);
    let scalars = measure::random_scalars(largest, 6);
    for &n in sizes {
        for _ in 0..runs {
            for route in [Route::Cpu, Route::Gpu] {
                C::router_msm(router, Some(route), &points[..n], &scalars[..n])?;
            }
        }
        let (c, g) = router.predict_msm(C::MSM_GROUP, n);
        println!(
            "{:<12} {n:>9} {:>11.1} us {:>14}",
            C::MSM_JOB,
            c.as_secs_f64() * 1e6,
            g.map_or("unknown".to_owned(), |g| format!(
                "{:.1} us",
                g.as_secs_f64() * 1e6
            ))
        );
    }
    // Batches (a block's MSMs in one submission) are a shape of their own: 64 MSMs of
    // 128 points, the EIP-2537 block shape.
    if points.len() >= 64 * 128 {
        let msms: Vec<(&[C::Affine], &[curve_bls12::Scalar])> = (0..64)
            .map(|m| {
                (
                    &points[m * 128..(m + 1) * 128],
                    &scalars[m * 128..(m + 1) * 128],
                )
            })
            .collect();
        for _ in 0..runs {
            for policy in [hybrid_exec::Policy::Cpu, hybrid_exec::Policy::Gpu] {
                C::router_msm_batch(router, policy, &msms)?;
            }
        }
        println!(
            "{:<12} {:>9} (64 MSMs of 128 points: GPU batches observed)",
            C::MSM_JOB,
            64 * 128
        );
    }
    Ok(())
}

fn devices() -> anyhow::Result<ExitCode> {
    let devices = match vk_backend::enumerate_devices() {
        Ok(d) => d,
        Err(e) => {
            println!("no Vulkan devices: {e}");
            return Ok(ExitCode::SUCCESS);
        }
    };
    if devices.is_empty() {
        println!("the Vulkan loader reports no devices (install a driver, e.g. Mesa lavapipe)");
    }
    for d in &devices {
        let (maj, min, patch) = d.api_version;
        println!(
            "{}: {} ({:?}), Vulkan {maj}.{min}.{patch}, driver {}{}",
            d.index,
            d.name,
            d.device_type,
            d.driver,
            d.unusable_reason
                .as_ref()
                .map(|r| format!(", unusable: {r}"))
                .unwrap_or_default()
        );
        for (i, (count, flags)) in d.queue_families.iter().enumerate() {
            println!("    queue family {i}: {count} x {flags}");
        }
        for (i, (bytes, local, types)) in d.memory_heaps.iter().enumerate() {
            println!(
                "    heap {i}: {:.1} GiB{}, memory types: {}",
                *bytes as f64 / (1u64 << 30) as f64,
                if *local { " device-local" } else { "" },
                if types.is_empty() {
                    "-".to_owned()
                } else {
                    types.join("; ")
                }
            );
        }
    }
    match ContextConfig::from_env().and_then(|c| Context::new(&c)) {
        Ok(ctx) => {
            let i = ctx.info();
            println!(
                "chosen: {}: {} (preference discrete > integrated > virtual > CPU, or {}); transfer queue: {}, download queue: {}, resizable BAR: {}, 64-bit shader integers: {}, doubles: {}, host-memory import: {}, f16 matrix products: {}",
                i.index,
                i.name,
                vk_backend::ENV_DEVICE,
                ctx.has_transfer_queue(),
                ctx.has_download_queue(),
                ctx.direct_writes(),
                ctx.shader_int64(),
                ctx.shader_float64(),
                ctx.imports_host_memory(),
                ctx.f16_matrix_products()
            );
        }
        Err(e) => println!("chosen: none: {e}"),
    }
    // The multi-device set: what a DeviceGroup opens (a Router opens the one device
    // chosen above).
    match vk_backend::DeviceSet::from_env().and_then(|set| Ok((set.select(&devices)?, set))) {
        Ok((picked, set)) => {
            println!(
                "device set ({}: {set:?}; a DeviceGroup opens these, a Router only the chosen device):",
                vk_backend::ENV_DEVICES
            );
            for p in picked {
                println!("    {}: {}", p.index, p.reason);
            }
        }
        Err(e) => println!("device set: none: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Today's date (UTC) as `YYYY-MM-DD`, for reports.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

fn host_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `--only`'s sections with f32 added when `--f32` asks for it.
fn with_f32(mut only: Vec<bench::Section>, f32: bool) -> Vec<bench::Section> {
    if f32 && !only.contains(&bench::Section::F32) {
        only.push(bench::Section::F32);
    }
    only
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bench_only(args: &[&str]) -> Result<Vec<bench::Section>, clap::Error> {
        let cli = Cli::try_parse_from(["hybrid-exec", "bench"].iter().chain(args))?;
        match cli.command {
            Command::Bench { only, f32, .. } => Ok(with_f32(only, f32)),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn bench_only_takes_a_comma_separated_list_of_sections() {
        use bench::Section;
        assert_eq!(bench_only(&[]).unwrap(), vec![]);
        assert_eq!(
            bench_only(&["--only", "msm,eip"]).unwrap(),
            vec![Section::Msm, Section::Eip]
        );
        assert_eq!(bench_only(&["--only", "fq"]).unwrap(), vec![Section::Fq]);
        assert_eq!(bench_only(&["--only", "f32"]).unwrap(), vec![Section::F32]);
        assert_eq!(bench_only(&["--f32"]).unwrap(), vec![Section::F32]);
        assert_eq!(
            bench_only(&["--only", "multi"]).unwrap(),
            vec![Section::Multi]
        );
        assert_eq!(
            bench_only(&["--only", "eip", "--f32"]).unwrap(),
            vec![Section::Eip, Section::F32]
        );
        assert!(bench_only(&["--only", "fq,pairing"]).is_err());
    }
}
