//! A small, safe Vulkan compute backend built on `ash` and `gpu-allocator`.
//!
//! All `unsafe` Vulkan code of the project lives in this crate, behind safe RAII types:
//! every Vulkan object holds an `Arc` of the device it came from and destroys itself in
//! `Drop`, and the device destroys its memory allocator before itself.
//!
//! One file per concern, after wgpu-hal's Vulkan backend, layered without cycles (each
//! imports only those before it; `tests/structure.rs` checks):
//! `error` (the error type and the `vk::Result` mapping), `config` (how to open a context,
//! environment variables), `spirv` (kernel code the caller vouches for), `instance`
//! (loader, layers, debug messenger), `device` (physical-device choice, logical device,
//! queues, allocator), `sync` (timeline semaphores, spin-then-block waits), `memory`
//! (pooled buffers), `resident` (device buffers that outlive operations), `ring` (the
//! persistent upload staging ring), `pipeline` (compute kernels, the on-disk pipeline
//! cache), `dispatch` (argument checks and grid sizes of element-wise dispatches),
//! `command` (recorders, status words, automatic barriers), `submit` (what batches share:
//! lanes, submission, reclamation), `batch` (one-submit batches and their tickets),
//! `context` (the public entry point), `host` (host access to host-memory buffers),
//! `stream` (chunked host jobs with overlapped transfers) and `import` (kernels on the
//! caller's memory).
//!
//! ```no_run
//! use vk_backend::{Context, ContextConfig};
//! # fn main() -> Result<(), vk_backend::Error> {
//! let ctx = Context::new(&ContextConfig::from_env()?)?;
//! println!("running on {}", ctx.info().name);
//! // The built-in copy kernel: one input of 2-word elements.
//! let kernel = ctx.copy_kernel()?;
//! let input = [1u64, 2, 3, 4];
//! let out = ctx.run_elementwise(&kernel, 2, |_, dst| dst.copy_from_slice(&input), |w| w.to_vec())?;
//! assert_eq!(out, input);
//! # Ok(()) }
//! ```

mod batch;
mod command;
mod config;
mod context;
mod device;
mod device_set;
mod dispatch;
mod error;
mod host;
mod import;
mod instance;
mod memory;
mod pipeline;
mod resident;
mod ring;
mod spirv;
mod stream;
mod submit;
mod sync;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use batch::{Batch, DownloadId, Finished, GpuTimings, Ticket};
pub use config::{
    ContextConfig, DeviceSelector, Validation, ENV_DEVICE, ENV_LOADER, ENV_PIPELINE_CACHE,
    ENV_VALIDATION,
};
pub use context::{Context, ContextProbe, ElementwiseJob};
pub use device::{enumerate_devices, DeviceInfo, DeviceType};
pub use device_set::{DeviceSet, SelectedDevice, ENV_DEVICES};
pub use error::Error;
pub use host::HostElement;
pub use memory::PoolStats;
pub use pipeline::{Kernel, KernelDesc, GENERAL_ARGS};
pub use resident::DeviceBuffer;
pub use spirv::SpirvModule;
pub use submit::FaultStage;
