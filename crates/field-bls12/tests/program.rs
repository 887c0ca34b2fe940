//! Fused programs: GPU == CPU == the same chain composed from the batch operations.

mod common;

use common::{batch, SIZES};
use field_bls12::{cpu, FieldError, Fq, FqGpu, FqProgram, FQ_BYTES, MAX_PROGRAM_STEPS};
use vk_backend::test_support::test_context;

/// out = (a*b + c)^2 - a, and the same by batch operations.
fn example() -> FqProgram {
    let mut p = FqProgram::builder();
    let (a, b, c) = (p.input(), p.input(), p.input());
    let t = p.mul(a, b);
    let u = p.add(t, c);
    let v = p.square(u);
    let out = p.sub(v, a);
    p.build(out).unwrap()
}

fn example_by_ops(a: &[Fq], b: &[Fq], c: &[Fq]) -> Vec<Fq> {
    let t = cpu::mul(a, b).unwrap();
    let u = cpu::add(&t, c).unwrap();
    let v = cpu::square(&u).unwrap();
    cpu::sub(&v, a).unwrap()
}

/// A 10-operation chain of muls and adds over two inputs:
/// x = a; repeat 5 times { x = x * b; x = x + a }.
fn chain10() -> FqProgram {
    let mut p = FqProgram::builder();
    let (a, b) = (p.input(), p.input());
    let mut x = a;
    for _ in 0..5 {
        x = p.mul(x, b);
        x = p.add(x, a);
    }
    p.build(x).unwrap()
}

fn chain10_by_ops(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let mut x = a.to_vec();
    for _ in 0..5 {
        x = cpu::add(&cpu::mul(&x, b).unwrap(), a).unwrap();
    }
    x
}

#[test]
fn cpu_programs_match_composed_batch_ops() {
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = batch(n, 40 + k as u64);
        let (c, _) = batch(n, 80 + k as u64);
        assert_eq!(
            example().run_cpu(&[&a, &b, &c]).unwrap(),
            example_by_ops(&a, &b, &c),
            "n = {n}"
        );
        assert_eq!(
            chain10().run_cpu(&[&a, &b]).unwrap(),
            chain10_by_ops(&a, &b),
            "n = {n}"
        );
    }
}

#[test]
fn gpu_programs_match_cpu() {
    let Some(ctx) = test_context("gpu_programs_match_cpu") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    for (k, &n) in SIZES.iter().enumerate() {
        let (a, b) = batch(n, 140 + k as u64);
        let (c, _) = batch(n, 180 + k as u64);
        let want = example_by_ops(&a, &b, &c);
        assert_eq!(
            example().run_gpu(&gpu, &[&a, &b, &c]).unwrap(),
            want,
            "example, n = {n}"
        );
        assert_eq!(
            chain10().run_gpu(&gpu, &[&a, &b]).unwrap(),
            chain10_by_ops(&a, &b),
            "chain10, n = {n}"
        );
    }
}

#[test]
fn gpu_programs_without_multiplication_and_at_full_size() {
    let Some(ctx) = test_context("gpu_programs_without_multiplication_and_at_full_size") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let (a, b) = batch(1000, 7);
    // Linear only: stays in canonical form inside the kernel.
    let mut p = FqProgram::builder();
    let (x, y) = (p.input(), p.input());
    let d = p.double(x);
    let s = p.sub(d, y);
    let out = p.neg(s);
    let linear = p.build(out).unwrap();
    let want = cpu::neg(&cpu::sub(&cpu::double(&a).unwrap(), &b).unwrap()).unwrap();
    assert_eq!(linear.run_cpu(&[&a, &b]).unwrap(), want);
    assert_eq!(linear.run_gpu(&gpu, &[&a, &b]).unwrap(), want);
    // Identity: the output is an input.
    let mut p = FqProgram::builder();
    let x = p.input();
    let identity = p.build(x).unwrap();
    assert!(identity.is_empty());
    assert_eq!(identity.run_gpu(&gpu, &[&a]).unwrap(), a);
    // All 16 step slots: x -> x^2 + x, eight times, on one input.
    let mut p = FqProgram::builder();
    let x0 = p.input();
    let mut x = x0;
    for _ in 0..MAX_PROGRAM_STEPS / 2 {
        let sq = p.square(x);
        x = p.add(sq, x);
    }
    let full = p.build(x).unwrap();
    assert_eq!(full.len(), MAX_PROGRAM_STEPS);
    let mut want = a.clone();
    for _ in 0..MAX_PROGRAM_STEPS / 2 {
        want = cpu::add(&cpu::square(&want).unwrap(), &want).unwrap();
    }
    assert_eq!(full.run_cpu(&[&a]).unwrap(), want);
    assert_eq!(full.run_gpu(&gpu, &[&a]).unwrap(), want);
    // Four inputs, each used.
    let mut p = FqProgram::builder();
    let v: Vec<_> = (0..4).map(|_| p.input()).collect();
    let s1 = p.mul(v[0], v[1]);
    let s2 = p.mul(v[2], v[3]);
    let out = p.add(s1, s2);
    let four = p.build(out).unwrap();
    let (c, d) = batch(1000, 9);
    let want = cpu::add(&cpu::mul(&a, &b).unwrap(), &cpu::mul(&c, &d).unwrap()).unwrap();
    assert_eq!(four.run_gpu(&gpu, &[&a, &b, &c, &d]).unwrap(), want);
}

#[test]
fn bad_programs_are_typed_errors() {
    let invalid = |r: Result<FqProgram, FieldError>| match r {
        Err(FieldError::InvalidProgram(why)) => why,
        other => panic!("expected InvalidProgram, got {other:?}"),
    };
    let p = FqProgram::builder();
    let mut q = FqProgram::builder();
    let x = q.input();
    assert!(invalid(p.build(x)).contains("0 inputs"));
    let mut p = FqProgram::builder();
    let x = p.input();
    let y = p.double(x);
    let _late = p.input();
    assert!(invalid(p.build(y)).contains("before any operation"));
    let mut p = FqProgram::builder();
    let x = p.input();
    let mut y = x;
    for _ in 0..=MAX_PROGRAM_STEPS {
        y = p.double(y);
    }
    assert!(invalid(p.build(y)).contains("at most 16"));
    let mut p = FqProgram::builder();
    for _ in 0..5 {
        p.input();
    }
    assert!(invalid(p.build(x)).contains("5 inputs"));
    // Nine values alive at once (the input, used again at the end, and eight doubles):
    // more than the eight registers.
    let mut p = FqProgram::builder();
    let x = p.input();
    let vals: Vec<_> = (0..8).map(|_| p.double(x)).collect();
    let mut acc = vals[0];
    for v in &vals[1..] {
        acc = p.add(acc, *v);
    }
    let out = p.add(acc, x);
    assert!(invalid(p.build(out)).contains("more than 8 values"));
    // Running with the wrong inputs.
    let program = chain10();
    let one = [Fq::ONE];
    assert!(matches!(
        program.run_cpu(&[&one]),
        Err(FieldError::InvalidProgram(_))
    ));
    assert!(matches!(
        program.run_cpu(&[&one, &[]]),
        Err(FieldError::LengthMismatch { .. })
    ));
    assert_eq!(program.run_cpu(&[&[], &[]]).unwrap(), Vec::<Fq>::new());
}

#[test]
fn resident_vectors_chain_programs_without_transfers() {
    let Some(ctx) = test_context("resident_vectors_chain_programs_without_transfers") else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    for n in [0usize, 1, 65, 65537] {
        let (a, b) = batch(n, 300 + n as u64);
        let (c, _) = batch(n, 400 + n as u64);
        let (da, db, dc) = (
            gpu.upload(&a).unwrap(),
            gpu.upload(&b).unwrap(),
            gpu.upload(&c).unwrap(),
        );
        assert_eq!(da.len(), n);
        // example() then chain10() on its result, all on the GPU, one download.
        let e = gpu
            .run_program_resident(&example(), &[&da, &db, &dc])
            .unwrap();
        let f = gpu.run_program_resident(&chain10(), &[&e, &db]).unwrap();
        drop((e, da, dc)); // dropped while f may still be computed: must stay safe
        let got = gpu.download(&f).unwrap();
        let want = chain10_by_ops(&example_by_ops(&a, &b, &c), &b);
        assert_eq!(got, want, "n = {n}");
    }
    let (a, b) = batch(10, 1);
    let (da, db) = (gpu.upload(&a).unwrap(), gpu.upload(&b[..9]).unwrap());
    assert!(matches!(
        gpu.run_program_resident(&chain10(), &[&da, &db]),
        Err(FieldError::LengthMismatch { .. })
    ));
    assert!(matches!(
        gpu.run_program_resident(&chain10(), &[&da]),
        Err(FieldError::InvalidProgram(_))
    ));
}

#[test]
fn programs_write_into_caller_buffers_one_shot_and_streamed() {
    let Some(ctx) =
        vk_backend::test_support::test_context_with("programs_write_into_caller_buffers", |c| {
            c.with_stream_chunk_bytes(48 * 3001)
        })
    else {
        return;
    };
    let (a, b) = batch(20_000, 77);
    let want = chain10_by_ops(&a, &b);
    let batch_bytes = (a.len() * FQ_BYTES) as u64;
    for (streamed, stream_above) in [(false, u64::MAX), (true, 48 * 1000)] {
        let gpu = FqGpu::new(ctx.arc())
            .unwrap()
            .with_stream_above(stream_above);
        let mut out = vec![Fq::ONE; a.len()];
        let mean = common::mean_pool_buffer_after(&ctx, || {
            chain10().run_gpu_into(&gpu, &[&a, &b], &mut out).unwrap()
        });
        assert_eq!(out, want, "stream above {stream_above}");
        // Which path ran: a round trip holds batch-sized buffers, the stream chunk-sized
        // ones (3001 elements, about 144 KB, in pool buckets).
        if streamed {
            assert!(mean > 0 && mean < batch_bytes / 2, "streamed: {mean} bytes");
        } else {
            assert!(mean >= batch_bytes, "one round trip: {mean} bytes");
        }
        let mut short = vec![Fq::ZERO; 5];
        assert!(matches!(
            chain10().run_gpu_into(&gpu, &[&a, &b], &mut short),
            Err(FieldError::LengthMismatch { .. })
        ));
    }
}

#[test]
fn programs_stream_between_host_vectors() {
    const CHUNK: usize = 2999;
    const LARGE: usize = 20_000;
    // The in-place path halves what is left while it is more than twice its last range
    // (two chunks, rounded up to a multiple of 256): LARGE goes as at least two ranges.
    const _: () = assert!(LARGE > 2 * (2 * CHUNK).next_multiple_of(256));
    let Some(ctx) =
        vk_backend::test_support::test_context_with("programs_stream_between_host_vectors", |c| {
            c.with_stream_chunk_bytes((FQ_BYTES * CHUNK) as u64)
        })
    else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    for n in [0usize, 1, CHUNK, LARGE] {
        let (a, b) = batch(n, 900 + n as u64);
        let (ha, hb) = (
            gpu.host_vec_from(&a).unwrap(),
            gpu.host_vec_from(&b).unwrap(),
        );
        let mut out = gpu.alloc_host_vec(n).unwrap();
        assert!(
            out.read(|v| v.iter().all(|x| *x == Fq::ZERO)).unwrap(),
            "fresh host vectors are zero"
        );
        let pool = |s: vk_backend::PoolStats| s.idle_bytes + s.in_use_bytes;
        let before = pool(ctx.pool_stats());
        chain10().run_gpu_host(&gpu, &[&ha, &hb], &mut out).unwrap();
        // In place: no staging or device copies of the vectors, which would take at least
        // a vector's bytes from the pool (the kernels' status words take a few KB).
        let grew = pool(ctx.pool_stats()).saturating_sub(before);
        if n == LARGE {
            assert!(
                grew < (n * FQ_BYTES) as u64,
                "the pool grew by {grew} bytes"
            );
        }
        assert_eq!(out.to_vec().unwrap(), chain10_by_ops(&a, &b), "n = {n}");
        // The caller edits in place and runs again into the same output.
        let mut ha = ha;
        ha.write(|v| v.iter_mut().for_each(|x| *x += Fq::ONE))
            .unwrap();
        chain10().run_gpu_host(&gpu, &[&ha, &hb], &mut out).unwrap();
        let a1: Vec<Fq> = a.iter().map(|x| *x + Fq::ONE).collect();
        assert_eq!(
            out.to_vec().unwrap(),
            chain10_by_ops(&a1, &b),
            "n = {n}, second run"
        );
    }
    let (short, long) = (
        gpu.alloc_host_vec(3).unwrap(),
        gpu.alloc_host_vec(4).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(4).unwrap();
    assert!(matches!(
        chain10().run_gpu_host(&gpu, &[&short, &long], &mut out),
        Err(FieldError::LengthMismatch { .. })
    ));
}

/// chain10 by big integers (the independent oracle).
fn chain10_by_oracle(a: &[Fq], b: &[Fq]) -> Vec<Fq> {
    let p = common::modulus();
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            let (a, b) = (common::to_big(a), common::to_big(b));
            let mut x = a.clone();
            for _ in 0..5 {
                x = (x * &b) % &p;
                x = (x + &a) % &p;
            }
            common::from_big(&x)
        })
        .collect()
}

#[test]
fn programs_split_between_gpu_and_cpu_on_host_vectors() {
    let Some(ctx) = vk_backend::test_support::test_context_with(
        "programs_split_between_gpu_and_cpu_on_host_vectors",
        |c| c.with_stream_chunk_bytes(48 * 2999),
    ) else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let add = {
        let mut p = FqProgram::builder();
        let (x, y) = (p.input(), p.input());
        let s = p.add(x, y);
        p.build(s).unwrap()
    };
    for n in [0usize, 1, 63, 65, 257, 2999, 20_000] {
        let (a, b) = batch(n, 700 + n as u64);
        let (ha, hb) = (
            gpu.host_vec_from(&a).unwrap(),
            gpu.host_vec_from(&b).unwrap(),
        );
        let want_chain = chain10_by_oracle(&a, &b);
        assert_eq!(
            want_chain,
            chain10_by_ops(&a, &b),
            "oracle vs blst, n = {n}"
        );
        let want_add = cpu::add(&a, &b).unwrap();
        let mut splits = vec![0, 1, n / 3, n.saturating_sub(1), n];
        splits.retain(|&k| k <= n);
        splits.dedup();
        for gpu_len in splits {
            let mut out = gpu.alloc_host_vec(n).unwrap();
            chain10()
                .run_split_host(&gpu, &[&ha, &hb], &mut out, gpu_len)
                .unwrap();
            assert_eq!(
                out.to_vec().unwrap(),
                want_chain,
                "chain, n = {n}, GPU {gpu_len}"
            );
            add.run_split_host(&gpu, &[&ha, &hb], &mut out, gpu_len)
                .unwrap();
            assert_eq!(
                out.to_vec().unwrap(),
                want_add,
                "add, n = {n}, GPU {gpu_len}"
            );
        }
    }
    // A GPU share past the end is an error, and nothing is written.
    let (a, b) = batch(10, 5);
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(10).unwrap();
    let err = add
        .run_split_host(&gpu, &[&ha, &hb], &mut out, 11)
        .unwrap_err();
    assert!(matches!(err, FieldError::Gpu(_)), "{err}");
    assert!(err.to_string().contains("past the end"), "{err}");
    assert!(out.read(|v| v.iter().all(|x| *x == Fq::ZERO)).unwrap());
}

/// CPU programs that multiply (evaluated sixteen elements at a time, with AVX-512 IFMA
/// where the CPU has it) against the big-integer oracle, in both of the CPU's
/// representations (canonical for few products, Montgomery for many), through `run_cpu`
/// and `run_cpu_into`, at awkward sizes with the edge values first.
#[test]
fn cpu_programs_that_multiply_match_the_oracle() {
    let p = common::modulus();
    // Canonical on the CPU: one product.
    let single = {
        let mut b = FqProgram::builder();
        let (x, y) = (b.input(), b.input());
        let out = b.mul(x, y);
        b.build(out).unwrap()
    };
    // Montgomery on the CPU (4 products > 2 inputs + 1): squares, negation, doubling.
    let mont = {
        let mut b = FqProgram::builder();
        let (x, y) = (b.input(), b.input());
        let s = b.square(x);
        let t = b.mul(s, y);
        let u = b.neg(t);
        let v = b.double(u);
        let w = b.mul(v, x);
        let z = b.square(w);
        let out = b.sub(z, y);
        b.build(out).unwrap()
    };
    for (k, &n) in SIZES.iter().chain(&[15, 16, 17, 4099]).enumerate() {
        let (a, b) = batch(n, 500 + k as u64);
        let oracle =
            |f: &dyn Fn(&num_bigint::BigUint, &num_bigint::BigUint) -> num_bigint::BigUint| {
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| {
                        common::from_big(&(f(&common::to_big(x), &common::to_big(y)) % &p))
                    })
                    .collect::<Vec<Fq>>()
            };
        let want_single = oracle(&|x, y| x * y);
        let want_mont = oracle(&|x, y| {
            let t = (x * x % &p) * y % &p;
            let v = (&p - &t) * 2u32 % &p;
            let w = v * x % &p;
            (&w * &w + &p - y) % &p
        });
        let want_chain = chain10_by_oracle(&a, &b);
        for (name, program, want) in [
            ("single mul", &single, &want_single),
            ("montgomery chain", &mont, &want_mont),
            ("chain10", &chain10(), &want_chain),
        ] {
            assert_eq!(
                &program.run_cpu(&[&a, &b]).unwrap(),
                want,
                "{name}, n = {n}"
            );
            let mut out = vec![Fq::ONE; n];
            program.run_cpu_into(&[&a, &b], &mut out).unwrap();
            assert_eq!(&out, want, "{name} into, n = {n}");
        }
        // blst, element by element, agrees too.
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x * y, want_single[i], "blst, n = {n}, i = {i}");
        }
    }
}

/// Outputs from 2^18 elements up are written with streaming (non-temporal) stores:
/// `run_cpu_into` there, for programs with and without products, equals the big-integer
/// oracle (every element for add and mul; the example chain against the batch
/// operations), over a length that is no multiple of the tasks, into a dirty output.
/// Fresh results this large (12 MiB) come from vectors that ask for huge pages
/// (`raw::output_vec`): `run_cpu`, `cpu::add` and `cpu::mul` equal the oracle too.
#[test]
fn cpu_programs_into_large_outputs_match_the_oracle() {
    let n = (1 << 18) + 4099;
    let (a, b) = batch(n, 77);
    let c: Vec<Fq> = b.iter().rev().copied().collect();
    let program = |mul: bool| {
        let mut p = FqProgram::builder();
        let (x, y) = (p.input(), p.input());
        let r = if mul { p.mul(x, y) } else { p.add(x, y) };
        p.build(r).unwrap()
    };
    for (mul, want) in [
        (false, common::oracle_add(&a, &b)),
        (true, common::oracle_mul(&a, &b)),
    ] {
        let mut out = vec![Fq::ONE; n];
        program(mul).run_cpu_into(&[&a, &b], &mut out).unwrap();
        let fresh = program(mul).run_cpu(&[&a, &b]).unwrap();
        let batch_op = if mul {
            cpu::mul(&a, &b)
        } else {
            cpu::add(&a, &b)
        }
        .unwrap();
        for (what, got) in [("into", &out), ("fresh", &fresh), ("batch op", &batch_op)] {
            assert!(
                *got == want,
                "mul {mul}, {what}: first difference at {:?}",
                got.iter().zip(&want).position(|(x, y)| x != y)
            );
        }
    }
    let mut out = vec![Fq::ONE; n];
    example().run_cpu_into(&[&a, &b, &c], &mut out).unwrap();
    let want = example_by_ops(&a, &b, &c);
    assert!(out == want, "example chain");
    assert!(
        example().run_cpu(&[&a, &b, &c]).unwrap() == want,
        "example chain, fresh"
    );
}
