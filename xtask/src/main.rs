//! Workspace automation, run as `cargo xtask <command>` (see `.cargo/config.toml`).
//!
//! # Why shaderc sits behind the `compile` feature
//!
//! `cargo xtask test` is the one command a fresh CI machine runs, and its first job is to
//! install the system packages the workspace needs, `libshaderc-dev` among them. If the
//! default xtask binary linked shaderc it could not even be built on such a machine:
//! `shaderc-sys` would either fail to find `libshaderc_combined.a` or, worse, silently fall
//! back to building shaderc from source (about ten minutes of CMake).
//!
//! So the default build depends on `anyhow` only. When it needs to compile shaders it first
//! checks that the static library is installed and then runs a second copy of itself,
//! `cargo run --package xtask --features compile -- shaders [--check]`, with
//! `SHADERC_LIB_DIR` pointing at that library. Only that child links shaderc. The
//! `compile` feature is never enabled by default, so `cargo test --workspace` (which builds
//! xtask with default features) does not need libshaderc either.
//!
//! Debian's `libshaderc_combined.a` lacks the glslang and SPIRV-Tools code that upstream's
//! includes; `build.rs` adds those archives (from glslang-dev and spirv-tools, which
//! libshaderc-dev depends on) to the link when the `compile` feature is on, and jemalloc
//! (libjemalloc-dev) when installed: shaderc's optimizer runs twice as fast with it.

mod setup;
#[cfg(not(feature = "compile"))]
mod shaderc_lib;
mod shaders;
mod workspace;

use std::ffi::OsString;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  shaders [--check]
      Compile every shaders/**/*.comp to a .spv file beside it (SPIR-V 1.5, Vulkan 1.2).
      Files are only rewritten when their bytes change. With --check nothing is written;
      the command fails if any .spv is missing, stale, or has no .comp beside it.
  test [--no-install] [-- <cargo test args>...]
      1. Install the Debian packages the tests need (mesa-vulkan-drivers, libvulkan1,
         vulkan-validationlayers, libshaderc-dev, libjemalloc-dev) when running as root;
         --no-install, or not being root, only prints the apt-get command and fails if
         any is missing.
      2. Run `shaders --check`.
      3. Run `cargo check --workspace --lib --bins`: the libraries and binaries as users
         build them, without the features tests turn on.
      4. Run `cargo test --workspace [<cargo test args>...]` with
         VK_BACKEND_VALIDATION=require (unless already set).
  help
      Print this text.
";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Help,
    Shaders {
        check: bool,
    },
    Test {
        no_install: bool,
        cargo_args: Vec<OsString>,
    },
}

fn parse_args(args: &[OsString]) -> Result<Command, String> {
    let Some((command, rest)) = args.split_first() else {
        return Err("missing command".to_owned());
    };
    let unexpected = |arg: &OsString| format!("unexpected argument `{}`", arg.to_string_lossy());
    match command.to_str() {
        Some("help" | "--help" | "-h") => Ok(Command::Help),
        Some("shaders") => {
            let mut check = false;
            for arg in rest {
                match arg.to_str() {
                    Some("--check") => check = true,
                    Some("--help" | "-h") => return Ok(Command::Help),
                    _ => return Err(unexpected(arg)),
                }
            }
            Ok(Command::Shaders { check })
        }
        Some("test") => {
            let mut no_install = false;
            let mut cargo_args = Vec::new();
            let mut rest = rest.iter();
            while let Some(arg) = rest.next() {
                match arg.to_str() {
                    Some("--no-install") => no_install = true,
                    Some("--help" | "-h") => return Ok(Command::Help),
                    Some("--") => {
                        cargo_args.extend(rest.cloned());
                        break;
                    }
                    _ => return Err(unexpected(arg)),
                }
            }
            Ok(Command::Test {
                no_install,
                cargo_args,
            })
        }
        _ => Err(format!("unknown command `{}`", command.to_string_lossy())),
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Shaders { check } => shaders::run(check),
        Command::Test {
            no_install,
            cargo_args,
        } => test(no_install, &cargo_args),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}

/// `cargo xtask test`: system packages, then the shader check, then the workspace tests.
fn test(no_install: bool, cargo_args: &[OsString]) -> anyhow::Result<ExitCode> {
    setup::ensure_system_packages(no_install)?;

    println!("==> checking shaders");
    let code = shaders::run(true)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }

    // `cargo test` turns on dev-only features (vk-backend's `test-support`), which can hide
    // code that only compiles with them; check the build users get.
    println!("==> cargo check --workspace --lib --bins");
    let mut check = workspace::cargo();
    check.args(["check", "--workspace", "--lib", "--bins"]);
    let code = workspace::run_to_exit_code(&mut check)?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }

    let mut header = String::from("==> cargo test --workspace");
    for arg in cargo_args {
        header.push(' ');
        header.push_str(&arg.to_string_lossy());
    }
    println!("{header}");
    let mut cargo = workspace::cargo();
    cargo.args(["test", "--workspace"]).args(cargo_args);
    // Our test helper reads this: with `require`, a missing Khronos validation layer makes
    // the GPU tests fail instead of silently running unvalidated.
    if std::env::var_os("VK_BACKEND_VALIDATION").is_none() {
        cargo.env("VK_BACKEND_VALIDATION", "require");
    }
    workspace::run_to_exit_code(&mut cargo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_args(&args)
    }

    #[test]
    fn parses_commands() {
        assert_eq!(parse(&["help"]), Ok(Command::Help));
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["shaders"]), Ok(Command::Shaders { check: false }));
        assert_eq!(
            parse(&["shaders", "--check"]),
            Ok(Command::Shaders { check: true })
        );
        assert_eq!(
            parse(&[
                "test",
                "--no-install",
                "--",
                "-p",
                "gpu-core",
                "--",
                "--nocapture"
            ]),
            Ok(Command::Test {
                no_install: true,
                cargo_args: ["-p", "gpu-core", "--", "--nocapture"]
                    .iter()
                    .map(OsString::from)
                    .collect(),
            })
        );
        assert_eq!(
            parse(&["test"]),
            Ok(Command::Test {
                no_install: false,
                cargo_args: Vec::new(),
            })
        );
    }

    #[test]
    fn rejects_unknown_input() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["build"]).is_err());
        assert!(parse(&["shaders", "--chek"]).is_err());
        assert!(parse(&["test", "--workspace"]).is_err());
    }
}
