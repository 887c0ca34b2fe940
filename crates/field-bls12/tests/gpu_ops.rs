//! Every element-wise Fq operation on the GPU against a big-integer oracle, with the
//! validation layer on: edge values, the batch sizes, workgroup sizes, repeated runs,
//! algebraic identities and input errors. Needs a Vulkan device (lavapipe in CI); see
//! vk_backend::test_support.

mod common;
#[path = "common/gpu_oracle.rs"]
mod gpu_oracle;

use common::{batch, edge_pairs, modulus, SIZES};
use field_bls12::{FieldError, Fq, FqGpu, FqMont, FQ_LIMBS};
use gpu_oracle::{Oracle, R_MOD_P};
use num_bigint::BigUint;
use vk_backend::test_support::test_context;

/// The operations under test, so one loop covers them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Neg,
    Double,
    Mul,
    Square,
    Fma,
    ToMont,
    FromMont,
    MontMul,
}

const ALL_OPS: [Op; 10] = [
    Op::Add,
    Op::Sub,
    Op::Neg,
    Op::Double,
    Op::Mul,
    Op::Square,
    Op::Fma,
    Op::ToMont,
    Op::FromMont,
    Op::MontMul,
];

/// One batch's operands: canonical `a`, `b`, `c`, and `am`, `bm`, the Montgomery forms whose
/// limbs are those of `a` and `b` (every canonical limb array is a valid Montgomery form).
struct Inputs {
    a: Vec<Fq>,
    b: Vec<Fq>,
    c: Vec<Fq>,
    am: Vec<FqMont>,
    bm: Vec<FqMont>,
}

impl Inputs {
    fn new(a: Vec<Fq>, b: Vec<Fq>, c: Vec<Fq>) -> Self {
        let mont = |v: &[Fq]| -> Vec<FqMont> {
            v.iter()
                .map(|x| FqMont::from_mont_limbs(*x.limbs()).unwrap())
                .collect()
        };
        let (am, bm) = (mont(&a), mont(&b));
        Self { a, b, c, am, bm }
    }

    /// `n` elements: the edge pairs first, then seeded random values.
    fn batch(n: usize, seed: u64) -> Self {
        let (a, b) = batch(n, seed);
        let (_, mut c) = batch(n, seed.wrapping_add(1_000_003));
        c.reverse(); // pair edge values with other edge values
        Self::new(a, b, c)
    }

    fn edges() -> Self {
        let (a, b): (Vec<Fq>, Vec<Fq>) = edge_pairs().into_iter().unzip();
        let mut c = a.clone();
        c.rotate_left(3);
        Self::new(a, b, c)
    }

    fn len(&self) -> usize {
        self.a.len()
    }
}

fn limbs(v: &[Fq]) -> Vec<[u64; FQ_LIMBS]> {
    v.iter().map(|x| *x.limbs()).collect()
}

fn mont_limbs(v: &[FqMont]) -> Vec<[u64; FQ_LIMBS]> {
    v.iter().map(|x| *x.mont_limbs()).collect()
}

/// `op` on the GPU, as raw limbs (canonical or Montgomery, whichever the op returns).
fn on_gpu(gpu: &FqGpu, op: Op, x: &Inputs) -> Vec<[u64; FQ_LIMBS]> {
    let result = match op {
        Op::Add => gpu.add(&x.a, &x.b).map(|r| limbs(&r)),
        Op::Sub => gpu.sub(&x.a, &x.b).map(|r| limbs(&r)),
        Op::Neg => gpu.neg(&x.a).map(|r| limbs(&r)),
        Op::Double => gpu.double(&x.a).map(|r| limbs(&r)),
        Op::Mul => gpu.mul(&x.a, &x.b).map(|r| limbs(&r)),
        Op::Square => gpu.square(&x.a).map(|r| limbs(&r)),
        Op::Fma => gpu.fma(&x.a, &x.b, &x.c).map(|r| limbs(&r)),
        Op::ToMont => gpu.to_mont(&x.a).map(|r| mont_limbs(&r)),
        Op::FromMont => gpu.from_mont(&x.am).map(|r| limbs(&r)),
        Op::MontMul => gpu.mont_mul(&x.am, &x.bm).map(|r| mont_limbs(&r)),
    };
    let out = result.unwrap_or_else(|e| panic!("{op:?} on {} elements failed: {e}", x.len()));
    assert_eq!(out.len(), x.len(), "{op:?}");
    out
}

/// `op` by the big-integer oracle, as raw limbs.
fn by_oracle(oracle: &Oracle, op: Op, x: &Inputs) -> Vec<[u64; FQ_LIMBS]> {
    match op {
        Op::Add => limbs(&oracle.add(&x.a, &x.b)),
        Op::Sub => limbs(&oracle.sub(&x.a, &x.b)),
        Op::Neg => limbs(&oracle.neg(&x.a)),
        Op::Double => limbs(&oracle.double(&x.a)),
        Op::Mul => limbs(&oracle.mul(&x.a, &x.b)),
        Op::Square => limbs(&oracle.square(&x.a)),
        Op::Fma => limbs(&oracle.fma(&x.a, &x.b, &x.c)),
        Op::ToMont => mont_limbs(&oracle.to_mont(&x.a)),
        Op::FromMont => limbs(&oracle.from_mont(&x.am)),
        Op::MontMul => mont_limbs(&oracle.mont_mul(&x.am, &x.bm)),
    }
}

/// Asserts equal results, naming the first differing element and its operands.
fn assert_same(op: Op, what: &str, x: &Inputs, got: &[[u64; FQ_LIMBS]], want: &[[u64; FQ_LIMBS]]) {
    assert_eq!(got.len(), want.len(), "{op:?} {what}: lengths");
    if let Some(i) = got.iter().zip(want).position(|(g, w)| g != w) {
        panic!(
            "{op:?} {what}: first difference at index {i} of {}\n  a = {}\n  b = {}\n  c = {}\n  \
             got  {:016x?}\n  want {:016x?}",
            got.len(),
            x.a[i],
            x.b[i],
            x.c[i],
            got[i],
            want[i]
        );
    }
}

#[test]
fn every_op_matches_the_oracle_on_edge_values() {
    let Some(ctx) = test_context("every_op_matches_the_oracle_on_edge_values") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let oracle = Oracle::new();
    let x = Inputs::edges();
    for op in ALL_OPS {
        let got = on_gpu(&gpu, op, &x);
        assert_same(op, "edge values", &x, &got, &by_oracle(&oracle, op, &x));
    }

    // Spot checks that do not go through the oracle.
    let p = modulus();
    let pm1 = common::from_big(&(&p - 1u32));
    let one_mont = FqMont::from_mont_limbs(R_MOD_P).unwrap();
    assert_eq!(gpu.neg(&[Fq::ZERO, Fq::ONE]).unwrap(), vec![Fq::ZERO, pm1]);
    assert_eq!(gpu.sub(&[Fq::ZERO], &[Fq::ONE]).unwrap(), vec![pm1]);
    assert_eq!(
        gpu.double(&[pm1]).unwrap(),
        vec![common::from_big(&(&p - 2u32))]
    );
    assert_eq!(gpu.mul(&[pm1], &[pm1]).unwrap(), vec![Fq::ONE]); // (-1)^2
    assert_eq!(gpu.square(&[pm1]).unwrap(), vec![Fq::ONE]);
    assert_eq!(
        gpu.mul(&[Fq::from_u64(3)], &[Fq::from_u64(5)]).unwrap(),
        vec![Fq::from_u64(15)]
    );
    assert_eq!(
        gpu.to_mont(&[Fq::ONE, Fq::ZERO]).unwrap(),
        vec![one_mont, FqMont::ZERO]
    );
    assert_eq!(gpu.from_mont(&[one_mont]).unwrap(), vec![Fq::ONE]);
    assert_eq!(
        gpu.mont_mul(&[one_mont], &[one_mont]).unwrap(),
        vec![one_mont]
    );
    assert_eq!(
        gpu.fma(&[pm1], &[Fq::ONE], &[Fq::ONE]).unwrap(),
        vec![Fq::ZERO]
    );
}

#[test]
fn every_op_matches_the_oracle_at_every_size() {
    let Some(ctx) = test_context("every_op_matches_the_oracle_at_every_size") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let oracle = Oracle::new();
    for (k, &n) in SIZES.iter().enumerate() {
        let x = Inputs::batch(n, 400 + k as u64);
        for op in ALL_OPS {
            let got = on_gpu(&gpu, op, &x);
            assert_same(
                op,
                &format!("n = {n}"),
                &x,
                &got,
                &by_oracle(&oracle, op, &x),
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_workgroup_size_or_repetition() {
    let Some(ctx) = test_context("results_do_not_depend_on_workgroup_size_or_repetition") else {
        return;
    };
    let oracle = Oracle::new();
    // 1000 elements take the direct kernels, 5000 the tiled ones (the crate's
    // `round_trips_take_both_kernel_flavours` checks the threshold between them).
    for n in [1000, 5000] {
        let x = Inputs::batch(n, 9);
        let want: Vec<_> = ALL_OPS
            .iter()
            .map(|&op| by_oracle(&oracle, op, &x))
            .collect();
        for size in [1, 64, 100, 256] {
            let gpu = FqGpu::with_workgroup_size(ctx.arc(), size).unwrap();
            for (&op, want) in ALL_OPS.iter().zip(&want) {
                for run in 0..2 {
                    let got = on_gpu(&gpu, op, &x);
                    assert_same(
                        op,
                        &format!("n = {n}, workgroup size {size}, run {run}"),
                        &x,
                        &got,
                        want,
                    );
                }
            }
        }
    }
    // The tiled kernels hold a workgroup's elements in shared memory sized for 256.
    let err =
        FqGpu::with_workgroup_size(ctx.arc(), field_bls12::MAX_WORKGROUP_SIZE + 1).unwrap_err();
    assert!(
        matches!(err, FieldError::Gpu(vk_backend::Error::InvalidArgument(_))),
        "{err}"
    );
}

#[test]
fn identities_hold_on_the_gpu() {
    let Some(ctx) = test_context("identities_hold_on_the_gpu") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let x = Inputs::batch(65537, 77);
    let (a, b, c) = (&x.a, &x.b, &x.c);

    // Montgomery round trips, both ways.
    let a_mont = gpu.to_mont(a).unwrap();
    assert_eq!(
        &gpu.from_mont(&a_mont).unwrap(),
        a,
        "from_mont(to_mont(a)) = a"
    );
    let am_canon = gpu.from_mont(&x.am).unwrap();
    assert_eq!(
        gpu.to_mont(&am_canon).unwrap(),
        x.am,
        "to_mont(from_mont(m)) = m"
    );

    // Products agree across representations and kernels.
    let ab = gpu.mul(a, b).unwrap();
    let b_mont = gpu.to_mont(b).unwrap();
    let ab_mont = gpu.mont_mul(&a_mont, &b_mont).unwrap();
    assert_eq!(
        gpu.from_mont(&ab_mont).unwrap(),
        ab,
        "mont_mul = mul in Montgomery form"
    );
    assert_eq!(
        gpu.fma(a, b, c).unwrap(),
        gpu.add(&ab, c).unwrap(),
        "fma = add(mul)"
    );
    assert_eq!(
        gpu.square(a).unwrap(),
        gpu.mul(a, a).unwrap(),
        "square = mul(a, a)"
    );

    // The additive group.
    let neg_b = gpu.neg(b).unwrap();
    assert_eq!(
        gpu.sub(a, b).unwrap(),
        gpu.add(a, &neg_b).unwrap(),
        "sub = add(neg)"
    );
    assert!(
        gpu.add(b, &neg_b).unwrap().iter().all(|v| *v == Fq::ZERO),
        "b + -b = 0"
    );
    assert_eq!(
        gpu.double(a).unwrap(),
        gpu.add(a, a).unwrap(),
        "double = add(a, a)"
    );
}

#[test]
fn bad_lengths_name_the_op_and_empty_batches_skip_the_gpu() {
    let Some(ctx) = test_context("bad_lengths_name_the_op_and_empty_batches_skip_the_gpu") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let (two, five) = ([Fq::ONE; 2], [Fq::ONE; 5]);
    let two_mont = [FqMont::ZERO; 2];
    let five_mont = [FqMont::ZERO; 5];
    let mismatches = [
        ("add", gpu.add(&two, &five).unwrap_err()),
        ("sub", gpu.sub(&two, &five).unwrap_err()),
        ("mul", gpu.mul(&two, &five).unwrap_err()),
        ("fma", gpu.fma(&two, &five, &two).unwrap_err()),
        ("fma", gpu.fma(&two, &two, &five).unwrap_err()),
        ("mont_mul", gpu.mont_mul(&two_mont, &five_mont).unwrap_err()),
    ];
    for (name, err) in mismatches {
        assert!(
            matches!(err, FieldError::LengthMismatch { op, left: 2, right: 5 } if op == name),
            "{name}: {err}"
        );
    }

    let empty = Inputs::new(Vec::new(), Vec::new(), Vec::new());
    for op in ALL_OPS {
        assert!(on_gpu(&gpu, op, &empty).is_empty(), "{op:?}");
    }
    // Every call above was rejected or empty: nothing reached the device.
    assert_eq!(ctx.live_allocations(), 0);
}

/// The oracle itself, checked against values computed independently (blst's constants and
/// small numbers), so a wrong oracle cannot make a wrong kernel pass.
#[test]
fn the_oracle_agrees_with_known_values() {
    let oracle = Oracle::new();
    let p = modulus();
    let r2 = BigUint::parse_bytes(
        b"11988fe592cae3aa9a793e85b519952d67eb88a9939d83c08de5476c4c95b6d50a76e6a609d104f1f4df1f341c341746",
        16,
    )
    .unwrap(); // blst's BLS12_381_RR
    let one_mont = FqMont::from_mont_limbs(R_MOD_P).unwrap();
    assert_eq!(oracle.to_mont(&[Fq::ONE]), vec![one_mont]);
    assert_eq!(
        Oracle::mont_big(
            &oracle.to_mont(&[common::from_big(&((BigUint::from(1u32) << 384usize) % &p))])[0]
        ),
        r2
    );
    assert_eq!(oracle.from_mont(&[one_mont]), vec![Fq::ONE]);
    assert_eq!(oracle.mont_mul(&[one_mont], &[one_mont]), vec![one_mont]);
    let (six, seven) = (Fq::from_u64(6), Fq::from_u64(7));
    assert_eq!(oracle.mul(&[six], &[seven]), vec![Fq::from_u64(42)]);
    assert_eq!(
        oracle.fma(&[six], &[seven], &[Fq::ONE]),
        vec![Fq::from_u64(43)]
    );
    assert_eq!(
        oracle.sub(&[six], &[seven]),
        vec![common::from_big(&(&p - 1u32))]
    );
    assert_eq!(oracle.neg(&[Fq::ZERO]), vec![Fq::ZERO]);
}
