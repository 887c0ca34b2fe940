//! Shared pieces of the Fq tests: the big-integer oracle, edge values, batch builders.
#![allow(dead_code, unreachable_pub)]

use field_bls12::Fq;
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::SeedableRng;

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

/// The independent oracle: (a + b) mod p with arbitrary-precision integers.
pub fn oracle_add(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let p = modulus();
    a.iter()
        .zip(b)
        .map(|(x, y)| from_big(&((to_big(x) + to_big(y)) % &p)))
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
    let mut rng = StdRng::seed_from_u64(seed);
    let edges = edge_pairs();
    (0..n)
        .map(|i| match edges.get(i) {
            Some(pair) => *pair,
            None => (Fq::random(&mut rng), Fq::random(&mut rng)),
        })
        .unzip()
}
