//! The Vulkan loader, the instance, the validation layer and its message log.

use std::ffi::{c_void, CStr};
use std::path::Path;
use std::sync::{Arc, Mutex};

use ash::vk;

use crate::config::Validation;
use crate::Error;

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Warnings and errors reported by the validation layer, collected so tests can fail on them.
#[derive(Debug, Default)]
pub(crate) struct ValidationLog {
    messages: Mutex<Vec<String>>,
}

impl ValidationLog {
    fn push(&self, message: String) {
        // A poisoned lock only means another thread panicked while pushing; the Vec is fine.
        self.messages
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(message);
    }

    /// Returns and clears the collected messages.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .messages
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

/// Called by the validation layer, possibly from several threads at once.
///
/// # Safety
/// Called by the Vulkan loader only: `data` is null or points to valid callback data for
/// the duration of the call, and `user_data` is the `ValidationLog` pointer we registered,
/// which outlives the messenger (see [`Instance`]'s field order and `Drop`).
unsafe extern "system" fn debug_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user_data: *mut c_void,
) -> vk::Bool32 {
    // SAFETY: per this function's contract `data` is null or valid for this call.
    let message = match unsafe { data.as_ref() } {
        // SAFETY: the layer passes a NUL-terminated string or null; message_as_c_str checks null.
        Some(d) => unsafe { d.message_as_c_str() }
            .map(|m| m.to_string_lossy().into_owned())
            .unwrap_or_default(),
        None => String::new(),
    };
    let line = format!("[{severity:?} {types:?}] {message}");
    // SAFETY: `user_data` is the `Arc<ValidationLog>` pointer registered at creation, kept
    // alive by the `Instance` until after the messenger is destroyed.
    if let Some(log) = unsafe { user_data.cast::<ValidationLog>().as_ref() } {
        log.push(line);
    }
    // Returning FALSE: the call that triggered the message proceeds as normal.
    vk::FALSE
}

/// The loaded Vulkan library plus one `VkInstance`, with the debug messenger when validation
/// is on. Dropped after every device made from it (devices hold an `Arc<Instance>`).
pub(crate) struct Instance {
    // Field order matters for readability only; Drop destroys in the right order explicitly.
    messenger: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    pub(crate) raw: ash::Instance,
    /// Keeps the library loaded for as long as `raw` is in use; loads extension functions.
    pub(crate) entry: ash::Entry,
    pub(crate) validation_log: Arc<ValidationLog>,
    pub(crate) validation_enabled: bool,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance")
            .field("validation_enabled", &self.validation_enabled)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Loads the Vulkan loader (from `loader` when given, else the system's) and creates an
    /// instance for Vulkan 1.2, with the Khronos validation layer per `validation`.
    pub(crate) fn new(validation: Validation, loader: Option<&Path>) -> Result<Arc<Self>, Error> {
        // Loading the Vulkan loader runs its initialisers; that is the documented way to use
        // it and nothing else in this process depends on it being absent.
        let entry = match loader {
            // SAFETY: as above; `path` names a Vulkan loader (anything else fails to resolve
            // vkGetInstanceProcAddr and is reported as LoaderNotFound).
            Some(path) => unsafe { ash::Entry::load_from(path) },
            // SAFETY: as above, with the system's loader.
            None => unsafe { ash::Entry::load() },
        }
        .map_err(|e| Error::LoaderNotFound(e.to_string()))?;

        // SAFETY: `entry` is a loaded Vulkan library.
        let version = unsafe { entry.try_enumerate_instance_version() }
            .map_err(Error::vk("vkEnumerateInstanceVersion"))?
            .unwrap_or(vk::API_VERSION_1_0);
        if version < vk::API_VERSION_1_2 {
            return Err(Error::NoSuitableDevice(format!(
                "the Vulkan loader supports only {}.{}, Vulkan 1.2 is required",
                vk::api_version_major(version),
                vk::api_version_minor(version)
            )));
        }

        let layer_installed = validation != Validation::Off && has_layer(&entry, VALIDATION_LAYER)?;
        if validation == Validation::Required && !layer_installed {
            return Err(Error::ValidationLayerMissing);
        }
        let enable_validation = layer_installed;

        let mut layers = Vec::new();
        let mut extensions = Vec::new();
        let mut sync_validation = false;
        if enable_validation {
            layers.push(VALIDATION_LAYER.as_ptr());
            extensions.push(ash::ext::debug_utils::NAME.as_ptr());
            // Synchronization validation catches missing barriers; older layers lack the
            // VK_EXT_validation_features switch, so turn it on only where offered.
            sync_validation = layer_has_extension(
                &entry,
                VALIDATION_LAYER,
                ash::ext::validation_features::NAME,
            )?;
            if sync_validation {
                extensions.push(ash::ext::validation_features::NAME.as_ptr());
            }
        }

        let app = vk::ApplicationInfo::default()
            .application_name(c"fq-gpu")
            .engine_name(c"vk-backend")
            .api_version(vk::API_VERSION_1_2);
        let validation_log = Arc::new(ValidationLog::default());
        let mut messenger_info = vk::DebugUtilsMessengerCreateInfoEXT::default()
            .message_severity(
                vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                    | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
            )
            .message_type(
                vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                    | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                    | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
            )
            .pfn_user_callback(Some(debug_callback))
            .user_data(Arc::as_ptr(&validation_log).cast_mut().cast());
        let enables = [vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&enables);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&extensions);
        if enable_validation {
            // Chained here, the messenger also reports on vkCreateInstance/vkDestroyInstance.
            info = info.push_next(&mut messenger_info);
            if sync_validation {
                info = info.push_next(&mut features);
            }
        }
        // SAFETY: every pointer in `info` refers to locals that outlive the call.
        let raw =
            unsafe { entry.create_instance(&info, None) }.map_err(Error::vk("vkCreateInstance"))?;

        let messenger = if enable_validation {
            let loader = ash::ext::debug_utils::Instance::new(&entry, &raw);
            // SAFETY: `raw` is a live instance created with VK_EXT_debug_utils enabled; the
            // user-data pointer stays valid until the messenger is destroyed in Drop.
            match unsafe { loader.create_debug_utils_messenger(&messenger_info, None) } {
                Ok(m) => Some((loader, m)),
                Err(e) => {
                    // SAFETY: nothing was created from `raw` yet.
                    unsafe { raw.destroy_instance(None) };
                    return Err(Error::from_vk("vkCreateDebugUtilsMessengerEXT", e));
                }
            }
        } else {
            None
        };

        Ok(Arc::new(Self {
            messenger,
            raw,
            entry,
            validation_log,
            validation_enabled: enable_validation,
        }))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let start = std::time::Instant::now();
        // SAFETY: every device made from this instance holds an Arc to it, so none is left;
        // the messenger goes before the instance, and the log (an Arc field) after both.
        unsafe {
            if let Some((loader, messenger)) = self.messenger.take() {
                loader.destroy_debug_utils_messenger(messenger, None);
            }
            self.raw.destroy_instance(None);
        }
        tracing::debug!(took = ?start.elapsed(), "instance destroyed");
    }
}

fn has_layer(entry: &ash::Entry, name: &CStr) -> Result<bool, Error> {
    // SAFETY: `entry` is a loaded Vulkan library.
    let layers = unsafe { entry.enumerate_instance_layer_properties() }
        .map_err(Error::vk("vkEnumerateInstanceLayerProperties"))?;
    Ok(layers
        .iter()
        .any(|l| l.layer_name_as_c_str().is_ok_and(|n| n == name)))
}

fn layer_has_extension(entry: &ash::Entry, layer: &CStr, ext: &CStr) -> Result<bool, Error> {
    // SAFETY: `entry` is a loaded Vulkan library and `layer` a NUL-terminated name.
    let exts = unsafe { entry.enumerate_instance_extension_properties(Some(layer)) }
        .map_err(Error::vk("vkEnumerateInstanceExtensionProperties"))?;
    Ok(exts
        .iter()
        .any(|e| e.extension_name_as_c_str().is_ok_and(|n| n == ext)))
}
