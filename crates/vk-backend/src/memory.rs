//! Buffers and their memory, through gpu-allocator.

use std::sync::Arc;

use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme};
use gpu_allocator::MemoryLocation;

use crate::device::Device;
use crate::Error;

/// Where a buffer's memory lives, and so what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryKind {
    /// Device-local memory for kernel data; not mapped.
    DeviceLocal,
    /// Host-visible, write-combined memory the host fills and the GPU copies from.
    Upload,
    /// Host-visible memory, cached on the host where available (fast reads), that the GPU
    /// copies results into.
    Readback,
}

impl MemoryKind {
    fn location(self) -> MemoryLocation {
        match self {
            MemoryKind::DeviceLocal => MemoryLocation::GpuOnly,
            MemoryKind::Upload => MemoryLocation::CpuToGpu,
            // gpu-allocator picks HOST_VISIBLE | HOST_COHERENT | HOST_CACHED here when the
            // device offers it, falling back to uncached coherent memory.
            MemoryKind::Readback => MemoryLocation::GpuToCpu,
        }
    }
}

/// A `VkBuffer` bound to its own gpu-allocator allocation. Frees both on drop.
pub(crate) struct Buffer {
    device: Arc<Device>,
    pub(crate) raw: vk::Buffer,
    // gpu-allocator's `Allocation` has no Drop: it is handed back to the allocator in ours.
    allocation: Option<Allocation>,
    pub(crate) size: vk::DeviceSize,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Buffer {
    /// Creates a buffer of `size` bytes (> 0) with `usage`, in memory of `kind`.
    pub(crate) fn new(
        device: &Arc<Device>,
        name: &str,
        size: vk::DeviceSize,
        usage: vk::BufferUsageFlags,
        kind: MemoryKind,
    ) -> Result<Self, Error> {
        debug_assert!(size > 0, "Vulkan buffers cannot be empty");
        let info = vk::BufferCreateInfo::default()
            .size(size)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: `device.raw` is live and `info` is a valid create info.
        let raw = unsafe { device.raw.create_buffer(&info, None) }
            .map_err(Error::vk("vkCreateBuffer"))?;
        // From here on `buffer` owns `raw`, so an early return destroys it.
        let mut buffer = Self {
            device: Arc::clone(device),
            raw,
            allocation: None,
            size,
        };
        // SAFETY: `raw` is a live buffer of this device.
        let requirements = unsafe { device.raw.get_buffer_memory_requirements(raw) };
        let allocation = device
            .allocator()
            .allocate(&AllocationCreateDesc {
                name,
                requirements,
                location: kind.location(),
                linear: true,
                allocation_scheme: AllocationScheme::GpuAllocatorManaged,
            })
            .map_err(Error::from_allocation)?;
        device.allocation_created();
        // SAFETY: the allocation satisfies `requirements` of `raw`, which is unbound.
        let bound = unsafe {
            device
                .raw
                .bind_buffer_memory(raw, allocation.memory(), allocation.offset())
        };
        buffer.allocation = Some(allocation);
        bound.map_err(Error::vk("vkBindBufferMemory"))?;
        Ok(buffer)
    }

    /// The mapped memory as u64 words; `None` for memory that is not host-visible.
    fn mapped_words_ptr(&self) -> Option<*mut u64> {
        let ptr = self
            .allocation
            .as_ref()?
            .mapped_ptr()?
            .as_ptr()
            .cast::<u64>();
        // Vulkan maps at least minMemoryMapAlignment (>= 64) bytes aligned and gpu-allocator
        // offsets respect the buffer's alignment; checked anyway since we cast to u64.
        ptr.is_aligned().then_some(ptr)
    }

    /// The first `words` u64 words of the mapped memory, for writing.
    pub(crate) fn mapped_words_mut(&mut self, words: usize) -> Result<&mut [u64], Error> {
        self.check_words(words)?;
        let ptr = self.mapped_words_ptr().ok_or_else(not_mapped)?;
        // SAFETY: the mapping is at least `size` bytes (checked above), 8-byte aligned and
        // lives as long as `self`; `&mut self` makes this the only reference to it, and no
        // GPU work touches it while the host holds it (callers wait for their fences).
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, words) })
    }

    /// The first `words` u64 words of the mapped memory, for reading.
    pub(crate) fn mapped_words(&self, words: usize) -> Result<&[u64], Error> {
        self.check_words(words)?;
        let ptr = self.mapped_words_ptr().ok_or_else(not_mapped)?;
        // SAFETY: as in `mapped_words_mut`; shared access only.
        Ok(unsafe { std::slice::from_raw_parts(ptr, words) })
    }

    fn check_words(&self, words: usize) -> Result<(), Error> {
        if (words as u64).saturating_mul(8) > self.size {
            return Err(Error::InvalidArgument(format!(
                "{words} words do not fit a buffer of {} bytes",
                self.size
            )));
        }
        Ok(())
    }
}

fn not_mapped() -> Error {
    Error::Allocation("buffer memory is not host-visible and 8-byte aligned".to_owned())
}

impl Drop for Buffer {
    fn drop(&mut self) {
        // SAFETY: the owner of a Buffer keeps it alive until the GPU work using it has
        // completed (see command.rs), so neither the buffer nor its memory is in use.
        unsafe { self.device.raw.destroy_buffer(self.raw, None) };
        if let Some(allocation) = self.allocation.take() {
            // A failed free leaves the block in gpu-allocator's leak report; nothing else to do.
            let _ = self.device.allocator().free(allocation);
            self.device.allocation_freed();
        }
    }
}
