//! Large host -> GPU -> host jobs, cut into chunks that flow through upload, compute and
//! download with consecutive chunks overlapping: while chunk k computes, chunk k-1
//! downloads and chunk k+1 uploads, each phase a submission of its own chained to the next
//! by timeline semaphores (uploads on the transfer-only queue's copy engines, downloads on
//! that family's second queue, where the device has them; on the compute queue
//! otherwise), and the host fills chunk k+2 and reads chunk k-2. Jobs on buffers the kernel can reach in
//! place (host memory from `alloc_host`) run as consecutive submissions over ranges of
//! them instead, with nothing copied.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use ash::vk;

use crate::batch::{Batch, DownloadId, Ticket};
use crate::command::memory_barrier;
use crate::context::Context;
use crate::dispatch::DispatchPlan;
use crate::submit::{Lane, Shared};
use crate::{DeviceBuffer, Error, Kernel};

/// Chunks in flight at once: one filling on the host, one uploading, one computing and
/// downloading. More only adds memory.
const SLOTS: usize = 3;

/// Elements per chunk: the caller's `chunk`, or (0) the configured `stream_chunk_bytes`,
/// at most `count`, and checked to fit one dispatch of `k`.
fn chunk_elements(
    shared: &Shared,
    k: &crate::pipeline::RawKernel,
    chunk: usize,
    count: usize,
) -> Result<usize, Error> {
    let chunk = match chunk {
        0 => (shared.stream_chunk_bytes / (u64::from(k.words_per_element) * 8)).max(1) as usize,
        c => c,
    }
    .min(count);
    DispatchPlan::new(&shared.device.limits, k, chunk)?;
    Ok(chunk)
}

/// The device buffers of one pipeline slot.
struct Slot {
    inputs: Vec<DeviceBuffer>,
    output: DeviceBuffer,
}

impl Context {
    /// Runs element-wise `kernel` over `count` elements of host data in chunks of
    /// `chunk` elements (0: the configured `stream_chunk_bytes`), overlapping the transfers
    /// of neighbouring chunks with each other and with the host's work.
    ///
    /// `fill(i, range, words)` writes elements `range` of input `i`; `read(range, words,
    /// flags)` receives the output for `range` with the flags the chunk's kernel raised
    /// ([`Finished::kernel_flags`](crate::Finished::kernel_flags)), so that a caller can
    /// trust a kernel's own check of what it stored instead of checking again. Chunks are
    /// read in order. Both run on the calling thread while the GPU works on other chunks;
    /// parallelise inside them for speed.
    ///
    /// # Errors
    /// As [`Context::run_elementwise`]. On an error some chunks may already have been
    /// passed to `read`; nothing is left running on the GPU that could touch the caller's
    /// memory (all data goes through the context's own buffers).
    pub fn run_streamed(
        &self,
        kernel: &Kernel,
        count: usize,
        chunk: usize,
        mut fill: impl FnMut(usize, Range<usize>, &mut [u64]),
        mut read: impl FnMut(Range<usize>, &[u64], u32),
    ) -> Result<(), Error> {
        let shared = self.shared();
        let k = &kernel.raw;
        if !Arc::ptr_eq(&k.device, &shared.device) {
            return Err(Error::InvalidArgument(format!(
                "kernel `{}` was created on another context",
                k.name
            )));
        }
        if count == 0 {
            return Ok(());
        }
        let wpe = k.words_per_element;
        let chunk = chunk_elements(shared, k, chunk, count)?;
        let chunks = count.div_ceil(chunk);
        let slots = (0..SLOTS.min(chunks))
            .map(|_| {
                Ok(Slot {
                    inputs: (0..k.inputs)
                        .map(|_| self.alloc(chunk, wpe))
                        .collect::<Result<_, Error>>()?,
                    output: self.alloc(chunk, wpe)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut pending: VecDeque<Chunk> = VecDeque::with_capacity(SLOTS);
        let mut finish_oldest = |pending: &mut VecDeque<Chunk>| -> Result<(), Error> {
            let chunk = pending.pop_front().expect("caller checks");
            // Completed before the download began: this takes its flags and resources.
            let flags = chunk.computed.finish()?.kernel_flags();
            chunk
                .downloaded
                .finish()?
                .read(chunk.id, |words| read(chunk.range, words, flags))
        };
        for c in 0..chunks {
            let range = c * chunk..((c + 1) * chunk).min(count);
            if pending.len() == slots.len() {
                finish_oldest(&mut pending)?;
            }
            let slot = &slots[c % slots.len()];
            let n = range.len();
            let inputs: Vec<DeviceBuffer> = slot.inputs.iter().map(|b| b.prefix(n)).collect();
            let output = slot.output.prefix(n);
            let mut batch = self.batch()?;
            let uploaded = self.upload_chunk(&mut batch, &inputs, |i, words| {
                fill(i, range.clone(), words)
            })?;
            let refs: Vec<&DeviceBuffer> = inputs.iter().collect();
            batch.dispatch(kernel, &refs, &output)?;
            let computed = batch.submit_after(&[(
                shared.timeline_of(Lane::Upload).raw,
                uploaded,
                vk::PipelineStageFlags::COMPUTE_SHADER,
            )])?;
            let (downloaded, id) = self.download_chunk(&output, computed.value())?;
            pending.push_back(Chunk {
                computed,
                downloaded,
                id,
                range,
            });
        }
        while !pending.is_empty() {
            finish_oldest(&mut pending)?;
        }
        Ok(())
    }

    /// Fills `inputs` for one chunk through staging memory and copies them in with a
    /// submission on the upload lane (the transfer-only queue's copy engines where the
    /// device has them); returns the upload-timeline value that the compute submission,
    /// recorded in `batch`, must wait for. `batch` keeps the staging memory and recorder.
    fn upload_chunk(
        &self,
        batch: &mut Batch<'_>,
        inputs: &[DeviceBuffer],
        mut fill: impl FnMut(usize, &mut [u64]),
    ) -> Result<u64, Error> {
        let shared = self.shared();
        shared.fault_at(crate::FaultStage::Upload)?;
        let words = inputs[0].words();
        let bytes = words as u64 * 8;
        let staging = shared.staging(bytes * inputs.len() as u64)?;
        // SAFETY: a freshly acquired staging buffer is used by no pending work.
        let mapped = unsafe { staging.words_mut(words * inputs.len())? };
        for (i, region) in mapped.chunks_exact_mut(words).enumerate() {
            fill(i, region);
        }
        let mut rec = shared.copy_recorder(Lane::Upload)?;
        rec.begin(false)?;
        for (i, buf) in inputs.iter().enumerate() {
            let region = vk::BufferCopy::default()
                .src_offset(bytes * i as u64)
                .dst_offset(0)
                .size(bytes);
            // SAFETY: the recorder is recording for the upload queue's family; both buffers
            // are live, shared with that family (CONCURRENT) and kept alive by `batch`
            // until the compute submission, which waits for this one, completes. The
            // slot's last readers (the compute and download submissions of chunk
            // k - SLOTS) have completed.
            unsafe {
                shared
                    .device
                    .raw
                    .cmd_copy_buffer(rec.cmd, staging.raw, buf.buf.raw, &[region])
            };
        }
        rec.end()?;
        let value = shared.submit_copy(Lane::Upload, rec.cmd, &[])?;
        let mut used: Vec<&Arc<crate::memory::RawBuffer>> = inputs.iter().map(|b| &b.buf).collect();
        used.push(&staging);
        batch.adopt_upload(&used, rec, value);
        Ok(value)
    }

    /// Copies `output` into host memory with a submission on the download lane (the
    /// transfer family's second queue where the device has one, so that it runs beside the
    /// next chunk's upload and compute) once the compute timeline reaches `computed`.
    fn download_chunk(
        &self,
        output: &DeviceBuffer,
        computed: u64,
    ) -> Result<(Ticket, DownloadId), Error> {
        let shared = self.shared();
        let words = output.words();
        let bytes = words as u64 * 8;
        let readback = shared.staging(bytes)?;
        let mut rec = shared.copy_recorder(Lane::Download)?;
        rec.begin(false)?;
        let raw = &shared.device.raw;
        // SAFETY: the recorder is recording for the download queue's family; both buffers
        // are live, at least `bytes` long, shared with that family (CONCURRENT), and the
        // ticket keeps them alive until the copy completes. The submission waits for the
        // compute submission that writes `output`; the barrier makes the copy's writes
        // visible to the host's reads after the wait.
        unsafe {
            raw.cmd_copy_buffer(
                rec.cmd,
                output.buf.raw,
                readback.raw,
                &[vk::BufferCopy::default().size(bytes)],
            );
            memory_barrier(
                raw,
                rec.cmd,
                vk::PipelineStageFlags::TRANSFER,
                vk::PipelineStageFlags::HOST,
            );
        }
        rec.end()?;
        let value = shared.submit_copy(
            Lane::Download,
            rec.cmd,
            &[(
                shared.timeline.raw,
                computed,
                vk::PipelineStageFlags::TRANSFER,
            )],
        )?;
        let (ticket, serial) = Ticket::for_copy(
            shared,
            Lane::Download,
            value,
            rec,
            vec![Arc::clone(&output.buf), Arc::clone(&readback)],
            vec![(readback, words)],
        );
        Ok((ticket, DownloadId::first_of(serial)))
    }
}

/// One chunk of [`Context::run_streamed`] in flight: its compute and download submissions.
struct Chunk {
    computed: Ticket,
    downloaded: Ticket,
    id: DownloadId,
    range: Range<usize>,
}

impl Context {
    /// Runs element-wise `kernel` from `inputs` into `output` in place, buffers of any
    /// kind (host memory from [`Context::alloc_host`] above all: the kernel reads and
    /// writes it over the bus, and nothing is copied, on the host or by the copy engines).
    /// The job runs as consecutive submissions over chunks of `chunk` elements (0: ranges
    /// of half what is left, down to twice the configured `stream_chunk_bytes`, which
    /// measured fastest); when the output is in
    /// host memory, `on_output(range, words, flags)` sees each finished range of it (in
    /// order) with the flags its kernels raised ([`Finished::kernel_flags`](crate::Finished::kernel_flags)) while later
    /// chunks still run, so the caller can check or consume results without a pass at the
    /// end. Returns when the output is complete.
    ///
    /// The kernel should move its data in whole, coalesced 16-byte words (the tiled Fq
    /// kernels do): reading host memory piecemeal over PCIe runs several times slower.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for mismatched inputs, lengths or element sizes or an
    /// output that is also an input; [`Error::ForeignBuffer`] for buffers of another
    /// context; as
    /// [`Context::run_elementwise`] otherwise. After an error, chunks already submitted
    /// may still be running (a wait that timed out, say): the buffers stay in use until
    /// they complete, and host access to them ([`Context::host_read`],
    /// [`Context::host_write`]) waits for that first.
    pub fn run_streamed_buffers(
        &self,
        kernel: &Kernel,
        inputs: &[&DeviceBuffer],
        output: &DeviceBuffer,
        chunk: usize,
        on_output: impl FnMut(Range<usize>, &[u64], u32),
    ) -> Result<(), Error> {
        self.run_streamed_buffers_beside(
            kernel,
            inputs,
            output,
            output.len(),
            chunk,
            on_output,
            |_: &[&[u64]], _: &mut [u64]| {},
        )
    }

    /// As [`Context::run_streamed_buffers`] with the job shared between the GPU and the
    /// calling thread (CPU+GPU co-execution): the kernel takes elements `0..gpu_len`, and
    /// meanwhile `beside(inputs, output)` gets the rest, `gpu_len..`, as elements of `T`
    /// (the inputs to read, the output to fill), in consecutive pieces (in order); between
    /// pieces `on_output` takes the GPU's ranges finished so far. When the CPU has a share,
    /// all buffers must be in host memory ([`Context::alloc_host`]).
    ///
    /// # Errors
    /// As [`Context::run_streamed_buffers`]; [`Error::InvalidArgument`] also for
    /// `gpu_len` past the end, a buffer not in host memory, or a `T` of another size than
    /// the kernel's elements. `beside` is not called after an error found before it runs.
    #[allow(clippy::too_many_arguments)]
    pub fn run_streamed_buffers_beside<T: crate::HostElement>(
        &self,
        kernel: &Kernel,
        inputs: &[&DeviceBuffer],
        output: &DeviceBuffer,
        gpu_len: usize,
        chunk: usize,
        mut on_output: impl FnMut(Range<usize>, &[u64], u32),
        mut beside: impl FnMut(&[&[T]], &mut [T]),
    ) -> Result<(), Error> {
        if gpu_len > output.len() {
            return Err(Error::InvalidArgument(format!(
                "GPU share of {gpu_len} elements is past the end of the {} in the buffers",
                output.len()
            )));
        }
        // What the CPU's share needs (nothing when the GPU takes everything).
        if gpu_len < output.len() {
            if T::WORDS != kernel.raw.words_per_element {
                return Err(Error::InvalidArgument(format!(
                    "elements of {} words given to kernel `{}`, whose elements have {}",
                    T::WORDS,
                    kernel.raw.name,
                    kernel.raw.words_per_element
                )));
            }
            let not_host = inputs
                .iter()
                .chain([&output])
                .any(|b| b.buf.kind != crate::memory::MemoryKind::HostStaging);
            if not_host {
                return Err(Error::InvalidArgument(
                    "sharing a job with the CPU needs every buffer in host memory \
                     (alloc_host), not device memory"
                        .to_owned(),
                ));
            }
        }
        let shared = self.shared();
        let k = &kernel.raw;
        let count = output.len();
        crate::dispatch::check_elementwise(&shared.device, &shared.pool, k, inputs, output)?;
        if count == 0 {
            return Ok(());
        }
        let wpe = k.words_per_element as usize;
        let chunks = if gpu_len == 0 {
            Vec::new()
        } else {
            direct_chunks(shared, k, chunk, gpu_len)?
        };
        // The caller's host buffers stay locked for the whole operation: every submission
        // touches them, and a caller's slice must never overlap that work.
        let mut host: Vec<&Arc<crate::memory::RawBuffer>> = inputs
            .iter()
            .chain([&output])
            .map(|b| &b.buf)
            .filter(|b| b.kind == crate::memory::MemoryKind::HostStaging)
            .collect();
        host.sort_by_key(|b| vk::Handle::as_raw(b.raw));
        host.dedup_by_key(|b| vk::Handle::as_raw(b.raw));
        let _guards: Vec<_> = host
            .iter()
            .map(|b| b.host_access.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        // Every earlier use of the buffers is waited for, so the submissions below need no
        // barrier against earlier work, and none between themselves (disjoint ranges): the
        // GPU runs them back to back without draining in between.
        for b in inputs.iter().chain([&output]) {
            let last = b.buf.last_use.load(std::sync::atomic::Ordering::Acquire);
            shared.timeline.wait(last, shared.timeout, shared.spin)?;
        }
        let host_output = output.buf.kind == crate::memory::MemoryKind::HostStaging;
        // Every chunk is submitted at once (the queue runs them back to back); the host
        // then takes them in order as they complete.
        let mut pending = VecDeque::new();
        let mut result = Ok(());
        for range in chunks {
            let submitted = self.unordered_batch().and_then(|mut batch| {
                batch.host_locks_held();
                batch.dispatch_range(kernel, inputs, output, range.clone())?;
                batch.submit()
            });
            match submitted {
                Ok(ticket) => pending.push_back((ticket, range)),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        // Takes one finished GPU range: hands it to `on_output` (host outputs).
        let mut take = |done: Result<crate::batch::Finished, Error>,
                        range: Range<usize>,
                        result: &mut Result<(), Error>| {
            if result.is_err() {
                return; // only waiting, so that nothing runs once the locks go
            }
            match done {
                Ok(done) if host_output => {
                    // SAFETY: the chunk's submission has completed and its final barrier
                    // made the kernel's writes to this range visible to the host; the
                    // caller's slices are excluded (host-access locks held); later chunks
                    // and the CPU's share write other ranges only, and this slice covers
                    // this range only.
                    match unsafe { output.buf.words_range(range.start * wpe, range.len() * wpe) } {
                        Ok(words) => on_output(range, words, done.kernel_flags()),
                        Err(e) => *result = Err(e),
                    }
                }
                Ok(_) => {}
                Err(e) => *result = Err(e),
            }
        };
        if result.is_ok() && gpu_len < count {
            let (start, len) = (gpu_len * wpe, (count - gpu_len) * wpe);
            // SAFETY: every buffer is in host memory (checked by the caller) with its
            // host-access lock held (no caller's slice exists) and every earlier use waited
            // for; the submissions above touch elements below `gpu_len` only. The inputs
            // are only read, here and by the GPU; the output is not an input
            // (check_elementwise), so this range of it is this slice's alone.
            let words = inputs
                .iter()
                .map(|b| unsafe { b.buf.words_range(start, len) })
                .collect::<Result<Vec<_>, _>>();
            // SAFETY: as above; no other reference to this range of the output exists.
            let out = unsafe { output.buf.words_range_mut(start, len) };
            match (words, out) {
                (Ok(words), Ok(out)) => {
                    let n = count - gpu_len;
                    // SAFETY: T is plain data of `wpe` words (HostElement's contract, size
                    // checked by the caller); the mapping is 8-byte aligned.
                    let ins: Vec<&[T]> = words
                        .iter()
                        .map(|w| unsafe { std::slice::from_raw_parts(w.as_ptr().cast::<T>(), n) })
                        .collect();
                    // SAFETY: as above, for the output.
                    let out =
                        unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<T>(), n) };
                    // In pieces: between them the host takes the GPU ranges finished so
                    // far, so that their checks are not all left for the end.
                    let piece = n.div_ceil(BESIDE_PIECES);
                    for (p, out) in out.chunks_mut(piece).enumerate() {
                        let at = p * piece;
                        let ins: Vec<&[T]> = ins.iter().map(|x| &x[at..at + out.len()]).collect();
                        beside(&ins, out);
                        while let Some((ticket, _)) = pending.front() {
                            match ticket.poll() {
                                Ok(false) => break,
                                Ok(true) | Err(_) => {
                                    let (ticket, range) = pending.pop_front().expect("front");
                                    take(ticket.finish(), range, &mut result);
                                }
                            }
                        }
                    }
                }
                (Err(e), _) | (_, Err(e)) => result = Err(e),
            }
        }
        while let Some((ticket, range)) = pending.pop_front() {
            take(ticket.finish(), range, &mut result);
        }
        result
    }
}

/// Pieces the CPU's share of a [`Context::run_streamed_buffers_beside`] job is cut into.
const BESIDE_PIECES: usize = 8;

/// The element ranges of [`Context::run_streamed_buffers`]'s submissions, every one
/// starting at a multiple of 256 elements (an offset any device's storage-buffer alignment,
/// at most 256 bytes, accepts): `chunk` elements each, or with `chunk` 0, halves of what is
/// left down to twice the configured `stream_chunk_bytes` per buffer (by default 16 MiB:
/// 16Mi elements of 48 bytes go as 50%, 25%, ... 3.1%, 3.1%).
///
/// Why halving: each submission ends with the GPU draining its last, partly filled wave of
/// workgroups (even without a barrier between them the driver does not overlap consecutive
/// submissions: ~70 us each on the H100), so few submissions are best; but the host checks
/// each finished range while later ones run, and its work on the last range is not
/// overlapped, so the last must be small. Measured on the H100 (2026-11-21, 16Mi add from
/// host vectors, checked; the kernel alone 1.95 ns per element), on one machine in one
/// run: uniform 64 MiB ranges 2.118 and 2.136 ns per element, halving 2.073 and 2.093;
/// (earlier runs: uniform 8, 32, 128 MiB 3.25, 2.25, 2.28).
fn direct_chunks(
    shared: &Shared,
    k: &crate::pipeline::RawKernel,
    chunk: usize,
    count: usize,
) -> Result<Vec<Range<usize>>, Error> {
    let bytes_per_element = u64::from(k.words_per_element) * 8;
    if chunk != 0 {
        let chunk = chunk.next_multiple_of(256).min(count);
        DispatchPlan::new(&shared.device.limits, k, chunk)?;
        return Ok((0..count)
            .step_by(chunk)
            .map(|start| start..(start + chunk).min(count))
            .collect());
    }
    // The largest range one dispatch may bind (maxStorageBufferRange), a multiple of 256.
    let most = (u64::from(shared.device.limits.max_storage_buffer_range) / bytes_per_element)
        as usize
        / 256
        * 256;
    let tail = ((2 * shared.stream_chunk_bytes / bytes_per_element) as usize).next_multiple_of(256);
    let mut ranges = Vec::new();
    let mut start = 0;
    while count - start > 2 * tail.min(most / 2) {
        let len = ((count - start) / 2).next_multiple_of(256).min(most);
        ranges.push(start..start + len);
        start += len;
    }
    ranges.push(start..count);
    for r in &ranges {
        DispatchPlan::new(&shared.device.limits, k, r.len())?;
    }
    Ok(ranges)
}
