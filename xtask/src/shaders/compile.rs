//! The shaderc-linked half of `cargo xtask shaders`; only built with `--features compile`.
//!
//! Every `shaders/**/*.comp` is compiled to `shaders/**/*.spv` beside it. Files ending in
//! `.glsl` are include files and are only compiled as part of the shaders including them.

use std::cmp::Reverse;
use std::ffi::OsStr;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::{env, fs, thread};

use anyhow::{bail, Context, Result};
use shaderc::{
    CompileOptions, Compiler, EnvVersion, OptimizationLevel, ResolvedInclude, ShaderKind,
    SourceLanguage, SpirvVersion, TargetEnv,
};

use crate::workspace;

/// Options for jemalloc, when build.rs links it, which reads them from this symbol: huge
/// pages for its heap (up to ~0.7 GB per shader) took another ~10% off the CPU time here.
#[allow(non_upper_case_globals)]
#[no_mangle]
#[used]
static malloc_conf: MallocConf = MallocConf(c"thp:always,metadata_thp:always".as_ptr());

#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a static C string, which nothing writes.
unsafe impl Sync for MallocConf {}

/// Guards against an include cycle recursing forever.
const MAX_INCLUDE_DEPTH: usize = 32;

/// Compiles every shader and writes the `.spv` files that changed, or with `check`, only
/// reports `.spv` files that are missing, stale or orphaned.
pub(super) fn run(check: bool) -> Result<ExitCode> {
    let shaders_dir = workspace::shaders_dir();
    let include_dir = shaders_dir.join("include");

    let (mut sources, mut spirv) = (Vec::new(), Vec::new());
    if shaders_dir.is_dir() {
        collect(&shaders_dir, &mut sources, &mut spirv)?;
    }
    sources.sort();
    spirv.sort();
    let orphans: Vec<String> = spirv
        .iter()
        .filter(|spv| !spv.with_extension("comp").is_file())
        .map(|spv| workspace::display(spv))
        .collect();

    if sources.is_empty() && (orphans.is_empty() || !check) {
        println!(
            "no .comp shaders under {}; nothing to do",
            workspace::display(&shaders_dir)
        );
        return Ok(ExitCode::SUCCESS);
    }

    let compiled = compile_all(&sources, &include_dir)?;

    let mut failed = Vec::new();
    let mut out_of_date = Vec::new();
    let (mut written, mut unchanged) = (0, 0);
    // Results are reported in source order, whatever order the threads finished in.
    for (source, result) in sources.iter().zip(compiled) {
        let name = workspace::display(source);
        let spv_path = source.with_extension("spv");
        let spv_name = workspace::display(&spv_path);

        let bytes = match result {
            Ok(bytes) => bytes,
            Err(error) => {
                eprintln!("error: {name}: {error:#}");
                failed.push(name);
                continue;
            }
        };
        let existing = match fs::read(&spv_path) {
            Ok(existing) => Some(existing),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(error).with_context(|| format!("failed to read {spv_name}")),
        };
        let up_to_date = existing.as_deref() == Some(bytes.as_slice());

        if check {
            match existing {
                None => out_of_date.push(format!("missing  {spv_name} (from {name})")),
                Some(_) if !up_to_date => {
                    out_of_date.push(format!("stale    {spv_name} (differs from {name})"));
                }
                Some(_) => unchanged += 1,
            }
        } else if up_to_date {
            println!("unchanged {spv_name}");
            unchanged += 1;
        } else {
            fs::write(&spv_path, &bytes).with_context(|| format!("failed to write {spv_name}"))?;
            println!("written   {spv_name}");
            written += 1;
        }
    }

    if check {
        out_of_date.extend(
            orphans
                .iter()
                .map(|spv| format!("orphan   {spv} (no .comp beside it)")),
        );
    } else {
        for spv in &orphans {
            eprintln!("warning: {spv} has no .comp beside it; delete it if it is obsolete");
        }
    }

    if !failed.is_empty() {
        eprintln!(
            "error: {} of {} failed to compile:",
            failed.len(),
            plural(sources.len(), "shader", "shaders")
        );
        for name in &failed {
            eprintln!("  {name}");
        }
    }
    if !out_of_date.is_empty() {
        eprintln!(
            "error: {} not up to date:",
            plural(out_of_date.len(), ".spv file is", ".spv files are")
        );
        for line in &out_of_date {
            eprintln!("  {line}");
        }
        eprintln!(
            "run `cargo xtask shaders` and commit the .spv files.\n\
             note: this check compiled with {}; a different libshaderc version can produce \
             different bytes from the same source, so .spv files built with another version \
             show up as stale.",
            shaderc_version()
        );
    }
    if !failed.is_empty() || !out_of_date.is_empty() {
        return Ok(ExitCode::FAILURE);
    }

    if check {
        println!(
            "shaders: {} up to date ({})",
            plural(unchanged, ".spv file is", ".spv files are"),
            shaderc_version()
        );
    } else {
        println!("shaders: {written} written, {unchanged} unchanged");
    }
    Ok(ExitCode::SUCCESS)
}

/// Compiles every shader in `sources`, on as many threads as the machine has, and returns
/// the results in the order of `sources`.
///
/// Nearly all the time goes to shaderc's optimizer, over 90% of it to the eight fused
/// `fq_program_*` kernels, so the work is handed out largest first, by the size of the
/// `.spv` from the last run (which tracks the optimizer's time; shaders without one go first,
/// their cost being unknown), and the threads end at nearly the same time. Each thread has
/// its own `Compiler` and `CompileOptions`: the options are not `Send`.
fn compile_all(sources: &[PathBuf], include_dir: &Path) -> Result<Vec<Result<Vec<u8>>>> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| {
        let previous = fs::metadata(sources[i].with_extension("spv")).map(|m| m.len());
        Reverse(previous.unwrap_or(u64::MAX))
    });
    let threads = thread::available_parallelism()
        .map_or(1, usize::from)
        .min(sources.len().max(1));
    println!(
        "compiling {} on {}",
        plural(sources.len(), "shader", "shaders"),
        plural(threads, "thread", "threads")
    );
    if option_env!("XTASK_JEMALLOC").is_none() {
        // See build.rs: shaderc's optimizer takes twice the time with glibc's malloc.
        println!("note: libjemalloc-dev is not installed; compiling takes about twice as long");
    }

    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<Vec<u8>>>> = sources.iter().map(|_| None).collect();
    thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> Result<Vec<(usize, Result<Vec<u8>>)>> {
                    let compiler =
                        Compiler::new().context("failed to initialise the shaderc compiler")?;
                    let options = compile_options(include_dir.to_owned())?;
                    let mut done = Vec::new();
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let name = workspace::display(&sources[i]);
                        done.push((i, compile(&compiler, &options, &sources[i], &name)));
                    }
                    Ok(done)
                })
            })
            .collect();
        for worker in workers {
            let done = worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            for (i, result) in done {
                results[i] = Some(result);
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(results
        .into_iter()
        .map(|result| result.expect("every shader was compiled"))
        .collect())
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Adds every `.comp` and `.spv` file below `dir` to `sources` and `spirv`.
fn collect(dir: &Path, sources: &mut Vec<PathBuf>, spirv: &mut Vec<PathBuf>) -> Result<()> {
    let entries =
        fs::read_dir(dir).with_context(|| format!("failed to list {}", workspace::display(dir)))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect(&path, sources, spirv)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            match path.extension().and_then(OsStr::to_str) {
                Some("comp") => sources.push(path),
                Some("spv") => spirv.push(path),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The options every shader is compiled with. Changing any of them changes every `.spv`.
fn compile_options(include_dir: PathBuf) -> Result<CompileOptions<'static>> {
    let mut options = CompileOptions::new().context("failed to create shaderc compile options")?;
    options.set_source_language(SourceLanguage::GLSL);
    options.set_target_env(TargetEnv::Vulkan, EnvVersion::Vulkan1_2 as u32);
    options.set_target_spirv(SpirvVersion::V1_5);
    options.set_optimization_level(OptimizationLevel::Performance);
    options.set_warnings_as_errors();
    // No set_generate_debug_info(): debug info would embed source text and file names.
    options.set_include_callback(move |requested, _kind, requester, depth| {
        resolve_include(requested, requester, depth, &include_dir)
    });
    Ok(options)
}

/// Compiles one compute shader; `name` (workspace-relative) is what shaderc sees as its
/// file name, in messages and in include resolution.
fn compile(
    compiler: &Compiler,
    options: &CompileOptions<'_>,
    path: &Path,
    name: &str,
) -> Result<Vec<u8>> {
    let source = fs::read_to_string(path).context("failed to read the shader")?;
    if source.contains('\0') {
        bail!("the shader contains a NUL byte");
    }
    match compiler.compile_into_spirv(&source, ShaderKind::Compute, name, "main", Some(options)) {
        Ok(artifact) => Ok(artifact.as_binary_u8().to_vec()),
        Err(shaderc::Error::CompilationError(_, message)) => {
            bail!("failed to compile:\n{}", message.trim_end())
        }
        Err(error) => bail!("shaderc failed: {error}"),
    }
}

/// Resolves `#include "requested"` (or `<requested>`) in the file named `requester`: first
/// relative to the including file's directory, then in `include_dir`.
fn resolve_include(
    requested: &str,
    requester: &str,
    depth: usize,
    include_dir: &Path,
) -> Result<ResolvedInclude, String> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(format!(
            "includes nested more than {MAX_INCLUDE_DEPTH} deep; is \"{requested}\" part of an \
             include cycle?"
        ));
    }
    // Names we hand to shaderc are workspace-relative (or absolute outside the workspace).
    let requester = workspace::root().join(requester);
    let mut candidates = Vec::new();
    if let Some(dir) = requester.parent() {
        candidates.push(normalize(&dir.join(requested)));
    }
    candidates.push(normalize(&include_dir.join(requested)));

    for candidate in &candidates {
        if candidate.is_file() {
            let name = workspace::display(candidate);
            let content = fs::read_to_string(candidate)
                .map_err(|error| format!("cannot read {name}: {error}"))?;
            if content.contains('\0') {
                return Err(format!("{name} contains a NUL byte"));
            }
            return Ok(ResolvedInclude {
                resolved_name: name,
                content,
            });
        }
    }
    let searched: Vec<String> = candidates.iter().map(|c| workspace::display(c)).collect();
    Err(format!(
        "cannot find include file \"{requested}\" (looked for {})",
        searched.join(" and ")
    ))
}

/// Removes `.` and `..` components without touching the file system, so include names read
/// `shaders/include/fq.glsl` rather than `shaders/fq/../include/fq.glsl`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Which libshaderc we link, as far as we can tell (the library does not report its own
/// version), for the note about version-dependent output.
fn shaderc_version() -> String {
    let package = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "libshaderc-dev"])
        .output()
        .ok()
        .filter(|out| out.status.success() && !out.stdout.is_empty())
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    let (spirv_version, _) = shaderc::get_spirv_version();
    let mut text = match package {
        Some(version) => format!("libshaderc-dev {version}"),
        None => "libshaderc of unknown version".to_owned(),
    };
    if let Some(dir) = env::var_os("SHADERC_LIB_DIR") {
        text.push_str(&format!(" from {}", Path::new(&dir).display()));
    }
    text.push_str(&format!(
        ", SPIR-V {}.{} max",
        spirv_version >> 16,
        (spirv_version >> 8) & 0xff
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize(Path::new("/a/shaders/fq/../include/./fq.glsl")),
            Path::new("/a/shaders/include/fq.glsl")
        );
        assert_eq!(normalize(Path::new("../x.glsl")), Path::new("../x.glsl"));
    }

    #[test]
    fn compiles_and_resolves_includes() {
        let dir = env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        let include_dir = dir.join("include");
        fs::create_dir_all(&include_dir).unwrap();
        fs::write(include_dir.join("two.glsl"), "uint two() { return 2u; }\n").unwrap();
        fs::write(
            dir.join("local.glsl"),
            "#include \"two.glsl\"\nuint four() { return two() * two(); }\n",
        )
        .unwrap();
        let source = "#version 450\n#include \"local.glsl\"\n\
            layout(local_size_x = 1) in;\n\
            layout(set = 0, binding = 0) buffer Out { uint v[]; };\n\
            void main() { v[0] = four(); }\n";
        let name = dir.join("test.comp");
        let compiler = Compiler::new().unwrap();
        let options = compile_options(include_dir.clone()).unwrap();
        let artifact = compiler
            .compile_into_spirv(
                source,
                ShaderKind::Compute,
                name.to_str().unwrap(),
                "main",
                Some(&options),
            )
            .unwrap();
        // SPIR-V magic number and version 1.5.
        assert_eq!(artifact.as_binary()[0], 0x0723_0203);
        assert_eq!(artifact.as_binary()[1], 0x0001_0500);

        let missing = resolve_include("nope.glsl", name.to_str().unwrap(), 1, &include_dir);
        assert!(missing.unwrap_err().contains("nope.glsl"));
        fs::remove_dir_all(&dir).unwrap();
    }
}
