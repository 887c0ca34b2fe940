//! How to open a context: the configuration, its defaults, and the environment
//! variables that override them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::Error;

/// Environment variable that picks the device: an enumeration index (`0`, `1`, ...) or a
/// case-insensitive substring of the device name (`llvmpipe`, `H100`).
pub const ENV_DEVICE: &str = "VK_BACKEND_DEVICE";
/// Environment variable for the validation layer: `off`/`0`, `on`/`1` (when installed) or
/// `require` (fail when not installed).
pub const ENV_VALIDATION: &str = "VK_BACKEND_VALIDATION";
/// Environment variable with the path of the Vulkan loader library to use instead of the
/// system's `libvulkan.so.1`.
pub const ENV_LOADER: &str = "VK_BACKEND_LOADER";
/// Environment variable with the directory of the on-disk pipeline cache, or `off`.
/// Unset: `$XDG_CACHE_HOME/vk-backend`, else `$HOME/.cache/vk-backend`.
pub const ENV_PIPELINE_CACHE: &str = "VK_BACKEND_PIPELINE_CACHE";

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

/// How to open a [`Context`](crate::Context).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ContextConfig {
    /// Which device.
    pub device: DeviceSelector,
    /// Validation layer policy.
    pub validation: Validation,
    /// The Vulkan loader library; `None` for the system's. Set only through the `unsafe`
    /// [`ContextConfig::with_loader`] or [`ENV_LOADER`]: loading a library runs its code.
    pub(crate) loader: Option<PathBuf>,
    /// How long [`crate::Ticket::finish`] and the one-call helpers wait for the GPU before
    /// giving up with [`Error::Timeout`].
    pub timeout: Duration,
    /// How long a wait spins on the timeline counter before blocking in the driver. On the
    /// H100 a blocking wait wakes ~20 us later than a spin, so short jobs spin.
    pub spin: Duration,
    /// Use the device's transfer-only queues (copy engines) for streamed jobs' uploads
    /// and, where that family has a second queue, their downloads; off, every copy runs
    /// on the compute queue.
    pub transfer_queue: bool,
    /// Buffers up to this many bytes are allocated in host-writable device memory when the
    /// device has resizable BAR (and kernel outputs of one-call jobs go straight to host
    /// memory), so small uploads need no copy. `0` turns this off.
    pub direct_limit: u64,
    /// Idle bytes the buffer pool keeps for reuse.
    pub pool_idle_limit: u64,
    /// Directory of the on-disk pipeline cache; `None` for none.
    pub pipeline_cache_dir: Option<PathBuf>,
    /// Bytes per buffer of one chunk of a streamed job ([`Context::run_streamed`](crate::Context::run_streamed));
    /// 8 MiB by default (measured).
    pub stream_chunk_bytes: u64,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            device: DeviceSelector::Best,
            validation: Validation::Off,
            loader: None,
            timeout: Duration::from_secs(10),
            spin: Duration::from_micros(200),
            transfer_queue: true,
            direct_limit: 4 << 20,
            pool_idle_limit: 2 << 30,
            pipeline_cache_dir: None,
            // Measured on the H100 (16Mi-element add, 2026-11-21): 8 MiB chunks 2.96 ns per
            // element, 32 MiB 3.22, 128 MiB 4.59 (less overlap at the ends).
            stream_chunk_bytes: 8 << 20,
        }
    }
}

impl ContextConfig {
    /// The defaults, overridden by [`ENV_DEVICE`], [`ENV_VALIDATION`], [`ENV_LOADER`] and
    /// [`ENV_PIPELINE_CACHE`] (which defaults to the user's cache directory here).
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
            // Whoever sets the process environment can already make the system loader run
            // any code (VK_DRIVER_FILES, VK_ADD_LAYER_PATH, LD_LIBRARY_PATH); this variable
            // gives them nothing more, so reading it needs no `unsafe` of the caller.
            config.loader = Some(PathBuf::from(v));
        }
        config.pipeline_cache_dir = match env_value(ENV_PIPELINE_CACHE)? {
            Some(v) if v.eq_ignore_ascii_case("off") => None,
            Some(v) => Some(PathBuf::from(v)),
            None => default_cache_dir(),
        };
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

    /// The same config with a different Vulkan loader library.
    ///
    /// # Safety
    /// Opening a context loads this shared library into the process, which runs its
    /// initialisers and then calls its Vulkan entry points: `loader` must be a Vulkan
    /// loader (or driver) that is sound to load and call, like the system's
    /// `libvulkan.so.1`.
    pub unsafe fn with_loader(mut self, loader: impl Into<PathBuf>) -> Self {
        self.loader = Some(loader.into());
        self
    }

    /// The same config with a different timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The same config with a different spin time before blocking waits.
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = spin;
        self
    }

    /// The same config with a different direct-write limit (`0`: always stage).
    pub fn with_direct_limit(mut self, bytes: u64) -> Self {
        self.direct_limit = bytes;
        self
    }

    /// The same config with or without the transfer queue.
    pub fn with_transfer_queue(mut self, on: bool) -> Self {
        self.transfer_queue = on;
        self
    }

    /// The same config with a different streamed-chunk size in bytes per buffer.
    pub fn with_stream_chunk_bytes(mut self, bytes: u64) -> Self {
        self.stream_chunk_bytes = bytes.max(1);
        self
    }

    /// The same config with a different limit on idle pooled bytes.
    pub fn with_pool_idle_limit(mut self, bytes: u64) -> Self {
        self.pool_idle_limit = bytes;
        self
    }

    /// The same config with a different pipeline-cache directory.
    pub fn with_pipeline_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.pipeline_cache_dir = dir;
        self
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("vk-backend"))
}

pub(crate) fn env_value(name: &str) -> Result<Option<String>, Error> {
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

/// Which device to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceSelector {
    /// The best usable device: discrete > integrated > virtual > CPU, first one on ties.
    Best,
    /// The device at this enumeration index.
    Index(usize),
    /// The first usable device whose name contains this text (case-insensitive).
    NameContains(String),
}

impl DeviceSelector {
    /// Parses the value of [`crate::ENV_DEVICE`]: a number selects by index, anything
    /// else by name substring; an empty value means [`DeviceSelector::Best`].
    pub fn parse(value: &str) -> Self {
        let value = value.trim();
        if value.is_empty() {
            DeviceSelector::Best
        } else if let Ok(i) = value.parse() {
            DeviceSelector::Index(i)
        } else {
            DeviceSelector::NameContains(value.to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_values_parse() {
        assert_eq!(parse_validation("off").unwrap(), Validation::Off);
        assert_eq!(parse_validation(" 1 ").unwrap(), Validation::IfInstalled);
        assert_eq!(parse_validation("REQUIRE").unwrap(), Validation::Required);
        let err = parse_validation("sometimes").unwrap_err();
        assert!(err.to_string().contains(ENV_VALIDATION), "{err}");
    }
}
