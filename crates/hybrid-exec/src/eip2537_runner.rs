//! `hybrid-exec eip2537`: a conformance runner. Runs EIP-2537 test-vector files (the EIP's
//! JSON format: an array of objects with `Input`, `Name`, and either `Expected` with an
//! optional `Gas`, or `ExpectedError`) through the router's precompiles, one call at a time
//! ([`Router::precompile`]) or every vector of every file as one block
//! ([`Router::execute_block`]), and checks each output byte for byte, each `Gas` against
//! [`eip2537::gas`], and that each `ExpectedError` vector fails.
//!
//! The precompile of a file comes from its name, as in the EIP's asset directory
//! (`add_G1*`, `mul_G1*`, `msm_G1*`, the same for G2, `pairing_check*`, `map_fp_to_G1*`,
//! `map_fp2_to_G2*`, each optionally prefixed `fail-`), or from `--precompile`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use eip2537::{Precompile, PrecompileError};
use hybrid_exec::{Policy, Router};
use serde_json::Value;

/// `--policy` of `hybrid-exec eip2537`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PolicyArg {
    /// Every MSM on the CPU.
    Cpu,
    /// Every MSM on the GPU (the CPU when there is none or it fails).
    Gpu,
    /// Each MSM where the cost model predicts it finishes first.
    Auto,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Cpu => Policy::Cpu,
            PolicyArg::Gpu => Policy::Gpu,
            PolicyArg::Auto => Policy::Auto,
        }
    }
}

/// File-name stems (after an optional `fail-`) and their precompiles, longest match
/// first where one stem starts another.
const FILE_PREFIXES: [(&str, Precompile); 9] = [
    ("add_g1", Precompile::G1Add),
    ("add_g2", Precompile::G2Add),
    ("mul_g1", Precompile::G1Msm),
    ("msm_g1", Precompile::G1Msm),
    ("mul_g2", Precompile::G2Msm),
    ("msm_g2", Precompile::G2Msm),
    ("pairing_check", Precompile::PairingCheck),
    ("map_fp_to_g1", Precompile::MapFpToG1),
    ("map_fp2_to_g2", Precompile::MapFp2ToG2),
];

/// The precompile a vector file's name stands for (`fail-msm_G1_bls.json`: G1MSM), by the
/// EIP's asset names, case-insensitively; `None` for any other name.
pub(crate) fn precompile_of_file(path: &Path) -> Option<Precompile> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let stem = name.strip_prefix("fail-").unwrap_or(&name);
    FILE_PREFIXES
        .iter()
        .find(|(prefix, _)| stem.starts_with(prefix))
        .map(|&(_, p)| p)
}

/// `--precompile`: a name (`G1MSM`, `BLS12_G1MSM`, `pairing_check`, case-insensitive) or an
/// address (`0x0c`, `12`, or all 20 bytes `0x00...0c`).
pub(crate) fn parse_precompile(s: &str) -> Result<Precompile, String> {
    let t = s.trim();
    let by_name = |name: &str| {
        let name = name.to_ascii_uppercase();
        let name = name.strip_prefix("BLS12_").unwrap_or(&name);
        Precompile::ALL
            .into_iter()
            .find(|p| p.name().strip_prefix("BLS12_") == Some(name))
    };
    let address = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        let significant = hex.trim_start_matches('0');
        if hex.is_empty() || hex.len() > 40 || significant.len() > 2 {
            None
        } else {
            u8::from_str_radix(
                if significant.is_empty() {
                    "0"
                } else {
                    significant
                },
                16,
            )
            .ok()
        }
    } else {
        t.parse::<u8>().ok()
    };
    match address {
        Some(a) => Precompile::from_address(a),
        None => by_name(t),
    }
    .ok_or_else(|| {
        let known: Vec<String> = Precompile::ALL
            .iter()
            .map(|p| format!("{} (0x{:02x})", &p.name()["BLS12_".len()..], p.address()))
            .collect();
        format!(
            "{s:?} is not an EIP-2537 precompile; one of {}",
            known.join(", ")
        )
    })
}

/// Each file with its precompile: `forced` for all, or the one its name stands for.
///
/// # Errors
/// Without `forced`, the first file whose name stands for no precompile.
pub(crate) fn resolve(
    files: &[PathBuf],
    forced: Option<Precompile>,
) -> anyhow::Result<Vec<(PathBuf, Precompile)>> {
    files
        .iter()
        .map(|f| match forced.or_else(|| precompile_of_file(f)) {
            Some(p) => Ok((f.clone(), p)),
            None => bail!(
                "{}: cannot tell the precompile from the file name (expected the EIP's \
                 names: add_G1*, add_G2*, mul_G1*, msm_G1*, mul_G2*, msm_G2*, \
                 pairing_check*, map_fp_to_G1*, map_fp2_to_G2*, optionally with a fail- \
                 prefix); name it with --precompile",
                f.display()
            ),
        })
        .collect()
}

/// What a vector expects.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    /// This output, and (if given) this gas for the input's length.
    Output { bytes: Vec<u8>, gas: Option<u64> },
    /// A failure (the EIP's words for it; any error passes).
    Error(String),
}

/// One test vector.
#[derive(Debug, Clone)]
struct Vector {
    name: String,
    input: Vec<u8>,
    expect: Expect,
}

/// Hex digits (an optional `0x`) to bytes.
fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    if let Some((at, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("{c:?} at position {at} is not a hex digit"));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
    Ok(digits
        .as_bytes()
        .chunks(2)
        .map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1]))
        .collect())
}

/// Vector `index` of a file's array.
fn parse_vector(index: usize, v: &Value) -> Result<Vector, String> {
    let name = v.get("Name").and_then(Value::as_str);
    let at = match name {
        Some(n) => format!("vector [{index}] ({n})"),
        None => format!("vector [{index}]"),
    };
    if !v.is_object() {
        return Err(format!("{at}: not a JSON object"));
    }
    let string = |key: &str| match v.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(format!("{at}: {key} is not a string: {other}")),
    };
    let hex = |key: &str, s: &str| decode_hex(s).map_err(|e| format!("{at}: {key}: {e}"));
    let name = name.ok_or_else(|| format!("{at}: no \"Name\" string"))?;
    let input = string("Input")?.ok_or_else(|| format!("{at}: no \"Input\""))?;
    let input = hex("Input", input)?;
    let expect = match (string("Expected")?, string("ExpectedError")?) {
        (Some(out), None) => Expect::Output {
            bytes: hex("Expected", out)?,
            gas: match v.get("Gas") {
                None | Some(Value::Null) => None,
                Some(g) => Some(
                    g.as_u64()
                        .ok_or_else(|| format!("{at}: Gas is not a non-negative integer: {g}"))?,
                ),
            },
        },
        (None, Some(err)) => Expect::Error(err.to_owned()),
        (Some(_), Some(_)) => {
            return Err(format!("{at}: has both \"Expected\" and \"ExpectedError\""))
        }
        (None, None) => return Err(format!("{at}: needs \"Expected\" or \"ExpectedError\"")),
    };
    Ok(Vector {
        name: name.to_owned(),
        input,
        expect,
    })
}

/// A vector file's vectors, or why they cannot be had (reading, JSON, a bad vector).
fn load(path: &Path) -> Result<Vec<Vector>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Array(items) = json else {
        return Err("not a JSON array of vectors".to_owned());
    };
    if items.is_empty() {
        return Err("holds no vectors".to_owned());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_vector(i, v))
        .collect()
}

/// Up to 12 bytes as hex, `…` after them when there are more.
fn preview(bytes: &[u8]) -> String {
    let mut s: String = bytes.iter().take(12).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > 12 {
        s.push('…');
    }
    s
}

/// Why `result` does not conform to `v`, or `None` when it does.
fn check(
    precompile: Precompile,
    v: &Vector,
    result: &Result<Vec<u8>, PrecompileError>,
) -> Option<String> {
    match (&v.expect, result) {
        (Expect::Output { bytes, gas }, Ok(got)) => {
            let mut why = Vec::new();
            if got != bytes {
                let at = bytes
                    .iter()
                    .zip(got)
                    .position(|(a, b)| a != b)
                    .unwrap_or(bytes.len().min(got.len()));
                why.push(format!(
                    "output differs from byte {at}: expected {} ({} bytes), got {} ({} bytes)",
                    preview(&bytes[at..]),
                    bytes.len(),
                    preview(&got[at..]),
                    got.len()
                ));
            }
            if let Some(want) = gas {
                match eip2537::gas(precompile, v.input.len()) {
                    Ok(g) if g == *want => {}
                    Ok(g) => why.push(format!("gas: expected {want}, eip2537::gas gives {g}")),
                    Err(e) => why.push(format!("gas: expected {want}, eip2537::gas fails: {e}")),
                }
            }
            (!why.is_empty()).then(|| why.join("; "))
        }
        (Expect::Output { bytes, .. }, Err(e)) => Some(format!(
            "expected {} bytes of output, the call failed: {e}",
            bytes.len()
        )),
        (Expect::Error(_), Err(_)) => None,
        (Expect::Error(want), Ok(got)) => Some(format!(
            "expected an error ({want}), the call succeeded: {} ({} bytes)",
            preview(got),
            got.len()
        )),
    }
}

/// One file's lines: `PASS file (N vectors)`, or `FAIL file: k of N failed: names` with a
/// reason per failure under it.
fn write_file_report(
    out: &mut impl Write,
    file: &Path,
    total: usize,
    failures: &[(&str, String)],
) -> std::io::Result<()> {
    let file = file.display();
    if failures.is_empty() {
        return writeln!(out, "PASS {file} ({total} vectors)");
    }
    let names: Vec<&str> = failures.iter().map(|(n, _)| *n).collect();
    writeln!(
        out,
        "FAIL {file}: {} of {total} failed: {}",
        failures.len(),
        names.join(", ")
    )?;
    for (name, why) in failures {
        writeln!(out, "    {name}: {why}")?;
    }
    Ok(())
}

/// Runs `files` (each with its precompile) through `router` and writes a line per file
/// and a summary line to `out`; `true` when every file was read and every vector passed.
/// `policy` is the router's (for the summary), `gpu` the line that says which GPU it
/// routes to or why none.
///
/// # Errors
/// Only writing to `out`; unreadable files and bad vectors are reported as failures.
pub(crate) fn run(
    router: &Router,
    policy: Policy,
    files: &[(PathBuf, Precompile)],
    block: bool,
    gpu: &str,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let load_start = Instant::now();
    let loaded: Vec<Result<Vec<Vector>, String>> = files.iter().map(|(f, _)| load(f)).collect();
    let load_time = load_start.elapsed();

    let mut run_time = Duration::ZERO;
    let mut block_results = if block {
        let calls: Vec<(Precompile, &[u8])> = files
            .iter()
            .zip(&loaded)
            .filter_map(|((_, p), vectors)| Some((*p, vectors.as_ref().ok()?)))
            .flat_map(|(p, vectors)| vectors.iter().map(move |v| (p, &v.input[..])))
            .collect();
        let start = Instant::now();
        let results = router.execute_block(&calls);
        run_time = start.elapsed();
        Some(results.into_iter())
    } else {
        None
    };

    let (mut files_failed, mut unreadable, mut vectors, mut vectors_failed) = (0, 0, 0, 0);
    for ((file, precompile), vectors_of_file) in files.iter().zip(&loaded) {
        let vs = match vectors_of_file {
            Ok(vs) => vs,
            Err(why) => {
                writeln!(out, "FAIL {}: {why}", file.display())?;
                files_failed += 1;
                unreadable += 1;
                continue;
            }
        };
        let mut failures = Vec::new();
        for v in vs {
            let result = match block_results.as_mut() {
                Some(results) => results.next(),
                None => {
                    let start = Instant::now();
                    let result = router.precompile(*precompile, &v.input);
                    run_time += start.elapsed();
                    Some(result)
                }
            };
            // execute_block returns one result per call; should it not, the vector fails
            // rather than the runner.
            let why = match &result {
                Some(result) => check(*precompile, v, result),
                None => Some("the block returned no result for it".to_owned()),
            };
            if let Some(why) = why {
                failures.push((v.name.as_str(), why));
            }
        }
        vectors += vs.len();
        vectors_failed += failures.len();
        files_failed += usize::from(!failures.is_empty());
        write_file_report(out, file, vs.len(), &failures)?;
        out.flush()?;
    }

    let ok = files_failed == 0;
    let stats = router.stats();
    writeln!(
        out,
        "{}: policy {}, {}: {} of {} files passed{}, {} of {vectors} vectors passed, \
         {:.3} ms in the router (files read in {:.3} ms); MSM jobs: {} cpu, {} gpu, {} split, \
         {} cpu fallback{}; gpu: {gpu}",
        if ok { "PASSED" } else { "FAILED" },
        format!("{policy:?}").to_lowercase(),
        if block {
            "one block"
        } else {
            "one call at a time"
        },
        files.len() - files_failed,
        files.len(),
        if unreadable > 0 {
            format!(" ({unreadable} unreadable)")
        } else {
            String::new()
        },
        vectors - vectors_failed,
        run_time.as_secs_f64() * 1e3,
        load_time.as_secs_f64() * 1e3,
        stats.cpu_jobs,
        stats.gpu_jobs,
        stats.split_jobs,
        stats.fallback_jobs,
        match &stats.last_failure {
            Some(why) => format!(" ({} GPU failures, last: {why})", stats.gpu_failures),
            None => String::new(),
        },
    )?;
    out.flush()?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hybrid_exec::RouterConfig;

    fn vectors_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../eip2537/tests/vectors")
    }

    /// A file of `contents` in a fresh directory under the temp dir, removed on drop.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, contents: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "hybrid-exec-eip2537-{}-{}",
                std::process::id(),
                name.replace('.', "_")
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(name);
            std::fs::write(&path, contents).unwrap();
            Self(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }

    fn cpu_router() -> Router {
        let mut config = RouterConfig::default();
        config.policy = Policy::Cpu;
        Router::with_gpu(&config, None)
    }

    /// Runs `files` on a CPU router: whether all passed, and the lines written.
    fn run_files(files: &[(PathBuf, Precompile)], block: bool) -> (bool, Vec<String>) {
        let mut out = Vec::new();
        let ok = run(&cpu_router(), Policy::Cpu, files, block, "none", &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        (ok, text.lines().map(str::to_owned).collect())
    }

    #[test]
    fn file_names_map_to_their_precompiles() {
        use Precompile::*;
        for (name, want) in [
            ("add_G1_bls.json", G1Add),
            ("fail-add_G1_bls.json", G1Add),
            ("add_G2_bls.json", G2Add),
            ("fail-add_G2_bls.json", G2Add),
            ("mul_G1_bls.json", G1Msm),
            ("fail-mul_G1_bls.json", G1Msm),
            ("msm_G1_bls.json", G1Msm),
            ("fail-msm_G1_bls.json", G1Msm),
            ("mul_G2_bls.json", G2Msm),
            ("msm_G2_generated.json", G2Msm),
            ("fail-msm_G2_bls.json", G2Msm),
            ("pairing_check_bls.json", PairingCheck),
            ("fail-pairing_check_bls.json", PairingCheck),
            ("map_fp_to_G1_bls.json", MapFpToG1),
            ("fail-map_fp_to_G1_bls.json", MapFpToG1),
            ("map_fp2_to_G2_bls.json", MapFp2ToG2),
            ("fail-map_fp2_to_G2_bls.json", MapFp2ToG2),
            ("some/dir/MSM_G1_other.json", G1Msm),
        ] {
            assert_eq!(precompile_of_file(Path::new(name)), Some(want), "{name}");
        }
        for name in [
            "vectors.json",
            "fail-.json",
            "g1_add.json",
            "blake2f.json",
            "",
        ] {
            assert_eq!(precompile_of_file(Path::new(name)), None, "{name}");
        }
        // Every file of the EIP's vectors has a precompile.
        for entry in std::fs::read_dir(vectors_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                assert!(precompile_of_file(&path).is_some(), "{}", path.display());
            }
        }
        let err = resolve(&[PathBuf::from("x/blake2f.json")], None).unwrap_err();
        assert!(err.to_string().starts_with("x/blake2f.json: "), "{err}");
        assert!(err.to_string().contains("--precompile"), "{err}");
        let forced = resolve(&[PathBuf::from("blake2f.json")], Some(PairingCheck)).unwrap();
        assert_eq!(forced[0].1, PairingCheck);
    }

    #[test]
    fn precompiles_parse_by_name_and_by_address() {
        for p in Precompile::ALL {
            assert_eq!(parse_precompile(p.name()), Ok(p));
            assert_eq!(parse_precompile(&p.name()[6..]), Ok(p));
            assert_eq!(parse_precompile(&p.name().to_lowercase()), Ok(p));
            assert_eq!(parse_precompile(&format!("0x{:02x}", p.address())), Ok(p));
            assert_eq!(parse_precompile(&format!("0x{:x}", p.address())), Ok(p));
            assert_eq!(parse_precompile(&p.address().to_string()), Ok(p));
            let full: String = p
                .address_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(parse_precompile(&format!("0x{full}")), Ok(p));
        }
        assert_eq!(parse_precompile("G1MSM"), Ok(Precompile::G1Msm));
        assert_eq!(parse_precompile("0x0c"), Ok(Precompile::G1Msm));
        for bad in [
            "",
            "0x",
            "0x0a",
            "0x12",
            "0x10c",
            "G1MUL",
            "ecrecover",
            "1000",
        ] {
            let err = parse_precompile(bad).unwrap_err();
            assert!(err.contains("G1MSM (0x0c)"), "{bad}: {err}");
        }
    }

    #[test]
    fn hex_decodes_and_says_what_is_wrong() {
        assert_eq!(decode_hex(""), Ok(vec![]));
        assert_eq!(decode_hex("00ff0A"), Ok(vec![0, 255, 10]));
        assert_eq!(decode_hex("0xAbCd"), Ok(vec![0xab, 0xcd]));
        assert_eq!(
            decode_hex("abc"),
            Err("odd number of hex digits (3)".to_owned())
        );
        assert_eq!(
            decode_hex("00g0"),
            Err("'g' at position 2 is not a hex digit".to_owned())
        );
        assert_eq!(
            decode_hex("00é0"),
            Err("'é' at position 2 is not a hex digit".to_owned())
        );
    }

    #[test]
    fn a_passing_file_and_a_failing_file() {
        let source = vectors_dir().join("add_G1_bls.json");
        let good: Value = serde_json::from_str(&std::fs::read_to_string(&source).unwrap()).unwrap();
        // The same vectors, with the second's output changed at byte 100 and the third's
        // Gas wrong, and one failure vector that succeeds.
        let mut bad = good.clone();
        let items = bad.as_array_mut().unwrap();
        let name = |v: &Value| v["Name"].as_str().unwrap().to_owned();
        let (second, third) = (name(&items[1]), name(&items[2]));
        let mut out = items[1]["Expected"].as_str().unwrap().to_owned();
        out.replace_range(200..202, if &out[200..202] == "00" { "01" } else { "00" });
        items[1]["Expected"] = Value::String(out);
        items[2]["Gas"] = Value::from(376);
        let valid_input = items[0]["Input"].clone();
        items.push(serde_json::json!({
            "Input": valid_input,
            "Name": "succeeds_but_should_not",
            "ExpectedError": "invalid input length",
        }));
        let n = items.len();
        let good_file = TempFile::new("add_G1_good.json", &good.to_string());
        let bad_file = TempFile::new("add_G1_bad.json", &bad.to_string());
        let files = [
            (good_file.0.clone(), Precompile::G1Add),
            (bad_file.0.clone(), Precompile::G1Add),
        ];
        for block in [false, true] {
            let (ok, lines) = run_files(&files, block);
            assert!(!ok);
            assert_eq!(lines.len(), 6, "{lines:#?}");
            assert_eq!(
                lines[0],
                format!("PASS {} (9 vectors)", good_file.0.display())
            );
            assert_eq!(
                lines[1],
                format!(
                    "FAIL {}: 3 of {n} failed: {second}, {third}, succeeds_but_should_not",
                    bad_file.0.display()
                )
            );
            assert!(
                lines[2].starts_with(&format!(
                    "    {second}: output differs from byte 100: expected "
                )),
                "{}",
                lines[2]
            );
            assert!(lines[2].ends_with("(128 bytes)"), "{}", lines[2]);
            assert_eq!(
                lines[3],
                format!("    {third}: gas: expected 376, eip2537::gas gives 375")
            );
            assert!(
                lines[4].starts_with(
                    "    succeeds_but_should_not: expected an error (invalid input length), \
                     the call succeeded: "
                ),
                "{}",
                lines[4]
            );
            let mode = if block {
                "one block"
            } else {
                "one call at a time"
            };
            assert!(
                lines[5].starts_with(&format!(
                    "FAILED: policy cpu, {mode}: 1 of 2 files passed, {} of {} vectors passed, ",
                    9 + n - 3,
                    9 + n
                )),
                "{}",
                lines[5]
            );
            assert!(lines[5].ends_with("; gpu: none"), "{}", lines[5]);
        }
        // The good file alone passes.
        let (ok, lines) = run_files(&files[..1], false);
        assert!(ok);
        assert!(lines[1].starts_with("PASSED: policy cpu, one call at a time: 1 of 1 files passed, 9 of 9 vectors passed, "), "{}", lines[1]);
    }

    #[test]
    fn unreadable_files_and_bad_vectors_name_the_file_and_the_vector() {
        let missing = PathBuf::from("/nonexistent/add_G1_bls.json");
        let not_json = TempFile::new("add_G1_not_json.json", "[{\"Input\": ");
        let bad_hex = TempFile::new(
            "add_G1_bad_hex.json",
            r#"[{"Input": "00", "Name": "ok", "ExpectedError": "x"},
                {"Input": "0g", "Name": "the_bad_one", "ExpectedError": "x"}]"#,
        );
        let no_outcome = TempFile::new("add_G1_no_outcome.json", r#"[{"Input": "", "Name": "n"}]"#);
        let bad_gas = TempFile::new(
            "add_G1_bad_gas.json",
            r#"[{"Input": "", "Name": "g", "Expected": "", "Gas": "many"}]"#,
        );
        let empty = TempFile::new("add_G1_empty.json", "[]");
        let files: Vec<(PathBuf, Precompile)> = [
            &missing,
            &not_json.0,
            &bad_hex.0,
            &no_outcome.0,
            &bad_gas.0,
            &empty.0,
        ]
        .into_iter()
        .map(|p| (p.clone(), Precompile::G1Add))
        .collect();
        for block in [false, true] {
            let (ok, lines) = run_files(&files, block);
            assert!(!ok);
            let expect = [
                format!("FAIL {}: cannot read it: ", missing.display()),
                format!("FAIL {}: not valid JSON: ", not_json.0.display()),
                format!(
                    "FAIL {}: vector [1] (the_bad_one): Input: 'g' at position 1 is not a hex digit",
                    bad_hex.0.display()
                ),
                format!(
                    "FAIL {}: vector [0] (n): needs \"Expected\" or \"ExpectedError\"",
                    no_outcome.0.display()
                ),
                format!(
                    "FAIL {}: vector [0] (g): Gas is not a non-negative integer: \"many\"",
                    bad_gas.0.display()
                ),
                format!("FAIL {}: holds no vectors", empty.0.display()),
            ];
            for (line, want) in lines.iter().zip(&expect) {
                assert!(line.starts_with(want.as_str()), "{line}\nwant {want}");
            }
            let mode = if block {
                "one block"
            } else {
                "one call at a time"
            };
            let summary = format!(
                "FAILED: policy cpu, {mode}: 0 of 6 files passed (6 unreadable), 0 of 0 \
                 vectors passed, "
            );
            assert!(lines[6].starts_with(&summary), "{}", lines[6]);
        }
    }
}
