//! `fq-explore`: the measurements behind design choices (where a round trip's time goes,
//! host write rates, wait policy, streamed-job settings, co-execution, kernel variants
//! from SPIR-V files). A development tool, not part of the product: it prints one line
//! per measurement and saves the same lines to a file, so a run on the GPU machine leaves
//! a record to cite.

mod explore;

use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "fq-explore",
    about = "Measurements behind the Fq stack's design choices (a development tool)"
)]
struct Cli {
    /// A directory of element-wise SPIR-V kernels named `add_*`, `mul_*` or `montmul_*` to
    /// time against the shipped ones.
    #[arg(long)]
    spv: Option<PathBuf>,
    /// Only time the kernel variants (from --spv).
    #[arg(long, group = "only")]
    only_kernels: bool,
    /// Only time streamed jobs from slices by copy queues and chunk size.
    #[arg(long, group = "only")]
    only_streams: bool,
    /// Only time co-execution on host vectors (shares, checks, memory ceilings).
    #[arg(long, group = "only")]
    only_coexec: bool,
    /// Only take apart the time of jobs from slices (fills, reads, page faults).
    #[arg(long, group = "only")]
    only_slices: bool,
    /// Only time jobs from slices run in place on imported pieces of the caller's memory
    /// (VK_EXT_external_memory_host), by piece size and thread count.
    #[arg(long, group = "only")]
    only_imports: bool,
    /// Only take apart a 1Ki add round trip: raw floors against the engine's steps.
    #[arg(long, group = "only")]
    only_round_trip: bool,
    /// Elements of the large jobs of the --only-* measurements (default 16Mi; fewer for a
    /// trial run on a slow device).
    #[arg(long)]
    elements: Option<usize>,
    /// Where to save the output [default: explore-out/DATE_TIME-MEASUREMENT.txt, UTC].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Writes to stdout and to the output file alike.
struct Tee {
    /// Line-buffered: a run stopped halfway keeps every line printed so far.
    file: LineWriter<File>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().write_all(buf)?;
        self.file.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()?;
        self.file.flush()
    }
}

fn main() -> ExitCode {
    match run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let measurement = if cli.only_kernels {
        "kernels"
    } else if cli.only_streams {
        "streams"
    } else if cli.only_coexec {
        "coexec"
    } else if cli.only_slices {
        "slices"
    } else if cli.only_imports {
        "imports"
    } else if cli.only_round_trip {
        "round-trip"
    } else {
        "all"
    };
    let now = time::OffsetDateTime::now_utc();
    let path = cli.out.clone().unwrap_or_else(|| {
        PathBuf::from("explore-out").join(format!(
            "{}T{:02}{:02}{:02}Z-{measurement}.txt",
            now.date(),
            now.hour(),
            now.minute(),
            now.second()
        ))
    });
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut log = Tee {
        file: LineWriter::new(file),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    writeln!(
        log,
        "fq-explore {}: {measurement}, {} {:02}:{:02} UTC",
        args.join(" "),
        now.date(),
        now.hour(),
        now.minute()
    )?;
    let result = match measurement {
        "streams" => explore::streams(&mut log, cli.elements),
        "coexec" => explore::coexec(&mut log, cli.elements),
        "slices" => explore::slices(&mut log, cli.elements),
        "imports" => explore::imports(&mut log, cli.elements),
        "round-trip" => explore::round_trip_steps(&mut log),
        _ => explore::run(&mut log, cli.spv.as_deref(), cli.only_kernels, cli.elements),
    };
    log.flush()?;
    println!("saved {}", path.display());
    result
}
