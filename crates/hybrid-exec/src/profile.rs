//! Calibration profiles: the cost model's samples saved for the next process, valid only for
//! the exact device, driver, crate version and kernels they were measured with.

use std::path::{Path, PathBuf};

use crate::cost::CostModel;

/// Environment variable with the profile directory (default: `$XDG_CONFIG_HOME/hybrid-exec`,
/// else `$HOME/.config/hybrid-exec`), or `off`.
pub const ENV_PROFILE: &str = "HYBRID_EXEC_PROFILE";

/// First line of every profile; the number is the format version.
const HEADER: &str = "hybrid-exec profile 2";

/// What a profile must match to be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileKey {
    /// The Vulkan device UUID.
    pub device_uuid: [u8; 16],
    /// The driver version as the device reports it.
    pub driver_version: u32,
    /// This crate's version.
    pub crate_version: String,
    /// `field_bls12::kernels_fingerprint()`.
    pub kernels: u64,
}

impl ProfileKey {
    fn lines(&self) -> String {
        let uuid: String = self
            .device_uuid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "device {uuid}\ndriver {}\ncrate {}\nkernels {:016x}",
            self.driver_version, self.crate_version, self.kernels
        )
    }

    /// The profile file for this device in `dir`.
    pub fn path_in(&self, dir: &Path) -> PathBuf {
        let uuid: String = self
            .device_uuid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        dir.join(format!("profile-{uuid}.txt"))
    }
}

/// The profile directory per [`ENV_PROFILE`]; `None` when off or no home is known.
pub fn default_dir() -> Option<PathBuf> {
    match std::env::var(ENV_PROFILE) {
        Ok(v) if v.eq_ignore_ascii_case("off") => None,
        Ok(v) if !v.trim().is_empty() => Some(PathBuf::from(v)),
        _ => std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
            .map(|base| base.join("hybrid-exec")),
    }
}

/// Writes `model`'s samples under `key` to `path` (atomically: temp file + rename).
///
/// # Errors
/// The I/O error, with the path.
pub fn save(path: &Path, key: &ProfileKey, model: &CostModel) -> Result<(), String> {
    let text = format!("{HEADER}\n{}\n{}\n", key.lines(), model.samples_to_text());
    let io = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Adds the samples of the profile at `path` to `model` if it was written for `key`.
///
/// # Errors
/// Why the profile was not used (missing, unreadable, another format version, written for
/// another device, driver, crate version or kernel build, or corrupt): callers print it in
/// one line and go on with the defaults; `model` is left untouched.
pub fn load(path: &Path, key: &ProfileKey, model: &mut CostModel) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Err(format!(
            "{}: not a profile of this format version",
            path.display()
        ));
    }
    let want = key.lines();
    let got: Vec<&str> = lines.by_ref().take(4).collect();
    if got.join("\n") != want {
        return Err(format!(
            "{}: written for another device, driver, crate version or kernel build",
            path.display()
        ));
    }
    let rest: Vec<&str> = lines.collect();
    let mut fresh = model.clone();
    fresh
        .add_samples_from_text(&rest.join("\n"))
        .map_err(|why| format!("{}: corrupt ({why})", path.display()))?;
    *model = fresh;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cost::{Device, JobShape};

    fn key() -> ProfileKey {
        ProfileKey {
            device_uuid: [7; 16],
            driver_version: 42,
            crate_version: "0.1.0".to_owned(),
            kernels: 0xabc,
        }
    }

    #[test]
    fn profiles_round_trip_and_stale_foreign_or_corrupt_ones_are_ignored() {
        let dir =
            std::env::temp_dir().join(format!("hybrid-exec-profile-test-{}", std::process::id()));
        let path = key().path_in(&dir);
        let shape = JobShape {
            len: 4096,
            inputs: 2,
            muls: 1,
            linear: 0,
            place: crate::cost::Place::Slices,
        };
        let mut model = CostModel::default();
        for _ in 0..5 {
            model.observe(Device::Gpu, shape, Duration::from_micros(40));
        }
        save(&path, &key(), &model).unwrap();
        let mut loaded = CostModel::default();
        load(&path, &key(), &mut loaded).unwrap();
        assert_eq!(
            loaded.predict(Device::Gpu, shape),
            model.predict(Device::Gpu, shape)
        );

        let defaults = CostModel::default();
        for (other, why) in [
            (
                ProfileKey {
                    driver_version: 43,
                    ..key()
                },
                "another device",
            ),
            (
                ProfileKey {
                    kernels: 1,
                    ..key()
                },
                "another device",
            ),
            (
                ProfileKey {
                    crate_version: "0.2.0".into(),
                    ..key()
                },
                "another device",
            ),
        ] {
            let mut m = CostModel::default();
            assert!(load(&path, &other, &mut m).unwrap_err().contains(why));
            assert_eq!(
                m.predict(Device::Gpu, shape),
                defaults.predict(Device::Gpu, shape),
                "untouched"
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(HEADER, "hybrid-exec profile 1")).unwrap();
        assert!(load(&path, &key(), &mut CostModel::default())
            .unwrap_err()
            .contains("format version"));
        std::fs::write(&path, format!("{text}sample gpu oops\n")).unwrap();
        let mut m = CostModel::default();
        assert!(load(&path, &key(), &mut m).unwrap_err().contains("corrupt"));
        assert_eq!(
            m.predict(Device::Gpu, shape),
            defaults.predict(Device::Gpu, shape),
            "untouched"
        );
        assert!(load(&dir.join("missing.txt"), &key(), &mut m).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
