//! Only does something with `--features compile`: completes the link of Debian's libshaderc.
//!
//! shaderc-sys links `libshaderc_combined.a` from `SHADERC_LIB_DIR`. Upstream builds of that
//! archive contain glslang and SPIRV-Tools; Debian's (libshaderc-dev 2023.2) contains only
//! shaderc, and its `libshaderc.so` leaves the same symbols undefined. So we add the
//! glslang and SPIRV-Tools static archives found next to it. Where the combined archive
//! really is complete these extra archives are never pulled in (an archive member is only
//! linked to resolve a symbol that is still undefined), so adding them is harmless.
//!
//! It also links jemalloc, when installed, in place of glibc's malloc (see `link_jemalloc`).

#[path = "src/shaderc_lib.rs"]
mod shaderc_lib;

fn main() {
    println!("cargo:rerun-if-changed=src/shaderc_lib.rs");
    println!("cargo:rerun-if-env-changed=SHADERC_LIB_DIR");
    if std::env::var_os("CARGO_FEATURE_COMPILE").is_none() {
        return;
    }
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    // Without a library shaderc-sys fails (or builds from source); nothing to add then.
    let Some(dir) = shaderc_lib::find_dir(&shaderc_lib::candidate_dirs()) else {
        return;
    };
    let extra = shaderc_lib::extra_libs(&dir);
    if !extra.is_empty() {
        // Link arguments come after the libraries of dependencies (shaderc-sys's
        // `-lshaderc_combined`) on the linker command line. The group lets GNU ld resolve the
        // references between these archives whatever their order; lld accepts and ignores it.
        println!("cargo:rustc-link-arg=-Wl,--start-group");
        for lib in &extra {
            println!("cargo:rustc-link-arg={}", lib.display());
        }
        println!("cargo:rustc-link-arg=-Wl,--end-group");
        // With `--as-needed`, GNU ld drops libraries nothing before them used; repeat the ones
        // these archives need.
        for lib in ["-lstdc++", "-lm"] {
            println!("cargo:rustc-link-arg={lib}");
        }
    }
    link_jemalloc();
}

/// Links jemalloc (libjemalloc-dev) in place of glibc's malloc, when it is installed.
///
/// SPIRV-Tools' optimizer, where nearly all of `xtask shaders` goes, spends about half its
/// time in glibc's malloc and free; with jemalloc the same work takes half the CPU time. The
/// allocator cannot change the `.spv` bytes (`xtask shaders --check` compares them all).
/// The whole archive is linked: our link arguments come after libc, whose malloc would
/// otherwise already satisfy every reference, so no member would be pulled in. Defined in
/// the executable, jemalloc's malloc then serves the C++ code and Rust alike.
fn link_jemalloc() {
    let Some(lib) = shaderc_lib::candidate_dirs()
        .iter()
        .map(|dir| dir.join("libjemalloc_pic.a"))
        .find(|lib| lib.is_file())
    else {
        return;
    };
    println!("cargo:rerun-if-changed={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,--whole-archive");
    println!("cargo:rustc-link-arg={}", lib.display());
    println!("cargo:rustc-link-arg=-Wl,--no-whole-archive");
    // What jemalloc needs (libpthread and libdl are part of libc since glibc 2.34).
    for lib in ["-lstdc++", "-lpthread", "-ldl"] {
        println!("cargo:rustc-link-arg={lib}");
    }
    println!("cargo:rustc-env=XTASK_JEMALLOC=1");
}
