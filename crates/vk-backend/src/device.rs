//! Physical-device choice and the logical device with its queue and memory allocator.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ash::vk;
use gpu_allocator::vulkan::{Allocator, AllocatorCreateDesc};

use crate::instance::Instance;
use crate::{ContextConfig, Error};

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
}

impl DeviceInfo {
    /// Whether the backend can run on this device.
    pub fn is_usable(&self) -> bool {
        self.unusable_reason.is_none()
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

/// Lists every Vulkan device the loader reports, usable or not.
///
/// # Errors
/// [`Error::LoaderNotFound`] without a Vulkan loader; Vulkan errors from enumeration.
pub fn enumerate_devices() -> Result<Vec<DeviceInfo>, Error> {
    let instance = Instance::new(crate::Validation::Off, None)?;
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
        uuid: device_uuid(instance, pd),
        compute_family,
        unusable_reason,
    }
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

/// The Vulkan 1.1 device UUID: identifies the device across processes and runs.
fn device_uuid(instance: &Instance, pd: vk::PhysicalDevice) -> [u8; 16] {
    let mut id = vk::PhysicalDeviceIDProperties::default();
    let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut id);
    // SAFETY: `pd` belongs to this live Vulkan 1.2 instance (vkGetPhysicalDeviceProperties2
    // is core since 1.1, and the loader provides it for every device of a 1.1+ instance).
    unsafe {
        instance
            .raw
            .get_physical_device_properties2(pd, &mut props2)
    };
    id.device_uuid
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

/// The logical device: one compute queue and a gpu-allocator.
///
/// Every object created from it holds an `Arc<Device>`, so it is destroyed last; its own
/// `Drop` waits for the GPU to go idle, then destroys the allocator, then the device.
pub(crate) struct Device {
    allocator: ManuallyDrop<Mutex<Allocator>>,
    pub(crate) raw: ash::Device,
    pub(crate) instance: Arc<Instance>,
    pub(crate) info: DeviceInfo,
    pub(crate) limits: vk::PhysicalDeviceLimits,
    queue: Mutex<vk::Queue>,
    pub(crate) queue_family: u32,
    lost: AtomicBool,
    live_allocations: AtomicUsize,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("name", &self.info.name)
            .field("queue_family", &self.queue_family)
            .finish_non_exhaustive()
    }
}

impl Device {
    pub(crate) fn new(config: &ContextConfig) -> Result<Arc<Self>, Error> {
        let instance = Instance::new(config.validation, config.loader.as_deref())?;
        let candidates = probe_all(&instance)?;
        let (physical, info) = choose(&candidates, &config.device)?;
        let queue_family = info
            .compute_family
            .expect("choose() returns usable devices only, which have a compute family");

        let priorities = [1.0];
        let queue_info = [vk::DeviceQueueCreateInfo::default()
            .queue_family_index(queue_family)
            .queue_priorities(&priorities)];
        let create_info = vk::DeviceCreateInfo::default().queue_create_infos(&queue_info);
        // SAFETY: `physical` comes from this instance; the create info points at locals.
        let raw = unsafe { instance.raw.create_device(physical, &create_info, None) }
            .map_err(Error::vk("vkCreateDevice"))?;
        // SAFETY: family `queue_family` was created with one queue.
        let queue = unsafe { raw.get_device_queue(queue_family, 0) };
        // SAFETY: `physical` comes from this live instance.
        let limits = unsafe { instance.raw.get_physical_device_properties(physical) }.limits;

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
                return Err(Error::from_allocation(e));
            }
        };

        Ok(Arc::new(Self {
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            raw,
            instance,
            info,
            limits,
            queue: Mutex::new(queue),
            queue_family,
            lost: AtomicBool::new(false),
            live_allocations: AtomicUsize::new(0),
        }))
    }

    pub(crate) fn allocator(&self) -> MutexGuard<'_, Allocator> {
        // Poisoning means a panic while allocating; the allocator's state is still valid.
        self.allocator.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The queue, locked: Vulkan requires external synchronisation of vkQueueSubmit.
    pub(crate) fn queue(&self) -> MutexGuard<'_, vk::Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails fast with [`Error::DeviceLost`] once the device has been lost.
    pub(crate) fn check_alive(&self) -> Result<(), Error> {
        if self.lost.load(Ordering::Acquire) {
            Err(Error::DeviceLost)
        } else {
            Ok(())
        }
    }

    /// Records `err` if it says the device is gone, and passes it on.
    pub(crate) fn note(&self, err: Error) -> Error {
        if matches!(err, Error::DeviceLost) {
            self.lost.store(true, Ordering::Release);
        }
        err
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
}

impl Drop for Device {
    fn drop(&mut self) {
        // SAFETY: no object made from this device is left (they hold Arcs to it). The GPU may
        // still run the last submission if a wait timed out, so wait for idle first; the
        // allocator frees its memory blocks before the device that owns them goes.
        unsafe {
            let _ = self.raw.device_wait_idle();
            ManuallyDrop::drop(&mut self.allocator);
            self.raw.destroy_device(None);
        }
    }
}
