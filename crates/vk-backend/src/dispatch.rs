//! What one element-wise dispatch may be: its arguments checked against the kernel, and
//! its grid sized within the device's limits.

use std::sync::Arc;

use ash::vk;

use crate::device::Device;
use crate::memory::BufferPool;
use crate::pipeline::{RawKernel, GENERAL_ARGS, GENERAL_PUSH_BYTES, PUSH_CONSTANT_BYTES};
use crate::{DeviceBuffer, Error};

/// Checks the arguments of an element-wise run of `k` (in a batch or streamed): the
/// kernel and every buffer belong to this context, the number of inputs, element sizes and
/// lengths match, and the output is not also an input.
pub(crate) fn check_elementwise(
    device: &Arc<Device>,
    pool: &Arc<BufferPool>,
    k: &RawKernel,
    inputs: &[&DeviceBuffer],
    output: &DeviceBuffer,
) -> Result<(), Error> {
    let count = output.len();
    let bad = |why: String| {
        Err(Error::InvalidArgument(format!(
            "kernel `{}`: {why}",
            k.name
        )))
    };
    if !Arc::ptr_eq(&k.device, device) {
        return bad("kernel was created on another context".to_owned());
    }
    if k.general {
        return bad("a general kernel runs through Batch::dispatch_general".to_owned());
    }
    if inputs.len() != k.inputs as usize {
        return bad(format!(
            "{} inputs given, the kernel takes {}",
            inputs.len(),
            k.inputs
        ));
    }
    for (i, b) in inputs.iter().chain([&output]).enumerate() {
        if !Arc::ptr_eq(b.buf.pool(), pool) {
            return Err(b.foreign_to(device));
        }
        if b.words_per_element() != k.words_per_element {
            return bad(format!(
                "buffer {i} has {} words per element, the kernel {}",
                b.words_per_element(),
                k.words_per_element
            ));
        }
        if b.len() != count {
            return bad(format!(
                "buffer {i} has {} elements, the output {count}",
                b.len()
            ));
        }
    }
    if inputs.iter().any(|b| b.same_buffer(output)) {
        return bad("the output is also an input".to_owned());
    }
    Ok(())
}

/// Sizes of one element-wise dispatch, checked against the device's limits.
pub(crate) struct DispatchPlan {
    count: u32,
    pub(crate) words: usize,
    pub(crate) groups_x: u32,
    pub(crate) groups_y: u32,
    /// Invocations per dispatch row: the shader's flat index is `y * row_stride + x`.
    row_stride: u32,
}

impl DispatchPlan {
    pub(crate) fn new(
        limits: &vk::PhysicalDeviceLimits,
        k: &RawKernel,
        count: usize,
    ) -> Result<Self, Error> {
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
        Self::grid(limits, k, count32, words, too_large)
    }

    /// A plan of `count` invocations of general kernel `k` (no element sizes).
    pub(crate) fn general(
        limits: &vk::PhysicalDeviceLimits,
        k: &RawKernel,
        count: usize,
    ) -> Result<Self, Error> {
        let too_large = |why: String| {
            Error::InvalidArgument(format!(
                "{count} invocations are too many for kernel `{}`: {why}",
                k.name
            ))
        };
        let count32 = u32::try_from(count)
            .map_err(|_| too_large("more than u32::MAX invocations".to_owned()))?;
        Self::grid(limits, k, count32, 0, too_large)
    }

    fn grid(
        limits: &vk::PhysicalDeviceLimits,
        k: &RawKernel,
        count32: u32,
        words: usize,
        too_large: impl Fn(String) -> Error,
    ) -> Result<Self, Error> {
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
    pub(crate) fn push_constants(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(GENERAL_PUSH_BYTES as usize);
        bytes.extend_from_slice(&self.count.to_ne_bytes());
        bytes.extend_from_slice(&self.row_stride.to_ne_bytes());
        debug_assert_eq!(bytes.len(), PUSH_CONSTANT_BYTES as usize);
        bytes
    }

    /// A general kernel's push constants: `count`, `row_stride`, then `args` padded with
    /// zeros to [`GENERAL_ARGS`] words.
    pub(crate) fn general_push_constants(&self, args: &[u32]) -> Vec<u8> {
        let mut bytes = self.push_constants();
        for i in 0..GENERAL_ARGS {
            bytes.extend_from_slice(&args.get(i).copied().unwrap_or(0).to_ne_bytes());
        }
        debug_assert_eq!(bytes.len(), GENERAL_PUSH_BYTES as usize);
        bytes
    }
}
