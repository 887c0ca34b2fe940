//! Several GPUs of one host behind one front door: a [`DeviceGroup`] holds one [`Router`]
//! per device (each with its own cost model, circuit breaker and work in flight) and
//! splits large jobs across the devices in service; smaller ones go to the device with the
//! least work queued. Partial results are combined on the host, so every result is what a
//! single device (or the CPU) gives.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;

use curve_bls12::{G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use eip2537::{Precompile, PrecompileError};
use field_bls12::{Fq, FqGpu, FqProgram};
use vk_backend::{Context, ContextConfig, DeviceSelector, DeviceSet};

use crate::router::{G1, G2};
use crate::{GpuStatus, MsmGroup, Policy, Route, Router, RouterConfig, RouterError, RouterStats};

/// When a [`DeviceGroup`] splits one job across its devices. The defaults are not measured
/// on a host with several GPUs yet (none was lent): they are sizes at which one device's
/// share still fills it (an MSM share of 2^15 points runs ~3 ms on an H200; a block's
/// share of 64 calls of 128 points ~1 ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SplitConfig {
    /// Fq programs of at least this many elements (4Mi).
    pub fq_above: usize,
    /// Single MSMs of at least this many points (2^16).
    pub msm_above: usize,
    /// Batches of MSMs, and the MSMs of an EIP-2537 block, with at least this many points
    /// in all (2^13).
    pub batch_points_above: usize,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            fq_above: 1 << 22,
            msm_above: 1 << 16,
            batch_points_above: 1 << 13,
        }
    }
}

/// One [`Router`] per GPU of the host, behind the router's own operations: large jobs are
/// split across the devices in service ([`GpuStatus::Ready`]) in shares weighed by each
/// device's measured cost where it has one (equal shares until then), each share on its
/// device under [`Policy::Gpu`] (a device that fails recomputes its share on the CPU, and
/// its breaker takes it out of the next splits); smaller jobs run on the device with the
/// least work queued, under the group's policy. [`Policy::Cpu`] runs everything on the
/// CPU.
///
/// ```no_run
/// use curve_bls12::{msm_g1, G1Affine, Scalar};
/// use hybrid_exec::{DeviceGroup, RouterConfig};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Every discrete GPU, or the devices VK_BACKEND_DEVICES names.
/// let group = DeviceGroup::new(&RouterConfig::from_env()?);
/// for (name, status) in group.devices() {
///     println!("{name}: {status}");
/// }
/// let points = vec![G1Affine::generator(); 1 << 17];
/// let scalars = vec![Scalar::from_u64(3); 1 << 17];
/// assert_eq!(group.msm_g1(&points, &scalars)?, msm_g1(&points, &scalars)?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DeviceGroup {
    routers: Vec<Router>,
    policy: Policy,
    split: SplitConfig,
}

impl DeviceGroup {
    /// A router per device of [`DeviceSet::from_env`] (`VK_BACKEND_DEVICES`; by default
    /// every discrete GPU, else the best device), each opened with
    /// [`ContextConfig::from_env`] and that device. A device that cannot be opened is left
    /// out (logged); with none, the group is one router without a GPU, as
    /// [`Router::new`] is then.
    pub fn new(config: &RouterConfig) -> Self {
        match DeviceSet::from_env() {
            Ok(set) => Self::with_devices(config, &set),
            Err(e) => {
                tracing::info!(error = %e, "no device set: the CPU runs every job");
                Self::with_devices(
                    &RouterConfig {
                        use_gpu: false,
                        ..config.clone()
                    },
                    &DeviceSet::Default,
                )
            }
        }
    }

    /// [`DeviceGroup::new`] over the devices `set` selects (the config equivalent of
    /// `VK_BACKEND_DEVICES`).
    pub fn with_devices(config: &RouterConfig, set: &DeviceSet) -> Self {
        let opened = if config.use_gpu {
            open_devices(set)
        } else {
            Vec::new()
        };
        let routers = if opened.is_empty() {
            vec![Router::new(&RouterConfig {
                use_gpu: false,
                ..config.clone()
            })]
        } else {
            opened
                .into_iter()
                .map(|gpu| Router::with_gpu(config, Some(gpu)))
                .collect()
        };
        Self {
            routers,
            policy: config.policy,
            split: SplitConfig::default(),
        }
    }

    /// A group over routers already built (one per device; for tests, two contexts on one
    /// device stand for two devices). `None` when `routers` is empty.
    pub fn from_routers(routers: Vec<Router>, policy: Policy) -> Option<Self> {
        (!routers.is_empty()).then_some(Self {
            routers,
            policy,
            split: SplitConfig::default(),
        })
    }

    /// The same group with other split sizes.
    pub fn with_split(mut self, split: SplitConfig) -> Self {
        self.split = split;
        self
    }

    /// The group's policy.
    pub(crate) fn policy(&self) -> Policy {
        self.policy
    }

    /// The routers, one per device, in the order of the device set.
    pub fn routers(&self) -> &[Router] {
        &self.routers
    }

    /// Each device's name and status.
    pub fn devices(&self) -> Vec<(String, GpuStatus)> {
        self.routers
            .iter()
            .map(|r| {
                let name = r.gpu().map_or_else(
                    || "CPU only".to_owned(),
                    |g| g.context().info().name.clone(),
                );
                (name, r.gpu_status())
            })
            .collect()
    }

    /// Each device's router statistics, in device order.
    pub fn stats(&self) -> Vec<RouterStats> {
        self.routers.iter().map(Router::stats).collect()
    }

    /// [`Router::run`] across the devices: an element-wise program's inputs are cut into
    /// one contiguous range per device in service once the job has
    /// [`SplitConfig::fq_above`] elements and (under [`Policy::Auto`]) every device would
    /// take its share on its GPU; the outputs are joined in order.
    ///
    /// # Errors
    /// As [`Router::run`]; nothing runs then.
    pub fn run(&self, program: &FqProgram, inputs: &[&[Fq]]) -> Result<Vec<Fq>, RouterError> {
        let len = inputs.first().map_or(0, |i| i.len());
        let ready = self.ready();
        let valid = inputs.len() == program.inputs() && inputs.iter().all(|i| i.len() == len);
        let gpu_wins = |share: usize| {
            self.policy == Policy::Gpu
                || ready
                    .iter()
                    .all(|&d| self.routers[d].plan(program, share) == Route::Gpu)
        };
        if !valid
            || self.policy == Policy::Cpu
            || ready.len() < 2
            || len < self.split.fq_above
            || !gpu_wins(len / ready.len())
        {
            return Ok(self
                .least_loaded()
                .run_with(self.policy, program, inputs)?
                .0);
        }
        let ranges = split_evenly(len, ready.len());
        let parts = run_shares(&ready, &ranges, |d, range| {
            let share: Vec<&[Fq]> = inputs.iter().map(|i| &i[range.clone()]).collect();
            self.routers[d].run_with(Policy::Gpu, program, &share)
        })?;
        Ok(parts.into_iter().flat_map(|(out, _)| out).collect())
    }

    /// [`Router::msm_g1`] across the devices: from [`SplitConfig::msm_above`] points, one
    /// contiguous share of the points per device in service, the partial sums added.
    ///
    /// # Errors
    /// As [`Router::msm_g1`]; nothing runs then.
    pub fn msm_g1(
        &self,
        points: &[G1Affine],
        scalars: &[Scalar],
    ) -> Result<G1Projective, RouterError> {
        self.msm::<G1>(points, scalars)
    }

    /// [`Router::msm_g2`] across the devices, as [`DeviceGroup::msm_g1`].
    ///
    /// # Errors
    /// As [`Router::msm_g2`]; nothing runs then.
    pub fn msm_g2(
        &self,
        points: &[G2Affine],
        scalars: &[Scalar],
    ) -> Result<G2Projective, RouterError> {
        self.msm::<G2>(points, scalars)
    }

    /// [`Router::msm_batch_g1`] across the devices: from
    /// [`SplitConfig::batch_points_above`] points in all, the MSMs are cut into one
    /// contiguous run per device in service, balanced by points; results in order.
    ///
    /// # Errors
    /// As [`Router::msm_batch_g1`]; nothing runs then.
    pub fn msm_batch_g1(
        &self,
        msms: &[(&[G1Affine], &[Scalar])],
    ) -> Result<Vec<G1Projective>, RouterError> {
        self.msm_batch::<G1>(msms)
    }

    /// [`Router::msm_batch_g2`] across the devices, as [`DeviceGroup::msm_batch_g1`].
    ///
    /// # Errors
    /// As [`Router::msm_batch_g2`]; nothing runs then.
    pub fn msm_batch_g2(
        &self,
        msms: &[(&[G2Affine], &[Scalar])],
    ) -> Result<Vec<G2Projective>, RouterError> {
        self.msm_batch::<G2>(msms)
    }

    /// [`Router::execute_block`] across the devices: a block whose MSM calls hold
    /// [`SplitConfig::batch_points_above`] points or more is cut into one contiguous run
    /// of calls per device in service, balanced by those points, each run a block of its
    /// own on its device; one result per call, in order, each what the call gives alone.
    pub fn execute_block(
        &self,
        calls: &[(Precompile, &[u8])],
    ) -> Vec<Result<Vec<u8>, PrecompileError>> {
        let weights: Vec<usize> = calls
            .iter()
            .map(|(precompile, input)| match precompile {
                Precompile::G1Msm => input.len() / G1_MSM_PAIR_BYTES,
                Precompile::G2Msm => input.len() / G2_MSM_PAIR_BYTES,
                _ => 0,
            })
            .collect();
        let points: usize = weights.iter().sum();
        let ready = self.ready();
        if self.policy == Policy::Cpu || ready.len() < 2 || points < self.split.batch_points_above {
            return self.least_loaded().execute_block_with(self.policy, calls);
        }
        let ranges = split_by_weight(&weights, ready.len());
        let parts: Result<Vec<_>, RouterError> = run_shares(&ready, &ranges, |d, range| {
            Ok(self.routers[d].execute_block_with(Policy::Gpu, &calls[range]))
        });
        parts
            .expect("block shares return no errors")
            .into_iter()
            .flatten()
            .collect()
    }

    fn msm<G: crate::router::Msm>(
        &self,
        points: &[G::Affine],
        scalars: &[Scalar],
    ) -> Result<G::Projective, RouterError> {
        let ready = self.ready();
        if points.len() != scalars.len()
            || self.policy == Policy::Cpu
            || ready.len() < 2
            || points.len() < self.split.msm_above
        {
            return Ok(self
                .least_loaded()
                .msm_with::<G>(self.policy, points, scalars)?
                .0);
        }
        let weights = self.msm_rates(G::GROUP, &ready, points.len());
        let ranges = split_by_rate(points.len(), &weights);
        let parts = run_shares(&ready, &ranges, |d, range| {
            self.routers[d].msm_with::<G>(Policy::Gpu, &points[range.clone()], &scalars[range])
        })?;
        let mut parts = parts.into_iter().map(|(sum, _)| sum);
        let first = parts.next().expect("at least two shares");
        Ok(parts.fold(first, |acc, p| G::sum(&acc, &p)))
    }

    fn msm_batch<G: crate::router::Msm>(
        &self,
        msms: &[(&[G::Affine], &[Scalar])],
    ) -> Result<Vec<G::Projective>, RouterError> {
        let ready = self.ready();
        let weights: Vec<usize> = msms.iter().map(|(p, _)| p.len()).collect();
        let points: usize = weights.iter().sum();
        if msms.iter().any(|(p, k)| p.len() != k.len())
            || self.policy == Policy::Cpu
            || ready.len() < 2
            || points < self.split.batch_points_above
        {
            return Ok(self
                .least_loaded()
                .msm_batch_with::<G>(self.policy, msms)?
                .0);
        }
        let ranges = split_by_weight(&weights, ready.len());
        let parts = run_shares(&ready, &ranges, |d, range| {
            self.routers[d].msm_batch_with::<G>(Policy::Gpu, &msms[range])
        })?;
        Ok(parts.into_iter().flat_map(|(sums, _)| sums).collect())
    }

    /// The devices in service now.
    fn ready(&self) -> Vec<usize> {
        (0..self.routers.len())
            .filter(|&d| matches!(self.routers[d].gpu_status(), GpuStatus::Ready { .. }))
            .collect()
    }

    /// The router whose GPU has the least work queued (the first on ties; the first of all
    /// when none is in service, whose own routing then runs the job on the CPU).
    fn least_loaded(&self) -> &Router {
        self.ready()
            .into_iter()
            .min_by_key(|&d| self.routers[d].gpu_backlog())
            .map_or(&self.routers[0], |d| &self.routers[d])
    }

    /// Each ready device's MSM rate (points per second) at its share of `points`, from its
    /// cost model; equal rates until every device has observed MSMs of about that size.
    fn msm_rates(&self, group: MsmGroup, ready: &[usize], points: usize) -> Vec<f64> {
        let share = points / ready.len();
        let times: Option<Vec<Duration>> = ready
            .iter()
            .map(|&d| self.routers[d].predict_msm(group, share).1)
            .collect();
        match times {
            Some(t) if t.iter().all(|t| !t.is_zero()) => {
                t.iter().map(|t| share as f64 / t.as_secs_f64()).collect()
            }
            _ => vec![1.0; ready.len()],
        }
    }
}

/// Bytes of one (point, scalar) pair of a G1MSM and a G2MSM call (EIP-2537).
const G1_MSM_PAIR_BYTES: usize = 160;
const G2_MSM_PAIR_BYTES: usize = 288;

/// Opens every device of `set` that opens.
fn open_devices(set: &DeviceSet) -> Vec<FqGpu> {
    let selected = vk_backend::enumerate_devices().and_then(|devices| set.select(&devices));
    let selected = match selected {
        Ok(s) => s,
        Err(e) => {
            tracing::info!(error = %e, "no device set: the CPU runs every job");
            return Vec::new();
        }
    };
    selected
        .into_iter()
        .filter_map(|pick| {
            let opened = ContextConfig::from_env()
                .and_then(|c| Context::new(&c.with_device(DeviceSelector::Index(pick.index))))
                .map_err(field_bls12::FieldError::from)
                .and_then(|ctx| FqGpu::new(Arc::new(ctx)));
            match opened {
                Ok(gpu) => {
                    tracing::info!(device = pick.index, reason = %pick.reason, "device opened");
                    Some(gpu)
                }
                Err(e) => {
                    tracing::info!(device = pick.index, error = %e, "device left out");
                    None
                }
            }
        })
        .collect()
}

/// Runs `job` for each (device, range) pair, side by side on the rayon pool, and returns
/// the results in order, or the first error. The pool's threads live as long as the
/// process: a thread per share would leave the driver state of every thread that ever
/// submitted (the NVIDIA driver frees it only when it unloads, in time that grows faster
/// than their number).
fn run_shares<T: Send>(
    devices: &[usize],
    ranges: &[Range<usize>],
    job: impl Fn(usize, Range<usize>) -> Result<T, RouterError> + Sync,
) -> Result<Vec<T>, RouterError> {
    devices
        .par_iter()
        .zip(ranges.par_iter())
        .with_max_len(1)
        .map(|(&d, range)| job(d, range.clone()))
        .collect()
}

/// `len` cut into `parts` contiguous ranges whose lengths differ by at most one.
pub(crate) fn split_evenly(len: usize, parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    (0..parts)
        .map(|i| (len * i / parts)..(len * (i + 1) / parts))
        .collect()
}

/// `len` cut into one contiguous range per rate, each about its rate's share of `len`.
fn split_by_rate(len: usize, rates: &[f64]) -> Vec<Range<usize>> {
    let total: f64 = rates.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return split_evenly(len, rates.len());
    }
    let mut acc = 0.0;
    let mut start = 0;
    rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            acc += r;
            let end = if i + 1 == rates.len() {
                len
            } else {
                ((len as f64 * acc / total).round() as usize).clamp(start, len)
            };
            let range = start..end;
            start = end;
            range
        })
        .collect()
}

/// Items of the given weights cut into `parts` contiguous runs of about equal weight
/// (items without weight count one, so that a block of cheap calls is spread too).
fn split_by_weight(weights: &[usize], parts: usize) -> Vec<Range<usize>> {
    let parts = parts.max(1);
    let total: usize = weights.iter().map(|w| (*w).max(1)).sum();
    let mut ranges = Vec::with_capacity(parts);
    let (mut start, mut acc) = (0, 0);
    for (i, w) in weights.iter().enumerate() {
        acc += (*w).max(1);
        // Close run k once its share of the total weight is reached.
        if ranges.len() + 1 < parts && acc * parts >= total * (ranges.len() + 1) {
            ranges.push(start..i + 1);
            start = i + 1;
        }
    }
    ranges.push(start..weights.len());
    while ranges.len() < parts {
        ranges.push(weights.len()..weights.len());
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_everything_once_in_order() {
        for (len, parts) in [(0, 2), (1, 2), (10, 3), (65537, 2), (7, 8)] {
            let r = split_evenly(len, parts);
            assert_eq!(r.len(), parts);
            assert_eq!(r[0].start, 0);
            assert_eq!(r[parts - 1].end, len);
            assert!(r.windows(2).all(|w| w[0].end == w[1].start));
            assert!(r.iter().all(|x| x.len() <= len.div_ceil(parts)));
        }
        let r = split_by_rate(1000, &[1.0, 3.0]);
        assert_eq!(r, [0..250, 250..1000]);
        assert_eq!(split_by_rate(10, &[0.0, 0.0]), [0..5, 5..10]);
        assert_eq!(split_by_rate(3, &[1.0, 1.0, 1.0]), [0..1, 1..2, 2..3]);
        let r = split_by_weight(&[128; 512], 2);
        assert_eq!(r, [0..256, 256..512]);
        let r = split_by_weight(&[1000, 0, 0, 0, 10, 10], 2);
        assert_eq!(r, [0..1, 1..6]);
        let r = split_by_weight(&[5], 3);
        assert_eq!(r, [0..1, 1..1, 1..1]);
        assert_eq!(split_by_weight(&[], 2), [0..0, 0..0]);
    }
}
