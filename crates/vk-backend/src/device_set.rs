//! Which devices a user of several GPUs opens: [`DeviceSet`], from [`ENV_DEVICES`] or set
//! in code, and the choice it makes among the loader's devices, each with its reason.

use crate::{DeviceInfo, DeviceSelector, DeviceType, Error};

/// Environment variable that picks the set of devices: `all`, or a comma-separated list of
/// enumeration indices and case-insensitive name substrings (`0,1`, `H200`); unset or
/// empty: [`DeviceSet::Default`].
pub const ENV_DEVICES: &str = "VK_BACKEND_DEVICES";

/// Which devices to use.
///
/// ```
/// use vk_backend::{DeviceSelector, DeviceSet};
/// assert_eq!(DeviceSet::parse(""), DeviceSet::Default);
/// assert_eq!(DeviceSet::parse("ALL"), DeviceSet::All);
/// assert_eq!(
///     DeviceSet::parse("1, h200"),
///     DeviceSet::List(vec![
///         DeviceSelector::Index(1),
///         DeviceSelector::NameContains("h200".into()),
///     ])
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DeviceSet {
    /// Every usable discrete GPU; where there is none, the best single device
    /// ([`DeviceSelector::Best`]).
    #[default]
    Default,
    /// Every usable device.
    All,
    /// Each device these select, in order (a device selected twice is used once).
    List(Vec<DeviceSelector>),
}

/// A device a [`DeviceSet`] selected, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectedDevice {
    /// Its enumeration index (what [`DeviceSelector::Index`] refers to).
    pub index: usize,
    /// Why it is used, e.g. `"discrete GPU (default set)"`.
    pub reason: String,
}

impl DeviceSet {
    /// Parses the value of [`ENV_DEVICES`]: `all`, or a comma-separated list of entries,
    /// each as [`DeviceSelector::parse`] reads it; empty: [`DeviceSet::Default`].
    pub fn parse(value: &str) -> Self {
        let value = value.trim();
        if value.is_empty() {
            DeviceSet::Default
        } else if value.eq_ignore_ascii_case("all") {
            DeviceSet::All
        } else {
            DeviceSet::List(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|entry| !entry.is_empty())
                    .map(DeviceSelector::parse)
                    .collect(),
            )
        }
    }

    /// The set [`ENV_DEVICES`] names, [`DeviceSet::Default`] when it is unset or empty.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when its value is not UTF-8.
    pub fn from_env() -> Result<Self, Error> {
        Ok(crate::config::env_value(ENV_DEVICES)?.map_or(DeviceSet::Default, |v| Self::parse(&v)))
    }

    /// The devices this set selects among `devices` (as [`enumerate_devices`] lists them),
    /// in order, each once, with the reason.
    ///
    /// # Errors
    /// [`Error::NoSuitableDevice`] when an entry of a list matches no device or an
    /// unusable one, or when no usable device exists at all.
    ///
    /// [`enumerate_devices`]: crate::enumerate_devices
    pub fn select(&self, devices: &[DeviceInfo]) -> Result<Vec<SelectedDevice>, Error> {
        let usable = || devices.iter().filter(|d| d.is_usable());
        let picked: Vec<SelectedDevice> = match self {
            DeviceSet::Default => {
                let discrete: Vec<SelectedDevice> = usable()
                    .filter(|d| d.device_type == DeviceType::Discrete)
                    .map(|d| SelectedDevice {
                        index: d.index,
                        reason: "discrete GPU (default set: every discrete GPU)".into(),
                    })
                    .collect();
                if discrete.is_empty() {
                    usable()
                        .min_by_key(|d| (d.device_type, d.index))
                        .map(|d| SelectedDevice {
                            index: d.index,
                            reason: format!(
                                "{:?} device, the best one (default set: no discrete GPU)",
                                d.device_type
                            ),
                        })
                        .into_iter()
                        .collect()
                } else {
                    discrete
                }
            }
            DeviceSet::All => usable()
                .map(|d| SelectedDevice {
                    index: d.index,
                    reason: format!("{ENV_DEVICES}=all"),
                })
                .collect(),
            DeviceSet::List(entries) => {
                let mut picked: Vec<SelectedDevice> = Vec::new();
                for entry in entries {
                    let d = find(devices, entry)?;
                    if !picked.iter().any(|p| p.index == d.index) {
                        picked.push(SelectedDevice {
                            index: d.index,
                            reason: format!("named in the list ({})", describe(entry)),
                        });
                    }
                }
                picked
            }
        };
        if picked.is_empty() {
            return Err(Error::NoSuitableDevice(format!(
                "no usable device for {self:?} among {} listed",
                devices.len()
            )));
        }
        Ok(picked)
    }
}

/// The device one list entry names: the first usable match.
fn find<'d>(devices: &'d [DeviceInfo], entry: &DeviceSelector) -> Result<&'d DeviceInfo, Error> {
    let found = match entry {
        DeviceSelector::Best => devices
            .iter()
            .filter(|d| d.is_usable())
            .min_by_key(|d| (d.device_type, d.index)),
        DeviceSelector::Index(i) => devices.iter().find(|d| d.index == *i),
        DeviceSelector::NameContains(s) => {
            let s = s.to_lowercase();
            devices
                .iter()
                .find(|d| d.is_usable() && d.name.to_lowercase().contains(&s))
        }
    };
    match found {
        Some(d) if d.is_usable() => Ok(d),
        Some(d) => Err(Error::NoSuitableDevice(format!(
            "{ENV_DEVICES} entry {} is device {} ({}), which is unusable: {}",
            describe(entry),
            d.index,
            d.name,
            d.unusable_reason.as_deref().unwrap_or_default()
        ))),
        None => Err(Error::NoSuitableDevice(format!(
            "{ENV_DEVICES} entry {} matches none of the {} devices",
            describe(entry),
            devices.len()
        ))),
    }
}

fn describe(entry: &DeviceSelector) -> String {
    match entry {
        DeviceSelector::Best => "the best device".into(),
        DeviceSelector::Index(i) => format!("index {i}"),
        DeviceSelector::NameContains(s) => format!("name containing {s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(index: usize, name: &str, device_type: DeviceType, usable: bool) -> DeviceInfo {
        DeviceInfo {
            index,
            name: name.into(),
            device_type,
            api_version: (1, 3, 0),
            driver_version: 0,
            driver: String::new(),
            vendor_id: 0,
            device_id: 0,
            uuid: [index as u8; 16],
            compute_family: usable.then_some(0),
            unusable_reason: (!usable).then(|| "no compute queue".into()),
            queue_families: Vec::new(),
            memory_heaps: Vec::new(),
        }
    }

    fn indices(set: &DeviceSet, devices: &[DeviceInfo]) -> Result<Vec<usize>, Error> {
        Ok(set.select(devices)?.iter().map(|d| d.index).collect())
    }

    #[test]
    fn the_default_set_is_every_discrete_gpu_else_the_best_device() {
        let two_gpus = [
            device(0, "llvmpipe", DeviceType::Cpu, true),
            device(1, "NVIDIA H200", DeviceType::Discrete, true),
            device(2, "NVIDIA H200", DeviceType::Discrete, true),
            device(3, "broken", DeviceType::Discrete, false),
        ];
        assert_eq!(indices(&DeviceSet::Default, &two_gpus).unwrap(), [1, 2]);
        let picked = DeviceSet::Default.select(&two_gpus).unwrap();
        assert!(picked[0].reason.contains("discrete"), "{picked:?}");
        let no_gpu = [
            device(0, "llvmpipe", DeviceType::Cpu, true),
            device(1, "iGPU", DeviceType::Integrated, true),
        ];
        assert_eq!(indices(&DeviceSet::Default, &no_gpu).unwrap(), [1]);
        assert_eq!(indices(&DeviceSet::All, &two_gpus).unwrap(), [0, 1, 2]);
        assert!(matches!(
            DeviceSet::Default.select(&[device(0, "x", DeviceType::Cpu, false)]),
            Err(Error::NoSuitableDevice(_))
        ));
        assert!(matches!(
            DeviceSet::All.select(&[]),
            Err(Error::NoSuitableDevice(_))
        ));
    }

    #[test]
    fn lists_select_in_order_once_each_and_name_what_they_cannot_find() {
        let devices = [
            device(0, "llvmpipe (LLVM 15)", DeviceType::Cpu, true),
            device(1, "NVIDIA H200", DeviceType::Discrete, true),
            device(2, "broken", DeviceType::Discrete, false),
        ];
        assert_eq!(
            indices(&DeviceSet::parse("h200, 0, 1"), &devices).unwrap(),
            [1, 0]
        );
        assert_eq!(indices(&DeviceSet::parse("LLVM"), &devices).unwrap(), [0]);
        let err = DeviceSet::parse("0,7").select(&devices).unwrap_err();
        assert!(err.to_string().contains("index 7"), "{err}");
        let err = DeviceSet::parse("2").select(&devices).unwrap_err();
        assert!(err.to_string().contains("unusable"), "{err}");
        let err = DeviceSet::parse("rtx").select(&devices).unwrap_err();
        assert!(err.to_string().contains("\"rtx\""), "{err}");
        assert_eq!(DeviceSet::parse(" , "), DeviceSet::List(Vec::new()));
        assert!(DeviceSet::parse(",").select(&devices).is_err());
    }
}
