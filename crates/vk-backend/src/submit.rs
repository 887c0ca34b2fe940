//! What a context and everything it hands out share: the device, the buffer pool, the
//! kernel and pipeline caches, the recorders, and submission itself — the lanes (compute,
//! upload, download), their timelines, and the reclamation of finished submissions.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ash::vk;

use crate::command::Recorder;
use crate::config::ContextConfig;
use crate::device::Device;
use crate::memory::{BufferPool, RawBuffer};
use crate::pipeline::{Kernel, KernelKey, PipelineCache, RawKernel};
use crate::sync::Timeline;
use crate::Error;

/// Everything a submission needs kept alive until the GPU has finished with it.
pub(crate) struct InFlight {
    pub(crate) recorder: Option<Recorder>,
    /// The recorders of the uploads a compute submission waited for (they complete
    /// before it), or of a download alone in its own submission.
    pub(crate) copy_recorders: Vec<Recorder>,
    pub(crate) buffers: Vec<Arc<RawBuffer>>,
    pub(crate) kernels: Vec<Arc<RawKernel>>,
}

/// What the context and everything it hands out share.
pub(crate) struct Shared {
    /// Submissions dropped before completion, with the lane and value that complete them.
    deferred: Mutex<Vec<(Lane, u64, InFlight)>>,
    recorders: Mutex<Vec<Recorder>>,
    /// Recorders for the transfer queues' family.
    transfer_recorders: Mutex<Vec<Recorder>>,
    /// Streamed jobs' uploads and downloads: each lane signals its own timeline.
    upload: CopyLane,
    download: CopyLane,
    pub(crate) kernels: Mutex<HashMap<KernelKey, Kernel>>,
    pub(crate) pipeline_cache: PipelineCache,
    pub(crate) timeline: Timeline,
    /// The last timeline value handed to a submission; held while submitting so values
    /// reach the queue in increasing order.
    last_value: Mutex<u64>,
    pub(crate) pool: Arc<BufferPool>,
    /// The upload staging ring, made at the first staged upload.
    ring: std::sync::OnceLock<crate::ring::StagingRing>,
    serial: AtomicU64,
    pub(crate) timeout: Duration,
    pub(crate) spin: Duration,
    pub(crate) direct_limit: u64,
    pub(crate) stream_chunk_bytes: u64,
    /// A fault to raise at the next matching stage (feature `fault-injection`).
    #[cfg(feature = "fault-injection")]
    pub(crate) fault: Mutex<Option<(FaultStage, Error)>>,
    pub(crate) device: Arc<Device>,
}

/// The timelines submissions signal: batches signal the context timeline; streamed jobs'
/// copies run as submissions of their own, chained to the compute submissions by timeline
/// semaphores (upload -> compute -> download).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Batches, on the compute queue.
    Compute,
    /// Streamed uploads: on the transfer-only queue, or the compute queue without one.
    Upload,
    /// Streamed downloads: on the transfer family's second queue, or the compute queue.
    Download,
}

/// A copy lane's timeline and the last value handed out on it.
pub(crate) struct CopyLane {
    timeline: Timeline,
    last: Mutex<u64>,
}

impl CopyLane {
    fn new(device: &Arc<Device>) -> Result<Self, Error> {
        Ok(Self {
            timeline: Timeline::new(device)?,
            last: Mutex::new(0),
        })
    }
}

/// Where an injected fault strikes (`Context::inject_fault`, feature `fault-injection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStage {
    /// The next `Batch::upload`.
    Upload,
    /// The next submission.
    Compute,
    /// The next wait for a submission (where results would come back).
    Download,
}

impl Shared {
    /// Opens the device `config` selects and everything its batches will share.
    pub(crate) fn new(config: &ContextConfig) -> Result<Self, Error> {
        let device = Device::new(config)?;
        let pipeline_cache = PipelineCache::new(&device, config.pipeline_cache_dir.as_deref())?;
        Ok(Self {
            deferred: Mutex::default(),
            recorders: Mutex::default(),
            transfer_recorders: Mutex::default(),
            upload: CopyLane::new(&device)?,
            download: CopyLane::new(&device)?,
            kernels: Mutex::default(),
            pipeline_cache,
            timeline: Timeline::new(&device)?,
            last_value: Mutex::new(0),
            pool: BufferPool::new(&device, config.pool_idle_limit),
            ring: std::sync::OnceLock::new(),
            serial: AtomicU64::new(0),
            timeout: config.timeout,
            spin: config.spin,
            direct_limit: if device.memory.rebar {
                config.direct_limit
            } else {
                0
            },
            stream_chunk_bytes: config.stream_chunk_bytes.max(1),
            #[cfg(feature = "fault-injection")]
            fault: Mutex::new(None),
            device,
        })
    }
}

impl Shared {
    /// Raises the injected fault if it is set for `stage` (feature `fault-injection`; a
    /// no-op without it). An injected `DeviceLost` also marks the device lost, as a real
    /// one would.
    #[cfg_attr(not(feature = "fault-injection"), allow(unused_variables))]
    pub(crate) fn fault_at(&self, stage: FaultStage) -> Result<(), Error> {
        #[cfg(feature = "fault-injection")]
        {
            let mut fault = lock(&self.fault);
            if fault.as_ref().is_some_and(|(s, _)| *s == stage) {
                let (_, err) = fault.take().expect("checked");
                return Err(self.device.note(err));
            }
        }
        Ok(())
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning means a panic elsewhere while holding the lock; the data is still whole.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// A recorder whose last submission has completed.
    pub(crate) fn recorder(&self) -> Result<Recorder, Error> {
        self.collect()?;
        match lock(&self.recorders).pop() {
            Some(r) => Ok(r),
            None => Recorder::new(
                &self.device,
                self.device.compute.family,
                self.device.compute.timestamps,
            ),
        }
    }

    /// A serial number for a new batch or copy (download ids name their batch by it).
    pub(crate) fn next_serial(&self) -> u64 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes back a recorder whose submission has completed, into its family's pool.
    pub(crate) fn return_recorder(&self, rec: Recorder) {
        if rec.family == self.device.compute.family {
            lock(&self.recorders).push(rec);
        } else {
            lock(&self.transfer_recorders).push(rec);
        }
    }

    /// Returns a completed submission's resources: recorders to their pools, buffers to
    /// theirs (when no one else holds them).
    pub(crate) fn reclaim(&self, in_flight: &mut InFlight) {
        for r in in_flight
            .recorder
            .take()
            .into_iter()
            .chain(in_flight.copy_recorders.drain(..))
        {
            self.return_recorder(r);
        }
        in_flight.buffers.clear();
        in_flight.kernels.clear();
    }

    pub(crate) fn defer(&self, lane: Lane, value: u64, in_flight: InFlight) {
        lock(&self.deferred).push((lane, value, in_flight));
    }

    /// The timeline `lane`'s submissions signal.
    pub(crate) fn timeline_of(&self, lane: Lane) -> &Timeline {
        match lane {
            Lane::Compute => &self.timeline,
            Lane::Upload => &self.upload.timeline,
            Lane::Download => &self.download.timeline,
        }
    }

    /// The queue `lane`'s submissions go to.
    fn queue_of(&self, lane: Lane) -> &crate::device::Queue {
        let device = &self.device;
        match lane {
            Lane::Compute => &device.compute,
            Lane::Upload => device.upload.as_ref().unwrap_or(&device.compute),
            Lane::Download => device.download.as_ref().unwrap_or(&device.compute),
        }
    }

    /// Reclaims deferred submissions the GPU has finished.
    fn collect(&self) -> Result<(), Error> {
        let done: Vec<(Lane, u64, InFlight)> = {
            let mut deferred = lock(&self.deferred);
            if deferred.is_empty() {
                return Ok(());
            }
            let mut completed = [None; 3];
            let mut done = Vec::new();
            for (lane, value, in_flight) in std::mem::take(&mut *deferred) {
                let reached = match completed[lane as usize] {
                    Some(c) => c,
                    None => *completed[lane as usize].insert(self.timeline_of(lane).completed()?),
                };
                if value <= reached {
                    done.push((lane, value, in_flight));
                } else {
                    deferred.push((lane, value, in_flight));
                }
            }
            done
        };
        for (_, _, mut in_flight) in done {
            self.reclaim(&mut in_flight);
        }
        Ok(())
    }

    /// The upload staging ring, made on first use; `None` if its memory cannot be had
    /// (uploads then take pooled staging buffers).
    pub(crate) fn ring(&self) -> Option<&crate::ring::StagingRing> {
        if let Some(r) = self.ring.get() {
            return Some(r);
        }
        let ring = crate::ring::StagingRing::new(&self.pool).ok()?;
        // Two threads may race to make it: one ring stays, the other goes back to the pool.
        let _ = self.ring.set(ring);
        self.ring.get()
    }

    /// A host-memory buffer for staging `bytes` (uploads, downloads, host outputs).
    pub(crate) fn staging(&self, bytes: u64) -> Result<Arc<RawBuffer>, Error> {
        self.pool.staging(bytes)
    }

    /// Submits `cmd` to the compute queue after `waits` (timeline semaphore, value, stage),
    /// signalling the context timeline; returns the value that marks its completion.
    pub(crate) fn submit_compute(
        &self,
        cmd: vk::CommandBuffer,
        waits: &[(vk::Semaphore, u64, vk::PipelineStageFlags)],
    ) -> Result<u64, Error> {
        submit(
            &self.device,
            &self.device.compute,
            &self.timeline,
            &self.last_value,
            cmd,
            waits,
        )
    }

    /// A recorder for the queue of copy lane `lane` (`Upload` or `Download`), whose last
    /// submission has completed.
    pub(crate) fn copy_recorder(&self, lane: Lane) -> Result<Recorder, Error> {
        let family = self.queue_of(lane).family;
        if family == self.device.compute.family {
            return self.recorder();
        }
        match lock(&self.transfer_recorders).pop() {
            Some(r) => Ok(r),
            None => Recorder::new(&self.device, family, false),
        }
    }

    /// Submits `cmd` (from [`Shared::copy_recorder`] for the same lane) to the queue of copy
    /// lane `lane` after `waits`; returns the value of that lane's timeline that marks its
    /// completion.
    pub(crate) fn submit_copy(
        &self,
        lane: Lane,
        cmd: vk::CommandBuffer,
        waits: &[(vk::Semaphore, u64, vk::PipelineStageFlags)],
    ) -> Result<u64, Error> {
        let copy = match lane {
            Lane::Upload => &self.upload,
            Lane::Download => &self.download,
            Lane::Compute => {
                return Err(Error::InvalidArgument(
                    "the compute lane takes batches, not copies".to_owned(),
                ))
            }
        };
        submit(
            &self.device,
            self.queue_of(lane),
            &copy.timeline,
            &copy.last,
            cmd,
            waits,
        )
    }
}

/// Submits `cmd` to `queue` after `waits`, signalling `timeline` with the next value after
/// `*last`; returns that value.
fn submit(
    device: &Device,
    queue: &crate::device::Queue,
    timeline: &Timeline,
    last: &Mutex<u64>,
    cmd: vk::CommandBuffer,
    waits: &[(vk::Semaphore, u64, vk::PipelineStageFlags)],
) -> Result<u64, Error> {
    {
        device.check_alive()?;
        device.note_submitting_thread();
        let mut last = lock(last);
        let value = *last + 1;
        let cmds = [cmd];
        let signal = [timeline.raw];
        let signal_values = [value];
        let wait_sems: Vec<_> = waits.iter().map(|w| w.0).collect();
        let wait_values: Vec<_> = waits.iter().map(|w| w.1).collect();
        let wait_stages: Vec<_> = waits.iter().map(|w| w.2).collect();
        let mut timeline_info = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wait_values)
            .signal_semaphore_values(&signal_values);
        let submit = [vk::SubmitInfo::default()
            .command_buffers(&cmds)
            .wait_semaphores(&wait_sems)
            .wait_dst_stage_mask(&wait_stages)
            .signal_semaphores(&signal)
            .push_next(&mut timeline_info)];
        let queue = queue.lock();
        // SAFETY: `cmd` is fully recorded, not pending, and from a pool of this queue's
        // family; the queue is locked as Vulkan requires; `value` is above every value
        // signalled or pending on the timeline (values are handed out under `last`, in
        // submission order, and only submissions through this function with this `last`
        // signal this timeline).
        unsafe { device.raw.queue_submit(*queue, &submit, vk::Fence::null()) }
            .map_err(|e| device.note(Error::from_vk("vkQueueSubmit", e)))?;
        *last = value;
        Ok(value)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Teardown is timed step by step at debug level: a context that takes long to
        // close says where (RUST_LOG=vk_backend=debug).
        let start = std::time::Instant::now();
        // SAFETY: the device is live; waiting for idle makes every deferred submission
        // complete before its resources are released below.
        unsafe {
            let _ = self.device.raw.device_wait_idle();
        }
        let waited = start.elapsed();
        let deferred = std::mem::take(&mut *lock(&self.deferred));
        let count = deferred.len();
        drop(deferred);
        tracing::debug!(
            ?waited,
            deferred = count,
            released = ?start.elapsed() - waited,
            recorders = lock(&self.recorders).len(),
            transfer_recorders = lock(&self.transfer_recorders).len(),
            kernels = lock(&self.kernels).len(),
            "closing the context: device idle, deferred submissions released"
        );
        // Losing the cache file only costs compile time next run.
        let _ = self.pipeline_cache.save();
    }
}
