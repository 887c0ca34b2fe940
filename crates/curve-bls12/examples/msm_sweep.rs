//! Times GPU MSM (G1 and G2) against blst's multi-threaded Pippenger over sizes, window
//! widths and the other `MsmTuning` knobs, checking every GPU result against blst's: a
//! tuning aid for the defaults.
//! `cargo run --release --example msm_sweep -- [max log2 size]`; the figures of record come
//! from `hybrid-exec bench`.

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let max_log: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(16);
    let ctx = Arc::new(Context::new(&ContextConfig::from_env()?)?);
    println!("device: {}", ctx.info().name);
    let g1 = G1Gpu::new(Arc::clone(&ctx))?;
    let g2 = G2Gpu::new(Arc::clone(&ctx))?;
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
