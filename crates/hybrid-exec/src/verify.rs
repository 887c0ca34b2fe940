//! `hybrid-exec verify`: a differential self-check. The CPU path (blst) against the
//! portable pure-Rust implementation, and the GPU against the CPU, on edge values and
//! random inputs at awkward sizes; for G1 and G2, MSM on the CPU against the `blst` crate's
//! own Pippenger and the GPU's MSM against both, and the GPU's batch operations against the
//! CPU's. Any difference is a failure.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use curve_bls12::Scalar;
use field_bls12::{cpu, portable, Fq, FqGpu, FqProgram};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vk_backend::Context;

use crate::curve::{BatchOp, Group, G1, G2};
use crate::measure;

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

/// One comparison: its name, what it compared and how many of those differed.
struct Check {
    name: String,
    /// `Fq`, `G1` or `G2`, for the summary.
    group: &'static str,
    mismatches: usize,
    /// Results compared, in `unit`s.
    len: usize,
    unit: &'static str,
    /// Elements or points in the inputs, for the summary.
    inputs: usize,
}

fn compare(name: String, got: &[Fq], want: &[Fq]) -> Check {
    let mismatches = if got.len() == want.len() {
        got.iter().zip(want).filter(|(x, y)| x != y).count()
    } else {
        want.len().max(1)
    };
    Check {
        name,
        group: "Fq",
        mismatches,
        len: want.len(),
        unit: "elements",
        inputs: want.len(),
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

/// What `verify` covers beyond its defaults.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct VerifyOptions {
    /// Also G1 MSM at [`LARGE_G1_MSM`] points.
    pub(crate) large: bool,
    /// No batch or MSM above this many elements or points (`None`: every size).
    pub(crate) max_size: Option<usize>,
}

impl VerifyOptions {
    fn allows(&self, n: usize) -> bool {
        self.max_size.is_none_or(|m| n <= m)
    }
}

/// Runs every check; returns whether all passed. `gpu` is `None` without a device; the
/// curve checks build their GPU kernels on its context.
pub(crate) fn run(gpu: Option<&FqGpu>, opts: &VerifyOptions) -> Result<bool> {
    let started = Instant::now();
    let mut checks = Vec::new();
    for (k, &n) in SIZES.iter().enumerate() {
        if !opts.allows(n) {
            continue;
        }
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
                            group: "Fq",
                            mismatches: n.max(1),
                            len: n,
                            unit: "elements",
                            inputs: n,
                        });
                    }
                }
            }
        }
    }
    let ctx = gpu.map(|g| Arc::clone(g.context()));
    curve_checks::<G1>(ctx.clone(), opts, &mut checks);
    curve_checks::<G2>(ctx.clone(), opts, &mut checks);
    if let Some(ctx) = ctx {
        f32_checks(ctx, opts, &mut checks);
    }

    let failed: Vec<&Check> = checks.iter().filter(|c| c.mismatches > 0).collect();
    for c in &failed {
        println!(
            "MISMATCH {}: {} of {} {} differ",
            c.name, c.mismatches, c.len, c.unit
        );
    }
    let inputs: usize = checks.iter().map(|c| c.inputs).sum();
    let per_group = ["Fq", "G1", "G2", "f32"]
        .iter()
        .map(|g| format!("{} {g}", checks.iter().filter(|c| c.group == *g).count()))
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "verify: {} checks ({per_group}) over {inputs} elements and points, {} failed, {:.1} s{}",
        checks.len(),
        failed.len(),
        started.elapsed().as_secs_f64(),
        if gpu.is_none() {
            " (CPU only: no GPU)"
        } else {
            ""
        }
    );
    let largest = SIZES
        .iter()
        .chain(&MSM_SIZES)
        .chain(opts.large.then_some(&LARGE_G1_MSM))
        .max();
    if let Some(m) = opts.max_size.filter(|m| Some(m) < largest) {
        println!("verify: batches and MSMs above {m} elements or points skipped (--max-size)");
    }
    Ok(failed.is_empty())
}

/// Sizes of the f32 checks (past a workgroup, a reduction block and two levels of them).
const F32_SIZES: [usize; 6] = [1, 3, 65, 1025, 65_537, (1 << 20) + 3];
/// Matrix products of the f32 checks (m, k, n), each compared at up to 4096 entries.
const F32_MATMULS: [(usize, usize, usize); 5] = [
    (65, 33, 63),
    (257, 1000, 129),
    (1000, 1000, 1000),
    (1030, 77, 1025),
    (4096, 4096, 4096),
];

/// The GPU's f32 operations (`f32_ops::F32Gpu`) against the CPU reference, bit for bit
/// where the operation is exact (add, ReLU), and against f64 arithmetic within the stated
/// bounds elsewhere (sigmoid, GELU, softmax, dot product, matrix product).
fn f32_checks(ctx: Arc<vk_backend::Context>, opts: &VerifyOptions, checks: &mut Vec<Check>) {
    use f32_ops::cpu::{self as f32_cpu, activation_bound, softmax_bound, sum_bound};
    use f32_ops::F32Gpu;
    const FLUSH: f64 = f32_cpu::DENORMAL_FLUSH;
    let gpu = match F32Gpu::new(ctx) {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("FAIL f32 GPU kernels: {e}");
            checks.push(elements_check("f32 GPU kernels".into(), "f32", 1, 1));
            return;
        }
    };
    let values = |n: usize, seed: u64| -> Vec<f32> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..n).map(|_| rng.gen_range(-12.0f32..12.0)).collect()
    };
    // Mismatches of `got` against `want(i)` by `close(got, want, i)`, or all on a failure.
    let mut check = |name: String,
                     n: usize,
                     got: Result<Vec<f32>, f32_ops::F32Error>,
                     ok: &dyn Fn(usize, f32) -> bool| {
        let mismatches = match outcome(&name, got) {
            Some(got) if got.len() == n => (0..n).filter(|&i| !ok(i, got[i])).count(),
            _ => n.max(1),
        };
        checks.push(elements_check(name, "f32", mismatches, n));
    };
    for (k, &n) in F32_SIZES.iter().enumerate() {
        if !opts.allows(n) {
            continue;
        }
        let (a, b) = (values(n, 700 + 2 * k as u64), values(n, 701 + 2 * k as u64));
        let sum = f32_cpu::add(&a, &b).unwrap_or_default();
        check(
            format!("f32 gpu add vs cpu, n = {n}"),
            n,
            gpu.add(&a, &b),
            &|i, g| g.to_bits() == sum[i].to_bits(),
        );
        let relu = f32_cpu::relu(&a);
        check(
            format!("f32 gpu relu vs cpu, n = {n}"),
            n,
            gpu.relu(&a),
            &|i, g| g.to_bits() == relu[i].to_bits(),
        );
        let x = |i: usize| f64::from(a[i]);
        let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
        check(
            format!("f32 gpu sigmoid vs f64, n = {n}"),
            n,
            gpu.sigmoid(&a),
            &|i, g| {
                let want = sigmoid(x(i));
                (f64::from(g) - want).abs() <= activation_bound(x(i)) * want + FLUSH
            },
        );
        check(
            format!("f32 gpu gelu vs f64, n = {n}"),
            n,
            gpu.gelu(&a),
            &|i, g| {
                let t = f64::from(1.595_769_2f32) * (x(i) + f64::from(0.044_715f32) * x(i).powi(3));
                let want = x(i) * sigmoid(t);
                (f64::from(g) - want).abs()
                    <= activation_bound(t) * want.abs() + (1.0 + x(i).abs()) * FLUSH
            },
        );
        let m = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let d: Vec<f64> = a.iter().map(|&v| f64::from(v) - f64::from(m)).collect();
        let total: f64 = d.iter().map(|d| d.exp()).sum();
        let max_d = d.iter().fold(0.0f64, |acc, d| acc.max(d.abs()));
        check(
            format!("f32 gpu softmax vs f64, n = {n}"),
            n,
            gpu.softmax(&a),
            &|i, g| {
                let want = d[i].exp() / total;
                (f64::from(g) - want).abs() <= softmax_bound(d[i], max_d, n) * want + FLUSH
            },
        );
        let (exact, abs) = f32_cpu::dot_f64(&a, &b);
        check(
            format!("f32 gpu dot vs f64, n = {n}"),
            1,
            gpu.dot(&a, &b).map(|v| vec![v]),
            &|_, g| (f64::from(g) - exact).abs() <= sum_bound(n, abs),
        );
    }
    for (k, &(m, kk, n)) in F32_MATMULS.iter().enumerate() {
        if !opts.allows(m * n) {
            continue;
        }
        let (a, b) = (
            values(m * kk, 800 + k as u64),
            values(kk * n, 900 + k as u64),
        );
        let stride = (m * n).div_ceil(4096);
        // The f32 product, and the f16 one on the matrix units where the device has them.
        let products: [(&str, MatmulFn, BoundFn); 2] = [
            ("matmul", F32Gpu::matmul, |k, abs, _| sum_bound(k, abs)),
            ("matmul_f16", F32Gpu::matmul_f16, f32_cpu::f16_product_bound),
        ];
        for (op, run, bound) in products {
            if op == "matmul_f16" && !gpu.has_f16_matmul() {
                continue;
            }
            let name = format!("f32 gpu {op} vs f64, {m} x {kk} x {n} (every {stride}th entry)");
            let mismatches = match outcome(&name, run(&gpu, &a, &b, m, kk, n)) {
                Some(c) if c.len() == m * n => (0..m * n)
                    .step_by(stride)
                    .filter(|&e| {
                        let (exact, abs, inputs) =
                            f32_cpu::matmul_entry_f64(&a, &b, kk, n, e / n, e % n);
                        (f64::from(c[e]) - exact).abs() > bound(kk, abs, inputs)
                    })
                    .count(),
                _ => (m * n).div_ceil(stride),
            };
            checks.push(elements_check(
                name,
                "f32",
                mismatches,
                (m * n).div_ceil(stride),
            ));
        }
    }
    if !gpu.has_f16_matmul() {
        println!("verify: the device offers no f16 matrix products: matmul_f16 not checked");
    }
}

/// An error bound of a matrix product's element: (terms, sum of |a_i b_i|, sum of |a_i| +
/// |b_i|) to the largest error allowed.
type BoundFn = fn(usize, f64, f64) -> f64;

/// A matrix product of [`f32_ops::F32Gpu`].
type MatmulFn = fn(
    &f32_ops::F32Gpu,
    &[f32],
    &[f32],
    usize,
    usize,
    usize,
) -> Result<Vec<f32>, f32_ops::F32Error>;

/// MSM sizes: the issue's edge table (one, a few, around 32 and 256, and past the
/// workgroup and chunk sizes).
const MSM_SIZES: [usize; 11] = [1, 2, 3, 31, 32, 33, 255, 257, 1000, 4097, (1 << 16) + 1];
/// The G1 MSM that `--large` adds.
const LARGE_G1_MSM: usize = 1 << 20;
/// Sizes of the GPU batch operations compared with the CPU's.
const CURVE_BATCH_SIZES: [usize; 3] = [1, 65, 1000];
/// MSMs per call of the GPU's MSM batches compared with the CPU's: a few (132 points, for
/// a software device), then below and above the number whose window sums the host
/// combines on 16 cores (256 in G1, 640 in G2).
const MSM_BATCH_CALLS: [usize; 3] = [6, 64, 700];
/// Their sizes, in turn (the issue's awkward ones; the empty MSM among them).
const MSM_BATCH_SIZES: [usize; 8] = [0, 1, 3, 31, 33, 64, 128, 257];
/// Bases of the fixed-base checks over precomputed multiples, and scalar sets per call.
const FIXED_MSM_SIZES: [usize; 4] = [1, 3, 33, 4097];
const FIXED_MSM_SETS: usize = 3;
/// Points of the MSMs with every scalar equal (one bucket of each window holds them all),
/// and of the repeated runs.
const CROWDED_MSM: usize = 4097;
/// GPU MSM runs after the first, each compared with it.
const REPEATS: usize = 3;

/// `r`, the order of the prime-order subgroups, big-endian.
const R_HEX: &str = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";

/// The edge scalars: 0, 1, r-1, r, r+1, 2^255-1, 2^256-1.
fn edge_scalars() -> [Scalar; 7] {
    let mut r = [0u8; 32];
    for (i, byte) in r.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&R_HEX[2 * i..2 * i + 2], 16).expect("hex digits");
    }
    // r ends in 0x01: r - 1 and r + 1 change its last byte alone.
    let (mut r_minus, mut r_plus) = (r, r);
    r_minus[31] -= 1;
    r_plus[31] += 1;
    let mut half = [0xff; 32];
    half[0] = 0x7f;
    [
        Scalar::ZERO,
        Scalar::ONE,
        Scalar::from_be_bytes(r_minus),
        Scalar::from_be_bytes(r),
        Scalar::from_be_bytes(r_plus),
        Scalar::from_be_bytes(half),
        Scalar::from_be_bytes([0xff; 32]),
    ]
}

/// MSM bases for `n` points: random ones, with the edge points first (P, -P, P again, the
/// identity; rotated by `n` so that the small sizes meet different ones) and P again at
/// every third position after them.
fn msm_bases<C: Group>(n: usize, seed: u64) -> Vec<C::Affine> {
    let mut points = measure::random_points::<C>(n + 1, seed);
    let p = points.pop().expect("n + 1 points");
    let edges = [p, C::neg(&p), p, C::identity()];
    for (i, point) in points.iter_mut().enumerate() {
        if i < edges.len() {
            *point = edges[(i + n) % edges.len()];
        } else if i % 3 == 0 {
            *point = p;
        }
    }
    points
}

/// MSM scalars for `n` points: the edge scalars at the even positions (rotated by `n`),
/// random 256-bit ones at the odd.
fn msm_scalars(n: usize, seed: u64) -> Vec<Scalar> {
    let edges = edge_scalars();
    let mut k = measure::random_scalars(n, seed);
    for (i, k) in k.iter_mut().enumerate().step_by(2) {
        *k = edges[(i / 2 + n) % edges.len()];
    }
    k
}

/// `Some` of an outcome, or `None` after a `FAIL` line naming what failed and why.
fn outcome<T, E: std::fmt::Display>(what: &str, r: Result<T, E>) -> Option<T> {
    r.map_err(|e| println!("FAIL {what}: {e}")).ok()
}

/// One comparison of two MSM results, as encoded affine points; a missing side (it failed,
/// and said so) is a mismatch.
fn sum_check(
    group: &'static str,
    name: String,
    n: usize,
    got: Option<&Vec<u8>>,
    want: Option<&Vec<u8>>,
) -> Check {
    let same = matches!((got, want), (Some(g), Some(w)) if g == w);
    Check {
        name,
        group,
        mismatches: usize::from(!same),
        len: 1,
        unit: "sums",
        inputs: n,
    }
}

/// An element-by-element comparison of `n` elements with `mismatches` differing.
fn elements_check(name: String, group: &'static str, mismatches: usize, n: usize) -> Check {
    Check {
        name,
        group,
        mismatches,
        len: n,
        unit: "elements",
        inputs: n,
    }
}

/// The curve checks of one group: MSM on the CPU against the `blst` crate's own Pippenger
/// and, with a GPU, the GPU's MSM against both, at every size in [`MSM_SIZES`] (and
/// [`LARGE_G1_MSM`] with `--large`), with every scalar equal, and repeated; the GPU's batch
/// operations against the CPU's. A GPU whose kernels do not build is a failure.
fn curve_checks<C: Group>(
    ctx: Option<Arc<Context>>,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) {
    let g = C::NAME;
    let gpu = match ctx.map(C::new_gpu) {
        None => None,
        Some(Ok(gpu)) => Some(gpu),
        Some(Err(e)) => {
            println!("FAIL {g} GPU kernels: {e}");
            checks.push(sum_check(g, format!("{g} GPU kernels"), 0, None, None));
            None
        }
    };
    let large = opts.large && g == "G1";
    let sizes = MSM_SIZES
        .iter()
        .copied()
        .chain(large.then_some(LARGE_G1_MSM))
        .filter(|&n| opts.allows(n));
    let encoded = |r: Option<C::Projective>| r.map(|p| C::encode_one(&p));
    // One MSM on every route, compared as encoded affine points.
    let mut msm = |label: &str, points: &[C::Affine], k: &[Scalar]| {
        let n = points.len();
        let what = |who: &str| format!("{g} msm {who}, n = {n}{label}");
        let cpu = encoded(outcome(&what("cpu"), C::cpu_msm(points, k)));
        let peer = encoded(outcome(&what(C::PEER), C::peer_msm(points, k)));
        checks.push(sum_check(
            g,
            what(&format!("cpu vs {}", C::PEER)),
            n,
            cpu.as_ref(),
            peer.as_ref(),
        ));
        let Some(gpu) = &gpu else {
            return None;
        };
        let on_gpu = encoded(outcome(&what("gpu"), C::gpu_msm(gpu, points, k)));
        checks.push(sum_check(
            g,
            what("gpu vs cpu"),
            n,
            on_gpu.as_ref(),
            cpu.as_ref(),
        ));
        checks.push(sum_check(
            g,
            what(&format!("gpu vs {}", C::PEER)),
            n,
            on_gpu.as_ref(),
            peer.as_ref(),
        ));
        on_gpu
    };
    for (i, n) in sizes.enumerate() {
        let seed = 100 + i as u64;
        msm("", &msm_bases::<C>(n, seed), &msm_scalars(n, seed));
    }
    // Every scalar equal: each window's digits all fall in one bucket.
    let crowded = opts.max_size.map_or(CROWDED_MSM, |m| m.min(CROWDED_MSM));
    let points = msm_bases::<C>(crowded, 200);
    let random = measure::random_scalars(1, 201)[0];
    for (label, k) in [
        ("5", Scalar::from_u64(5)),
        ("0", Scalar::ZERO),
        ("2^256-1", Scalar::from_be_bytes([0xff; 32])),
        ("random", random),
    ] {
        msm(
            &format!(", every scalar {label}"),
            &points,
            &vec![k; crowded],
        );
    }
    // The same MSM again: the same sum every time.
    let k = msm_scalars(crowded, 202);
    let first = msm(", repeated", &points, &k);
    let Some(gpu) = &gpu else {
        return;
    };
    let differ = (0..REPEATS)
        .filter(|_| {
            let again = encoded(outcome(
                &format!("{g} msm gpu rerun, n = {crowded}"),
                C::gpu_msm(gpu, &points, &k),
            ));
            first.is_none() || again != first
        })
        .count();
    checks.push(Check {
        name: format!("{g} msm gpu reruns vs the first run, n = {crowded}"),
        group: g,
        mismatches: differ,
        len: REPEATS,
        unit: "runs",
        inputs: REPEATS * crowded,
    });
    // Batches of MSMs of the edge sizes (on the host's Horner and, with more MSMs than it
    // takes, the device's), every sum against the CPU's MSM of that call alone; and the
    // checked form (`msm_batch_checked`), whose flags must be the CPU's subgroup checks
    // and whose sums, for the calls in the subgroup, the same.
    let outside = C::not_in_subgroup();
    for (i, &msms) in MSM_BATCH_CALLS.iter().enumerate() {
        let sizes: Vec<usize> = (0..msms)
            .map(|m| MSM_BATCH_SIZES[m % MSM_BATCH_SIZES.len()])
            .collect();
        let pairs: usize = sizes.iter().sum();
        if !opts.allows(pairs) {
            continue;
        }
        let seed = 400 + 2 * i as u64;
        let mut points = msm_bases::<C>(pairs, seed);
        let k = msm_scalars(pairs, seed + 1);
        let mut calls: Vec<(&[C::Affine], &[Scalar])> = Vec::with_capacity(msms);
        // Every seventh call with points gets one point outside the subgroup.
        let mut start = 0;
        for (m, &n) in sizes.iter().enumerate() {
            if n > 0 && m % 7 == 3 {
                points[start + n / 2] = outside;
            }
            start += n;
        }
        let mut start = 0;
        for &n in &sizes {
            calls.push((&points[start..start + n], &k[start..start + n]));
            start += n;
        }
        let want: Vec<Option<Vec<u8>>> = calls
            .iter()
            .map(|(p, k)| encoded(C::cpu_msm(p, k).ok()))
            .collect();
        let inside: Vec<bool> = calls
            .iter()
            .map(|(p, _)| C::cpu_check_subgroup(p).is_ok())
            .collect();
        let what = format!("{g} gpu msm_batch vs cpu one by one, {msms} msms, {pairs} points");
        let mismatches = match outcome(&what, C::gpu_msm_batch(gpu, &calls)) {
            Some(got) if got.len() == msms => got
                .iter()
                .zip(&want)
                .filter(|(s, w)| encoded(Some(**s)) != **w)
                .count(),
            _ => msms,
        };
        checks.push(elements_check(what, g, mismatches, msms));
        let what = format!(
            "{g} gpu msm_batch_checked vs cpu (flags, and sums in the subgroup), {msms} msms"
        );
        let mismatches = match outcome(&what, C::gpu_msm_batch_checked(gpu, &calls)) {
            Some((got, flags)) if got.len() == msms && flags.len() == msms => (0..msms)
                .filter(|&m| {
                    flags[m] != inside[m] || (inside[m] && encoded(Some(got[m])) != want[m])
                })
                .count(),
            _ => msms,
        };
        checks.push(elements_check(what, g, mismatches, msms));
    }
    // Fixed-base MSMs over precomputed multiples (the edge points among the bases, the edge
    // scalars among each set's), every sum against the CPU's MSM of its set.
    for (i, &n) in FIXED_MSM_SIZES.iter().enumerate() {
        if !opts.allows(n * FIXED_MSM_SETS) {
            continue;
        }
        let seed = 500 + 2 * i as u64;
        let points = msm_bases::<C>(n, seed);
        let k = msm_scalars(n * FIXED_MSM_SETS, seed + 1);
        let sets: Vec<&[Scalar]> = k.chunks(n).collect();
        let what =
            format!("{g} gpu msm_fixed over multiples vs cpu, {FIXED_MSM_SETS} msms of {n} points");
        let mismatches = match outcome(&what, C::gpu_msm_fixed_multiples(gpu, &points, &sets)) {
            Some(got) if got.len() == sets.len() => got
                .iter()
                .zip(&sets)
                .filter(|(s, k)| encoded(Some(**s)) != encoded(C::cpu_msm(&points, k).ok()))
                .count(),
            _ => sets.len(),
        };
        checks.push(elements_check(what, g, mismatches, sets.len()));
    }
    // Batch operations, element by element: P + P, P + (-P) and the identity among them.
    for (i, &n) in CURVE_BATCH_SIZES.iter().enumerate() {
        if !opts.allows(n) {
            continue;
        }
        let seed = 300 + 2 * i as u64;
        let bases = msm_bases::<C>(n, seed);
        let others = measure::random_points::<C>(n, seed + 1);
        let a: Vec<C::Projective> = bases.iter().map(C::to_projective).collect();
        let b: Vec<C::Projective> = (0..n)
            .map(|j| {
                C::to_projective(&match j % 4 {
                    0 => bases[j],
                    1 => C::neg(&bases[j]),
                    2 => C::identity(),
                    _ => others[j],
                })
            })
            .collect();
        let k = msm_scalars(n, seed + 1);
        for op in BatchOp::ALL {
            let what = format!("{g} gpu {} vs cpu, n = {n}", op.name());
            let want = outcome(
                &format!("{g} cpu {}", op.name()),
                C::cpu_batch(op, &a, &b, &k),
            );
            let got = outcome(&what, C::gpu_batch(gpu, op, &a, &b, &k));
            let mismatches = match (got, want) {
                (Some(got), Some(want)) if got.len() == want.len() => {
                    let (got, want) = (C::encode_all(&got), C::encode_all(&want));
                    got.iter().zip(&want).filter(|(x, y)| x != y).count()
                }
                _ => n.max(1),
            };
            checks.push(elements_check(what, g, mismatches, n));
        }
        // Affine forms: the same coordinates, bit for bit (every fourth point of `b` is the
        // identity).
        let what = format!("{g} gpu to_affine vs cpu, n = {n}");
        let mismatches = match outcome(&what, C::gpu_to_affine(gpu, &b)) {
            Some(got) if got.len() == n => {
                let want = C::to_affine(&b);
                got.iter()
                    .zip(&want)
                    .filter(|(x, y)| C::encode(x) != C::encode(y))
                    .count()
            }
            _ => n.max(1),
        };
        checks.push(elements_check(what, g, mismatches, n));
        // Subgroup checks: all inside, then points outside at a few places; the GPU must
        // name the first one as the CPU does.
        let outside = C::not_in_subgroup();
        let mut points = C::to_affine(&b);
        let mut cases = vec![(String::from("all inside"), points.clone())];
        for at in [n / 2, n - 1, 0] {
            points[at] = outside;
            cases.push((format!("outside from {at}"), points.clone()));
        }
        for (label, points) in cases {
            let what = format!("{g} gpu check_subgroup vs cpu, n = {n}, {label}");
            let want = C::cpu_check_subgroup(&points).map_err(|e| e.to_string());
            let got = C::gpu_check_subgroup(gpu, &points).map_err(|e| match e {
                curve_bls12::GpuError::Curve(e) => e.to_string(),
                other => format!("GPU failure: {other}"),
            });
            if got != want {
                println!("FAIL {what}: GPU {got:?}, CPU {want:?}");
            }
            checks.push(Check {
                name: what,
                group: g,
                mismatches: usize::from(got != want),
                len: 1,
                unit: "batches",
                inputs: n,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve_bls12::{G1Affine, G1Projective};
    use vk_backend::test_support::test_context;
    use vk_backend::{Error, FaultStage};

    #[test]
    fn edge_scalars_are_the_issue_values() {
        let [zero, one, r_minus, r, r_plus, half, max] = edge_scalars();
        let g = G1Projective::generator();
        assert!(zero.is_zero() && one == Scalar::ONE);
        assert_eq!(r.to_be_bytes()[..4], [0x73, 0xed, 0xa7, 0x53]);
        assert!(g.mul(&r).is_identity(), "r is the group order");
        assert_eq!(g.mul(&r_plus), g);
        assert_eq!(g.mul(&r_minus), g.neg());
        assert_eq!(half.to_be_bytes()[0], 0x7f);
        assert_eq!(max.to_le_bytes(), [0xff; 32]);
    }

    #[test]
    fn msm_inputs_hold_the_edge_cases() {
        let points = msm_bases::<G1>(33, 1);
        let p = points[6]; // every third point after the edges is P
        let count = |q: G1Affine| points.iter().filter(|x| **x == q).count();
        assert_eq!(count(G1Affine::identity()), 1);
        assert_eq!(count(p.neg()), 1);
        assert!(count(p) > 10, "P repeated");
        let k = msm_scalars(33, 1);
        for e in edge_scalars() {
            assert!(k.contains(&e), "{e:?}");
        }
        assert_eq!(msm_bases::<G1>(1000, 1), msm_bases::<G1>(1000, 1));
        assert_ne!(msm_scalars(10, 1)[1], msm_scalars(10, 2)[1]);
    }

    #[test]
    fn sums_compare_as_encodings() {
        let (a, b) = (vec![1u8], vec![2u8]);
        assert_eq!(
            sum_check("G1", "x".into(), 3, Some(&a), Some(&a)).mismatches,
            0
        );
        assert_eq!(
            sum_check("G1", "x".into(), 3, Some(&a), Some(&b)).mismatches,
            1
        );
        assert_eq!(sum_check("G1", "x".into(), 3, None, Some(&a)).mismatches, 1);
    }

    #[test]
    fn every_check_passes_on_the_test_device_at_small_sizes() {
        let Some(ctx) = test_context("verify::every_check_passes") else {
            return;
        };
        let fq = FqGpu::new(ctx.arc()).unwrap();
        // G2's GPU MSM is slow on lavapipe: 33 points at most.
        let opts = VerifyOptions {
            large: false,
            max_size: Some(33),
        };
        assert!(run(Some(&fq), &opts).unwrap());
        // G1 further: past 256 points (the CPU's tiled split, wider windows).
        let mut checks = Vec::new();
        let opts = VerifyOptions {
            large: true,
            max_size: Some(257),
        };
        curve_checks::<G1>(Some(ctx.arc()), &opts, &mut checks);
        assert!(checks.iter().all(|c| c.mismatches == 0));
        assert!(checks
            .iter()
            .any(|c| c.name == "G1 msm gpu vs cpu, n = 257"));
        assert!(checks
            .iter()
            .any(|c| c.name == "G1 gpu msm_fixed over multiples vs cpu, 3 msms of 33 points"));
        let batches: Vec<&str> = checks
            .iter()
            .map(|c| c.name.as_str())
            .filter(|n| n.starts_with("G1 gpu msm_batch"))
            .collect();
        assert_eq!(
            batches,
            [
                "G1 gpu msm_batch vs cpu one by one, 6 msms, 132 points",
                "G1 gpu msm_batch_checked vs cpu (flags, and sums in the subgroup), 6 msms"
            ]
        );
        drop(fq);
        ctx.assert_no_validation_messages();
    }

    #[test]
    fn the_f32_checks_pass_on_the_test_device() {
        let Some(ctx) = test_context("verify::the_f32_checks_pass_on_the_test_device") else {
            return;
        };
        let mut checks = Vec::new();
        let opts = VerifyOptions {
            large: false,
            max_size: Some(70_000),
        };
        f32_checks(ctx.arc(), &opts, &mut checks);
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(checks.len(), 5 * 6 + 2, "{names:?}");
        assert!(
            checks.iter().all(|c| c.mismatches == 0 && c.group == "f32"),
            "{names:?}"
        );
        assert!(names.contains(&"f32 gpu softmax vs f64, n = 65537"));
        assert!(names.contains(&"f32 gpu matmul vs f64, 257 x 1000 x 129 (every 9th entry)"));
        ctx.assert_no_validation_messages();
    }

    #[test]
    fn a_gpu_failure_is_a_failed_check() {
        let Some(ctx) = test_context("verify::a_gpu_failure_is_a_failed_check") else {
            return;
        };
        let mut checks = Vec::new();
        let opts = VerifyOptions {
            large: false,
            max_size: Some(1),
        };
        ctx.inject_fault(
            FaultStage::Compute,
            Error::OutOfDeviceMemory { call: "injected" },
        );
        curve_checks::<G1>(Some(ctx.arc()), &opts, &mut checks);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| c.mismatches > 0)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            failed,
            [
                "G1 msm gpu vs cpu, n = 1",
                "G1 msm gpu vs blst p1_affines::mult, n = 1"
            ]
        );
        // Without a device: the CPU against blst only.
        let mut cpu_only = Vec::new();
        curve_checks::<G1>(None, &opts, &mut cpu_only);
        assert!(cpu_only
            .iter()
            .all(|c| c.mismatches == 0 && c.name.contains("cpu vs")));
        ctx.assert_no_validation_messages();
    }
}
