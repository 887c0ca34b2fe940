//! Step 1 of `cargo xtask test`: the system packages the tests and the shader compiler need.

use std::process::Command;

use anyhow::{bail, Result};

use crate::workspace;

/// Debian packages needed to run the workspace tests:
/// the Mesa drivers (lavapipe, a CPU Vulkan implementation, so tests run without a GPU),
/// the Vulkan loader, the Khronos validation layer, and libshaderc for `xtask shaders`, with
/// jemalloc, which halves its time (see xtask's build.rs).
pub(crate) const REQUIRED_PACKAGES: [&str; 5] = [
    "mesa-vulkan-drivers",
    "libvulkan1",
    "vulkan-validationlayers",
    "libshaderc-dev",
    "libjemalloc-dev",
];

/// Makes sure [`REQUIRED_PACKAGES`] are installed, installing the missing ones with apt-get
/// when we are root and `no_install` is false. Fails, printing the command to run, when
/// packages are missing and we cannot or may not install them.
pub(crate) fn ensure_system_packages(no_install: bool) -> Result<()> {
    println!("==> checking system packages");
    if !is_debian() {
        println!(
            "    not a Debian/Ubuntu system (no dpkg-query/apt-get on PATH); not checking packages.\n    \
             The tests need: the Vulkan loader (libvulkan), a Vulkan driver such as Mesa lavapipe,\n    \
             the Khronos validation layer (VK_LAYER_KHRONOS_validation), and libshaderc\n    \
             (libshaderc_combined.a; set SHADERC_LIB_DIR to its directory if it is not found)."
        );
        return Ok(());
    }

    let missing = missing_packages(&REQUIRED_PACKAGES)?;
    if missing.is_empty() {
        println!("    all installed: {}", REQUIRED_PACKAGES.join(" "));
        return Ok(());
    }

    let root = is_root();
    if !root || no_install {
        let why = if no_install {
            "--no-install was given"
        } else {
            "not running as root"
        };
        bail!(
            "missing system packages: {} ({why}); install them with:\n    {}",
            missing.join(" "),
            install_command(&missing, root)
        );
    }

    println!("==> installing {}", missing.join(" "));
    workspace::run_checked(apt_get().arg("update"))?;
    workspace::run_checked(
        apt_get()
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )?;
    let still_missing = missing_packages(&missing)?;
    if !still_missing.is_empty() {
        bail!(
            "apt-get succeeded but these packages are still not installed: {}",
            still_missing.join(" ")
        );
    }
    Ok(())
}

/// The shell command a user should run to install `packages` (with `sudo` unless `root`).
pub(crate) fn install_command(packages: &[&str], root: bool) -> String {
    let sudo = if root { "" } else { "sudo " };
    format!(
        "{sudo}apt-get update && {sudo}apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

/// Whether dpkg and apt are available, i.e. we can check and install Debian packages.
pub(crate) fn is_debian() -> bool {
    workspace::on_path("dpkg-query") && workspace::on_path("apt-get")
}

/// Whether the effective user is root.
pub(crate) fn is_root() -> bool {
    // The second field of `Uid:` is the effective uid.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        if let Some(uids) = status.lines().find_map(|line| line.strip_prefix("Uid:")) {
            if let Some(euid) = uids.split_whitespace().nth(1) {
                return euid == "0";
            }
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

/// The subset of `packages` that dpkg does not report as installed.
fn missing_packages<'a>(packages: &[&'a str]) -> Result<Vec<&'a str>> {
    let mut missing = Vec::new();
    for &package in packages {
        // Exits non-zero (and prints nothing on stdout) for packages dpkg has never heard of.
        let output = Command::new("dpkg-query")
            .args(["-W", "-f=${Status}\n", package])
            .output()?;
        if !String::from_utf8_lossy(&output.stdout).contains("install ok installed") {
            missing.push(package);
        }
    }
    Ok(missing)
}

fn apt_get() -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}
