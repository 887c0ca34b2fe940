//! The public entry point: open a device, build kernels, run batches.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::command::Submitter;
use crate::device::Device;
use crate::{DeviceInfo, DeviceSelector, Error, Kernel, KernelDesc};

/// Environment variable that picks the device: an enumeration index (`0`, `1`, ...) or a
/// case-insensitive substring of the device name (`llvmpipe`, `H100`).
pub const ENV_DEVICE: &str = "VK_BACKEND_DEVICE";
/// Environment variable for the validation layer: `off`/`0`, `on`/`1` (when installed) or
/// `require` (fail when not installed).
pub const ENV_VALIDATION: &str = "VK_BACKEND_VALIDATION";
/// Environment variable with the path of the Vulkan loader library to use instead of the
/// system's `libvulkan.so.1`.
pub const ENV_LOADER: &str = "VK_BACKEND_LOADER";

/// Whether to run with the Khronos validation layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Validation {
    /// No validation (production).
    #[default]
    Off,
    /// Validation when the layer is installed, silently none otherwise.
    IfInstalled,
    /// Validation, or [`Error::ValidationLayerMissing`] when the layer is not installed.
    Required,
}

/// How to open a [`Context`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContextConfig {
    /// Which device.
    pub device: DeviceSelector,
    /// Validation layer policy.
    pub validation: Validation,
    /// The Vulkan loader library; `None` for the system's.
    pub loader: Option<PathBuf>,
    /// How long to wait for submitted work before giving up with [`Error::Timeout`].
    pub timeout: Duration,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            device: DeviceSelector::Best,
            validation: Validation::Off,
            loader: None,
            timeout: Duration::from_secs(10),
        }
    }
}

impl ContextConfig {
    /// The defaults, overridden by [`ENV_DEVICE`], [`ENV_VALIDATION`] and [`ENV_LOADER`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the variable when a value is not understood.
    pub fn from_env() -> Result<Self, Error> {
        let mut config = Self::default();
        if let Some(v) = env_value(ENV_DEVICE)? {
            config.device = DeviceSelector::parse(&v);
        }
        if let Some(v) = env_value(ENV_VALIDATION)? {
            config.validation = parse_validation(&v)?;
        }
        if let Some(v) = env_value(ENV_LOADER)? {
            config.loader = Some(PathBuf::from(v));
        }
        Ok(config)
    }

    /// The same config with a different validation policy.
    pub fn with_validation(mut self, validation: Validation) -> Self {
        self.validation = validation;
        self
    }

    /// The same config with a different device selector.
    pub fn with_device(mut self, device: DeviceSelector) -> Self {
        self.device = device;
        self
    }

    /// The same config with a different loader library.
    pub fn with_loader(mut self, loader: impl Into<PathBuf>) -> Self {
        self.loader = Some(loader.into());
        self
    }

    /// The same config with a different timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

fn env_value(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::InvalidArgument(format!("{name} is not valid UTF-8")))
        }
    }
}

pub(crate) fn parse_validation(value: &str) -> Result<Validation, Error> {
    match value.trim().to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" => Ok(Validation::Off),
        "1" | "on" | "true" | "yes" => Ok(Validation::IfInstalled),
        "require" | "required" => Ok(Validation::Required),
        other => Err(Error::InvalidArgument(format!(
            "{ENV_VALIDATION}={other:?} is not one of off, on, require"
        ))),
    }
}

/// An open Vulkan device ready to run kernels. `Send + Sync`; share it with an `Arc`.
///
/// Submissions from several threads are serialised for now (one submission in flight per
/// context); the GPU work itself is never shared between callers.
pub struct Context {
    submitter: Mutex<Submitter>,
    device: Arc<Device>,
    timeout: Duration,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("device", &self.device.info.name)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Opens the device `config` selects.
    ///
    /// # Errors
    /// [`Error::LoaderNotFound`] without a Vulkan loader, [`Error::NoSuitableDevice`]
    /// without a usable device, [`Error::ValidationLayerMissing`] when validation is
    /// required but not installed; never panics.
    pub fn new(config: &ContextConfig) -> Result<Self, Error> {
        let device = Device::new(config)?;
        Ok(Self {
            submitter: Mutex::new(Submitter::new(&device)?),
            device,
            timeout: config.timeout,
        })
    }

    /// Facts about the device in use.
    pub fn info(&self) -> &DeviceInfo {
        &self.device.info
    }

    /// Whether the validation layer is active on this context.
    pub fn validation_enabled(&self) -> bool {
        self.device.instance.validation_enabled
    }

    /// Returns and clears the warnings and errors the validation layer has reported.
    pub fn take_validation_messages(&self) -> Vec<String> {
        self.device.instance.validation_log.take()
    }

    /// How many device-memory allocations are live (a leak check for tests).
    pub fn live_allocations(&self) -> usize {
        self.device.live_allocations()
    }

    /// Builds a compute kernel.
    ///
    /// # Errors
    /// [`Error::InvalidSpirv`] for bytes that are not SPIR-V, [`Error::InvalidArgument`]
    /// for a workgroup size outside the device limits, Vulkan errors otherwise.
    pub fn create_kernel(&self, desc: &KernelDesc<'_>) -> Result<Kernel, Error> {
        self.device.check_alive()?;
        Kernel::new(&self.device, desc)
    }

    /// Runs an element-wise `kernel` over `count` elements in one round trip: one command
    /// buffer uploads the inputs, dispatches and downloads the output; one submission; one
    /// wait (with the configured timeout).
    ///
    /// `fill(i, words)` writes input `i` (`count * words_per_element` u64 words) straight
    /// into upload memory; `read(words)` receives the output words. With `count == 0`
    /// nothing is submitted and `read` gets an empty slice.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a batch above the device's buffer or dispatch limits
    /// or a kernel from another context; [`Error::Timeout`] when the GPU does not finish in
    /// time; [`Error::DeviceLost`] (then and ever after) when the device is lost.
    pub fn run_elementwise<R>(
        &self,
        kernel: &Kernel,
        count: usize,
        fill: impl FnMut(usize, &mut [u64]),
        read: impl FnOnce(&[u64]) -> R,
    ) -> Result<R, Error> {
        let mut submitter = self.submitter.lock().unwrap_or_else(|p| p.into_inner());
        submitter.run_elementwise(kernel, count, self.timeout, fill, read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ash::vk;

    #[test]
    fn validation_values_parse() {
        assert_eq!(parse_validation("off").unwrap(), Validation::Off);
        assert_eq!(parse_validation(" 1 ").unwrap(), Validation::IfInstalled);
        assert_eq!(parse_validation("REQUIRE").unwrap(), Validation::Required);
        let err = parse_validation("sometimes").unwrap_err();
        assert!(err.to_string().contains(ENV_VALIDATION), "{err}");
    }

    /// Proves the messenger is wired up: a deliberately invalid call must be reported.
    /// Without this, "no validation messages" in every other test could mean "not listening".
    #[test]
    fn validation_layer_reports_misuse() {
        let Some(ctx) = crate::test_support::test_context("validation_layer_reports_misuse") else {
            return;
        };
        if !ctx.validation_enabled() {
            assert_ne!(
                std::env::var(ENV_VALIDATION).as_deref(),
                Ok("require"),
                "validation was required but is off"
            );
            eprintln!("validation layer not installed: nothing to check");
            return;
        }
        let device = &ctx.device;
        // Usage must not be empty (VUID-VkBufferCreateInfo-usage-requiredbitmask).
        let info = vk::BufferCreateInfo::default()
            .size(64)
            .usage(vk::BufferUsageFlags::empty());
        // SAFETY: the device is live; the invalid usage is what this test is about, and
        // drivers accept it (lavapipe, NVIDIA) while the layer reports it.
        if let Ok(buffer) = unsafe { device.raw.create_buffer(&info, None) } {
            // SAFETY: created just above, never used.
            unsafe { device.raw.destroy_buffer(buffer, None) };
        }
        let messages = ctx.take_validation_messages();
        assert!(
            messages.iter().any(|m| m.contains("usage")),
            "expected a validation error about buffer usage, got {messages:?}"
        );
    }
}
