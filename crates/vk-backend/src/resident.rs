//! Data that stays on the GPU between operations.

use std::sync::Arc;

use crate::device::Device;
use crate::memory::RawBuffer;
use crate::{DeviceInfo, Error};

/// A buffer of `len` elements of `words_per_element` u64 words each, resident on the
/// device: upload once, run many kernels on it, download once.
///
/// Dropping it while GPU work still uses it is safe: every submission that uses a buffer
/// holds a reference to it, and its memory returns to the pool only after the last such
/// submission has completed.
#[derive(Clone, Debug)]
pub struct DeviceBuffer {
    pub(crate) buf: Arc<RawBuffer>,
    len: usize,
    words_per_element: u32,
}

impl DeviceBuffer {
    pub(crate) fn new(buf: Arc<RawBuffer>, len: usize, words_per_element: u32) -> Self {
        Self {
            buf,
            len,
            words_per_element,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// u64 words per element.
    pub fn words_per_element(&self) -> u32 {
        self.words_per_element
    }

    /// Number of u64 words (`len * words_per_element`).
    pub fn words(&self) -> usize {
        self.len * self.words_per_element as usize
    }

    /// The first `len` (<= `self.len()`) elements, as a handle on the same memory.
    pub(crate) fn prefix(&self, len: usize) -> DeviceBuffer {
        debug_assert!(len <= self.len);
        DeviceBuffer::new(
            Arc::clone(&self.buf),
            len.min(self.len),
            self.words_per_element,
        )
    }

    /// The device it lives on: what [`DeviceInfo`] reports of it (its enumeration index,
    /// name, UUID, ...). Operations take buffers of their own context only
    /// ([`Error::ForeignBuffer`] otherwise).
    pub fn device(&self) -> &DeviceInfo {
        &self.buf.device().info
    }

    /// The error for this buffer given to a context of `device`.
    pub(crate) fn foreign_to(&self, device: &Arc<Device>) -> Error {
        let describe = |d: &DeviceInfo| format!("device {}: {}", d.index, d.name);
        let mine = self.device();
        Error::ForeignBuffer {
            buffer_device: if mine.uuid == device.info.uuid {
                format!("another context on {}", describe(mine))
            } else {
                describe(mine)
            },
            context_device: describe(&device.info),
        }
    }

    /// Whether two handles refer to the same device memory.
    pub fn same_buffer(&self, other: &DeviceBuffer) -> bool {
        Arc::ptr_eq(&self.buf, &other.buf)
    }
}
