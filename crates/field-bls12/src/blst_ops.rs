//! Safe wrappers over blst's Fp functions, on raw little-endian limbs; every `unsafe` FFI call
//! of the crate's field arithmetic is here.
//!
//! blst's `blst_fp` is `{ l: [u64; 6] }` in Montgomery form (`x * R mod p`, `R = 2^384`), and
//! its functions take and give fully reduced values (`< p`) when given fully reduced values.
//! What each function means depends on the representation:
//!
//! - [`add`], [`sub`], [`neg`], [`double`] are linear maps, the same in canonical and
//!   Montgomery form, so they serve both [`crate::Fq`] and [`crate::FqMont`] unchanged.
//! - [`mont_mul`] and [`mont_sqr`] compute `a * b / R` and `a^2 / R`: the product of two
//!   Montgomery forms, but for canonical inputs a value off by a factor `R^-1`.
//! - [`to_mont`] (`x * R`), [`from_mont`] (`x / R`), [`inverse`] (`R^2 / x`) and [`sqrt`]
//!   (Montgomery in, Montgomery out) are what their names say only on Montgomery forms; the
//!   callers in `fq.rs` convert first.
//!
//! The wrappers copy the limbs into `blst_fp` values rather than casting pointers, so nothing
//! depends on `blst_fp`'s layout; the copies are 48 bytes and optimised away in practice.

use blst::blst_fp;

use crate::fq::FQ_LIMBS;

/// Little-endian limbs, all `< p` on input and output.
pub(crate) type Limbs = [u64; FQ_LIMBS];

/// Runs a blst function that writes one `blst_fp` from one input.
fn unary(a: &Limbs, f: impl FnOnce(*mut blst_fp, *const blst_fp)) -> Limbs {
    let mut out = blst_fp::default();
    let a = blst_fp { l: *a };
    f(&mut out, &a);
    out.l
}

/// Runs a blst function that writes one `blst_fp` from two inputs.
fn binary(
    a: &Limbs,
    b: &Limbs,
    f: impl FnOnce(*mut blst_fp, *const blst_fp, *const blst_fp),
) -> Limbs {
    let mut out = blst_fp::default();
    let (a, b) = (blst_fp { l: *a }, blst_fp { l: *b });
    f(&mut out, &a, &b);
    out.l
}

/// `a + b mod p` (either representation).
pub(crate) fn add(a: &Limbs, b: &Limbs) -> Limbs {
    // SAFETY: `binary` passes pointers to three distinct, live, aligned `blst_fp` locals; blst
    // reads the inputs and writes the output only. Inputs < p give an output < p.
    binary(a, b, |r, x, y| unsafe { blst::blst_fp_add(r, x, y) })
}

/// `a - b mod p` (either representation).
pub(crate) fn sub(a: &Limbs, b: &Limbs) -> Limbs {
    // SAFETY: as in `add`.
    binary(a, b, |r, x, y| unsafe { blst::blst_fp_sub(r, x, y) })
}

/// `-a mod p`, 0 for 0 (either representation).
pub(crate) fn neg(a: &Limbs) -> Limbs {
    // SAFETY: `unary` passes pointers to two distinct, live, aligned `blst_fp` locals.
    // `blst_fp_cneg` with flag `true` negates, mapping 0 to 0 (not to p).
    unary(a, |r, x| unsafe { blst::blst_fp_cneg(r, x, true) })
}

/// `2a mod p` (either representation).
pub(crate) fn double(a: &Limbs) -> Limbs {
    // SAFETY: as in `neg`; `blst_fp_lshift` by 1 is a modular doubling.
    unary(a, |r, x| unsafe { blst::blst_fp_lshift(r, x, 1) })
}

/// `a * b / R mod p`: Montgomery multiplication.
pub(crate) fn mont_mul(a: &Limbs, b: &Limbs) -> Limbs {
    // SAFETY: as in `add`.
    binary(a, b, |r, x, y| unsafe { blst::blst_fp_mul(r, x, y) })
}

/// `a^2 / R mod p`: Montgomery squaring.
pub(crate) fn mont_sqr(a: &Limbs) -> Limbs {
    // SAFETY: as in `neg`.
    unary(a, |r, x| unsafe { blst::blst_fp_sqr(r, x) })
}

/// `a * R mod p`: canonical to Montgomery form (a Montgomery multiplication by blst's `R^2`).
pub(crate) fn to_mont(a: &Limbs) -> Limbs {
    let mut out = blst_fp::default();
    // SAFETY: `out` is a live, aligned `blst_fp`; `a` points to 6 readable u64, which is what
    // `blst_fp_from_uint64` reads (on 64-bit little-endian targets it is `mul_fp(out, a, RR)`,
    // and on others it converts the 6 words first).
    unsafe { blst::blst_fp_from_uint64(&mut out, a.as_ptr()) };
    out.l
}

/// `a / R mod p`: Montgomery to canonical form (a Montgomery reduction).
pub(crate) fn from_mont(a: &Limbs) -> Limbs {
    let mut out = [0u64; FQ_LIMBS];
    let a = blst_fp { l: *a };
    // SAFETY: `out` is 6 writable u64, which is what `blst_uint64_from_fp` writes; `a` is a
    // live, aligned `blst_fp`.
    unsafe { blst::blst_uint64_from_fp(out.as_mut_ptr(), &a) };
    out
}

/// The Montgomery form of `x^-1` from the Montgomery form of `x`; 0 for 0.
pub(crate) fn inverse(a: &Limbs) -> Limbs {
    // SAFETY: as in `neg`. blst's constant-time inversion maps 0 to 0.
    unary(a, |r, x| unsafe { blst::blst_fp_inverse(r, x) })
}

/// A square root (Montgomery form in and out), and whether `a` is a square; when it is not,
/// the returned limbs are meaningless.
pub(crate) fn sqrt(a: &Limbs) -> (bool, Limbs) {
    let mut is_square = false;
    // SAFETY: as in `neg`; `blst_fp_sqrt` (constant time, `a^((p+1)/4)` since p = 3 mod 4)
    // also returns whether the result squares back to `a`.
    let root = unary(a, |r, x| is_square = unsafe { blst::blst_fp_sqrt(r, x) });
    (is_square, root)
}
