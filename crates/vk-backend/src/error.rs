use std::time::Duration;

use ash::vk;

/// Everything that can go wrong in the Vulkan backend.
///
/// `vk::Result` codes map as follows (see [`Error::from_vk`]):
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
    #[error("out of device memory")]
    OutOfDeviceMemory,
    /// Host memory is exhausted.
    #[error("out of host memory")]
    OutOfHostMemory,
    /// The device was lost (driver reset, hang, removal). The context is unusable from now on.
    #[error("Vulkan device lost; this context is unusable and must be recreated")]
    DeviceLost,
    /// Submitted work did not finish within the configured timeout.
    #[error("GPU work did not finish within {0:?}")]
    Timeout(Duration),
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
            vk::Result::ERROR_OUT_OF_DEVICE_MEMORY => Error::OutOfDeviceMemory,
            vk::Result::ERROR_OUT_OF_HOST_MEMORY => Error::OutOfHostMemory,
            vk::Result::ERROR_DEVICE_LOST => Error::DeviceLost,
            // The timeout value is filled in by the waiter, which knows it.
            vk::Result::TIMEOUT => Error::Timeout(Duration::ZERO),
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

    pub(crate) fn from_allocation(err: gpu_allocator::AllocationError) -> Self {
        use gpu_allocator::AllocationError as A;
        match err {
            A::OutOfMemory => Error::OutOfDeviceMemory,
            other => Error::Allocation(other.to_string()),
        }
    }
}

impl From<Error> for gpu_core::BackendError {
    fn from(err: Error) -> Self {
        match err {
            Error::LoaderNotFound(_)
            | Error::NoSuitableDevice(_)
            | Error::ValidationLayerMissing => gpu_core::BackendError::Unavailable(err.to_string()),
            Error::InvalidArgument(msg) => gpu_core::BackendError::InvalidArgument(msg),
            other => gpu_core::BackendError::Failed {
                backend: "vulkan".to_owned(),
                source: Box::new(other),
            },
        }
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
            Error::OutOfDeviceMemory
        ));
        assert!(matches!(
            e(vk::Result::ERROR_OUT_OF_HOST_MEMORY),
            Error::OutOfHostMemory
        ));
        assert!(matches!(
            e(vk::Result::ERROR_DEVICE_LOST),
            Error::DeviceLost
        ));
        assert!(matches!(e(vk::Result::TIMEOUT), Error::Timeout(_)));
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
