//! Where the system libshaderc lives. Shared, through `#[path]`, by the default xtask binary
//! (which checks the library is installed before relaunching itself with `--features
//! compile`) and by `build.rs` (which adds the libraries Debian's build of it needs).

use std::path::{Path, PathBuf};

/// The static library shaderc-sys links; Debian's libshaderc-dev ships it.
pub(crate) const STATIC_LIB: &str = "libshaderc_combined.a";

/// Debian's `libshaderc_combined.a` holds only shaderc itself, not glslang and SPIRV-Tools
/// (which upstream's "combined" library includes), so linking it needs these archives too.
/// They come from glslang-dev and spirv-tools, both dependencies of libshaderc-dev. The
/// order is the dependency order, for linkers that care.
pub(crate) const DEBIAN_EXTRA_LIBS: [&str; 9] = [
    "libSPIRV.a",
    "libglslang.a",
    "libMachineIndependent.a",
    "libGenericCodeGen.a",
    "libOSDependent.a",
    "libOGLCompiler.a",
    "libHLSL.a",
    "libSPIRV-Tools-opt.a",
    "libSPIRV-Tools.a",
];

/// The directories searched for [`STATIC_LIB`], in order: `$SHADERC_LIB_DIR` when set,
/// then the usual system library directories.
pub(crate) fn candidate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("SHADERC_LIB_DIR").filter(|dir| !dir.is_empty()) {
        dirs.push(dir.into());
    }
    dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/local/lib",
        ]
        .map(PathBuf::from),
    );
    dirs
}

/// The first of [`candidate_dirs`] that holds [`STATIC_LIB`], made absolute (shaderc-sys
/// would resolve a relative `SHADERC_LIB_DIR` against its own crate directory).
pub(crate) fn find_dir(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|dir| dir.join(STATIC_LIB).is_file())
        .and_then(|dir| std::path::absolute(dir).ok())
}

/// The archives of [`DEBIAN_EXTRA_LIBS`] present in `dir`.
#[allow(dead_code)] // Only build.rs uses it.
pub(crate) fn extra_libs(dir: &Path) -> Vec<PathBuf> {
    DEBIAN_EXTRA_LIBS
        .iter()
        .map(|lib| dir.join(lib))
        .filter(|path| path.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_dir_holding_the_library() {
        let base = std::env::temp_dir().join(format!("xtask-lib-test-{}", std::process::id()));
        let (empty, with_lib) = (base.join("empty"), base.join("lib"));
        std::fs::create_dir_all(&empty).unwrap();
        std::fs::create_dir_all(&with_lib).unwrap();
        std::fs::write(with_lib.join(STATIC_LIB), b"").unwrap();

        assert_eq!(find_dir(&[empty.clone(), with_lib.clone()]), Some(with_lib));
        assert_eq!(find_dir(&[empty]), None);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
