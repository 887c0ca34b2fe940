//! The CPU reference for every operation of [`F32Gpu`](crate::F32Gpu), on all cores
//! (rayon; the compiler vectorizes the inner loops), and the error bounds the GPU's results
//! are held to.

use rayon::prelude::*;

use crate::F32Error;

/// Elements per rayon task.
const CHUNK: usize = 1 << 14;

/// The unit roundoff of f32, 2^-24.
pub const UNIT_ROUNDOFF: f64 = 1.0 / (1u64 << 24) as f64;

/// The smallest normal f32: results below it may be flushed to zero by a device.
pub const DENORMAL_FLUSH: f64 = f32::MIN_POSITIVE as f64;

pub(crate) fn check_lengths(op: &'static str, a: &[f32], b: &[f32]) -> Result<(), F32Error> {
    check_len(op, a.len(), b.len())
}

/// Whether two inputs of `op` have the same length.
pub(crate) fn check_len(op: &'static str, left: usize, right: usize) -> Result<(), F32Error> {
    if left == right {
        Ok(())
    } else {
        Err(F32Error::LengthMismatch { op, left, right })
    }
}

/// `a + b`, element by element (exact: correctly rounded).
///
/// # Errors
/// [`F32Error::LengthMismatch`].
pub fn add(a: &[f32], b: &[f32]) -> Result<Vec<f32>, F32Error> {
    check_lengths("add", a, b)?;
    Ok(a.par_iter()
        .zip(b)
        .with_min_len(CHUNK)
        .map(|(x, y)| x + y)
        .collect())
}

fn map(a: &[f32], f: impl Fn(f32) -> f32 + Sync) -> Vec<f32> {
    a.par_iter().with_min_len(CHUNK).map(|&x| f(x)).collect()
}

/// `a` where it is above 0, else +0 (for -0 and NaN too), element by element (exact).
pub fn relu(a: &[f32]) -> Vec<f32> {
    map(a, |x| if x > 0.0 { x } else { 0.0 })
}

fn sigmoid_one(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The argument of the sigmoid in the tanh form of GELU: `2 sqrt(2 / pi) (x + 0.044715 x^3)`,
/// with the f32 nearest `2 sqrt(2 / pi) = 1.59576912...` (the shader's constant too).
fn gelu_arg(x: f32) -> f32 {
    1.595_769_2 * (x + 0.044_715 * x * x * x)
}

/// `1 / (1 + e^-a)`, element by element.
pub fn sigmoid(a: &[f32]) -> Vec<f32> {
    map(a, sigmoid_one)
}

/// GELU in its tanh form, `0.5 a (1 + tanh(sqrt(2 / pi) (a + 0.044715 a^3)))`, computed as
/// `a sigmoid(2 sqrt(2 / pi) (a + 0.044715 a^3))` (the same function, without tanh's
/// overflow for large arguments), element by element.
pub fn gelu(a: &[f32]) -> Vec<f32> {
    map(a, |x| x * sigmoid_one(gelu_arg(x)))
}

/// `e^(a_i - max a) / sum_j e^(a_j - max a)`; empty for no input.
pub fn softmax(a: &[f32]) -> Vec<f32> {
    if a.is_empty() {
        return Vec::new();
    }
    let m = a
        .par_iter()
        .with_min_len(CHUNK)
        .copied()
        .reduce(|| f32::NEG_INFINITY, f32::max);
    let e = map(a, |x| (x - m).exp());
    let s: f32 = e.par_chunks(CHUNK).map(|c| c.iter().sum::<f32>()).sum();
    e.into_par_iter()
        .with_min_len(CHUNK)
        .map(|x| x / s)
        .collect()
}

/// `sum a_i b_i`.
///
/// # Errors
/// [`F32Error::LengthMismatch`].
pub fn dot(a: &[f32], b: &[f32]) -> Result<f32, F32Error> {
    check_lengths("dot", a, b)?;
    Ok(a.par_chunks(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
        .sum())
}

/// `C = A B` for row-major `a` (`m x k`) and `b` (`k x n`): `m x n`, row-major, each
/// element summed in order of k.
///
/// # Errors
/// [`F32Error::MatrixShape`] when a slice is not its matrix's size.
pub fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Result<Vec<f32>, F32Error> {
    check_matmul(a, b, m, k, n)?;
    let mut c = vec![0.0f32; m * n];
    if n == 0 {
        return Ok(c);
    }
    c.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (kk, &x) in a[i * k..(i + 1) * k].iter().enumerate() {
            for (out, &y) in row.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                *out += x * y;
            }
        }
    });
    Ok(c)
}

/// Whether `a` and `b` hold an `m x k` and a `k x n` matrix: the check every matrix
/// product makes first.
///
/// # Errors
/// [`F32Error::MatrixShape`] for the first that does not.
pub fn check_matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Result<(), F32Error> {
    check_shape("A", a.len(), m, k)?;
    check_shape("B", b.len(), k, n)
}

/// Whether `len` values are a `rows x cols` matrix.
pub(crate) fn check_shape(
    matrix: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
) -> Result<(), F32Error> {
    let expected = rows.saturating_mul(cols);
    if len == expected && rows.checked_mul(cols).is_some() {
        Ok(())
    } else {
        Err(F32Error::MatrixShape {
            matrix,
            rows,
            cols,
            expected,
            got: len,
        })
    }
}

/// The dot product in f64 (each product of two f32 exact, the sum rounded in f64) and the
/// sum of the products' magnitudes: the reference and the `abs_sum` of [`sum_bound`] for
/// checking an f32 dot product.
///
/// ```
/// let (exact, abs) = f32_ops::cpu::dot_f64(&[1.0, -2.0], &[3.0, 4.0]);
/// assert_eq!((exact, abs), (-5.0, 11.0));
/// ```
pub fn dot_f64(a: &[f32], b: &[f32]) -> (f64, f64) {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .fold((0.0, 0.0), |(s, m), p| (s + p, m + p.abs()))
}

/// Entry `(i, j)` of the product of row-major `a` (`m x k`) and `b` (`k x n`) in f64, as
/// [`dot_f64`] gives a dot product, with the sum of its inputs' magnitudes (`|a_i| + |b_i|`
/// over the terms): (exact, sum of |a_i b_i|, sum of |a_i| + |b_i|), what
/// [`sum_bound`] and [`f16_product_bound`] take.
///
/// ```
/// // (1 2; 3 4) (5 6; 7 8): entry (1, 0) is 3 * 5 + 4 * 7.
/// let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
/// assert_eq!(f32_ops::cpu::matmul_entry_f64(&a, &b, 2, 2, 1, 0), (43.0, 43.0, 19.0));
/// ```
pub fn matmul_entry_f64(
    a: &[f32],
    b: &[f32],
    k: usize,
    n: usize,
    i: usize,
    j: usize,
) -> (f64, f64, f64) {
    (0..k).fold((0.0, 0.0, 0.0), |(exact, abs, inputs), t| {
        let (x, y) = (f64::from(a[i * k + t]), f64::from(b[t * n + j]));
        (
            exact + x * y,
            abs + (x * y).abs(),
            inputs + x.abs() + y.abs(),
        )
    })
}

/// Bound on the error of an f32 sum of `terms` products (or values) whose exact absolute
/// values add up to `abs_sum`, in any order: `(terms + 1) u abs_sum` (each partial sum and
/// each product rounds once, relative error u), plus the denormal flush of each term.
pub fn sum_bound(terms: usize, abs_sum: f64) -> f64 {
    (terms as f64 + 1.0) * UNIT_ROUNDOFF * abs_sum + terms as f64 * DENORMAL_FLUSH
}

/// Bound on the error of one element of an f16 matrix product
/// ([`F32Gpu::matmul_f16`](crate::F32Gpu::matmul_f16)) against the exact product of the
/// f32 inputs, for `terms` products whose exact absolute values add up to `abs_sum` and
/// whose inputs' absolute values (`|a_i| + |b_i|` over the terms) add up to `abs_inputs`.
/// Rounding an input to f16 moves it by at most 2^-10 relatively (an f16 ULP, whichever
/// way the device rounds) or 2^-24 absolutely (f16's subnormal spacing), so a product moves
/// by at most `(2^-9 + 2^-20) |a b| + 2^-23 (|a| + |b|) + 2^-48`; the matrix units
/// accumulate in f32 but may truncate, up to `2u` per addition instead of `u`. Inputs
/// beyond f16's range (|x| > 65504) become infinities, which no bound covers.
pub fn f16_product_bound(terms: usize, abs_sum: f64, abs_inputs: f64) -> f64 {
    let t = terms as f64;
    (2f64.powi(-9) + 2f64.powi(-20) + 2.0 * (t + 1.0) * UNIT_ROUNDOFF) * 1.01 * abs_sum
        + 2f64.powi(-23) * abs_inputs
        + t * (2f64.powi(-48) + DENORMAL_FLUSH)
}

/// Relative bound on the device's sigmoid of `x` (the same for GELU with `x` its sigmoid's
/// argument), from Vulkan's precision rules: `exp(t)` within 3 + 2|t| ULP, the addition
/// correctly rounded, the division within 2.5 ULP; the sigmoid passes `exp`'s relative
/// error on at most unchanged. One ULP is at most 2u relative. For GELU the argument itself
/// carries about 6u|t| of rounding, which moves the result by as much relatively. Beside
/// it, results near zero may differ by the denormal flush (GELU: `1 + |x|` times it, its
/// sigmoid being flushed before the product by x).
pub fn activation_bound(t: f64) -> f64 {
    (2.0 * (3.0 + 2.0 * t.abs() + 1.0 + 2.5) + 6.0 * t.abs() + 2.0) * UNIT_ROUNDOFF
}

/// Relative bound on the device's softmax output whose input lies `d` below the maximum,
/// for `n` inputs whose largest distance below the maximum is `max_d`: the numerator's
/// `exp` (3 + 3|d| ULP with the subtraction's rounding), the denominator's (as bad as the
/// worst term) plus its sum's rounding (`n u`), the division's 2.5 ULP.
pub fn softmax_bound(d: f64, max_d: f64, n: usize) -> f64 {
    (2.0 * (3.0 + 3.0 * d.abs() + 3.0 + 3.0 * max_d.abs() + 2.5) + n as f64 + 2.0) * UNIT_ROUNDOFF
}
