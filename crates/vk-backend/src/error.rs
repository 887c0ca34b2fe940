use std::path::PathBuf;
use std::time::Duration;

use ash::vk;

/// Everything that can go wrong in the Vulkan backend.
///
/// `vk::Result` codes map as follows (see [`Error::from_vk`]); the variants for exhausted
/// memory, a lost device and a timeout keep the Vulkan call that reported them:
///
/// | `vk::Result`                                   | variant                        |
/// |------------------------------------------------|--------------------------------|
/// | `ERROR_OUT_OF_DEVICE_MEMORY`                   | [`Error::OutOfDeviceMemory`]   |
/// | `ERROR_OUT_OF_HOST_MEMORY`                     | [`Error::OutOfHostMemory`]     |
/// | `ERROR_DEVICE_LOST`                            | [`Error::DeviceLost`]          |
/// | `TIMEOUT`                                      | [`Error::Timeout`]             |
/// | `ERROR_INITIALIZATION_FAILED`, `ERROR_INCOMPATIBLE_DRIVER` | [`Error::NoSuitableDevice`] |
/// | `ERROR_LAYER_NOT_PRESENT`, `ERROR_EXTENSION_NOT_PRESENT`, `ERROR_FEATURE_NOT_PRESENT` | [`Error::Unsupported`] |
/// | `ERROR_INVALID_SHADER_NV`                      | [`Error::InvalidSpirv`]        |
/// | anything else                                  | [`Error::Vulkan`]              |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Vulkan loader library (`libvulkan.so.1`) could not be loaded.
    #[error("Vulkan loader not found: {0}")]
    LoaderNotFound(String),
    /// The loader works but no device fits (none at all, none with a compute queue, too old,
    /// or none matching the selector).
    #[error("no suitable Vulkan device: {0}")]
    NoSuitableDevice(String),
    /// Validation was required but the Khronos validation layer is not installed.
    #[error(
        "the Khronos validation layer (VK_LAYER_KHRONOS_validation) was required but is not \
         installed; install the `vulkan-validationlayers` package"
    )]
    ValidationLayerMissing,
    /// A layer, extension or feature the backend needs is missing.
    #[error("{what} is not supported by this Vulkan implementation")]
    Unsupported {
        /// What was missing.
        what: String,
    },
    /// Device memory is exhausted.
    #[error("out of device memory ({call})")]
    OutOfDeviceMemory {
        /// The call that ran out.
        call: &'static str,
    },
    /// Host memory is exhausted.
    #[error("out of host memory ({call})")]
    OutOfHostMemory {
        /// The call that ran out.
        call: &'static str,
    },
    /// The device was lost (driver reset, hang, removal). The context is unusable from now on.
    #[error(
        "Vulkan device lost (reported by {call}); this context is unusable and must be recreated"
    )]
    DeviceLost {
        /// The call that first reported the loss (later calls fail fast with the same).
        call: &'static str,
    },
    /// Submitted work did not finish within the configured timeout.
    #[error("GPU work did not finish within {after:?} ({call})")]
    Timeout {
        /// The wait that gave up.
        call: &'static str,
        /// How long it waited.
        after: Duration,
    },
    /// SPIR-V that cannot be a valid module.
    #[error("invalid SPIR-V for kernel `{kernel}`: {reason}")]
    InvalidSpirv {
        /// The kernel's name.
        kernel: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A caller-supplied value is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A buffer of one context used with another: resident data stays on its device (and
    /// in its context), and nothing copies it across silently.
    #[error("a buffer of {buffer_device} used on a context of {context_device}")]
    ForeignBuffer {
        /// The buffer's device, as "index: name" (and "another context" when both are the
        /// same device).
        buffer_device: String,
        /// The device of the context it was given to.
        context_device: String,
    },
    /// A file of the backend's (the on-disk pipeline cache) could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The memory allocator failed for a reason other than exhaustion.
    #[error("memory allocation failed: {0}")]
    Allocation(String),
    /// Any other Vulkan error.
    #[error("{call} failed: {result}")]
    Vulkan {
        /// The Vulkan entry point that failed.
        call: &'static str,
        /// Its result code.
        result: vk::Result,
    },
}

impl Error {
    /// Maps the result of the Vulkan call `call` to a typed error (table above).
    pub fn from_vk(call: &'static str, result: vk::Result) -> Self {
        match result {
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY => Error::OutOfDeviceMemory { call },
            vk::Result::ERROR_OUT_OF_HOST_MEMORY => Error::OutOfHostMemory { call },
            vk::Result::ERROR_DEVICE_LOST => Error::DeviceLost { call },
            // The wait that knows its timeout builds its own error; this is for others.
            vk::Result::TIMEOUT => Error::Timeout {
                call,
                after: Duration::ZERO,
            },
            vk::Result::ERROR_INITIALIZATION_FAILED | vk::Result::ERROR_INCOMPATIBLE_DRIVER => {
                Error::NoSuitableDevice(format!("{call} returned {result}"))
            }
            vk::Result::ERROR_LAYER_NOT_PRESENT
            | vk::Result::ERROR_EXTENSION_NOT_PRESENT
            | vk::Result::ERROR_FEATURE_NOT_PRESENT => Error::Unsupported {
                what: format!("{call}: {result}"),
            },
            vk::Result::ERROR_INVALID_SHADER_NV => Error::InvalidSpirv {
                kernel: String::new(),
                reason: format!("{call} returned {result}"),
            },
            _ => Error::Vulkan { call, result },
        }
    }

    /// A closure for `map_err` on the result of the Vulkan call `call`.
    pub(crate) fn vk(call: &'static str) -> impl Fn(vk::Result) -> Self {
        move |result| Self::from_vk(call, result)
    }

    pub(crate) fn from_allocation(call: &'static str, err: gpu_allocator::AllocationError) -> Self {
        use gpu_allocator::AllocationError as A;
        match err {
            A::OutOfMemory => Error::OutOfDeviceMemory { call },
            other => Error::Allocation(other.to_string()),
        }
    }

    /// Whether this says the device is gone for good.
    pub fn is_device_lost(&self) -> bool {
        matches!(self, Error::DeviceLost { .. })
    }

    /// Whether this is a wait that gave up (the GPU may still be working).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vk_results_map_to_typed_errors() {
        let e = |r| Error::from_vk("vkTest", r);
        assert!(matches!(
            e(vk::Result::ERROR_OUT_OF_DEVICE_MEMORY),
            Error::OutOfDeviceMemory { call: "vkTest" }
        ));
        assert!(matches!(
            e(vk::Result::ERROR_OUT_OF_HOST_MEMORY),
            Error::OutOfHostMemory { call: "vkTest" }
        ));
        assert!(matches!(
            e(vk::Result::ERROR_DEVICE_LOST),
            Error::DeviceLost { call: "vkTest" }
        ));
        assert!(matches!(
            e(vk::Result::TIMEOUT),
            Error::Timeout { call: "vkTest", .. }
        ));
        assert!(matches!(
            e(vk::Result::ERROR_INCOMPATIBLE_DRIVER),
            Error::NoSuitableDevice(_)
        ));
        assert!(matches!(
            e(vk::Result::ERROR_EXTENSION_NOT_PRESENT),
            Error::Unsupported { .. }
        ));
        assert!(matches!(
            e(vk::Result::ERROR_FRAGMENTED_POOL),
            Error::Vulkan {
                call: "vkTest",
                result: vk::Result::ERROR_FRAGMENTED_POOL
            }
        ));
    }
}
