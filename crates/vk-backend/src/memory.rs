//! Buffers, their memory (through gpu-allocator) and the buffer pool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ash::vk;
use gpu_allocator::vulkan::{Allocation, AllocationCreateDesc, AllocationScheme};
use gpu_allocator::MemoryLocation;
use gpu_core::SizeBucket;

use crate::device::Device;
use crate::Error;

/// Where a buffer's memory lives, and so what it is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MemoryKind {
    /// Device-local memory for kernel data; not mapped.
    DeviceLocal,
    /// Device memory the host can write (resizable BAR) where the device has it, else
    /// host-visible memory: small uploads are written straight into it.
    DeviceMapped,
    /// Host memory, cached on the host where available: upload staging (fast host writes,
    /// copy engines read it) and readback (fast host reads).
    HostStaging,
}

impl MemoryKind {
    fn location(self) -> MemoryLocation {
        match self {
            MemoryKind::DeviceLocal => MemoryLocation::GpuOnly,
            // gpu-allocator prefers DEVICE_LOCAL | HOST_VISIBLE | HOST_COHERENT here.
            MemoryKind::DeviceMapped => MemoryLocation::CpuToGpu,
            // gpu-allocator prefers HOST_VISIBLE | HOST_COHERENT | HOST_CACHED here, falling
            // back to uncached coherent memory. Both directions of staging use it: host
            // writes to cached memory run at memcpy speed, unlike write-combined BAR memory.
            MemoryKind::HostStaging => MemoryLocation::GpuToCpu,
        }
    }

    pub(crate) fn is_mapped(self) -> bool {
        self != MemoryKind::DeviceLocal
    }
}

/// The Vulkan parts of a pooled buffer.
struct BufferParts {
    raw: vk::Buffer,
    // gpu-allocator's `Allocation` has no Drop: it goes back to the allocator explicitly.
    allocation: Allocation,
    capacity: u64,
    usage: vk::BufferUsageFlags,
    kind: MemoryKind,
    /// When it was last released to the pool (the pool's clock), for LRU eviction.
    released: u64,
}

/// Pool statistics, readable at run time through `Context::pool_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Requests served by an idle pooled buffer.
    pub hits: u64,
    /// Requests that created a new buffer.
    pub misses: u64,
    /// Idle buffers held for reuse.
    pub idle_buffers: usize,
    /// Bytes of idle buffers held for reuse.
    pub idle_bytes: u64,
    /// Bytes of pooled buffers in use (including the persistent upload staging ring, 64
    /// MiB, once a staged upload has made it).
    pub in_use_bytes: u64,
    /// Idle buffers destroyed because the pool was over its byte limit.
    pub evictions: u64,
}

#[derive(Default)]
struct PoolState {
    /// Idle buffers by (memory kind, capacity bucket in bytes).
    idle: HashMap<(MemoryKind, u64), Vec<BufferParts>>,
    stats: PoolStats,
    /// Counts releases; orders idle buffers for eviction.
    clock: u64,
}

/// Reuses buffers by (memory kind, power-of-two size bucket), so steady-state batches
/// allocate nothing. A pooled buffer is only handed out when its usage flags cover the
/// request (seed 001's crash came from a pool that did not check).
pub(crate) struct BufferPool {
    device: Arc<Device>,
    buckets: SizeBucket,
    /// Idle bytes above this are freed rather than kept.
    idle_limit: u64,
    state: Mutex<PoolState>,
}

/// Smallest buffer the pool makes: below this, allocations cost the same.
const MIN_BUCKET_BYTES: usize = 64 * 1024;

impl BufferPool {
    pub(crate) fn new(device: &Arc<Device>, idle_limit: u64) -> Arc<Self> {
        Arc::new(Self {
            device: Arc::clone(device),
            buckets: SizeBucket::new(MIN_BUCKET_BYTES).expect("a power of two"),
            idle_limit,
            state: Mutex::default(),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The device whose memory this pool holds.
    pub(crate) fn device(&self) -> &Arc<Device> {
        &self.device
    }

    /// A host-memory buffer for staging `bytes` (uploads, downloads, host outputs, status
    /// words).
    pub(crate) fn staging(self: &Arc<Self>, bytes: u64) -> Result<Arc<RawBuffer>, Error> {
        let usage = vk::BufferUsageFlags::TRANSFER_SRC
            | vk::BufferUsageFlags::TRANSFER_DST
            | vk::BufferUsageFlags::STORAGE_BUFFER;
        self.acquire(bytes, usage, MemoryKind::HostStaging)
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.state().stats
    }

    /// A buffer of at least `bytes` (> 0) with at least `usage`, in `kind` memory.
    pub(crate) fn acquire(
        self: &Arc<Self>,
        bytes: u64,
        usage: vk::BufferUsageFlags,
        kind: MemoryKind,
    ) -> Result<Arc<RawBuffer>, Error> {
        let bucket = usize::try_from(bytes.max(1))
            .ok()
            .and_then(|b| self.buckets.bucket(b))
            .ok_or_else(|| {
                Error::InvalidArgument(format!("a buffer of {bytes} bytes is too large"))
            })? as u64;
        let reused = {
            let mut state = self.state();
            let found = state.idle.get_mut(&(kind, bucket)).and_then(|list| {
                let i = list.iter().position(|p| p.usage.contains(usage))?;
                Some(list.swap_remove(i))
            });
            match &found {
                Some(parts) => {
                    state.stats.hits += 1;
                    state.stats.idle_buffers -= 1;
                    state.stats.idle_bytes -= parts.capacity;
                    state.stats.in_use_bytes += parts.capacity;
                }
                None => state.stats.misses += 1,
            }
            found
        };
        let parts = match reused {
            Some(parts) => parts,
            None => {
                let parts = self.create(bucket, usage, kind)?;
                self.state().stats.in_use_bytes += parts.capacity;
                parts
            }
        };
        Ok(Arc::new(RawBuffer {
            raw: parts.raw,
            mapped: parts
                .allocation
                .mapped_ptr()
                .map(|p| p.as_ptr().cast::<u64>()),
            kind,
            capacity: parts.capacity,
            parts: Some(parts),
            pool: Arc::clone(self),
            last_use: AtomicU64::new(0),
            host_access: Mutex::new(()),
        }))
    }

    fn create(
        &self,
        capacity: u64,
        usage: vk::BufferUsageFlags,
        kind: MemoryKind,
    ) -> Result<BufferParts, Error> {
        let device = &self.device;
        let concurrent = device.families.len() > 1;
        let mut info = vk::BufferCreateInfo::default().size(capacity).usage(usage);
        // Buffers of streamed jobs move between the transfer and compute families; sharing
        // them concurrently avoids ownership transfers (one barrier pair per queue hop).
        info = if concurrent {
            info.sharing_mode(vk::SharingMode::CONCURRENT)
                .queue_family_indices(&device.families)
        } else {
            info.sharing_mode(vk::SharingMode::EXCLUSIVE)
        };
        // SAFETY: the device is live and `info` points at live data.
        let raw = unsafe { device.raw.create_buffer(&info, None) }
            .map_err(Error::vk("vkCreateBuffer"))?;
        // SAFETY: `raw` is a live buffer of this device.
        let requirements = unsafe { device.raw.get_buffer_memory_requirements(raw) };
        let allocation = device.allocator().allocate(&AllocationCreateDesc {
            name: "pooled buffer",
            requirements,
            location: kind.location(),
            linear: true,
            allocation_scheme: AllocationScheme::GpuAllocatorManaged,
        });
        let allocation = match allocation {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: `raw` is unbound and unused.
                unsafe { device.raw.destroy_buffer(raw, None) };
                return Err(Error::from_allocation(
                    "gpu_allocator::Allocator::allocate",
                    e,
                ));
            }
        };
        device.allocation_created();
        let parts = BufferParts {
            raw,
            allocation,
            capacity,
            usage,
            kind,
            released: 0,
        };
        // SAFETY: the allocation satisfies `requirements` of `raw`, which is unbound.
        let bound = unsafe {
            device
                .raw
                .bind_buffer_memory(raw, parts.allocation.memory(), parts.allocation.offset())
        };
        if let Err(e) = bound {
            self.destroy(parts);
            return Err(Error::from_vk("vkBindBufferMemory", e));
        }
        let aligned = parts
            .allocation
            .mapped_ptr()
            .is_none_or(|p| p.as_ptr().cast::<u64>().is_aligned());
        if kind.is_mapped() && (parts.allocation.mapped_ptr().is_none() || !aligned) {
            self.destroy(parts);
            return Err(Error::Allocation(format!(
                "{kind:?} memory is not host-visible and 8-byte aligned"
            )));
        }
        Ok(parts)
    }

    fn destroy(&self, parts: BufferParts) {
        // SAFETY: the buffer is idle (its last user's submission has completed) and owned
        // by us alone.
        unsafe { self.device.raw.destroy_buffer(parts.raw, None) };
        // A failed free leaves the block in gpu-allocator's leak report; nothing else to do.
        let _ = self.device.allocator().free(parts.allocation);
        self.device.allocation_freed();
    }

    /// Takes back a buffer nobody uses any more. When the idle buffers then exceed the
    /// pool's limit, the least recently released go first: the buffer just returned is the
    /// one most likely to be asked for again (steady-state batches reuse the same sizes).
    fn release(&self, mut parts: BufferParts) {
        let evicted = {
            let mut state = self.state();
            state.clock += 1;
            parts.released = state.clock;
            state.stats.in_use_bytes -= parts.capacity;
            state.stats.idle_buffers += 1;
            state.stats.idle_bytes += parts.capacity;
            state
                .idle
                .entry((parts.kind, parts.capacity))
                .or_default()
                .push(parts);
            let mut evicted = Vec::new();
            while state.stats.idle_bytes > self.idle_limit {
                let oldest = state
                    .idle
                    .iter()
                    .flat_map(|(key, list)| {
                        list.iter()
                            .enumerate()
                            .map(move |(i, p)| (p.released, *key, i))
                    })
                    .min_by_key(|&(released, _, _)| released);
                let Some((_, key, i)) = oldest else { break };
                let list = state.idle.get_mut(&key).expect("found just now");
                let victim = list.swap_remove(i);
                if list.is_empty() {
                    state.idle.remove(&key);
                }
                state.stats.idle_buffers -= 1;
                state.stats.idle_bytes -= victim.capacity;
                state.stats.evictions += 1;
                evicted.push(victim);
            }
            evicted
        };
        for parts in evicted {
            self.destroy(parts);
        }
    }

    /// Frees every idle buffer.
    pub(crate) fn trim(&self) {
        let start = std::time::Instant::now();
        let idle: Vec<BufferParts> = {
            let mut state = self.state();
            state.stats.idle_buffers = 0;
            state.stats.idle_bytes = 0;
            state.idle.drain().flat_map(|(_, v)| v).collect()
        };
        let buffers = idle.len();
        for parts in idle {
            self.destroy(parts);
        }
        tracing::debug!(buffers, took = ?start.elapsed(), "freed the idle pooled buffers");
    }
}

impl Drop for BufferPool {
    fn drop(&mut self) {
        // Buffers in use hold an Arc to the pool, so only idle ones are left.
        self.trim();
    }
}

/// A buffer handed out by the pool. Goes back to the pool when the last `Arc` drops;
/// in-flight submissions hold an `Arc` too, so that only happens after the GPU is done.
pub(crate) struct RawBuffer {
    pub(crate) raw: vk::Buffer,
    mapped: Option<*mut u64>,
    pub(crate) kind: MemoryKind,
    pub(crate) capacity: u64,
    parts: Option<BufferParts>,
    pool: Arc<BufferPool>,
    /// Timeline value of the last submission that used this buffer (0: none).
    pub(crate) last_use: AtomicU64,
    /// Held while the host reads or writes the mapping on a caller's behalf
    /// (`Context::host_read`/`host_write`, `Finished::read`) and while a submission using
    /// the buffer is handed to the queue: so a caller's slice and GPU work on the same
    /// memory never overlap.
    pub(crate) host_access: Mutex<()>,
}

// SAFETY: `mapped` points into memory owned by this buffer's allocation; access to it goes
// through `&self`/`&mut self` methods whose callers uphold the host/GPU ordering rules.
unsafe impl Send for RawBuffer {}
// SAFETY: as above; shared access only reads the mapping (see `words`).
unsafe impl Sync for RawBuffer {}

impl std::fmt::Debug for RawBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawBuffer")
            .field("kind", &self.kind)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl RawBuffer {
    pub(crate) fn pool(&self) -> &Arc<BufferPool> {
        &self.pool
    }

    /// The device the buffer lives on.
    pub(crate) fn device(&self) -> &Arc<Device> {
        &self.pool.device
    }

    fn check_words(&self, words: usize) -> Result<*mut u64, Error> {
        let ptr = self
            .mapped
            .ok_or_else(|| Error::Allocation("buffer memory is not host-visible".to_owned()))?;
        if (words as u64).saturating_mul(8) > self.capacity {
            return Err(Error::InvalidArgument(format!(
                "{words} words do not fit a buffer of {} bytes",
                self.capacity
            )));
        }
        Ok(ptr)
    }

    /// The first `words` words of the mapping, for the host to write.
    ///
    /// # Safety
    /// No GPU work that reads or writes this buffer may be pending, and no other host
    /// reference to the mapping may exist while the returned slice lives.
    // The mapping is shared memory reached through `&self`; exclusivity is the caller's
    // obligation under `# Safety`, as with `UnsafeCell::get`.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn words_mut(&self, words: usize) -> Result<&mut [u64], Error> {
        let ptr = self.check_words(words)?;
        // SAFETY: the mapping is at least `capacity` bytes, 8-byte aligned (checked at
        // creation) and lives as long as `self`; exclusivity is the caller's promise.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr, words) })
    }

    /// The first `words` words of the mapping, for the host to read.
    ///
    /// # Safety
    /// No GPU work that writes this buffer may be pending, its writes must have been made
    /// visible to the host, and no `words_mut` slice may be alive.
    pub(crate) unsafe fn words(&self, words: usize) -> Result<&[u64], Error> {
        let ptr = self.check_words(words)?;
        // SAFETY: as in `words_mut`, shared access.
        Ok(unsafe { std::slice::from_raw_parts(ptr, words) })
    }

    /// Words `start..start + len` of the mapping, for the host to read.
    ///
    /// # Safety
    /// As [`RawBuffer::words`], for that range only: other ranges may be in use by the GPU.
    pub(crate) unsafe fn words_range(&self, start: usize, len: usize) -> Result<&[u64], Error> {
        let end = start
            .checked_add(len)
            .ok_or_else(|| Error::InvalidArgument("range overflows".to_owned()))?;
        let ptr = self.check_words(end)?;
        // SAFETY: `end` words fit the mapping (checked); the range's contents are stable per
        // this function's contract.
        Ok(unsafe { std::slice::from_raw_parts(ptr.add(start), len) })
    }

    /// Words `start..start + len` of the mapping, for the host to write.
    ///
    /// # Safety
    /// As [`RawBuffer::words_mut`], for that range only: other ranges may be in use by the
    /// GPU or by other host slices.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn words_range_mut(
        &self,
        start: usize,
        len: usize,
    ) -> Result<&mut [u64], Error> {
        let end = start
            .checked_add(len)
            .ok_or_else(|| Error::InvalidArgument("range overflows".to_owned()))?;
        let ptr = self.check_words(end)?;
        // SAFETY: `end` words fit the mapping (checked); exclusive access to the range is
        // this function's contract.
        Ok(unsafe { std::slice::from_raw_parts_mut(ptr.add(start), len) })
    }

    pub(crate) fn mark_used(&self, value: u64) {
        self.last_use.fetch_max(value, Ordering::AcqRel);
    }
}

impl Drop for RawBuffer {
    fn drop(&mut self) {
        if let Some(parts) = self.parts.take() {
            self.pool.release(parts);
        }
    }
}

#[cfg(test)]
mod tests {
    use ash::vk;

    use super::MemoryKind;
    use crate::test_support::test_context_with;
    use crate::DeviceBuffer;

    /// Seed 001's crash: a pool that handed out a buffer without the usage the caller
    /// asked for. The validation layer would flag the copy into a buffer lacking
    /// TRANSFER_DST, and the stats show the miss.
    #[test]
    fn pool_never_returns_a_buffer_without_the_requested_usage() {
        let Some(ctx) = test_context_with("pool_usage_regression", |c| c.with_direct_limit(0))
        else {
            return;
        };
        let pool = &ctx.shared().pool;
        let storage_only = pool
            .acquire(
                4096,
                vk::BufferUsageFlags::STORAGE_BUFFER,
                MemoryKind::DeviceLocal,
            )
            .unwrap();
        let first = storage_only.raw;
        drop(storage_only); // idle in the pool now
        let before = pool.stats();
        let wanted = vk::BufferUsageFlags::STORAGE_BUFFER
            | vk::BufferUsageFlags::TRANSFER_DST
            | vk::BufferUsageFlags::TRANSFER_SRC;
        let copy_target = pool.acquire(4096, wanted, MemoryKind::DeviceLocal).unwrap();
        assert_ne!(
            copy_target.raw, first,
            "the pool handed out a buffer lacking transfer usage"
        );
        assert_eq!(pool.stats().misses, before.misses + 1);
        // Use it as a copy destination for real, so the validation layer checks the usage.
        let buf = DeviceBuffer::new(copy_target, 512, 1);
        let mut batch = ctx.batch().unwrap();
        batch.upload(&buf, |w| w.fill(3)).unwrap();
        let id = batch.download(&buf).unwrap();
        assert_eq!(
            batch
                .submit()
                .unwrap()
                .finish()
                .unwrap()
                .read(id, |w| w[511])
                .unwrap(),
            3
        );
        drop(buf);
        // A request the idle storage-only buffer does cover is a hit.
        let hits = pool.stats().hits;
        let again = pool
            .acquire(
                4096,
                vk::BufferUsageFlags::STORAGE_BUFFER,
                MemoryKind::DeviceLocal,
            )
            .unwrap();
        assert_eq!(pool.stats().hits, hits + 1);
        drop(again);
        let stats = pool.stats();
        assert!(
            stats.idle_buffers >= 2 && stats.idle_bytes >= 2 * 64 * 1024,
            "{stats:?}"
        );
        // Only the persistent upload staging ring (made by the staged upload) is held.
        assert_eq!(stats.in_use_bytes, crate::ring::RING_BYTES, "{stats:?}");
    }

    /// Over the idle limit, the least recently released buffers are freed, not the one
    /// just returned (a pool that refused fresh returns re-allocated host memory on every
    /// batch once large idle device buffers had filled it).
    #[test]
    fn eviction_frees_the_least_recently_released() {
        let bucket = 64 * 1024;
        let Some(ctx) =
            test_context_with("pool_eviction_lru", |c| c.with_pool_idle_limit(3 * bucket))
        else {
            return;
        };
        let pool = &ctx.shared().pool;
        let usage = vk::BufferUsageFlags::STORAGE_BUFFER;
        let bufs: Vec<_> = (0..4)
            .map(|_| pool.acquire(1000, usage, MemoryKind::DeviceLocal).unwrap())
            .collect();
        let raws: Vec<_> = bufs.iter().map(|b| b.raw).collect();
        drop(bufs); // released in order 0, 1, 2, 3
        let stats = pool.stats();
        assert_eq!(
            (stats.idle_buffers, stats.idle_bytes, stats.evictions),
            (3, 3 * bucket, 1),
            "{stats:?}"
        );
        let again: Vec<_> = (0..3)
            .map(|_| pool.acquire(1000, usage, MemoryKind::DeviceLocal).unwrap())
            .collect();
        let mut got: Vec<_> = again.iter().map(|b| b.raw).collect();
        got.sort();
        let mut want = raws[1..].to_vec();
        want.sort();
        assert_eq!(
            got, want,
            "the oldest release was evicted, the three newest kept"
        );
    }
}
