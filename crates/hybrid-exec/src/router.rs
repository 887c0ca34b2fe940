//! The router: runs each Fq job and each multi-scalar multiplication where it is predicted
//! to finish first, falls back to the CPU when the GPU fails, keeps a failing GPU out of
//! routing for a while (the circuit breaker), and returns the same result whatever the
//! route.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use curve_bls12::{
    CurveError, G1Affine, G1Gpu, G1Projective, G2Affine, G2Gpu, G2Projective, GpuError, Scalar,
};
use field_bls12::{FieldError, Fq, FqGpu, FqProgram, FqProgramBuilder, HostFqVec, Value};
use vk_backend::{Context, ContextConfig};

mod f32_jobs;

pub use f32_jobs::{F32Job, F32Output};

use crate::breaker::{Breaker, BreakerConfig, BreakerState, Pass, Trip};
use crate::cost::{CostModel, CostParams, Device, JobShape, Op, Place};
use crate::profile::{ProfileError, ProfileKey};

/// Environment variable forcing the policy: `cpu`, `gpu`, `auto`, or `off` (CPU only, and
/// the GPU is not even opened).
pub const ENV_BACKEND: &str = "HYBRID_EXEC_BACKEND";

/// Which device runs a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Always the CPU.
    Cpu,
    /// Always the GPU (the CPU only when the GPU fails, is out of routing or lost).
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
    /// The MSM itself is invalid: points and scalars of different lengths
    /// ([`CurveError::LengthMismatch`], op `msm_g1` or `msm_g2`).
    #[error(transparent)]
    Curve(#[from] CurveError),
    /// The f32 job itself is invalid: lengths or matrix shapes that do not match
    /// ([`Router::f32`]).
    #[error(transparent)]
    F32(#[from] f32_ops::F32Error),
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
    /// The default policy for [`Router::run`] and the single operations ([`Router::add`],
    /// ...).
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
    /// MSMs ([`Router::msm_g1`], [`Router::msm_g2`]) of at least this many points may be
    /// split between CPU and GPU: from 64Ki by default. Not a measured threshold: GPU MSM
    /// had not run on the reference machine when MSM routing was written. An MSM does a
    /// few hundred field multiplications per point it moves (an Fq job from slices one or
    /// a few per element), so its two shares should compete for the host's memory
    /// bandwidth far less than an Fq job's; the model splits only where it predicts a gain
    /// ([`Router::plan_msm`]), which it cannot before GPU MSMs of that size have been
    /// observed. `usize::MAX`: never.
    pub co_execute_msm_above: usize,
    /// When a failing GPU is taken out of routing, and for how long.
    pub breaker: BreakerConfig,
    /// Where calibration profiles live (`None`: no profile is read or written).
    pub profile_dir: Option<std::path::PathBuf>,
    /// The cost model's cold-start parameters (tuning constants, not API).
    pub(crate) cost: CostParams,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            policy: Policy::Auto,
            use_gpu: true,
            co_execute_above: usize::MAX,
            co_execute_host_above: 1 << 20,
            co_execute_msm_above: 1 << 16,
            breaker: BreakerConfig::default(),
            profile_dir: None,
            cost: CostParams::default(),
        }
    }
}

impl RouterConfig {
    /// The defaults, with [`ENV_BACKEND`] applied and profiles in the directory
    /// [`ENV_PROFILE`](crate::ENV_PROFILE) names.
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

/// Where one job ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// All on the CPU, as planned (or because the GPU was out of routing, lost or absent;
    /// it was not touched).
    Cpu,
    /// All on the GPU.
    Gpu,
    /// The first `gpu_len` elements (an MSM's points and scalars) on the GPU, the rest on
    /// the CPU, at the same time.
    Split {
        /// Elements given to the GPU.
        gpu_len: usize,
    },
    /// The job (or its GPU share) went to the GPU, which failed; the CPU computed all of
    /// it. As a route to force ([`Router::execute`]), the same as [`Route::Cpu`].
    CpuFallback,
}

/// Counters, readable at run time. Every job that completed (an Fq job or an MSM) is
/// counted once, under the route that ran ([`Route`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouterStats {
    /// Jobs run on the CPU only ([`Route::Cpu`]).
    pub cpu_jobs: u64,
    /// Jobs run on the GPU only ([`Route::Gpu`]).
    pub gpu_jobs: u64,
    /// Jobs split between both ([`Route::Split`]).
    pub split_jobs: u64,
    /// Jobs whose GPU work failed and that the CPU recomputed ([`Route::CpuFallback`]).
    pub fallback_jobs: u64,
    /// GPU attempts that failed.
    pub gpu_failures: u64,
    /// The last GPU failure, for operators.
    pub last_failure: Option<String>,
    /// The circuit breaker now.
    pub breaker: BreakerState,
    /// How many times the breaker has taken the GPU out of routing.
    pub breaker_trips: u64,
}

/// Whether the router's GPU takes jobs, and if not why ([`Router::gpu_status`]). Its
/// `Display` is one line for operators.
///
/// ```
/// use hybrid_exec::{GpuStatus, Router, RouterConfig};
/// let router = Router::with_gpu(&RouterConfig::default(), None);
/// assert_eq!(router.gpu_status(), GpuStatus::Off);
/// assert_eq!(router.gpu_status().to_string(), "turned off");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuStatus {
    /// In service.
    Ready {
        /// The device's name.
        name: String,
    },
    /// Out of routing after repeated failures (the circuit breaker is open): jobs run on
    /// the CPU until a probe job finds the GPU working again.
    CircuitOpen {
        /// The device's name.
        name: String,
        /// When the next probe is due (zero: due now, or running).
        retry_in: Duration,
    },
    /// The device was lost: the CPU runs everything from now on (a new router opens a new
    /// device).
    Lost {
        /// The device's name.
        name: String,
    },
    /// No GPU could be opened.
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The router was built without a GPU ([`RouterConfig::use_gpu`], [`ENV_BACKEND`]
    /// `=off`, or [`Router::with_gpu`] given none).
    Off,
}

impl GpuStatus {
    /// Whether the GPU takes jobs now.
    pub fn is_ready(&self) -> bool {
        matches!(self, GpuStatus::Ready { .. })
    }
}

impl fmt::Display for GpuStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuStatus::Ready { name } => write!(f, "{name}"),
            GpuStatus::CircuitOpen { name, retry_in } => write!(
                f,
                "{name} is out of routing after repeated failures (the CPU runs its jobs); \
                 next probe in {retry_in:.1?}"
            ),
            GpuStatus::Lost { name } => write!(f, "{name} was lost; the CPU runs everything"),
            GpuStatus::Unavailable { reason } => write!(f, "unavailable: {reason}"),
            GpuStatus::Off => write!(f, "turned off"),
        }
    }
}

/// The group of a multi-scalar multiplication ([`Router::plan_msm`],
/// [`Router::predict_msm`], [`Router::msm_gpu_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MsmGroup {
    /// G1 ([`Router::msm_g1`]).
    G1,
    /// G2 ([`Router::msm_g2`]).
    G2,
}

impl MsmGroup {
    fn op(self) -> Op {
        match self {
            MsmGroup::G1 => Op::MsmG1,
            MsmGroup::G2 => Op::MsmG2,
        }
    }

    fn batch_op(self) -> Op {
        match self {
            MsmGroup::G1 => Op::MsmBatchG1,
            MsmGroup::G2 => Op::MsmBatchG2,
        }
    }

    fn subgroup_op(self) -> Op {
        match self {
            MsmGroup::G1 => Op::SubgroupG1,
            MsmGroup::G2 => Op::SubgroupG2,
        }
    }
}

impl fmt::Display for MsmGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MsmGroup::G1 => "G1",
            MsmGroup::G2 => "G2",
        })
    }
}

/// How much work in flight slows a new job, per device, as the router has learned it
/// ([`Router::load_factors`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct LoadFactors {
    /// How much of the CPU work already in flight delays a new CPU job (1: jobs queue for
    /// the one thread pool).
    pub cpu_queue: f64,
    /// How much slower a CPU job runs while the GPU has work in flight.
    pub cpu_beside: f64,
    /// How much of the GPU work already in flight delays a new GPU job (below 1 where jobs
    /// from several threads overlap).
    pub gpu_queue: f64,
    /// How much slower a GPU job runs while the CPU has work in flight.
    pub gpu_beside: f64,
}

/// The one-operation programs behind [`Router::add`] and its siblings.
#[derive(Debug)]
struct Ops {
    add: FqProgram,
    sub: FqProgram,
    mul: FqProgram,
    square: FqProgram,
    neg: FqProgram,
    double: FqProgram,
    fma: FqProgram,
}

impl Ops {
    fn new() -> Self {
        fn build(
            inputs: usize,
            f: impl FnOnce(&mut FqProgramBuilder, &[Value]) -> Value,
        ) -> FqProgram {
            let mut p = FqProgram::builder();
            let ins: Vec<Value> = (0..inputs).map(|_| p.input()).collect();
            let out = f(&mut p, &ins);
            p.build(out)
                .expect("one or two operations on declared inputs make a valid program")
        }
        Self {
            add: build(2, |p, x| p.add(x[0], x[1])),
            sub: build(2, |p, x| p.sub(x[0], x[1])),
            mul: build(2, |p, x| p.mul(x[0], x[1])),
            square: build(1, |p, x| p.square(x[0])),
            neg: build(1, |p, x| p.neg(x[0])),
            double: build(1, |p, x| p.double(x[0])),
            fma: build(3, |p, x| {
                let product = p.mul(x[0], x[1]);
                p.add(product, x[2])
            }),
        }
    }
}

/// The curve kernels for MSM, built from the GPU's context by the first MSM that would use
/// them: the kernels, or why they could not be built (then that group's MSMs run on the
/// CPU, and [`Router::msm_gpu_status`] says why).
#[derive(Debug, Default)]
pub(crate) struct CurveGpus {
    g1: OnceLock<Result<G1Gpu, String>>,
    g2: OnceLock<Result<G2Gpu, String>>,
}

/// One group's MSM on either device, for the router's one MSM path.
pub(crate) trait Msm {
    type Affine: Sync;
    type Projective: Send + Sync;
    type Gpu: Sync;
    const GROUP: MsmGroup;
    /// The op in errors, as `curve_bls12`'s CPU MSM names it.
    const NAME: &'static str;
    /// The batch's op in errors.
    const BATCH_NAME: &'static str;
    fn cpu(points: &[Self::Affine], scalars: &[Scalar]) -> Result<Self::Projective, CurveError>;
    fn gpu(
        gpu: &Self::Gpu,
        points: &[Self::Affine],
        scalars: &[Scalar],
    ) -> Result<Self::Projective, GpuError>;
    /// Many MSMs in one GPU submission.
    fn gpu_batch(
        gpu: &Self::Gpu,
        msms: &[(&[Self::Affine], &[Scalar])],
    ) -> Result<Vec<Self::Projective>, GpuError>;
    /// The GPU's batch with each MSM's subgroup flag (`msm_batch_checked`).
    #[allow(clippy::type_complexity)]
    fn gpu_batch_checked(
        gpu: &Self::Gpu,
        msms: &[(&[Self::Affine], &[Scalar])],
    ) -> Result<(Vec<Self::Projective>, Vec<bool>), GpuError>;
    /// Whether a point is in the prime-order subgroup (blst's check).
    fn in_subgroup(point: &Self::Affine) -> bool;
    /// The GPU's subgroup check of every point: the first index outside, if any.
    fn gpu_first_outside_subgroup(
        gpu: &Self::Gpu,
        points: &[Self::Affine],
    ) -> Result<Option<usize>, GpuError>;
    fn build(ctx: Arc<Context>) -> Result<Self::Gpu, GpuError>;
    fn slot(gpus: &CurveGpus) -> &OnceLock<Result<Self::Gpu, String>>;
    fn sum(a: &Self::Projective, b: &Self::Projective) -> Self::Projective;
}

pub(crate) enum G1 {}
pub(crate) enum G2 {}

macro_rules! msm_group {
    ($G:ident, $Affine:ident, $Projective:ident, $Gpu:ident, $cpu:ident, $slot:ident) => {
        impl Msm for $G {
            type Affine = $Affine;
            type Projective = $Projective;
            type Gpu = $Gpu;
            const GROUP: MsmGroup = MsmGroup::$G;
            const NAME: &'static str = stringify!($cpu);
            const BATCH_NAME: &'static str = concat!(stringify!($cpu), "_batch");
            fn cpu(points: &[$Affine], scalars: &[Scalar]) -> Result<$Projective, CurveError> {
                curve_bls12::$cpu(points, scalars)
            }
            fn gpu(
                gpu: &$Gpu,
                points: &[$Affine],
                scalars: &[Scalar],
            ) -> Result<$Projective, GpuError> {
                gpu.msm(points, scalars)
            }
            fn gpu_batch(
                gpu: &$Gpu,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<Vec<$Projective>, GpuError> {
                gpu.msm_batch(msms)
            }
            fn gpu_batch_checked(
                gpu: &$Gpu,
                msms: &[(&[$Affine], &[Scalar])],
            ) -> Result<(Vec<$Projective>, Vec<bool>), GpuError> {
                gpu.msm_batch_checked(msms)
            }
            fn in_subgroup(point: &$Affine) -> bool {
                point.is_in_subgroup()
            }
            fn gpu_first_outside_subgroup(
                gpu: &$Gpu,
                points: &[$Affine],
            ) -> Result<Option<usize>, GpuError> {
                match gpu.check_subgroup(points) {
                    Ok(()) => Ok(None),
                    Err(GpuError::Curve(CurveError::NotInSubgroup { index: Some(i) })) => {
                        Ok(Some(i))
                    }
                    Err(e) => Err(e),
                }
            }
            fn build(ctx: Arc<Context>) -> Result<$Gpu, GpuError> {
                $Gpu::new(ctx)
            }
            fn slot(gpus: &CurveGpus) -> &OnceLock<Result<$Gpu, String>> {
                &gpus.$slot
            }
            fn sum(a: &$Projective, b: &$Projective) -> $Projective {
                a.add(b)
            }
        }
    };
}

msm_group!(G1, G1Affine, G1Projective, G1Gpu, msm_g1, g1);
msm_group!(G2, G2Affine, G2Projective, G2Gpu, msm_g2, g2);

/// Runs Fq programs and multi-scalar multiplications on the CPU, the GPU or both.
/// `Send + Sync`: share it between threads.
#[derive(Debug)]
pub struct Router {
    pub(crate) policy: Policy,
    gpu: Option<FqGpu>,
    /// The MSM kernels, on `gpu`'s context, built on first use.
    curve: CurveGpus,
    f32_kernels: f32_jobs::F32Slot,
    /// What [`Router::gpu_status`] says when there is no GPU.
    no_gpu: GpuStatus,
    /// Set once the device is lost: no more GPU work is offered.
    gpu_disabled: AtomicBool,
    breaker: Breaker,
    model: Mutex<CostModel>,
    ops: Ops,
    /// Jobs per route ([`Route`] order) and GPU failures: atomics, because a 1-element job
    /// takes ~100 ns and a lock per job would be a measurable part of it.
    counts: [AtomicU64; 5],
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
    co_execute_msm_above: usize,
    /// The calibration profile of this device (path and key), when profiles are on.
    profile: Option<(std::path::PathBuf, ProfileKey)>,
    /// What happened to the profile when the router started.
    profile_status: String,
}

/// Index of the GPU failures in [`Router::counts`], after the four routes.
const FAILURES: usize = 4;

/// Below this many elements every job runs on the CPU without consulting the model: the
/// GPU's floor (an empty submission and wait, ~11 us on the H100) is more than the CPU needs
/// for 256 elements of even a 10-op chain (~8 us on 16 cores), and for jobs this small the
/// model's bookkeeping (~0.2 us) would be half the cost (measured by `hybrid-exec scan`).
///
/// MSMs of fewer points too: the model's smallest size bucket holds every job of up to 256
/// elements, and an MSM's cost per point varies too much below that for one bucket (blst's
/// Pippenger on one point is one scalar multiplication; on 256, 6-bit windows over all of
/// them), and the CPU runs such MSMs in well under the ~1.5 ms of a 1Ki-point G1 MSM on the
/// reference machine.
pub(crate) const MIN_GPU_LEN: usize = 256;

/// The least predicted speed-up over the better device alone for which [`Policy::Auto`]
/// splits a job (see [`Router::plan`]).
pub(crate) const MIN_SPLIT_GAIN: f64 = 1.3;

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

/// The lengths of `inputs` for [`FqProgram::check_job`].
fn lens<'a>(inputs: &'a [&[Fq]]) -> impl ExactSizeIterator<Item = usize> + 'a {
    inputs.iter().map(|x| x.len())
}

/// An MSM's points and scalars are equally many, or [`CurveError::LengthMismatch`] (op
/// `msm_g1` or `msm_g2`, as `curve_bls12` names it).
fn check_msm<G: Msm>(points: &[G::Affine], scalars: &[Scalar]) -> Result<(), RouterError> {
    if points.len() == scalars.len() {
        Ok(())
    } else {
        Err(CurveError::LengthMismatch {
            op: G::NAME,
            left: points.len(),
            right: scalars.len(),
        }
        .into())
    }
}

fn check_lengths(op: &'static str, left: &[Fq], right: &[Fq]) -> Result<(), RouterError> {
    if left.len() == right.len() {
        Ok(())
    } else {
        Err(FieldError::LengthMismatch {
            op,
            left: left.len(),
            right: right.len(),
        }
        .into())
    }
}

impl Router {
    /// A router per `config`, opening the best Vulkan device (per `vk_backend`'s
    /// environment variables). Never fails for want of a GPU: it then runs everything on
    /// the CPU and [`Router::gpu_status`] says why.
    pub fn new(config: &RouterConfig) -> Self {
        if !config.use_gpu {
            return Self::assemble(config, None, GpuStatus::Off);
        }
        match ContextConfig::from_env()
            .and_then(|c| Context::new(&c))
            .map_err(FieldError::from)
            .and_then(|ctx| FqGpu::new(Arc::new(ctx)))
        {
            Ok(g) => Self::assemble(config, Some(g), GpuStatus::Off),
            Err(e) => {
                tracing::info!(error = %e, "no GPU: the CPU runs every job");
                let reason = e.to_string();
                Self::assemble(config, None, GpuStatus::Unavailable { reason })
            }
        }
    }

    /// A router over an already opened GPU (or none: [`GpuStatus::Off`]).
    pub fn with_gpu(config: &RouterConfig, gpu: Option<FqGpu>) -> Self {
        Self::assemble(config, gpu, GpuStatus::Off)
    }

    fn assemble(config: &RouterConfig, gpu: Option<FqGpu>, no_gpu: GpuStatus) -> Self {
        let mut model = CostModel::new(config.cost);
        let profile = match (&gpu, &config.profile_dir) {
            (Some(g), Some(dir)) => {
                let info = g.context().info();
                let key = ProfileKey::new(
                    info.uuid,
                    info.driver_version,
                    // Either crate's kernels changing makes saved timings stale.
                    field_bls12::kernels_fingerprint()
                        ^ curve_bls12::kernels_fingerprint().rotate_left(32),
                );
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
                Err(e) => {
                    if e.is_stale() {
                        tracing::info!(error = %e, "ignoring a calibration profile");
                    } else {
                        tracing::warn!(error = %e, "ignoring a calibration profile");
                    }
                    format!("ignored {e}")
                }
            },
        };
        Self {
            profile,
            profile_status,
            policy: config.policy,
            gpu,
            curve: CurveGpus::default(),
            f32_kernels: f32_jobs::F32Slot::new(),
            no_gpu,
            gpu_disabled: AtomicBool::new(false),
            breaker: Breaker::new(&config.breaker),
            model: Mutex::new(model),
            ops: Ops::new(),
            counts: Default::default(),
            last_failure: Mutex::default(),
            gpu_in_flight_ns: AtomicU64::new(0),
            cpu_in_flight_ns: AtomicU64::new(0),
            starts: AtomicU64::new(0),
            co_execute_above: config.co_execute_above,
            co_execute_host_above: config.co_execute_host_above,
            co_execute_msm_above: config.co_execute_msm_above,
        }
    }

    /// Whether the GPU takes jobs now, and if not why.
    pub fn gpu_status(&self) -> GpuStatus {
        let Some(g) = &self.gpu else {
            return self.no_gpu.clone();
        };
        let name = g.context().info().name.clone();
        if self.gpu_disabled.load(Ordering::Acquire) {
            return GpuStatus::Lost { name };
        }
        match self.breaker.state() {
            BreakerState::Closed { .. } => GpuStatus::Ready { name },
            BreakerState::Open { retry_in, .. } => GpuStatus::CircuitOpen { name, retry_in },
            BreakerState::Probing => GpuStatus::CircuitOpen {
                name,
                retry_in: Duration::ZERO,
            },
        }
    }

    /// The GPU, unless there is none or it was lost: for work the router does not place
    /// (resident vectors, [`FqGpu::upload`]; host vectors, [`FqGpu::alloc_host_vec`]). It
    /// stays here while the circuit breaker keeps it out of routing
    /// ([`Router::gpu_status`]).
    pub fn gpu(&self) -> Option<&FqGpu> {
        self.gpu
            .as_ref()
            .filter(|_| !self.gpu_disabled.load(Ordering::Acquire))
    }

    /// The predicted GPU time of the jobs running now: the queue a new job joins.
    pub(crate) fn gpu_backlog(&self) -> Duration {
        Duration::from_nanos(self.gpu_in_flight_ns.load(Ordering::Relaxed))
    }

    /// The GPU and leave to use it for one job, when the breaker gives it.
    fn claim(&self) -> Option<(&FqGpu, Pass<'_>)> {
        let gpu = self.gpu()?;
        Some((gpu, self.breaker.admit()?))
    }

    /// What happened to the calibration profile at start.
    pub fn profile_status(&self) -> &str {
        &self.profile_status
    }

    /// Saves what the cost model has learned as this device's calibration profile.
    ///
    /// # Errors
    /// [`ProfileError::Off`] without a GPU or with profiles off, [`ProfileError::Io`] when
    /// the file cannot be written.
    pub fn save_profile(&self) -> Result<std::path::PathBuf, ProfileError> {
        let (path, key) = self.profile.as_ref().ok_or(ProfileError::Off)?;
        crate::profile::save(path, key, &lock(&self.model))?;
        Ok(path.clone())
    }

    /// Predicted times of `program` over `len` elements on (CPU, GPU), for reports.
    pub fn predict(&self, program: &FqProgram, len: usize) -> (Duration, Duration) {
        let shape = Self::shape(program, len, Place::Slices);
        let m = lock(&self.model);
        (m.predict(Device::Cpu, shape), m.predict(Device::Gpu, shape))
    }

    /// The learned load factors, for reports.
    pub fn load_factors(&self) -> LoadFactors {
        let m = lock(&self.model);
        LoadFactors {
            cpu_queue: m.queue_factor(Device::Cpu),
            cpu_beside: m.beside_factor(Device::Cpu),
            gpu_queue: m.queue_factor(Device::Gpu),
            gpu_beside: m.beside_factor(Device::Gpu),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> RouterStats {
        let [cpu_jobs, gpu_jobs, split_jobs, fallback_jobs, gpu_failures] =
            self.counts.each_ref().map(|c| c.load(Ordering::Relaxed));
        RouterStats {
            cpu_jobs,
            gpu_jobs,
            split_jobs,
            fallback_jobs,
            gpu_failures,
            last_failure: lock(&self.last_failure).clone(),
            breaker: self.breaker.state(),
            breaker_trips: self.breaker.trips(),
        }
    }

    /// Counts a job that ran along `route`.
    fn count(&self, route: Route) {
        let i = match route {
            Route::Cpu => 0,
            Route::Gpu => 1,
            Route::Split { .. } => 2,
            Route::CpuFallback => 3,
        };
        self.counts[i].fetch_add(1, Ordering::Relaxed);
    }

    fn shape(program: &FqProgram, len: usize, place: Place) -> JobShape {
        let muls = program.multiplications();
        JobShape {
            op: Op::Fq,
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
    /// proportion to their speeds when both would take long enough to share. The CPU
    /// while the GPU is out of routing ([`GpuStatus::CircuitOpen`]) or lost.
    pub fn plan(&self, program: &FqProgram, len: usize) -> Route {
        self.plan_for(program, len, Place::Slices)
    }

    /// [`Router::plan`] for data in `place`.
    fn plan_for(&self, program: &FqProgram, len: usize, place: Place) -> Route {
        if len < MIN_GPU_LEN || self.gpu().is_none() || !self.breaker.routable() {
            return Route::Cpu;
        }
        let co_execute_above = match place {
            Place::Slices => self.co_execute_above,
            Place::HostVectors => self.co_execute_host_above,
        };
        self.plan_shape(Self::shape(program, len, place), co_execute_above)
    }

    /// The route [`Policy::Auto`] picks for a job of `shape` that the GPU could take: the
    /// device predicted to finish first, or a split in proportion to their speeds from
    /// `co_execute_above` elements. The CPU while the model cannot price the job on the GPU
    /// (a GPU MSM of a size not yet observed: [`CostParams`] has no figure for it).
    fn plan_shape(&self, shape: JobShape, co_execute_above: usize) -> Route {
        let len = shape.len;
        let (cpu, gpu) = {
            // Work in flight on a device delays a new job there by the device's learned
            // queue factor (GPU jobs from several threads overlap, CPU jobs queue for one
            // thread pool); work on the other device slows it by its beside factor.
            let cpu_ahead = Duration::from_nanos(self.cpu_in_flight_ns.load(Ordering::Relaxed));
            let gpu_ahead = Duration::from_nanos(self.gpu_in_flight_ns.load(Ordering::Relaxed));
            let m = lock(&self.model);
            if !m.known(Device::Gpu, shape) {
                return Route::Cpu;
            }
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

    /// The route `policy` gives a job of `len` elements in `place`, before the breaker's
    /// say (which [`Router::execute`] and [`Router::run_host`] ask when the job starts).
    fn route_for(&self, policy: Policy, program: &FqProgram, len: usize, place: Place) -> Route {
        match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu if self.gpu().is_some() => Route::Gpu,
            Policy::Gpu => Route::Cpu,
            Policy::Auto => self.plan_for(program, len, place),
        }
    }

    /// Runs `program` on `inputs` under the router's policy. Returns the results and the
    /// route that ran.
    ///
    /// # Errors
    /// [`RouterError::Field`] for an invalid job only: GPU failures are recomputed on the
    /// CPU (logged, counted in [`Router::stats`], reported as [`Route::CpuFallback`]).
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
        // Invalid jobs fail the same way whatever the route, before any is taken.
        let len = program.check_job(lens(inputs))?;
        if len < MIN_GPU_LEN && policy != Policy::Gpu {
            // Straight to the CPU: the model is not asked about jobs this small, and its
            // bookkeeping would be a tenth of a 1-element job.
            self.count(Route::Cpu);
            return Ok((program.run_cpu(inputs)?, Route::Cpu));
        }
        let route = self.route_for(policy, program, len, Place::Slices);
        self.execute(route, program, inputs)
    }

    /// Runs `program` along `route` (for tests and benchmarks that force one;
    /// [`Route::CpuFallback`] is taken as [`Route::Cpu`]). Returns the results and the
    /// route that ran: the CPU when the GPU is out of routing, lost or absent (it is not
    /// touched then), [`Route::CpuFallback`] when it failed.
    ///
    /// # Errors
    /// As [`Router::run`].
    pub fn execute(
        &self,
        route: Route,
        program: &FqProgram,
        inputs: &[&[Fq]],
    ) -> Result<(Vec<Fq>, Route), RouterError> {
        let len = program.check_job(lens(inputs))?;
        let gpu_len = match route {
            Route::Gpu => len,
            Route::Split { gpu_len } => gpu_len.min(len),
            Route::Cpu | Route::CpuFallback => 0,
        };
        let claimed = if gpu_len > 0 { self.claim() } else { None };
        let (out, ran) = match claimed {
            None => (self.on_cpu(program, inputs)?, Route::Cpu),
            Some((gpu, pass)) if gpu_len == len => match self.on_gpu(gpu, pass, program, inputs) {
                Some(v) => (v, Route::Gpu),
                None => (self.on_cpu(program, inputs)?, Route::CpuFallback),
            },
            Some((gpu, pass)) => {
                let (head, tail): (Vec<&[Fq]>, Vec<&[Fq]>) =
                    inputs.iter().map(|x| x.split_at(gpu_len)).unzip();
                // The GPU's share on this thread, the CPU's on the pool: a thread per job
                // would make the NVIDIA driver's unload slow (`Context::submitting_threads`).
                let mut cpu_part = None;
                let gpu_part = rayon::in_place_scope(|s| {
                    s.spawn(|_| cpu_part = Some(self.on_cpu(program, &tail)));
                    self.on_gpu(gpu, pass, program, &head)
                });
                let cpu_part = cpu_part.expect("the scope ran the CPU's share");
                let (mut out, ran) = match gpu_part {
                    Some(v) => (v, Route::Split { gpu_len }),
                    None => (self.on_cpu(program, &head)?, Route::CpuFallback),
                };
                out.extend(cpu_part?);
                (out, ran)
            }
        };
        self.count(ran);
        Ok((out, ran))
    }

    /// Runs `program` from host vectors into `out` under `policy`, in place: on the CPU
    /// (all cores), on the GPU ([`FqProgram::run_gpu_host`]) or both at once
    /// ([`FqProgram::run_split_host`]), priced for data the GPU reaches without copies.
    /// Returns the route that ran. A GPU failure is recomputed on the CPU (logged, counted,
    /// [`Route::CpuFallback`]), as for [`Router::run`].
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
        let Some(gpu) = self.gpu() else {
            cpu_on_host_vectors(program, inputs, out)?;
            self.count(Route::Cpu);
            return Ok(Route::Cpu);
        };
        let gpu_len = match self.route_for(policy, program, len, Place::HostVectors) {
            Route::Gpu => len,
            Route::Split { gpu_len } => gpu_len.min(len),
            Route::Cpu | Route::CpuFallback => 0,
        };
        let pass = if gpu_len > 0 {
            self.breaker.admit()
        } else {
            None
        };
        let (gpu_len, route) = match (&pass, gpu_len) {
            (None, _) => (0, Route::Cpu),
            (Some(_), k) if k == len => (k, Route::Gpu),
            (Some(_), k) => (k, Route::Split { gpu_len: k }),
        };
        let shape = Self::shape(program, len, Place::HostVectors);
        let start = Instant::now();
        match program.run_split_host(gpu, inputs, out, gpu_len) {
            Ok(()) => {
                let took = start.elapsed();
                if let Some(pass) = pass {
                    self.gpu_succeeded(pass);
                }
                let device = match route {
                    Route::Cpu => Some(Device::Cpu),
                    Route::Gpu => Some(Device::Gpu),
                    Route::Split { .. } | Route::CpuFallback => None,
                };
                if let Some(device) = device.filter(|_| len >= MIN_GPU_LEN) {
                    lock(&self.model).observe(device, shape, took);
                }
                self.count(route);
                Ok(route)
            }
            Err(e @ (FieldError::InvalidProgram(_) | FieldError::LengthMismatch { .. })) => {
                Err(e.into())
            }
            Err(e) => {
                self.record_failure(&e, pass);
                cpu_on_host_vectors(program, inputs, out)?;
                let ran = if route == Route::Cpu {
                    Route::Cpu
                } else {
                    Route::CpuFallback
                };
                self.count(ran);
                Ok(ran)
            }
        }
    }

    /// `a[i] + b[i]` for every `i`, placed by the router's policy like [`Router::run`].
    ///
    /// ```
    /// use field_bls12::{FieldError, Fq};
    /// use hybrid_exec::{Router, RouterConfig, RouterError};
    /// let router = Router::with_gpu(&RouterConfig::default(), None);
    /// let two = router.add(&[Fq::ONE], &[Fq::ONE])?;
    /// assert_eq!(two, router.double(&[Fq::ONE])?);
    /// let err = router.mul(&[Fq::ONE], &[]).unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     RouterError::Field(FieldError::LengthMismatch { op: "mul", left: 1, right: 0 })
    /// ));
    /// # Ok::<(), RouterError>(())
    /// ```
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] (op `add`) when the lengths differ.
    pub fn add(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        self.binary("add", &self.ops.add, a, b)
    }

    /// `a[i] - b[i]` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] (op `sub`) when the lengths differ.
    pub fn sub(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        self.binary("sub", &self.ops.sub, a, b)
    }

    /// `a[i] * b[i]` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] (op `mul`) when the lengths differ.
    pub fn mul(&self, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        self.binary("mul", &self.ops.mul, a, b)
    }

    /// `a[i] * b[i] + c[i]` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] (op `fma`) when `b` or `c` is not as long as `a`
    /// (`b` is checked first).
    pub fn fma(&self, a: &[Fq], b: &[Fq], c: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        check_lengths("fma", a, b)?;
        check_lengths("fma", a, c)?;
        Ok(self.run(&self.ops.fma, &[a, b, c])?.0)
    }

    /// `a[i]^2` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// None for any input; a `Result` like every other operation.
    pub fn square(&self, a: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        Ok(self.run(&self.ops.square, &[a])?.0)
    }

    /// `-a[i]` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// None for any input; a `Result` like every other operation.
    pub fn neg(&self, a: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        Ok(self.run(&self.ops.neg, &[a])?.0)
    }

    /// `2 a[i]` for every `i`, as [`Router::add`].
    ///
    /// # Errors
    /// None for any input; a `Result` like every other operation.
    pub fn double(&self, a: &[Fq]) -> Result<Vec<Fq>, RouterError> {
        Ok(self.run(&self.ops.double, &[a])?.0)
    }

    fn binary(
        &self,
        op: &'static str,
        program: &FqProgram,
        a: &[Fq],
        b: &[Fq],
    ) -> Result<Vec<Fq>, RouterError> {
        check_lengths(op, a, b)?;
        Ok(self.run(program, &[a, b])?.0)
    }

    /// `sum_i [scalars[i]] points[i]` in G1 (multi-scalar multiplication), placed by the
    /// router's policy: on the CPU ([`curve_bls12::msm_g1`], blst's Pippenger on all
    /// cores), on the GPU ([`G1Gpu::msm`], its kernels built from the router's GPU by the
    /// first MSM that uses them) or on both at once, each summing a share of the points,
    /// the two partial sums then added. Full 256-bit scalars (not reduced mod r), any points
    /// on the curve; the result equals [`curve_bls12::msm_g1`]'s as a point whatever the
    /// route (compare with `==` or through `to_affine`). A GPU failure is recomputed on the
    /// CPU (logged, counted in [`Router::stats`], seen by the circuit breaker), as for
    /// [`Router::run`]. Where [`Policy::Auto`] places it: [`Router::plan_msm`].
    ///
    /// ```
    /// use curve_bls12::{msm_g1, CurveError, G1Affine, Scalar};
    /// use hybrid_exec::{Router, RouterConfig, RouterError};
    /// let router = Router::with_gpu(&RouterConfig::default(), None);
    /// let g = G1Affine::generator();
    /// let k = [Scalar::from_u64(2), Scalar::from_u64(3)];
    /// assert_eq!(router.msm_g1(&[g, g], &k)?, msm_g1(&[g, g], &k)?);
    /// let err = router.msm_g1(&[g], &k).unwrap_err();
    /// assert!(matches!(
    ///     err,
    ///     RouterError::Curve(CurveError::LengthMismatch { op: "msm_g1", left: 1, right: 2 })
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`RouterError::Curve`] with [`CurveError::LengthMismatch`] (op `msm_g1`) when the
    /// lengths differ; nothing runs then.
    pub fn msm_g1(
        &self,
        points: &[G1Affine],
        scalars: &[Scalar],
    ) -> Result<G1Projective, RouterError> {
        Ok(self.msm_with::<G1>(self.policy, points, scalars)?.0)
    }

    /// [`Router::msm_g1`] in G2 ([`curve_bls12::msm_g2`], [`G2Gpu::msm`]).
    ///
    /// # Errors
    /// [`RouterError::Curve`] with [`CurveError::LengthMismatch`] (op `msm_g2`) when the
    /// lengths differ; nothing runs then.
    pub fn msm_g2(
        &self,
        points: &[G2Affine],
        scalars: &[Scalar],
    ) -> Result<G2Projective, RouterError> {
        Ok(self.msm_with::<G2>(self.policy, points, scalars)?.0)
    }

    /// Many independent G1 MSMs (one per transaction or precompile call, say), each
    /// `(points, scalars)`, under the router's policy: result `m` is MSM `m`'s. On the GPU
    /// they run as one submission ([`G1Gpu::msm_batch`]); on the CPU side by side on all
    /// cores. A GPU failure recomputes the whole batch on the CPU. [`Policy::Auto`] sends
    /// a batch to the GPU only once GPU batches of about its size have been observed
    /// (run some with [`Router::msm_batch_g1_with`] and [`Policy::Gpu`]).
    ///
    /// ```no_run
    /// use curve_bls12::{msm_g1, G1Affine, Scalar};
    /// use hybrid_exec::{Router, RouterConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let router = Router::new(&RouterConfig::from_env()?);
    /// let g = G1Affine::generator();
    /// let (one, two) = ([Scalar::ONE], [Scalar::from_u64(2), Scalar::from_u64(3)]);
    /// let sums = router.msm_batch_g1(&[(&[g], &one), (&[g, g], &two)])?;
    /// assert_eq!(sums[1], msm_g1(&[g, g], &two)?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`RouterError::Curve`] with [`CurveError::BatchLengthMismatch`] (op
    /// `msm_g1_batch`) naming the first MSM whose points and scalars differ in number;
    /// nothing runs then.
    pub fn msm_batch_g1(
        &self,
        msms: &[(&[G1Affine], &[Scalar])],
    ) -> Result<Vec<G1Projective>, RouterError> {
        Ok(self.msm_batch_with::<G1>(self.policy, msms)?.0)
    }

    /// [`Router::msm_batch_g1`] in G2.
    ///
    /// # Errors
    /// As [`Router::msm_batch_g1`] (op `msm_g2_batch`).
    pub fn msm_batch_g2(
        &self,
        msms: &[(&[G2Affine], &[Scalar])],
    ) -> Result<Vec<G2Projective>, RouterError> {
        Ok(self.msm_batch_with::<G2>(self.policy, msms)?.0)
    }

    /// [`Router::msm_batch_g1`] under `policy` for this call, with the route that ran
    /// ([`Route::Gpu`], [`Route::Cpu`], or [`Route::CpuFallback`] after a GPU failure).
    ///
    /// # Errors
    /// As [`Router::msm_batch_g1`].
    pub fn msm_batch_g1_with(
        &self,
        policy: Policy,
        msms: &[(&[G1Affine], &[Scalar])],
    ) -> Result<(Vec<G1Projective>, Route), RouterError> {
        self.msm_batch_with::<G1>(policy, msms)
    }

    /// [`Router::msm_batch_g1_with`] in G2.
    ///
    /// # Errors
    /// As [`Router::msm_batch_g2`].
    pub fn msm_batch_g2_with(
        &self,
        policy: Policy,
        msms: &[(&[G2Affine], &[Scalar])],
    ) -> Result<(Vec<G2Projective>, Route), RouterError> {
        self.msm_batch_with::<G2>(policy, msms)
    }

    /// [`Router::msm_g1`] under `policy` for this call, with the route that ran
    /// ([`Route::CpuFallback`] when the GPU failed and the CPU recomputed its share).
    /// [`Policy::Gpu`] is also how the model learns a GPU MSM's cost before
    /// [`Policy::Auto`] can weigh it ([`Router::plan_msm`]).
    ///
    /// ```no_run
    /// use curve_bls12::{G1Affine, Scalar};
    /// use hybrid_exec::{MsmGroup, Policy, Router, RouterConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let router = Router::new(&RouterConfig::default());
    /// let points = vec![G1Affine::generator(); 1 << 16];
    /// let scalars = vec![Scalar::from_u64(7); 1 << 16];
    /// for _ in 0..4 {
    ///     let (_, route) = router.msm_g1_with(Policy::Gpu, &points, &scalars)?;
    ///     println!("{route:?}");
    /// }
    /// // Now priced on both devices (unless the GPU failed or is absent).
    /// println!("{:?}", router.predict_msm(MsmGroup::G1, 1 << 16));
    /// println!("Auto: {:?}", router.plan_msm(MsmGroup::G1, 1 << 16));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Router::msm_g1`].
    pub fn msm_g1_with(
        &self,
        policy: Policy,
        points: &[G1Affine],
        scalars: &[Scalar],
    ) -> Result<(G1Projective, Route), RouterError> {
        self.msm_with::<G1>(policy, points, scalars)
    }

    /// [`Router::msm_g2`] under `policy` for this call, with the route that ran, as
    /// [`Router::msm_g1_with`].
    ///
    /// # Errors
    /// As [`Router::msm_g2`].
    pub fn msm_g2_with(
        &self,
        policy: Policy,
        points: &[G2Affine],
        scalars: &[Scalar],
    ) -> Result<(G2Projective, Route), RouterError> {
        self.msm_with::<G2>(policy, points, scalars)
    }

    /// [`Router::msm_g1`] along `route`, as [`Router::execute`] runs an Fq job (for tests
    /// and benchmarks that force one): [`Route::Split`] gives the first `gpu_len` points
    /// to the GPU and the rest to the CPU (past the end: all to the GPU, reported as
    /// [`Route::Gpu`]); [`Route::CpuFallback`] is taken as [`Route::Cpu`]. Returns the sum
    /// and the route that ran: the CPU when the GPU is out of routing, lost or absent, or
    /// its G1 MSM kernels could not be built (it is not touched then),
    /// [`Route::CpuFallback`] when it failed.
    ///
    /// # Errors
    /// As [`Router::msm_g1`].
    pub fn execute_msm_g1(
        &self,
        route: Route,
        points: &[G1Affine],
        scalars: &[Scalar],
    ) -> Result<(G1Projective, Route), RouterError> {
        self.execute_msm::<G1>(route, points, scalars)
    }

    /// [`Router::execute_msm_g1`] in G2.
    ///
    /// # Errors
    /// As [`Router::msm_g2`].
    pub fn execute_msm_g2(
        &self,
        route: Route,
        points: &[G2Affine],
        scalars: &[Scalar],
    ) -> Result<(G2Projective, Route), RouterError> {
        self.execute_msm::<G2>(route, points, scalars)
    }

    /// The route [`Policy::Auto`] picks for an MSM of `points` points in `group` now.
    ///
    /// The CPU below 256 points, while the GPU is out of routing, lost or absent, when the
    /// group's MSM kernels could not be built ([`Router::msm_gpu_status`]), and while the
    /// model cannot price the MSM on the GPU. GPU MSM has no cold-start cost: it had not
    /// been measured on the reference machine, and no guessed figure stands in for a
    /// measurement; a size's GPU cost is unknown until GPU MSMs of its size bucket (powers
    /// of two) have run ([`Router::msm_g1_with`] under [`Policy::Gpu`],
    /// [`Router::execute_msm_g1`]) or come from a calibration profile. The CPU's cost
    /// starts from measurements on the reference machine. Both are then refined from
    /// observed runs, as for Fq jobs.
    ///
    /// Once priced, as [`Router::plan`]: the device predicted to finish first (after the
    /// work in flight), or from [`RouterConfig::co_execute_msm_above`] points a split in
    /// proportion to the devices' predicted speeds, when it promises at least 1.3x over the
    /// better device alone. Both shares are priced at the whole MSM's rate per point;
    /// Pippenger's rate per point is somewhat worse for fewer points (on the reference CPU
    /// ~12% per halving between 2^16 and 2^20), which that margin absorbs.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hybrid_exec::{MsmGroup, Route, Router, RouterConfig};
    /// let router = Router::with_gpu(&RouterConfig::default(), None);
    /// assert_eq!(router.plan_msm(MsmGroup::G1, 1 << 20), Route::Cpu);
    /// let (cpu, gpu) = router.predict_msm(MsmGroup::G2, 1 << 16);
    /// assert!(cpu > Duration::from_millis(100));
    /// assert_eq!(gpu, None, "no GPU MSM observed yet");
    /// ```
    pub fn plan_msm(&self, group: MsmGroup, points: usize) -> Route {
        if points < MIN_GPU_LEN
            || self.gpu().is_none()
            || !self.breaker.routable()
            || self.msm_gpu_failed(group).is_some()
        {
            return Route::Cpu;
        }
        self.plan_shape(JobShape::msm(group.op(), points), self.co_execute_msm_above)
    }

    /// Predicted times of an MSM of `points` points in `group` on (CPU, GPU), for reports:
    /// the GPU's `None` while it is unknown (no GPU MSM of that size bucket observed yet:
    /// [`Router::plan_msm`]).
    pub fn predict_msm(&self, group: MsmGroup, points: usize) -> (Duration, Option<Duration>) {
        let shape = JobShape::msm(group.op(), points);
        let m = lock(&self.model);
        let gpu = m
            .known(Device::Gpu, shape)
            .then(|| m.predict(Device::Gpu, shape));
        (m.predict(Device::Cpu, shape), gpu)
    }

    /// Whether the GPU takes `group`'s MSMs now, and if not why: [`Router::gpu_status`],
    /// or [`GpuStatus::Unavailable`] when the group's MSM kernels could not be built on it
    /// (tried by the first MSM that would have used them; that group's MSMs then run on
    /// the CPU).
    pub fn msm_gpu_status(&self, group: MsmGroup) -> GpuStatus {
        match self.msm_gpu_failed(group) {
            Some(reason) if self.gpu().is_some() => GpuStatus::Unavailable {
                reason: reason.to_owned(),
            },
            _ => self.gpu_status(),
        }
    }

    /// Why `group`'s MSM kernels could not be built, if they could not.
    fn msm_gpu_failed(&self, group: MsmGroup) -> Option<&str> {
        let failed = match group {
            MsmGroup::G1 => self.curve.g1.get().and_then(|r| r.as_ref().err()),
            MsmGroup::G2 => self.curve.g2.get().and_then(|r| r.as_ref().err()),
        };
        failed.map(String::as_str)
    }

    /// `G`'s MSM kernels (built on first use) and leave to use them for one job, when the
    /// GPU is there, they could be built and the breaker gives leave.
    fn claim_msm<G: Msm>(&self) -> Option<(&G::Gpu, Pass<'_>)> {
        let fq = self.gpu()?;
        let built = G::slot(&self.curve).get_or_init(|| {
            G::build(Arc::clone(fq.context())).map_err(|e| {
                tracing::warn!(
                    device = %self.gpu_name(),
                    error = %e,
                    "the {} MSM kernels could not be built: the CPU runs every {} MSM",
                    G::GROUP,
                    G::GROUP
                );
                format!("the {} MSM kernels could not be built: {e}", G::GROUP)
            })
        });
        let gpu = built.as_ref().ok()?;
        Some((gpu, self.breaker.admit()?))
    }

    pub(crate) fn msm_with<G: Msm>(
        &self,
        policy: Policy,
        points: &[G::Affine],
        scalars: &[Scalar],
    ) -> Result<(G::Projective, Route), RouterError> {
        check_msm::<G>(points, scalars)?;
        let n = points.len();
        if n < MIN_GPU_LEN && policy != Policy::Gpu {
            // Straight to the CPU, as small Fq jobs: the model is not asked.
            self.count(Route::Cpu);
            return Ok((G::cpu(points, scalars)?, Route::Cpu));
        }
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            // The CPU after all when there is no GPU or no kernels (`execute_msm`).
            Policy::Gpu => Route::Gpu,
            Policy::Auto => self.plan_msm(G::GROUP, n),
        };
        self.execute_msm::<G>(route, points, scalars)
    }

    fn execute_msm<G: Msm>(
        &self,
        route: Route,
        points: &[G::Affine],
        scalars: &[Scalar],
    ) -> Result<(G::Projective, Route), RouterError> {
        check_msm::<G>(points, scalars)?;
        let n = points.len();
        let gpu_len = match route {
            Route::Gpu => n,
            Route::Split { gpu_len } => gpu_len.min(n),
            Route::Cpu | Route::CpuFallback => 0,
        };
        let claimed = if gpu_len > 0 {
            self.claim_msm::<G>()
        } else {
            None
        };
        let (out, ran) = match claimed {
            None => (self.msm_on_cpu::<G>(points, scalars)?, Route::Cpu),
            Some((gpu, pass)) if gpu_len == n => {
                match self.msm_on_gpu::<G>(gpu, pass, points, scalars) {
                    Some(sum) => (sum, Route::Gpu),
                    None => (self.msm_on_cpu::<G>(points, scalars)?, Route::CpuFallback),
                }
            }
            Some((gpu, pass)) => {
                let (gpu_points, cpu_points) = points.split_at(gpu_len);
                let (gpu_scalars, cpu_scalars) = scalars.split_at(gpu_len);
                // As for Fq splits: the GPU's share on this thread, the CPU's on the pool
                // (whose Pippenger then spreads over the pool's threads).
                let mut cpu_part = None;
                let gpu_part = rayon::in_place_scope(|s| {
                    s.spawn(|_| cpu_part = Some(self.msm_on_cpu::<G>(cpu_points, cpu_scalars)));
                    self.msm_on_gpu::<G>(gpu, pass, gpu_points, gpu_scalars)
                });
                let cpu_part = cpu_part.expect("the scope ran the CPU's share")?;
                match gpu_part {
                    Some(sum) => (G::sum(&sum, &cpu_part), Route::Split { gpu_len }),
                    None => {
                        let sum = self.msm_on_cpu::<G>(gpu_points, gpu_scalars)?;
                        (G::sum(&sum, &cpu_part), Route::CpuFallback)
                    }
                }
            }
        };
        self.count(ran);
        Ok((out, ran))
    }

    pub(crate) fn msm_batch_with<G: Msm>(
        &self,
        policy: Policy,
        msms: &[(&[G::Affine], &[Scalar])],
    ) -> Result<(Vec<G::Projective>, Route), RouterError> {
        for (index, (points, scalars)) in msms.iter().enumerate() {
            if points.len() != scalars.len() {
                return Err(CurveError::BatchLengthMismatch {
                    op: G::BATCH_NAME,
                    index,
                    points: points.len(),
                    scalars: scalars.len(),
                }
                .into());
            }
        }
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu => Route::Gpu,
            Policy::Auto => self.plan_msm_batch::<G>(msms),
        };
        let claimed = if route == Route::Gpu {
            self.claim_msm::<G>()
        } else {
            None
        };
        let on_cpu = || -> Result<Vec<G::Projective>, RouterError> {
            use rayon::prelude::*;
            Ok(msms
                .par_iter()
                .map(|(points, scalars)| G::cpu(points, scalars))
                .collect::<Result<_, _>>()?)
        };
        let (out, ran) = match claimed {
            None => (on_cpu()?, Route::Cpu),
            // Timed as a batch of its points in all: the shape Auto weighs batches by.
            Some((gpu, pass)) => match self.timed(
                Device::Gpu,
                JobShape::msm(G::GROUP.batch_op(), msms.iter().map(|(p, _)| p.len()).sum()),
                || G::gpu_batch(gpu, msms),
            ) {
                Ok(sums) => {
                    self.gpu_succeeded(pass);
                    (sums, Route::Gpu)
                }
                Err(e) => {
                    self.record_failure(&e, Some(pass));
                    (on_cpu()?, Route::CpuFallback)
                }
            },
        };
        self.count(ran);
        Ok((out, ran))
    }

    /// The sums of a block's MSM calls whose points must lie in the prime-order subgroup:
    /// `Some(sum)` per call in the subgroup, `None` for a call with a point outside it (or
    /// whose batch failed), which the caller runs alone for its exact result. Where the
    /// MSM batch goes to the GPU (by `policy`; Auto: where the batch's plan says so) the
    /// subgroup checks go with it, as one job: the checks run on the device while the
    /// host combines the sums (timed as the batch, a little above a batch alone).
    /// Otherwise the checks (routed on their own), then the batch of the calls that
    /// passed. A GPU failure takes the second way.
    pub(crate) fn checked_msm_sums<G: Msm>(
        &self,
        policy: Policy,
        calls: &[(&[G::Affine], &[Scalar])],
    ) -> Vec<Option<G::Projective>>
    where
        G::Affine: Copy,
    {
        let total: usize = calls.iter().map(|(p, _)| p.len()).sum();
        let together = total > 0
            && match policy {
                Policy::Cpu => false,
                Policy::Gpu => true,
                // The checks hide behind the host's part of the batch: wherever the batch
                // goes to the GPU, so do they.
                Policy::Auto => self.plan_msm_batch::<G>(calls) == Route::Gpu,
            };
        if together && calls.iter().all(|(p, k)| p.len() == k.len()) {
            if let Some((gpu, pass)) = self.claim_msm::<G>() {
                match self.timed(
                    Device::Gpu,
                    JobShape::msm(G::GROUP.batch_op(), total),
                    || G::gpu_batch_checked(gpu, calls),
                ) {
                    Ok((sums, flags)) => {
                        self.gpu_succeeded(pass);
                        self.count(Route::Gpu);
                        return sums
                            .into_iter()
                            .zip(flags)
                            .map(|(sum, inside)| inside.then_some(sum))
                            .collect();
                    }
                    Err(e) => self.record_failure(&e, Some(pass)),
                }
            }
        }
        let points: Vec<&[G::Affine]> = calls.iter().map(|&(p, _)| p).collect();
        let flags = self.subgroup_flags::<G>(policy, &points);
        let inside: Vec<(&[G::Affine], &[Scalar])> = calls
            .iter()
            .zip(&flags)
            .filter_map(|(&call, &ok)| ok.then_some(call))
            .collect();
        // Not expected to fail (every MSM's points and scalars pair up); if it did, the
        // calls go one by one through the single-call path.
        let mut sums = self
            .msm_batch_with::<G>(policy, &inside)
            .ok()
            .map(|(sums, _)| sums.into_iter());
        flags
            .iter()
            .map(|&ok| {
                if ok {
                    sums.as_mut().and_then(Iterator::next)
                } else {
                    None
                }
            })
            .collect()
    }

    /// For each of `calls` (the points of one MSM call each), whether all its points are
    /// in the prime-order subgroup: the checks of a block's MSM calls together, on the CPU
    /// (blst, all cores) or in one GPU submission, by `policy` (Auto:
    /// [`Router::plan_subgroup`]). A GPU failure recomputes on the CPU.
    pub(crate) fn subgroup_flags<G: Msm>(&self, policy: Policy, calls: &[&[G::Affine]]) -> Vec<bool>
    where
        G::Affine: Copy,
    {
        use rayon::prelude::*;
        let total: usize = calls.iter().map(|p| p.len()).sum();
        let shape = JobShape::msm(G::GROUP.subgroup_op(), total);
        let on_cpu = |calls: &[&[G::Affine]]| -> Vec<bool> {
            calls
                .par_iter()
                .map(|points| points.par_iter().with_min_len(16).all(G::in_subgroup))
                .collect()
        };
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu => Route::Gpu,
            Policy::Auto => self.plan_subgroup::<G>(shape),
        };
        if route == Route::Gpu && total > 0 {
            if let Some((gpu, pass)) = self.claim_msm::<G>() {
                let all: Vec<G::Affine> = calls.concat();
                match self.timed(Device::Gpu, shape, || {
                    G::gpu_first_outside_subgroup(gpu, &all)
                }) {
                    Ok(first) => {
                        self.gpu_succeeded(pass);
                        let Some(first) = first else {
                            return vec![true; calls.len()];
                        };
                        // The calls before the first point outside pass, its call fails,
                        // and the GPU said nothing about the rest: the CPU checks them.
                        let mut start = 0;
                        let failing = calls
                            .iter()
                            .position(|p| {
                                start += p.len();
                                first < start
                            })
                            .unwrap_or(calls.len() - 1);
                        let mut flags = vec![true; failing];
                        flags.push(false);
                        flags.extend(on_cpu(&calls[failing + 1..]));
                        return flags;
                    }
                    Err(e) => {
                        self.record_failure(&e, Some(pass));
                        return on_cpu(calls);
                    }
                }
            }
        }
        if total == 0 {
            return vec![true; calls.len()];
        }
        match self.timed(Device::Cpu, shape, || {
            Ok::<_, std::convert::Infallible>(on_cpu(calls))
        }) {
            Ok(flags) => flags,
            Err(never) => match never {},
        }
    }

    /// Where a block's subgroup checks go under [`Policy::Auto`]: the GPU once the model
    /// has observed it on about `shape`'s size and predicts it faster than the CPU.
    fn plan_subgroup<G: Msm>(&self, shape: JobShape) -> Route {
        if shape.len < MIN_GPU_LEN
            || self.gpu().is_none()
            || !self.breaker.routable()
            || self.msm_gpu_failed(G::GROUP).is_some()
        {
            return Route::Cpu;
        }
        let m = lock(&self.model);
        if !m.known(Device::Gpu, shape) {
            return Route::Cpu;
        }
        if m.predict(Device::Gpu, shape) < m.predict(Device::Cpu, shape) {
            Route::Gpu
        } else {
            Route::Cpu
        }
    }

    /// Where a batch of MSMs goes under [`Policy::Auto`]: the GPU when the model has
    /// observed GPU batches of about as many points in all (forced GPU batches teach it)
    /// and predicts them faster than the CPU's MSMs one after another (an upper bound on
    /// the CPU's side, which runs small MSMs side by side).
    fn plan_msm_batch<G: Msm>(&self, msms: &[(&[G::Affine], &[Scalar])]) -> Route {
        let total: usize = msms.iter().map(|(p, _)| p.len()).sum();
        if total < MIN_GPU_LEN
            || self.gpu().is_none()
            || !self.breaker.routable()
            || self.msm_gpu_failed(G::GROUP).is_some()
        {
            return Route::Cpu;
        }
        let m = lock(&self.model);
        let whole = JobShape::msm(G::GROUP.batch_op(), total);
        if !m.known(Device::Gpu, whole) {
            return Route::Cpu;
        }
        let cpu: Duration = msms
            .iter()
            .map(|(p, _)| m.predict(Device::Cpu, JobShape::msm(G::GROUP.op(), p.len())))
            .sum();
        if m.predict(Device::Gpu, whole) < cpu {
            Route::Gpu
        } else {
            Route::Cpu
        }
    }

    fn msm_on_cpu<G: Msm>(
        &self,
        points: &[G::Affine],
        scalars: &[Scalar],
    ) -> Result<G::Projective, RouterError> {
        if points.len() < MIN_GPU_LEN {
            return Ok(G::cpu(points, scalars)?); // never routed by the model: nothing to learn
        }
        let shape = JobShape::msm(G::GROUP.op(), points.len());
        Ok(self.timed(Device::Cpu, shape, || G::cpu(points, scalars))?)
    }

    /// The GPU's sum, or `None` after a failure (recorded; the caller recomputes).
    fn msm_on_gpu<G: Msm>(
        &self,
        gpu: &G::Gpu,
        pass: Pass<'_>,
        points: &[G::Affine],
        scalars: &[Scalar],
    ) -> Option<G::Projective> {
        let result = if points.len() < MIN_GPU_LEN {
            G::gpu(gpu, points, scalars) // never routed by the model: nothing to learn
        } else {
            let shape = JobShape::msm(G::GROUP.op(), points.len());
            self.timed(Device::Gpu, shape, || G::gpu(gpu, points, scalars))
        };
        match result {
            Ok(sum) => {
                self.gpu_succeeded(pass);
                Some(sum)
            }
            Err(e) => {
                self.record_failure(&e, Some(pass));
                None
            }
        }
    }

    fn on_cpu(&self, program: &FqProgram, inputs: &[&[Fq]]) -> Result<Vec<Fq>, RouterError> {
        let len = inputs.first().map_or(0, |x| x.len());
        if len < MIN_GPU_LEN {
            return Ok(program.run_cpu(inputs)?); // never routed by the model: nothing to learn
        }
        let shape = Self::shape(program, len, Place::Slices);
        Ok(self.timed(Device::Cpu, shape, || program.run_cpu(inputs))?)
    }

    /// The GPU's result, or `None` after a failure (recorded; the caller recomputes).
    fn on_gpu(
        &self,
        gpu: &FqGpu,
        pass: Pass<'_>,
        program: &FqProgram,
        inputs: &[&[Fq]],
    ) -> Option<Vec<Fq>> {
        let len = inputs.first().map_or(0, |x| x.len());
        let shape = Self::shape(program, len, Place::Slices);
        match self.timed(Device::Gpu, shape, || program.run_gpu(gpu, inputs)) {
            Ok(v) => {
                self.gpu_succeeded(pass);
                Some(v)
            }
            Err(e) => {
                self.record_failure(&e, Some(pass));
                None
            }
        }
    }

    /// Runs `job` on `device` as a job of `shape`: its predicted time counts as work in
    /// flight there while it runs (what later jobs find ahead of them), and a success
    /// teaches the model ([`Router::learn`]).
    fn timed<T, E>(
        &self,
        device: Device,
        shape: JobShape,
        job: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        let predicted = lock(&self.model).predict(device, shape).as_nanos() as u64;
        // A GPU job's work in flight is the GPU's only. Its host copies do take cores from
        // CPU jobs beside it, but counting the whole job as CPU work too (as before
        // 2026-11-22) made every running GPU job look like a full CPU job, and the router
        // then sent nearly everything to the GPU; that slowdown is in the CPU's learned
        // queue factor.
        let (own, other) = match device {
            Device::Cpu => (&self.cpu_in_flight_ns, &self.gpu_in_flight_ns),
            Device::Gpu => (&self.gpu_in_flight_ns, &self.cpu_in_flight_ns),
        };
        let ahead = own.fetch_add(predicted, Ordering::Relaxed);
        let beside = other.load(Ordering::Relaxed);
        let mark = self.starts.fetch_add(1, Ordering::Relaxed) + 1;
        let start = Instant::now();
        let out = job();
        let took = start.elapsed();
        own.fetch_sub(predicted, Ordering::Relaxed);
        if out.is_ok() {
            let load = Load {
                ahead,
                beside,
                joined: self.starts.load(Ordering::Relaxed) != mark,
            };
            self.learn(device, shape, predicted, load, took);
        }
        out
    }

    /// Teaches the model a finished job, predicted to take `predicted` ns alone, under
    /// `load`. Only a job that had the machine to itself from start to end is a sample of
    /// its cost: waiting behind other threads' jobs is priced by the in-flight terms, not
    /// twice, and a job on the other device takes cores and memory bandwidth. Jobs that
    /// found work in flight teach the load factors ([`CostModel::observe_loaded`]); a job
    /// that started alone but was joined by another teaches nothing (in the VM-like
    /// example, such "alone" samples of GPU chains slowed 3x by CPU jobs that started
    /// after them moved the bucket's median, and the router then sent every chain to the
    /// CPU for the rest of the run). A job the model could not price (a GPU MSM of a size
    /// not yet observed: `predicted` is a stand-in) teaches no load factor either, only its
    /// own bucket when it ran alone.
    fn learn(&self, device: Device, shape: JobShape, predicted: u64, load: Load, took: Duration) {
        let mut m = lock(&self.model);
        if !m.known(device, shape) && load.ahead.max(load.beside) > 0 {
            return;
        }
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

    fn gpu_succeeded(&self, pass: Pass<'_>) {
        let probe = pass.is_probe();
        pass.succeeded();
        if probe {
            tracing::info!(device = %self.gpu_name(), "GPU probe succeeded: the GPU is back in routing");
        }
    }

    fn gpu_name(&self) -> &str {
        self.gpu
            .as_ref()
            .map_or("GPU", |g| g.context().info().name.as_str())
    }

    /// Records a failed GPU attempt (`pass`: the breaker's leave for it, when it had one).
    fn record_failure(&self, e: &impl fmt::Display, pass: Option<Pass<'_>>) {
        *lock(&self.last_failure) = Some(e.to_string());
        self.counts[FAILURES].fetch_add(1, Ordering::Relaxed);
        let device = self.gpu_name();
        if self.gpu.as_ref().is_some_and(|g| g.context().is_lost()) {
            if !self.gpu_disabled.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    device,
                    error = %e,
                    "GPU lost: this job and every later one run on the CPU"
                );
            }
            return;
        }
        tracing::warn!(device, error = %e, "a GPU job failed and was recomputed on the CPU");
        let probe = pass.as_ref().is_some_and(Pass::is_probe);
        if let Some(Trip::Opened(backoff)) = pass.map(Pass::failed) {
            let why = if probe {
                "the probe failed"
            } else {
                "too many failures in a row"
            };
            tracing::warn!(
                device,
                ?backoff,
                "{why}: the GPU is out of routing; the CPU runs its jobs until a probe after the back-off"
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
    use vk_backend::test_support::{test_context, TestContext};

    fn router_on(ctx: &TestContext, config: &RouterConfig) -> Router {
        Router::with_gpu(config, Some(FqGpu::new(ctx.arc()).unwrap()))
    }

    /// Teaches the model that MSMs of `points` points take `took` on `device` (a trusted
    /// bucket: the first sample is dropped as cold).
    fn teach(router: &Router, device: Device, group: MsmGroup, points: usize, took: Duration) {
        let shape = JobShape::msm(group.op(), points);
        let mut m = lock(&router.model);
        for _ in 0..=TRUST_AFTER {
            m.observe(device, shape, took);
        }
        assert!(m.known(device, shape));
    }

    #[test]
    fn auto_weighs_a_gpu_msm_once_priced_and_splits_it_where_that_pays() {
        let Some(ctx) = test_context("auto_weighs_a_gpu_msm_once_priced") else {
            return;
        };
        let router = router_on(&ctx, &RouterConfig::default());
        let n = 1 << 20;
        let cpu = lock(&router.model).predict(Device::Cpu, JobShape::msm(Op::MsmG1, n));
        assert_eq!(router.plan_msm(MsmGroup::G1, n), Route::Cpu, "unpriced");
        // A GPU 10x faster: all of it there (a split would give the CPU under a tenth).
        teach(&router, Device::Gpu, MsmGroup::G1, n, cpu / 10);
        assert_eq!(router.plan_msm(MsmGroup::G1, n), Route::Gpu);
        assert_eq!(router.predict_msm(MsmGroup::G1, n), (cpu, Some(cpu / 10)));
        // Comparable speeds: shared in proportion (rates add: 1 / (1 + 1 / 0.75) = 3/7 of
        // the time; the GPU's share 4/7 of the points).
        teach(&router, Device::Gpu, MsmGroup::G1, n, cpu * 3 / 4);
        let Route::Split { gpu_len } = router.plan_msm(MsmGroup::G1, n) else {
            panic!("{:?}", router.plan_msm(MsmGroup::G1, n));
        };
        assert!(
            (gpu_len as f64 / n as f64 - 4.0 / 7.0).abs() < 1e-3,
            "{gpu_len}"
        );
        // G2 learns apart: still unpriced.
        assert_eq!(router.plan_msm(MsmGroup::G2, n), Route::Cpu);
        // Below `co_execute_msm_above` (64Ki by default): the faster device, whole.
        let small = 1 << 15;
        let cpu_small = lock(&router.model).predict(Device::Cpu, JobShape::msm(Op::MsmG1, small));
        teach(&router, Device::Gpu, MsmGroup::G1, small, cpu_small * 3 / 4);
        assert_eq!(router.plan_msm(MsmGroup::G1, small), Route::Gpu);
        // A GPU 5x slower: a split would gain under 1.3x; the CPU.
        teach(&router, Device::Gpu, MsmGroup::G1, n, cpu * 5);
        assert_eq!(router.plan_msm(MsmGroup::G1, n), Route::Cpu);
        // Splits off: the faster device, whole.
        let config = RouterConfig {
            co_execute_msm_above: usize::MAX,
            ..RouterConfig::default()
        };
        let unsplit = router_on(&ctx, &config);
        teach(&unsplit, Device::Gpu, MsmGroup::G1, n, cpu * 3 / 4);
        assert_eq!(unsplit.plan_msm(MsmGroup::G1, n), Route::Gpu);
        drop((router, unsplit));
        ctx.assert_no_validation_messages();
    }

    #[test]
    fn msm_kernels_that_cannot_be_built_leave_that_groups_msm_on_the_cpu_and_say_why() {
        let Some(ctx) = test_context("msm_kernels_that_cannot_be_built") else {
            return;
        };
        let router = router_on(&ctx, &RouterConfig::default());
        let reason = "the G1 MSM kernels could not be built: injected";
        router.curve.g1.set(Err(reason.to_owned())).unwrap();
        let points = [curve_bls12::G1Affine::generator(); 3];
        let scalars = [1, 2, 3].map(Scalar::from_u64);
        let want = curve_bls12::msm_g1(&points, &scalars).unwrap();
        for route in [Route::Gpu, Route::Split { gpu_len: 1 }] {
            assert_eq!(
                router.execute_msm_g1(route, &points, &scalars).unwrap(),
                (want, Route::Cpu),
                "{route:?}"
            );
        }
        assert_eq!(
            router.msm_g1_with(Policy::Gpu, &points, &scalars).unwrap(),
            (want, Route::Cpu)
        );
        assert_eq!(
            router.msm_gpu_status(MsmGroup::G1),
            GpuStatus::Unavailable {
                reason: reason.to_owned()
            }
        );
        // Even a GPU priced faster is not planned.
        teach(
            &router,
            Device::Gpu,
            MsmGroup::G1,
            1 << 20,
            Duration::from_millis(1),
        );
        assert_eq!(router.plan_msm(MsmGroup::G1, 1 << 20), Route::Cpu);
        // The GPU itself, and G2's MSM, are unaffected.
        assert!(router.gpu_status().is_ready());
        assert!(router.msm_gpu_status(MsmGroup::G2).is_ready());
        let stats = router.stats();
        assert_eq!((stats.cpu_jobs, stats.gpu_failures), (3, 0), "{stats:?}");
        drop(router);
        ctx.assert_no_validation_messages();
    }

    #[test]
    fn unpriced_gpu_msms_teach_their_bucket_but_no_load_factor() {
        let router = Router::with_gpu(&RouterConfig::default(), None);
        let shape = JobShape::msm(Op::MsmG1, 1 << 16);
        let stand_in = lock(&router.model).predict(Device::Gpu, shape);
        let predicted = stand_in.as_nanos() as u64;
        let alone = Load {
            ahead: 0,
            beside: 0,
            joined: false,
        };
        // Beside CPU work, or behind GPU work, 8x the stand-in: nothing learned.
        for load in [
            Load { beside: 1, ..alone },
            Load {
                ahead: predicted,
                ..alone
            },
        ] {
            for _ in 0..10 {
                router.learn(Device::Gpu, shape, predicted, load, stand_in * 8);
            }
        }
        let factors = router.load_factors();
        assert_eq!((factors.gpu_beside, factors.gpu_queue), (1.0, 1.0));
        assert_eq!(router.predict_msm(MsmGroup::G1, 1 << 16).1, None);
        // Alone: its bucket learns.
        for _ in 0..=TRUST_AFTER {
            router.learn(
                Device::Gpu,
                shape,
                predicted,
                alone,
                Duration::from_millis(5),
            );
        }
        assert_eq!(
            router.predict_msm(MsmGroup::G1, 1 << 16).1,
            Some(Duration::from_millis(5))
        );
    }

    #[test]
    fn only_jobs_that_ran_alone_from_start_to_end_are_samples() {
        let router = Router::with_gpu(&RouterConfig::default(), None);
        let shape = JobShape {
            op: Op::Fq,
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
