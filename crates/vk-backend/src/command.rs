//! Command recording: recorders (command pool, command buffer, descriptor pools, timestamp
//! queries) and automatic barriers between dependent commands.

use std::collections::HashSet;
use std::sync::Arc;

use ash::vk;

use crate::device::Device;
use crate::dispatch::DispatchPlan;
use crate::memory::{BufferPool, RawBuffer};
use crate::pipeline::RawKernel;
use crate::Error;

/// Descriptor sets per descriptor pool; a recorder adds pools when a batch needs more.
const SETS_PER_POOL: u32 = 64;
/// Storage-buffer bindings per set at most (inputs, output, status word).
const BINDINGS_PER_SET: u32 = crate::pipeline::MAX_INPUTS + 2;
/// Timestamps per batch: start, uploads done, dispatches done, end.
pub(crate) const TIMESTAMPS: u32 = 4;

/// One command buffer with what recording it needs. Recorders are pooled by the context:
/// a batch takes one, and it returns to the pool once the GPU has finished with it.
pub(crate) struct Recorder {
    device: Arc<Device>,
    /// The queue family whose queues may run this recorder's command buffer.
    pub(crate) family: u32,
    command_pool: vk::CommandPool,
    pub(crate) cmd: vk::CommandBuffer,
    descriptor_pools: Vec<vk::DescriptorPool>,
    /// Index of the pool new sets come from.
    current_pool: usize,
    queries: Option<vk::QueryPool>,
    /// Whether the batch being recorded writes timestamps.
    timed: bool,
    pub(crate) status: StatusWords,
}

impl Recorder {
    pub(crate) fn new(device: &Arc<Device>, family: u32, timestamps: bool) -> Result<Self, Error> {
        let raw = &device.raw;
        let pool_info = vk::CommandPoolCreateInfo::default()
            .flags(vk::CommandPoolCreateFlags::TRANSIENT)
            .queue_family_index(family);
        // SAFETY: the device is live; the info points at locals.
        let command_pool = unsafe { raw.create_command_pool(&pool_info, None) }
            .map_err(Error::vk("vkCreateCommandPool"))?;
        // Owned from here: Drop destroys what exists if a later step fails.
        let mut rec = Self {
            device: Arc::clone(device),
            family,
            command_pool,
            cmd: vk::CommandBuffer::null(),
            descriptor_pools: Vec::new(),
            current_pool: 0,
            queries: None,
            timed: false,
            status: StatusWords::default(),
        };
        let alloc_info = vk::CommandBufferAllocateInfo::default()
            .command_pool(command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: `command_pool` is live.
        rec.cmd = unsafe { raw.allocate_command_buffers(&alloc_info) }
            .map_err(Error::vk("vkAllocateCommandBuffers"))?[0];
        if timestamps && device.limits.timestamp_period > 0.0 {
            let info = vk::QueryPoolCreateInfo::default()
                .query_type(vk::QueryType::TIMESTAMP)
                .query_count(TIMESTAMPS);
            // SAFETY: the device is live.
            rec.queries = Some(
                unsafe { raw.create_query_pool(&info, None) }
                    .map_err(Error::vk("vkCreateQueryPool"))?,
            );
        }
        Ok(rec)
    }

    /// Resets everything and begins recording; with `timed`, resets the timestamp queries
    /// and writes the start timestamp (timestamps cost a few microseconds per batch, so
    /// only batches that ask for them get them).
    ///
    /// The recorder must not be in use by the GPU (the context only hands out recorders
    /// whose last submission has completed).
    pub(crate) fn begin(&mut self, timed: bool) -> Result<(), Error> {
        self.timed = timed && self.queries.is_some();
        let raw = &self.device.raw;
        // SAFETY: nothing recorded from these pools is pending on the GPU (see above).
        unsafe {
            raw.reset_command_pool(self.command_pool, vk::CommandPoolResetFlags::empty())
                .map_err(Error::vk("vkResetCommandPool"))?;
            for &pool in &self.descriptor_pools {
                raw.reset_descriptor_pool(pool, vk::DescriptorPoolResetFlags::empty())
                    .map_err(Error::vk("vkResetDescriptorPool"))?;
            }
            let begin = vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            raw.begin_command_buffer(self.cmd, &begin)
                .map_err(Error::vk("vkBeginCommandBuffer"))?;
            if let (true, Some(q)) = (self.timed, self.queries) {
                raw.cmd_reset_query_pool(self.cmd, q, 0, TIMESTAMPS);
            }
        }
        self.current_pool = 0;
        self.status.used = 0;
        self.timestamp(0, vk::PipelineStageFlags::TOP_OF_PIPE);
        Ok(())
    }

    /// Writes timestamp `index` once every earlier command has passed `stage`.
    pub(crate) fn timestamp(&self, index: u32, stage: vk::PipelineStageFlags) {
        if let (true, Some(q)) = (self.timed, self.queries) {
            // SAFETY: the command buffer is recording and the query was reset in `begin`.
            unsafe {
                self.device
                    .raw
                    .cmd_write_timestamp(self.cmd, stage, q, index)
            };
        }
    }

    pub(crate) fn end(&mut self) -> Result<(), Error> {
        // SAFETY: the command buffer is recording.
        unsafe { self.device.raw.end_command_buffer(self.cmd) }
            .map_err(Error::vk("vkEndCommandBuffer"))
    }

    /// The timestamps of the last completed submission, in ticks; `None` for one that
    /// was not written (a phase the batch did not have).
    pub(crate) fn read_timestamps(&self) -> Option<[Option<u64>; TIMESTAMPS as usize]> {
        let q = self.queries.filter(|_| self.timed)?;
        let mut out = [[0u64; 2]; TIMESTAMPS as usize];
        // SAFETY: the submission that wrote these queries has completed; each element is a
        // (value, availability) pair as WITH_AVAILABILITY lays them out.
        let result = unsafe {
            self.device.raw.get_query_pool_results(
                q,
                0,
                &mut out,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY,
            )
        };
        // NOT_READY only says that some query is unavailable; the pairs say which.
        match result {
            Ok(()) | Err(vk::Result::NOT_READY) => {
                Some(out.map(|[v, available]| (available != 0).then_some(v)))
            }
            Err(_) => None,
        }
    }

    /// Records one dispatch of `k`: a fresh descriptor set binding `buffers` in order (for
    /// an element-wise kernel the inputs, the output, the status word), the pipeline, the
    /// push constants `push` (as large as the kernel's layout declares) and the dispatch of
    /// `plan`.
    ///
    /// # Safety
    /// The recorder is recording; every buffer in `buffers` is a live buffer of this
    /// device, large enough, that stays alive until the submission completes.
    pub(crate) unsafe fn record_dispatch(
        &mut self,
        k: &RawKernel,
        plan: &DispatchPlan,
        buffers: &[vk::DescriptorBufferInfo],
        push: &[u8],
    ) -> Result<(), Error> {
        let set = self.allocate_set(k.set_layout)?;
        let writes: Vec<_> = buffers
            .iter()
            .enumerate()
            .map(|(binding, info)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(binding as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(std::slice::from_ref(info))
            })
            .collect();
        let raw = &self.device.raw;
        let cmd = self.cmd;
        // SAFETY: the set is fresh from this recorder's pool and not in use; the rest is
        // guaranteed by the caller.
        unsafe {
            raw.update_descriptor_sets(&writes, &[]);
            raw.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, k.pipeline);
            raw.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::COMPUTE,
                k.layout,
                0,
                &[set],
                &[],
            );
            raw.cmd_push_constants(cmd, k.layout, vk::ShaderStageFlags::COMPUTE, 0, push);
            raw.cmd_dispatch(cmd, plan.groups_x, plan.groups_y, 1);
        }
        Ok(())
    }

    /// A descriptor set for `layout`, from this recorder's pools.
    pub(crate) fn allocate_set(
        &mut self,
        layout: vk::DescriptorSetLayout,
    ) -> Result<vk::DescriptorSet, Error> {
        let layouts = [layout];
        loop {
            if self.current_pool == self.descriptor_pools.len() {
                self.add_descriptor_pool()?;
            }
            let info = vk::DescriptorSetAllocateInfo::default()
                .descriptor_pool(self.descriptor_pools[self.current_pool])
                .set_layouts(&layouts);
            // SAFETY: pool and layout are live objects of this device.
            match unsafe { self.device.raw.allocate_descriptor_sets(&info) } {
                Ok(sets) => return Ok(sets[0]),
                Err(vk::Result::ERROR_OUT_OF_POOL_MEMORY | vk::Result::ERROR_FRAGMENTED_POOL) => {
                    self.current_pool += 1;
                }
                Err(e) => return Err(Error::from_vk("vkAllocateDescriptorSets", e)),
            }
        }
    }

    fn add_descriptor_pool(&mut self) -> Result<(), Error> {
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(SETS_PER_POOL * BINDINGS_PER_SET)];
        let info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(SETS_PER_POOL)
            .pool_sizes(&sizes);
        // SAFETY: the device is live.
        let pool = unsafe { self.device.raw.create_descriptor_pool(&info, None) }
            .map_err(Error::vk("vkCreateDescriptorPool"))?;
        self.descriptor_pools.push(pool);
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // SAFETY: recorders are dropped only when their last submission has completed
        // (or the device is idle); null handles are ignored.
        unsafe {
            let raw = &self.device.raw;
            for &pool in &self.descriptor_pools {
                raw.destroy_descriptor_pool(pool, None);
            }
            if let Some(q) = self.queries {
                raw.destroy_query_pool(q, None);
            }
            raw.destroy_command_pool(self.command_pool, None);
        }
    }
}

/// Status words per host buffer.
const STATUS_WORDS_PER_BUFFER: usize = 64;

/// The status words of the dispatches a recorder records (see [`crate::KernelDesc`]): one
/// per dispatch, a storage-buffer offset alignment apart in host memory, so that dispatches
/// that run at once never write the same memory and need no barrier between them. The
/// buffers stay with the recorder, which is reused only once its submission has completed.
#[derive(Default)]
pub(crate) struct StatusWords {
    buffers: Vec<Arc<RawBuffer>>,
    /// Words handed out since the recorder began.
    used: usize,
}

impl StatusWords {
    /// Bytes from one word to the next: an offset any storage-buffer binding accepts.
    fn stride(pool: &Arc<BufferPool>) -> usize {
        (pool.device().limits.min_storage_buffer_offset_alignment as usize).max(8)
    }

    /// A zeroed word for the next dispatch: its buffer, and its byte offset there.
    pub(crate) fn next(&mut self, pool: &Arc<BufferPool>) -> Result<(Arc<RawBuffer>, u64), Error> {
        let stride = Self::stride(pool);
        let (b, k) = (
            self.used / STATUS_WORDS_PER_BUFFER,
            self.used % STATUS_WORDS_PER_BUFFER,
        );
        if b == self.buffers.len() {
            let bytes = (stride * STATUS_WORDS_PER_BUFFER) as u64;
            self.buffers.push(pool.staging(bytes)?);
        }
        let buf = Arc::clone(&self.buffers[b]);
        // SAFETY: the recorder's status buffers are used by its own submissions only, and
        // it records again only once the last one has completed; word `k` lies within the
        // buffer (k * stride < its size).
        let word = unsafe { buf.words_range_mut(k * stride / 8, 1)? };
        word[0] = 0;
        self.used += 1;
        Ok((buf, (k * stride) as u64))
    }

    /// The OR of every word, once the batch has completed.
    pub(crate) fn read(&self, pool: &Arc<BufferPool>) -> Result<u32, Error> {
        let stride = Self::stride(pool);
        let mut flags = 0;
        for (b, buf) in self.buffers.iter().enumerate() {
            // Buffers past the words this batch used hold an earlier batch's words.
            let n = (self.used.saturating_sub(b * STATUS_WORDS_PER_BUFFER))
                .min(STATUS_WORDS_PER_BUFFER);
            for k in 0..n {
                // SAFETY: the batch has completed and its final barrier made the kernels'
                // writes visible to the host; nothing else uses the buffer.
                let word = unsafe { buf.words_range(k * stride / 8, 1)? }[0];
                // The kernel's `uint` is the word's first four bytes (little-endian).
                flags |= word as u32;
            }
        }
        Ok(flags)
    }
}

/// Tracks which buffers the commands since the last barrier read and wrote, and says
/// when a new command needs a barrier (read-after-write, write-after-write,
/// write-after-read). Independent commands get none, so they may overlap on the GPU.
#[derive(Default)]
pub(crate) struct Hazards {
    written: HashSet<vk::Buffer>,
    read: HashSet<vk::Buffer>,
    /// Stages of the commands since the last barrier.
    stages: vk::PipelineStageFlags,
}

/// A memory barrier to record: (source stages, destination stages).
pub(crate) type BarrierNeed = (vk::PipelineStageFlags, vk::PipelineStageFlags);

impl Hazards {
    /// Notes a command at `stage` reading `reads` and writing `writes`; returns the barrier
    /// to record before it, if one is needed.
    ///
    /// A barrier makes every earlier write visible to both transfer and compute stages,
    /// not just to `stage`: the sets are cleared after it, so a later command of the other
    /// kind (say a download after a dispatch that followed the barrier) must be covered too.
    pub(crate) fn access(
        &mut self,
        reads: &[vk::Buffer],
        writes: &[vk::Buffer],
        stage: vk::PipelineStageFlags,
    ) -> Option<BarrierNeed> {
        let hazard = reads.iter().any(|b| self.written.contains(b))
            || writes
                .iter()
                .any(|b| self.written.contains(b) || self.read.contains(b));
        let need = hazard.then(|| {
            let need = (
                self.stages,
                vk::PipelineStageFlags::TRANSFER | vk::PipelineStageFlags::COMPUTE_SHADER,
            );
            self.written.clear();
            self.read.clear();
            self.stages = vk::PipelineStageFlags::empty();
            need
        });
        self.read.extend(reads);
        self.written.extend(writes);
        self.stages |= stage;
        need
    }
}

/// Access flags matching the transfer/compute stages we use.
fn write_access(stages: vk::PipelineStageFlags) -> vk::AccessFlags {
    let mut access = vk::AccessFlags::empty();
    if stages.contains(vk::PipelineStageFlags::TRANSFER) {
        access |= vk::AccessFlags::TRANSFER_WRITE;
    }
    if stages.contains(vk::PipelineStageFlags::COMPUTE_SHADER) {
        access |= vk::AccessFlags::SHADER_WRITE;
    }
    access
}

fn read_write_access(stages: vk::PipelineStageFlags) -> vk::AccessFlags {
    let mut access = vk::AccessFlags::empty();
    if stages.contains(vk::PipelineStageFlags::TRANSFER) {
        access |= vk::AccessFlags::TRANSFER_READ | vk::AccessFlags::TRANSFER_WRITE;
    }
    if stages.contains(vk::PipelineStageFlags::COMPUTE_SHADER) {
        access |= vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE;
    }
    if stages.contains(vk::PipelineStageFlags::HOST) {
        access |= vk::AccessFlags::HOST_READ;
    }
    access
}

/// Records a global memory barrier making writes of `src` stages visible to `dst` stages.
///
/// # Safety
/// `cmd` must be a command buffer of `raw` in the recording state.
pub(crate) unsafe fn memory_barrier(
    raw: &ash::Device,
    cmd: vk::CommandBuffer,
    src: vk::PipelineStageFlags,
    dst: vk::PipelineStageFlags,
) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(write_access(src))
        .dst_access_mask(read_write_access(dst))];
    // SAFETY: guaranteed by the caller.
    unsafe {
        raw.cmd_pipeline_barrier(
            cmd,
            src,
            dst,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(n: u64) -> vk::Buffer {
        use ash::vk::Handle;
        vk::Buffer::from_raw(n)
    }

    #[test]
    fn barriers_only_where_data_flows() {
        let (t, c) = (
            vk::PipelineStageFlags::TRANSFER,
            vk::PipelineStageFlags::COMPUTE_SHADER,
        );
        let both = t | c;
        let mut h = Hazards::default();
        // Two independent uploads: no barrier.
        assert_eq!(h.access(&[buf(1)], &[buf(2)], t), None);
        assert_eq!(h.access(&[buf(3)], &[buf(4)], t), None);
        // A dispatch reading an uploaded buffer: read-after-write.
        assert_eq!(h.access(&[buf(2), buf(4)], &[buf(5)], c), Some((t, both)));
        // Another dispatch on different buffers: none.
        assert_eq!(h.access(&[buf(6)], &[buf(7)], c), None);
        // Overwriting an input read since the barrier: write-after-read.
        assert_eq!(h.access(&[], &[buf(6)], t), Some((c, both)));
        // Writing the same buffer twice: write-after-write.
        assert_eq!(h.access(&[], &[buf(6)], c), Some((t, both)));
    }
}
