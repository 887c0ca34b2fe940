//! The persistent upload staging ring: one mapped host buffer, kept for the context's life,
//! that staged uploads take in turn. A batch writes its data into the next free region and
//! records a copy from it; the region comes free once the submission that reads it has
//! completed (its timeline value), and regions are reclaimed in the order they were handed
//! out. Uploads too large for the ring, or arriving while it is full, take a pooled
//! staging buffer instead (`Shared::staging`), so the ring never makes anyone wait.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use ash::vk;

use crate::memory::{BufferPool, MemoryKind, RawBuffer};
use crate::Error;

/// The ring's size in bytes. Uploads of up to a quarter of it use the ring.
pub(crate) const RING_BYTES: u64 = 64 << 20;

/// Region starts are multiples of this (copies and u64 writes need far less; it keeps
/// regions on separate cache lines and within any device's copy-offset alignment).
const ALIGN: u64 = 256;

/// The ring's bookkeeping: positions are byte counts since the ring was made (they only
/// grow); a position's place in the buffer is the count modulo the size.
#[derive(Debug, Default)]
struct Regions {
    /// Where the next region starts.
    head: u64,
    /// Everything before this is free.
    tail: u64,
    /// Handed-out regions in order: (start, end, the timeline value that frees it, once
    /// known). A region that had to skip the buffer's end starts where the skip began.
    taken: VecDeque<(u64, u64, Option<u64>)>,
}

impl Regions {
    /// Takes `bytes` (aligned up) from a ring of `size` bytes, once regions freed by
    /// timeline value `completed` are reclaimed: the region's start (an identifier) and its
    /// offset in the buffer, or `None` when it does not fit now.
    fn take(&mut self, size: u64, bytes: u64, completed: u64) -> Option<(u64, u64)> {
        while let Some(&(_, end, Some(value))) = self.taken.front() {
            if value > completed {
                break;
            }
            self.tail = end;
            self.taken.pop_front();
        }
        if self.taken.is_empty() {
            // Nothing in use: start again at the buffer's beginning.
            self.head = self.head.next_multiple_of(size);
            self.tail = self.head;
        }
        let bytes = bytes.max(1).div_ceil(ALIGN) * ALIGN;
        if bytes > size {
            return None;
        }
        let at = self.head % size;
        // A region never wraps: if it would cross the buffer's end, it starts at the
        // beginning and the bytes skipped belong to it.
        let start = if at + bytes > size {
            self.head + (size - at)
        } else {
            self.head
        };
        let end = start + bytes;
        if end - self.tail > size {
            return None;
        }
        let id = self.head;
        self.taken.push_back((id, end, None));
        self.head = end;
        Some((id, start % size))
    }

    /// Region `id` comes free once the timeline reaches `value` (0: now).
    fn free_at(&mut self, id: u64, value: u64) {
        if let Some(r) = self.taken.iter_mut().rev().find(|r| r.0 == id) {
            r.2 = Some(value);
        }
    }
}

/// The ring: its buffer and bookkeeping.
pub(crate) struct StagingRing {
    pub(crate) buf: Arc<RawBuffer>,
    regions: Mutex<Regions>,
}

impl std::fmt::Debug for StagingRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StagingRing")
            .field("bytes", &self.buf.capacity)
            .finish_non_exhaustive()
    }
}

impl StagingRing {
    /// A ring of [`RING_BYTES`] in host memory from `pool`.
    pub(crate) fn new(pool: &Arc<BufferPool>) -> Result<Self, Error> {
        let buf = pool.acquire(
            RING_BYTES,
            vk::BufferUsageFlags::TRANSFER_SRC,
            MemoryKind::HostStaging,
        )?;
        Ok(Self {
            buf,
            regions: Mutex::new(Regions::default()),
        })
    }

    /// A region of `bytes` for an upload, or `None` when it is larger than a quarter of the
    /// ring or the ring is full of regions the GPU has not finished with (`completed`: the
    /// timeline's value now). The lease frees it when dropped, or after a submission.
    pub(crate) fn lease(&self, bytes: u64, completed: u64) -> Option<RingLease<'_>> {
        let size = self.buf.capacity.min(RING_BYTES);
        if bytes > size / 4 {
            return None;
        }
        let (id, offset) = self
            .regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(size, bytes, completed)?;
        Some(RingLease {
            ring: self,
            id,
            offset,
        })
    }

    fn free_at(&self, id: u64, value: u64) {
        self.regions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .free_at(id, value);
    }
}

/// A region of the ring held by a batch being recorded: freed when dropped (the batch was
/// not submitted), or once the submission that reads it completes ([`RingLease::free_after`]).
pub(crate) struct RingLease<'r> {
    ring: &'r StagingRing,
    id: u64,
    /// Where the region starts in the ring's buffer, in bytes.
    pub(crate) offset: u64,
}

impl RingLease<'_> {
    /// The ring's buffer.
    pub(crate) fn buffer(&self) -> &Arc<RawBuffer> {
        &self.ring.buf
    }

    /// Frees the region once the timeline reaches `value`, the completion of the
    /// submission that reads it.
    pub(crate) fn free_after(self, value: u64) {
        self.ring.free_at(self.id, value);
        std::mem::forget(self);
    }
}

impl Drop for RingLease<'_> {
    fn drop(&mut self) {
        self.ring.free_at(self.id, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_reused_in_order_once_their_submissions_complete() {
        let mut r = Regions::default();
        let size = 4096;
        let (a, off_a) = r.take(size, 1000, 0).unwrap();
        let (b, off_b) = r.take(size, 1000, 0).unwrap();
        assert_eq!((off_a, off_b), (0, 1024), "aligned to 256");
        let (c, off_c) = r.take(size, 2000, 0).unwrap();
        assert_eq!(off_c, 2048);
        assert!(r.take(size, 256, 0).is_none(), "full");
        // Freed out of order: nothing is reclaimed until the oldest is free.
        r.free_at(b, 5);
        assert!(r.take(size, 256, 10).is_none());
        r.free_at(a, 7);
        assert!(
            r.take(size, 256, 6).is_none(),
            "a frees at 7, not yet reached"
        );
        // Both free at 7: the next region wraps to the buffer's start.
        let (d, off_d) = r.take(size, 1500, 7).unwrap();
        assert_eq!(off_d, 0);
        // Skipping the end: a region that would cross it starts at 0 after c and d free.
        r.free_at(c, 8);
        r.free_at(d, 8);
        let (_, off_e) = r.take(size, 3000, 8).unwrap();
        assert_eq!(off_e, 0, "the ring was empty: back to its start");
        assert!(
            r.take(size, size + 1, 100).is_none(),
            "never larger than the ring"
        );
    }

    #[test]
    fn a_region_crossing_the_end_starts_at_the_beginning() {
        let mut r = Regions::default();
        let size = 4096;
        let (a, _) = r.take(size, 3072, 0).unwrap();
        let (b, off_b) = r.take(size, 512, 0).unwrap();
        assert_eq!(off_b, 3072);
        r.free_at(a, 1);
        // 512 bytes left at the end, 3072 free at the start: 1024 goes to the start.
        let (_, off_c) = r.take(size, 1024, 1).unwrap();
        assert_eq!(off_c, 0);
        // b is still in use: the bytes between c and b are free, beyond b's end is not.
        assert!(r.take(size, 2048, 1).is_some());
        assert!(
            r.take(size, 1024, 1).is_none(),
            "b (and the rest) still taken"
        );
        r.free_at(b, 0);
    }
}
