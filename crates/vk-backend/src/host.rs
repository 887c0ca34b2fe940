//! Host access to buffers in host memory ([`Context::alloc_host`]): callers read and write
//! them in place, as elements of a plain-data type, while no GPU work uses them.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::context::Context;
use crate::memory::{MemoryKind, RawBuffer};
use crate::{DeviceBuffer, Error};

/// A type kernels may read and overwrite in place, as `WORDS` little-endian u64 words.
///
/// # Safety
/// Implementors must be plain data of exactly `WORDS * 8` bytes: no padding, no pointers,
/// alignment at most 8, and every bit pattern a valid value as far as memory safety goes
/// (the GPU writes raw words into it). Logical invariants (say, "less than p") are the
/// implementor's to re-check after a kernel wrote the values.
pub unsafe trait HostElement: Copy + Send + Sync + 'static {
    /// u64 words per element.
    const WORDS: u32;
}

// SAFETY: a u64 is 8 bytes of plain data; every bit pattern is a value.
unsafe impl HostElement for u64 {
    const WORDS: u32 = 1;
}

// SAFETY: an array of u64 is N * 8 bytes of plain data with no padding.
unsafe impl<const N: usize> HostElement for [u64; N] {
    const WORDS: u32 = N as u32;
}

impl Context {
    /// Lets `f` read a buffer from [`Context::alloc_host`] in place, as elements of `T`
    /// (`T::WORDS` must equal the buffer's words per element). Waits (up to the configured
    /// timeout) for submitted work that uses the buffer; while `f` runs, no submission
    /// using the buffer can start.
    ///
    /// # Errors
    /// [`Error::ForeignBuffer`] for a buffer of another context; [`Error::InvalidArgument`]
    /// for one not in host memory or of another element size; [`Error::Timeout`] or [`Error::DeviceLost`] while waiting.
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
        if !Arc::ptr_eq(buf.buf.pool(), &self.shared().pool) {
            return Err(buf.foreign_to(&self.shared().device));
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
        if last > self.shared().timeline.completed()? {
            self.shared()
                .timeline
                .wait(last, self.shared().timeout, self.shared().spin)?;
        }
        Ok(())
    }
}
