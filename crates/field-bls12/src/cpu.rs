//! Batch Fq arithmetic on the CPU: blst's assembly for each element, rayon across cores.
//!
//! Every operation is element-wise over equally long slices and returns a new `Vec` in input
//! order: [`FieldError::LengthMismatch`] when the lengths differ (checked before anything is
//! computed, so nothing is partially written), an empty result for empty inputs. Results are
//! bit-identical to the single-element operators on [`Fq`] / [`FqMont`], to
//! [`crate::portable`] and to the GPU path.
//!
//! - On canonical [`Fq`]: [`add`], [`sub`], [`neg`], [`double`], [`mul`], [`square`], [`fma`].
//! - On Montgomery-form [`FqMont`]: [`mont_add`], [`mont_sub`], [`mont_mul`], [`mont_square`],
//!   [`mont_fma`] (named as [`crate::FqGpu::mont_mul`] is).
//! - Between the two: [`to_mont`], [`from_mont`].
//!
//! Canonical multiplication costs two Montgomery multiplications per element and Montgomery
//! multiplication one, so a long chain of products is cheaper as `to_mont`, `mont_*`,
//! `from_mont`.
//!
//! ```
//! use field_bls12::{cpu, Fq};
//! let a = [Fq::from_u64(3), Fq::from_u64(4)];
//! let b = [Fq::from_u64(5), Fq::from_u64(6)];
//! assert_eq!(cpu::mul(&a, &b)?, [Fq::from_u64(15), Fq::from_u64(24)]);
//! assert_eq!(cpu::fma(&a, &b, &a)?, [Fq::from_u64(18), Fq::from_u64(28)]);
//! let mont = cpu::mont_mul(&cpu::to_mont(&a), &cpu::to_mont(&b))?;
//! assert_eq!(cpu::from_mont(&mont), cpu::mul(&a, &b)?);
//! # Ok::<(), field_bls12::FieldError>(())
//! ```

use rayon::prelude::*;

use crate::error::check_lengths;
use crate::raw::output_vec;
use crate::{FieldError, Fq, FqMont};

/// Elements per rayon task at least, for linear operations (add, sub, neg, double: a few
/// ns each): below this a task costs less than handing it to another thread (~1 us).
const LINEAR_CHUNK: usize = 4096;
/// The same for operations with a Montgomery multiplication (~20-100 ns each): small enough
/// that a 1Ki batch still splits into 16 tasks. Measured with `hybrid-exec bench` (16-core
/// H100 host, 2026-11-21, interleaved with a plain rayon loop, median ns per element): with
/// 256 a 1Ki mul took 68.3 against the loop's 59.3; with 64, 25.8 against 56.0 (64Ki: 8.9
/// against 9.8; 1Mi and 16Mi within 2%).
const MUL_CHUNK: usize = 64;

// All batch operations go through these three helpers. Each builds the result with an
// indexed parallel extend, which writes every element straight into the new Vec: no zero-fill pass,
// which on a large batch costs as much as the additions (page faults on first touch).

/// `f` on every element of `a`, in parallel.
fn map1<A, T, F>(chunk: usize, a: &[A], f: F) -> Vec<T>
where
    A: Sync,
    T: Send,
    F: Fn(&A) -> T + Sync + Send,
{
    let mut out = output_vec(a.len());
    out.par_extend(a.par_iter().with_min_len(chunk).map(f));
    out
}

/// `f` on every pair `(a[i], b[i])`, in parallel, after checking the lengths.
fn map2<A, T, F>(
    chunk: usize,
    op: &'static str,
    a: &[A],
    b: &[A],
    f: F,
) -> Result<Vec<T>, FieldError>
where
    A: Sync,
    T: Send,
    F: Fn(&A, &A) -> T + Sync + Send,
{
    check_lengths(op, a.len(), b.len())?;
    let mut out = output_vec(a.len());
    out.par_extend(
        a.par_iter()
            .zip(b)
            .with_min_len(chunk)
            .map(|(x, y)| f(x, y)),
    );
    Ok(out)
}

/// `f` on every triple `(a[i], b[i], c[i])`, in parallel, after checking `b` and `c` against
/// `a` (in that order).
fn map3<A, T, F>(
    chunk: usize,
    op: &'static str,
    a: &[A],
    b: &[A],
    c: &[A],
    f: F,
) -> Result<Vec<T>, FieldError>
where
    A: Sync,
    T: Send,
    F: Fn(&A, &A, &A) -> T + Sync + Send,
{
    check_lengths(op, a.len(), b.len())?;
    check_lengths(op, a.len(), c.len())?;
    let mut out = output_vec(a.len());
    out.par_extend(
        a.par_iter()
            .zip(b)
            .zip(c)
            .with_min_len(chunk)
            .map(|((x, y), z)| f(x, y, z)),
    );
    Ok(out)
}

/// Element-wise `a[i] + b[i] mod p` on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `add`) when the lengths differ.
pub fn add(a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    map2(LINEAR_CHUNK, "add", a, b, Fq::add_impl)
}

/// Element-wise `a[i] - b[i] mod p` on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `sub`) when the lengths differ.
pub fn sub(a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    map2(LINEAR_CHUNK, "sub", a, b, Fq::sub_impl)
}

/// Element-wise `-a[i] mod p` (0 stays 0) on all cores.
///
/// # Errors
/// None today; a `Result` like every other batch operation.
pub fn neg(a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    Ok(map1(LINEAR_CHUNK, a, Fq::neg_impl))
}

/// Element-wise `2 a[i] mod p` on all cores.
///
/// # Errors
/// None today; a `Result` like every other batch operation.
pub fn double(a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    Ok(map1(LINEAR_CHUNK, a, Fq::double_impl))
}

/// Element-wise `a[i] * b[i] mod p` on all cores (two Montgomery multiplications each,
/// with AVX-512 IFMA where the CPU has it, else blst).
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `mul`) when the lengths differ.
pub fn mul(a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    check_lengths("mul", a.len(), b.len())?;
    Ok(crate::raw::collect_fq::<MUL_CHUNK>(
        a.len(),
        true,
        |start, products| {
            // Sixteen at a time with AVX-512 IFMA where the CPU has it (crate::ifma).
            let n = products.len();
            let mut limbs = [[[0u64; crate::FQ_LIMBS]; MUL_CHUNK]; 2];
            let [xs, ys] = &mut limbs;
            let pairs = a[start..start + n].iter().zip(&b[start..start + n]);
            for ((l, m), (x, y)) in xs.iter_mut().zip(ys.iter_mut()).zip(pairs) {
                (*l, *m) = (*x.limbs(), *y.limbs());
            }
            crate::ifma::mul_canonical(&xs[..n], &ys[..n], products);
        },
    ))
}

/// Element-wise `a[i]^2 mod p` on all cores.
///
/// # Errors
/// None today; a `Result` like every other batch operation.
pub fn square(a: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    Ok(map1(MUL_CHUNK, a, Fq::square_impl))
}

/// Element-wise `a[i] * b[i] + c[i] mod p` on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `fma`) when `b` or `c` is not as long as `a` (`b` is
/// checked first).
pub fn fma(a: &[Fq], b: &[Fq], c: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    map3(MUL_CHUNK, "fma", a, b, c, Fq::fma_impl)
}

/// Element-wise `a[i] + b[i]` on Montgomery forms, on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `mont_add`) when the lengths differ.
pub fn mont_add(a: &[FqMont], b: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
    map2(LINEAR_CHUNK, "mont_add", a, b, FqMont::add_impl)
}

/// Element-wise `a[i] - b[i]` on Montgomery forms, on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `mont_sub`) when the lengths differ.
pub fn mont_sub(a: &[FqMont], b: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
    map2(LINEAR_CHUNK, "mont_sub", a, b, FqMont::sub_impl)
}

/// Element-wise `a[i] * b[i]` on Montgomery forms (one Montgomery multiplication each), on
/// all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `mont_mul`) when the lengths differ.
pub fn mont_mul(a: &[FqMont], b: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
    map2(MUL_CHUNK, "mont_mul", a, b, FqMont::mul_impl)
}

/// Element-wise `a[i]^2` on Montgomery forms, on all cores.
///
/// # Errors
/// None today; a `Result` like every other batch operation.
pub fn mont_square(a: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
    Ok(map1(MUL_CHUNK, a, FqMont::square))
}

/// Element-wise `a[i] * b[i] + c[i]` on Montgomery forms, on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] (op `mont_fma`) when `b` or `c` is not as long as `a` (`b`
/// is checked first).
pub fn mont_fma(a: &[FqMont], b: &[FqMont], c: &[FqMont]) -> Result<Vec<FqMont>, FieldError> {
    map3(MUL_CHUNK, "mont_fma", a, b, c, FqMont::fma_impl)
}

/// Every element in Montgomery form (`x -> x * R mod p`), on all cores.
pub fn to_mont(a: &[Fq]) -> Vec<FqMont> {
    map1(MUL_CHUNK, a, Fq::to_mont)
}

/// Every element back in canonical form (`x * R -> x`), on all cores.
pub fn from_mont(a: &[FqMont]) -> Vec<Fq> {
    map1(MUL_CHUNK, a, FqMont::to_canonical)
}

/// Outputs at least this long (elements; 12 MiB, past what the caches keep) are written
/// with non-temporal stores by [`crate::FqProgram::run_cpu_into`]: a plain store first
/// reads the line it fills (read for ownership), so a result costs 96 bytes of memory
/// traffic instead of 48. That traffic is what a job co-executed on host vectors runs out
/// of (H100 host, 2026-11-22: 16 threads streaming two inputs into an output reached
/// 106-113 GB/s with plain stores, 122-126 with non-temporal ones).
pub(crate) const STREAM_STORE_MIN: usize = 1 << 18;
