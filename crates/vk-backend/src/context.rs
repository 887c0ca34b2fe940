//! The public entry point: open a device, build kernels, allocate resident buffers,
//! record and submit batches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ash::vk;

use crate::batch::{Batch, InFlight};
use crate::command::Recorder;
use crate::device::Device;
use crate::memory::{BufferPool, MemoryKind, PoolStats, RawBuffer};
use crate::pipeline::{Kernel, KernelKey, PipelineCache};
use crate::sync::Timeline;
use crate::{DeviceBuffer, DeviceInfo, DeviceSelector, Error, KernelDesc};

/// Environment variable that picks the device: an enumeration index (`0`, `1`, ...) or a
/// case-insensitive substring of the device name (`llvmpipe`, `H100`).
pub const ENV_DEVICE: &str = "VK_BACKEND_DEVICE";
/// Environment variable for the validation layer: `off`/`0`, `on`/`1` (when installed) or
/// `require` (fail when not installed).
pub const ENV_VALIDATION: &str = "VK_BACKEND_VALIDATION";
/// Environment variable with the path of the Vulkan loader library to use instead of the
/// system's `libvulkan.so.1`.
pub const ENV_LOADER: &str = "VK_BACKEND_LOADER";
/// Environment variable with the directory of the on-disk pipeline cache, or `off`.
/// Unset: `$XDG_CACHE_HOME/vk-backend`, else `$HOME/.cache/vk-backend`.
pub const ENV_PIPELINE_CACHE: &str = "VK_BACKEND_PIPELINE_CACHE";

/// Whether to run with the Khronos validation layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Validation {
    /// No validation (production).
    #[default]
    Off,
    /// Validation when the layer is installed, silently none otherwise.
    IfInstalled,
    /// Validation, or [`Error::ValidationLayerMissing`] when the layer is not installed.
    Required,
}

/// How to open a [`Context`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContextConfig {
    /// Which device.
    pub device: DeviceSelector,
    /// Validation layer policy.
    pub validation: Validation,
    /// The Vulkan loader library; `None` for the system's. Set only through the `unsafe`
    /// [`ContextConfig::with_loader`] or [`ENV_LOADER`]: loading a library runs its code.
    pub(crate) loader: Option<PathBuf>,
    /// How long [`crate::Ticket::finish`] and the one-call helpers wait for the GPU before
    /// giving up with [`Error::Timeout`].
    pub timeout: Duration,
    /// How long a wait spins on the timeline counter before blocking in the driver. On the
    /// H100 a blocking wait wakes ~20 us later than a spin, so short jobs spin.
    pub spin: Duration,
    /// Use the device's transfer-only queues (copy engines) for streamed jobs' uploads
    /// and, where that family has a second queue, their downloads; off, every copy runs
    /// on the compute queue.
    pub transfer_queue: bool,
    /// Buffers up to this many bytes are allocated in host-writable device memory when the
    /// device has resizable BAR (and kernel outputs of one-call jobs go straight to host
    /// memory), so small uploads need no copy. `0` turns this off.
    pub direct_limit: u64,
    /// Idle bytes the buffer pool keeps for reuse.
    pub pool_idle_limit: u64,
    /// Directory of the on-disk pipeline cache; `None` for none.
    pub pipeline_cache_dir: Option<PathBuf>,
    /// Bytes per buffer of one chunk of a streamed job ([`Context::run_streamed`]);
    /// 8 MiB by default (measured).
    pub stream_chunk_bytes: u64,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            device: DeviceSelector::Best,
            validation: Validation::Off,
            loader: None,
            timeout: Duration::from_secs(10),
            spin: Duration::from_micros(200),
            transfer_queue: true,
            direct_limit: 4 << 20,
            pool_idle_limit: 2 << 30,
            pipeline_cache_dir: None,
            // Measured on the H100 (16Mi-element add, 2026-11-21): 8 MiB chunks 2.96 ns per
            // element, 32 MiB 3.22, 128 MiB 4.59 (less overlap at the ends).
            stream_chunk_bytes: 8 << 20,
        }
    }
}

impl ContextConfig {
    /// The defaults, overridden by [`ENV_DEVICE`], [`ENV_VALIDATION`], [`ENV_LOADER`] and
    /// [`ENV_PIPELINE_CACHE`] (which defaults to the user's cache directory here).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the variable when a value is not understood.
    pub fn from_env() -> Result<Self, Error> {
        let mut config = Self::default();
        if let Some(v) = env_value(ENV_DEVICE)? {
            config.device = DeviceSelector::parse(&v);
        }
        if let Some(v) = env_value(ENV_VALIDATION)? {
            config.validation = parse_validation(&v)?;
        }
        if let Some(v) = env_value(ENV_LOADER)? {
            // Whoever sets the process environment can already make the system loader run
            // any code (VK_DRIVER_FILES, VK_ADD_LAYER_PATH, LD_LIBRARY_PATH); this variable
            // gives them nothing more, so reading it needs no `unsafe` of the caller.
            config.loader = Some(PathBuf::from(v));
        }
        config.pipeline_cache_dir = match env_value(ENV_PIPELINE_CACHE)? {
            Some(v) if v.eq_ignore_ascii_case("off") => None,
            Some(v) => Some(PathBuf::from(v)),
            None => default_cache_dir(),
        };
        Ok(config)
    }

    /// The same config with a different validation policy.
    pub fn with_validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// The same config with a different device selector.
    pub fn with_device(mut self, device: DeviceSelector) -> Self {
        self.device = device;
        self
    }

    /// The same config with a different Vulkan loader library.
    ///
    /// # Safety
    /// Opening a context loads this shared library into the process, which runs its
    /// initialisers and then calls its Vulkan entry points: `loader` must be a Vulkan
    /// loader (or driver) that is sound to load and call, like the system's
    /// `libvulkan.so.1`.
    pub unsafe fn with_loader(mut self, loader: impl Into<PathBuf>) -> Self {
        self.loader = Some(loader.into());
        self
    }

    /// The same config with a different timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same config with a different spin time before blocking waits.
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// The same config with a different direct-write limit (`0`: always stage).
    pub fn with_direct_limit(mut self, bytes: u64) -> Self {
        self.direct_limit = bytes;
        self
    }

    /// The same config with or without the transfer queue.
    pub fn with_transfer_queue(mut self, on: bool) -> Self {
        self.transfer_queue = on;
        self
    }

    /// The same config with a different streamed-chunk size in bytes per buffer.
    pub fn with_stream_chunk_bytes(mut self, bytes: u64) -> Self {
        self.stream_chunk_bytes = bytes.max(1);
        self
    }

    /// The same config with a different limit on idle pooled bytes.
    pub fn with_pool_idle_limit(mut self, bytes: u64) -> Self {
        self.pool_idle_limit = bytes;
        self
    }

    /// The same config with a different pipeline-cache directory.
    pub fn with_pipeline_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.pipeline_cache_dir = dir;
        self
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("vk-backend"))
}

fn env_value(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::InvalidArgument(format!("{name} is not valid UTF-8")))
        }
    }
}

pub(crate) fn parse_validation(value: &str) -> Result<Validation, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" => Ok(Validation::Off),
        "1" | "on" | "true" | "yes" => Ok(Validation::IfInstalled),
        "require" | "required" => Ok(Validation::Required),
        other => Err(Error::InvalidArgument(format!(
            "{ENV_VALIDATION}={other:?} is not one of off, on, require"
        ))),
    }
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
    kernels: Mutex<HashMap<KernelKey, Kernel>>,
    pipeline_cache: PipelineCache,
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

/// Where an injected fault strikes ([`Context::inject_fault`], feature `fault-injection`).
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
        for r in [in_flight.recorder.take(), in_flight.copy_recorder.take()]
            .into_iter()
            .flatten()
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
        let usage = vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST
            | vk::BufferUsageFlags::STORAGE_BUFFER;
        self.pool.acquire(bytes, usage, MemoryKind::HostStaging)
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
        // SAFETY: the device is live; waiting for idle makes every deferred submission
        // complete before its resources are released below.
        unsafe {
            let _ = self.device.raw.device_wait_idle();
        }
        lock(&self.deferred).clear();
        // Losing the cache file only costs compile time next run.
        let _ = self.pipeline_cache.save();
    }
}

/// What [`Context::probe`] returns: the context's device-memory allocation count and
/// validation messages, readable after the context is gone.
#[derive(Clone)]
pub struct ContextProbe {
    log: Arc<crate::instance::ValidationLog>,
    allocations: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ContextProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextProbe")
            .field("live_allocations", &self.live_allocations())
            .finish_non_exhaustive()
    }
}

impl ContextProbe {
    /// Device-memory allocations still live (pooled buffers included); 0 once the context
    /// and everything made from it are dropped, unless something leaked.
    pub fn live_allocations(&self) -> usize {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Returns and clears the warnings and errors the validation layer has reported.
    pub fn take_validation_messages(&self) -> Vec<String> {
        self.log.take()
    }
}

/// An open Vulkan device ready to run kernels. `Send + Sync`; share it with an `Arc`.
///
/// Threads may record and submit batches concurrently: each batch takes its own recorder
/// (command pool, command buffer, descriptor pools), and only the `vkQueueSubmit` itself
/// is serialised.
pub struct Context {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("device", &self.shared.device.info.name)
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Opens the device `config` selects.
    ///
    /// # Errors
    /// [`Error::LoaderNotFound`] without a Vulkan loader, [`Error::NoSuitableDevice`]
    /// without a usable device, [`Error::ValidationLayerMissing`] when validation is
    /// required but not installed; never panics.
    pub fn new(config: &ContextConfig) -> Result<Self, Error> {
        let device = Device::new(config)?;
        let pipeline_cache = PipelineCache::new(&device, config.pipeline_cache_dir.as_deref())?;
        let shared = Shared {
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
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }

    /// Facts about the device in use.
    pub fn info(&self) -> &DeviceInfo {
        &self.shared.device.info
    }

    /// Whether the validation layer is active on this context.
    pub fn validation_enabled(&self) -> bool {
        self.shared.device.instance.validation_enabled
    }

    /// Returns and clears the warnings and errors the validation layer has reported.
    pub fn take_validation_messages(&self) -> Vec<String> {
        self.shared.device.instance.validation_log.take()
    }

    /// Makes the next operation at `stage` fail with `error` (feature `fault-injection`),
    /// to test recovery: uploads fail in `Batch::upload`, submissions in `Batch::submit`
    /// and the streamed/one-call paths, downloads in the wait for a submission.
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, stage: FaultStage, error: Error) {
        *lock(&self.shared.fault) = Some((stage, error));
    }

    /// Whether the device has been lost; every operation then fails with
    /// [`Error::DeviceLost`] and the context must be recreated.
    pub fn is_lost(&self) -> bool {
        self.shared.device.is_lost()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A probe of this context that stays readable after the context is dropped: for
    /// checking that nothing leaked and that the validation layer was quiet until the end
    /// (the device's destruction included).
    pub fn probe(&self) -> ContextProbe {
        let device = &self.shared.device;
        ContextProbe {
            log: Arc::clone(&device.instance.validation_log),
            allocations: device.allocation_counter(),
        }
    }

    /// How many device-memory allocations are live (pooled buffers included).
    pub fn live_allocations(&self) -> usize {
        self.shared.device.live_allocations()
    }

    /// Buffer-pool statistics: hits, misses, bytes held.
    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// Frees every idle pooled buffer.
    pub fn trim_pool(&self) {
        self.shared.pool.trim();
    }

    /// The largest buffer a kernel can bind, in bytes (`maxStorageBufferRange`).
    pub fn max_kernel_buffer_bytes(&self) -> u64 {
        u64::from(self.shared.device.limits.max_storage_buffer_range)
    }

    /// Whether kernels may use 64-bit integers (shaderInt64).
    pub fn shader_int64(&self) -> bool {
        self.shared.device.shader_int64
    }

    /// Whether kernels may use 64-bit floating point (shaderFloat64).
    pub fn shader_float64(&self) -> bool {
        self.shared.device.shader_float64
    }

    /// Whether streamed uploads use a transfer-only queue (copy engines).
    pub fn has_transfer_queue(&self) -> bool {
        self.shared.device.upload.is_some()
    }

    /// Whether streamed downloads use a transfer-only queue of their own (the transfer
    /// family's second queue); without one they run on the compute queue.
    pub fn has_download_queue(&self) -> bool {
        self.shared.device.download.is_some()
    }

    /// Whether small buffers live in host-writable device memory (resizable BAR).
    pub fn direct_writes(&self) -> bool {
        self.shared.direct_limit > 0
    }

    /// What happened to the on-disk pipeline cache when the context opened.
    pub fn pipeline_cache_status(&self) -> &str {
        &self.shared.pipeline_cache.status
    }

    /// Saves the pipeline cache now (it is also saved when the context is dropped).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be written.
    pub fn save_pipeline_cache(&self) -> Result<(), Error> {
        self.shared.pipeline_cache.save()
    }

    /// The compute kernel `desc` describes. Kernels are cached per (SPIR-V, interface,
    /// workgroup size): asking again returns the same pipeline.
    ///
    /// # Errors
    /// [`Error::InvalidSpirv`] for bytes that are not SPIR-V, [`Error::InvalidArgument`]
    /// for a workgroup size outside the device limits, Vulkan errors otherwise.
    pub fn create_kernel(&self, desc: &KernelDesc<'_>) -> Result<Kernel, Error> {
        let device = &self.shared.device;
        device.check_alive()?;
        let key = KernelKey::new(device, desc)?;
        if let Some(k) = lock(&self.shared.kernels).get(&key) {
            return Ok(k.clone());
        }
        let kernel = Kernel::new(device, self.shared.pipeline_cache.raw, desc)?;
        Ok(lock(&self.shared.kernels)
            .entry(key)
            .or_insert(kernel)
            .clone())
    }

    /// The built-in copy kernel: one input, elements of 2 u64 words (16 bytes), `out[i] =
    /// in[i]`. A compute copy is the device's memory-bandwidth ceiling (on the H100 it runs
    /// ~4x faster than `vkCmdCopyBuffer`).
    ///
    /// # Errors
    /// As [`Context::create_kernel`].
    pub fn copy_kernel(&self) -> Result<Kernel, Error> {
        static COPY: std::sync::LazyLock<crate::SpirvModule> = std::sync::LazyLock::new(|| {
            let spirv = include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shaders/util/copy.spv"
            ));
            // SAFETY: shaders/util/copy.comp reads and writes only elements below `count`
            // (its accesses are guarded by `index < count`) with one input of 2 words per
            // element, the interface it is used with here.
            unsafe { crate::SpirvModule::from_bytes_unchecked(&spirv[..]) }
        });
        self.create_kernel(&KernelDesc::elementwise("copy", &COPY, 1, 2))
    }

    /// A resident buffer of `len` elements of `words_per_element` u64 words, contents
    /// undefined until uploaded or written by a kernel.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the size overflows; memory errors.
    pub fn alloc(&self, len: usize, words_per_element: u32) -> Result<DeviceBuffer, Error> {
        let bytes = self.bytes(len, words_per_element)?;
        let kind = if bytes <= self.shared.direct_limit {
            MemoryKind::DeviceMapped
        } else {
            MemoryKind::DeviceLocal
        };
        let usage = vk::BufferUsageFlags::STORAGE_BUFFER
            | vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST;
        let buf = self.shared.pool.acquire(bytes, usage, kind)?;
        Ok(DeviceBuffer::new(buf, len, words_per_element))
    }

    /// A buffer in host memory (cached where the device offers it) that kernels read and
    /// write directly over the bus: no copies, at PCIe speed. The fastest path for small
    /// outputs (read them with [`Batch::read_host`]); [`Batch::upload`] writes it in place.
    ///
    /// # Errors
    /// As [`Context::alloc`].
    pub fn alloc_host(&self, len: usize, words_per_element: u32) -> Result<DeviceBuffer, Error> {
        let bytes = self.bytes(len, words_per_element)?;
        Ok(DeviceBuffer::new(
            self.shared.staging(bytes)?,
            len,
            words_per_element,
        ))
    }

    /// Lets `f` read a buffer from [`Context::alloc_host`] in place, as elements of `T`
    /// (`T::WORDS` must equal the buffer's words per element). Waits (up to the configured
    /// timeout) for submitted work that uses the buffer; while `f` runs, no submission
    /// using the buffer can start.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a buffer not in host memory, of another context, or
    /// of another element size; [`Error::Timeout`] or [`Error::DeviceLost`] while waiting.
    pub fn host_read<T: crate::HostElement, R>(
        &self,
        buf: &DeviceBuffer,
        f: impl FnOnce(&[T]) -> R,
    ) -> Result<R, Error> {
        let raw = self.host_buffer::<T>(buf)?;
        let _guard = raw.host_access.lock().unwrap_or_else(|p| p.into_inner());
        self.wait_for_buffer(raw)?;
        // SAFETY: the host-access lock keeps submissions using the buffer from starting,
        // and every earlier one has completed (waited above; the final barrier of each
        // batch makes GPU writes visible to the host). T is plain data of the buffer's
        // element size (HostElement's contract; size checked by host_buffer).
        let words = unsafe { raw.words(buf.words())? };
        let ptr = words.as_ptr().cast::<T>();
        // SAFETY: the mapping is 8-byte aligned, T's alignment is at most 8, and the words
        // hold exactly len elements of T.
        Ok(f(unsafe { std::slice::from_raw_parts(ptr, buf.len()) }))
    }

    /// Lets `f` write a buffer from [`Context::alloc_host`] in place, as elements of `T`;
    /// the same waiting and exclusion as [`Context::host_read`].
    ///
    /// # Errors
    /// As [`Context::host_read`].
    pub fn host_write<T: crate::HostElement, R>(
        &self,
        buf: &DeviceBuffer,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> Result<R, Error> {
        let raw = self.host_buffer::<T>(buf)?;
        let _guard = raw.host_access.lock().unwrap_or_else(|p| p.into_inner());
        self.wait_for_buffer(raw)?;
        // SAFETY: as in host_read; the lock also excludes every other host access through
        // this API, so this is the only reference to the mapping while `f` runs.
        let words = unsafe { raw.words_mut(buf.words())? };
        let ptr = words.as_mut_ptr().cast::<T>();
        // SAFETY: as in host_read.
        Ok(f(unsafe { std::slice::from_raw_parts_mut(ptr, buf.len()) }))
    }

    fn host_buffer<'b, T: crate::HostElement>(
        &self,
        buf: &'b DeviceBuffer,
    ) -> Result<&'b Arc<RawBuffer>, Error> {
        if !Arc::ptr_eq(buf.buf.pool(), &self.shared.pool) {
            return Err(Error::InvalidArgument(
                "buffer belongs to another context".to_owned(),
            ));
        }
        if buf.buf.kind != MemoryKind::HostStaging {
            return Err(Error::InvalidArgument(
                "host access needs a buffer from alloc_host".to_owned(),
            ));
        }
        if T::WORDS != buf.words_per_element() {
            return Err(Error::InvalidArgument(format!(
                "elements of {} words cannot view a buffer of {}-word elements",
                T::WORDS,
                buf.words_per_element()
            )));
        }
        Ok(&buf.buf)
    }

    /// Waits until every submission that used `raw` has completed.
    fn wait_for_buffer(&self, raw: &RawBuffer) -> Result<(), Error> {
        let last = raw.last_use.load(Ordering::Acquire);
        if last > self.shared.timeline.completed()? {
            self.shared
                .timeline
                .wait(last, self.shared.timeout, self.shared.spin)?;
        }
        Ok(())
    }

    fn bytes(&self, len: usize, words_per_element: u32) -> Result<u64, Error> {
        (len as u64)
            .checked_mul(u64::from(words_per_element) * 8)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{len} elements of {words_per_element} words overflow"
                ))
            })
    }

    /// Starts recording a batch. Record batch N+1 while batch N runs: they use separate
    /// recorders.
    ///
    /// # Errors
    /// [`Error::DeviceLost`]; Vulkan errors creating a recorder.
    pub fn batch(&self) -> Result<Batch<'_>, Error> {
        self.new_batch(false)
    }

    /// Like [`Context::batch`], and the finished batch reports its GPU time by phase
    /// ([`crate::Finished::timings`]), from timestamp queries.
    ///
    /// # Errors
    /// As [`Context::batch`].
    pub fn timed_batch(&self) -> Result<Batch<'_>, Error> {
        self.new_batch(true)
    }

    fn new_batch(&self, timed: bool) -> Result<Batch<'_>, Error> {
        self.shared.device.check_alive()?;
        let serial = self.shared.next_serial();
        Batch::new(&self.shared, serial, self.shared.recorder()?, timed, true)
    }

    /// A batch whose commands are not ordered after earlier submissions (no leading
    /// barrier), so the GPU may run it alongside them: only for work whose buffers no
    /// earlier submission still uses (the caller has waited for them) and that does not
    /// conflict with the other unordered batches it runs beside.
    pub(crate) fn unordered_batch(&self) -> Result<Batch<'_>, Error> {
        self.shared.device.check_alive()?;
        let serial = self.shared.next_serial();
        Batch::new(&self.shared, serial, self.shared.recorder()?, false, false)
    }

    /// Uploads `len` elements written by `fill` into a new resident buffer, and waits.
    ///
    /// # Errors
    /// As [`Context::alloc`], [`Batch::upload`] and [`crate::Ticket::finish`].
    pub fn upload(
        &self,
        len: usize,
        words_per_element: u32,
        fill: impl FnOnce(&mut [u64]),
    ) -> Result<DeviceBuffer, Error> {
        let buf = self.alloc(len, words_per_element)?;
        let mut batch = self.batch()?;
        batch.upload(&buf, fill)?;
        batch.submit()?.finish()?;
        Ok(buf)
    }

    /// Downloads a resident buffer, waits, and calls `read` with its words.
    ///
    /// # Errors
    /// As [`Batch::download`] and [`crate::Ticket::finish`].
    pub fn download<R>(
        &self,
        buf: &DeviceBuffer,
        read: impl FnOnce(&[u64]) -> R,
    ) -> Result<R, Error> {
        let mut batch = self.batch()?;
        let id = batch.download(buf)?;
        batch.submit()?.finish()?.read(id, read)
    }

    /// Runs an element-wise `kernel` over `count` elements in one round trip: one command
    /// buffer uploads the inputs, dispatches and downloads the output; one submission; one
    /// wait (spin, then block, up to the configured timeout).
    ///
    /// `fill(i, words)` writes input `i` (`count * words_per_element` u64 words) straight
    /// into upload memory (device memory itself on resizable-BAR devices); `read(words)`
    /// receives the output words (which small jobs' kernels write straight into host
    /// memory). With `count == 0` nothing is submitted and `read` gets an empty slice.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a batch above the device's buffer or dispatch limits
    /// or a kernel from another context; [`Error::Timeout`] when the GPU does not finish in
    /// time; [`Error::DeviceLost`] (then and ever after) when the device is lost.
    pub fn run_elementwise<R>(
        &self,
        kernel: &Kernel,
        count: usize,
        mut fill: impl FnMut(usize, &mut [u64]),
        read: impl FnOnce(&[u64]) -> R,
    ) -> Result<R, Error> {
        let k = &kernel.raw;
        if !Arc::ptr_eq(&k.device, &self.shared.device) {
            return Err(Error::InvalidArgument(format!(
                "kernel `{}` was created on another context",
                k.name
            )));
        }
        if count == 0 {
            return Ok(read(&[]));
        }
        let wpe = k.words_per_element;
        // Checks the limits before any allocation or call of `fill`.
        crate::batch::DispatchPlan::new(&self.shared.device.limits, k, count)?;
        let inputs = (0..k.inputs)
            .map(|_| self.alloc(count, wpe))
            .collect::<Result<Vec<_>, _>>()?;
        let direct_out = self.bytes(count, wpe)? <= self.shared.direct_limit;
        let output = if direct_out {
            self.alloc_host(count, wpe)?
        } else {
            self.alloc(count, wpe)?
        };
        let mut batch = self.batch()?;
        for (i, buf) in inputs.iter().enumerate() {
            batch.upload(buf, |words| fill(i, words))?;
        }
        let refs: Vec<&DeviceBuffer> = inputs.iter().collect();
        batch.dispatch(kernel, &refs, &output)?;
        let id = if direct_out {
            batch.read_host(&output)?
        } else {
            batch.download(&output)?
        };
        batch.submit()?.finish()?.read(id, read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ash::vk;

    #[test]
    fn validation_values_parse() {
        assert_eq!(parse_validation("off").unwrap(), Validation::Off);
        assert_eq!(parse_validation(" 1 ").unwrap(), Validation::IfInstalled);
        assert_eq!(parse_validation("REQUIRE").unwrap(), Validation::Required);
        let err = parse_validation("sometimes").unwrap_err();
        assert!(err.to_string().contains(ENV_VALIDATION), "{err}");
    }

    #[test]
    fn kernels_are_cached_per_specialization_not_per_call() {
        let Some(ctx) = crate::test_support::test_context("kernels_are_cached") else {
            return;
        };
        let spirv = crate::test_support::fq_add_module();
        let desc = crate::KernelDesc::elementwise("fq_add", spirv, 2, 6);
        let a = ctx.create_kernel(&desc).unwrap();
        let b = ctx.create_kernel(&desc).unwrap();
        let c = ctx.create_kernel(&desc.with_workgroup_size(64)).unwrap();
        assert!(Arc::ptr_eq(&a.raw, &b.raw));
        assert!(!Arc::ptr_eq(&a.raw, &c.raw));
    }

    #[test]
    fn pipeline_cache_file_round_trips_and_bad_files_are_ignored() {
        let dir =
            std::env::temp_dir().join(format!("vk-backend-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spirv = crate::test_support::fq_add_module();
        let open = || {
            crate::test_support::test_context_with("pipeline_cache_file", |c| {
                c.with_pipeline_cache_dir(Some(dir.clone()))
            })
        };
        let Some(ctx) = open() else { return };
        assert!(
            ctx.pipeline_cache_status().starts_with("new file"),
            "{}",
            ctx.pipeline_cache_status()
        );
        ctx.create_kernel(&crate::KernelDesc::elementwise("fq_add", spirv, 2, 6))
            .unwrap();
        drop(ctx); // saves
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let ctx = open().unwrap();
        assert!(
            ctx.pipeline_cache_status().starts_with("loaded"),
            "{}",
            ctx.pipeline_cache_status()
        );
        drop(ctx);
        // Corrupt and truncated files are ignored with a reason, never handed to the driver.
        std::fs::write(
            &files[0],
            b"garbage that is long enough to hold a header, but wrong",
        )
        .unwrap();
        let ctx = open().unwrap();
        assert!(
            ctx.pipeline_cache_status().contains("unknown header"),
            "{}",
            ctx.pipeline_cache_status()
        );
        drop(ctx);
        std::fs::write(&files[0], b"short").unwrap();
        let ctx = open().unwrap();
        assert!(
            ctx.pipeline_cache_status().contains("shorter than"),
            "{}",
            ctx.pipeline_cache_status()
        );
        ctx.create_kernel(&crate::KernelDesc::elementwise("fq_add", spirv, 2, 6))
            .unwrap();
        drop(ctx);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Proves the messenger is wired up: a deliberately invalid call must be reported.
    /// Without this, "no validation messages" in every other test could mean "not listening".
    #[test]
    fn validation_layer_reports_misuse() {
        let Some(ctx) = crate::test_support::test_context("validation_layer_reports_misuse") else {
            return;
        };
        if !ctx.validation_enabled() {
            assert_ne!(
                std::env::var(ENV_VALIDATION).as_deref(),
                Ok("require"),
                "validation was required but is off"
            );
            eprintln!("validation layer not installed: nothing to check");
            return;
        }
        let device = &ctx.shared.device;
        // Usage must not be empty (VUID-VkBufferCreateInfo-usage-requiredbitmask).
        let info = vk::BufferCreateInfo::default()
            .size(64)
            .usage(vk::BufferUsageFlags::empty());
        // SAFETY: the device is live; the invalid usage is what this test is about, and
        // drivers accept it (lavapipe, NVIDIA) while the layer reports it.
        if let Ok(buffer) = unsafe { device.raw.create_buffer(&info, None) } {
            // SAFETY: created just above, never used.
            unsafe { device.raw.destroy_buffer(buffer, None) };
        }
        let messages = ctx.take_validation_messages();
        assert!(
            messages.iter().any(|m| m.contains("usage")),
            "expected a validation error about buffer usage, got {messages:?}"
        );
    }
}
