//! The GPU's f32 operations against the CPU reference and against f64 arithmetic, on a
//! real driver with the validation layer on: the awkward sizes (0, 1, 3, 31, 33, 63, 65,
//! 257, 65537), edge values, the stated error bounds, and typed errors for bad shapes.
//! Needs a Vulkan device (lavapipe in CI); see vk_backend::test_support.

use f32_ops::cpu::{self, activation_bound, softmax_bound, sum_bound, DENORMAL_FLUSH};
use f32_ops::{F32Error, F32Gpu};
use rand::{Rng, SeedableRng};
use vk_backend::test_support::{test_context, TestContext};

const SIZES: [usize; 9] = [0, 1, 3, 31, 33, 63, 65, 257, 65537];

fn gpu(test: &str) -> Option<(TestContext, F32Gpu)> {
    let ctx = test_context(test)?;
    let gpu = F32Gpu::new(ctx.arc()).unwrap();
    Some((ctx, gpu))
}

/// `n` values: edge values first (zeros of both signs, one, the largest and smallest
/// normal magnitudes, values near exp's overflow), then uniform in [-range, range].
fn values(n: usize, range: f32, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let edges = [0.0, -0.0, 1.0, -1.0, range, -range, f32::MIN_POSITIVE, 0.5];
    (0..n)
        .map(|i| {
            edges
                .get(i)
                .copied()
                .unwrap_or_else(|| rng.gen_range(-range..=range))
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn add_and_relu_are_exact() {
    let Some((ctx, gpu)) = gpu("add_and_relu_are_exact") else {
        return;
    };
    for n in SIZES {
        let a = values(n, 1e30, n as u64);
        let b = values(n, 1e30, n as u64 + 1);
        assert_eq!(
            bits(&gpu.add(&a, &b).unwrap()),
            bits(&cpu::add(&a, &b).unwrap()),
            "add {n}"
        );
        let want: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(bits(&cpu::add(&a, &b).unwrap()), bits(&want), "cpu add {n}");
        let relu = gpu.relu(&a).unwrap();
        assert_eq!(bits(&relu), bits(&cpu::relu(&a)), "relu {n}");
        assert!(relu.iter().zip(&a).all(|(r, x)| *r == x.max(0.0)));
    }
    // Sums past the largest f32 round to infinity on both.
    let big = [f32::MAX, -f32::MAX];
    assert_eq!(
        gpu.add(&big, &big).unwrap(),
        vec![f32::INFINITY, f32::NEG_INFINITY]
    );
    assert!(matches!(
        gpu.add(&[1.0], &[]),
        Err(F32Error::LengthMismatch {
            op: "add",
            left: 1,
            right: 0
        })
    ));
    ctx.assert_no_validation_messages();
}

/// `got` against the f64 value `want` within `rel` relatively (and the denormal flush).
fn close(got: f32, want: f64, rel: f64) -> bool {
    close_abs(got, want, rel, DENORMAL_FLUSH)
}

/// `got` against `want` within `rel` relatively plus `abs`.
fn close_abs(got: f32, want: f64, rel: f64, abs: f64) -> bool {
    (f64::from(got) - want).abs() <= rel * want.abs() + abs
}

fn sigmoid64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn gelu_arg64(x: f64) -> f64 {
    // The f32 constants of the shader and the CPU reference, exactly.
    f64::from(1.595_769_2_f32) * (x + f64::from(0.044_715f32) * x * x * x)
}

#[test]
fn activations_are_within_their_bounds() {
    let Some((ctx, gpu)) = gpu("activations_are_within_their_bounds") else {
        return;
    };
    for n in SIZES {
        let mut a = values(n, 20.0, 100 + n as u64);
        if n > 10 {
            // Far out: e^-x overflows (sigmoid 0 or denormal) or vanishes.
            a[8] = -100.0;
            a[9] = 100.0;
        }
        for (name, got_gpu, got_cpu) in [
            ("sigmoid", gpu.sigmoid(&a).unwrap(), cpu::sigmoid(&a)),
            ("gelu", gpu.gelu(&a).unwrap(), cpu::gelu(&a)),
        ] {
            assert_eq!(got_gpu.len(), n);
            for (i, &x) in a.iter().enumerate() {
                let x = f64::from(x);
                let (want, t) = if name == "sigmoid" {
                    (sigmoid64(x), x)
                } else {
                    let t = gelu_arg64(x);
                    (x * sigmoid64(t), t)
                };
                let rel = activation_bound(t);
                // GELU multiplies a sigmoid that may have been flushed by x.
                let abs = (1.0 + x.abs()) * DENORMAL_FLUSH;
                assert!(
                    close_abs(got_gpu[i], want, rel, abs),
                    "{name}({x}): gpu {} vs {want}",
                    got_gpu[i]
                );
                assert!(
                    close_abs(got_cpu[i], want, rel, abs),
                    "{name}({x}): cpu {} vs {want}",
                    got_cpu[i]
                );
            }
        }
    }
    ctx.assert_no_validation_messages();
}

#[test]
fn softmax_is_within_its_bound() {
    let Some((ctx, gpu)) = gpu("softmax_is_within_its_bound") else {
        return;
    };
    for n in SIZES {
        let a = values(n, 30.0, 200 + n as u64);
        let got = gpu.softmax(&a).unwrap();
        let reference = cpu::softmax(&a);
        assert_eq!((got.len(), reference.len()), (n, n));
        if n == 0 {
            continue;
        }
        let m = a.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let d: Vec<f64> = a.iter().map(|&x| f64::from(x) - f64::from(m)).collect();
        let s: f64 = d.iter().map(|d| d.exp()).sum();
        let max_d = d.iter().fold(0.0f64, |acc, d| acc.max(d.abs()));
        for i in 0..n {
            let want = d[i].exp() / s;
            let rel = softmax_bound(d[i], max_d, n);
            assert!(
                close(got[i], want, rel),
                "softmax {n} [{i}]: gpu {} vs {want}",
                got[i]
            );
            assert!(
                close(reference[i], want, rel),
                "softmax {n} [{i}]: cpu {}",
                reference[i]
            );
        }
    }
    // Equal inputs: uniform; one input: 1.
    assert_eq!(gpu.softmax(&[7.0]).unwrap(), vec![1.0]);
    assert!(gpu
        .softmax(&[3.0; 4])
        .unwrap()
        .iter()
        .all(|&p| (p - 0.25).abs() < 1e-7));
    ctx.assert_no_validation_messages();
}

#[test]
fn dot_products_are_within_the_sum_bound() {
    let Some((ctx, gpu)) = gpu("dot_products_are_within_the_sum_bound") else {
        return;
    };
    for n in SIZES.into_iter().chain([1024, 1025, 1 << 20]) {
        let a = values(n, 3.0, 300 + n as u64);
        let b = values(n, 3.0, 400 + n as u64);
        let (exact, abs) = cpu::dot_f64(&a, &b);
        let bound = sum_bound(n, abs);
        let got = gpu.dot(&a, &b).unwrap();
        let reference = cpu::dot(&a, &b).unwrap();
        assert!(
            (f64::from(got) - exact).abs() <= bound,
            "dot {n}: gpu {got} vs {exact}"
        );
        assert!(
            (f64::from(reference) - exact).abs() <= bound,
            "dot {n}: cpu {reference}"
        );
    }
    assert!(matches!(
        gpu.dot(&[1.0, 2.0], &[1.0]),
        Err(F32Error::LengthMismatch {
            op: "dot",
            left: 2,
            right: 1
        })
    ));
    ctx.assert_no_validation_messages();
}

/// Checks every element of `got` (`m x n`) against the exact product of `a` and `b` within
/// `bound(k, sum of |a_i b_i|, sum of |a_i| + |b_i|)`.
fn check_product(
    what: &str,
    got: &[f32],
    a: &[f32],
    b: &[f32],
    (m, k, n): (usize, usize, usize),
    bound: impl Fn(usize, f64, f64) -> f64,
) {
    assert_eq!(got.len(), m * n, "{what} {m} x {k} x {n}");
    for i in 0..m {
        for j in 0..n {
            let (exact, abs, inputs) = cpu::matmul_entry_f64(a, b, k, n, i, j);
            let g = got[i * n + j];
            assert!(
                (f64::from(g) - exact).abs() <= bound(k, abs, inputs),
                "{what} {m} x {k} x {n} [{i},{j}]: {g} vs {exact}"
            );
        }
    }
}

/// Shapes of the matrix-product tests: edges of both tile sizes (64 and 128), k below,
/// at and past the steps of 8, 16 and 32, empty matrices; the last two run the f32
/// product's large tiles (256 or more 128 x 128 tiles of C), the one before them many
/// small ones.
const MATMUL_SHAPES: [(usize, usize, usize); 13] = [
    (1, 1, 1),
    (3, 5, 7),
    (1, 257, 1),
    (65, 33, 63),
    (64, 64, 64),
    (100, 17, 130),
    (31, 1, 65),
    (2, 0, 3),
    (0, 4, 5),
    (5, 4, 0),
    (1030, 9, 1025),
    (2048, 8, 2048),
    (2049, 17, 2050),
];

#[test]
fn matrix_products_are_within_the_sum_bound() {
    let Some((ctx, gpu)) = gpu("matrix_products_are_within_the_sum_bound") else {
        return;
    };
    for (m, k, n) in MATMUL_SHAPES {
        let a = values(m * k, 2.0, (m * 1000 + k) as u64);
        let b = values(k * n, 2.0, (k * 1000 + n) as u64);
        let shape = (m, k, n);
        let f32_bound = |k, abs, _| sum_bound(k, abs);
        check_product(
            "gpu",
            &gpu.matmul(&a, &b, m, k, n).unwrap(),
            &a,
            &b,
            shape,
            f32_bound,
        );
        check_product(
            "cpu",
            &cpu::matmul(&a, &b, m, k, n).unwrap(),
            &a,
            &b,
            shape,
            f32_bound,
        );
    }
    assert!(matches!(
        gpu.matmul(&[1.0; 6], &[1.0; 6], 2, 3, 3),
        Err(F32Error::MatrixShape {
            matrix: "B",
            rows: 3,
            cols: 3,
            expected: 9,
            got: 6
        })
    ));
    assert!(matches!(
        gpu.matmul(&[1.0; 5], &[1.0; 6], 2, 3, 2),
        Err(F32Error::MatrixShape { matrix: "A", .. })
    ));
    ctx.assert_no_validation_messages();
}

/// The f16 product on the matrix units where the device has them (NVIDIA; lavapipe has
/// none, and the test then checks the typed error and says it skipped the products).
#[test]
fn f16_matrix_products_are_within_their_bound_or_refused() {
    let Some((ctx, gpu)) = gpu("f16_matrix_products_are_within_their_bound_or_refused") else {
        return;
    };
    if !gpu.has_f16_matmul() {
        eprintln!(
            "f16_matrix_products_are_within_their_bound_or_refused: SKIPPED the products: \
             the device offers no f16 matrix products; checked the typed error only"
        );
        assert!(matches!(
            gpu.matmul_f16(&[1.0], &[1.0], 1, 1, 1),
            Err(F32Error::Unsupported {
                op: "matmul_f16",
                ..
            })
        ));
        ctx.assert_no_validation_messages();
        return;
    }
    for (m, k, n) in MATMUL_SHAPES {
        let a = values(m * k, 2.0, (m * 1000 + k) as u64);
        let b = values(k * n, 2.0, (k * 1000 + n) as u64);
        let got = gpu.matmul_f16(&a, &b, m, k, n).unwrap();
        check_product("f16", &got, &a, &b, (m, k, n), cpu::f16_product_bound);
        let (ra, rb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
        let resident = gpu.matmul_f16_resident(&ra, &rb, m, k, n).unwrap();
        assert_eq!(bits(&gpu.download(&resident).unwrap()), bits(&got));
    }
    assert!(matches!(
        gpu.matmul_f16(&[1.0; 6], &[1.0; 6], 2, 3, 3),
        Err(F32Error::MatrixShape { matrix: "B", .. })
    ));
    ctx.assert_no_validation_messages();
}

/// Resident vectors: uploaded once, chained on the device, read back; the same values as
/// the calls from slices (the same kernels), the awkward sizes, typed errors.
#[test]
fn resident_operations_chain_and_match_the_calls_from_slices() {
    let Some((ctx, gpu)) = gpu("resident_operations_chain_and_match_the_calls_from_slices") else {
        return;
    };
    for n in SIZES {
        let a = values(n, 5.0, 500 + n as u64);
        let b = values(n, 5.0, 600 + n as u64);
        let (ra, rb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
        assert_eq!((ra.len(), ra.is_empty()), (n, n == 0));
        assert_eq!(
            bits(&gpu.download(&ra).unwrap()),
            bits(&a),
            "round trip {n}"
        );
        let sum = gpu.add_resident(&ra, &rb).unwrap();
        let relu = gpu.relu_resident(&sum).unwrap();
        let want = cpu::relu(&cpu::add(&a, &b).unwrap());
        assert_eq!(
            bits(&gpu.download(&relu).unwrap()),
            bits(&want),
            "relu(a + b) {n}"
        );
        for (name, resident, host) in [
            (
                "sigmoid",
                gpu.sigmoid_resident(&ra).unwrap(),
                gpu.sigmoid(&a).unwrap(),
            ),
            (
                "gelu",
                gpu.gelu_resident(&ra).unwrap(),
                gpu.gelu(&a).unwrap(),
            ),
            (
                "softmax",
                gpu.softmax_resident(&ra).unwrap(),
                gpu.softmax(&a).unwrap(),
            ),
        ] {
            assert_eq!(
                bits(&gpu.download(&resident).unwrap()),
                bits(&host),
                "{name} {n}"
            );
        }
        assert_eq!(
            gpu.dot_resident(&ra, &rb).unwrap().to_bits(),
            gpu.dot(&a, &b).unwrap().to_bits(),
            "dot {n}"
        );
    }
    let (a, b) = (values(33 * 17, 2.0, 7), values(17 * 65, 2.0, 8));
    let (ra, rb) = (gpu.upload(&a).unwrap(), gpu.upload(&b).unwrap());
    let c = gpu.matmul_resident(&ra, &rb, 33, 17, 65).unwrap();
    assert_eq!(
        bits(&gpu.download(&c).unwrap()),
        bits(&gpu.matmul(&a, &b, 33, 17, 65).unwrap())
    );
    assert!(matches!(
        gpu.matmul_resident(&ra, &rb, 33, 17, 64),
        Err(F32Error::MatrixShape {
            matrix: "B",
            rows: 17,
            cols: 64,
            ..
        })
    ));
    let short = gpu.upload(&a[..10]).unwrap();
    assert!(matches!(
        gpu.add_resident(&ra, &short),
        Err(F32Error::LengthMismatch {
            op: "add",
            right: 10,
            ..
        })
    ));
    assert!(matches!(
        gpu.dot_resident(&short, &ra),
        Err(F32Error::LengthMismatch {
            op: "dot",
            left: 10,
            ..
        })
    ));
    drop((ra, rb, c, short, gpu));
    ctx.assert_no_validation_messages();
}

/// The multiply-add rate probe runs and gives a positive rate where the queue has
/// timestamps (lavapipe's has).
#[test]
fn the_multiply_add_rate_is_measured() {
    let Some((ctx, gpu)) = gpu("the_multiply_add_rate_is_measured") else {
        return;
    };
    let rate = gpu.fma_rate(4096, 64).unwrap();
    assert!(rate.is_none_or(|r| r.is_finite() && r > 0.0), "{rate:?}");
    ctx.assert_no_validation_messages();
}
