//! `cargo xtask shaders [--check]`.
//!
//! The default build of xtask does not link shaderc (see the crate docs for why). It locates
//! `libshaderc_combined.a` and re-runs itself with `--features compile`; the binary built
//! with that feature does the actual work in the `compile` submodule.

#[cfg(feature = "compile")]
mod compile;

use std::process::ExitCode;

use anyhow::Result;

/// Compiles (or with `check`, verifies) every shader.
#[cfg(feature = "compile")]
pub(crate) fn run(check: bool) -> Result<ExitCode> {
    compile::run(check)
}

/// Re-runs xtask with the `compile` feature, linked against the system libshaderc.
#[cfg(not(feature = "compile"))]
pub(crate) fn run(check: bool) -> Result<ExitCode> {
    use crate::workspace;

    let lib_dir = find_shaderc_lib()?;
    let mut cargo = workspace::cargo();
    cargo.args([
        "run",
        "--quiet",
        "--package",
        "xtask",
        "--features",
        "compile",
        "--",
        "shaders",
    ]);
    if check {
        cargo.arg("--check");
    }
    // shaderc-sys links the library it finds in SHADERC_LIB_DIR. If it found nothing there it
    // would quietly fall back to building shaderc from source (~10 minutes); we checked the
    // directory above, and pointing CMAKE at a program that does not exist makes that
    // fallback fail at once should it happen anyway (nothing else xtask depends on uses
    // CMake).
    cargo
        .env("SHADERC_LIB_DIR", &lib_dir)
        .env("CMAKE", "xtask-refuses-to-build-shaderc-from-source");
    workspace::run_to_exit_code(&mut cargo)
}

/// The directory holding libshaderc, or an error saying how to install it.
#[cfg(not(feature = "compile"))]
fn find_shaderc_lib() -> Result<std::path::PathBuf> {
    use crate::{setup, shaderc_lib};

    let candidates = shaderc_lib::candidate_dirs();
    if let Some(dir) = shaderc_lib::find_dir(&candidates) {
        return Ok(dir);
    }
    let searched = candidates
        .iter()
        .map(|dir| dir.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let hint = if setup::is_debian() {
        format!(
            "install it with:\n    {}\n(or run `cargo xtask test`, which installs it when run as root)",
            setup::install_command(&["libshaderc-dev", "libjemalloc-dev"], setup::is_root())
        )
    } else {
        "install libshaderc (for example from the Vulkan SDK) and set SHADERC_LIB_DIR to the \
         directory holding it"
            .to_owned()
    };
    anyhow::bail!(
        "{} not found (searched {searched}); {hint}",
        shaderc_lib::STATIC_LIB
    )
}
