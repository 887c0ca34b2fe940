//! The router: runs each Fq job where it is predicted to finish first, falls back to the
//! CPU when the GPU fails, and returns the same bits whatever the route.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use field_bls12::{FieldError, Fq, FqGpu, FqProgram, HostFqVec};
use vk_backend::{Context, ContextConfig};

use crate::cost::{CostModel, CostParams, Device, JobShape, Place};

/// Environment variable forcing the policy: `cpu`, `gpu`, `auto`, or `off` (CPU only, and
/// the GPU is not even opened).
pub const ENV_BACKEND: &str = "HYBRID_EXEC_BACKEND";

/// Which device runs a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Always the CPU.
    Cpu,
    /// Always the GPU (the CPU only when the GPU fails).
    Gpu,
    /// Where the cost model predicts the job finishes first, or both at once for large jobs.
    Auto,
}

/// Errors of the router: only bad input (the route never turns a success into an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// The job itself is invalid (wrong number of inputs, lengths differ, ...).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// An environment variable has a value the router does not understand.
    #[error("{name}={value:?} is not one of cpu, gpu, auto, off")]
    BadEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
}

/// How to build a [`Router`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RouterConfig {
    /// The default policy for [`Router::run`].
    pub policy: Policy,
    /// Whether to open the GPU at all.
    pub use_gpu: bool,
    /// Jobs of at least this many elements may be split between CPU and GPU. Off
    /// (`usize::MAX`) by default: measured on the H100 host (2026-11-21), splitting 16Mi
    /// host-slice jobs ran 3-6x slower than the better device alone, because both halves
    /// compete for the same cores and memory bandwidth (the GPU half's host copies and
    /// checks run on the CPU too).
    pub co_execute_above: usize,
    /// The same for jobs on host vectors ([`Router::run_host`]), where nothing is copied:
    /// from 1Mi elements by default (H100 host, 2026-11-21, 16Mi add: 1.26-1.39x faster
    /// than the GPU alone; a mul, whose GPU part is PCIe-bound, gained nothing, and the
    /// model then keeps it whole).
    pub co_execute_host_above: usize,
    /// The cost model's cold-start parameters.
    pub cost: CostParams,
    /// Where calibration profiles live (`None`: no profile is read or written).
    pub profile_dir: Option<std::path::PathBuf>,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            policy: Policy::Auto,
            use_gpu: true,
            co_execute_above: usize::MAX,
            co_execute_host_above: 1 << 20,
            cost: CostParams::default(),
            profile_dir: None,
        }
    }
}

impl RouterConfig {
    /// The defaults, with [`ENV_BACKEND`] applied.
    ///
    /// # Errors
    /// [`RouterError::BadEnv`] for a value that is not understood.
    pub fn from_env() -> Result<Self, RouterError> {
        let mut c = match std::env::var(ENV_BACKEND) {
            Ok(v) => Self::default().with_backend(&v)?,
            Err(_) => Self::default(),
        };
        c.profile_dir = crate::profile::default_dir();
        Ok(c)
    }

    /// The same config with the policy an [`ENV_BACKEND`] value names.
    ///
    /// # Errors
    /// [`RouterError::BadEnv`] for a value that is not understood.
    pub fn with_backend(mut self, value: &str) -> Result<Self, RouterError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => self.policy = Policy::Auto,
            "cpu" => self.policy = Policy::Cpu,
            "gpu" => self.policy = Policy::Gpu,
            "off" => {
                self.policy = Policy::Cpu;
                self.use_gpu = false;
            }
            _ => {
                return Err(RouterError::BadEnv {
                    name: ENV_BACKEND,
                    value: value.to_owned(),
                })
            }
        }
        Ok(self)
    }
}

/// Where one job went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// All on the CPU.
    Cpu,
    /// All on the GPU.
    Gpu,
    /// The first `gpu_len` elements on the GPU, the rest on the CPU, at the same time.
    Split {
        /// Elements given to the GPU.
        gpu_len: usize,
    },
}

/// Counters, readable at run time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Jobs run on the CPU only.
    pub cpu_jobs: u64,
    /// Jobs run on the GPU only.
    pub gpu_jobs: u64,
    /// Jobs split between both.
    pub split_jobs: u64,
    /// GPU attempts that failed (each recomputed on the CPU).
    pub gpu_failures: u64,
    /// The last GPU failure, for operators.
    pub last_failure: Option<String>,
}

/// Runs Fq programs on the CPU, the GPU or both. `Send + Sync`: share it between threads.
#[derive(Debug)]
pub struct Router {
    policy: Policy,
    gpu: Option<FqGpu>,
    /// Why there is no GPU, when there is none.
    no_gpu_reason: Option<String>,
    /// Set once the device is lost: no more GPU work is offered.
    gpu_disabled: AtomicBool,
    model: Mutex<CostModel>,
    /// Jobs per route (CPU, GPU, split) and GPU failures: atomics, because a 1-element
    /// job takes ~100 ns and a lock per job would be a measurable part of it.
    counts: [AtomicU64; 4],
    /// The last GPU failure, for operators.
    last_failure: Mutex<Option<String>>,
    /// Predicted GPU nanoseconds of jobs running now (work already queued ahead of a new one).
    gpu_in_flight_ns: AtomicU64,
    /// The same for the CPU: concurrent CPU jobs share one rayon pool, so they queue too.
    cpu_in_flight_ns: AtomicU64,
    /// Jobs started on either device so far: a job that finds it unchanged at its end ran
    /// without another job starting beside it ([`Router::learn`]).
    starts: AtomicU64,
    co_execute_above: usize,
    co_execute_host_above: usize,
    /// The calibration profile of this device (path and key), when profiles are on.
    profile: Option<(std::path::PathBuf, crate::profile::ProfileKey)>,
    /// What happened to the profile when the router started.
    profile_status: String,
}

/// Below this many elements every job runs on the CPU without consulting the model: the
/// GPU's floor (an empty submission and wait, ~11 us on the H100) is more than the CPU needs
/// for 256 elements of even a 10-op chain (~8 us on 16 cores), and for jobs this small the
/// model's bookkeeping (~0.2 us) would be half the cost (measured by `hybrid-exec scan`).
pub const MIN_GPU_LEN: usize = 256;

/// The least predicted speed-up over the better device alone for which [`Policy::Auto`]
/// splits a job (see [`Router::plan`]).
pub const MIN_SPLIT_GAIN: f64 = 1.3;

/// What else was running around a job: predicted ns in flight on its device and on the
/// other one when it started, and whether another job started before it ended.
#[derive(Clone, Copy, Debug)]
struct Load {
    ahead: u64,
    beside: u64,
    joined: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Router {
    /// A router per `config`, opening the best Vulkan device (per `vk_backend`'s
    /// environment variables). Never fails for want of a GPU: it then runs everything on
    /// the CPU and [`Router::gpu_status`] says why.
    pub fn new(config: &RouterConfig) -> Self {
        let (gpu, reason) = if config.use_gpu {
            match ContextConfig::from_env()
                .and_then(|c| Context::new(&c))
                .map_err(FieldError::from)
                .and_then(|ctx| FqGpu::new(Arc::new(ctx)))
            {
                Ok(g) => (Some(g), None),
                Err(e) => (None, Some(e.to_string())),
            }
        } else {
            (None, Some(format!("turned off ({ENV_BACKEND}=off)")))
        };
        Self::assemble(config, gpu, reason)
    }

    /// A router over an already opened GPU (or none).
    pub fn with_gpu(config: &RouterConfig, gpu: Option<FqGpu>) -> Self {
        let reason = gpu.is_none().then(|| "no GPU given".to_owned());
        Self::assemble(config, gpu, reason)
    }

    fn assemble(config: &RouterConfig, gpu: Option<FqGpu>, no_gpu_reason: Option<String>) -> Self {
        let mut model = CostModel::new(config.cost);
        let profile = match (&gpu, &config.profile_dir) {
            (Some(g), Some(dir)) => {
                let info = g.context().info();
                let key = crate::profile::ProfileKey {
                    device_uuid: info.uuid,
                    driver_version: info.driver_version,
                    crate_version: env!("CARGO_PKG_VERSION").to_owned(),
                    kernels: field_bls12::kernels_fingerprint(),
                };
                Some((key.path_in(dir), key))
            }
            _ => None,
        };
        let profile_status = match &profile {
            None => "no profile (no GPU or profiles off)".to_owned(),
            Some((path, _)) if !path.exists() => format!(
                "no profile yet at {} (run `hybrid-exec calibrate`)",
                path.display()
            ),
            Some((path, key)) => match crate::profile::load(path, key, &mut model) {
                Ok(()) => format!("loaded {}", path.display()),
                Err(why) => {
                    eprintln!("hybrid-exec: ignoring calibration profile {why}");
                    format!("ignored {why}")
                }
            },
        };
        Self {
            profile,
            profile_status,
            policy: config.policy,
            gpu,
            no_gpu_reason,
            gpu_disabled: AtomicBool::new(false),
            model: Mutex::new(model),
            counts: Default::default(),
            last_failure: Mutex::default(),
            gpu_in_flight_ns: AtomicU64::new(0),
            cpu_in_flight_ns: AtomicU64::new(0),
            starts: AtomicU64::new(0),
            co_execute_above: config.co_execute_above,
            co_execute_host_above: config.co_execute_host_above,
        }
    }

    /// The GPU in use (its device name), or why none is.
    pub fn gpu_status(&self) -> Result<String, String> {
        match (&self.gpu, self.gpu_disabled.load(Ordering::Acquire)) {
            (Some(g), false) => Ok(g.context().info().name.clone()),
            (Some(g), true) => Err(format!(
                "{} was lost; the CPU runs everything",
                g.context().info().name
            )),
            (None, _) => Err(self.no_gpu_reason.clone().unwrap_or_default()),
        }
    }

    /// The GPU, when it is usable.
    pub fn gpu(&self) -> Option<&FqGpu> {
        self.gpu
            .as_ref()
            .filter(|_| !self.gpu_disabled.load(Ordering::Acquire))
    }

    /// What happened to the calibration profile at start.
    pub fn profile_status(&self) -> &str {
        &self.profile_status
    }

    /// Saves what the cost model has learned as this device's calibration profile.
    ///
    /// # Errors
    /// Why it could not: no GPU, profiles off, or the I/O error.
    pub fn save_profile(&self) -> Result<std::path::PathBuf, String> {
        let (path, key) = self
            .profile
            .as_ref()
            .ok_or("no profile: no GPU or profiles are off")?;
        crate::profile::save(path, key, &lock(&self.model))?;
        Ok(path.clone())
    }

    /// Predicted times of `program` over `len` elements on (CPU, GPU), for reports.
    pub fn predict(&self, program: &FqProgram, len: usize) -> (Duration, Duration) {
        let shape = Self::shape(program, len, Place::Slices);
        let m = lock(&self.model);
        (m.predict(Device::Cpu, shape), m.predict(Device::Gpu, shape))
    }

    /// The learned load factors of `device`, for reports: (queue factor, beside factor)
    /// ([`CostModel::queue_factor`], [`CostModel::beside_factor`]).
    pub fn load_factors(&self, device: Device) -> (f64, f64) {
        let m = lock(&self.model);
        (m.queue_factor(device), m.beside_factor(device))
    }

    /// The counters so far.
    pub fn stats(&self) -> RouterStats {
        let [cpu_jobs, gpu_jobs, split_jobs, gpu_failures] =
            self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        RouterStats {
            cpu_jobs,
            gpu_jobs,
            split_jobs,
            gpu_failures,
            last_failure: lock(&self.last_failure).clone(),
        }
    }

    /// Counts a job taking `route`.
    fn count(&self, route: Route) {
        let i = match route {
            Route::Cpu => 0,
            Route::Gpu => 1,
            Route::Split { .. } => 2,
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    fn shape(program: &FqProgram, len: usize, place: Place) -> JobShape {
        let muls = program.multiplications();
        JobShape {
            len,
            inputs: program.inputs(),
            muls,
            linear: program.len() - muls,
            place,
        }
    }

    /// The route [`Policy::Auto`] picks for `program` over `len` elements now: each device's
    /// predicted completion (its own time after the work already in flight on it: jobs from
    /// other threads queue on the GPU and share the CPU's one thread pool), and a split in
    /// proportion to their speeds when both would take long enough to share.
    pub fn plan(&self, program: &FqProgram, len: usize) -> Route {
        self.plan_for(program, len, Place::Slices)
    }

    /// [`Router::plan`] for data in `place`.
    fn plan_for(&self, program: &FqProgram, len: usize, place: Place) -> Route {
        if self.gpu().is_none() || len < MIN_GPU_LEN {
            return Route::Cpu;
        }
        let shape = Self::shape(program, len, place);
        let co_execute_above = match place {
            Place::Slices => self.co_execute_above,
            Place::HostVectors => self.co_execute_host_above,
        };
        let (cpu, gpu) = {
            // Work in flight on a device delays a new job there by the device's learned
            // queue factor (GPU jobs from several threads overlap, CPU jobs queue for one
            // thread pool); work on the other device slows it by its beside factor.
            let cpu_ahead = Duration::from_nanos(self.cpu_in_flight_ns.load(Ordering::Relaxed));
            let gpu_ahead = Duration::from_nanos(self.gpu_in_flight_ns.load(Ordering::Relaxed));
            let m = lock(&self.model);
            (
                m.predict_loaded(Device::Cpu, shape, cpu_ahead, !gpu_ahead.is_zero()),
                m.predict_loaded(Device::Gpu, shape, gpu_ahead, !cpu_ahead.is_zero()),
            )
        };
        if len >= co_execute_above {
            // Rates add: give the GPU the share that makes both finish together, when that
            // promises enough: both halves share the host's memory bandwidth, so a split
            // gains less than the rates alone predict (H100 host, 16Mi from host vectors:
            // an add predicted 1.61x faster than the GPU alone ran 1.22-1.39x; a mul
            // predicted 1.19x ran 0.90-0.97x).
            let (c, g) = (cpu.as_secs_f64(), gpu.as_secs_f64());
            let share = c / (c + g);
            let gain = c.min(g) / (c * g / (c + g));
            if (0.1..=0.9).contains(&share) && gain >= MIN_SPLIT_GAIN {
                return Route::Split {
                    gpu_len: ((len as f64 * share) as usize).clamp(1, len - 1),
                };
            }
        }
        if gpu < cpu {
            Route::Gpu
        } else {
            Route::Cpu
        }
    }

    /// Runs `program` on `inputs` under the router's policy.
    ///
    /// # Errors
    /// [`RouterError::Field`] for an invalid job only: GPU failures are recomputed on the
    /// CPU (logged once, counted in [`Router::stats`]).
    pub fn run(
        &self,
        program: &FqProgram,
        inputs: &[&[Fq]],
    ) -> Result<(Vec<Fq>, Route), RouterError> {
        self.run_with(self.policy, program, inputs)
    }

    /// Runs `program` under `policy` for this call.
    ///
    /// # Errors
    /// As [`Router::run`].
    pub fn run_with(
        &self,
        policy: Policy,
        program: &FqProgram,
        inputs: &[&[Fq]],
    ) -> Result<(Vec<Fq>, Route), RouterError> {
        // Invalid jobs fail the same way whatever the route: check on the CPU's terms first.
        if inputs.len() != program.inputs() || inputs.iter().any(|x| x.len() != inputs[0].len()) {
            // The CPU path reports exactly what is wrong (and never needs the GPU).
            return Ok((program.run_cpu(inputs)?, Route::Cpu));
        }
        let len = inputs[0].len();
        if len < MIN_GPU_LEN && policy != Policy::Gpu {
            // Straight to the CPU: the model is not asked about jobs this small, and its
            // bookkeeping would be a tenth of a 1-element job.
            self.count(Route::Cpu);
            return Ok((program.run_cpu(inputs)?, Route::Cpu));
        }
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu if self.gpu().is_some() => Route::Gpu,
            Policy::Gpu => Route::Cpu,
            Policy::Auto => self.plan(program, len),
        };
        Ok((self.execute(route, program, inputs)?, route))
    }

    /// Runs `program` along `route` (for tests and benchmarks that force one).
    ///
    /// # Errors
    /// As [`Router::run`].
    pub fn execute(
        &self,
        route: Route,
        program: &FqProgram,
        inputs: &[&[Fq]],
    ) -> Result<Vec<Fq>, RouterError> {
        let len = inputs.first().map_or(0, |x| x.len());
        let out = match route {
            Route::Cpu => {
                self.count(route);
                self.on_cpu(program, inputs)?
            }
            Route::Gpu => {
                self.count(route);
                match self.on_gpu(program, inputs) {
                    Some(v) => v,
                    None => self.on_cpu(program, inputs)?,
                }
            }
            Route::Split { gpu_len } => {
                self.count(route);
                let k = gpu_len.min(len);
                let (head, tail): (Vec<&[Fq]>, Vec<&[Fq]>) =
                    inputs.iter().map(|x| x.split_at(k)).unzip();
                let (gpu_part, cpu_part) = std::thread::scope(|s| {
                    let gpu = s.spawn(|| self.on_gpu(program, &head));
                    let cpu = self.on_cpu(program, &tail);
                    (gpu.join().unwrap_or(None), cpu)
                });
                let mut out = match gpu_part {
                    Some(v) => v,
                    None => self.on_cpu(program, &head)?,
                };
                out.extend(cpu_part?);
                out
            }
        };
        Ok(out)
    }

    /// Runs `program` from host vectors into `out` under `policy`, in place: on the CPU
    /// (all cores), on the GPU ([`FqProgram::run_gpu_host`]) or both at once
    /// ([`FqProgram::run_split_host`]), priced for data the GPU reaches without copies.
    /// Returns the route taken. A GPU failure is recomputed on the CPU (logged once,
    /// counted), as for [`Router::run`].
    ///
    /// # Errors
    /// [`RouterError::Field`] for an invalid job (nothing is written), or when the vectors'
    /// memory cannot be reached after a GPU failure.
    pub fn run_host(
        &self,
        policy: Policy,
        program: &FqProgram,
        inputs: &[&HostFqVec],
        out: &mut HostFqVec,
    ) -> Result<Route, RouterError> {
        program.check_host_job(inputs, out)?;
        let len = out.len();
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu if self.gpu().is_some() => Route::Gpu,
            Policy::Gpu => Route::Cpu,
            Policy::Auto => self.plan_for(program, len, Place::HostVectors),
        };
        let shape = Self::shape(program, len, Place::HostVectors);
        let Some(gpu) = self.gpu() else {
            self.count(Route::Cpu);
            return Ok(cpu_on_host_vectors(program, inputs, out).map(|()| Route::Cpu)?);
        };
        let (gpu_len, device) = match route {
            Route::Cpu => (0, Some(Device::Cpu)),
            Route::Gpu => (len, Some(Device::Gpu)),
            Route::Split { gpu_len } => (gpu_len.min(len), None),
        };
        self.count(route);
        let start = Instant::now();
        match program.run_split_host(gpu, inputs, out, gpu_len) {
            Ok(()) => {
                if let Some(device) = device.filter(|_| len >= MIN_GPU_LEN) {
                    lock(&self.model).observe(device, shape, start.elapsed());
                }
                Ok(route)
            }
            Err(e @ (FieldError::InvalidProgram(_) | FieldError::LengthMismatch { .. })) => {
                Err(e.into())
            }
            Err(e) => {
                self.record_failure(&e);
                cpu_on_host_vectors(program, inputs, out)?;
                Ok(Route::Cpu)
            }
        }
    }

    fn on_cpu(&self, program: &FqProgram, inputs: &[&[Fq]]) -> Result<Vec<Fq>, RouterError> {
        let len = inputs.first().map_or(0, |x| x.len());
        if len < MIN_GPU_LEN {
            return Ok(program.run_cpu(inputs)?); // never routed by the model: nothing to learn
        }
        let shape = Self::shape(program, len, Place::Slices);
        let predicted = lock(&self.model).predict(Device::Cpu, shape).as_nanos() as u64;
        let ahead = self
            .cpu_in_flight_ns
            .fetch_add(predicted, Ordering::Relaxed);
        let beside = self.gpu_in_flight_ns.load(Ordering::Relaxed);
        let mark = self.starts.fetch_add(1, Ordering::Relaxed) + 1;
        let start = Instant::now();
        let out = program.run_cpu(inputs);
        let took = start.elapsed();
        self.cpu_in_flight_ns
            .fetch_sub(predicted, Ordering::Relaxed);
        if out.is_ok() {
            let load = Load {
                ahead,
                beside,
                joined: self.starts.load(Ordering::Relaxed) != mark,
            };
            self.learn(Device::Cpu, shape, predicted, load, took);
        }
        Ok(out?)
    }

    /// The GPU's result, or `None` after a failure (recorded; the caller recomputes).
    fn on_gpu(&self, program: &FqProgram, inputs: &[&[Fq]]) -> Option<Vec<Fq>> {
        let gpu = self.gpu()?;
        let len = inputs.first().map_or(0, |x| x.len());
        let shape = Self::shape(program, len, Place::Slices);
        let predicted = lock(&self.model).predict(Device::Gpu, shape).as_nanos() as u64;
        // Its work in flight is the GPU's only. Its host copies do take cores from CPU jobs
        // beside it, but counting the whole job as CPU work too (as before 2026-11-22)
        // made every running GPU job look like a full CPU job, and the router then sent
        // nearly everything to the GPU; that slowdown is in the CPU's learned queue factor.
        let ahead = self
            .gpu_in_flight_ns
            .fetch_add(predicted, Ordering::Relaxed);
        let beside = self.cpu_in_flight_ns.load(Ordering::Relaxed);
        let mark = self.starts.fetch_add(1, Ordering::Relaxed) + 1;
        let start = Instant::now();
        let result = program.run_gpu(gpu, inputs);
        let took = start.elapsed();
        self.gpu_in_flight_ns
            .fetch_sub(predicted, Ordering::Relaxed);
        match result {
            Ok(v) => {
                let load = Load {
                    ahead,
                    beside,
                    joined: self.starts.load(Ordering::Relaxed) != mark,
                };
                self.learn(Device::Gpu, shape, predicted, load, took);
                Some(v)
            }
            Err(e) => {
                self.record_failure(&e);
                None
            }
        }
    }

    /// Teaches the model a finished job, predicted to take `predicted` ns alone, under
    /// `load`. Only a job that had the machine to itself from start to end is a sample of
    /// its cost: waiting behind other threads' jobs is priced by the in-flight terms, not
    /// twice, and a job on the other device takes cores and memory bandwidth. Jobs that
    /// found work in flight teach the load factors ([`CostModel::observe_loaded`]); a job
    /// that started alone but was joined by another teaches nothing (in the VM-like
    /// example, such "alone" samples of GPU chains slowed 3x by CPU jobs that started
    /// after them moved the bucket's median, and the router then sent every chain to the
    /// CPU for the rest of the run).
    fn learn(&self, device: Device, shape: JobShape, predicted: u64, load: Load, took: Duration) {
        let mut m = lock(&self.model);
        match load {
            Load {
                ahead: 0,
                beside: 0,
                joined: false,
            } => m.observe(device, shape, took),
            Load {
                ahead: 0,
                beside: 0,
                joined: true,
            } => {}
            Load { ahead, beside, .. } => m.observe_loaded(
                device,
                Duration::from_nanos(predicted),
                Duration::from_nanos(ahead),
                beside > 0,
                took,
            ),
        }
    }

    fn record_failure(&self, e: &FieldError) {
        let lost = self.gpu.as_ref().is_some_and(|g| g.context().is_lost());
        *lock(&self.last_failure) = Some(e.to_string());
        let first = self.counts[3].fetch_add(1, Ordering::Relaxed) == 0;
        if lost {
            self.gpu_disabled.store(true, Ordering::Release);
        }
        if first {
            eprintln!(
                "hybrid-exec: a GPU job failed and was recomputed on the CPU: {e}{}",
                if lost {
                    " (device lost: no more GPU work)"
                } else {
                    ""
                }
            );
        }
    }
}

/// `program` on the CPU from host vectors into `out`, through the vectors' own access
/// (copies of the inputs: the path for a router without a GPU, or after a GPU failure).
fn cpu_on_host_vectors(
    program: &FqProgram,
    inputs: &[&HostFqVec],
    out: &mut HostFqVec,
) -> Result<(), FieldError> {
    let copies = inputs
        .iter()
        .map(|v| v.to_vec())
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[Fq]> = copies.iter().map(Vec::as_slice).collect();
    out.write(|o| program.run_cpu_into(&refs, o))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::TRUST_AFTER;

    #[test]
    fn only_jobs_that_ran_alone_from_start_to_end_are_samples() {
        let router = Router::with_gpu(&RouterConfig::default(), None);
        let shape = JobShape {
            len: 1 << 20,
            inputs: 2,
            muls: 5,
            linear: 5,
            place: Place::Slices,
        };
        let alone = Load {
            ahead: 0,
            beside: 0,
            joined: false,
        };
        let joined = Load {
            joined: true,
            ..alone
        };
        let default = lock(&router.model).predict(Device::Gpu, shape);
        // Jobs joined by others (3x slower than the defaults) teach nothing.
        let slow = default * 3;
        for _ in 0..2 * TRUST_AFTER {
            router.learn(Device::Gpu, shape, 0, joined, slow);
        }
        assert!(!lock(&router.model).trusted(Device::Gpu, shape));
        assert_eq!(lock(&router.model).predict(Device::Gpu, shape), default);
        // Jobs alone throughout do (the first of a bucket is dropped as cold).
        let fast = default / 2;
        for _ in 0..=TRUST_AFTER {
            router.learn(Device::Gpu, shape, 0, alone, fast);
        }
        let m = lock(&router.model);
        assert!(m.trusted(Device::Gpu, shape));
        let predicted = m.predict(Device::Gpu, shape).as_secs_f64();
        assert!(
            (predicted / fast.as_secs_f64() - 1.0).abs() < 1e-3,
            "{predicted}"
        );
    }
}
