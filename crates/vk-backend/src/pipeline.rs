//! Compute kernels: shader module, descriptor-set layout, pipeline layout and pipeline.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ash::vk;

use crate::device::Device;
use crate::spirv::SpirvModule;
use crate::Error;

/// The specialization constant id that carries the workgroup size (`local_size_x_id = 1`
/// in GLSL). Id 0 is reported to fail on NVIDIA drivers, so 1 is used.
pub(crate) const WORKGROUP_SIZE_CONSTANT_ID: u32 = 1;

/// Workgroup size used when neither the kernel nor the caller asks for one: a multiple of
/// every common subgroup size (32 on NVIDIA, 64 on AMD, 8-32 on others).
const DEFAULT_WORKGROUP_SIZE: u32 = 256;

/// Size of the push constants of every element-wise kernel: `{ uint count; uint row_stride; }`.
pub(crate) const PUSH_CONSTANT_BYTES: u32 = 8;

/// The most input buffers an element-wise kernel may have (plus the output and the status
/// word).
pub(crate) const MAX_INPUTS: u32 = 7;

/// The most buffers a general kernel may bind (as many as an element-wise kernel's).
pub(crate) const MAX_GENERAL_BUFFERS: u32 = MAX_INPUTS + 2;

/// Size of the push constants of every general kernel: `{ uint count; uint row_stride;
/// uint args[GENERAL_ARGS]; }`.
pub(crate) const GENERAL_PUSH_BYTES: u32 = 64;

/// Arguments a general kernel receives after `count` and `row_stride`.
pub const GENERAL_ARGS: usize = (GENERAL_PUSH_BYTES as usize - 8) / 4;

/// Describes an element-wise compute kernel.
///
/// The kernel's interface is fixed: storage buffers at bindings `0..inputs` are the inputs,
/// binding `inputs` is the output, each holding `words_per_element` u64 words per element;
/// binding `inputs + 1` is a status word (`uint`) into which the kernel may `atomicOr` flags
/// (each dispatch gets a word of its own, zeroed; a kernel need not declare it), read back
/// as [`Finished::kernel_flags`](crate::Finished::kernel_flags); the push constants are `{ uint count; uint row_stride; }` (elements in the batch, and
/// invocations per row of the 2-D dispatch: the element index is
/// `gl_GlobalInvocationID.y * row_stride + gl_GlobalInvocationID.x`); the workgroup size is
/// specialization constant 1 and must not be read back through `gl_WorkGroupSize` (see
/// `shaders/include/fq.glsl`).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct KernelDesc<'a> {
    /// Name used in errors and debug output.
    pub name: &'a str,
    /// The SPIR-V module (entry point `main`).
    pub spirv: &'a SpirvModule,
    /// How many input buffers.
    pub inputs: u32,
    /// u64 words per element in every buffer.
    pub words_per_element: u32,
    /// Workgroup size; `None` picks the device default.
    pub workgroup_size: Option<u32>,
    /// Values of further specialization constants, ids 2, 3, 4, ... in order (id 1 is the
    /// workgroup size). Each distinct set makes its own pipeline: the driver folds them
    /// into the code, so they can select operations and registers at no run-time cost.
    pub spec_constants: &'a [u32],
    /// A general kernel ([`KernelDesc::general`]): `inputs` counts its buffers.
    general: bool,
}

impl<'a> KernelDesc<'a> {
    /// An element-wise kernel with `inputs` inputs and one output.
    pub fn elementwise(
        name: &'a str,
        spirv: &'a SpirvModule,
        inputs: u32,
        words_per_element: u32,
    ) -> Self {
        Self {
            name,
            spirv,
            inputs,
            words_per_element,
            workgroup_size: None,
            spec_constants: &[],
            general: false,
        }
    }

    /// A general kernel: storage buffers at bindings `0..buffers` of any sizes, every one
    /// read and written, and the push constants `{ uint count; uint row_stride; uint
    /// args[GENERAL_ARGS]; }`; run by [`Batch::dispatch_general`](crate::Batch::dispatch_general)
    /// over as many invocations as the caller asks. For work that is not element-wise:
    /// sorting, histograms, reductions. `inputs` holds the number of buffers and
    /// `words_per_element` is unused (0).
    pub fn general(name: &'a str, spirv: &'a SpirvModule, buffers: u32) -> Self {
        Self {
            name,
            spirv,
            inputs: buffers,
            words_per_element: 0,
            workgroup_size: None,
            spec_constants: &[],
            general: true,
        }
    }

    /// The same kernel with specialization constants 2, 3, ... set to `values`.
    pub fn with_spec_constants(mut self, values: &'a [u32]) -> Self {
        self.spec_constants = values;
        self
    }

    /// The same kernel with an explicit workgroup size.
    pub fn with_workgroup_size(mut self, size: u32) -> Self {
        self.workgroup_size = Some(size);
        self
    }
}

/// A compiled compute kernel, ready to dispatch on the device it was made for.
///
/// Cheap to clone: clones share one pipeline, which lives until the last clone and the
/// last submission using it are gone.
#[derive(Clone)]
pub struct Kernel {
    pub(crate) raw: Arc<RawKernel>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.raw.name)
            .field("inputs", &self.raw.inputs)
            .field("workgroup_size", &self.raw.workgroup_size)
            .finish_non_exhaustive()
    }
}

impl Kernel {
    /// The kernel's name.
    pub fn name(&self) -> &str {
        &self.raw.name
    }

    /// The workgroup size it was specialised with.
    pub fn workgroup_size(&self) -> u32 {
        self.raw.workgroup_size
    }

    pub(crate) fn new(
        device: &Arc<Device>,
        cache: vk::PipelineCache,
        desc: &KernelDesc<'_>,
    ) -> Result<Self, Error> {
        RawKernel::new(device, cache, desc).map(|raw| Kernel { raw: Arc::new(raw) })
    }
}

/// Identifies a pipeline: the same SPIR-V and interface with the same specialization
/// constants is the same pipeline, whatever the batch size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct KernelKey {
    spirv_hash: u64,
    spirv_len: usize,
    inputs: u32,
    words_per_element: u32,
    workgroup_size: u32,
    spec_constants: Vec<u32>,
    general: bool,
}

impl KernelKey {
    pub(crate) fn new(device: &Device, desc: &KernelDesc<'_>) -> Result<Self, Error> {
        Ok(Self {
            spirv_hash: desc.spirv.hash(),
            spirv_len: desc.spirv.as_bytes().len(),
            inputs: desc.inputs,
            words_per_element: desc.words_per_element,
            workgroup_size: pick_workgroup_size(&device.limits, desc)?,
            spec_constants: desc.spec_constants.to_vec(),
            general: desc.general,
        })
    }
}

/// The Vulkan objects of a kernel.
pub(crate) struct RawKernel {
    pub(crate) device: Arc<Device>,
    pub(crate) name: String,
    pub(crate) pipeline: vk::Pipeline,
    pub(crate) layout: vk::PipelineLayout,
    pub(crate) set_layout: vk::DescriptorSetLayout,
    pub(crate) inputs: u32,
    pub(crate) words_per_element: u32,
    pub(crate) workgroup_size: u32,
    /// A general kernel (`inputs` buffers, general push constants).
    pub(crate) general: bool,
}

impl RawKernel {
    fn new(
        device: &Arc<Device>,
        cache: vk::PipelineCache,
        desc: &KernelDesc<'_>,
    ) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidSpirv {
            kernel: desc.name.to_owned(),
            reason,
        };
        let bytes = desc.spirv.as_bytes();
        let code = ash::util::read_spv(&mut std::io::Cursor::new(bytes))
            .map_err(|e| invalid(e.to_string()))?;
        if code.len() < 5 {
            return Err(invalid(format!(
                "{} bytes is shorter than a SPIR-V header",
                bytes.len()
            )));
        }
        if desc.general && !(1..=MAX_GENERAL_BUFFERS).contains(&desc.inputs) {
            return Err(Error::InvalidArgument(format!(
                "general kernel `{}` must have 1..={MAX_GENERAL_BUFFERS} buffers, got {}",
                desc.name, desc.inputs
            )));
        }
        if !desc.general
            && (!(1..=MAX_INPUTS).contains(&desc.inputs) || desc.words_per_element == 0)
        {
            return Err(Error::InvalidArgument(format!(
                "kernel `{}` must have 1..={MAX_INPUTS} inputs and at least one word per \
                 element, got {} inputs and {} words",
                desc.name, desc.inputs, desc.words_per_element
            )));
        }
        let workgroup_size = pick_workgroup_size(&device.limits, desc)?;

        // Start empty: `RawKernel::drop` destroys whatever has been created when we bail out.
        let mut kernel = RawKernel {
            device: Arc::clone(device),
            name: desc.name.to_owned(),
            pipeline: vk::Pipeline::null(),
            layout: vk::PipelineLayout::null(),
            set_layout: vk::DescriptorSetLayout::null(),
            inputs: desc.inputs,
            words_per_element: desc.words_per_element,
            workgroup_size,
            general: desc.general,
        };
        let raw = &device.raw;

        // Inputs, output, status word; or a general kernel's buffers.
        let buffers = if desc.general {
            desc.inputs
        } else {
            desc.inputs + 2
        };
        let bindings: Vec<_> = (0..buffers)
            .map(|binding| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(binding)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let set_info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: `raw` is live; `set_info` points at locals.
        kernel.set_layout = unsafe { raw.create_descriptor_set_layout(&set_info, None) }
            .map_err(Error::vk("vkCreateDescriptorSetLayout"))?;

        let push = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(if desc.general {
                GENERAL_PUSH_BYTES
            } else {
                PUSH_CONSTANT_BYTES
            })];
        let set_layouts = [kernel.set_layout];
        let layout_info = vk::PipelineLayoutCreateInfo::default()
            .set_layouts(&set_layouts)
            .push_constant_ranges(&push);
        // SAFETY: as above.
        kernel.layout = unsafe { raw.create_pipeline_layout(&layout_info, None) }
            .map_err(Error::vk("vkCreatePipelineLayout"))?;

        let module_info = vk::ShaderModuleCreateInfo::default().code(&code);
        // SAFETY: `code` is word-aligned SPIR-V with a valid magic number (read_spv checks)
        // that stays inside this interface (`SpirvModule::from_bytes_unchecked`'s contract);
        // the module is destroyed right after pipeline creation, which copies what it needs.
        let module = unsafe { raw.create_shader_module(&module_info, None) }
            .map_err(|e| device.note(Error::from_vk("vkCreateShaderModule", e)))?;

        // Constant 1 is the workgroup size, then 2, 3, ... the kernel's own.
        let spec_values: Vec<u32> = std::iter::once(workgroup_size)
            .chain(desc.spec_constants.iter().copied())
            .collect();
        let spec_entries: Vec<vk::SpecializationMapEntry> = (0..spec_values.len() as u32)
            .map(|i| {
                vk::SpecializationMapEntry::default()
                    .constant_id(WORKGROUP_SIZE_CONSTANT_ID + i)
                    .offset(4 * i)
                    .size(4)
            })
            .collect();
        let spec_data: Vec<u8> = spec_values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let spec = vk::SpecializationInfo::default()
            .map_entries(&spec_entries)
            .data(&spec_data);
        let stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(c"main")
            .specialization_info(&spec);
        let pipeline_info = [vk::ComputePipelineCreateInfo::default()
            .stage(stage)
            .layout(kernel.layout)];
        // SAFETY: all handles are live objects of this device; infos point at locals.
        let created = unsafe { raw.create_compute_pipelines(cache, &pipeline_info, None) };
        // SAFETY: the module is no longer needed once pipeline creation has returned.
        unsafe { raw.destroy_shader_module(module, None) };
        kernel.pipeline = match created {
            Ok(p) => p[0],
            Err((_, e)) => return Err(Error::from_vk("vkCreateComputePipelines", e)),
        };
        Ok(kernel)
    }
}

pub(crate) fn pick_workgroup_size(
    limits: &vk::PhysicalDeviceLimits,
    desc: &KernelDesc<'_>,
) -> Result<u32, Error> {
    let max = limits.max_compute_work_group_size[0].min(limits.max_compute_work_group_invocations);
    match desc.workgroup_size {
        Some(size) if size == 0 || size > max => Err(Error::InvalidArgument(format!(
            "workgroup size {size} for kernel `{}` is outside 1..={max} (device limit)",
            desc.name
        ))),
        Some(size) => Ok(size),
        None => Ok(DEFAULT_WORKGROUP_SIZE.min(max)),
    }
}

impl Drop for RawKernel {
    fn drop(&mut self) {
        // SAFETY: every submission using this kernel holds an Arc to it until its fence has
        // signalled, so the GPU no longer uses these objects; null handles (from a partial
        // construction) are ignored by Vulkan.
        unsafe {
            let raw = &self.device.raw;
            raw.destroy_pipeline(self.pipeline, None);
            raw.destroy_pipeline_layout(self.layout, None);
            raw.destroy_descriptor_set_layout(self.set_layout, None);
        }
    }
}

/// A `VkPipelineCache`, loaded from and saved to a file keyed by device UUID and driver
/// version, so later processes skip shader compilation.
pub(crate) struct PipelineCache {
    device: Arc<Device>,
    pub(crate) raw: vk::PipelineCache,
    path: Option<PathBuf>,
    /// What happened to the file on load, for `Context::pipeline_cache_status`.
    pub(crate) status: String,
}

/// `VkPipelineCacheHeaderVersionOne`: 16 + 16-byte UUID = 32 bytes.
const CACHE_HEADER_BYTES: usize = 32;

impl PipelineCache {
    /// Opens the cache file in `dir` for this device, if any; a missing, stale (other
    /// device or driver) or corrupt file is ignored, and the status says why.
    pub(crate) fn new(device: &Arc<Device>, dir: Option<&Path>) -> Result<Self, Error> {
        let path = dir.map(|d| {
            let uuid: String = device
                .info
                .uuid
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            d.join(format!(
                "pipelines-{uuid}-{:08x}.bin",
                device.info.driver_version
            ))
        });
        let (data, status) = match &path {
            None => (Vec::new(), "disabled".to_owned()),
            Some(p) => match std::fs::read(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    (Vec::new(), format!("new file {}", p.display()))
                }
                Err(e) => (Vec::new(), format!("ignored {}: {e}", p.display())),
                Ok(bytes) => match check_header(device, &bytes) {
                    Ok(()) => {
                        let n = bytes.len();
                        (bytes, format!("loaded {n} bytes from {}", p.display()))
                    }
                    Err(why) => (Vec::new(), format!("ignored {}: {why}", p.display())),
                },
            },
        };
        let info = vk::PipelineCacheCreateInfo::default().initial_data(&data);
        // SAFETY: the device is live; the data passed the header check (drivers also
        // validate it, but some crash on garbage, so we never hand them unchecked bytes).
        let raw = unsafe { device.raw.create_pipeline_cache(&info, None) }
            .map_err(Error::vk("vkCreatePipelineCache"))?;
        Ok(Self {
            device: Arc::clone(device),
            raw,
            path,
            status,
        })
    }

    /// Writes the cache to its file (atomically: temp file + rename).
    pub(crate) fn save(&self) -> Result<(), Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        // SAFETY: the cache is a live object of this device.
        let data = unsafe { self.device.raw.get_pipeline_cache_data(self.raw) }
            .map_err(Error::vk("vkGetPipelineCacheData"))?;
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, &data).map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }
}

/// Checks a cache blob's header against this device (Vulkan spec, "Pipeline Cache").
fn check_header(device: &Device, bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < CACHE_HEADER_BYTES {
        return Err(format!(
            "{} bytes is shorter than a pipeline cache header",
            bytes.len()
        ));
    }
    let word = |i: usize| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4 bytes"));
    let (len, version, vendor, device_id) = (word(0), word(1), word(2), word(3));
    if len as usize != CACHE_HEADER_BYTES
        || version != vk::PipelineCacheHeaderVersion::ONE.as_raw() as u32
    {
        return Err("unknown header format".to_owned());
    }
    if vendor != device.info.vendor_id || device_id != device.info.device_id {
        return Err("written for another device".to_owned());
    }
    if bytes[16..32] != device.pipeline_cache_uuid {
        return Err("written by another driver version".to_owned());
    }
    Ok(())
}

impl Drop for PipelineCache {
    fn drop(&mut self) {
        // SAFETY: no pipeline creation is running (the owner is being dropped).
        unsafe { self.device.raw.destroy_pipeline_cache(self.raw, None) };
    }
}
