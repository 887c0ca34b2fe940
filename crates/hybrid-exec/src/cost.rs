//! The cost model: predicted completion time of a job on the CPU and on the GPU, from
//! defaults measured on the reference machine, refined online from observed times.

use std::collections::HashMap;
use std::time::Duration;

use gpu_core::SizeBucket;

/// Where a job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Device {
    /// The CPU path (blst on all cores).
    Cpu,
    /// The Vulkan GPU.
    Gpu,
}

/// What the model knows about a job before it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobShape {
    /// Elements.
    pub len: usize,
    /// Input vectors.
    pub inputs: usize,
    /// Operations per element that multiply.
    pub muls: usize,
    /// Operations per element that only add, subtract, negate or double.
    pub linear: usize,
}

/// Cold-start cost parameters (seconds and nanoseconds). The defaults come from
/// `hybrid-exec bench` on the reference machine (H100 + 16 cores, docs/performance.md):
/// a GPU round trip costs ~30 us fixed, host data crosses at ~9 ns per element and input
/// (slices: copies and checks on the host), GPU arithmetic is nearly free at these sizes;
/// 16 CPU cores add at ~2.8 ns and multiply at ~8.3 ns per element, with ~5 us to start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostParams {
    /// GPU fixed cost of a round trip, ns.
    pub gpu_fixed_ns: f64,
    /// GPU host-data cost per element per input vector (plus one for the output), ns.
    pub gpu_ns_per_elem_per_vector: f64,
    /// GPU compute per element per multiplication, ns.
    pub gpu_ns_per_mul: f64,
    /// CPU fixed cost, ns.
    pub cpu_fixed_ns: f64,
    /// CPU per element per linear operation, ns.
    pub cpu_ns_per_linear: f64,
    /// CPU per element per multiplication, ns.
    pub cpu_ns_per_mul: f64,
}

impl Default for CostParams {
    fn default() -> Self {
        Self {
            gpu_fixed_ns: 30_000.0,
            gpu_ns_per_elem_per_vector: 3.0,
            gpu_ns_per_mul: 0.06,
            cpu_fixed_ns: 5_000.0,
            cpu_ns_per_linear: 2.8,
            cpu_ns_per_mul: 4.0,
        }
    }
}

/// Samples of one (device, job kind, size bucket).
#[derive(Clone, Debug, Default)]
struct Bucket {
    /// Samples seen, the first (cold: pipeline builds, page faults) dropped.
    seen: u32,
    /// Mean time per element of the kept samples, ns.
    mean_ns_per_elem: f64,
    kept: u32,
}

/// Samples a bucket needs before its mean replaces the defaults.
pub const TRUST_AFTER: u32 = 3;
/// A sample this many times off the bucket's mean (either way) flushes the bucket: the
/// machine changed (clocks, contention), so old samples mislead.
pub const FLUSH_FACTOR: f64 = 4.0;

/// Predicted and observed costs, per (device, job kind, size bucket).
#[derive(Clone, Debug)]
pub struct CostModel {
    params: CostParams,
    buckets: SizeBucket,
    history: HashMap<(Device, JobKind, usize), Bucket>,
}

/// The part of a job's shape that decides its per-element cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct JobKind {
    inputs: usize,
    muls: usize,
    linear: usize,
}

impl From<JobShape> for JobKind {
    fn from(s: JobShape) -> Self {
        Self {
            inputs: s.inputs,
            muls: s.muls,
            linear: s.linear,
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
    pub fn new(params: CostParams) -> Self {
        Self {
            params,
            // Finer buckets than the pools': routing cares about 1Ki vs 4Ki.
            buckets: SizeBucket::new(1024).expect("a power of two"),
            history: HashMap::new(),
        }
    }

    fn key(&self, device: Device, shape: JobShape) -> (Device, JobKind, usize) {
        (
            device,
            shape.into(),
            self.buckets.bucket(shape.len).unwrap_or(usize::MAX),
        )
    }

    /// The defaults' prediction.
    fn default_ns(&self, device: Device, s: JobShape) -> f64 {
        let p = &self.params;
        let n = s.len as f64;
        match device {
            Device::Cpu => {
                p.cpu_fixed_ns
                    + n * (s.linear as f64 * p.cpu_ns_per_linear + s.muls as f64 * p.cpu_ns_per_mul)
            }
            Device::Gpu => {
                p.gpu_fixed_ns
                    + n * ((s.inputs + 1) as f64 * p.gpu_ns_per_elem_per_vector
                        + s.muls as f64 * p.gpu_ns_per_mul)
            }
        }
    }

    /// Predicted time of `shape` on `device`: the bucket's observed rate once trusted,
    /// else the defaults.
    pub fn predict(&self, device: Device, shape: JobShape) -> Duration {
        let ns = match self.history.get(&self.key(device, shape)) {
            Some(b) if b.kept >= TRUST_AFTER => b.mean_ns_per_elem * shape.len.max(1) as f64,
            _ => self.default_ns(device, shape),
        };
        Duration::from_nanos(ns.max(0.0) as u64)
    }

    /// Records an observed run.
    pub fn observe(&mut self, device: Device, shape: JobShape, took: Duration) {
        let key = self.key(device, shape);
        let per_elem = took.as_nanos() as f64 / shape.len.max(1) as f64;
        let b = self.history.entry(key).or_default();
        b.seen += 1;
        if b.seen == 1 {
            return; // the first run of a kind pays one-time costs
        }
        if b.kept > 0
            && (per_elem > b.mean_ns_per_elem * FLUSH_FACTOR
                || per_elem * FLUSH_FACTOR < b.mean_ns_per_elem)
        {
            b.kept = 0; // disagrees: start over from this sample
        }
        b.kept += 1;
        b.mean_ns_per_elem += (per_elem - b.mean_ns_per_elem) / f64::from(b.kept);
    }

    /// Whether a bucket has enough samples to be trusted.
    pub fn trusted(&self, device: Device, shape: JobShape) -> bool {
        self.history
            .get(&self.key(device, shape))
            .is_some_and(|b| b.kept >= TRUST_AFTER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(len: usize) -> JobShape {
        JobShape {
            len,
            inputs: 2,
            muls: 0,
            linear: 1,
        }
    }

    #[test]
    fn cold_defaults_route_small_to_cpu_and_big_chains_to_gpu() {
        let m = CostModel::default();
        assert!(m.predict(Device::Cpu, shape(1024)) < m.predict(Device::Gpu, shape(1024)));
        let chain = JobShape {
            len: 1 << 24,
            inputs: 2,
            muls: 5,
            linear: 5,
        };
        assert!(m.predict(Device::Gpu, chain) < m.predict(Device::Cpu, chain));
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
        // A sample 10x off flushes the bucket: untrusted again, defaults back.
        m.observe(Device::Gpu, s, Duration::from_millis(1));
        assert!(!m.trusted(Device::Gpu, s));
    }
}
