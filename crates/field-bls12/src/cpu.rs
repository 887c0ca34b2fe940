//! Batch Fq arithmetic on the CPU: blst's assembly for each element, rayon across cores.

use rayon::prelude::*;

use crate::error::check_lengths;
use crate::{FieldError, Fq};

/// Elements per rayon task at least: below this, splitting costs more than it saves
/// (an add is ~5 ns; a rayon task hand-off is ~1 us). To be tuned by measurement.
const MIN_PARALLEL_CHUNK: usize = 4096;

/// `a + b mod p` for one pair, through blst.
pub fn add_one(a: &Fq, b: &Fq) -> Fq {
    let mut out = blst::blst_fp::default();
    let a = blst::blst_fp { l: *a.limbs() };
    let b = blst::blst_fp { l: *b.limbs() };
    // SAFETY: all three pointers refer to valid, properly aligned blst_fp values. Modular
    // addition is the same in canonical and Montgomery form, so blst_fp_add gives
    // (a + b) mod p for our canonical limbs, fully reduced (blst's add_mod_384).
    unsafe { blst::blst_fp_add(&mut out, &a, &b) };
    Fq::from_canonical_limbs(out.l)
}

/// Element-wise `a[i] + b[i] mod p` on all cores.
///
/// # Errors
/// [`FieldError::LengthMismatch`] when the lengths differ. An empty batch gives an empty
/// result.
pub fn add(a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, FieldError> {
    check_lengths("add", a.len(), b.len())?;
    // An indexed collect writes each result straight into the new Vec: no zero-fill pass,
    // which on a large batch costs as much as the additions (page faults on first touch).
    Ok(a.par_iter()
        .zip(b)
        .with_min_len(MIN_PARALLEL_CHUNK)
        .map(|(x, y)| add_one(x, y))
        .collect())
}
