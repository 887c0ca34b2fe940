//! Batch Fq multiplication with AVX-512 IFMA (`vpmadd52luq` / `vpmadd52huq`), bit-identical
//! to blst.
//!
//! Eight elements at a time, one per 64-bit lane, each as eight 52-bit limbs (416 bits, one
//! `__m512i` per limb position). IFMA multiplies the low 52 bits of two lanes and adds the low
//! or the high 52 bits of the 104-bit product to a 64-bit accumulator, so a column can take
//! thousands of products before it overflows: the products and the Montgomery reduction
//! accumulate unnormalised, and carries move only where the next step needs a limb's exact
//! low bits.
//!
//! The vector Montgomery product divides by `2^416` (eight 52-bit steps), not by blst's
//! `R = 2^384`. [`mul_mont`] loads `a` as the integer `a * 2^32` (still eight limbs, < 2^413),
//! so one product gives `a * b / 2^384`. [`mul_canonical`] is two products,
//! `mont(mont(a, b), 2^832 mod p) = a * b`, the first left in `[0, 2p)`. A final conditional
//! subtraction makes each result the unique value in `[0, p)` congruent to blst's, and blst's
//! outputs are fully reduced, so the two agree bit for bit for every input `< p`.
//!
//! Not constant time in the slice length only; the vector code has no data-dependent branches
//! or addresses.

use std::sync::OnceLock;

use crate::blst_ops::{self, Limbs};

/// Elements per IFMA block: one per 64-bit lane of a 512-bit vector.
const LANES: usize = 8;

/// Whether the IFMA path runs on this CPU: x86_64 with avx512f and avx512ifma, and the
/// environment variable `FIELD_BLS12_NO_IFMA` unset or empty (for A/B comparisons against
/// blst). Decided once per process.
pub(crate) fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let disabled = std::env::var_os("FIELD_BLS12_NO_IFMA").is_some_and(|v| !v.is_empty());
        !disabled && cpu_has_ifma()
    })
}

/// The CPU half of [`available`], without the environment override. Cheap: the standard
/// library caches the detection, so this is two loads of a cached word.
fn cpu_has_ifma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[i] = a[i] * b[i] mod p`, canonical in and out (all `< p`).
///
/// Whole blocks of 8 go through IFMA when [`available`]; the rest, or everything otherwise,
/// through blst as `Fq`'s `*` does.
///
/// # Panics
/// When the three slices differ in length.
pub(crate) fn mul_canonical(a: &[Limbs], b: &[Limbs], out: &mut [Limbs]) {
    mul_with(Kind::Canonical, available(), a, b, out);
}

/// `out[i] = a[i] * b[i] / 2^384 mod p`: blst's `blst_fp_mul` on Montgomery forms, inputs
/// and outputs `< p`. Blocks and remainder as in [`mul_canonical`].
///
/// # Panics
/// When the three slices differ in length.
pub(crate) fn mul_mont(a: &[Limbs], b: &[Limbs], out: &mut [Limbs]) {
    mul_with(Kind::Mont, available(), a, b, out);
}

/// Which product a batch computes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `a * b mod p`.
    Canonical,
    /// `a * b / 2^384 mod p`.
    Mont,
}

/// The batch loop, with the IFMA decision explicit so that tests can force the blst path.
/// `ifma` asks for the vector code; it runs only where the CPU has it (checked here, so
/// that no caller can reach it on a CPU without IFMA), the rest through blst.
fn mul_with(kind: Kind, ifma: bool, a: &[Limbs], b: &[Limbs], out: &mut [Limbs]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "ifma::mul: slice lengths differ ({}, {}, {})",
        a.len(),
        b.len(),
        out.len()
    );
    let blocks = if ifma && cpu_has_ifma() {
        a.len() / LANES * LANES
    } else {
        0
    };
    if blocks > 0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: blocks > 0 only when `cpu_has_ifma()` just said that the CPU has avx512f
        // and avx512ifma, the features `mul_blocks` is compiled for.
        unsafe {
            x86::mul_blocks(kind, &a[..blocks], &b[..blocks], &mut out[..blocks]);
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("IFMA is never available off x86_64");
    }
    let (a, b, out) = (&a[blocks..], &b[blocks..], &mut out[blocks..]);
    match kind {
        Kind::Canonical => {
            for ((x, y), z) in a.iter().zip(b).zip(out) {
                *z = blst_ops::to_mont(&blst_ops::mont_mul(x, y));
            }
        }
        Kind::Mont => {
            for ((x, y), z) in a.iter().zip(b).zip(out) {
                *z = blst_ops::mont_mul(x, y);
            }
        }
    }
}

/// Limb arithmetic on plain integers, evaluated at compile time for the constants.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))] // only the vector code uses them
mod consts {
    use crate::fq::{Fq, FQ_LIMBS};

    /// Limbs of 52 bits per element.
    pub(super) const LIMBS52: usize = 8;
    /// `2^52 - 1`.
    pub(super) const MASK52: u64 = (1 << 52) - 1;

    /// p in 52-bit limbs.
    pub(super) const P52: [u64; LIMBS52] = to_52(&Fq::MODULUS);
    /// `-p^-1 mod 2^52`: the Montgomery factor of each reduction step.
    pub(super) const N0: u64 = {
        // Newton's iteration doubles the correct low bits: 1 (p odd) -> 2 -> ... -> 64.
        let p0 = Fq::MODULUS[0];
        let mut inv = 1u64;
        let mut i = 0;
        while i < 6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(p0.wrapping_mul(inv)));
            i += 1;
        }
        inv.wrapping_neg() & MASK52
    };
    /// `2^832 mod p` in 52-bit limbs: a product with it undoes two divisions by `2^416`.
    pub(super) const R2_52: [u64; LIMBS52] = to_52(&pow2_mod_p(832));

    /// Little-endian 64-bit limbs to 52-bit limbs (values below 2^381).
    pub(super) const fn to_52(x: &[u64; FQ_LIMBS]) -> [u64; LIMBS52] {
        let mut out = [0u64; LIMBS52];
        let mut k = 0;
        while k < LIMBS52 {
            let (word, shift) = (52 * k / 64, 52 * k % 64);
            let mut v = x[word] >> shift;
            if shift > 12 && word + 1 < FQ_LIMBS {
                v |= x[word + 1] << (64 - shift);
            }
            out[k] = v & MASK52;
            k += 1;
        }
        out
    }

    /// `2^e mod p` by doubling, in 64-bit limbs.
    const fn pow2_mod_p(e: u32) -> [u64; FQ_LIMBS] {
        let p = Fq::MODULUS;
        let mut x = [1u64, 0, 0, 0, 0, 0];
        let mut n = 0;
        while n < e {
            // x < p < 2^381, so 2x fits in six words.
            let mut carry = 0;
            let mut i = 0;
            while i < FQ_LIMBS {
                let next = x[i] >> 63;
                x[i] = (x[i] << 1) | carry;
                carry = next;
                i += 1;
            }
            if !less_than(&x, &p) {
                let mut borrow = 0u64;
                let mut i = 0;
                while i < FQ_LIMBS {
                    let (d, b1) = x[i].overflowing_sub(p[i]);
                    let (d, b2) = d.overflowing_sub(borrow);
                    x[i] = d;
                    borrow = (b1 | b2) as u64;
                    i += 1;
                }
            }
            n += 1;
        }
        x
    }

    /// `x < y` on little-endian limbs.
    const fn less_than(x: &[u64; FQ_LIMBS], y: &[u64; FQ_LIMBS]) -> bool {
        let mut i = FQ_LIMBS;
        while i > 0 {
            i -= 1;
            if x[i] != y[i] {
                return x[i] < y[i];
            }
        }
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The vector code. Every function here is compiled for avx512f + avx512ifma; they are
    //! safe `#[target_feature]` functions, so calls among them need no `unsafe`, and the one
    //! entry point from ordinary code, [`mul_blocks`], is called only after the features
    //! were detected. Helpers are small `#[inline]` functions with the same features rather
    //! than closures handed to generic code such as `array::from_fn`: those instantiations
    //! lack the features, so LLVM could not inline into them and spilled every vector.

    use core::arch::x86_64::{
        __m512i, _mm512_add_epi64, _mm512_and_si512, _mm512_cmplt_epi64_mask, _mm512_loadu_si512,
        _mm512_madd52hi_epu64, _mm512_madd52lo_epu64, _mm512_mask_blend_epi64,
        _mm512_mask_permutexvar_epi64, _mm512_permutex2var_epi64, _mm512_set1_epi64,
        _mm512_setr_epi64, _mm512_setzero_si512, _mm512_slli_epi64, _mm512_srai_epi64,
        _mm512_srli_epi64, _mm512_storeu_si512, _mm512_sub_epi64, _mm512_ternarylogic_epi64,
        _mm512_unpackhi_epi64, _mm512_unpacklo_epi64,
    };

    use super::consts::{LIMBS52, MASK52, N0, P52, R2_52};
    use super::{Kind, Limbs, LANES};

    /// `$body` once for each listed value of `$i`, as a constant.
    macro_rules! unroll {
        ($i:ident in [$($n:literal),*] $body:block) => {
            $({
                const $i: usize = $n;
                $body
            })*
        };
    }

    /// One limb position of 8 elements.
    type V = __m512i;
    /// 8 elements, 52-bit limbs, limb `k` of every element in `v[k]`.
    type Block = [V; LIMBS52];

    /// Blocks processed together, so that independent Montgomery chains keep the IFMA units
    /// busy while each waits on its own carries. Measured (Sapphire Rapids VM, 64Ki Mont
    /// products): 2 blocks ~10% faster than 1; 3 or 4 no faster than 2 (register spills).
    const INTERLEAVE: usize = 2;

    /// Every block of 8 in `a`, `b` (whose length is a multiple of 8) into `out`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn mul_blocks(kind: Kind, a: &[Limbs], b: &[Limbs], out: &mut [Limbs]) {
        let done = mul_groups::<INTERLEAVE>(kind, a, b, out);
        mul_groups::<1>(kind, &a[done..], &b[done..], &mut out[done..]);
    }

    /// Every whole group of `N` blocks; returns how many elements that covered.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul_groups<const N: usize>(
        kind: Kind,
        a: &[Limbs],
        b: &[Limbs],
        out: &mut [Limbs],
    ) -> usize {
        let zero = _mm512_setzero_si512();
        let r2 = [splat(&R2_52); N];
        let groups = a
            .chunks_exact(N * LANES)
            .zip(b.chunks_exact(N * LANES))
            .zip(out.chunks_exact_mut(N * LANES));
        let covered = groups.len() * N * LANES;
        for ((a, b), out) in groups {
            let mut x = [[zero; LIMBS52]; N];
            let mut y = [[zero; LIMBS52]; N];
            for n in 0..N {
                let (a, b) = (&a[n * LANES..][..LANES], &b[n * LANES..][..LANES]);
                x[n] = match kind {
                    Kind::Canonical => load::<false>(a),
                    Kind::Mont => load::<true>(a),
                };
                y[n] = load::<false>(b);
            }
            let r = match kind {
                // x*y/2^416 < 2p (see `mont`) is a valid operand again, and the second
                // product multiplies by 2^832: x*y in all.
                Kind::Canonical => mont(&mont(&x, &y), &r2),
                // x was loaded as x*2^32: x*2^32*y/2^416 = x*y/2^384.
                Kind::Mont => mont(&x, &y),
            };
            for (n, r) in r.iter().enumerate() {
                store(&reduce(r), &mut out[n * LANES..][..LANES]);
            }
        }
        covered
    }

    /// A constant in every lane.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn splat(c: &[u64; LIMBS52]) -> Block {
        let mut v = [_mm512_setzero_si512(); LIMBS52];
        for k in 0..LIMBS52 {
            v[k] = _mm512_set1_epi64(c[k] as i64);
        }
        v
    }

    /// `(lo | hi) & mask` in one instruction.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn or_and(lo: V, hi: V, mask: V) -> V {
        _mm512_ternarylogic_epi64::<0xA8>(lo, hi, mask)
    }

    /// `2^bits - 1` in every lane.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mask(bits: u32) -> V {
        _mm512_set1_epi64(((1u64 << bits) - 1) as i64)
    }

    /// `(a & mask) | b` in one instruction.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn and_or(a: V, b: V, mask: V) -> V {
        _mm512_ternarylogic_epi64::<0xEC>(a, b, mask)
    }

    /// `x * y / 2^416 mod p` for `N` independent blocks, in `[0, 2p)` with normalised 52-bit
    /// limbs, for normalised inputs with `x < 2^413`, `y < 2^381` and `x * y < 2^794`.
    ///
    /// Bound: the sum is `x*y + m*p` with `m < 2^416`, so the result is below
    /// `x*y/2^416 + p < 2^378 + p < 2p` (p > 2^380). Operands: canonical inputs are < p;
    /// `mul_blocks` loads x*2^32 < 2^413 (with y < p: x*y < 2^794), and feeds back results
    /// of canonical products, below `p^2/2^416 + p < 2^381`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mont<const N: usize>(x: &[Block; N], y: &[Block; N]) -> [Block; N] {
        let zero = _mm512_setzero_si512();
        let p = splat(&P52);
        let n0 = _mm512_set1_epi64(N0 as i64);
        let mask52 = _mm512_set1_epi64(MASK52 as i64);
        // Column t[k] holds weight 2^(52k). Each gets at most 16 product halves, 16
        // reduction halves (all < 2^52) and a carry, so it stays below 2^58: no overflow.
        let mut t = [[zero; 2 * LIMBS52]; N];
        // Unrolled by hand: LLVM keeps a rolled loop with `t` on the stack otherwise.
        unroll!(I in [0, 1, 2, 3, 4, 5, 6, 7] {
            for j in 0..LIMBS52 {
                for n in 0..N {
                    t[n][I + j] = _mm512_madd52lo_epu64(t[n][I + j], x[n][I], y[n][j]);
                    t[n][I + j + 1] = _mm512_madd52hi_epu64(t[n][I + j + 1], x[n][I], y[n][j]);
                }
            }
            // Column i is complete now (later rows start at column i + 1). The multiplier
            // depends only on its low 52 bits, which IFMA takes as they are.
            let mut m = [zero; N];
            for n in 0..N {
                m[n] = _mm512_madd52lo_epu64(zero, t[n][I], n0);
            }
            for j in 0..LIMBS52 {
                for n in 0..N {
                    t[n][I + j] = _mm512_madd52lo_epu64(t[n][I + j], m[n], p[j]);
                    t[n][I + j + 1] = _mm512_madd52hi_epu64(t[n][I + j + 1], m[n], p[j]);
                }
            }
            // t[i] is now a multiple of 2^52; its carry must reach column i + 1 before that
            // column's multiplier is taken.
            for t in &mut t {
                t[I + 1] = _mm512_add_epi64(t[I + 1], _mm512_srli_epi64::<52>(t[I]));
            }
        });
        let mut r = [[zero; LIMBS52]; N];
        for n in 0..N {
            let t = &mut t[n];
            for k in LIMBS52..2 * LIMBS52 - 1 {
                t[k + 1] = _mm512_add_epi64(t[k + 1], _mm512_srli_epi64::<52>(t[k]));
                r[n][k - LIMBS52] = _mm512_and_si512(t[k], mask52);
            }
            // The result is below 2^382, so the top column is below 2^18 after the carries.
            r[n][LIMBS52 - 1] = t[2 * LIMBS52 - 1];
        }
        r
    }

    /// `[0, 2p)` to `[0, p)`: subtract p and keep the difference unless it borrowed.
    ///
    /// Limbs 0..6 of the result carry junk above bit 52 in lanes that took the difference
    /// ([`store`] masks them, which costs nothing there); limb 7 is exact.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(r: &Block) -> Block {
        let mut d = [_mm512_setzero_si512(); LIMBS52];
        let mut borrow = _mm512_setzero_si512(); // 0 or -1
        for k in 0..LIMBS52 {
            let diff = _mm512_sub_epi64(r[k], _mm512_set1_epi64(P52[k] as i64));
            d[k] = _mm512_add_epi64(diff, borrow);
            borrow = _mm512_srai_epi64::<52>(d[k]);
        }
        // Where nothing borrowed out of the top, d7 = (r - p) >> 364 is exact: 0 <= r - p
        // < p.
        let negative = _mm512_cmplt_epi64_mask(borrow, _mm512_setzero_si512());
        for k in 0..LIMBS52 {
            d[k] = _mm512_mask_blend_epi64(negative, d[k], r[k]);
        }
        d
    }

    // Transposition. Eight elements of six words are 48 words, six vectors A0..A5. Elements
    // 0-3 fill A0-A2 and 4-7 fill A3-A5, and each 128-bit quarter of a vector holds one
    // element's word pair (2k, 2k+1), so `pairs` collects pair k of elements 0-3 (or 4-7)
    // into one vector with two permutes, and one unpack per word then interleaves the two
    // halves. Lane order in the block is therefore 0, 4, 1, 5, 2, 6, 3, 7; `store` undoes it.

    /// Pair k (k = 0, 1, 2) of the four elements in `a0..a2`, one pair per 128-bit quarter.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn pairs(a0: V, a1: V, a2: V) -> [V; 3] {
        // Quarter q of element e is quarter 3e + q of a0|a1|a2: (0,3 | 6 | 9), (1 | 4,7 | 10),
        // (2 | 5 | 8,11); the first permute takes what a0 and a1 hold, the second adds a2's.
        let idx = _mm512_setr_epi64(0, 1, 6, 7, 12, 13, 0, 0);
        let p0 = _mm512_permutex2var_epi64(a0, idx, a1);
        let idx = _mm512_setr_epi64(0, 0, 0, 0, 0, 0, 2, 3);
        let p0 = _mm512_mask_permutexvar_epi64(p0, 0xC0, idx, a2);
        let idx = _mm512_setr_epi64(2, 3, 8, 9, 14, 15, 0, 0);
        let p1 = _mm512_permutex2var_epi64(a0, idx, a1);
        let idx = _mm512_setr_epi64(0, 0, 0, 0, 0, 0, 4, 5);
        let p1 = _mm512_mask_permutexvar_epi64(p1, 0xC0, idx, a2);
        let idx = _mm512_setr_epi64(4, 5, 10, 11, 0, 0, 0, 0);
        let p2 = _mm512_permutex2var_epi64(a0, idx, a1);
        let idx = _mm512_setr_epi64(0, 0, 0, 0, 0, 1, 6, 7);
        let p2 = _mm512_mask_permutexvar_epi64(p2, 0xF0, idx, a2);
        [p0, p1, p2]
    }

    /// The inverse of [`pairs`].
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn unpairs(p0: V, p1: V, p2: V) -> [V; 3] {
        // a0 = p0.0 p1.0 p2.0 p0.1, a1 = p1.1 p2.1 p0.2 p1.2, a2 = p2.2 p0.3 p1.3 p2.3.
        let idx = _mm512_setr_epi64(0, 1, 8, 9, 0, 0, 2, 3);
        let a0 = _mm512_permutex2var_epi64(p0, idx, p1);
        let idx = _mm512_setr_epi64(0, 0, 0, 0, 0, 1, 0, 0);
        let a0 = _mm512_mask_permutexvar_epi64(a0, 0x30, idx, p2);
        let idx = _mm512_setr_epi64(2, 3, 10, 11, 0, 0, 4, 5);
        let a1 = _mm512_permutex2var_epi64(p1, idx, p2);
        let idx = _mm512_setr_epi64(0, 0, 0, 0, 4, 5, 0, 0);
        let a1 = _mm512_mask_permutexvar_epi64(a1, 0x30, idx, p0);
        let idx = _mm512_setr_epi64(0, 0, 6, 7, 14, 15, 0, 0);
        let a2 = _mm512_permutex2var_epi64(p0, idx, p1);
        let idx = _mm512_setr_epi64(4, 5, 0, 0, 0, 0, 6, 7);
        let a2 = _mm512_mask_permutexvar_epi64(a2, 0xC3, idx, p2);
        [a0, a1, a2]
    }

    /// Eight elements into a block of 52-bit limbs. With `SHIFT32` the value loaded is
    /// `x * 2^32` (< 2^413).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load<const SHIFT32: bool>(x: &[Limbs]) -> Block {
        assert_eq!(x.len(), LANES);
        let ptr = x.as_ptr().cast::<u64>();
        let mut a = [_mm512_setzero_si512(); 6];
        for (i, a) in a.iter_mut().enumerate() {
            // SAFETY: `x` is 8 elements of 48 bytes, 384 readable bytes = six 64-byte
            // vectors; `loadu` has no alignment requirement.
            *a = unsafe { _mm512_loadu_si512(ptr.add(8 * i).cast()) };
        }
        let lo = pairs(a[0], a[1], a[2]);
        let hi = pairs(a[3], a[4], a[5]);
        let mut w = [_mm512_setzero_si512(); 6];
        for k in 0..3 {
            w[2 * k] = _mm512_unpacklo_epi64(lo[k], hi[k]);
            w[2 * k + 1] = _mm512_unpackhi_epi64(lo[k], hi[k]);
        }
        let m = _mm512_set1_epi64(MASK52 as i64);
        // Limb k holds bits [52k - s, 52k + 52 - s) of x (s = 32 or 0).
        if SHIFT32 {
            [
                _mm512_and_si512(_mm512_slli_epi64::<32>(w[0]), m),
                or_and(
                    _mm512_srli_epi64::<20>(w[0]),
                    _mm512_slli_epi64::<44>(w[1]),
                    m,
                ),
                _mm512_and_si512(_mm512_srli_epi64::<8>(w[1]), m),
                or_and(
                    _mm512_srli_epi64::<60>(w[1]),
                    _mm512_slli_epi64::<4>(w[2]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<48>(w[2]),
                    _mm512_slli_epi64::<16>(w[3]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<36>(w[3]),
                    _mm512_slli_epi64::<28>(w[4]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<24>(w[4]),
                    _mm512_slli_epi64::<40>(w[5]),
                    m,
                ),
                _mm512_srli_epi64::<12>(w[5]),
            ]
        } else {
            [
                _mm512_and_si512(w[0], m),
                or_and(
                    _mm512_srli_epi64::<52>(w[0]),
                    _mm512_slli_epi64::<12>(w[1]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<40>(w[1]),
                    _mm512_slli_epi64::<24>(w[2]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<28>(w[2]),
                    _mm512_slli_epi64::<36>(w[3]),
                    m,
                ),
                or_and(
                    _mm512_srli_epi64::<16>(w[3]),
                    _mm512_slli_epi64::<48>(w[4]),
                    m,
                ),
                _mm512_and_si512(_mm512_srli_epi64::<4>(w[4]), m),
                or_and(
                    _mm512_srli_epi64::<56>(w[4]),
                    _mm512_slli_epi64::<8>(w[5]),
                    m,
                ),
                _mm512_srli_epi64::<44>(w[5]),
            ]
        }
    }

    /// A block of values `< p` back into eight elements. Bits above 52 of limbs 0..6 are
    /// ignored (see [`reduce`]); limb 7 must be exact.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store(r: &Block, out: &mut [Limbs]) {
        assert_eq!(out.len(), LANES);
        let zero = _mm512_setzero_si512();
        // Word w takes the upper bits of one limb, masked, and the lower bits of the next,
        // shifted up so that the junk falls off the top.
        let r46 = and_or(
            _mm512_srli_epi64::<48>(r[4]),
            _mm512_slli_epi64::<56>(r[6]),
            mask(4),
        );
        let w = [
            and_or(r[0], _mm512_slli_epi64::<52>(r[1]), mask(52)),
            and_or(
                _mm512_srli_epi64::<12>(r[1]),
                _mm512_slli_epi64::<40>(r[2]),
                mask(40),
            ),
            and_or(
                _mm512_srli_epi64::<24>(r[2]),
                _mm512_slli_epi64::<28>(r[3]),
                mask(28),
            ),
            and_or(
                _mm512_srli_epi64::<36>(r[3]),
                _mm512_slli_epi64::<16>(r[4]),
                mask(16),
            ),
            and_or(_mm512_slli_epi64::<4>(r[5]), r46, mask(56)),
            and_or(
                _mm512_srli_epi64::<8>(r[6]),
                _mm512_slli_epi64::<44>(r[7]),
                mask(44),
            ),
        ];
        let mut lo = [zero; 3];
        let mut hi = [zero; 3];
        for k in 0..3 {
            lo[k] = _mm512_unpacklo_epi64(w[2 * k], w[2 * k + 1]);
            hi[k] = _mm512_unpackhi_epi64(w[2 * k], w[2 * k + 1]);
        }
        let lo = unpairs(lo[0], lo[1], lo[2]);
        let hi = unpairs(hi[0], hi[1], hi[2]);
        let ptr = out.as_mut_ptr().cast::<u64>();
        for (i, v) in lo.into_iter().chain(hi).enumerate() {
            // SAFETY: `out` is 8 elements, 384 writable bytes = six 64-byte vectors;
            // `storeu` has no alignment requirement.
            unsafe { _mm512_storeu_si512(ptr.add(8 * i).cast(), v) };
        }
    }

    #[cfg(test)]
    mod tests {
        //! The pieces around the product, on their own: the whole-batch tests in
        //! `ifma::tests` rarely reach a canonical result in `[p, 2p)` before `reduce`.

        use num_bigint::BigUint;
        use rand::rngs::StdRng;
        use rand::SeedableRng;

        use super::*;
        use crate::ifma::cpu_has_ifma;
        use crate::ifma::tests::{big, inputs, modulus};

        /// Block lane of each element: `load` and `store` order the lanes 0, 4, 1, 5, ...
        const LANE_OF: [usize; LANES] = [0, 2, 4, 6, 1, 3, 5, 7];

        /// The limbs of each element of a block, in element order.
        #[target_feature(enable = "avx512f,avx512ifma")]
        fn unpack(v: &Block) -> [[u64; LIMBS52]; LANES] {
            let mut out = [[0u64; LIMBS52]; LANES];
            for (k, v) in v.iter().enumerate() {
                let mut lanes = [0u64; LANES];
                // SAFETY: `lanes` is 64 writable bytes.
                unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), *v) };
                for (e, out) in out.iter_mut().enumerate() {
                    out[k] = lanes[LANE_OF[e]];
                }
            }
            out
        }

        /// A block from the limbs of each element, in element order.
        #[target_feature(enable = "avx512f,avx512ifma")]
        fn pack(x: &[[u64; LIMBS52]; LANES]) -> Block {
            let mut v = [_mm512_setzero_si512(); LIMBS52];
            for (k, v) in v.iter_mut().enumerate() {
                let mut lanes = [0u64; LANES];
                for (e, x) in x.iter().enumerate() {
                    lanes[LANE_OF[e]] = x[k];
                }
                // SAFETY: `lanes` is 64 readable bytes.
                *v = unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) };
            }
            v
        }

        fn to_52(x: &BigUint) -> [u64; LIMBS52] {
            let mask = BigUint::from(MASK52);
            core::array::from_fn(|k| {
                let limb = (x >> (52 * k)) & &mask;
                limb.to_u64_digits().first().copied().unwrap_or(0)
            })
        }

        #[test]
        fn load_reduce_store() {
            if !cpu_has_ifma() {
                println!("SKIPPED load_reduce_store: this CPU has no AVX-512 IFMA");
                return;
            }
            let p = modulus();
            let mut rng = StdRng::seed_from_u64(5);
            for chunk in inputs(8 * 40, &mut rng).chunks_exact(LANES) {
                // SAFETY: the CPU has avx512f and avx512ifma (checked above).
                let (plain, shifted) = unsafe { (load::<false>(chunk), load::<true>(chunk)) };
                // SAFETY: as above.
                let (plain, shifted) = unsafe { (unpack(&plain), unpack(&shifted)) };
                for (e, x) in chunk.iter().enumerate() {
                    assert_eq!(plain[e], to_52(&big(x)));
                    assert_eq!(shifted[e], to_52(&(big(x) << 32u32)));
                }
                // Both sides of the conditional subtraction: x and x + p for x < p.
                for add_p in [0u8, 0x55, 0xff] {
                    let r: [[u64; LIMBS52]; LANES] = core::array::from_fn(|e| {
                        let x = big(&chunk[e]);
                        to_52(&if add_p >> e & 1 == 1 { x + &p } else { x })
                    });
                    let mut out = [[0u64; 6]; LANES];
                    // SAFETY: as above.
                    unsafe { store(&reduce(&pack(&r)), &mut out) };
                    assert_eq!(out, <[Limbs; LANES]>::try_from(chunk).unwrap());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigUint;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::fq::Fq;

    pub(super) fn big(x: &Limbs) -> BigUint {
        BigUint::from_slice(
            &x.iter()
                .flat_map(|w| [*w as u32, (*w >> 32) as u32])
                .collect::<Vec<_>>(),
        )
    }

    pub(super) fn limbs(x: &BigUint) -> Limbs {
        let mut out = [0u64; 6];
        for (i, d) in x.to_u64_digits().into_iter().enumerate() {
            out[i] = d;
        }
        out
    }

    pub(super) fn modulus() -> BigUint {
        big(&Fq::MODULUS)
    }

    #[test]
    fn constants() {
        let p = modulus();
        let r2 = (BigUint::from(1u8) << 832u32) % &p;
        assert_eq!(consts::R2_52, consts::to_52(&limbs(&r2)));
        let n0 = BigUint::from(consts::N0);
        assert_eq!(
            (n0 * &p + 1u8) % (BigUint::from(1u8) << 52u32),
            BigUint::from(0u8)
        );
        let p52 = consts::P52
            .iter()
            .rev()
            .fold(BigUint::from(0u8), |acc, l| (acc << 52u32) + *l);
        assert_eq!(p52, p);
    }

    /// Edge values, then random ones, `n` in all.
    pub(super) fn inputs(n: usize, rng: &mut StdRng) -> Vec<Limbs> {
        let p = modulus();
        let one = BigUint::from(1u8);
        let mut edges: Vec<BigUint> = vec![
            BigUint::from(0u8),
            one.clone(),
            BigUint::from(2u8),
            &p - 1u8,
            &p - 2u8,
            (&one << 381u32) % &p,
            &p - ((&one << 381u32) - &p),
            (&one << 380u32) - 1u8,
            &one << 380u32,
            (&one << 380u32) + 1u8,
            (&one << 384u32) % &p,
            (&one << 768u32) % &p,
            (&one << 416u32) % &p,
            (&one << 832u32) % &p,
            (&one << 364u32) - 1u8,
            (&one << 52u32) - 1u8,
            &one << 52u32,
            &p >> 1u32,
            (&p >> 1u32) + 1u8,
        ];
        edges.retain(|x| x < &p);
        let mut out: Vec<Limbs> = edges.iter().map(limbs).collect();
        while out.len() < n {
            let v = match rng.gen_range(0..8) {
                // Mostly uniform; sometimes a value with a saturated 52-bit limb or near p.
                0 => {
                    let mut l = *Fq::random(rng).limbs();
                    let k = rng.gen_range(0..7);
                    l = limbs(&((big(&l) | (((&one << 52u32) - 1u8) << (52 * k))) % &p));
                    l
                }
                1 => limbs(&(&p - 1u8 - BigUint::from(rng.gen::<u64>()))),
                _ => *Fq::random(rng).limbs(),
            };
            out.push(v);
        }
        out.truncate(n);
        out
    }

    fn check(kind: Kind, ifma: bool, a: &[Limbs], b: &[Limbs]) {
        let p = modulus();
        let r_inv = (BigUint::from(1u8) << 384u32).modpow(&(&p - 2u8), &p);
        let mut out = vec![[u64::MAX; 6]; a.len()];
        mul_with(kind, ifma, a, b, &mut out);
        for (i, ((x, y), z)) in a.iter().zip(b).zip(&out).enumerate() {
            let blst = match kind {
                Kind::Canonical => blst_ops::to_mont(&blst_ops::mont_mul(x, y)),
                Kind::Mont => blst_ops::mont_mul(x, y),
            };
            let oracle = match kind {
                Kind::Canonical => big(x) * big(y) % &p,
                Kind::Mont => big(x) * big(y) * &r_inv % &p,
            };
            assert!(big(z) < p, "{kind:?} ifma={ifma} index {i}: output not < p");
            assert_eq!(
                *z, blst,
                "{kind:?} ifma={ifma} index {i}: differs from blst"
            );
            assert_eq!(
                big(z),
                oracle,
                "{kind:?} ifma={ifma} index {i}: wrong product"
            );
        }
    }

    /// Says once per test that the IFMA half of it could not run here.
    fn note_skipped_ifma(test: &str) {
        if !cpu_has_ifma() {
            println!("SKIPPED the IFMA half of {test}: this CPU has no AVX-512 IFMA (blst only)");
        }
    }

    #[test]
    fn detected_when_the_cpu_has_it() {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512ifma") && std::is_x86_feature_detected!("avx512f") {
            assert!(cpu_has_ifma());
            let disabled = std::env::var_os("FIELD_BLS12_NO_IFMA").is_some_and(|v| !v.is_empty());
            assert_eq!(available(), !disabled);
        }
        if !cpu_has_ifma() {
            assert!(!available());
        }
    }

    #[test]
    fn matches_blst_and_bigint() {
        note_skipped_ifma("matches_blst_and_bigint");
        let mut rng = StdRng::seed_from_u64(0x1f3a_0b15);
        for n in [0, 1, 7, 8, 9, 16, 63, 65, 257, 20000] {
            let a = inputs(n, &mut rng);
            let mut b = inputs(n, &mut rng);
            // Edge values against edge values too, not only against random ones.
            b.rotate_left(n / 3);
            for kind in [Kind::Canonical, Kind::Mont] {
                if cpu_has_ifma() {
                    check(kind, true, &a, &b);
                }
                check(kind, false, &a, &b);
            }
        }
    }

    #[test]
    fn all_edge_pairs() {
        note_skipped_ifma("all_edge_pairs");
        let mut rng = StdRng::seed_from_u64(7);
        let e = inputs(19, &mut rng);
        let a: Vec<Limbs> = e.iter().flat_map(|x| e.iter().map(move |_| *x)).collect();
        let b: Vec<Limbs> = e.iter().flat_map(|_| e.iter().copied()).collect();
        for kind in [Kind::Canonical, Kind::Mont] {
            check(kind, cpu_has_ifma(), &a, &b);
        }
    }

    /// Asking for the vector code is safe on any CPU: without IFMA (this machine, when the
    /// note says so) `mul_with` takes blst instead of executing instructions the CPU lacks.
    #[test]
    fn asking_for_ifma_is_safe_on_any_cpu() {
        note_skipped_ifma("asking_for_ifma_is_safe_on_any_cpu (so it checks the fallback)");
        let mut rng = StdRng::seed_from_u64(17);
        let (a, b) = (inputs(41, &mut rng), inputs(41, &mut rng));
        for kind in [Kind::Canonical, Kind::Mont] {
            check(kind, true, &a, &b);
        }
    }

    #[test]
    fn public_entry_points() {
        let mut rng = StdRng::seed_from_u64(3);
        let (a, b) = (inputs(37, &mut rng), inputs(37, &mut rng));
        let mut out = vec![[0u64; 6]; 37];
        mul_canonical(&a, &b, &mut out);
        for i in 0..37 {
            assert_eq!(out[i], blst_ops::to_mont(&blst_ops::mont_mul(&a[i], &b[i])));
        }
        mul_mont(&a, &b, &mut out);
        for i in 0..37 {
            assert_eq!(out[i], blst_ops::mont_mul(&a[i], &b[i]));
        }
    }

    #[test]
    #[should_panic(expected = "slice lengths differ")]
    fn length_mismatch_panics() {
        let mut out = vec![[0u64; 6]; 2];
        mul_canonical(&[[0; 6]; 2], &[[0; 6]; 3], &mut out);
    }

    /// Single-thread ns per element, IFMA against blst:
    /// `cargo test --release -p field-bls12 --lib ifma -- --ignored --nocapture`.
    /// Rounds alternate between the variants so that a busy neighbour or a clock change
    /// hits all alike; the minimum over rounds is the figure to compare.
    #[test]
    #[ignore]
    fn bench() {
        use std::hint::black_box;
        use std::time::Instant;

        const ROUNDS: usize = 41;
        let mut rng = StdRng::seed_from_u64(11);
        for n in [16usize, 1 << 16] {
            let a: Vec<Limbs> = (0..n).map(|_| *Fq::random(&mut rng).limbs()).collect();
            let b: Vec<Limbs> = (0..n).map(|_| *Fq::random(&mut rng).limbs()).collect();
            let mut out = vec![[0u64; 6]; n];
            let reps = (1 << 17) / n;
            let mut variants = Vec::new();
            for kind in [Kind::Canonical, Kind::Mont] {
                for ifma in [true, false] {
                    if !ifma || cpu_has_ifma() {
                        variants.push((kind, ifma, Vec::with_capacity(ROUNDS)));
                    }
                }
            }
            for _ in 0..ROUNDS {
                for (kind, ifma, times) in &mut variants {
                    let t = Instant::now();
                    for _ in 0..reps {
                        mul_with(*kind, *ifma, black_box(&a), black_box(&b), &mut out);
                        black_box(&mut out);
                    }
                    times.push(t.elapsed().as_secs_f64() * 1e9 / (reps * n) as f64);
                }
            }
            for (kind, ifma, mut times) in variants {
                times.sort_by(f64::total_cmp);
                let who = if ifma { "ifma" } else { "blst" };
                println!(
                    "{kind:?} n={n} {who}: min {:.2} median {:.2} ns/elem",
                    times[0],
                    times[ROUNDS / 2]
                );
            }
        }
    }
}
