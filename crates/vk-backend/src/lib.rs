//! A small, safe Vulkan compute backend built on `ash` and `gpu-allocator`.
//!
//! All `unsafe` Vulkan code of the project lives in this crate, behind safe RAII types:
//! every Vulkan object holds an `Arc` of the device it came from and destroys itself in
//! `Drop`, and the device destroys its memory allocator before itself.
//!
//! One file per concern, after wgpu-hal's Vulkan backend:
//! `instance` (loader, layers, debug messenger), `device` (physical-device choice, logical
//! device, queues, allocator), `memory` (pooled buffers), `resident` (device buffers that
//! outlive operations), `ring` (the persistent upload staging ring), `pipeline` (compute
//! kernels, the on-disk pipeline cache),
//! `command` (recorders, automatic barriers), `batch` (one-submit batches and their
//! tickets), `stream` (chunked host jobs with overlapped transfers), `import` (kernels on the
//! caller's memory), `sync` (timeline semaphores, spin-then-block waits), `error` (the error
//! type and the `vk::Result` mapping) and `context` (the public entry point).
//!
//! ```no_run
//! use vk_backend::{Context, ContextConfig, KernelDesc};
//! # fn main() -> Result<(), vk_backend::Error> {
//! let ctx = Context::new(&ContextConfig::from_env()?)?;
//! println!("running on {}", ctx.info().name);
//! # let spirv: &[u8] = &[];
//! let kernel = ctx.create_kernel(&KernelDesc::elementwise("double", spirv, 1, 1))?;
//! let input = [1u64, 2, 3];
//! let out = ctx.run_elementwise(&kernel, input.len(), |_, dst| dst.copy_from_slice(&input), |w| w.to_vec())?;
//! # Ok(()) }
//! ```

mod batch;
mod command;
mod context;
mod device;
mod error;
mod import;
mod instance;
mod memory;
mod pipeline;
mod resident;
mod ring;
mod spirv;
mod stream;
mod sync;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use batch::{Batch, DownloadId, Finished, GpuTimings, Ticket};
pub use context::{
    Context, ContextConfig, ContextProbe, FaultStage, Validation, ENV_DEVICE, ENV_LOADER,
    ENV_PIPELINE_CACHE, ENV_VALIDATION,
};
pub use device::{enumerate_devices, DeviceInfo, DeviceSelector, DeviceType};
pub use error::Error;
pub use import::HostElement;
pub use memory::PoolStats;
pub use pipeline::{Kernel, KernelDesc};
pub use resident::DeviceBuffer;
pub use spirv::SpirvModule;
