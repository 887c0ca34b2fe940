//! The caller's memory imported as buffers (VK_EXT_external_memory_host): kernels read their
//! inputs and write their outputs straight in host memory over the bus, with no staging
//! copies on either side.

use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use ash::vk;
use ash::vk::Handle as _;

use crate::command::memory_barrier;
use crate::context::Context;
use crate::device::Device;
use crate::dispatch::DispatchPlan;
use crate::host::HostElement;
use crate::{Error, Kernel};

/// A range of host memory imported as a buffer.
struct HostImport {
    device: Arc<Device>,
    buffer: vk::Buffer,
    memory: vk::DeviceMemory,
    /// Where the caller's bytes start inside the buffer (the import starts on an aligned
    /// address at or below them).
    offset: u64,
    len: u64,
}

impl HostImport {
    /// Imports `ptr..ptr + len` (`len > 0`), widened to the import alignment.
    ///
    /// # Safety
    /// The widened range lies in pages the caller's allocation covers, so it is mapped;
    /// `ptr..ptr + len` must stay valid (and, where the GPU writes it, exclusively borrowed)
    /// and unmoved until this import is dropped and every GPU use of it has completed.
    unsafe fn new(device: &Arc<Device>, ptr: *const u8, len: usize) -> Result<Self, Error> {
        let support = device
            .host_import
            .as_ref()
            .ok_or_else(|| Error::Unsupported {
                what: "VK_EXT_external_memory_host (importing host memory)".to_owned(),
            })?;
        let align = support.alignment;
        let start = (ptr as u64) / align * align;
        let end = (ptr as u64 + len as u64).div_ceil(align) * align;
        let size = end - start;
        let handle = vk::ExternalMemoryHandleTypeFlags::HOST_ALLOCATION_EXT;
        let mut host_props = vk::MemoryHostPointerPropertiesEXT::default();
        // SAFETY: `start` is aligned as the extension requires and lies in mapped pages of
        // the caller's allocation (see the function's contract).
        unsafe {
            (support
                .functions
                .fp()
                .get_memory_host_pointer_properties_ext)(
                device.raw.handle(),
                handle,
                start as *const c_void,
                &mut host_props,
            )
        }
        .result()
        .map_err(Error::vk("vkGetMemoryHostPointerPropertiesEXT"))?;

        let mut external = vk::ExternalMemoryBufferCreateInfo::default().handle_types(handle);
        let usage = vk::BufferUsageFlags::STORAGE_BUFFER
            | vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST;
        let mut info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(usage)
            .push_next(&mut external);
        info = if device.families.len() > 1 {
            info.sharing_mode(vk::SharingMode::CONCURRENT)
                .queue_family_indices(&device.families)
        } else {
            info.sharing_mode(vk::SharingMode::EXCLUSIVE)
        };
        // SAFETY: the device is live and `info` points at live data.
        let buffer = unsafe { device.raw.create_buffer(&info, None) }
            .map_err(Error::vk("vkCreateBuffer"))?;
        // Owned from here: Drop releases what exists on an early return.
        let mut import = Self {
            device: Arc::clone(device),
            buffer,
            memory: vk::DeviceMemory::null(),
            offset: ptr as u64 - start,
            len: len as u64,
        };
        // SAFETY: `buffer` is a live buffer of this device.
        let req = unsafe { device.raw.get_buffer_memory_requirements(buffer) };
        let bits = req.memory_type_bits & host_props.memory_type_bits;
        if bits == 0 || req.size > size {
            return Err(Error::Unsupported {
                what: format!(
                    "importing {size} bytes of host memory for a storage buffer on this device"
                ),
            });
        }
        let mut import_info = vk::ImportMemoryHostPointerInfoEXT::default()
            .handle_type(handle)
            .host_pointer(start as *mut c_void);
        let alloc = vk::MemoryAllocateInfo::default()
            .allocation_size(size)
            .memory_type_index(bits.trailing_zeros())
            .push_next(&mut import_info);
        // SAFETY: the pointer, size and memory type satisfy the import's valid usage
        // (aligned, from vkGetMemoryHostPointerPropertiesEXT's bits); the memory stays
        // valid per this function's contract.
        import.memory = unsafe { device.raw.allocate_memory(&alloc, None) }
            .map_err(Error::vk("vkAllocateMemory"))?;
        device.allocation_created();
        // SAFETY: fresh memory of sufficient size bound once to an unbound buffer.
        unsafe { device.raw.bind_buffer_memory(buffer, import.memory, 0) }
            .map_err(Error::vk("vkBindBufferMemory"))?;
        Ok(import)
    }

    fn descriptor(&self) -> vk::DescriptorBufferInfo {
        vk::DescriptorBufferInfo::default()
            .buffer(self.buffer)
            .offset(self.offset)
            .range(self.len)
    }
}

impl Drop for HostImport {
    fn drop(&mut self) {
        // SAFETY: imports live only inside `run_elementwise_host`, which returns only after
        // the GPU has finished with them; null handles are ignored.
        unsafe {
            self.device.raw.destroy_buffer(self.buffer, None);
            if !self.memory.is_null() {
                self.device.raw.free_memory(self.memory, None);
                self.device.allocation_freed();
            }
        }
    }
}

impl Context {
    /// Whether [`Context::run_elementwise_host`] can work here (the device imports host
    /// memory).
    pub fn imports_host_memory(&self) -> bool {
        self.shared().device.host_import.is_some()
    }

    /// Runs element-wise `kernel` with its inputs and output in the caller's memory: the
    /// slices are imported as buffers and the kernel reads and writes them over the bus,
    /// with no staging copies. One submission; returns once the GPU is done with the
    /// caller's memory, also on errors (a timed-out wait keeps waiting rather than return
    /// while the GPU may still write `output`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] when the device cannot import host memory or the slices are
    /// not aligned as its storage-buffer offsets need (callers fall back to
    /// [`Context::run_streamed`]); [`Error::InvalidArgument`] for mismatched counts or
    /// element sizes; [`Error::DeviceLost`] and other Vulkan errors.
    pub fn run_elementwise_host<T: HostElement>(
        &self,
        kernel: &Kernel,
        inputs: &[&[T]],
        output: &mut [T],
    ) -> Result<(), Error> {
        let shared = self.shared();
        let device = &shared.device;
        let k = &kernel.raw;
        let count = output.len();
        let bad = |why: String| {
            Err(Error::InvalidArgument(format!(
                "kernel `{}` on host memory: {why}",
                k.name
            )))
        };
        if !Arc::ptr_eq(&k.device, device) {
            return bad("kernel was created on another context".to_owned());
        }
        if inputs.len() != k.inputs as usize || T::WORDS != k.words_per_element {
            return bad(format!(
                "{} inputs of {} words given, the kernel takes {} of {}",
                inputs.len(),
                T::WORDS,
                k.inputs,
                k.words_per_element
            ));
        }
        if let Some(i) = inputs.iter().position(|x| x.len() != count) {
            return bad(format!(
                "input {i} has {} elements, the output {count}",
                inputs[i].len()
            ));
        }
        if count == 0 {
            return Ok(());
        }
        device.check_alive()?;
        let plan = DispatchPlan::new(&device.limits, k, count)?;
        let bytes = count * T::WORDS as usize * 8;
        let regions: Vec<*const u8> = inputs
            .iter()
            .map(|x| x.as_ptr().cast::<u8>())
            .chain([output.as_ptr().cast::<u8>()])
            .collect();
        let mut imports = Vec::with_capacity(regions.len());
        for &ptr in &regions {
            // SAFETY: each slice is borrowed (the output exclusively) for this whole call,
            // which returns only after the GPU is done with the imports (below); the
            // widened range stays within the pages of the slice's own allocation.
            imports.push(unsafe { HostImport::new(device, ptr, bytes)? });
        }
        let align = device.limits.min_storage_buffer_offset_alignment.max(1);
        if imports.iter().any(|i| i.offset % align != 0) {
            return Err(Error::Unsupported {
                what: format!("host data not aligned to {align} bytes for a storage buffer"),
            });
        }

        let mut rec = shared.recorder()?;
        rec.begin(false)?;
        let mut infos: Vec<vk::DescriptorBufferInfo> =
            imports.iter().map(HostImport::descriptor).collect();
        // The kernel's status word is bound but not read: the output is the caller's
        // memory, for the caller to check.
        let (word, at) = rec.status.next(&shared.pool)?;
        infos.push(
            vk::DescriptorBufferInfo::default()
                .buffer(word.raw)
                .offset(at)
                .range(4),
        );
        // SAFETY: recording; the imported buffers are live and outlive the submission
        // (this function waits for it before dropping them).
        unsafe {
            rec.record_dispatch(k, &plan, &infos, &plan.push_constants())?;
            memory_barrier(
                &device.raw,
                rec.cmd,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::PipelineStageFlags::HOST,
            );
        }
        rec.end()?;
        let value = shared.submit_compute(rec.cmd, &[])?;
        // The GPU writes the caller's memory: never return before it is done, whatever the
        // timeout says. Device loss ends the wait (nothing runs any more).
        let mut waited = shared.timeline.wait(value, shared.timeout, shared.spin);
        while matches!(waited, Err(Error::Timeout { .. })) {
            waited = shared
                .timeline
                .wait(value, Duration::from_secs(3600), Duration::ZERO);
        }
        shared.return_recorder(rec);
        drop(imports);
        waited
    }
}
