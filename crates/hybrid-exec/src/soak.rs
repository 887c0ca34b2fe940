//! `hybrid-exec soak`: mixed jobs from several threads through every way into the stack
//! (the router's policies and a forced split on slices, host vectors, resident vectors),
//! sizes from 0 to 64Ki with sizes next to powers of two favoured, and some invalid jobs
//! that must fail with the right typed error. Every result is checked against the CPU
//! path. At the end: jobs per kind and route, failures, validation messages, device
//! allocations still live once the context is gone, and pool bytes held.
//!
//! Jobs cut their inputs from two fixed pools at random offsets, and every operation is
//! element-wise, so the expected result of any job is the same cut of the pools' results,
//! computed once on the CPU: a job costs its own run and a comparison, nothing more.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use field_bls12::{cpu, FieldError, Fq, FqGpu, FqProgram, HostFqVec};
use hybrid_exec::{Policy, Route, Router, RouterConfig, RouterError};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use vk_backend::{Context, ContextConfig};

/// Options of `hybrid-exec soak`.
#[derive(Debug)]
pub(crate) struct SoakOptions {
    /// Stop after this many jobs...
    pub(crate) ops: u64,
    /// ...or after this long, whichever comes first.
    pub(crate) duration: Duration,
    /// Threads submitting jobs.
    pub(crate) threads: usize,
    /// Seed of the inputs and of each thread's job mix.
    pub(crate) seed: u64,
    /// Where to write the JSON report, if anywhere.
    pub(crate) json: Option<PathBuf>,
}

/// The largest job, in elements.
const MAX_LEN: usize = 1 << 16;
/// Elements of each input pool: twice the largest job, so that jobs start at varied
/// offsets, and one more for the longer input of a length-mismatched job.
const POOL: usize = 2 * MAX_LEN + 1;
/// One job in this many is invalid.
const INVALID_ONE_IN: u32 = 50;
/// Problems described in full in the report (the rest are counted).
const EXAMPLES: usize = 10;

/// Where a job's data lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    /// Ordinary slices, through [`Router::run_with`] or [`Router::execute`].
    Slice,
    /// Host vectors, through [`Router::run_host`].
    Host,
    /// Resident vectors: upload, [`FqGpu::run_program_resident`], download.
    Resident,
}

/// How an invalid job is wrong, and the error it must fail with.
#[derive(Clone, Copy, Debug)]
enum Invalid {
    /// One vector is one element longer than the others: [`FieldError::LengthMismatch`].
    Lengths,
    /// One input for a two-input program (every soak program takes two):
    /// [`FieldError::InvalidProgram`].
    InputCount,
}

impl Invalid {
    fn label(self) -> &'static str {
        match self {
            Invalid::Lengths => "length mismatch",
            Invalid::InputCount => "wrong input count",
        }
    }

    fn expects(self, e: &FieldError) -> bool {
        match self {
            Invalid::Lengths => matches!(e, FieldError::LengthMismatch { .. }),
            Invalid::InputCount => matches!(e, FieldError::InvalidProgram(_)),
        }
    }
}

/// What became of one job.
enum Verdict {
    /// A valid job whose result matched the CPU's; the route it took.
    Passed(String),
    /// An invalid job that failed with the right error.
    Refused(Invalid),
    /// A valid job whose result differs from the CPU's: route, and where.
    Mismatch(String, String),
    /// An unexpected error, or an invalid job that did not fail as it must.
    Failed(String),
}

/// `Ok` when `got` is `want`, else where they first differ.
fn compare(got: &[Fq], want: &[Fq]) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{} elements, {} expected", got.len(), want.len()));
    }
    match got.iter().zip(want).position(|(x, y)| x != y) {
        None => Ok(()),
        Some(i) => Err(format!("first difference at element {i}")),
    }
}

/// The verdict on a valid job that ran along `route` and produced `got`.
fn checked(route: String, got: Result<(), String>) -> Verdict {
    match got {
        Ok(()) => Verdict::Passed(route),
        Err(what) => Verdict::Mismatch(route, what),
    }
}

/// The verdict on a job from what it returned: a valid job's output judged by `check`; an
/// invalid job must have failed with the error it expects (`field` finds the Fq error
/// inside `E`).
fn judge<T, E: std::fmt::Display>(
    invalid: Option<Invalid>,
    result: Result<T, E>,
    field: impl FnOnce(&E) -> Option<&FieldError>,
    check: impl FnOnce(T) -> Verdict,
) -> Verdict {
    match (invalid, result) {
        (None, Ok(out)) => check(out),
        (None, Err(e)) => Verdict::Failed(e.to_string()),
        (Some(invalid), Err(e)) if field(&e).is_some_and(|f| invalid.expects(f)) => {
            Verdict::Refused(invalid)
        }
        (Some(invalid), Err(e)) => Verdict::Failed(format!(
            "{} failed with the wrong error: {e}",
            invalid.label()
        )),
        (Some(invalid), Ok(_)) => Verdict::Failed(format!("{} was accepted", invalid.label())),
    }
}

/// The Fq error a router error carries, if it is one.
fn field_error(e: &RouterError) -> Option<&FieldError> {
    match e {
        RouterError::Field(f) => Some(f),
        _ => None,
    }
}

/// The inputs and expected results every job cuts its own from.
struct Pools {
    a: Vec<Fq>,
    b: Vec<Fq>,
    programs: Vec<(&'static str, FqProgram)>,
    /// Per program, its result over the whole pools, on the CPU.
    want: Vec<Vec<Fq>>,
}

impl Pools {
    /// The pools, and the CPU's results: single operations by `field_bls12::cpu` (blst's
    /// batch calls), checked against `FqProgram::run_cpu` (the router's CPU path); programs
    /// by `run_cpu`.
    fn new(seed: u64) -> Result<Self> {
        let (a, b) = (
            crate::verify::inputs(POOL, 2 * seed),
            crate::verify::inputs(POOL, 2 * seed + 1),
        );
        let programs = crate::verify::programs()?;
        let mut want = Vec::with_capacity(programs.len());
        for (name, program) in &programs {
            let by_program = program.run_cpu(&[&a, &b])?;
            let by_blst = match *name {
                "add" => Some(cpu::add(&a, &b)?),
                "sub" => Some(cpu::sub(&a, &b)?),
                "mul" => Some(cpu::mul(&a, &b)?),
                "square" => Some(cpu::square(&a)?),
                "neg" => Some(cpu::neg(&a)?),
                "double" => Some(cpu::double(&a)?),
                _ => None,
            };
            if let Some(by_blst) = by_blst {
                compare(&by_program, &by_blst)
                    .map_err(|what| anyhow::anyhow!("the CPU paths disagree on {name}: {what}"))?;
            }
            want.push(by_program);
        }
        Ok(Self {
            a,
            b,
            programs,
            want,
        })
    }
}

/// One thread's counts.
#[derive(Default)]
struct Tally {
    /// Jobs by (kind, how it was asked to run, the route it took or "refused").
    jobs: BTreeMap<(Kind, &'static str, String), u64>,
    by_program: BTreeMap<&'static str, u64>,
    refused: BTreeMap<&'static str, u64>,
    elements: u64,
    mismatches: u64,
    failures: u64,
    examples: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        for (k, v) in other.jobs {
            *self.jobs.entry(k).or_default() += v;
        }
        for (k, v) in other.by_program {
            *self.by_program.entry(k).or_default() += v;
        }
        for (k, v) in other.refused {
            *self.refused.entry(k).or_default() += v;
        }
        self.elements += other.elements;
        self.mismatches += other.mismatches;
        self.failures += other.failures;
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }

    fn jobs(&self) -> u64 {
        self.jobs.values().sum()
    }

    fn example(&mut self, what: impl FnOnce() -> String) {
        if self.examples.len() < EXAMPLES {
            self.examples.push(what());
        }
    }
}

/// One job as drawn: what to run, on which cut of the pools, how.
struct Job {
    kind: Kind,
    program: usize,
    len: usize,
    offset: usize,
    /// `None`: a forced split of a slice job at `split`.
    policy: Option<Policy>,
    split: usize,
    invalid: Option<Invalid>,
}

impl Job {
    /// Draws a job: slices half the time (all of it without a GPU), otherwise host or
    /// resident vectors.
    fn draw(rng: &mut StdRng, gpu: bool, programs: usize) -> Self {
        let kind = match rng.gen_range(0..4) {
            _ if !gpu => Kind::Slice,
            0 | 1 => Kind::Slice,
            2 => Kind::Host,
            _ => Kind::Resident,
        };
        let len = job_len(rng);
        let invalid = rng
            .gen_ratio(1, INVALID_ONE_IN)
            .then(|| [Invalid::Lengths, Invalid::InputCount][rng.gen_range(0..2)]);
        // A forced split goes through `Router::execute`, which does not check its inputs
        // before trying the GPU (an invalid job would count as a GPU failure): valid only.
        let forced_split = kind == Kind::Slice && invalid.is_none() && rng.gen_ratio(1, 4);
        Self {
            kind,
            program: rng.gen_range(0..programs),
            len,
            offset: rng.gen_range(0..POOL - len),
            policy: (!forced_split)
                .then(|| [Policy::Cpu, Policy::Gpu, Policy::Auto][rng.gen_range(0..3)]),
            split: rng.gen_range(0..=len),
            invalid,
        }
    }

    /// How the job was asked to run, for the report.
    fn mode(&self) -> &'static str {
        match (self.kind, self.policy) {
            (Kind::Resident, _) => "resident",
            (_, None) => "forced split",
            (_, Some(Policy::Cpu)) => "policy cpu",
            (_, Some(Policy::Gpu)) => "policy gpu",
            (_, Some(Policy::Auto)) => "policy auto",
        }
    }
}

/// A job length from 0 to [`MAX_LEN`]: half the time next to a power of two (where
/// workgroups, tiles, chunks and routing thresholds end), otherwise anywhere, spread
/// evenly over the orders of magnitude.
fn job_len(rng: &mut StdRng) -> usize {
    let top = 1usize << rng.gen_range(0..=MAX_LEN.ilog2());
    if rng.gen_bool(0.5) {
        (top + rng.gen_range(0..=2)).saturating_sub(1).min(MAX_LEN)
    } else {
        rng.gen_range(0..=top)
    }
}

/// Runs jobs on one thread.
struct Worker<'a> {
    router: &'a Router,
    pools: &'a Pools,
}

impl Worker<'_> {
    fn run(&self, job: &Job) -> Verdict {
        let program = &self.pools.programs[job.program].1;
        let cut = job.offset..job.offset + job.len;
        let (a, b) = (&self.pools.a[cut.clone()], &self.pools.b[cut.clone()]);
        let want = &self.pools.want[job.program][cut];
        // The longer input of a length-mismatched job.
        let b_longer = &self.pools.b[job.offset..=job.offset + job.len];
        let inputs: Vec<&[Fq]> = match job.invalid {
            None => vec![a, b],
            Some(Invalid::Lengths) => vec![a, b_longer],
            Some(Invalid::InputCount) => vec![a],
        };
        match (job.kind, self.router.gpu()) {
            (Kind::Slice, _) => self.slices(job, program, &inputs, want),
            (_, None) => Verdict::Failed("the router's GPU is gone".to_owned()),
            (Kind::Host, Some(gpu)) => self
                .host(gpu, job, program, &inputs, want)
                .unwrap_or_else(|e| Verdict::Failed(format!("host vectors: {e}"))),
            (Kind::Resident, Some(gpu)) => Self::resident(gpu, job, program, &inputs, want),
        }
    }

    fn slices(&self, job: &Job, program: &FqProgram, inputs: &[&[Fq]], want: &[Fq]) -> Verdict {
        let result = match job.policy {
            Some(policy) => self
                .router
                .run_with(policy, program, inputs)
                .map(|(got, route)| (got, crate::route_label(&route))),
            None => self
                .router
                .execute(Route::Split { gpu_len: job.split }, program, inputs)
                .map(|(got, route)| (got, crate::route_label(&route))),
        };
        judge(job.invalid, result, field_error, |(got, route)| {
            checked(route, compare(&got, want))
        })
    }

    /// A job on host vectors; an invalid one must also leave its output as it was (zeros).
    fn host(
        &self,
        gpu: &FqGpu,
        job: &Job,
        program: &FqProgram,
        inputs: &[&[Fq]],
        want: &[Fq],
    ) -> Result<Verdict, FieldError> {
        let vectors = inputs
            .iter()
            .map(|v| gpu.host_vec_from(&v[..job.len]))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&HostFqVec> = vectors.iter().collect();
        // A length mismatch on host vectors: the output is the odd one out.
        let out_len = job.len + usize::from(matches!(job.invalid, Some(Invalid::Lengths)));
        let mut out = gpu.alloc_host_vec(out_len)?;
        let policy = job.policy.unwrap_or(Policy::Auto);
        let result = self.router.run_host(policy, program, &refs, &mut out);
        let verdict = judge(job.invalid, result, field_error, |route| {
            match out.read(|got| compare(got, want)) {
                Ok(got) => checked(crate::route_label(&route), got),
                Err(e) => Verdict::Failed(format!("reading the output: {e}")),
            }
        });
        // An invalid job writes nothing: the output still holds the zeros it was made with.
        Ok(match verdict {
            Verdict::Refused(invalid) if out.read(|o| o.iter().any(|x| *x != Fq::ZERO))? => {
                Verdict::Failed(format!("{} wrote into the output", invalid.label()))
            }
            verdict => verdict,
        })
    }

    fn resident(
        gpu: &FqGpu,
        job: &Job,
        program: &FqProgram,
        inputs: &[&[Fq]],
        want: &[Fq],
    ) -> Verdict {
        let run = || {
            let vectors = inputs
                .iter()
                .map(|v| gpu.upload(v))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<_> = vectors.iter().collect();
            let out = gpu.run_program_resident(program, &refs)?;
            gpu.download(&out)
        };
        judge(
            job.invalid,
            run(),
            |e| Some(e),
            |got| checked("gpu".to_owned(), compare(&got, want)),
        )
    }

    /// Runs jobs until `next` passes `ops` or `deadline` (if any) passes.
    fn soak(&self, seed: u64, ops: u64, deadline: Option<Instant>, next: &AtomicU64) -> Tally {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tally = Tally::default();
        let gpu = self.router.gpu().is_some();
        while next.fetch_add(1, Ordering::Relaxed) < ops
            && deadline.is_none_or(|d| Instant::now() < d)
        {
            let job = Job::draw(&mut rng, gpu, self.pools.programs.len());
            self.run_and_count(&job, &mut tally);
        }
        tally
    }

    /// One job of each program, kind and kernel flavour (the smallest and the largest
    /// size, which lie on either side of every size threshold), on the GPU: their kernels
    /// are compiled before the clock starts (seconds each on lavapipe).
    fn warm_up(&self) -> Tally {
        let mut tally = Tally::default();
        let kinds: &[(Kind, usize)] = if self.router.gpu().is_some() {
            &[
                (Kind::Slice, 1),
                (Kind::Slice, MAX_LEN),
                (Kind::Host, MAX_LEN),
                (Kind::Resident, MAX_LEN),
            ]
        } else {
            &[(Kind::Slice, MAX_LEN)]
        };
        for program in 0..self.pools.programs.len() {
            for &(kind, len) in kinds {
                let job = Job {
                    kind,
                    program,
                    len,
                    offset: 0,
                    policy: Some(Policy::Gpu),
                    split: 0,
                    invalid: None,
                };
                self.run_and_count(&job, &mut tally);
            }
        }
        tally
    }

    /// Runs `job` and counts what became of it.
    fn run_and_count(&self, job: &Job, tally: &mut Tally) {
        let name = self.pools.programs[job.program].0;
        let route = match self.run(job) {
            Verdict::Passed(route) => route,
            Verdict::Refused(invalid) => {
                *tally.refused.entry(invalid.label()).or_default() += 1;
                "refused".to_owned()
            }
            Verdict::Mismatch(route, what) => {
                tally.mismatches += 1;
                tally.example(|| {
                    format!(
                        "MISMATCH {:?} {name}, {} elements at offset {}, {}, route {route}: {what}",
                        job.kind,
                        job.len,
                        job.offset,
                        job.mode()
                    )
                });
                route
            }
            Verdict::Failed(why) => {
                tally.failures += 1;
                tally.example(|| {
                    format!(
                        "FAILED {:?} {name}, {} elements, {}: {why}",
                        job.kind,
                        job.len,
                        job.mode()
                    )
                });
                "failed".to_owned()
            }
        };
        *tally.jobs.entry((job.kind, job.mode(), route)).or_default() += 1;
        *tally.by_program.entry(name).or_default() += 1;
        tally.elements += job.len as u64;
    }
}

/// `soak --json`: the run and what it found.
#[derive(Debug, Serialize)]
struct SoakReport {
    /// UTC, `YYYY-MM-DD`.
    date: String,
    gpu: String,
    validation_layer: bool,
    seed: u64,
    threads: usize,
    /// The warm-up before the clock started, one job of each program, kind and kernel.
    warm_up_jobs: u64,
    warm_up_seconds: f64,
    /// The timed soak after it.
    seconds: f64,
    jobs_per_second: f64,
    /// All jobs checked, the warm-up's included (the tables add up to it).
    jobs: u64,
    elements: u64,
    jobs_by_route: Vec<RouteCount>,
    jobs_by_program: BTreeMap<&'static str, u64>,
    invalid_jobs_refused: BTreeMap<&'static str, u64>,
    unexpected_failures: u64,
    mismatches: u64,
    /// GPU attempts the router recomputed on the CPU (a healthy device has none).
    gpu_failures: u64,
    router_stats: String,
    validation_messages: Vec<String>,
    /// `None` without a GPU.
    live_allocations_after_drop: Option<usize>,
    pool_idle_bytes: Option<u64>,
    pool_in_use_bytes: Option<u64>,
    /// Threads that submitted GPU work; `None` without a GPU.
    submitting_threads: Option<usize>,
    /// The most threads that may submit: the soak's own, the main thread and the two
    /// pools (rayon's and the copy pool). More means a thread per job, which the NVIDIA
    /// driver makes slow to unload (`Context::submitting_threads`).
    submitting_threads_allowed: usize,
    /// Dropping the router and its context (unloading the driver included).
    teardown_seconds: f64,
    examples: Vec<String>,
    passed: bool,
}

#[derive(Debug, Serialize)]
struct RouteCount {
    kind: Kind,
    mode: &'static str,
    route: String,
    jobs: u64,
}

/// Runs the soak and prints its report; returns whether it passed.
pub(crate) fn run(opts: &SoakOptions) -> Result<bool> {
    let config = RouterConfig::from_env()?;
    // The context is opened here rather than by the router, for a probe that outlives it.
    let (gpu, probe, why_none) = if config.use_gpu {
        match ContextConfig::from_env().and_then(|c| Context::new(&c)) {
            Ok(ctx) => {
                let probe = ctx.probe();
                let validation = ctx.validation_enabled();
                let gpu = FqGpu::new(Arc::new(ctx)).context("building the Fq kernels")?;
                (Some(gpu), Some((probe, validation)), String::new())
            }
            Err(e) => (None, None, e.to_string()),
        }
    } else {
        let why = format!("turned off ({}=off)", hybrid_exec::ENV_BACKEND);
        (None, None, why)
    };
    let gpu_line = crate::gpu_line(gpu.as_ref(), &why_none);
    println!("gpu   : {gpu_line}");
    let validation = probe.as_ref().is_some_and(|(_, on)| *on);
    if gpu.is_some() {
        if validation {
            println!("validation layer: on (any message fails the soak)");
        } else {
            let var = vk_backend::ENV_VALIDATION;
            println!("validation layer: off (set {var}=require to check)");
        }
    } else {
        println!("soak  : CPU only: slice jobs through every policy");
    }
    let router = Router::with_gpu(&config, gpu);

    let pools = Pools::new(opts.seed)?;
    let worker = Worker {
        router: &router,
        pools: &pools,
    };
    let bar = ProgressBar::new(opts.ops).with_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} jobs, {per_sec}, {elapsed}")
            .expect("a valid template")
            .progress_chars("#>."),
    );
    println!("warm-up: one job of each program, kind and kernel flavour (compiles kernels)");
    let warm_up = Instant::now();
    let mut tally = worker.warm_up();
    let (warm_up, warm_up_jobs) = (warm_up.elapsed(), tally.jobs());
    println!(
        "warm-up: {warm_up_jobs} jobs in {:.1} s",
        warm_up.as_secs_f64()
    );
    let next = AtomicU64::new(0);
    let started = Instant::now();
    let deadline = started.checked_add(opts.duration);
    let mut panicked = 0;
    std::thread::scope(|s| {
        let threads: Vec<_> = (0..opts.threads as u64)
            .map(|t| {
                let (worker, next) = (&worker, &next);
                let seed = opts.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ t;
                s.spawn(move || worker.soak(seed, opts.ops, deadline, next))
            })
            .collect();
        // Progress from here, not per job: the bar takes a lock on each update. Without a
        // terminal the bar is hidden, and a line every 10 s tells a log how far it got.
        let mut said = Instant::now();
        while threads.iter().any(|t| !t.is_finished()) {
            let done = next.load(Ordering::Relaxed).min(opts.ops);
            bar.set_position(done);
            if bar.is_hidden() && said.elapsed() >= Duration::from_secs(10) {
                said = Instant::now();
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "soak  : {done} jobs in {secs:.0} s ({:.0} jobs/s)",
                    done as f64 / secs
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for t in threads {
            match t.join() {
                Ok(t) => tally.add(t),
                Err(_) => panicked += 1,
            }
        }
    });
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    println!("soak  : every thread done; closing the context");
    if panicked > 0 {
        tally.failures += panicked;
        tally.example(|| format!("{panicked} soak thread(s) panicked"));
    }

    let stats = router.stats();
    let (pool, holders, submitting) = router.gpu().map_or((None, 0, None), |g| {
        let ctx = g.context();
        (
            Some(ctx.pool_stats()),
            Arc::strong_count(ctx),
            Some(ctx.submitting_threads()),
        )
    });
    let teardown = Instant::now();
    drop(router);
    let teardown = teardown.elapsed();
    println!("soak  : context closed in {:.2} s", teardown.as_secs_f64());
    let (messages, live) = match &probe {
        Some((probe, _)) => (
            probe.take_validation_messages(),
            Some(probe.live_allocations()),
        ),
        None => (Vec::new(), None),
    };

    let jobs = tally.jobs();
    let timed_jobs = jobs - warm_up_jobs;
    let mut report = SoakReport {
        date: crate::today(),
        gpu: gpu_line,
        validation_layer: validation,
        seed: opts.seed,
        threads: opts.threads,
        warm_up_jobs,
        warm_up_seconds: warm_up.as_secs_f64(),
        seconds: elapsed.as_secs_f64(),
        jobs_per_second: timed_jobs as f64 / elapsed.as_secs_f64().max(1e-9),
        jobs,
        elements: tally.elements,
        jobs_by_route: tally
            .jobs
            .iter()
            .map(|((kind, mode, route), &jobs)| RouteCount {
                kind: *kind,
                mode,
                route: route.clone(),
                jobs,
            })
            .collect(),
        jobs_by_program: tally.by_program.clone(),
        invalid_jobs_refused: tally.refused.clone(),
        unexpected_failures: tally.failures,
        mismatches: tally.mismatches,
        gpu_failures: stats.gpu_failures,
        router_stats: format!("{stats:?}"),
        validation_messages: messages,
        live_allocations_after_drop: live,
        pool_idle_bytes: pool.map(|p| p.idle_bytes),
        pool_in_use_bytes: pool.map(|p| p.in_use_bytes),
        submitting_threads: submitting,
        submitting_threads_allowed: opts.threads + 1 + 2 * rayon::current_num_threads(),
        teardown_seconds: teardown.as_secs_f64(),
        examples: tally.examples.clone(),
        passed: false,
    };
    report.passed = problems(&report, holders).is_empty();
    print!("{}", summary(&report, holders));
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(report.passed)
}

/// What makes the soak fail, one line each; `holders`: owners of the context besides the
/// router when it was dropped.
fn problems(r: &SoakReport, holders: usize) -> Vec<String> {
    let mut out = Vec::new();
    if r.mismatches > 0 {
        out.push(format!("{} results differ from the CPU's", r.mismatches));
    }
    if r.unexpected_failures > 0 {
        out.push(format!("{} unexpected failures", r.unexpected_failures));
    }
    if r.gpu_failures > 0 {
        out.push(format!(
            "{} GPU attempts failed and were recomputed on the CPU",
            r.gpu_failures
        ));
    }
    if !r.validation_messages.is_empty() {
        out.push(format!(
            "{} validation messages",
            r.validation_messages.len()
        ));
    }
    if let Some(live) = r.live_allocations_after_drop.filter(|&n| n > 0) {
        out.push(format!(
            "{live} device allocations live after the context was dropped{}",
            if holders > 1 {
                format!(" (the context had {} other owners)", holders - 1)
            } else {
                String::new()
            }
        ));
    }
    if let Some(n) = r.submitting_threads {
        if n > r.submitting_threads_allowed {
            out.push(format!(
                "{n} threads submitted GPU work, more than the {} the soak and the pools have",
                r.submitting_threads_allowed
            ));
        }
    }
    if r.teardown_seconds > TEARDOWN_LIMIT.as_secs_f64() {
        out.push(format!(
            "closing the context took {:.1} s (more than {} s)",
            r.teardown_seconds,
            TEARDOWN_LIMIT.as_secs()
        ));
    }
    if r.jobs == 0 {
        out.push("no job ran".to_owned());
    }
    out
}

/// The longest a healthy context takes to close: 0.3 s on the H200 and 20 ms on lavapipe
/// (2026-11-29); a thread per job made it minutes on the H200.
const TEARDOWN_LIMIT: Duration = Duration::from_secs(10);

/// The human-readable report.
fn summary(r: &SoakReport, holders: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "soak: {} jobs in {:.1} s, {:.0} jobs/s, {} threads, seed {} (after a warm-up of {} jobs in {:.1} s)",
        r.jobs - r.warm_up_jobs,
        r.seconds,
        r.jobs_per_second,
        r.threads,
        r.seed,
        r.warm_up_jobs,
        r.warm_up_seconds
    );
    let _ = writeln!(s, "jobs checked: {} ({} elements)", r.jobs, r.elements);
    let _ = writeln!(
        s,
        "{:<9} {:<13} {:<8} {:>10}",
        "kind", "asked", "route", "jobs"
    );
    for c in &r.jobs_by_route {
        let kind = format!("{:?}", c.kind).to_lowercase();
        let _ = writeln!(s, "{kind:<9} {:<13} {:<8} {:>10}", c.mode, c.route, c.jobs);
    }
    let list = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "by program: {}", list(&r.jobs_by_program));
    let refused: u64 = r.invalid_jobs_refused.values().sum();
    let _ = writeln!(
        s,
        "invalid jobs refused with the right error (expected failures): {refused} ({})",
        list(&r.invalid_jobs_refused)
    );
    let _ = writeln!(s, "unexpected failures: {}", r.unexpected_failures);
    let _ = writeln!(s, "mismatches: {}", r.mismatches);
    let _ = writeln!(s, "router: {}", r.router_stats);
    match r.live_allocations_after_drop {
        Some(live) => {
            let _ = writeln!(
                s,
                "validation messages: {}{}",
                r.validation_messages.len(),
                if r.validation_layer {
                    ""
                } else {
                    " (layer off)"
                }
            );
            for m in r.validation_messages.iter().take(EXAMPLES) {
                let _ = writeln!(s, "  {m}");
            }
            let _ = writeln!(
                s,
                "device allocations live after the context dropped: {live}"
            );
            let _ = writeln!(
                s,
                "threads that submitted GPU work: {} (at most {} expected); context closed in {:.2} s",
                r.submitting_threads.unwrap_or(0),
                r.submitting_threads_allowed,
                r.teardown_seconds
            );
            let mib = |b: Option<u64>| b.unwrap_or(0) as f64 / f64::from(1 << 20);
            let _ = writeln!(
                s,
                "pool at the end: {:.1} MiB idle, {:.1} MiB in use",
                mib(r.pool_idle_bytes),
                mib(r.pool_in_use_bytes)
            );
        }
        None => {
            let _ = writeln!(s, "no GPU: no validation, allocation or pool checks");
        }
    }
    for e in &r.examples {
        let _ = writeln!(s, "{e}");
    }
    let problems = problems(r, holders);
    if problems.is_empty() {
        let _ = writeln!(s, "soak: PASSED");
    } else {
        let _ = writeln!(s, "soak: FAILED: {}", problems.join("; "));
    }
    s
}
