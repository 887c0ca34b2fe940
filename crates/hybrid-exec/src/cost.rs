//! The cost model: predicted completion time of a job on the CPU and on the GPU, from
//! defaults measured on the reference machine, refined online from observed times.
//!
//! Two kinds of job share it: Fq programs ([`Op::Fq`], priced by their shape) and
//! multi-scalar multiplications ([`Op::MsmG1`], [`Op::MsmG2`], priced by their number of
//! points). Both are size-bucketed, learned and saved the same way. The GPU's MSM cost has
//! no default: it is unknown ([`CostModel::known`]) until observed.

use std::collections::HashMap;
use std::time::Duration;

use gpu_core::SizeBucket;

/// Where a job runs.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Device {
    /// The CPU path (blst on all cores).
    Cpu,
    /// The Vulkan GPU.
    Gpu,
}

/// Where a job's data lives, which decides what reaching it costs each device.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Place {
    /// Ordinary host memory (slices): the GPU path copies it to and from the device.
    #[default]
    Slices,
    /// GPU-visible host memory (`HostFqVec`): kernels read and write it over the bus in
    /// place, and the CPU works on it in place; nothing is copied.
    HostVectors,
}

/// What a job computes.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Op {
    /// An Fq program, element by element: priced by its inputs and operations.
    #[default]
    Fq,
    /// A G1 multi-scalar multiplication: priced by its number of points (`len`).
    MsmG1,
    /// A G2 multi-scalar multiplication: priced by its number of points (`len`).
    MsmG2,
    /// A batch of G1 MSMs in one GPU submission: priced by its points in all (`len`). The
    /// GPU's cost is known only once observed; its CPU stand-in is one MSM's.
    MsmBatchG1,
    /// A batch of G2 MSMs, as [`Op::MsmBatchG1`].
    MsmBatchG2,
    /// Subgroup checks of G1 points: priced by points. The GPU's cost is known only once
    /// observed; the CPU's default is [`CPU_SUBGROUP_NS_PER_POINT`].
    SubgroupG1,
    /// Subgroup checks of G2 points, as [`Op::SubgroupG1`].
    SubgroupG2,
    /// f32 element-wise jobs (add, ReLU, sigmoid, GELU): priced by elements. The GPU's
    /// cost is known only once observed; the CPU's default is [`CPU_F32_NS_PER_ELEM`].
    F32Map,
    /// f32 reductions (dot product) and softmax: priced by elements, as [`Op::F32Map`].
    F32Reduce,
    /// f32 matrix products: priced by multiply-adds (`m k n`), as [`Op::F32Map`].
    F32Matmul,
}

impl Op {
    fn is_fq(&self) -> bool {
        *self == Op::Fq
    }
}

/// What the model knows about a job before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct JobShape {
    /// What it computes.
    pub(crate) op: Op,
    /// Elements (for an MSM: points).
    pub(crate) len: usize,
    /// Input vectors.
    pub(crate) inputs: usize,
    /// Operations per element that multiply.
    pub(crate) muls: usize,
    /// Operations per element that only add, subtract, negate or double.
    pub(crate) linear: usize,
    /// Where its inputs and output live.
    pub(crate) place: Place,
}

impl JobShape {
    /// An f32 job (`op` one of the `Op::F32*`) of `len` elements or multiply-adds, from
    /// slices; its Fq fields are zero.
    pub(crate) fn f32(op: Op, len: usize) -> Self {
        Self::msm(op, len)
    }

    /// An MSM (`op` [`Op::MsmG1`] or [`Op::MsmG2`]) of `points` points, from slices; its
    /// Fq fields are zero.
    pub(crate) fn msm(op: Op, points: usize) -> Self {
        Self {
            op,
            len: points,
            inputs: 0,
            muls: 0,
            linear: 0,
            place: Place::Slices,
        }
    }
}

/// Cold-start cost parameters (seconds and nanoseconds). The defaults come from
/// `hybrid-exec bench` on the reference machine (H200 + 16 cores, 2026-11-29, run "b" of
/// docs/performance.md): a GPU round trip costs ~30 us fixed; data from slices costs the
/// GPU path ~1.75 ns per element and vector (inputs and output: an add from slices took
/// 5.24 ns per element, a multiplication 5.12, the host's copies being most of it); host
/// vectors ~0.7 ns per element and vector (2.01 ns for an add's three); GPU arithmetic is
/// nearly free at these sizes; 16 CPU cores add at ~2.5 ns and multiply at ~4 ns per
/// element, with ~20 us to start (`hybrid-exec scan`, H100, 2026-11-21: a 1Ki add took
/// 24 us, a 1Ki mul 31 us: waking the thread pool).
///
/// MSM: the CPU's figures ([`CostParams::cpu_msm`]) are measured (see [`CPU_MSM_G1`]); the
/// GPU's ([`CostParams::gpu_msm`]) are not: `None`, the GPU's MSM cost is unknown until
/// observed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct CostParams {
    /// GPU fixed cost of a round trip, ns.
    pub(crate) gpu_fixed_ns: f64,
    /// GPU host-data cost per element per input vector (plus one for the output), ns.
    pub(crate) gpu_ns_per_elem_per_vector: f64,
    /// The same for host vectors, which kernels reach over the bus in place, ns.
    pub(crate) gpu_ns_per_elem_per_host_vector: f64,
    /// GPU compute per element per multiplication, ns.
    pub(crate) gpu_ns_per_mul: f64,
    /// CPU fixed cost, ns.
    pub(crate) cpu_fixed_ns: f64,
    /// CPU per element per linear operation, ns.
    pub(crate) cpu_ns_per_linear: f64,
    /// CPU per element per multiplication, ns.
    pub(crate) cpu_ns_per_mul: f64,
    /// CPU MSM (blst's Pippenger on all cores), G1 and G2.
    pub(crate) cpu_msm: [MsmCost; 2],
    /// GPU MSM, G1 and G2; `None`: unknown until observed.
    pub(crate) gpu_msm: [Option<MsmCost>; 2],
}

/// The cold-start cost of an MSM of `n` points: `fixed_ns + n * ns_per_point`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct MsmCost {
    /// Fixed cost, ns.
    pub(crate) fixed_ns: f64,
    /// Cost per point, ns.
    pub(crate) ns_per_point: f64,
}

impl MsmCost {
    fn ns(&self, points: usize) -> f64 {
        self.fixed_ns + points as f64 * self.ns_per_point
    }

    fn scaled(self, factor: f64) -> Self {
        Self {
            fixed_ns: self.fixed_ns * factor,
            ns_per_point: self.ns_per_point * factor,
        }
    }
}

/// The CPU's G1 MSM on the reference machine (H200 host, 16 cores, `curve_bls12::msm_g1`:
/// blst's Pippenger on rayon; measurements of 2026-11-29 and 2026-12): 2^10 points
/// ~1.5 ms, 4096 7.5 ms, 2^16 85 ms, 2^20 849 ms. Pippenger's cost per point falls as the
/// window widens (1.8 us per point at 4096, 0.81 at 2^20), which no fixed-plus-linear cost
/// follows exactly; this one is the fit with the least worst relative error over those four
/// sizes (+30% at 1Ki and 1Mi, -31% at 4096, -17% at 64Ki). The buckets' observed rates
/// replace it size by size.
pub(crate) const CPU_MSM_G1: MsmCost = MsmCost {
    fixed_ns: 870_000.0,
    ns_per_point: 1_057.0,
};

/// The CPU's G2 MSM: G1's cost times 194 / 85, the one G2 measurement (2^16 points in
/// 194 ms against G1's 85, same machine and dates as [`CPU_MSM_G1`]).
pub(crate) const G2_OVER_G1_CPU: f64 = 194.0 / 85.0;

impl Default for CostParams {
    fn default() -> Self {
        Self {
            gpu_fixed_ns: 30_000.0,
            gpu_ns_per_elem_per_vector: 1.75,
            gpu_ns_per_elem_per_host_vector: 0.7,
            gpu_ns_per_mul: 0.06,
            cpu_fixed_ns: 20_000.0,
            cpu_ns_per_linear: 2.5,
            cpu_ns_per_mul: 4.0,
            cpu_msm: [CPU_MSM_G1, CPU_MSM_G1.scaled(G2_OVER_G1_CPU)],
            // Not measured: GPU MSM had not run on the reference machine when MSM routing was
            // written (no device time, 2026-12), and no figure stands in for a measurement.
            // The GPU's MSM cost is unknown until observed (`CostModel::known`): Auto keeps
            // MSMs on the CPU until GPU runs of that size (forced ones: `Policy::Gpu`,
            // `Router::execute_msm_g1`, calibration) have taught a bucket. Put measured
            // figures here once there are some.
            gpu_msm: [None, None],
        }
    }
}

/// Samples of one (device, job kind, size bucket).
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Samples seen, the first (cold: pipeline builds, page faults) dropped.
    seen: u32,
    /// Samples kept since the bucket was last flushed.
    kept: u32,
    /// The last [`RECENT`] kept samples' time per element, ns (a ring, `kept` of them
    /// valid while fewer).
    recent: [f64; RECENT],
}

/// Kept samples per bucket whose lower quartile is its time per element: an order
/// statistic, because a shared machine's samples come with outliers (a CPU job that found
/// rayon's pool asleep, one that shared the cores with another process) that would drag a
/// mean for many jobs after; the lower quartile rather than the median, because those
/// outliers are only ever slow and can be half of a bucket's samples (the scans of
/// 2026-11-22 saw 1Ki chains on the CPU at 40-50 and at 100-200 us; with the median, Auto
/// sent a third of them to a GPU that took 62). Two scans on the H100 each way, same
/// binary otherwise: 5 and 2 sizes more than 10% off the better device with the median,
/// 0 and 1 with the lower quartile.
const RECENT: usize = 8;

impl Bucket {
    fn valid(&self) -> &[f64] {
        &self.recent[..(self.kept as usize).min(RECENT)]
    }

    /// The lower quartile of the recent samples (the smallest of up to four, the second
    /// smallest of five to eight).
    fn ns_per_elem(&self) -> f64 {
        // On the stack: the router asks for this on every job it routes.
        let valid = self.valid();
        let mut v = [0.0; RECENT];
        let v = &mut v[..valid.len()];
        v.copy_from_slice(valid);
        v.sort_by(f64::total_cmp);
        v.get(v.len().saturating_sub(1) / 4).copied().unwrap_or(0.0)
    }

    fn push(&mut self, ns_per_elem: f64) {
        self.recent[self.kept as usize % RECENT] = ns_per_elem;
        self.kept += 1;
    }
}

/// Samples a bucket needs before its mean replaces the defaults.
pub(crate) const TRUST_AFTER: u32 = 3;

/// The CPU's cold-start cost of a subgroup check, ns per point (G1, G2): blst's
/// endomorphism checks on all 16 cores of the H100 machine, 32,768 points, `hybrid-exec
/// bench` (2026-12-06): 106.7 and 154.7 ms. Observed runs replace it.
const CPU_SUBGROUP_NS_PER_POINT: [f64; 2] = [3_260.0, 4_720.0];

/// The CPU's cold-start time per element (or multiply-add) of an f32 job: deliberately
/// optimistic (below what 16 cores take for an f32 add from memory), so that once the GPU's
/// cost of a shape has been observed, [`Policy::Auto`](crate::Policy::Auto) still runs the
/// CPU and learns its real cost before it trusts the GPU with that shape.
pub(crate) const CPU_F32_NS_PER_ELEM: f64 = 0.01;

/// A sample this many times off the bucket's mean (either way) flushes the bucket: the
/// machine changed (clocks, contention), so old samples mislead.
pub(crate) const FLUSH_FACTOR: f64 = 4.0;

/// Predicted and observed costs, per (device, job kind, size bucket).
#[derive(Clone, Debug)]
pub(crate) struct CostModel {
    params: CostParams,
    buckets: SizeBucket,
    history: HashMap<(Device, JobKind, usize), Bucket>,
    /// Per device (CPU, GPU): how much of the work already in flight there delays a new
    /// job ([`CostModel::queue_factor`]).
    queue_factor: [f64; 2],
    /// Per device: how much slower a job runs while the other device has work in flight
    /// ([`CostModel::beside_factor`]).
    beside_factor: [f64; 2],
}

/// Weight of one observation in a device's queue factor (a moving average over roughly
/// the last 1 / `QUEUE_ALPHA` jobs that found work ahead of them).
pub(crate) const QUEUE_ALPHA: f64 = 0.1;
/// Jobs predicted to take less than this move neither factor
/// ([`CostModel::observe_loaded`]).
pub(crate) const QUEUE_MIN_JOB: Duration = Duration::from_micros(500);
/// The largest queue factor an observation may move a device's towards: a job slowed by
/// something else than the work ahead of it (another process) says little about that work.
pub(crate) const MAX_QUEUE_FACTOR: f64 = 2.0;
/// The largest beside factor an observation may move a device's towards.
pub(crate) const MAX_BESIDE_FACTOR: f64 = 8.0;

/// The part of a job's shape that decides its per-element cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct JobKind {
    op: Op,
    inputs: usize,
    muls: usize,
    linear: usize,
    place: Place,
}

impl From<JobShape> for JobKind {
    fn from(s: JobShape) -> Self {
        Self {
            op: s.op,
            inputs: s.inputs,
            muls: s.muls,
            linear: s.linear,
            place: s.place,
        }
    }
}

impl Default for CostModel {
    fn default() -> Self {
        Self::new(CostParams::default())
    }
}

impl CostModel {
    /// A model with these cold-start parameters.
    pub(crate) fn new(params: CostParams) -> Self {
        Self {
            params,
            // Finer buckets than the pools', from the smallest job the router weighs
            // (MIN_GPU_LEN): below ~16Ki elements fixed costs dominate, so one bucket's
            // time per element must not mix 256- and 1024-element jobs (a 10-op chain
            // on the CPU took 363 ns per element at 256 and 67 at 1024 on the H100 host).
            buckets: SizeBucket::new(256).expect("a power of two"),
            history: HashMap::new(),
            // Serial until observed otherwise: every queued nanosecond delays a new job.
            queue_factor: [1.0; 2],
            // Unaffected until observed otherwise.
            beside_factor: [1.0; 2],
        }
    }

    fn key(&self, device: Device, shape: JobShape) -> (Device, JobKind, usize) {
        (
            device,
            shape.into(),
            self.buckets.bucket(shape.len).unwrap_or(usize::MAX),
        )
    }

    /// The defaults' prediction. For a GPU MSM, which has none, the CPU's default stands in:
    /// it only sizes the work in flight while such a job runs, never a route
    /// ([`CostModel::known`]).
    fn default_ns(&self, device: Device, s: JobShape) -> f64 {
        let p = &self.params;
        let n = s.len as f64;
        let msm = match s.op {
            Op::Fq => None,
            Op::MsmG1 | Op::MsmBatchG1 => Some(0),
            Op::MsmG2 | Op::MsmBatchG2 => Some(1),
            // The CPU's default; for the GPU, a stand-in that only sizes work in flight.
            Op::SubgroupG1 => return CPU_SUBGROUP_NS_PER_POINT[0] * n,
            Op::SubgroupG2 => return CPU_SUBGROUP_NS_PER_POINT[1] * n,
            Op::F32Map | Op::F32Reduce | Op::F32Matmul => return CPU_F32_NS_PER_ELEM * n,
        };
        if let Some(g) = msm {
            let cost = match device {
                Device::Cpu => p.cpu_msm[g],
                Device::Gpu => p.gpu_msm[g].unwrap_or(p.cpu_msm[g]),
            };
            return cost.ns(s.len);
        }
        match device {
            Device::Cpu => {
                p.cpu_fixed_ns
                    + n * (s.linear as f64 * p.cpu_ns_per_linear + s.muls as f64 * p.cpu_ns_per_mul)
            }
            Device::Gpu => {
                let per_vector = match s.place {
                    Place::Slices => p.gpu_ns_per_elem_per_vector,
                    Place::HostVectors => p.gpu_ns_per_elem_per_host_vector,
                };
                p.gpu_fixed_ns
                    + n * ((s.inputs + 1) as f64 * per_vector + s.muls as f64 * p.gpu_ns_per_mul)
            }
        }
    }

    /// Whether the model can price `shape` on `device`: there is a default for it, or its
    /// bucket's samples price it ([`CostModel::observed_ns_per_elem`]). Everything is known
    /// but a GPU MSM of a size not yet observed ([`CostParams::gpu_msm`]);
    /// [`CostModel::predict`] then gives a stand-in, which must not choose a route.
    pub(crate) fn known(&self, device: Device, shape: JobShape) -> bool {
        self.has_default(device, shape) || self.observed_ns_per_elem(device, shape).is_some()
    }

    fn has_default(&self, device: Device, shape: JobShape) -> bool {
        match (device, shape.op) {
            (Device::Gpu, Op::MsmG1) => self.params.gpu_msm[0].is_some(),
            (Device::Gpu, Op::MsmG2) => self.params.gpu_msm[1].is_some(),
            (Device::Gpu, Op::MsmBatchG1 | Op::MsmBatchG2) => false,
            (Device::Gpu, Op::SubgroupG1 | Op::SubgroupG2) => false,
            (Device::Gpu, Op::F32Map | Op::F32Reduce | Op::F32Matmul) => false,
            _ => true,
        }
    }

    /// The bucket's time per element, when its samples price `shape`: once trusted. For a
    /// shape without a default (a GPU MSM), also after a flush, from the samples kept
    /// since, once the bucket has seen as many as trust takes: with no default to go back
    /// to, the job would otherwise become unknown again and [`Policy::Auto`] would never
    /// run it on the GPU again to relearn it.
    ///
    /// [`Policy::Auto`]: crate::Policy::Auto
    fn observed_ns_per_elem(&self, device: Device, shape: JobShape) -> Option<f64> {
        let b = self.history.get(&self.key(device, shape))?;
        let trusted = b.kept >= TRUST_AFTER;
        let flushed = b.kept > 0 && b.seen > TRUST_AFTER && !self.has_default(device, shape);
        (trusted || flushed).then(|| b.ns_per_elem())
    }

    /// Predicted time of `shape` on `device`: the bucket's observed rate once trusted,
    /// else the defaults.
    pub(crate) fn predict(&self, device: Device, shape: JobShape) -> Duration {
        let ns = match self.observed_ns_per_elem(device, shape) {
            Some(per_elem) => per_elem * shape.len.max(1) as f64,
            None => self.default_ns(device, shape),
        };
        Duration::from_nanos(ns.max(0.0) as u64)
    }

    /// Records an observed run.
    pub(crate) fn observe(&mut self, device: Device, shape: JobShape, took: Duration) {
        let key = self.key(device, shape);
        let per_elem = took.as_nanos() as f64 / shape.len.max(1) as f64;
        let b = self.history.entry(key).or_default();
        b.seen += 1;
        if b.seen == 1 {
            return; // the first run of a kind pays one-time costs
        }
        let typical = b.ns_per_elem();
        if b.kept > 0 && (per_elem > typical * FLUSH_FACTOR || per_elem * FLUSH_FACTOR < typical) {
            b.kept = 0; // disagrees: start over from this sample
        }
        b.push(per_elem);
    }

    /// How much one nanosecond of predicted work already in flight on `device` delays a new
    /// job there: 1 when jobs run one after another (the CPU's jobs share one thread pool),
    /// less where they overlap (GPU jobs from several threads: one's host copies run while
    /// another's transfers and kernels do, on other queues). Learned from jobs that found
    /// work ahead of them ([`CostModel::observe_loaded`]); 1 until then.
    pub(crate) fn queue_factor(&self, device: Device) -> f64 {
        self.queue_factor[device as usize]
    }

    /// How much slower than alone a job on `device` runs while the other device has work
    /// in flight: both share the host's cores and memory bandwidth (a GPU job from slices
    /// copies its data on all cores; a CPU job takes every core). Learned from jobs that
    /// found only the other device busy ([`CostModel::observe_loaded`]); 1 until then.
    pub(crate) fn beside_factor(&self, device: Device) -> f64 {
        self.beside_factor[device as usize]
    }

    /// Predicted completion of `shape` on `device` when it starts with `ahead` of predicted
    /// work in flight on that device, and (`beside`) with the other device busy or not:
    /// its own time (times the beside factor) plus the queue factor's share of the work
    /// ahead.
    pub(crate) fn predict_loaded(
        &self,
        device: Device,
        shape: JobShape,
        ahead: Duration,
        beside: bool,
    ) -> Duration {
        let own = self.predict(device, shape);
        let own = if beside {
            own.mul_f64(self.beside_factor(device))
        } else {
            own
        };
        own + ahead.mul_f64(self.queue_factor(device))
    }

    /// Records a job that was predicted to take `predicted` alone, started with `ahead` of
    /// predicted work in flight on `device` and (`beside`) the other device busy or not,
    /// and took `took`.
    /// - Nothing ahead, the other device busy: `took / predicted` moves the device's
    ///   beside factor.
    /// - Work ahead: the delay beyond its own time (with the beside factor, if the other
    ///   device was busy), per nanosecond of work ahead, moves the queue factor; skipped
    ///   when the work ahead is under a quarter of its own, whose delay is mostly noise.
    ///
    /// Jobs predicted to take less than [`QUEUE_MIN_JOB`] teach neither: their time is
    /// mostly fixed latency that overlaps anything (in the VM-like example, 1Ki GPU jobs
    /// beside 1Mi ones ran as fast as alone and pulled the GPU's queue factor to 0.01,
    /// while 1Mi jobs did wait for each other).
    pub(crate) fn observe_loaded(
        &mut self,
        device: Device,
        predicted: Duration,
        ahead: Duration,
        beside: bool,
        took: Duration,
    ) {
        if predicted < QUEUE_MIN_JOB {
            return;
        }
        let d = device as usize;
        if ahead.is_zero() {
            if beside {
                let sample = (took.as_secs_f64() / predicted.as_secs_f64())
                    .clamp(1.0 / MAX_BESIDE_FACTOR, MAX_BESIDE_FACTOR);
                self.beside_factor[d] += QUEUE_ALPHA * (sample - self.beside_factor[d]);
            }
            return;
        }
        if ahead < predicted / 4 {
            return;
        }
        let own = if beside {
            predicted.mul_f64(self.beside_factor[d])
        } else {
            predicted
        };
        let delay = took.as_secs_f64() - own.as_secs_f64();
        let sample = (delay / ahead.as_secs_f64()).clamp(0.0, MAX_QUEUE_FACTOR);
        self.queue_factor[d] += QUEUE_ALPHA * (sample - self.queue_factor[d]);
    }

    /// Whether a bucket has enough samples to be trusted.
    #[cfg(test)]
    pub(crate) fn trusted(&self, device: Device, shape: JobShape) -> bool {
        self.history
            .get(&self.key(device, shape))
            .is_some_and(|b| b.kept >= TRUST_AFTER)
    }
}

impl CostModel {
    /// The observed samples, for a calibration profile (sorted, so a profile's text is the
    /// same for the same samples).
    pub(crate) fn samples(&self) -> Vec<Sample> {
        let mut samples: Vec<Sample> = self
            .history
            .iter()
            .map(|(&(device, kind, bucket), b)| Sample {
                device,
                op: kind.op,
                place: kind.place,
                inputs: kind.inputs,
                muls: kind.muls,
                linear: kind.linear,
                bucket,
                seen: b.seen,
                kept: b.kept,
                ns_per_elem: b.ns_per_elem(),
            })
            .collect();
        samples.sort_by(|x, y| {
            (
                x.device, x.op, x.place, x.inputs, x.muls, x.linear, x.bucket,
            )
                .cmp(&(
                    y.device, y.op, y.place, y.inputs, y.muls, y.linear, y.bucket,
                ))
        });
        samples
    }

    /// Adds `samples` of [`CostModel::samples`]; nothing when one is impossible.
    ///
    /// # Errors
    /// The index of the first impossible sample (a time that is negative or not finite,
    /// more samples kept than seen).
    pub(crate) fn add_samples(&mut self, samples: &[Sample]) -> Result<(), usize> {
        if let Some(bad) = samples
            .iter()
            .position(|s| !s.ns_per_elem.is_finite() || s.ns_per_elem < 0.0 || s.kept > s.seen)
        {
            return Err(bad);
        }
        for s in samples {
            let kind = JobKind {
                op: s.op,
                inputs: s.inputs,
                muls: s.muls,
                linear: s.linear,
                place: s.place,
            };
            // The saved quartile stands for every kept sample.
            let mut b = Bucket {
                seen: s.seen,
                ..Bucket::default()
            };
            for _ in 0..s.kept.min(RECENT as u32) {
                b.push(s.ns_per_elem);
            }
            b.kept = s.kept;
            self.history.insert((s.device, kind, s.bucket), b);
        }
        Ok(())
    }
}

/// One bucket of a [`CostModel`] as a calibration profile keeps it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sample {
    device: Device,
    /// Absent for an Fq job (every sample of profile format 3).
    #[serde(default, skip_serializing_if = "Op::is_fq")]
    op: Op,
    place: Place,
    inputs: usize,
    muls: usize,
    linear: usize,
    /// The size bucket's index.
    bucket: usize,
    /// Samples seen and kept ([`Bucket`]).
    seen: u32,
    kept: u32,
    /// The bucket's lower quartile.
    ns_per_elem: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(len: usize) -> JobShape {
        JobShape {
            op: Op::Fq,
            len,
            inputs: 2,
            muls: 0,
            linear: 1,
            place: Place::Slices,
        }
    }

    #[test]
    fn host_vectors_are_priced_without_copies_and_learned_apart() {
        let mut m = CostModel::default();
        let slices = shape(1 << 24);
        let host = JobShape {
            place: Place::HostVectors,
            ..slices
        };
        // Cold: the GPU reaches host vectors in place, at less than half the cost of
        // copying slices (2.01 against 5.24 ns per element for an add on the H200); the
        // CPU costs the same.
        assert!(m.predict(Device::Gpu, host) * 2 < m.predict(Device::Gpu, slices));
        assert_eq!(m.predict(Device::Cpu, host), m.predict(Device::Cpu, slices));
        assert!(m.predict(Device::Gpu, host) < m.predict(Device::Cpu, host));
        // Samples of one place do not move the other's predictions, and survive a profile's
        // JSON form.
        let before = m.predict(Device::Gpu, slices);
        for _ in 0..=TRUST_AFTER {
            m.observe(Device::Gpu, host, Duration::from_millis(34));
        }
        assert_eq!(m.predict(Device::Gpu, host), Duration::from_millis(34));
        assert_eq!(m.predict(Device::Gpu, slices), before);
        let json = serde_json::to_string(&m.samples()).unwrap();
        assert!(json.contains(r#""place":"host_vectors""#), "{json}");
        let mut back = CostModel::default();
        back.add_samples(&serde_json::from_str::<Vec<Sample>>(&json).unwrap())
            .unwrap();
        assert_eq!(back.predict(Device::Gpu, host), Duration::from_millis(34));
        assert!(
            serde_json::from_str::<Vec<Sample>>(&json.replace("host_vectors", "disk")).is_err()
        );
    }

    #[test]
    fn cold_defaults_route_small_to_cpu_and_big_chains_to_gpu() {
        let m = CostModel::default();
        assert!(m.predict(Device::Cpu, shape(1024)) < m.predict(Device::Gpu, shape(1024)));
        let chain = JobShape {
            op: Op::Fq,
            len: 1 << 24,
            inputs: 2,
            muls: 5,
            linear: 5,
            place: Place::Slices,
        };
        assert!(m.predict(Device::Gpu, chain) < m.predict(Device::Cpu, chain));
    }

    #[test]
    fn msm_cpu_defaults_follow_the_reference_figures_and_gpu_msm_is_unknown_until_observed() {
        let mut m = CostModel::default();
        let g1 = |n| JobShape::msm(Op::MsmG1, n);
        let g2 = |n| JobShape::msm(Op::MsmG2, n);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        for (n, measured) in [
            (1 << 10, 1.5),
            (4096, 7.5),
            (1 << 16, 85.0),
            (1 << 20, 849.0),
        ] {
            let p = ms(m.predict(Device::Cpu, g1(n)));
            assert!(
                (p / measured - 1.0).abs() < 0.32,
                "G1 {n}: {p} ms, measured {measured}"
            );
        }
        let p = ms(m.predict(Device::Cpu, g2(1 << 16)));
        assert!(
            (p / 194.0 - 1.0).abs() < 0.2,
            "G2 2^16: {p} ms, measured 194"
        );
        // The CPU's MSM and every Fq shape have defaults; the GPU's MSM has none.
        assert!(m.known(Device::Cpu, g1(1 << 16)) && m.known(Device::Cpu, g2(300)));
        assert!(m.known(Device::Gpu, shape(1024)));
        assert!(!m.known(Device::Gpu, g1(1 << 16)) && !m.known(Device::Gpu, g2(1 << 16)));
        // GPU runs teach their bucket as Fq runs do (the first dropped, trusted after
        // three), and only that bucket of that group.
        let fq_before = m.predict(Device::Gpu, shape(1 << 16));
        for _ in 0..TRUST_AFTER {
            m.observe(Device::Gpu, g1(1 << 16), Duration::from_millis(10));
        }
        assert!(!m.known(Device::Gpu, g1(1 << 16)));
        m.observe(Device::Gpu, g1(1 << 16), Duration::from_millis(10));
        assert!(m.known(Device::Gpu, g1(1 << 16)) && m.known(Device::Gpu, g1(40_000)));
        assert_eq!(
            m.predict(Device::Gpu, g1(1 << 16)),
            Duration::from_millis(10)
        );
        assert!(!m.known(Device::Gpu, g1(1 << 17)) && !m.known(Device::Gpu, g2(1 << 16)));
        assert_eq!(m.predict(Device::Gpu, shape(1 << 16)), fq_before);
        // A sample far off flushes the bucket, as for Fq jobs; with no default to go back
        // to, the samples since price it (a flushed Fq bucket has its defaults).
        m.observe(Device::Gpu, g1(1 << 16), Duration::from_millis(100));
        assert!(!m.trusted(Device::Gpu, g1(1 << 16)));
        assert!(m.known(Device::Gpu, g1(1 << 16)));
        assert_eq!(
            m.predict(Device::Gpu, g1(1 << 16)),
            Duration::from_millis(100)
        );
        // A measured default would make it known at every size.
        let mut params = CostParams::default();
        params.gpu_msm[1] = Some(MsmCost {
            fixed_ns: 1e6,
            ns_per_point: 100.0,
        });
        let m = CostModel::new(params);
        assert!(m.known(Device::Gpu, g2(1 << 20)) && !m.known(Device::Gpu, g1(1 << 20)));
        assert_eq!(
            m.predict(Device::Gpu, g2(1 << 20)),
            Duration::from_nanos(1_000_000 + (100 << 20))
        );
    }

    #[test]
    fn first_sample_dropped_trust_after_three_flush_on_disagreement() {
        let mut m = CostModel::default();
        let s = shape(10_000);
        m.observe(Device::Gpu, s, Duration::from_millis(100)); // cold, dropped
        for _ in 0..TRUST_AFTER - 1 {
            m.observe(Device::Gpu, s, Duration::from_micros(100));
        }
        assert!(!m.trusted(Device::Gpu, s));
        m.observe(Device::Gpu, s, Duration::from_micros(100));
        assert!(m.trusted(Device::Gpu, s));
        assert_eq!(m.predict(Device::Gpu, s), Duration::from_micros(100));
        // Same bucket, other length: scaled per element.
        assert_eq!(
            m.predict(Device::Gpu, shape(12_000)),
            Duration::from_micros(120)
        );
        // An outlier under the flush factor does not move the prediction (an order
        // statistic).
        m.observe(Device::Gpu, s, Duration::from_micros(300));
        assert_eq!(m.predict(Device::Gpu, s), Duration::from_micros(100));
        // A sample 10x off flushes the bucket: untrusted again, defaults back.
        m.observe(Device::Gpu, s, Duration::from_millis(1));
        assert!(!m.trusted(Device::Gpu, s));
    }

    #[test]
    fn slow_samples_even_in_the_majority_do_not_set_the_prediction() {
        // A CPU bucket whose jobs sometimes find the thread pool awake (100 us) and more
        // often asleep (300 us, under the flush factor): the prediction is the fast mode.
        let mut m = CostModel::default();
        let s = JobShape {
            op: Op::Fq,
            len: 1024,
            inputs: 2,
            muls: 5,
            linear: 5,
            place: Place::Slices,
        };
        m.observe(Device::Cpu, s, Duration::from_millis(1)); // cold, dropped
        for us in [100, 300, 300, 100, 300, 300, 300, 300, 100, 300] {
            m.observe(Device::Cpu, s, Duration::from_micros(us));
        }
        assert_eq!(m.predict(Device::Cpu, s), Duration::from_micros(100));
    }

    #[test]
    fn load_factors_learn_how_much_queued_and_neighbouring_work_delays_a_job() {
        let mut m = CostModel::default();
        assert_eq!(m.queue_factor(Device::Gpu), 1.0);
        assert_eq!(m.beside_factor(Device::Cpu), 1.0);
        let ms = Duration::from_millis;
        // GPU jobs that waited for only a quarter of the work ahead of them.
        for _ in 0..100 {
            m.observe_loaded(Device::Gpu, ms(10), ms(40), false, ms(20));
        }
        assert!((m.queue_factor(Device::Gpu) - 0.25).abs() < 0.01);
        assert_eq!(m.queue_factor(Device::Cpu), 1.0, "devices learn apart");
        // Too little work ahead to learn from, nothing ahead and nothing beside, a job too
        // short to tell: nothing moves.
        m.observe_loaded(Device::Cpu, ms(10), ms(2), false, ms(100));
        m.observe_loaded(Device::Cpu, ms(10), Duration::ZERO, false, ms(100));
        m.observe_loaded(Device::Cpu, QUEUE_MIN_JOB / 2, ms(10), true, ms(100));
        assert_eq!(m.queue_factor(Device::Cpu), 1.0);
        assert_eq!(m.beside_factor(Device::Cpu), 1.0);
        // CPU jobs alone on their device but beside GPU work, 1.5x slower than alone.
        for _ in 0..100 {
            m.observe_loaded(Device::Cpu, ms(10), Duration::ZERO, true, ms(15));
        }
        assert!((m.beside_factor(Device::Cpu) - 1.5).abs() < 0.01);
        assert_eq!(m.queue_factor(Device::Cpu), 1.0);
        // A queued job beside GPU work: its own time counts with the beside factor, so
        // waiting 15 ms for 10 ms of work ahead after its own 15 gives 1.5.
        let before = m.queue_factor(Device::Cpu);
        let own = 0.010 * m.beside_factor(Device::Cpu);
        m.observe_loaded(Device::Cpu, ms(10), ms(10), true, ms(30));
        let expect = before + QUEUE_ALPHA * ((0.030 - own) / 0.010 - before);
        assert!((m.queue_factor(Device::Cpu) - expect).abs() < 1e-6);
        // Predictions under load: own time (with the beside factor) plus the queue's share.
        let s = shape(1 << 20);
        let alone = m.predict(Device::Cpu, s);
        let q = m.queue_factor(Device::Cpu);
        let loaded = m.predict_loaded(Device::Cpu, s, ms(10), true);
        let want = alone.as_secs_f64() * m.beside_factor(Device::Cpu) + 0.010 * q;
        assert!((loaded.as_secs_f64() - want).abs() < 1e-6);
        assert_eq!(
            m.predict_loaded(Device::Cpu, s, Duration::ZERO, false),
            alone
        );
        // Samples are bounded: a job slowed far beyond its queue moves the factor at most
        // to MAX_QUEUE_FACTOR.
        for _ in 0..200 {
            m.observe_loaded(Device::Cpu, ms(10), ms(10), false, ms(1000));
        }
        assert!(m.queue_factor(Device::Cpu) <= MAX_QUEUE_FACTOR);
        assert!(m.queue_factor(Device::Cpu) > 1.9);
    }

    #[test]
    fn samples_round_trip_and_impossible_ones_are_refused_whole() {
        let mut m = CostModel::default();
        for _ in 0..5 {
            m.observe(Device::Cpu, shape(5000), Duration::from_micros(50));
            m.observe(Device::Gpu, shape(1 << 20), Duration::from_millis(3));
        }
        let samples = m.samples();
        assert_eq!(samples.len(), 2);
        let mut back = CostModel::default();
        back.add_samples(&samples).unwrap();
        assert_eq!(
            back.predict(Device::Cpu, shape(5000)),
            m.predict(Device::Cpu, shape(5000))
        );
        assert_eq!(
            back.predict(Device::Gpu, shape(1 << 20)),
            m.predict(Device::Gpu, shape(1 << 20))
        );
        assert!(back.trusted(Device::Gpu, shape(1 << 20)));
        for bad in [
            Sample {
                ns_per_elem: f64::NAN,
                ..samples[1].clone()
            },
            Sample {
                ns_per_elem: -1.0,
                ..samples[1].clone()
            },
            Sample {
                kept: samples[1].seen + 1,
                ..samples[1].clone()
            },
        ] {
            let mut other = CostModel::default();
            assert_eq!(
                other.add_samples(&[samples[0].clone(), bad.clone()]),
                Err(1),
                "{bad:?}"
            );
            assert!(
                !other.trusted(Device::Cpu, shape(5000)),
                "nothing added: {bad:?}"
            );
        }
    }
}
