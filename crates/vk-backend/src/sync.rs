//! Fences.

use std::sync::Arc;
use std::time::Duration;

use ash::vk;

use crate::device::Device;
use crate::Error;

/// A `VkFence`, destroyed on drop.
pub(crate) struct Fence {
    device: Arc<Device>,
    pub(crate) raw: vk::Fence,
}

impl Fence {
    pub(crate) fn new(device: &Arc<Device>) -> Result<Self, Error> {
        let info = vk::FenceCreateInfo::default();
        // SAFETY: the device is live.
        let raw =
            unsafe { device.raw.create_fence(&info, None) }.map_err(Error::vk("vkCreateFence"))?;
        Ok(Self {
            device: Arc::clone(device),
            raw,
        })
    }

    /// Waits until the fence signals or `timeout` passes.
    ///
    /// # Errors
    /// [`Error::Timeout`] with `timeout` when it does not signal in time (the GPU work is
    /// then still running: keep its resources alive); [`Error::DeviceLost`] and others from
    /// the driver.
    pub(crate) fn wait(&self, timeout: Duration) -> Result<(), Error> {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        // SAFETY: the fence is a live object of this device.
        match unsafe { self.device.raw.wait_for_fences(&[self.raw], true, nanos) } {
            Ok(()) => Ok(()),
            Err(vk::Result::TIMEOUT) => Err(Error::Timeout(timeout)),
            Err(e) => Err(self.device.note(Error::from_vk("vkWaitForFences", e))),
        }
    }

    /// Returns the fence to the unsignalled state.
    pub(crate) fn reset(&self) -> Result<(), Error> {
        // SAFETY: the fence is live and no pending submission uses it (callers wait first).
        unsafe { self.device.raw.reset_fences(&[self.raw]) }.map_err(Error::vk("vkResetFences"))
    }
}

impl Drop for Fence {
    fn drop(&mut self) {
        // SAFETY: owners drop a fence only when no submission signalling it is pending, or
        // after Device::drop's wait for idle (the device outlives the fence via the Arc).
        unsafe { self.device.raw.destroy_fence(self.raw, None) };
    }
}
