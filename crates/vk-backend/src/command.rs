//! Recording and submitting work: one element-wise round trip (upload, dispatch, download)
//! in one command buffer and one submission.

use std::sync::Arc;
use std::time::Duration;

use ash::vk;

use crate::device::Device;
use crate::memory::{Buffer, MemoryKind};
use crate::pipeline::{Kernel, RawKernel, MAX_INPUTS, PUSH_CONSTANT_BYTES};
use crate::sync::Fence;
use crate::Error;

/// Resources of a submission whose fence has not been seen to signal (its wait timed out).
/// They stay alive until the fence signals, so the GPU never touches freed memory.
struct InFlight {
    _buffers: Vec<Buffer>,
    _kernel: Arc<RawKernel>,
}

/// A command pool with one command buffer, a descriptor pool and a fence: everything one
/// submission needs, reused from call to call. Callers serialise access (a `Mutex`).
pub(crate) struct Submitter {
    pending: Option<InFlight>,
    fence: Fence,
    descriptor_pool: vk::DescriptorPool,
    command_pool: vk::CommandPool,
    cmd: vk::CommandBuffer,
    device: Arc<Device>,
}

impl Submitter {
    pub(crate) fn new(device: &Arc<Device>) -> Result<Self, Error> {
        let raw = &device.raw;
        let pool_info = vk::CommandPoolCreateInfo::default()
            .flags(vk::CommandPoolCreateFlags::TRANSIENT)
            .queue_family_index(device.queue_family);
        // SAFETY: the device is live; the info points at locals.
        let command_pool = unsafe { raw.create_command_pool(&pool_info, None) }
            .map_err(Error::vk("vkCreateCommandPool"))?;
        // Owned from here: Drop destroys what exists if a later step fails.
        let mut submitter = Self {
            pending: None,
            fence: Fence::new(device)?,
            descriptor_pool: vk::DescriptorPool::null(),
            command_pool,
            cmd: vk::CommandBuffer::null(),
            device: Arc::clone(device),
        };
        let alloc_info = vk::CommandBufferAllocateInfo::default()
            .command_pool(command_pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(1);
        // SAFETY: `command_pool` is live.
        submitter.cmd = unsafe { raw.allocate_command_buffers(&alloc_info) }
            .map_err(Error::vk("vkAllocateCommandBuffers"))?[0];
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(MAX_INPUTS + 1)];
        let dp_info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(1)
            .pool_sizes(&sizes);
        // SAFETY: the device is live.
        submitter.descriptor_pool = unsafe { raw.create_descriptor_pool(&dp_info, None) }
            .map_err(Error::vk("vkCreateDescriptorPool"))?;
        Ok(submitter)
    }

    /// Waits for a submission left pending by an earlier timeout, then frees its resources.
    fn settle(&mut self, timeout: Duration) -> Result<(), Error> {
        if self.pending.is_some() {
            self.fence.wait(timeout)?;
            self.pending = None;
        }
        Ok(())
    }

    /// Runs `kernel` over `count` elements: `fill(i, words)` writes input `i` into upload
    /// memory, one submission copies it to device-local memory, dispatches, and copies the
    /// output back; `read(words)` then sees the output in host memory.
    pub(crate) fn run_elementwise<R>(
        &mut self,
        kernel: &Kernel,
        count: usize,
        timeout: Duration,
        mut fill: impl FnMut(usize, &mut [u64]),
        read: impl FnOnce(&[u64]) -> R,
    ) -> Result<R, Error> {
        let device = Arc::clone(&self.device);
        device.check_alive()?;
        let k = &kernel.raw;
        if !Arc::ptr_eq(&k.device, &device) {
            return Err(Error::InvalidArgument(format!(
                "kernel `{}` was created on another context",
                k.name
            )));
        }
        if count == 0 {
            return Ok(read(&[]));
        }
        let plan = DispatchPlan::new(&device.limits, k, count)?;
        self.settle(timeout)?;

        let inputs = k.inputs as usize;
        let words = plan.words;
        let bytes = words as u64 * 8;
        let transfer_dst = vk::BufferUsageFlags::TRANSFER_DST;
        let mut staging = Buffer::new(
            &device,
            "upload staging",
            bytes * inputs as u64,
            vk::BufferUsageFlags::TRANSFER_SRC,
            MemoryKind::Upload,
        )?;
        let mut buffers = Vec::with_capacity(inputs + 1);
        for _ in 0..inputs {
            buffers.push(Buffer::new(
                &device,
                "kernel input",
                bytes,
                vk::BufferUsageFlags::STORAGE_BUFFER | transfer_dst,
                MemoryKind::DeviceLocal,
            )?);
        }
        buffers.push(Buffer::new(
            &device,
            "kernel output",
            bytes,
            vk::BufferUsageFlags::STORAGE_BUFFER | vk::BufferUsageFlags::TRANSFER_SRC,
            MemoryKind::DeviceLocal,
        )?);
        let readback = Buffer::new(
            &device,
            "readback",
            bytes,
            transfer_dst,
            MemoryKind::Readback,
        )?;

        for (i, region) in staging
            .mapped_words_mut(words * inputs)?
            .chunks_exact_mut(words)
            .enumerate()
        {
            fill(i, region);
        }

        let set = self.write_descriptors(k, &buffers)?;
        self.record(k, &plan, set, &staging, &buffers, &readback)?;
        self.submit()?;

        let waited = self.fence.wait(timeout);
        if let Err(err) = waited {
            // The GPU may still be using these: keep them until the fence is seen signalled.
            let mut all = buffers;
            all.push(staging);
            all.push(readback);
            self.pending = Some(InFlight {
                _buffers: all,
                _kernel: Arc::clone(k),
            });
            return Err(err);
        }
        Ok(read(readback.mapped_words(words)?))
    }

    fn write_descriptors(
        &mut self,
        k: &RawKernel,
        buffers: &[Buffer],
    ) -> Result<vk::DescriptorSet, Error> {
        let raw = &self.device.raw;
        // SAFETY: the pool's only set belonged to a submission whose fence has signalled.
        unsafe {
            raw.reset_descriptor_pool(self.descriptor_pool, vk::DescriptorPoolResetFlags::empty())
        }
        .map_err(Error::vk("vkResetDescriptorPool"))?;
        let layouts = [k.set_layout];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(self.descriptor_pool)
            .set_layouts(&layouts);
        // SAFETY: pool and layout are live objects of this device.
        let set = unsafe { raw.allocate_descriptor_sets(&info) }
            .map_err(Error::vk("vkAllocateDescriptorSets"))?[0];
        let infos: Vec<[vk::DescriptorBufferInfo; 1]> = buffers
            .iter()
            .map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(b.raw)
                    .offset(0)
                    .range(b.size)]
            })
            .collect();
        let writes: Vec<_> = infos
            .iter()
            .enumerate()
            .map(|(binding, info)| {
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(binding as u32)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .buffer_info(info)
            })
            .collect();
        // SAFETY: the set is not in use by any pending command buffer.
        unsafe { raw.update_descriptor_sets(&writes, &[]) };
        Ok(set)
    }

    fn record(
        &self,
        k: &RawKernel,
        plan: &DispatchPlan,
        set: vk::DescriptorSet,
        staging: &Buffer,
        buffers: &[Buffer],
        readback: &Buffer,
    ) -> Result<(), Error> {
        let raw = &self.device.raw;
        let cmd = self.cmd;
        let bytes = plan.words as u64 * 8;
        // SAFETY: the command buffer is not pending (its last submission's fence signalled)
        // and every handle recorded is a live object of this device that outlives the
        // submission (the caller keeps them until the fence signals).
        unsafe {
            raw.reset_command_pool(self.command_pool, vk::CommandPoolResetFlags::empty())
                .map_err(Error::vk("vkResetCommandPool"))?;
            let begin = vk::CommandBufferBeginInfo::default()
                .flags(vk::CommandBufferUsageFlags::ONE_TIME_SUBMIT);
            raw.begin_command_buffer(cmd, &begin)
                .map_err(Error::vk("vkBeginCommandBuffer"))?;
            let inputs = &buffers[..buffers.len() - 1];
            let output = &buffers[buffers.len() - 1];
            for (i, input) in inputs.iter().enumerate() {
                let region = vk::BufferCopy::default()
                    .src_offset(bytes * i as u64)
                    .dst_offset(0)
                    .size(bytes);
                raw.cmd_copy_buffer(cmd, staging.raw, input.raw, &[region]);
            }
            barrier(
                raw,
                cmd,
                (
                    vk::PipelineStageFlags::TRANSFER,
                    vk::AccessFlags::TRANSFER_WRITE,
                ),
                (
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::AccessFlags::SHADER_READ,
                ),
            );
            raw.cmd_bind_pipeline(cmd, vk::PipelineBindPoint::COMPUTE, k.pipeline);
            raw.cmd_bind_descriptor_sets(
                cmd,
                vk::PipelineBindPoint::COMPUTE,
                k.layout,
                0,
                &[set],
                &[],
            );
            raw.cmd_push_constants(
                cmd,
                k.layout,
                vk::ShaderStageFlags::COMPUTE,
                0,
                &plan.push_constants(),
            );
            raw.cmd_dispatch(cmd, plan.groups_x, plan.groups_y, 1);
            barrier(
                raw,
                cmd,
                (
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::AccessFlags::SHADER_WRITE,
                ),
                (
                    vk::PipelineStageFlags::TRANSFER,
                    vk::AccessFlags::TRANSFER_READ,
                ),
            );
            let region = vk::BufferCopy::default().size(bytes);
            raw.cmd_copy_buffer(cmd, output.raw, readback.raw, &[region]);
            // Makes the copy's writes visible to host reads after the fence wait.
            barrier(
                raw,
                cmd,
                (
                    vk::PipelineStageFlags::TRANSFER,
                    vk::AccessFlags::TRANSFER_WRITE,
                ),
                (vk::PipelineStageFlags::HOST, vk::AccessFlags::HOST_READ),
            );
            raw.end_command_buffer(cmd)
                .map_err(Error::vk("vkEndCommandBuffer"))?;
        }
        Ok(())
    }

    fn submit(&self) -> Result<(), Error> {
        self.fence.reset()?;
        let cmds = [self.cmd];
        let submit = [vk::SubmitInfo::default().command_buffers(&cmds)];
        let queue = self.device.queue();
        // SAFETY: the command buffer is fully recorded and not pending; the queue is locked
        // for the duration of the call as Vulkan requires; the fence is unsignalled.
        unsafe {
            self.device
                .raw
                .queue_submit(*queue, &submit, self.fence.raw)
        }
        .map_err(|e| self.device.note(Error::from_vk("vkQueueSubmit", e)))
    }
}

/// A global memory barrier from `src` (stage, access) to `dst`.
///
/// # Safety
/// `cmd` must be a command buffer of `raw` in the recording state.
unsafe fn barrier(
    raw: &ash::Device,
    cmd: vk::CommandBuffer,
    src: (vk::PipelineStageFlags, vk::AccessFlags),
    dst: (vk::PipelineStageFlags, vk::AccessFlags),
) {
    let barrier = [vk::MemoryBarrier::default()
        .src_access_mask(src.1)
        .dst_access_mask(dst.1)];
    // SAFETY: guaranteed by the caller.
    unsafe {
        raw.cmd_pipeline_barrier(
            cmd,
            src.0,
            dst.0,
            vk::DependencyFlags::empty(),
            &barrier,
            &[],
            &[],
        )
    };
}

/// Sizes of one element-wise dispatch, checked against the device's limits.
struct DispatchPlan {
    count: u32,
    words: usize,
    groups_x: u32,
    groups_y: u32,
    /// Invocations per dispatch row: the shader's flat index is `y * row_stride + x`.
    row_stride: u32,
}

impl DispatchPlan {
    fn new(limits: &vk::PhysicalDeviceLimits, k: &RawKernel, count: usize) -> Result<Self, Error> {
        let too_large = |why: String| {
            Error::InvalidArgument(format!(
                "batch of {count} elements is too large for kernel `{}`: {why}",
                k.name
            ))
        };
        let count32 = u32::try_from(count)
            .map_err(|_| too_large("more than u32::MAX elements".to_owned()))?;
        let words = count
            .checked_mul(k.words_per_element as usize)
            .ok_or_else(|| too_large("size overflows".to_owned()))?;
        let bytes = words as u64 * 8;
        if bytes > u64::from(limits.max_storage_buffer_range) {
            return Err(too_large(format!(
                "{bytes} bytes per buffer exceeds the device's maxStorageBufferRange of {} bytes",
                limits.max_storage_buffer_range
            )));
        }
        // A 2-D grid, because maxComputeWorkGroupCount[0] may be as small as 65535.
        let groups = count32.div_ceil(k.workgroup_size);
        let groups_x = groups.min(limits.max_compute_work_group_count[0]);
        let groups_y = groups.div_ceil(groups_x);
        if groups_y > limits.max_compute_work_group_count[1] {
            return Err(too_large(format!(
                "{groups} workgroups exceed the device's dispatch limits"
            )));
        }
        // The shader's flat index is a u32: every invocation's index must fit, or one that
        // wrapped around would pass the bounds guard and write a wrong element.
        let invocations = u64::from(groups_x) * u64::from(groups_y) * u64::from(k.workgroup_size);
        if invocations > u64::from(u32::MAX) {
            return Err(too_large(format!(
                "{invocations} invocations overflow the 32-bit element index"
            )));
        }
        Ok(Self {
            count: count32,
            words,
            groups_x,
            groups_y,
            row_stride: groups_x * k.workgroup_size, // <= invocations, checked above
        })
    }

    /// The push constants every element-wise kernel declares: `{ uint count; uint row_stride; }`.
    fn push_constants(&self) -> [u8; PUSH_CONSTANT_BYTES as usize] {
        let mut bytes = [0u8; PUSH_CONSTANT_BYTES as usize];
        bytes[..4].copy_from_slice(&self.count.to_ne_bytes());
        bytes[4..].copy_from_slice(&self.row_stride.to_ne_bytes());
        bytes
    }
}

impl Drop for Submitter {
    fn drop(&mut self) {
        // A submission left pending by a timeout must finish before its resources and our
        // pools go; an error here means the device is lost, when nothing runs any more.
        if self.pending.is_some() {
            let _ = self.fence.wait(Duration::MAX);
            self.pending = None;
        }
        // SAFETY: no submission of ours is pending any more; null handles are ignored.
        unsafe {
            let raw = &self.device.raw;
            raw.destroy_descriptor_pool(self.descriptor_pool, None);
            raw.destroy_command_pool(self.command_pool, None);
        }
    }
}
