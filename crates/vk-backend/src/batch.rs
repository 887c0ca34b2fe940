//! One-submit batches: many uploads, dispatches and downloads recorded into one command
//! buffer with automatic barriers, one submission, one wait; and the ticket to wait on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ash::vk;

use crate::command::{memory_barrier, Hazards, Recorder};
use crate::dispatch::{check_elementwise, DispatchPlan};
use crate::memory::{MemoryKind, RawBuffer};
use crate::pipeline::{Kernel, RawKernel};
use crate::ring::RingLease;
use crate::submit::{InFlight, Lane, Shared};
use crate::{DeviceBuffer, Error, FaultStage};

/// GPU time of a batch by phase, in nanoseconds (timestamp queries, `timestampPeriod`
/// applied). Phases are split at the first dispatch and the first download.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GpuTimings {
    /// From the start of the batch to the first dispatch: uploads.
    pub upload_ns: u64,
    /// From the first dispatch to the first download: compute.
    pub compute_ns: u64,
    /// From the first download to the end.
    pub download_ns: u64,
    /// The whole batch on the GPU.
    pub total_ns: u64,
}

/// Names a download of a batch, to read its data from the [`Finished`] batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadId {
    batch: u64,
    index: usize,
}

impl DownloadId {
    /// The first download of the batch with serial `batch`.
    pub(crate) fn first_of(batch: u64) -> Self {
        Self { batch, index: 0 }
    }
}

/// Uploads of at least this many bytes into device-local buffers nothing else uses go
/// ahead of their batch ([`Batch::upload`]); smaller ones stay inside it, where they cost
/// no submission of their own. On resizable-BAR devices buffers up to the direct-write
/// limit (4 MiB) are written in place instead: on the H200 (2026-11-29) seed 001's
/// compositions of 1.5 MiB buffers took 1.5-1.8x longer through copies ahead of the batch
/// than written in place, while those of 12-24 MiB buffers ran 1.3x faster ahead.
const EARLY_UPLOAD_BYTES: u64 = 1 << 20;

/// A batch being recorded. Nothing runs until [`Batch::submit`], except large uploads,
/// which start at once ([`Batch::upload`]).
///
/// ```no_run
/// # fn demo(ctx: &vk_backend::Context, kernel: &vk_backend::Kernel) -> Result<(), vk_backend::Error> {
/// let a = ctx.alloc(1024, 6)?;
/// let b = ctx.alloc(1024, 6)?;
/// let out = ctx.alloc(1024, 6)?;
/// let mut batch = ctx.batch()?;
/// batch.upload(&a, |w| w.fill(1))?;
/// batch.upload(&b, |w| w.fill(2))?;
/// batch.dispatch(kernel, &[&a, &b], &out)?;
/// let id = batch.download(&out)?;
/// let done = batch.submit()?.finish()?;
/// let first = done.read(id, |w| w[0])?;
/// # Ok(()) }
/// ```
pub struct Batch<'c> {
    shared: &'c Arc<Shared>,
    serial: u64,
    rec: Recorder,
    hazards: Hazards,
    /// Buffers referenced by recorded commands (and so by the submission).
    touched: HashSet<vk::Buffer>,
    keep: Vec<Arc<RawBuffer>>,
    kernels: Vec<Arc<RawKernel>>,
    /// The upload submissions this batch's submission waits for. Declared before
    /// `ring_leases`: dropped unsubmitted, they wait for their copies before the staging
    /// regions those read are given back.
    uploads: Vec<AdoptedUpload>,
    /// Timed batches keep every copy inside their own submission, where the timestamps
    /// see it.
    timed: bool,
    /// The caller holds the host-access locks of the host buffers used (see submit).
    host_locks_held: bool,
    downloads: Vec<(Arc<RawBuffer>, usize)>,
    /// Stages whose writes the host will read (downloads, dispatches into host memory).
    host_reads_from: vk::PipelineStageFlags,
    dispatched: bool,
    downloading: bool,
    /// A Vulkan error left the command buffer in an unknown state.
    broken: bool,
    /// Regions of the upload staging ring this batch copies from.
    ring_leases: Vec<RingLease<'c>>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("serial", &self.serial)
            .field("buffers", &self.keep.len())
            .finish_non_exhaustive()
    }
}

impl<'c> Batch<'c> {
    pub(crate) fn new(
        shared: &'c Arc<Shared>,
        serial: u64,
        mut rec: Recorder,
        timed: bool,
        after_earlier: bool,
    ) -> Result<Self, Error> {
        rec.begin(timed)?;
        if after_earlier {
            let raw = &shared.device.raw;
            let all = vk::PipelineStageFlags::TRANSFER | vk::PipelineStageFlags::COMPUTE_SHADER;
            // Earlier submissions on this queue may still run and may have written what
            // this batch reads (or read what it writes): a barrier's first scope includes
            // every command earlier in submission order, so one at the start orders us
            // after them.
            // SAFETY: the command buffer is recording.
            unsafe { memory_barrier(raw, rec.cmd, all, all) };
        }
        Ok(Self {
            shared,
            serial,
            rec,
            hazards: Hazards::default(),
            touched: HashSet::new(),
            keep: Vec::new(),
            kernels: Vec::new(),
            uploads: Vec::new(),
            timed,
            host_locks_held: false,
            downloads: Vec::new(),
            host_reads_from: vk::PipelineStageFlags::empty(),
            dispatched: false,
            downloading: false,
            broken: false,
            ring_leases: Vec::new(),
        })
    }

    fn check_ours(&self, b: &DeviceBuffer) -> Result<(), Error> {
        if Arc::ptr_eq(b.buf.pool(), &self.shared.pool) {
            Ok(())
        } else {
            Err(b.foreign_to(&self.shared.device))
        }
    }

    fn use_buffer(&mut self, b: &Arc<RawBuffer>) {
        if self.touched.insert(b.raw) {
            self.keep.push(Arc::clone(b));
        }
    }

    fn barrier_for(
        &mut self,
        reads: &[vk::Buffer],
        writes: &[vk::Buffer],
        stage: vk::PipelineStageFlags,
    ) {
        if let Some((src, dst)) = self.hazards.access(reads, writes, stage) {
            // SAFETY: the command buffer is recording.
            unsafe { memory_barrier(&self.shared.device.raw, self.rec.cmd, src, dst) };
        }
    }

    /// Fills `dst` with `fill(words)` (`dst.words()` u64 words) before the batch's later
    /// commands run.
    ///
    /// Small buffers in host-writable device memory (resizable BAR) that no pending work
    /// uses are written in place, with no copy. Large device-local buffers (1 MiB and up,
    /// above the direct-write limit where the device has resizable BAR) that no pending
    /// work and nothing earlier in this batch uses are copied from staging
    /// memory at once, on the copy engines, ahead of the batch (which waits for the copy):
    /// several of them then cross the bus while the caller fills the next. Others go
    /// through staging memory and a copy recorded here. Timed batches keep every copy in
    /// their own submission.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context; memory errors.
    pub fn upload(
        &mut self,
        dst: &DeviceBuffer,
        fill: impl FnOnce(&mut [u64]),
    ) -> Result<(), Error> {
        self.check_ours(dst)?;
        self.shared.fault_at(FaultStage::Upload)?;
        let words = dst.words();
        if words == 0 {
            return Ok(());
        }
        let completed = self.shared.timeline.completed()?;
        let idle = dst.buf.last_use.load(std::sync::atomic::Ordering::Acquire) <= completed;
        let bytes = words as u64 * 8;
        // Device-local memory only: the host cannot reach it but through a batch, so a
        // copy running ahead of the batch races with no host access.
        if dst.buf.kind == MemoryKind::DeviceLocal
            && bytes >= EARLY_UPLOAD_BYTES
            && idle
            && !self.timed
            && !self.touched.contains(&dst.buf.raw)
        {
            return self.upload_ahead(dst, bytes, completed, fill);
        }
        if dst.buf.kind.is_mapped() && idle && !self.touched.contains(&dst.buf.raw) {
            let _host = dst
                .buf
                .host_access
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            // SAFETY: no pending submission uses the buffer (idle), this batch has not
            // recorded a use of it, and the host-access lock excludes callers' slices, so
            // this is the only access until submit, which makes host writes visible to the
            // device.
            fill(unsafe { dst.buf.words_mut(words)? });
            self.use_buffer(&dst.buf);
            return Ok(());
        }
        let (staging, src_offset) = self.fill_staging(bytes, completed, fill)?;
        self.barrier_for(
            &[staging.raw],
            &[dst.buf.raw],
            vk::PipelineStageFlags::TRANSFER,
        );
        let region = vk::BufferCopy::default().src_offset(src_offset).size(bytes);
        // SAFETY: both buffers are live, large enough, and kept alive until completion.
        unsafe {
            self.shared.device.raw.cmd_copy_buffer(
                self.rec.cmd,
                staging.raw,
                dst.buf.raw,
                &[region],
            )
        };
        self.use_buffer(&staging);
        self.use_buffer(&dst.buf);
        Ok(())
    }

    /// [`Batch::upload`] of a large buffer that nothing pending and nothing earlier in
    /// this batch uses: the copy is submitted at once on the upload lane (the copy engines
    /// of the transfer-only queue where the device has one), so that it crosses the bus
    /// while the caller fills the next buffer; the batch's submission waits for it. A batch
    /// of several large uploads then costs about the host's fills or the bus, whichever is
    /// slower, rather than both one after the other.
    fn upload_ahead(
        &mut self,
        dst: &DeviceBuffer,
        bytes: u64,
        completed: u64,
        fill: impl FnOnce(&mut [u64]),
    ) -> Result<(), Error> {
        let (staging, src_offset) = self.fill_staging(bytes, completed, fill)?;
        let shared = self.shared;
        let mut rec = shared.copy_recorder(Lane::Upload)?;
        rec.begin(false)?;
        let region = vk::BufferCopy::default().src_offset(src_offset).size(bytes);
        // SAFETY: the recorder records for the upload queue's family; both buffers are
        // live, large enough, shared with that family (CONCURRENT where families differ)
        // and kept alive by this batch until the upload completes. Nothing pending uses
        // `dst` (idle on the compute timeline, the only one its users signal) and nothing
        // earlier in this batch does; the staging region is this batch's alone.
        unsafe {
            shared
                .device
                .raw
                .cmd_copy_buffer(rec.cmd, staging.raw, dst.buf.raw, &[region])
        };
        rec.end()?;
        let value = shared.submit_copy(Lane::Upload, rec.cmd, &[])?;
        self.adopt_upload(&[&staging, &dst.buf], rec, value);
        Ok(())
    }

    /// Fills `bytes` of staging memory with `fill`: a region of the staging ring, or (too
    /// large, or the ring full) a pooled staging buffer. Returns it and the region's offset.
    fn fill_staging(
        &mut self,
        bytes: u64,
        completed: u64,
        fill: impl FnOnce(&mut [u64]),
    ) -> Result<(Arc<RawBuffer>, u64), Error> {
        let words = (bytes / 8) as usize;
        Ok(
            match self
                .shared
                .ring()
                .and_then(|ring| ring.lease(bytes, completed))
            {
                Some(lease) => {
                    let staging = Arc::clone(lease.buffer());
                    // SAFETY: the lease's region is this batch's alone until the submission
                    // that reads it completes (or, unsubmitted, until the lease drops); the
                    // region lies within the ring (offset + bytes <= its size).
                    fill(unsafe { staging.words_range_mut((lease.offset / 8) as usize, words)? });
                    let offset = lease.offset;
                    self.ring_leases.push(lease);
                    (staging, offset)
                }
                None => {
                    let staging = self.shared.staging(bytes)?;
                    // SAFETY: a freshly acquired staging buffer is used by no pending work.
                    fill(unsafe { staging.words_mut(words)? });
                    (staging, 0)
                }
            },
        )
    }

    /// Runs element-wise `kernel` over `output.len()` elements, reading `inputs`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the number of inputs, the element sizes or the
    /// lengths do not match the kernel and each other, when the output is also an input,
    /// or for a kernel of another context; [`Error::ForeignBuffer`] for its buffers.
    pub fn dispatch(
        &mut self,
        kernel: &Kernel,
        inputs: &[&DeviceBuffer],
        output: &DeviceBuffer,
    ) -> Result<(), Error> {
        self.dispatch_range(kernel, inputs, output, 0..output.len())
    }

    /// As [`Batch::dispatch`], over elements `range` of every buffer only (the kernel sees
    /// a batch of `range.len()` elements starting there). Used to run one job as several
    /// submissions whose results the host can take in turn.
    ///
    /// # Errors
    /// As [`Batch::dispatch`]; [`Error::InvalidArgument`] also for a range past the end of
    /// the buffers or whose start is not a multiple of the device's storage-buffer offset
    /// alignment (in bytes).
    pub(crate) fn dispatch_range(
        &mut self,
        kernel: &Kernel,
        inputs: &[&DeviceBuffer],
        output: &DeviceBuffer,
        range: std::ops::Range<usize>,
    ) -> Result<(), Error> {
        let k = &kernel.raw;
        let count = output.len();
        check_elementwise(&self.shared.device, &self.shared.pool, k, inputs, output)?;
        let bad = |why: String| {
            Err(Error::InvalidArgument(format!(
                "dispatch of kernel `{}`: {why}",
                k.name
            )))
        };
        if range.start > range.end || range.end > count {
            return bad(format!(
                "elements {range:?} are outside the {count} of the buffers"
            ));
        }
        let offset = range.start as u64 * u64::from(k.words_per_element) * 8;
        let align = self
            .shared
            .device
            .limits
            .min_storage_buffer_offset_alignment;
        if !offset.is_multiple_of(align.max(1)) {
            return bad(format!(
                "elements from {} start at byte {offset}, not a multiple of the device's \
                 storage-buffer offset alignment ({align} bytes)",
                range.start
            ));
        }
        if range.is_empty() {
            return Ok(());
        }
        let plan = DispatchPlan::new(&self.shared.device.limits, k, range.len())?;
        let buffers: Vec<&Arc<RawBuffer>> =
            inputs.iter().map(|b| &b.buf).chain([&output.buf]).collect();
        self.record_dispatch(k, &plan, &buffers, offset)?;
        Ok(())
    }

    /// Records one dispatch of `plan` with every buffer bound from byte `offset`.
    fn record_dispatch(
        &mut self,
        k: &Arc<RawKernel>,
        plan: &DispatchPlan,
        buffers: &[&Arc<RawBuffer>],
        offset: u64,
    ) -> Result<(), Error> {
        let bytes = plan.words as u64 * 8;
        let mut infos: Vec<vk::DescriptorBufferInfo> = buffers
            .iter()
            .map(|b| {
                vk::DescriptorBufferInfo::default()
                    .buffer(b.raw)
                    .offset(offset)
                    .range(bytes)
            })
            .collect();
        let (status, status_offset) = self.rec.status.next(&self.shared.pool)?;
        infos.push(
            vk::DescriptorBufferInfo::default()
                .buffer(status.raw)
                .offset(status_offset)
                .range(4),
        );
        // The host reads the status words once the batch completes. They take no part in
        // the barriers: every dispatch has its own word and nothing on the device reads it.
        self.host_reads_from |= vk::PipelineStageFlags::COMPUTE_SHADER;
        self.use_buffer(&status);
        let raws: Vec<vk::Buffer> = buffers.iter().map(|b| b.raw).collect();
        let (reads, write) = raws.split_at(raws.len() - 1);
        self.barrier_for(reads, write, vk::PipelineStageFlags::COMPUTE_SHADER);
        self.record_bound(k, plan, &infos, &plan.push_constants(), buffers)
    }

    /// Records a dispatch of `k` whose barrier is in place: the first dispatch's
    /// timestamp, the dispatch, and the batch's hold on `buffers` and the kernel.
    fn record_bound(
        &mut self,
        k: &Arc<RawKernel>,
        plan: &DispatchPlan,
        infos: &[vk::DescriptorBufferInfo],
        push: &[u8],
        buffers: &[&Arc<RawBuffer>],
    ) -> Result<(), Error> {
        if !self.dispatched {
            self.dispatched = true;
            self.rec
                .timestamp(1, vk::PipelineStageFlags::BOTTOM_OF_PIPE);
        }
        // SAFETY: recording; the callers checked that every buffer is a live buffer of
        // this device, large enough for its descriptor, and the batch keeps them alive
        // until its submission completes (use_buffer below).
        unsafe { self.rec.record_dispatch(k, plan, infos, push) }
            .inspect_err(|_| self.broken = true)?;
        for b in buffers {
            self.use_buffer(b);
        }
        if !self.kernels.iter().any(|x| Arc::ptr_eq(x, k)) {
            self.kernels.push(Arc::clone(k));
        }
        Ok(())
    }

    /// Runs general kernel `kernel` ([`KernelDesc::general`](crate::KernelDesc::general))
    /// over `invocations` invocations, binding `buffers` whole at bindings `0..` in order,
    /// with `args` as its push-constant arguments (zeros after the last). Every buffer counts
    /// as read and written: the batch orders the dispatch after every earlier command that
    /// touches one of them, and every later one after it.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an element-wise kernel, a number of buffers other than
    /// the kernel's, an empty buffer, the same buffer twice, a buffer larger than the
    /// device's `maxStorageBufferRange`, more than [`GENERAL_ARGS`](crate::GENERAL_ARGS)
    /// arguments, too many invocations, or a kernel of another context;
    /// [`Error::ForeignBuffer`] for buffers of another context.
    pub fn dispatch_general(
        &mut self,
        kernel: &Kernel,
        buffers: &[&DeviceBuffer],
        invocations: usize,
        args: &[u32],
    ) -> Result<(), Error> {
        let k = &kernel.raw;
        let bad = |why: String| {
            Err(Error::InvalidArgument(format!(
                "dispatch of kernel `{}`: {why}",
                k.name
            )))
        };
        if !Arc::ptr_eq(&k.device, &self.shared.device) {
            return bad("kernel was created on another context".to_owned());
        }
        if !k.general {
            return bad("an element-wise kernel runs through Batch::dispatch".to_owned());
        }
        if buffers.len() != k.inputs as usize {
            return bad(format!(
                "{} buffers given, the kernel takes {}",
                buffers.len(),
                k.inputs
            ));
        }
        if args.len() > crate::GENERAL_ARGS {
            return bad(format!(
                "{} arguments given, at most {} fit",
                args.len(),
                crate::GENERAL_ARGS
            ));
        }
        let range = u64::from(self.shared.device.limits.max_storage_buffer_range);
        for (i, b) in buffers.iter().enumerate() {
            self.check_ours(b)?;
            let bytes = b.words() as u64 * 8;
            if bytes == 0 || bytes > range {
                return bad(format!(
                    "buffer {i} holds {bytes} bytes, outside 1..={range} (the device's \
                     maxStorageBufferRange)"
                ));
            }
            if buffers[..i].iter().any(|o| o.same_buffer(b)) {
                return bad(format!("buffer {i} is bound twice"));
            }
        }
        if invocations == 0 {
            return Ok(());
        }
        let plan = DispatchPlan::general(&self.shared.device.limits, k, invocations)?;
        let infos: Vec<vk::DescriptorBufferInfo> = buffers
            .iter()
            .map(|b| {
                vk::DescriptorBufferInfo::default()
                    .buffer(b.buf.raw)
                    .offset(0)
                    .range(b.words() as u64 * 8)
            })
            .collect();
        let raws: Vec<vk::Buffer> = buffers.iter().map(|b| b.buf.raw).collect();
        self.barrier_for(&raws, &raws, vk::PipelineStageFlags::COMPUTE_SHADER);
        let held: Vec<&Arc<RawBuffer>> = buffers.iter().map(|b| &b.buf).collect();
        self.record_bound(k, &plan, &infos, &plan.general_push_constants(args), &held)
    }

    /// Sets every word of `buf` to zero on the device (`vkCmdFillBuffer`), ordered with the
    /// batch's other commands.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context.
    pub fn fill_zero(&mut self, buf: &DeviceBuffer) -> Result<(), Error> {
        self.check_ours(buf)?;
        if buf.words() == 0 {
            return Ok(());
        }
        self.barrier_for(&[], &[buf.buf.raw], vk::PipelineStageFlags::TRANSFER);
        // SAFETY: the buffer is live and the fill covers exactly its words (a multiple of 4
        // bytes, from offset 0); the batch keeps it alive until completion.
        unsafe {
            self.shared.device.raw.cmd_fill_buffer(
                self.rec.cmd,
                buf.buf.raw,
                0,
                buf.words() as u64 * 8,
                0,
            )
        };
        self.use_buffer(&buf.buf);
        Ok(())
    }

    /// Copies `src` into `dst` on the device with `vkCmdCopyBuffer` (same number of words).
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for buffers of another context; [`Error::InvalidArgument`]
    /// for buffers of different sizes or the same buffer twice.
    pub fn copy(&mut self, src: &DeviceBuffer, dst: &DeviceBuffer) -> Result<(), Error> {
        self.check_ours(src)?;
        self.check_ours(dst)?;
        if src.words() != dst.words() || src.same_buffer(dst) {
            return Err(Error::InvalidArgument(format!(
                "copy needs two distinct buffers of equal size, got {} and {} words",
                src.words(),
                dst.words()
            )));
        }
        self.record_copy(
            src,
            dst,
            vk::BufferCopy::default().size(src.words() as u64 * 8),
        );
        Ok(())
    }

    /// Records one checked `vkCmdCopyBuffer` region with its hazard barrier; an empty
    /// region records nothing.
    fn record_copy(&mut self, src: &DeviceBuffer, dst: &DeviceBuffer, region: vk::BufferCopy) {
        if region.size == 0 {
            return;
        }
        self.barrier_for(
            &[src.buf.raw],
            &[dst.buf.raw],
            vk::PipelineStageFlags::TRANSFER,
        );
        // A host-visible destination is read by the host after the batch: make the copy's
        // writes visible there.
        if dst.buf.kind == MemoryKind::HostStaging {
            self.host_reads_from |= vk::PipelineStageFlags::TRANSFER;
        }
        // SAFETY: both buffers are live, the callers checked that the region fits both, and
        // the batch keeps both alive until completion.
        unsafe {
            self.shared.device.raw.cmd_copy_buffer(
                self.rec.cmd,
                src.buf.raw,
                dst.buf.raw,
                &[region],
            )
        };
        self.use_buffer(&src.buf);
        self.use_buffer(&dst.buf);
    }

    /// Copies `src` back to host memory when the batch runs; read it with
    /// [`Finished::read`].
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context; memory errors.
    pub fn download(&mut self, src: &DeviceBuffer) -> Result<DownloadId, Error> {
        self.check_ours(src)?;
        let words = src.words();
        let id = DownloadId {
            batch: self.serial,
            index: self.downloads.len(),
        };
        if words == 0 {
            self.downloads.push((Arc::clone(&src.buf), 0));
            return Ok(id);
        }
        let readback = self.shared.staging(words as u64 * 8)?;
        self.barrier_for(
            &[src.buf.raw],
            &[readback.raw],
            vk::PipelineStageFlags::TRANSFER,
        );
        if !self.downloading {
            self.downloading = true;
            self.rec
                .timestamp(2, vk::PipelineStageFlags::BOTTOM_OF_PIPE);
        }
        let region = vk::BufferCopy::default().size(words as u64 * 8);
        // SAFETY: both buffers are live, large enough, and kept alive until completion.
        unsafe {
            self.shared.device.raw.cmd_copy_buffer(
                self.rec.cmd,
                src.buf.raw,
                readback.raw,
                &[region],
            )
        };
        self.use_buffer(&src.buf);
        self.use_buffer(&readback);
        self.host_reads_from |= vk::PipelineStageFlags::TRANSFER;
        self.downloads.push((readback, words));
        Ok(id)
    }

    /// Keeps `used` and `recorder` of the upload submission that completes at `value` on
    /// the upload lane (this batch's submission must wait for it) alive until the batch
    /// completes, or, if the batch is dropped unsubmitted, until the upload completes.
    pub(crate) fn adopt_upload(
        &mut self,
        used: &[&Arc<RawBuffer>],
        recorder: Recorder,
        value: u64,
    ) {
        for b in used {
            self.use_buffer(b);
        }
        self.uploads.push(AdoptedUpload {
            shared: Arc::clone(self.shared),
            value,
            in_flight: Some(InFlight {
                recorder: None,
                copy_recorders: vec![recorder],
                buffers: used.iter().map(|b| Arc::clone(b)).collect(),
                kernels: Vec::new(),
            }),
        });
    }

    /// For callers that already hold the host-access locks of every host buffer this batch
    /// uses (for a whole multi-submission operation): `submit` must not take them again.
    pub(crate) fn host_locks_held(&mut self) {
        self.host_locks_held = true;
    }

    /// Reads a buffer from [`crate::Context::alloc_host`] after the batch, where it lies: no
    /// copy (kernels that write host memory directly are the fastest way back for small
    /// outputs).
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context, [`Error::InvalidArgument`]
    /// for one not in host memory.
    pub fn read_host(&mut self, buf: &DeviceBuffer) -> Result<DownloadId, Error> {
        self.check_ours(buf)?;
        if buf.buf.kind != MemoryKind::HostStaging {
            return Err(Error::InvalidArgument(
                "read_host needs a buffer from alloc_host; use download".to_owned(),
            ));
        }
        // The batch's final barrier must make writes by both copies and kernels visible.
        self.host_reads_from |=
            vk::PipelineStageFlags::TRANSFER | vk::PipelineStageFlags::COMPUTE_SHADER;
        self.use_buffer(&buf.buf);
        let id = DownloadId {
            batch: self.serial,
            index: self.downloads.len(),
        };
        self.downloads.push((Arc::clone(&buf.buf), buf.words()));
        Ok(id)
    }

    /// Ends recording and submits the batch to the compute queue: one `vkQueueSubmit`.
    ///
    /// # Errors
    /// [`Error::DeviceLost`] and other Vulkan errors from the submission.
    pub fn submit(self) -> Result<Ticket, Error> {
        self.submit_after(&[])
    }

    /// Submits once every (timeline semaphore, value) in `waits` is reached, at the stage
    /// given with it.
    pub(crate) fn submit_after(
        mut self,
        waits: &[(vk::Semaphore, u64, vk::PipelineStageFlags)],
    ) -> Result<Ticket, Error> {
        if self.broken {
            return Err(Error::InvalidArgument(
                "the batch failed while recording and cannot be submitted".to_owned(),
            ));
        }
        self.shared.fault_at(FaultStage::Compute)?;
        let raw = &self.shared.device.raw;
        if !self.host_reads_from.is_empty() {
            // Makes the GPU's writes visible to host reads after the wait.
            // SAFETY: the command buffer is recording.
            unsafe {
                memory_barrier(
                    raw,
                    self.rec.cmd,
                    self.host_reads_from,
                    vk::PipelineStageFlags::HOST,
                )
            };
        }
        self.rec
            .timestamp(3, vk::PipelineStageFlags::BOTTOM_OF_PIPE);
        self.rec.end()?;
        // Host-memory buffers callers can read and write (`alloc_host`) must not be in a
        // caller's hands while this submission starts using them: hold their host-access
        // locks (in a fixed order, so two submissions cannot deadlock) until the timeline
        // value that guards them is set.
        let mut host: Vec<&Arc<RawBuffer>> = self
            .keep
            .iter()
            .filter(|b| b.kind == MemoryKind::HostStaging && !self.host_locks_held)
            .collect();
        host.sort_by_key(|b| vk::Handle::as_raw(b.raw));
        let guards: Vec<_> = host
            .iter()
            .map(|b| b.host_access.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        // The uploads submitted ahead of this batch: one wait on their timeline, for the
        // last of them (each later value is signalled after the earlier ones).
        let mut waits = waits.to_vec();
        if let Some(last) = self.uploads.iter().map(|u| u.value).max() {
            let upload = self.shared.timeline_of(Lane::Upload).raw;
            let stages = vk::PipelineStageFlags::TRANSFER | vk::PipelineStageFlags::COMPUTE_SHADER;
            match waits.iter_mut().find(|w| w.0 == upload) {
                Some(w) => {
                    w.1 = w.1.max(last);
                    w.2 |= stages;
                }
                None => waits.push((upload, last, stages)),
            }
        }
        let value = self.shared.submit_compute(self.rec.cmd, &waits)?;
        // The uploads complete before this submission (which waits for them) does: their
        // recorders go with this submission's resources.
        let copy_recorders: Vec<Recorder> = self
            .uploads
            .drain(..)
            .filter_map(|mut u| u.in_flight.take())
            .flat_map(|f| f.copy_recorders)
            .collect();
        for b in &self.keep {
            b.mark_used(value);
        }
        for lease in self.ring_leases.drain(..) {
            lease.free_after(value);
        }
        drop(guards);
        Ok(Ticket {
            shared: Arc::clone(self.shared),
            lane: Lane::Compute,
            value,
            serial: self.serial,
            in_flight: Some(InFlight {
                recorder: Some(self.rec),
                copy_recorders,
                buffers: self.keep,
                kernels: self.kernels,
            }),
            downloads: self.downloads,
        })
    }
}

/// An upload submission a batch waits for, with what it uses: if the batch is dropped
/// unsubmitted, released only once the upload itself completes (its command buffer may
/// still be pending).
struct AdoptedUpload {
    shared: Arc<Shared>,
    value: u64,
    in_flight: Option<InFlight>,
}

impl Drop for AdoptedUpload {
    fn drop(&mut self) {
        if let Some(in_flight) = self.in_flight.take() {
            // Unsubmitted: the copy may still be writing its destination, which the caller
            // keeps and may write next (host writes check only the compute timeline). Wait
            // for it here, on this error path, rather than let a late copy land over newer
            // data; if even that fails, the resources are kept until it completes.
            let shared = &self.shared;
            let _ = shared
                .timeline_of(Lane::Upload)
                .wait(self.value, shared.timeout, shared.spin);
            shared.defer(Lane::Upload, self.value, in_flight);
        }
    }
}

/// A submitted batch. Poll it, wait for it, or [`Ticket::finish`] it to read downloads.
/// Dropping it without waiting is safe: its resources are released once the GPU is done.
pub struct Ticket {
    shared: Arc<Shared>,
    /// The timeline whose `value` marks completion.
    lane: Lane,
    value: u64,
    serial: u64,
    in_flight: Option<InFlight>,
    downloads: Vec<(Arc<RawBuffer>, usize)>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("value", &self.value)
            .finish_non_exhaustive()
    }
}

impl Ticket {
    /// The ticket of a submission on copy lane `lane` that signals `value` there, holding
    /// `recorder` and `buffers` until it completes; `downloads` as [`Batch::download`]
    /// records them (readback buffer, words).
    pub(crate) fn for_copy(
        shared: &Arc<Shared>,
        lane: Lane,
        value: u64,
        recorder: Recorder,
        buffers: Vec<Arc<RawBuffer>>,
        downloads: Vec<(Arc<RawBuffer>, usize)>,
    ) -> (Self, u64) {
        let serial = shared.next_serial();
        let ticket = Ticket {
            shared: Arc::clone(shared),
            lane,
            value,
            serial,
            in_flight: Some(InFlight {
                recorder: None,
                copy_recorders: vec![recorder],
                buffers,
                kernels: Vec::new(),
            }),
            downloads,
        };
        (ticket, serial)
    }

    /// Whether the batch has finished on the GPU. Never blocks.
    ///
    /// # Errors
    /// [`Error::DeviceLost`] when the device is lost.
    pub fn poll(&self) -> Result<bool, Error> {
        Ok(self.shared.timeline_of(self.lane).completed()? >= self.value)
    }

    /// Waits up to `timeout` for the batch: spins briefly, then blocks (see
    /// `ContextConfig::spin`).
    ///
    /// # Errors
    /// [`Error::Timeout`] when it has not finished in time (the ticket stays valid: wait
    /// again or drop it); [`Error::DeviceLost`].
    pub fn wait(&self, timeout: Duration) -> Result<(), Error> {
        self.shared
            .timeline_of(self.lane)
            .wait(self.value, timeout, self.shared.spin)
    }

    /// The value of its lane's timeline that marks the submission's completion.
    pub(crate) fn value(&self) -> u64 {
        self.value
    }

    /// Waits (up to the context's timeout) and returns the finished batch.
    ///
    /// # Errors
    /// As [`Ticket::wait`]; on a timeout the batch's results are given up.
    pub fn finish(mut self) -> Result<Finished, Error> {
        self.shared.fault_at(FaultStage::Download)?;
        self.wait(self.shared.timeout)?;
        let mut in_flight = self.in_flight.take().expect("present until finish or drop");
        let kernel_flags = match &in_flight.recorder {
            Some(r) => r.status.read(&self.shared.pool)?,
            None => 0,
        };
        let timings = in_flight
            .recorder
            .as_ref()
            .and_then(|r| r.read_timestamps())
            .and_then(|t| timings_from(t, self.shared.device.timestamp_period()));
        self.shared.reclaim(&mut in_flight);
        Ok(Finished {
            serial: self.serial,
            downloads: std::mem::take(&mut self.downloads),
            timings,
            kernel_flags,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Some(in_flight) = self.in_flight.take() {
            self.shared.defer(self.lane, self.value, in_flight);
        }
    }
}

/// Phase times from the four timestamps. A phase the batch did not have wrote no
/// timestamp; it then ends where the next phase begins (zero length).
fn timings_from(t: [Option<u64>; 4], period: f64) -> Option<GpuTimings> {
    let (start, end) = (t[0]?, t[3]?);
    let t2 = t[2].unwrap_or(end);
    let t1 = t[1].unwrap_or(t2);
    let ns = |a: u64, b: u64| (b.saturating_sub(a) as f64 * period) as u64;
    Some(GpuTimings {
        upload_ns: ns(start, t1),
        compute_ns: ns(t1, t2),
        download_ns: ns(t2, end),
        total_ns: ns(start, end),
    })
}

/// A batch the GPU has finished: its downloads can be read.
pub struct Finished {
    serial: u64,
    downloads: Vec<(Arc<RawBuffer>, usize)>,
    timings: Option<GpuTimings>,
    kernel_flags: u32,
}

impl std::fmt::Debug for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finished")
            .field("downloads", &self.downloads.len())
            .field("timings", &self.timings)
            .field("kernel_flags", &self.kernel_flags)
            .finish()
    }
}

impl Finished {
    /// Calls `f` with the downloaded words.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an id from another batch.
    pub fn read<R>(&self, id: DownloadId, f: impl FnOnce(&[u64]) -> R) -> Result<R, Error> {
        if id.batch != self.serial {
            return Err(Error::InvalidArgument(
                "download id belongs to another batch".to_owned(),
            ));
        }
        let (buf, words) = &self.downloads[id.index];
        if *words == 0 {
            return Ok(f(&[]));
        }
        let _host = buf.host_access.lock().unwrap_or_else(|p| p.into_inner());
        // SAFETY: the batch has completed and its final barrier made the GPU's writes
        // visible to the host; nothing else writes this readback buffer (it is ours alone
        // until dropped).
        Ok(f(unsafe { buf.words(*words)? }))
    }

    /// GPU time by phase, for a batch from `Context::timed_batch` on a queue with
    /// timestamps.
    pub fn timings(&self) -> Option<GpuTimings> {
        self.timings
    }

    /// The flags the batch's kernels raised in their status words (see [`KernelDesc`]),
    /// ORed together: 0 when none raised any or the batch ran no kernel.
    ///
    /// [`KernelDesc`]: crate::KernelDesc
    pub fn kernel_flags(&self) -> u32 {
        self.kernel_flags
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ash::vk;

    use crate::sync::Timeline;
    use crate::test_support::test_context;
    use crate::Error;

    /// A batch held back by a semaphore nobody signals yet: poll says not done, a wait
    /// times out with the timeout it was given, and the ticket still completes once the
    /// host releases it.
    #[test]
    fn ticket_poll_wait_and_timeout() {
        let Some(ctx) = test_context("ticket_poll_wait_and_timeout") else {
            return;
        };
        let shared = ctx.shared();
        let gate = Timeline::new(&shared.device).unwrap();
        let buf = ctx.upload(64, 1, |w| w.fill(7)).unwrap();
        let mut batch = ctx.batch().unwrap();
        let id = batch.download(&buf).unwrap();
        let ticket = batch
            .submit_after(&[(gate.raw, 1, vk::PipelineStageFlags::TRANSFER)])
            .unwrap();
        assert!(!ticket.poll().unwrap());
        let timeout = Duration::from_millis(20);
        assert!(
            matches!(ticket.wait(timeout), Err(Error::Timeout { after, .. }) if after == timeout)
        );
        assert!(!ticket.poll().unwrap());
        let signal = vk::SemaphoreSignalInfo::default()
            .semaphore(gate.raw)
            .value(1);
        // SAFETY: a live timeline semaphore of this device, raised above its value.
        unsafe { shared.device.raw.signal_semaphore(&signal) }.unwrap();
        ticket.wait(Duration::from_secs(10)).unwrap();
        assert!(ticket.poll().unwrap());
        let done = ticket.finish().unwrap();
        assert_eq!(done.read(id, |w| w.to_vec()).unwrap(), vec![7; 64]);
    }
}
