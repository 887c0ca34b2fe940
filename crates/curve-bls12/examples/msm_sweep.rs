//! Times GPU MSM (G1 and G2) against blst's multi-threaded Pippenger over sizes, window
//! widths and the other `MsmTuning` knobs, checking every GPU result against blst's: a
//! tuning aid for the defaults.
//! `cargo run --release --example msm_sweep -- [max log2 size]`; the figures of record come
//! from `hybrid-exec bench`. `msm_sweep phases` times each phase of the benchmark shapes
//! instead (one submission per phase, [`MsmTuning::profile`]).

use std::sync::Arc;
use std::time::Instant;

use curve_bls12::{
    batch, msm_window_bits, G1Gpu, G1Projective, G2Gpu, G2Projective, MsmTuning, Scalar,
};
use rand::{RngCore, SeedableRng};
use rayon::prelude::*;
use vk_backend::{Context, ContextConfig};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

macro_rules! sweep {
    ($name:literal, $gpu:expr, $Projective:ident, $batch:ident, $blst:ident, $table:ident,
     $bytes:literal, $logs:expr, $ctx:expr) => {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for log in $logs {
            let n = 1usize << log;
            let g = $Projective::generator();
            let proj: Vec<$Projective> = (0..n)
                .into_par_iter()
                .map(|i| g.mul(&Scalar::from_u64(i as u64 * 7919 + 1)))
                .collect();
            let points = batch::$batch::to_affine(&proj);
            let k: Vec<Scalar> = (0..n)
                .map(|_| {
                    let mut b = [0u8; 32];
                    rng.fill_bytes(&mut b);
                    Scalar::from_le_bytes(b)
                })
                .collect();
            let table = blst::$table::from(
                &points
                    .iter()
                    .map(|&p| blst::$blst::from($Projective::from(p)))
                    .collect::<Vec<_>>(),
            );
            let k_bytes: Vec<u8> = k.iter().flat_map(|s| s.to_le_bytes()).collect();
            let want = $Projective::try_from(table.mult(&k_bytes, 256)).expect("on the curve");
            let blst_ms = time_ms(3, || {
                std::hint::black_box(table.mult(&k_bytes, 256));
            });
            let auto = msm_window_bits(n, $bytes, $ctx.max_kernel_buffer_bytes());
            let mut cs: Vec<u32> = vec![
                auto.saturating_sub(2).max(2),
                auto.saturating_sub(1).max(2),
                auto,
                (auto + 1).min(16),
            ];
            cs.dedup();
            // Window widths around the chosen one, then the chunk and segment sizes at it.
            let mut tunings: Vec<MsmTuning> = cs
                .iter()
                .map(|&c| MsmTuning::default().with_window_bits(c))
                .collect();
            for chunk in [8, 16, 32, 64] {
                tunings.push(MsmTuning::default().with_window_bits(auto).with_chunk(chunk));
            }
            for segment in [8, 32, 64] {
                tunings.push(MsmTuning::default().with_window_bits(auto).with_segment(segment));
            }
            for t in tunings {
                let got = $gpu.msm_tuned(&points, &k, &t).expect("gpu msm");
                assert_eq!(got, want, "{} 2^{log} {t:?}: GPU != blst", $name);
                let ms = time_ms(5, || {
                    std::hint::black_box($gpu.msm_tuned(&points, &k, &t).unwrap());
                });
                println!(
                    "{} 2^{log:<2} c = {:2}{} chunk {:>4} segment {:3}: GPU {ms:9.2} ms, blst {blst_ms:9.2} ms, {:6.2}x",
                    $name,
                    t.window_bits.unwrap_or(auto),
                    if t == MsmTuning::default().with_window_bits(auto) { "*" } else { " " },
                    t.chunk.map_or("auto".to_owned(), |c| c.to_string()),
                    t.segment,
                    blst_ms / ms
                );
            }
        }
    };
}

/// Random full-width scalars.
fn scalars(n: usize, seed: u64) -> Vec<Scalar> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            Scalar::from_le_bytes(b)
        })
        .collect()
}

/// Prints the phases of `f`'s profiled MSM call (the median of 5 runs per phase) beside its
/// unprofiled time.
fn phases(label: &str, tuning: MsmTuning, mut f: impl FnMut(&MsmTuning)) {
    let plain = time_ms(5, || f(&tuning));
    let profiled = tuning.with_profile();
    f(&profiled);
    let runs: Vec<Vec<(&'static str, f64)>> = (0..5)
        .map(|_| {
            f(&profiled);
            curve_bls12::last_msm_phases()
                .into_iter()
                .map(|(name, d)| (name, d.as_secs_f64() * 1e3))
                .collect()
        })
        .collect();
    let cells: Vec<String> = (0..runs[0].len())
        .map(|i| {
            let ms = median(runs.iter().map(|r| r[i].1).collect());
            format!("{} {ms:.3}", runs[0][i].0)
        })
        .collect();
    println!("{label}: {plain:.3} ms; phases: {}", cells.join(", "));
}

macro_rules! phase_shapes {
    ($name:literal, $gpu:expr, $Projective:ident, $batch:ident, $logs:expr) => {
        let g = $Projective::generator();
        // Enough for every shape below (256 MSMs of 128 points, 4096 bases).
        let max = (1usize << $logs.iter().max().copied().unwrap_or(10)).max(1 << 15);
        let proj: Vec<$Projective> = (0..max)
            .into_par_iter()
            .map(|i| g.mul(&Scalar::from_u64(i as u64 * 7919 + 1)))
            .collect();
        let points = batch::$batch::to_affine(&proj);
        for &log in $logs {
            let n = 1usize << log;
            let k = scalars(n, u64::from(log));
            let d = MsmTuning::default();
            let tunings = [d, d.with_segment(8), d.with_first_segment(32)];
            for t in tunings {
                let label = format!(
                    "{} 2^{log} seg {} first {} chunk {}",
                    $name,
                    t.segment,
                    t.first_segment.map_or("auto".to_owned(), |s| s.to_string()),
                    t.chunk.map_or("auto".to_owned(), |c| c.to_string())
                );
                phases(&label, t, |t| {
                    $gpu.msm_tuned(&points[..n], &k, t).expect("gpu msm");
                });
            }
        }
        let k = scalars(4096 * 64, 7);
        let calls: Vec<_> = (0..4096)
            .map(|m| (&points[..64], &k[64 * m..64 * (m + 1)]))
            .collect();
        phases(
            &format!("{} 4096 MSMs of 64", $name),
            MsmTuning::default(),
            |t| {
                $gpu.msm_batch_tuned(&calls, t).expect("gpu msm batch");
            },
        );
        let k = scalars(256 * 128, 9);
        let calls: Vec<_> = (0..256)
            .map(|m| (&points[128 * m..128 * (m + 1)], &k[128 * m..128 * (m + 1)]))
            .collect();
        for (t, on) in [
            (MsmTuning::default().with_host_horner_msms(u32::MAX), "host"),
            (MsmTuning::default().with_host_horner_msms(0), "device"),
        ] {
            let label = format!(
                "{} 256 MSMs of 128, window sums combined on the {on}",
                $name
            );
            phases(&label, t, |t| {
                $gpu.msm_batch_tuned(&calls, t).expect("gpu msm batch");
            });
        }
        phases(
            &format!("{} 256 checked MSMs of 128", $name),
            MsmTuning::default(),
            |t| {
                $gpu.msm_batch_checked_tuned(&calls, t)
                    .expect("gpu msm batch");
            },
        );
        let widths: Vec<String> = (3..=9)
            .map(|c| {
                let t = MsmTuning::default().with_window_bits(c);
                let ms = time_ms(5, || {
                    $gpu.msm_batch_checked_tuned(&calls, &t)
                        .expect("gpu msm batch");
                });
                format!("c {c} {ms:.3}")
            })
            .collect();
        println!(
            "{} 256 checked MSMs of 128 by window width: {}",
            $name,
            widths.join(", ")
        );
        let bases = $gpu.upload_bases(&points[..4096]).expect("bases");
        let k = scalars(64 * 4096, 8);
        let sets: Vec<&[Scalar]> = k.chunks(4096).collect();
        phases(
            &format!("{} 64 fixed-base MSMs of 4096", $name),
            MsmTuning::default(),
            |t| {
                $gpu.msm_fixed_tuned(&bases, &sets, t)
                    .expect("gpu msm fixed");
            },
        );
    };
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    let ctx = Arc::new(Context::new(&ContextConfig::from_env()?)?);
    println!("device: {}", ctx.info().name);
    let g1 = G1Gpu::new(Arc::clone(&ctx))?;
    let g2 = G2Gpu::new(Arc::clone(&ctx))?;
    if arg.as_deref() == Some("phases") {
        // The largest first: the device's clocks have ramped up by the small sizes.
        let logs: &[u32] = if std::env::var("MSM_PHASES_SMALL").is_ok() {
            &[15, 10]
        } else {
            &[20, 16, 10]
        };
        phase_shapes!("G1", g1, G1Projective, g1, logs);
        phase_shapes!("G2", g2, G2Projective, g2, &logs[1..]);
        return Ok(());
    }
    let max_log: u32 = arg.map(|s| s.parse()).transpose()?.unwrap_or(16);
    let logs: Vec<u32> = [6u32, 10, 12, 16, 18, 20]
        .into_iter()
        .filter(|&l| l <= max_log)
        .collect();
    sweep!(
        "G1",
        g1,
        G1Projective,
        g1,
        blst_p1,
        p1_affines,
        144,
        logs.clone(),
        ctx
    );
    let logs2: Vec<u32> = logs.into_iter().filter(|&l| l <= 16).collect();
    sweep!(
        "G2",
        g2,
        G2Projective,
        g2,
        blst_p2,
        p2_affines,
        288,
        logs2,
        ctx
    );
    Ok(())
}
