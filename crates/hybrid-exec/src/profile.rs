//! Calibration profiles: the cost model's samples saved for the next process, valid only for
//! the exact device, driver, crate version and kernels they were measured with. A profile
//! is a JSON file, `profile-<device uuid>.json`:
//!
//! ```text
//! {"format": 4,
//!  "key": {"device": "<uuid hex>", "driver_version": 1, "crate_version": "0.1.0", "kernels": 42},
//!  "samples": [{"device": "gpu", "place": "slices", "inputs": 2, "muls": 1, "linear": 0,
//!               "bucket": 3, "seen": 5, "kept": 4, "ns_per_elem": 9.5},
//!              {"device": "gpu", "op": "msm_g1", "place": "slices", "inputs": 0, "muls": 0,
//!               "linear": 0, "bucket": 65536, "seen": 4, "kept": 3, "ns_per_elem": 310.0},
//!              ...]}
//! ```
//!
//! A sample without `op` is an Fq job's; MSM samples (`"op": "msm_g1"` or `"msm_g2"`) time
//! one point (`ns_per_elem`). The key's kernel fingerprint covers the Fq and the curve
//! kernels (`field_bls12::kernels_fingerprint`, `curve_bls12::kernels_fingerprint`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cost::{CostModel, Sample};

/// Environment variable with the profile directory (default: `$XDG_CONFIG_HOME/hybrid-exec`,
/// else `$HOME/.config/hybrid-exec`), or `off`.
pub const ENV_PROFILE: &str = "HYBRID_EXEC_PROFILE";

/// The format version this build writes. Format 3 had no `op` in its samples (all of them
/// Fq jobs'), which format 4 reads the same way, so this build reads both. Format 2 was a
/// text file (`profile-<uuid>.txt`), which is no longer read.
const FORMAT: u32 = 4;
/// The oldest format this build reads.
const OLDEST_FORMAT: u32 = 3;

/// Why a calibration profile was not loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The router keeps no profile: it has no GPU, or profiles are off.
    #[error("no calibration profile: no GPU, or profiles are off ({ENV_PROFILE}=off)")]
    Off,
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a profile (not JSON, or fields missing, unknown or of the wrong
    /// type).
    #[error("{}: not a calibration profile ({why})", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where (line and column).
        why: String,
    },
    /// A profile of another format version.
    #[error(
        "{}: profile format {found}; this build reads formats {OLDEST_FORMAT} to {FORMAT}",
        path.display()
    )]
    OtherFormat {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u64,
    },
    /// A profile written for another device, driver, crate version or kernel build: its
    /// samples do not describe this one.
    #[error(
        "{}: written for another device, driver, crate version or kernel build",
        path.display()
    )]
    Stale {
        /// The file.
        path: PathBuf,
    },
    /// A sample no measurement can give (a time that is negative or not finite, more
    /// samples kept than seen).
    #[error("{}: sample {index} is impossible", path.display())]
    BadSample {
        /// The file.
        path: PathBuf,
        /// The sample's position in `samples`, from 0.
        index: usize,
    },
}

impl ProfileError {
    /// Whether this is the expected result of an upgrade (another format, driver, crate
    /// version or kernel build) rather than a damaged or unreadable file.
    pub(crate) fn is_stale(&self) -> bool {
        matches!(self, Self::Stale { .. } | Self::OtherFormat { .. })
    }
}

/// What a profile must match to be trusted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProfileKey {
    /// The Vulkan device UUID, in hex.
    device: String,
    /// The driver version as the device reports it.
    driver_version: u32,
    /// This crate's version.
    crate_version: String,
    /// `field_bls12::kernels_fingerprint()` combined with
    /// `curve_bls12::kernels_fingerprint()`.
    kernels: u64,
}

impl ProfileKey {
    /// The key of the device `uuid` with `driver_version`, for this crate and these kernels.
    pub(crate) fn new(uuid: [u8; 16], driver_version: u32, kernels: u64) -> Self {
        Self {
            device: uuid.iter().map(|b| format!("{b:02x}")).collect(),
            driver_version,
            crate_version: env!("CARGO_PKG_VERSION").to_owned(),
            kernels,
        }
    }

    /// The profile file for this device in `dir`.
    pub(crate) fn path_in(&self, dir: &Path) -> PathBuf {
        dir.join(format!("profile-{}.json", self.device))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    format: u32,
    key: ProfileKey,
    samples: Vec<Sample>,
}

/// The part read first, so that another format version is told apart from damage.
#[derive(Deserialize)]
struct Format {
    format: u64,
}

/// The profile directory per [`ENV_PROFILE`]; `None` when off or no home is known.
pub(crate) fn default_dir() -> Option<PathBuf> {
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
/// [`ProfileError::Io`] with the file that could not be written.
pub(crate) fn save(path: &Path, key: &ProfileKey, model: &CostModel) -> Result<(), ProfileError> {
    let profile = Profile {
        format: FORMAT,
        key: key.clone(),
        samples: model.samples(),
    };
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ProfileError::Io { path, source }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut text = serde_json::to_vec_pretty(&profile).map_err(|e| io(&tmp)(e.into()))?;
    text.push(b'\n');
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Adds the samples of the profile at `path` to `model` if it was written for `key`;
/// `model` is left untouched otherwise.
///
/// # Errors
/// Why the profile was not used ([`ProfileError`]): callers log it in one line and go on
/// with the defaults.
pub(crate) fn load(
    path: &Path,
    key: &ProfileKey,
    model: &mut CostModel,
) -> Result<(), ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let corrupt = |e: serde_json::Error| ProfileError::Corrupt {
        path: path.to_owned(),
        why: e.to_string(),
    };
    let Format { format } = serde_json::from_str(&text).map_err(corrupt)?;
    if !(u64::from(OLDEST_FORMAT)..=u64::from(FORMAT)).contains(&format) {
        return Err(ProfileError::OtherFormat {
            path: path.to_owned(),
            found: format,
        });
    }
    let profile: Profile = serde_json::from_str(&text).map_err(corrupt)?;
    if profile.key != *key {
        return Err(ProfileError::Stale {
            path: path.to_owned(),
        });
    }
    let mut fresh = model.clone();
    fresh
        .add_samples(&profile.samples)
        .map_err(|index| ProfileError::BadSample {
            path: path.to_owned(),
            index,
        })?;
    *model = fresh;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::cost::{Device, JobShape, Op, Place};

    fn key() -> ProfileKey {
        ProfileKey::new([7; 16], 42, 0xabc)
    }

    const SHAPE: JobShape = JobShape {
        op: Op::Fq,
        len: 4096,
        inputs: 2,
        muls: 1,
        linear: 0,
        place: Place::Slices,
    };

    /// A temporary directory removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("hybrid-exec-profile-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn learned() -> CostModel {
        let mut model = CostModel::default();
        for _ in 0..5 {
            model.observe(Device::Gpu, SHAPE, Duration::from_micros(40));
        }
        model
    }

    /// Loads `path` into a fresh model, asserting that a failure leaves it untouched.
    fn load_fresh(path: &Path, key: &ProfileKey) -> Result<CostModel, ProfileError> {
        let mut m = CostModel::default();
        match load(path, key, &mut m) {
            Ok(()) => Ok(m),
            Err(e) => {
                assert_eq!(
                    m.predict(Device::Gpu, SHAPE),
                    CostModel::default().predict(Device::Gpu, SHAPE),
                    "untouched after {e}"
                );
                Err(e)
            }
        }
    }

    #[test]
    fn profiles_round_trip_as_json() {
        let dir = TempDir::new("round-trip");
        let path = key().path_in(&dir.0);
        assert!(path.ends_with("profile-07070707070707070707070707070707.json"));
        let model = learned();
        save(&path, &key(), &model).unwrap();
        let loaded = load_fresh(&path, &key()).unwrap();
        assert_eq!(
            loaded.predict(Device::Gpu, SHAPE),
            model.predict(Device::Gpu, SHAPE)
        );
        assert!(loaded.trusted(Device::Gpu, SHAPE));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""format": 4"#), "{text}");
        assert!(
            !text.contains(r#""op""#),
            "Fq samples are written without op: {text}"
        );
        assert!(text.contains(r#""device": "gpu""#), "{text}");
    }

    #[test]
    fn msm_samples_round_trip_and_format_3_profiles_still_load() {
        let dir = TempDir::new("msm");
        let path = key().path_in(&dir.0);
        let msm = JobShape::msm(Op::MsmG2, 1 << 16);
        let mut model = learned();
        for _ in 0..5 {
            model.observe(Device::Gpu, msm, Duration::from_millis(20));
        }
        save(&path, &key(), &model).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(r#""op": "msm_g2""#), "{text}");
        let loaded = load_fresh(&path, &key()).unwrap();
        assert!(loaded.known(Device::Gpu, msm));
        assert_eq!(loaded.predict(Device::Gpu, msm), Duration::from_millis(20));
        assert!(
            !loaded.known(Device::Gpu, JobShape::msm(Op::MsmG1, 1 << 16)),
            "G2 samples do not price G1"
        );
        // A format 3 profile (no MSM samples, no op) is read as Fq samples.
        save(&path, &key(), &learned()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(r#""format": 4"#, r#""format": 3"#)).unwrap();
        let loaded = load_fresh(&path, &key()).unwrap();
        assert!(loaded.trusted(Device::Gpu, SHAPE));
        assert_eq!(
            loaded.predict(Device::Gpu, SHAPE),
            learned().predict(Device::Gpu, SHAPE)
        );
    }

    #[test]
    fn stale_foreign_corrupt_and_missing_profiles_are_typed_errors() {
        let dir = TempDir::new("errors");
        let path = key().path_in(&dir.0);
        save(&path, &key(), &learned()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for other in [
            ProfileKey::new([8; 16], 42, 0xabc),
            ProfileKey::new([7; 16], 43, 0xabc),
            ProfileKey::new([7; 16], 42, 1),
            ProfileKey {
                crate_version: "0.0.1".into(),
                ..key()
            },
        ] {
            let e = load_fresh(&path, &other).unwrap_err();
            assert!(matches!(e, ProfileError::Stale { .. }), "{e}");
            assert!(e.is_stale());
        }
        let write = |t: &str| std::fs::write(&path, t).unwrap();
        write(&text.replace(r#""format": 4"#, r#""format": 2"#));
        let e = load_fresh(&path, &key()).unwrap_err();
        assert!(
            matches!(e, ProfileError::OtherFormat { found: 2, .. }),
            "{e}"
        );
        assert!(e
            .to_string()
            .contains("format 2; this build reads formats 3 to 4"));
        write(&text.replace(r#""format": 4"#, r#""format": 5"#));
        let e = load_fresh(&path, &key()).unwrap_err();
        assert!(
            matches!(e, ProfileError::OtherFormat { found: 5, .. }),
            "{e}"
        );
        write("hybrid-exec profile 2\ndevice 0707\n");
        let e = load_fresh(&path, &key()).unwrap_err();
        assert!(
            matches!(&e, ProfileError::Corrupt { why, .. } if why.contains("line 1")),
            "{e}"
        );
        assert!(!e.is_stale());
        write(&text.replace(r#""kept""#, r#""kpt""#));
        let e = load_fresh(&path, &key()).unwrap_err();
        assert!(
            matches!(&e, ProfileError::Corrupt { why, .. } if why.contains("kpt")),
            "{e}"
        );
        write(&text.replace(r#""kept": 4"#, r#""kept": 99"#));
        let e = load_fresh(&path, &key()).unwrap_err();
        assert!(matches!(e, ProfileError::BadSample { index: 0, .. }), "{e}");
        let missing = dir.0.join("missing.json");
        let e = load_fresh(&missing, &key()).unwrap_err();
        assert!(
            matches!(&e, ProfileError::Io { path, source }
                if *path == missing && source.kind() == std::io::ErrorKind::NotFound),
            "{e}"
        );
        assert!(e.to_string().contains("missing.json"), "{e}");
    }

    #[test]
    fn saving_where_no_file_can_be_written_names_the_path() {
        let dir = TempDir::new("unwritable");
        std::fs::create_dir_all(&dir.0).unwrap();
        // A file where the profile's directory should be.
        let blocker = dir.0.join("not-a-dir");
        std::fs::write(&blocker, "").unwrap();
        let path = key().path_in(&blocker);
        let e = save(&path, &key(), &learned()).unwrap_err();
        assert!(
            matches!(&e, ProfileError::Io { path, .. } if *path == blocker),
            "{e}"
        );
    }
}
