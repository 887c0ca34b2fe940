//! Paths and process helpers shared by the commands.

use std::ffi::OsStr;
use std::path::Path;
#[cfg(feature = "compile")]
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

/// Overrides the shader directory (default `<workspace>/shaders`). Meant for testing xtask
/// itself against throwaway shaders; normal use never sets it.
#[cfg(feature = "compile")]
const SHADERS_DIR_ENV: &str = "XTASK_SHADERS_DIR";

/// The workspace root: the parent of this crate's directory.
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
}

/// The directory holding the `.comp` sources (and `include/`).
#[cfg(feature = "compile")]
pub(crate) fn shaders_dir() -> PathBuf {
    match std::env::var_os(SHADERS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("shaders"),
    }
}

/// `path` relative to the workspace root when it lies inside it, for messages and for the
/// names handed to shaderc (so nothing depends on where the checkout lives).
#[cfg(feature = "compile")]
pub(crate) fn display(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A `cargo` command (the same cargo that runs us) with the workspace root as current dir.
pub(crate) fn cargo() -> Command {
    // `cargo run` sets CARGO for the program it runs; the compile-time value is a fallback
    // for when the binary is started some other way.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command.current_dir(root());
    command
}

/// Runs `command` with inherited stdio and turns its exit status into ours.
pub(crate) fn run_to_exit_code(command: &mut Command) -> Result<ExitCode> {
    let status = command
        .status()
        .with_context(|| format!("failed to run {}", describe(command)))?;
    Ok(match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => {
            eprintln!(
                "error: {} was killed by a signal ({status})",
                describe(command)
            );
            ExitCode::FAILURE
        }
    })
}

/// Runs `command` with inherited stdio and fails unless it exits with status 0.
pub(crate) fn run_checked(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("failed to run {}", describe(command)))?;
    anyhow::ensure!(status.success(), "{} failed ({status})", describe(command));
    Ok(())
}

/// The program and arguments of `command`, for messages.
pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether an executable called `name` is on PATH.
pub(crate) fn on_path(name: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|dir| is_executable(&dir.join(name)))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}
