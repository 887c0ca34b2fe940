//! The public entry point: open a device, build kernels, allocate resident buffers,
//! record and submit batches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ash::vk;

use crate::batch::{Batch, DownloadId, Ticket};
use crate::config::ContextConfig;
use crate::memory::{MemoryKind, PoolStats};
use crate::pipeline::{Kernel, KernelKey};
use crate::submit::{lock, Shared};
#[cfg(feature = "fault-injection")]
use crate::FaultStage;
use crate::{DeviceBuffer, DeviceInfo, Error, KernelDesc};

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
        Ok(Self {
            shared: Arc::new(Shared::new(config)?),
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

    /// How many threads have submitted work to this context so far.
    ///
    /// Submit from long-lived threads (a pool), not a thread per job: the NVIDIA driver
    /// keeps state for every thread that ever submitted, and releases it when the context
    /// (its instance) is dropped in time that grows faster than the number of threads
    /// (driver 580 on the H200, 2026-11-29: 20,000 threads cost 3.6 s, 40,000 29 s).
    pub fn submitting_threads(&self) -> usize {
        self.shared.device.submitting_threads()
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

    /// Whether kernels may multiply 16 x 16 x 16 f16 matrices into f32 ones on the device's
    /// matrix units: VK_NV_cooperative_matrix with subgroup scope is enabled, with the
    /// shaderFloat16 and vulkanMemoryModel features, and subgroups have 32 invocations.
    pub fn f16_matrix_products(&self) -> bool {
        self.shared.device.f16_matrix
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
        fill: impl FnMut(usize, &mut [u64]),
        read: impl FnOnce(&[u64]) -> R,
    ) -> Result<R, Error> {
        self.submit_elementwise(kernel, count, fill)?.finish(read)
    }

    /// [`Context::run_elementwise`] in two halves: this one fills the inputs and submits;
    /// [`ElementwiseJob::finish`] waits and reads. Between them the calling thread is free
    /// (for host work that overlaps the device's), and other batches may be submitted
    /// behind this one.
    ///
    /// # Errors
    /// As [`Context::run_elementwise`], less the waiting.
    pub fn submit_elementwise(
        &self,
        kernel: &Kernel,
        count: usize,
        mut fill: impl FnMut(usize, &mut [u64]),
    ) -> Result<ElementwiseJob, Error> {
        let k = &kernel.raw;
        if !Arc::ptr_eq(&k.device, &self.shared.device) {
            return Err(Error::InvalidArgument(format!(
                "kernel `{}` was created on another context",
                k.name
            )));
        }
        if count == 0 {
            return Ok(ElementwiseJob { submitted: None });
        }
        let wpe = k.words_per_element;
        // Checks the limits before any allocation or call of `fill`.
        crate::dispatch::DispatchPlan::new(&self.shared.device.limits, k, count)?;
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
        // The submission keeps the buffers alive until it completes.
        Ok(ElementwiseJob {
            submitted: Some((batch.submit()?, id)),
        })
    }
}

/// A submitted element-wise job ([`Context::submit_elementwise`]). Dropping it without
/// finishing is safe: its resources are released once the device is done.
#[must_use = "finish the job to read its results"]
#[derive(Debug)]
pub struct ElementwiseJob {
    /// `None` for a job of no elements.
    submitted: Option<(Ticket, DownloadId)>,
}

impl ElementwiseJob {
    /// Waits for the job and calls `read` with the output words (an empty slice for a job
    /// of no elements).
    ///
    /// # Errors
    /// As [`Ticket::finish`].
    pub fn finish<R>(self, read: impl FnOnce(&[u64]) -> R) -> Result<R, Error> {
        match self.submitted {
            None => Ok(read(&[])),
            Some((ticket, id)) => ticket.finish()?.read(id, read),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ash::vk;

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
                std::env::var(crate::ENV_VALIDATION).as_deref(),
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
