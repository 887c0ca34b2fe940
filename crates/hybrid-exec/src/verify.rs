//! `hybrid-exec verify`: a differential self-check. The CPU path (blst) against the
//! portable pure-Rust implementation, and the GPU against the CPU, on edge values and
//! random inputs at awkward sizes; any difference is a failure.

use anyhow::Result;
use field_bls12::{cpu, portable, Fq, FqGpu, FqProgram};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Batch sizes around workgroup and chunk boundaries.
const SIZES: [usize; 7] = [0, 1, 63, 65, 257, 1000, 65537];

/// Edge values first (0, 1, p-1, p-2, and their neighbours), then seeded random ones.
pub(crate) fn inputs(n: usize, seed: u64) -> Vec<Fq> {
    let p_minus = |k: u64| {
        let mut l = Fq::MODULUS;
        l[0] -= k; // the low limb of p is 0x...aaab: no borrow for small k
        Fq::from_limbs(l).expect("below p")
    };
    let edges = [
        Fq::ZERO,
        Fq::ONE,
        p_minus(1),
        p_minus(2),
        Fq::from_u64(2),
        p_minus(3),
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            edges
                .get((i + seed as usize) % 11)
                .copied()
                .unwrap_or_else(|| Fq::random(&mut rng))
        })
        .collect()
}

/// One comparison: its name and how many elements differed.
struct Check {
    name: String,
    mismatches: usize,
    len: usize,
}

fn compare(name: String, got: &[Fq], want: &[Fq]) -> Check {
    let mismatches = if got.len() == want.len() {
        got.iter().zip(want).filter(|(x, y)| x != y).count()
    } else {
        want.len().max(1)
    };
    Check {
        name,
        mismatches,
        len: want.len(),
    }
}

/// The programs checked on the GPU: every element-wise operation, and a 10-op chain.
pub(crate) fn programs() -> Result<Vec<(&'static str, FqProgram)>> {
    use hybrid_exec::jobs::{chain10, two_input};
    Ok(vec![
        ("add", two_input(|p, a, b| p.add(a, b))?),
        ("sub", two_input(|p, a, b| p.sub(a, b))?),
        ("mul", two_input(|p, a, b| p.mul(a, b))?),
        ("square", two_input(|p, a, _| p.square(a))?),
        ("neg", two_input(|p, a, _| p.neg(a))?),
        ("double", two_input(|p, a, _| p.double(a))?),
        ("chain10", chain10()?),
    ])
}

/// Runs every check; returns whether all passed. `gpu` is `None` without a device.
pub(crate) fn run(gpu: Option<&FqGpu>) -> Result<bool> {
    let mut checks = Vec::new();
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = (inputs(n, 2 * k as u64), inputs(n, 2 * k as u64 + 1));
        // CPU (blst) against the portable implementation, element by element.
        let portable_ops: [(&str, Vec<Fq>, Vec<Fq>); 4] = [
            (
                "add",
                cpu::add(&a, &b)?,
                a.iter().zip(&b).map(|(x, y)| portable::add(x, y)).collect(),
            ),
            (
                "sub",
                cpu::sub(&a, &b)?,
                a.iter().zip(&b).map(|(x, y)| portable::sub(x, y)).collect(),
            ),
            (
                "mul",
                cpu::mul(&a, &b)?,
                a.iter().zip(&b).map(|(x, y)| portable::mul(x, y)).collect(),
            ),
            (
                "square",
                cpu::square(&a)?,
                a.iter().map(portable::square).collect(),
            ),
        ];
        for (op, got, want) in portable_ops {
            checks.push(compare(
                format!("cpu {op} vs portable, n = {n}"),
                &got,
                &want,
            ));
        }
        if let Some(gpu) = gpu {
            for (op, program) in programs()? {
                let ins: Vec<&[Fq]> = [&a[..], &b[..]][..program.inputs()].to_vec();
                let want = program.run_cpu(&ins)?;
                match program.run_gpu(gpu, &ins) {
                    Ok(got) => {
                        checks.push(compare(format!("gpu {op} vs cpu, n = {n}"), &got, &want))
                    }
                    Err(e) => {
                        println!("FAIL gpu {op}, n = {n}: {e}");
                        checks.push(Check {
                            name: format!("gpu {op}, n = {n}"),
                            mismatches: n.max(1),
                            len: n,
                        });
                    }
                }
            }
        }
    }
    let failed: Vec<&Check> = checks.iter().filter(|c| c.mismatches > 0).collect();
    for c in &failed {
        println!(
            "MISMATCH {}: {} of {} elements differ",
            c.name, c.mismatches, c.len
        );
    }
    let elements: usize = checks.iter().map(|c| c.len).sum();
    println!(
        "verify: {} checks over {elements} elements, {} failed{}",
        checks.len(),
        failed.len(),
        if gpu.is_none() {
            " (CPU only: no GPU)"
        } else {
            ""
        }
    );
    Ok(failed.is_empty())
}
