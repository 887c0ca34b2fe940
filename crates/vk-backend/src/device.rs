//! Physical-device choice and the logical device with its queue and memory allocator.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};

use crate::config::{ContextConfig, DeviceSelector, Validation};
use crate::instance::Instance;
use crate::Error;

/// What kind of device, in our order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceType {
    /// A discrete GPU.
    Discrete,
    /// A GPU sharing the host's memory.
    Integrated,
    /// A GPU in a virtual machine.
    Virtual,
    /// A software implementation on the CPU (e.g. Mesa lavapipe / llvmpipe).
    Cpu,
    /// Anything else.
    Other,
}

impl DeviceType {
    fn from_vk(t: vk::PhysicalDeviceType) -> Self {
        match t {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceType::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceType::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceType::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceType::Cpu,
            _ => DeviceType::Other,
        }
    }
}

/// Facts about one physical device.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceInfo {
    /// Position in the loader's enumeration (what [`DeviceSelector::Index`] refers to).
    pub index: usize,
    /// The device name, e.g. `"NVIDIA H100 80GB HBM3"` or `"llvmpipe (LLVM 15.0.6, 256 bits)"`.
    pub name: String,
    /// Discrete, integrated, ...
    pub device_type: DeviceType,
    /// Supported Vulkan version as (major, minor, patch).
    pub api_version: (u32, u32, u32),
    /// Vendor-encoded driver version.
    pub driver_version: u32,
    /// The driver's name and version as it reports them, e.g. `"NVIDIA 580.159.04"` or
    /// `"llvmpipe Mesa 22.3.6 (LLVM 15.0.6)"`.
    pub driver: String,
    /// PCI vendor id.
    pub vendor_id: u32,
    /// Vendor-specific device id.
    pub device_id: u32,
    /// The device UUID (stable across runs; keys caches and profiles).
    pub uuid: [u8; 16],
    /// Queue family used for compute, when the device has one.
    pub compute_family: Option<u32>,
    /// Why this device cannot be used, when it cannot.
    pub unusable_reason: Option<String>,
    /// Queue families: (queue count, capabilities such as `"GRAPHICS | COMPUTE | TRANSFER"`).
    pub queue_families: Vec<(u32, String)>,
    /// Memory heaps: (bytes, whether device-local), and the property flags of the memory
    /// types in each heap.
    pub memory_heaps: Vec<(u64, bool, Vec<String>)>,
}

impl DeviceInfo {
    /// Whether the backend can run on this device.
    pub fn is_usable(&self) -> bool {
        self.unusable_reason.is_none()
    }
}

/// Lists every Vulkan device the loader reports, usable or not.
///
/// # Errors
/// [`Error::LoaderNotFound`] without a Vulkan loader; Vulkan errors from enumeration.
pub fn enumerate_devices() -> Result<Vec<DeviceInfo>, Error> {
    let instance = Instance::new(Validation::Off, None)?;
    Ok(probe_all(&instance)?
        .into_iter()
        .map(|(_, info)| info)
        .collect())
}

fn probe_all(instance: &Instance) -> Result<Vec<(vk::PhysicalDevice, DeviceInfo)>, Error> {
    // SAFETY: `instance.raw` is a live instance.
    let physical = unsafe { instance.raw.enumerate_physical_devices() }
        .map_err(Error::vk("vkEnumeratePhysicalDevices"))?;
    Ok(physical
        .into_iter()
        .enumerate()
        .map(|(index, pd)| (pd, probe(instance, pd, index)))
        .collect())
}

fn probe(instance: &Instance, pd: vk::PhysicalDevice, index: usize) -> DeviceInfo {
    // SAFETY: `pd` was enumerated from this live instance.
    let props = unsafe { instance.raw.get_physical_device_properties(pd) };
    // SAFETY: as above.
    let families = unsafe { instance.raw.get_physical_device_queue_family_properties(pd) };
    let compute_family = pick_compute_family(&families);
    let name = props
        .device_name_as_c_str()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|_| format!("device {index}"));
    let (uuid, driver) = device_ids(instance, pd, props.api_version);
    let unusable_reason = if props.api_version < vk::API_VERSION_1_2 {
        Some(format!(
            "supports Vulkan {}.{} only, 1.2 is required",
            vk::api_version_major(props.api_version),
            vk::api_version_minor(props.api_version)
        ))
    } else if compute_family.is_none() {
        Some("has no compute queue".to_owned())
    } else {
        None
    };
    DeviceInfo {
        index,
        name,
        device_type: DeviceType::from_vk(props.device_type),
        api_version: (
            vk::api_version_major(props.api_version),
            vk::api_version_minor(props.api_version),
            vk::api_version_patch(props.api_version),
        ),
        driver_version: props.driver_version,
        vendor_id: props.vendor_id,
        device_id: props.device_id,
        uuid,
        driver,
        compute_family,
        unusable_reason,
        queue_families: families
            .iter()
            .map(|f| (f.queue_count, format!("{:?}", f.queue_flags)))
            .collect(),
        memory_heaps: heaps(instance, pd),
    }
}

/// The memory heaps with the property flags of their memory types.
fn heaps(instance: &Instance, pd: vk::PhysicalDevice) -> Vec<(u64, bool, Vec<String>)> {
    // SAFETY: `pd` was enumerated from this live instance.
    let props = unsafe { instance.raw.get_physical_device_memory_properties(pd) };
    let types = &props.memory_types[..props.memory_type_count as usize];
    props.memory_heaps[..props.memory_heap_count as usize]
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let flags = types
                .iter()
                .filter(|t| t.heap_index as usize == i)
                .map(|t| format!("{:?}", t.property_flags))
                .collect();
            (
                h.size,
                h.flags.contains(vk::MemoryHeapFlags::DEVICE_LOCAL),
                flags,
            )
        })
        .collect()
}

/// Prefers a compute-only family (asynchronous compute on discrete GPUs), else any family
/// with compute.
fn pick_compute_family(families: &[vk::QueueFamilyProperties]) -> Option<u32> {
    let with_compute = |f: &&vk::QueueFamilyProperties| {
        f.queue_count > 0 && f.queue_flags.contains(vk::QueueFlags::COMPUTE)
    };
    let index_of = |f: &vk::QueueFamilyProperties| {
        families
            .iter()
            .position(|g| std::ptr::eq(g, f))
            .map(|i| i as u32)
    };
    families
        .iter()
        .filter(with_compute)
        .find(|f| !f.queue_flags.contains(vk::QueueFlags::GRAPHICS))
        .or_else(|| families.iter().find(with_compute))
        .and_then(index_of)
}

/// The Vulkan 1.1 device UUID (identifies the device across processes and runs) and the
/// Vulkan 1.2 driver name and info.
fn device_ids(instance: &Instance, pd: vk::PhysicalDevice, api_version: u32) -> ([u8; 16], String) {
    let mut id = vk::PhysicalDeviceIDProperties::default();
    let mut driver = vk::PhysicalDeviceDriverProperties::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut id);
    if api_version >= vk::API_VERSION_1_2 {
        props2 = props2.push_next(&mut driver);
    }
    // SAFETY: `pd` belongs to this live Vulkan 1.2 instance (vkGetPhysicalDeviceProperties2
    // is core since 1.1, and the loader provides it for every device of a 1.1+ instance);
    // the driver-properties struct is chained only for devices that support 1.2.
    unsafe {
        instance
            .raw
            .get_physical_device_properties2(pd, &mut props2)
    };
    let name = driver
        .driver_name_as_c_str()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    let info = driver
        .driver_info_as_c_str()
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default();
    (id.device_uuid, format!("{name} {info}").trim().to_owned())
}

/// Whether some heap of at least 1 GiB is reachable through a DEVICE_LOCAL | HOST_VISIBLE
/// memory type (a plain BAR window is 256 MiB).
fn has_rebar(props: &vk::PhysicalDeviceMemoryProperties) -> bool {
    let wanted = vk::MemoryPropertyFlags::DEVICE_LOCAL | vk::MemoryPropertyFlags::HOST_VISIBLE;
    props.memory_types[..props.memory_type_count as usize]
        .iter()
        .any(|t| {
            t.property_flags.contains(wanted)
                && props.memory_heaps[t.heap_index as usize].size >= 1 << 30
        })
}

fn choose(
    candidates: &[(vk::PhysicalDevice, DeviceInfo)],
    selector: &DeviceSelector,
) -> Result<(vk::PhysicalDevice, DeviceInfo), Error> {
    let listing = || {
        if candidates.is_empty() {
            return "the Vulkan loader reports no devices (is a driver such as Mesa lavapipe installed?)".to_owned();
        }
        let names: Vec<String> = candidates
            .iter()
            .map(|(_, d)| match &d.unusable_reason {
                None => format!("{}: {} ({:?})", d.index, d.name, d.device_type),
                Some(why) => format!(
                    "{}: {} ({:?}, unusable: {why})",
                    d.index, d.name, d.device_type
                ),
            })
            .collect();
        format!("devices: [{}]", names.join("; "))
    };
    let found = match selector {
        DeviceSelector::Best => candidates
            .iter()
            .filter(|(_, d)| d.is_usable())
            .min_by_key(|(_, d)| (d.device_type, d.index)),
        DeviceSelector::Index(i) => candidates.iter().find(|(_, d)| d.index == *i),
        DeviceSelector::NameContains(s) => {
            let s = s.to_lowercase();
            candidates
                .iter()
                .find(|(_, d)| d.is_usable() && d.name.to_lowercase().contains(&s))
        }
    };
    match found {
        Some((_, d)) if !d.is_usable() => Err(Error::NoSuitableDevice(format!(
            "selected device {} ({}) {}",
            d.index,
            d.name,
            d.unusable_reason.as_deref().unwrap_or_default()
        ))),
        Some(c) => Ok(c.clone()),
        None => Err(Error::NoSuitableDevice(format!(
            "nothing matches {selector:?}; {}",
            listing()
        ))),
    }
}

/// A queue with the lock Vulkan requires around `vkQueueSubmit`.
pub(crate) struct Queue {
    raw: Mutex<vk::Queue>,
    pub(crate) family: u32,
    /// Whether the family supports timestamp queries.
    pub(crate) timestamps: bool,
}

impl Queue {
    /// The queue, locked for a submission.
    pub(crate) fn lock(&self) -> MutexGuard<'_, vk::Queue> {
        self.raw.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Memory facts that steer where buffers go.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MemoryFacts {
    /// A large (>= 1 GiB) heap is both DEVICE_LOCAL and HOST_VISIBLE (resizable BAR):
    /// small uploads can be written straight into device memory.
    pub(crate) rebar: bool,
}

/// The logical device: a compute queue, transfer queues where the device has a
/// transfer-only family, and a gpu-allocator.
///
/// Every object created from it holds an `Arc<Device>`, so it is destroyed last; its own
/// `Drop` waits for the GPU to go idle, then destroys the allocator, then the device.
pub(crate) struct Device {
    allocator: ManuallyDrop<Mutex<Allocator>>,
    pub(crate) raw: ash::Device,
    pub(crate) instance: Arc<Instance>,
    pub(crate) info: DeviceInfo,
    pub(crate) limits: vk::PhysicalDeviceLimits,
    pub(crate) memory: MemoryFacts,
    /// Whether shaders may use 64-bit integers (the shaderInt64 feature is enabled).
    pub(crate) shader_int64: bool,
    /// Whether shaders may use doubles (the shaderFloat64 feature is enabled).
    pub(crate) shader_float64: bool,
    /// Whether kernels may multiply f16 matrices into f32 ones on the matrix units
    /// (VK_NV_cooperative_matrix and the features its shaders need are enabled).
    pub(crate) f16_matrix: bool,
    /// Host-memory import, when VK_EXT_external_memory_host is enabled.
    pub(crate) host_import: Option<HostImportSupport>,
    /// The driver's pipeline-cache UUID (changes with the driver build).
    pub(crate) pipeline_cache_uuid: [u8; 16],
    pub(crate) compute: Queue,
    /// Uploads of streamed jobs, on the copy engines; `None` without a transfer-only family.
    pub(crate) upload: Option<Queue>,
    /// Downloads of streamed jobs: the transfer-only family's second queue (the H100's
    /// family has two), so that they neither wait behind uploads nor hold up compute;
    /// `None` when the family has one queue or there is none.
    pub(crate) download: Option<Queue>,
    /// Queue families buffers are shared between (CONCURRENT sharing when more than one).
    pub(crate) families: Vec<u32>,
    lost: AtomicBool,
    /// The call that first reported the loss, for the errors of every later call.
    lost_by: std::sync::OnceLock<&'static str>,
    live_allocations: Arc<AtomicUsize>,
    /// Distinguishes this device from every other of the process, for
    /// [`Device::note_submitting_thread`] (handles may be reused once destroyed).
    serial: u64,
    submitting_threads: AtomicUsize,
}

thread_local! {
    /// Serials of the devices this thread has submitted to.
    static SUBMITTED_TO: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.info.name)
            .field("families", &self.families)
            .finish_non_exhaustive()
    }
}

/// VK_EXT_external_memory_host on this device.
pub(crate) struct HostImportSupport {
    pub(crate) functions: ash::ext::external_memory_host::Device,
    /// `minImportedHostPointerAlignment`: imports start and end on multiples of it.
    pub(crate) alignment: u64,
}

/// `minImportedHostPointerAlignment` when the device offers VK_EXT_external_memory_host.
fn host_import_alignment(
    instance: &Instance,
    pd: vk::PhysicalDevice,
) -> Result<Option<u64>, Error> {
    if !offers_extension(instance, pd, ash::ext::external_memory_host::NAME)? {
        return Ok(None);
    }
    let mut props = vk::PhysicalDeviceExternalMemoryHostPropertiesEXT::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut props);
    // SAFETY: `pd` is a live 1.2 device that offers the extension whose struct we chain.
    unsafe {
        instance
            .raw
            .get_physical_device_properties2(pd, &mut props2)
    };
    Ok(Some(props.min_imported_host_pointer_alignment.max(1)))
}

/// Whether the device offers `name` among its extensions.
fn offers_extension(
    instance: &Instance,
    pd: vk::PhysicalDevice,
    name: &std::ffi::CStr,
) -> Result<bool, Error> {
    // SAFETY: `pd` comes from this live instance.
    let exts = unsafe { instance.raw.enumerate_device_extension_properties(pd) }
        .map_err(Error::vk("vkEnumerateDeviceExtensionProperties"))?;
    Ok(exts
        .iter()
        .any(|e| e.extension_name_as_c_str().is_ok_and(|n| n == name)))
}

/// Whether kernels can multiply 16 x 16 x 16 f16 matrices into f32 ones on the device's
/// matrix units (VK_NV_cooperative_matrix at subgroup scope, with the shaderFloat16 and
/// vulkanMemoryModel features its shaders need, and subgroups of 32, which the kernels'
/// layout assumes).
fn f16_matrix_support(instance: &Instance, pd: vk::PhysicalDevice) -> Result<bool, Error> {
    if !offers_extension(instance, pd, ash::nv::cooperative_matrix::NAME)? {
        return Ok(false);
    }
    let mut matrix = vk::PhysicalDeviceCooperativeMatrixFeaturesNV::default();
    let mut features12 = vk::PhysicalDeviceVulkan12Features::default();
    let mut features2 = vk::PhysicalDeviceFeatures2::default()
        .push_next(&mut matrix)
        .push_next(&mut features12);
    // SAFETY: `pd` is a live 1.2 device that offers the extension whose struct we chain.
    unsafe {
        instance
            .raw
            .get_physical_device_features2(pd, &mut features2)
    };
    if matrix.cooperative_matrix != vk::TRUE
        || features12.shader_float16 != vk::TRUE
        || features12.vulkan_memory_model != vk::TRUE
    {
        return Ok(false);
    }
    let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut subgroup);
    // SAFETY: as above; the subgroup properties are core in 1.1.
    unsafe {
        instance
            .raw
            .get_physical_device_properties2(pd, &mut props2)
    };
    if subgroup.subgroup_size != 32
        || !subgroup
            .supported_operations
            .contains(vk::SubgroupFeatureFlags::BASIC)
    {
        return Ok(false);
    }
    let functions = ash::nv::cooperative_matrix::Instance::new(&instance.entry, &instance.raw);
    let get = functions
        .fp()
        .get_physical_device_cooperative_matrix_properties_nv;
    let mut count = 0u32;
    // SAFETY: the extension is offered, so its function is loaded; a null array asks for
    // the count.
    unsafe { get(pd, &mut count, std::ptr::null_mut()) }
        .result()
        .map_err(Error::vk(
            "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV",
        ))?;
    let mut props = vec![vk::CooperativeMatrixPropertiesNV::default(); count as usize];
    // SAFETY: `props` holds `count` initialized structs of the right type.
    unsafe { get(pd, &mut count, props.as_mut_ptr()) }
        .result()
        .map_err(Error::vk(
            "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV",
        ))?;
    props.truncate(count as usize);
    Ok(props.iter().any(|p| {
        (p.m_size, p.n_size, p.k_size) == (16, 16, 16)
            && p.a_type == vk::ComponentTypeNV::FLOAT16
            && p.b_type == vk::ComponentTypeNV::FLOAT16
            && p.c_type == vk::ComponentTypeNV::FLOAT32
            && p.d_type == vk::ComponentTypeNV::FLOAT32
            && p.scope == vk::ScopeNV::SUBGROUP
    }))
}

/// A family with TRANSFER and neither COMPUTE nor GRAPHICS: the copy engines.
fn pick_transfer_family(families: &[vk::QueueFamilyProperties]) -> Option<u32> {
    families
        .iter()
        .position(|f| {
            f.queue_count > 0
                && f.queue_flags.contains(vk::QueueFlags::TRANSFER)
                && !f
                    .queue_flags
                    .intersects(vk::QueueFlags::COMPUTE | vk::QueueFlags::GRAPHICS)
        })
        .map(|i| i as u32)
}

impl Device {
    pub(crate) fn new(config: &ContextConfig) -> Result<Arc<Self>, Error> {
        let instance = Instance::new(config.validation, config.loader.as_deref())?;
        let candidates = probe_all(&instance)?;
        let (physical, info) = choose(&candidates, &config.device)?;
        let compute_family = info
            .compute_family
            .expect("choose() returns usable devices only, which have a compute family");
        // SAFETY: `physical` comes from this live instance.
        let family_props = unsafe {
            instance
                .raw
                .get_physical_device_queue_family_properties(physical)
        };
        let transfer_family = if config.transfer_queue {
            pick_transfer_family(&family_props)
        } else {
            None
        };

        let priorities = [1.0, 1.0];
        // One transfer queue for uploads and, where the family has a second, one for
        // downloads.
        let transfer_queues =
            transfer_family.map_or(0, |f| family_props[f as usize].queue_count.min(2) as usize);
        let mut queue_infos = vec![vk::DeviceQueueCreateInfo::default()
            .queue_family_index(compute_family)
            .queue_priorities(&priorities[..1])];
        if let Some(family) = transfer_family {
            queue_infos.push(
                vk::DeviceQueueCreateInfo::default()
                    .queue_family_index(family)
                    .queue_priorities(&priorities[..transfer_queues]),
            );
        }
        // Timeline semaphores are core in Vulkan 1.2 and mandatory there.
        let mut features12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        // 64-bit integers and doubles in shaders, where offered: multi-word arithmetic uses
        // both (the Fq multiplication accumulates exact integer products in doubles, on the
        // FP64 units beside the integer ones).
        // SAFETY: `physical` comes from this live instance.
        let offered = unsafe { instance.raw.get_physical_device_features(physical) };
        let features = vk::PhysicalDeviceFeatures::default()
            .shader_int64(offered.shader_int64 == vk::TRUE)
            .shader_float64(offered.shader_float64 == vk::TRUE);
        // Importing the caller's memory as buffers (VK_EXT_external_memory_host), where
        // offered: kernels and copy engines then reach it directly, without staging copies.
        let import_alignment = host_import_alignment(&instance, physical)?;
        let mut extensions = Vec::new();
        if import_alignment.is_some() {
            extensions.push(ash::ext::external_memory_host::NAME.as_ptr());
        }
        // Matrix products on the device's matrix units, where offered.
        let f16_matrix = f16_matrix_support(&instance, physical)?;
        let mut matrix = vk::PhysicalDeviceCooperativeMatrixFeaturesNV::default();
        if f16_matrix {
            extensions.push(ash::nv::cooperative_matrix::NAME.as_ptr());
            matrix.cooperative_matrix = vk::TRUE;
            features12 = features12.shader_float16(true).vulkan_memory_model(true);
        }
        let mut create_info = vk::DeviceCreateInfo::default()
            .queue_create_infos(&queue_infos)
            .enabled_extension_names(&extensions)
            .enabled_features(&features)
            .push_next(&mut features12);
        if f16_matrix {
            create_info = create_info.push_next(&mut matrix);
        }
        // SAFETY: `physical` comes from this instance; the create info points at locals.
        let raw = unsafe { instance.raw.create_device(physical, &create_info, None) }
            .map_err(Error::vk("vkCreateDevice"))?;
        let queue = |family: u32, index: u32| Queue {
            // SAFETY: `queue_infos` created `index + 1` or more queues of `family` (one of
            // the compute family, `transfer_queues` of the transfer family).
            raw: Mutex::new(unsafe { raw.get_device_queue(family, index) }),
            family,
            timestamps: family_props[family as usize].timestamp_valid_bits > 0,
        };
        let compute = queue(compute_family, 0);
        let upload = transfer_family.map(|f| queue(f, 0));
        let download = transfer_family
            .filter(|_| transfer_queues >= 2)
            .map(|f| queue(f, 1));
        // SAFETY: `physical` comes from this live instance.
        let props = unsafe { instance.raw.get_physical_device_properties(physical) };
        let (limits, pipeline_cache_uuid) = (props.limits, props.pipeline_cache_uuid);
        // SAFETY: as above.
        let memory_props = unsafe { instance.raw.get_physical_device_memory_properties(physical) };
        let memory = MemoryFacts {
            rebar: has_rebar(&memory_props),
        };

        let allocator = Allocator::new(&AllocatorCreateDesc {
            instance: instance.raw.clone(),
            device: raw.clone(),
            physical_device: physical,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        });
        let allocator = match allocator {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: nothing was created from `raw` yet.
                unsafe { raw.destroy_device(None) };
                return Err(Error::from_allocation("gpu_allocator::Allocator::new", e));
            }
        };
        let host_import = import_alignment.map(|alignment| HostImportSupport {
            functions: ash::ext::external_memory_host::Device::new(&instance.raw, &raw),
            alignment,
        });
        let mut families = vec![compute_family];
        families.extend(transfer_family);

        Ok(Arc::new(Self {
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            raw,
            instance,
            info,
            limits,
            memory,
            shader_int64: features.shader_int64 == vk::TRUE,
            shader_float64: features.shader_float64 == vk::TRUE,
            f16_matrix,
            host_import,
            pipeline_cache_uuid,
            compute,
            upload,
            download,
            families,
            lost: AtomicBool::new(false),
            lost_by: std::sync::OnceLock::new(),
            live_allocations: Arc::default(),
            serial: {
                static SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
                SERIALS.fetch_add(1, Ordering::Relaxed)
            },
            submitting_threads: AtomicUsize::new(0),
        }))
    }

    pub(crate) fn allocator(&self) -> MutexGuard<'_, Allocator> {
        // Poisoning means a panic while allocating; the allocator's state is still valid.
        self.allocator.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Nanoseconds per timestamp tick.
    pub(crate) fn timestamp_period(&self) -> f64 {
        f64::from(self.limits.timestamp_period)
    }

    /// Counts the calling thread among those that have submitted to this device, the
    /// first time it does. The NVIDIA driver keeps state for every thread that ever
    /// submitted and, when the library unloads, releases it in time that grows faster than
    /// the number of threads (driver 580, H200, 2026-11-29: 10,000 short-lived threads
    /// cost 0.8 s at context drop, 20,000 3.6 s, 40,000 29 s).
    pub(crate) fn note_submitting_thread(&self) {
        let first = SUBMITTED_TO.with_borrow_mut(|serials| {
            let first = !serials.contains(&self.serial);
            if first {
                serials.push(self.serial);
            }
            first
        });
        if first {
            self.submitting_threads.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Threads that have submitted to this device so far.
    pub(crate) fn submitting_threads(&self) -> usize {
        self.submitting_threads.load(Ordering::Relaxed)
    }

    /// Fails fast with [`Error::DeviceLost`] once the device has been lost.
    pub(crate) fn check_alive(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::Acquire) {
            Err(Error::DeviceLost {
                call: self.lost_by.get().copied().unwrap_or("an earlier call"),
            })
        } else {
            Ok(())
        }
    }

    /// Records `err` if it says the device is gone, and passes it on.
    pub(crate) fn note(&self, err: Error) -> Error {
        if let Error::DeviceLost { call } = err {
            let _ = self.lost_by.set(call);
            self.lost.store(true, Ordering::Release);
        }
        err
    }

    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    pub(crate) fn allocation_created(&self) {
        self.live_allocations.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn allocation_freed(&self) {
        self.live_allocations.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn live_allocations(&self) -> usize {
        self.live_allocations.load(Ordering::Relaxed)
    }

    /// The live-allocation counter itself, which outlives the device (leak checks).
    pub(crate) fn allocation_counter(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.live_allocations)
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let start = std::time::Instant::now();
        // SAFETY: no object made from this device is left (they hold Arcs to it). The GPU may
        // still run the last submission if a wait timed out, so wait for idle first; the
        // allocator frees its memory blocks before the device that owns them goes.
        unsafe {
            let _ = self.raw.device_wait_idle();
            ManuallyDrop::drop(&mut self.allocator);
            self.raw.destroy_device(None);
        }
        tracing::debug!(took = ?start.elapsed(), "device destroyed");
    }
}
