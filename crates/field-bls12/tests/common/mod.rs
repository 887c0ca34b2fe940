//! Shared pieces of the Fq tests: the big-integer oracle for every operation (canonical and
//! Montgomery form), edge values, batch builders.
#![allow(dead_code, unreachable_pub)]

use field_bls12::{Fq, FqMont};
use num_bigint::BigUint;
use rand::RngCore;
use rayon::prelude::*;

/// Batch sizes from the issue: around workgroup multiples, 0, 1 and one past 2^16.
pub const SIZES: [usize; 10] = [0, 1, 63, 64, 65, 255, 256, 257, 1000, 65537];

pub fn modulus() -> BigUint {
    BigUint::parse_bytes(
        b"1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab",
        16,
    )
    .unwrap()
}

pub fn to_big(v: &Fq) -> BigUint {
    BigUint::from_bytes_be(&v.to_be_bytes())
}

pub fn from_big(v: &BigUint) -> Fq {
    let bytes = v.to_bytes_be();
    assert!(bytes.len() <= 48, "oracle value too large");
    let mut be = [0u8; 48];
    be[48 - bytes.len()..].copy_from_slice(&bytes);
    Fq::from_be_bytes(&be).expect("oracle values are reduced")
}

/// `R = 2^384`, the Montgomery radix, reduced mod p.
pub fn r_mod_p() -> BigUint {
    (BigUint::from(1u32) << 384usize) % modulus()
}

/// `R^-1 mod p` (by Fermat: `R^(p-2)`; computed once, a debug-build modpow is slow).
pub fn r_inv_mod_p() -> BigUint {
    static R_INV: std::sync::OnceLock<BigUint> = std::sync::OnceLock::new();
    R_INV
        .get_or_init(|| {
            let p = modulus();
            r_mod_p().modpow(&(&p - 2u32), &p)
        })
        .clone()
}

/// Little-endian u64 limbs of an integer below 2^384.
pub fn limbs_of(v: &BigUint) -> [u64; 6] {
    let digits = v.to_u64_digits();
    assert!(digits.len() <= 6, "oracle value too large");
    let mut limbs = [0u64; 6];
    limbs[..digits.len()].copy_from_slice(&digits);
    limbs
}

/// The integer that little-endian u64 limbs hold.
pub fn big_of(limbs: &[u64; 6]) -> BigUint {
    let digits: Vec<u32> = limbs
        .iter()
        .flat_map(|&l| [l as u32, (l >> 32) as u32])
        .collect();
    BigUint::new(digits)
}

/// The integer a Montgomery form's limbs hold (`x * R mod p`, not `x`).
pub fn mont_to_big(v: &FqMont) -> BigUint {
    big_of(v.mont_limbs())
}

/// The Montgomery form whose limbs hold `v` (`v < p`).
pub fn mont_from_big(v: &BigUint) -> FqMont {
    FqMont::from_mont_limbs(limbs_of(v)).expect("oracle values are reduced")
}

/// The big-integer oracle: `f` on the integer values, reduced mod p, on every element (in
/// parallel: the oracle is the slow part of a debug-build test).
pub fn oracle1(a: &[Fq], f: impl Fn(BigUint) -> BigUint + Sync) -> Vec<Fq> {
    let p = modulus();
    a.par_iter()
        .map(|x| from_big(&(f(to_big(x)) % &p)))
        .collect()
}

/// As [`oracle1`] for two operands.
pub fn oracle2(a: &[Fq], b: &[Fq], f: impl Fn(BigUint, BigUint) -> BigUint + Sync) -> Vec<Fq> {
    assert_eq!(a.len(), b.len());
    let p = modulus();
    a.par_iter()
        .zip(b)
        .map(|(x, y)| from_big(&(f(to_big(x), to_big(y)) % &p)))
        .collect()
}

/// As [`oracle1`] for three operands.
pub fn oracle3(
    a: &[Fq],
    b: &[Fq],
    c: &[Fq],
    f: impl Fn(BigUint, BigUint, BigUint) -> BigUint + Sync,
) -> Vec<Fq> {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.len(), c.len());
    let p = modulus();
    a.par_iter()
        .zip(b)
        .zip(c)
        .map(|((x, y), z)| from_big(&(f(to_big(x), to_big(y), to_big(z)) % &p)))
        .collect()
}

/// The independent oracle: (a + b) mod p with arbitrary-precision integers.
pub fn oracle_add(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    oracle2(a, b, |x, y| x + y)
}

/// (a - b) mod p.
pub fn oracle_sub(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let p = modulus();
    oracle2(a, b, |x, y| x + &p - y)
}

/// (-a) mod p.
pub fn oracle_neg(a: &[Fq]) -> Vec<Fq> {
    let p = modulus();
    oracle1(a, |x| &p - x)
}

/// 2a mod p.
pub fn oracle_double(a: &[Fq]) -> Vec<Fq> {
    oracle1(a, |x| x << 1u32)
}

/// a * b mod p.
pub fn oracle_mul(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    oracle2(a, b, |x, y| x * y)
}

/// a^2 mod p.
pub fn oracle_square(a: &[Fq]) -> Vec<Fq> {
    oracle1(a, |x| &x * &x)
}

/// a * b + c mod p.
pub fn oracle_fma(a: &[Fq], b: &[Fq], c: &[Fq]) -> Vec<Fq> {
    oracle3(a, b, c, |x, y, z| x * y + z)
}

/// Montgomery forms: `x * R mod p` for each canonical `x`.
pub fn oracle_to_mont(a: &[Fq]) -> Vec<FqMont> {
    let (p, r) = (modulus(), r_mod_p());
    a.par_iter()
        .map(|x| mont_from_big(&(to_big(x) * &r % &p)))
        .collect()
}

/// Canonical forms: `y * R^-1 mod p` for each Montgomery-form limbs `y`.
pub fn oracle_from_mont(a: &[FqMont]) -> Vec<Fq> {
    let (p, r_inv) = (modulus(), r_inv_mod_p());
    a.par_iter()
        .map(|y| from_big(&(mont_to_big(y) * &r_inv % &p)))
        .collect()
}

/// The oracle for Montgomery-form operations, on the limbs as integers: `f` on the limb
/// values of `inputs[k][i]` (each `y = x R mod p`), reduced mod p, as Montgomery-form limbs.
/// So `x + y` is `mont_add`, `x * y * R^-1` is `mont_mul`.
pub fn oracle_mont(
    inputs: &[&[FqMont]],
    f: impl Fn(&[BigUint], &BigUint) -> BigUint + Sync,
) -> Vec<FqMont> {
    let n = inputs[0].len();
    assert!(inputs.iter().all(|v| v.len() == n));
    let (p, r_inv) = (modulus(), r_inv_mod_p());
    (0..n)
        .into_par_iter()
        .map(|i| {
            let ys: Vec<BigUint> = inputs.iter().map(|v| mont_to_big(&v[i])).collect();
            mont_from_big(&(f(&ys, &r_inv) % &p))
        })
        .collect()
}

fn fq(v: &BigUint) -> Fq {
    from_big(v)
}

/// Edge pairs: 0, 1, p-1, p-2, pairs summing to p-1, p and p+1, max + max.
pub fn edge_pairs() -> Vec<(Fq, Fq)> {
    let p = modulus();
    let one = BigUint::from(1u32);
    let two = BigUint::from(2u32);
    let pm1 = &p - &one;
    let pm2 = &p - &two;
    let half = &p >> 1; // (p-1)/2, p odd
    let mut pairs = vec![
        (Fq::ZERO, Fq::ZERO),
        (Fq::ZERO, Fq::ONE),
        (Fq::ONE, Fq::ONE),
        (fq(&pm1), Fq::ZERO),
        (fq(&pm1), Fq::ONE),  // = p
        (fq(&pm1), fq(&two)), // = p + 1
        (fq(&pm2), Fq::ONE),  // = p - 1
        (fq(&pm2), fq(&two)), // = p
        (fq(&pm2), fq(&pm2)),
        (fq(&half), fq(&half)),                     // = p - 1
        (fq(&half), fq(&(&half + &one))),           // = p
        (fq(&(&half + &one)), fq(&(&half + &one))), // = p + 1
        (fq(&pm1), fq(&pm1)),                       // max + max
        (
            fq(&(BigUint::from(u64::MAX))),
            fq(&(&p - BigUint::from(u64::MAX))),
        ), // = p, carries across limbs
    ];
    // Values with one limb all-ones: carry chains through the middle limbs.
    for limb in 0..6 {
        let v = (BigUint::from(u64::MAX) << (64 * limb)) % &p;
        pairs.push((fq(&v), fq(&(&p - &one - &v))));
        pairs.push((fq(&v), fq(&v)));
    }
    pairs
}

/// Two batches of length `n`: the edge pairs first (cycled), then seeded random values.
pub fn batch(n: usize, seed: u64) -> (Vec<Fq>, Vec<Fq>) {
    let mut rng = TestRng(seed);
    let edges = edge_pairs();
    (0..n)
        .map(|i| match edges.get(i) {
            Some(pair) => *pair,
            None => (Fq::random(&mut rng), Fq::random(&mut rng)),
        })
        .unzip()
}

/// Every distinct value in the edge pairs (for unary operations).
pub fn edge_values() -> Vec<Fq> {
    let mut values: Vec<Fq> = edge_pairs().into_iter().flat_map(|(a, b)| [a, b]).collect();
    values.sort();
    values.dedup();
    values
}

/// Three batches of length `n` for `a * b + c`: the edge pairs as `(a, b)` with `c` running
/// through the edge values (so products and sums both hit the edges), then seeded random
/// values.
pub fn batch3(n: usize, seed: u64) -> (Vec<Fq>, Vec<Fq>, Vec<Fq>) {
    let (a, b) = batch(n, seed);
    let edges = edge_values();
    let mut rng = TestRng(seed ^ 0x5eed_c0de);
    let c = (0..n)
        .map(|i| match edges.get(i) {
            Some(v) => *v,
            None => Fq::random(&mut rng),
        })
        .collect();
    (a, b, c)
}

/// SplitMix64: a tiny seeded generator for test data. `StdRng` (ChaCha12) costs about a
/// second per 100k elements in a debug build; this costs a few milliseconds. Not for keys.
#[derive(Debug, Clone)]
pub struct TestRng(pub u64);

impl RngCore for TestRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The mean size in bytes of the buffers `job` leaves in `ctx`'s emptied buffer pool (0 for
/// none): how to tell the two host-to-host paths apart from outside. A job streamed in
/// chunks leaves its pipeline's chunk-sized buffers (device slots, upload and readback
/// staging); a one-round-trip job leaves buffers as large as its whole batch.
pub fn mean_pool_buffer_after(ctx: &vk_backend::Context, job: impl FnOnce()) -> u64 {
    ctx.trim_pool();
    job();
    let stats = ctx.pool_stats();
    stats.idle_bytes / stats.idle_buffers.max(1) as u64
}
