//! Fused chains of Fq operations: a small program over named values, run as ONE kernel on
//! the GPU (intermediates in registers) or element by element on the CPU, bit-identical.
//!
//! ```
//! use field_bls12::{Fq, FqProgram};
//! // out = (a*b + c)^2
//! let mut p = FqProgram::builder();
//! let (a, b, c) = (p.input(), p.input(), p.input());
//! let t = p.mul(a, b);
//! let u = p.add(t, c);
//! let out = p.square(u);
//! let program = p.build(out)?;
//! let x = [Fq::from_u64(2)];
//! let y = [Fq::from_u64(3)];
//! let z = [Fq::from_u64(1)];
//! assert_eq!(program.run_cpu(&[&x, &y, &z])?, vec![Fq::from_u64(49)]);
//! # Ok::<(), field_bls12::FieldError>(())
//! ```

use rayon::prelude::*;

use crate::blst_ops::{self, Limbs};
use crate::error::check_lengths;
use crate::{ifma, FieldError, Fq, FqGpu, FqMont, FQ_LIMBS};

/// Inputs a program may take (the GPU kernels exist for 1 to 4).
pub const MAX_PROGRAM_INPUTS: usize = 4;
/// Operations a program may have (the GPU kernel's step slots).
pub const MAX_PROGRAM_STEPS: usize = 16;
/// Values a program may hold at once (the GPU kernel's registers).
pub const MAX_PROGRAM_REGISTERS: usize = 8;

use crate::gpu::spirv as program_spv;

/// SPIR-V of `shaders/fq/fq_program_<n>.comp`, for n inputs (index n - 1).
const PROGRAM_SPV: [&[u8]; MAX_PROGRAM_INPUTS] = [
    program_spv!("fq_program_1"),
    program_spv!("fq_program_2"),
    program_spv!("fq_program_3"),
    program_spv!("fq_program_4"),
];

/// The same programs with tiled (coalesced) I/O, for data in host memory:
/// `shaders/fq/fq_program_<n>_tiled.comp`.
const PROGRAM_TILED_SPV: [&[u8]; MAX_PROGRAM_INPUTS] = [
    program_spv!("fq_program_1_tiled"),
    program_spv!("fq_program_2_tiled"),
    program_spv!("fq_program_3_tiled"),
    program_spv!("fq_program_4_tiled"),
];

/// A fingerprint of every GPU kernel this crate embeds (FNV-1a over the SPIR-V): anything
/// measured with one build of the kernels (a calibration profile, say) is stale with another.
pub fn kernels_fingerprint() -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let ops = crate::gpu::op_spirv();
    for spirv in PROGRAM_SPV
        .iter()
        .chain(&PROGRAM_TILED_SPV)
        .chain(ops.iter())
    {
        for &b in *spirv {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Elements the CPU evaluates together in a program that multiplies: the multiplier takes
/// 16 products at a time (two AVX-512 blocks, `crate::ifma`).
const CPU_BLOCK: usize = 16;
/// Elements per CPU task (a multiple of [`CPU_BLOCK`]): a whole chain per element, so
/// short tasks already outweigh the hand-off to another thread.
const CPU_TASK: usize = 64;
/// One block of values, as limbs.
type Block = [Limbs; CPU_BLOCK];
/// Elements per task of a large output written with streaming stores (a multiple of
/// [`CPU_BLOCK`]; 192 KiB of output, so each task's fence is rare).
const STREAM_TASK: usize = 4096;

/// A value in a program under construction: an input or the result of an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Value(usize);

/// Operations of a program, with the codes the GPU kernel understands (program.glsl).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Op {
    Add = 1,
    Sub = 2,
    Mul = 3,
    Square = 4,
    Neg = 5,
    Double = 6,
}

impl Op {
    fn multiplies(self) -> bool {
        matches!(self, Op::Mul | Op::Square)
    }

    /// The operation on `a` (and `b` for the binary ones).
    fn apply<T: ProgramValue>(self, a: T, b: T) -> T {
        match self {
            Op::Add => a.add(b),
            Op::Sub => a.sub(b),
            Op::Mul => a.mul(b),
            Op::Square => a.square(),
            Op::Neg => a.neg(),
            Op::Double => a.double(),
        }
    }
}

/// One operation on values (SSA: each step defines value `inputs + index`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Step {
    op: Op,
    a: usize,
    b: usize,
}

/// Builds an [`FqProgram`]: declare inputs, combine values with operations, then
/// [`build`](Self::build) with the value to output.
#[derive(Clone, Debug, Default)]
pub struct FqProgramBuilder {
    inputs: usize,
    steps: Vec<Step>,
    /// Set when an input is declared after an operation (inputs come first).
    late_input: bool,
}

impl FqProgramBuilder {
    /// A new input; inputs are bound in declaration order when the program runs.
    pub fn input(&mut self) -> Value {
        self.late_input |= !self.steps.is_empty();
        self.inputs += 1;
        Value(self.inputs - 1)
    }

    fn push(&mut self, op: Op, a: Value, b: Value) -> Value {
        self.steps.push(Step { op, a: a.0, b: b.0 });
        Value(self.inputs + self.steps.len() - 1)
    }

    /// `a + b`.
    pub fn add(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Add, a, b)
    }

    /// `a - b`.
    pub fn sub(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Sub, a, b)
    }

    /// `a * b`.
    pub fn mul(&mut self, a: Value, b: Value) -> Value {
        self.push(Op::Mul, a, b)
    }

    /// `a^2`.
    pub fn square(&mut self, a: Value) -> Value {
        self.push(Op::Square, a, a)
    }

    /// `-a`.
    pub fn neg(&mut self, a: Value) -> Value {
        self.push(Op::Neg, a, a)
    }

    /// `2a`.
    pub fn double(&mut self, a: Value) -> Value {
        self.push(Op::Double, a, a)
    }

    /// The program computing `output`.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] saying why: no inputs, more than
    /// [`MAX_PROGRAM_INPUTS`] inputs or [`MAX_PROGRAM_STEPS`] operations, an input declared
    /// after an operation, a value from another builder, or more than
    /// [`MAX_PROGRAM_REGISTERS`] values needed at once.
    pub fn build(self, output: Value) -> Result<FqProgram, FieldError> {
        let bad = |why: String| Err(FieldError::InvalidProgram(why));
        if self.inputs == 0 || self.inputs > MAX_PROGRAM_INPUTS {
            return bad(format!(
                "{} inputs; a program takes 1 to {MAX_PROGRAM_INPUTS}",
                self.inputs
            ));
        }
        if self.late_input {
            return bad("inputs must be declared before any operation".to_owned());
        }
        if self.steps.len() > MAX_PROGRAM_STEPS {
            return bad(format!(
                "{} operations; a program has at most {MAX_PROGRAM_STEPS}",
                self.steps.len()
            ));
        }
        let values = self.inputs + self.steps.len();
        if let Some((i, s)) = self
            .steps
            .iter()
            .enumerate()
            .find(|(i, s)| s.a >= self.inputs + i || s.b >= self.inputs + i)
        {
            return bad(format!(
                "operation {i} uses value {} that is not defined before it",
                s.a.max(s.b)
            ));
        }
        if output.0 >= values {
            return bad(format!(
                "the output value {} is not part of this program",
                output.0
            ));
        }
        let registers = allocate_registers(self.inputs, &self.steps, output.0)?;
        Ok(FqProgram {
            inputs: self.inputs,
            steps: self.steps,
            output: output.0,
            registers,
        })
    }
}

/// Assigns each value a register, reusing those of values no longer needed (a value's
/// register is free after its last use); the kernel copies operands before writing, so a
/// step may write the register of one of its own operands.
fn allocate_registers(
    inputs: usize,
    steps: &[Step],
    output: usize,
) -> Result<Vec<usize>, FieldError> {
    let values = inputs + steps.len();
    let mut last_use = vec![0usize; values];
    for (i, s) in steps.iter().enumerate() {
        last_use[s.a] = inputs + i;
        last_use[s.b] = inputs + i;
    }
    last_use[output] = usize::MAX;
    let mut reg = vec![0usize; values];
    let mut free: Vec<usize> = (inputs..MAX_PROGRAM_REGISTERS).rev().collect();
    for (v, r) in reg.iter_mut().enumerate().take(inputs) {
        *r = v;
    }
    for (i, s) in steps.iter().enumerate() {
        let v = inputs + i;
        for operand in [s.a, s.b] {
            if last_use[operand] == v && !free.contains(&reg[operand]) {
                free.push(reg[operand]);
            }
        }
        reg[v] = free.pop().ok_or_else(|| {
            FieldError::InvalidProgram(format!(
                "operation {i} needs more than {MAX_PROGRAM_REGISTERS} values alive at once"
            ))
        })?;
        if last_use[v] <= v {
            // Never used: its register is free again at once.
            free.push(reg[v]);
        }
    }
    Ok(reg)
}

/// The arithmetic a program's CPU evaluation needs, in either representation.
trait ProgramValue: Sized {
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    fn square(self) -> Self;
    fn neg(self) -> Self;
    fn double(self) -> Self;
}

/// Implements [`ProgramValue`] from the type's operators and its `square`/`double`.
macro_rules! program_value {
    ($t:ty, $square:path, $double:path) => {
        impl ProgramValue for $t {
            fn add(self, b: Self) -> Self {
                self + b
            }
            fn sub(self, b: Self) -> Self {
                self - b
            }
            fn mul(self, b: Self) -> Self {
                self * b
            }
            fn square(self) -> Self {
                $square(&self)
            }
            fn neg(self) -> Self {
                -self
            }
            fn double(self) -> Self {
                $double(&self)
            }
        }
    };
}
program_value!(Fq, ff::Field::square, ff::Field::double);
program_value!(FqMont, FqMont::square, FqMont::double);

/// A fused chain of Fq operations over 1 to 4 inputs with one output.
///
/// On the GPU the whole chain is one kernel: each program gets its own pipeline (built
/// once per context and cached), in which the operations are fixed and every
/// intermediate stays in registers; values travel in Montgomery form inside the kernel, so
/// a multiplication costs one Montgomery product. On the CPU the same chain runs per
/// element with blst. Both return canonical results, bit-identical.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FqProgram {
    inputs: usize,
    steps: Vec<Step>,
    output: usize,
    /// Register of each value (inputs first, then one per step).
    registers: Vec<usize>,
}

impl FqProgram {
    /// A builder for a new program.
    pub fn builder() -> FqProgramBuilder {
        FqProgramBuilder::default()
    }

    /// How many inputs it takes.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// The single operation this program is, on its inputs in order (`add(x, y)`,
    /// `square(x)`, ...), if it is one: such a program runs as that operation's own kernel.
    pub(crate) fn as_op(&self) -> Option<crate::FqOp> {
        use crate::FqOp;
        let [step] = self.steps.as_slice() else {
            return None;
        };
        let binary = match step.op {
            Op::Add | Op::Sub | Op::Mul => true,
            Op::Square | Op::Neg | Op::Double => false,
        };
        let operands = if binary { (2, 1) } else { (1, 0) };
        if (self.inputs, step.b) != operands || step.a != 0 || self.output != self.inputs {
            return None;
        }
        Some(match step.op {
            Op::Add => FqOp::Add,
            Op::Sub => FqOp::Sub,
            Op::Mul => FqOp::Mul,
            Op::Square => FqOp::Square,
            Op::Neg => FqOp::Neg,
            Op::Double => FqOp::Double,
        })
    }

    /// How many operations it performs per element.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether it performs no operation (its output is one of its inputs).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// How many of its operations multiply (mul, square), per element.
    pub fn multiplications(&self) -> usize {
        self.steps.iter().filter(|s| s.op.multiplies()).count()
    }

    fn multiplies(&self) -> bool {
        self.multiplications() > 0
    }

    /// The kernel's specialization constants 2, 3, ...: output register, Montgomery flag,
    /// six unused ids (4..=9), then (op, dst, a, b) for each of the 16 step slots.
    pub(crate) fn spec_constants(&self) -> Vec<u32> {
        let mut c = vec![
            self.registers[self.output] as u32,
            u32::from(self.multiplies()),
        ];
        c.resize(8, 0); // ids 4..=9 unused
        for (i, s) in self.steps.iter().enumerate() {
            let dst = self.registers[self.inputs + i];
            c.extend([
                s.op as u32,
                dst as u32,
                self.registers[s.a] as u32,
                self.registers[s.b] as u32,
            ]);
        }
        c.resize(8 + 4 * MAX_PROGRAM_STEPS, 0);
        c
    }

    /// The kernel's module: with tiled I/O (for host memory) or direct.
    pub(crate) fn spirv(&self, tiled: bool) -> &'static vk_backend::SpirvModule {
        static MODULES: std::sync::LazyLock<[Vec<vk_backend::SpirvModule>; 2]> =
            std::sync::LazyLock::new(|| {
                [&PROGRAM_SPV, &PROGRAM_TILED_SPV].map(|spvs| {
                    spvs.iter()
                        .map(|s| crate::gpu::embedded_module(s))
                        .collect()
                })
            });
        &MODULES[usize::from(tiled)][self.inputs - 1]
    }

    /// Whether the tiled kernel is also the better one on device memory: a program
    /// without multiplications is memory-bound, where coalesced I/O wins (tile.glsl).
    pub(crate) fn prefers_tiled(&self) -> bool {
        !self.multiplies()
    }

    fn check_inputs(&self, inputs: &[&[Fq]]) -> Result<usize, FieldError> {
        self.check_job(inputs.iter().map(|x| x.len()))
    }

    /// Checks a job's inputs, given their lengths: as many as the program takes, all of
    /// one length, which it returns.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for inputs of different lengths.
    pub fn check_job(
        &self,
        mut lens: impl ExactSizeIterator<Item = usize>,
    ) -> Result<usize, FieldError> {
        if lens.len() != self.inputs {
            return Err(FieldError::InvalidProgram(format!(
                "the program takes {} inputs, {} given",
                self.inputs,
                lens.len()
            )));
        }
        let count = lens.next().unwrap_or(0);
        for other in lens {
            check_lengths("program", count, other)?;
        }
        Ok(count)
    }

    /// Runs the program on the CPU (blst, all cores), element by element.
    ///
    /// # Errors
    /// [`FieldError::InvalidProgram`] for the wrong number of inputs,
    /// [`FieldError::LengthMismatch`] for inputs of different lengths.
    pub fn run_cpu(&self, inputs: &[&[Fq]]) -> Result<Vec<Fq>, FieldError> {
        let count = self.check_inputs(inputs)?;
        let mont = self.cpu_in_mont_form();
        if self.multiplies() {
            let parallel = !self.runs_inline(count);
            return Ok(crate::raw::collect_fq::<CPU_TASK>(
                count,
                parallel,
                |start, dst| {
                    self.eval_range(inputs, start, dst.len(), mont, |i, v| dst[i] = *v.limbs());
                },
            ));
        }
        let run = |i| self.cpu_element(inputs, i, mont);
        if self.runs_inline(count) {
            return Ok((0..count).map(run).collect());
        }
        // Built by an indexed extend: no zero-fill pass over fresh memory.
        let mut out = crate::raw::output_vec(count);
        out.par_extend(
            (0..count)
                .into_par_iter()
                // A whole chain per element: short tasks already outweigh the hand-off.
                .with_min_len(64)
                .map(run),
        );
        Ok(out)
    }

    /// As [`FqProgram::run_cpu`], writing the results into `out` (as long as the inputs).
    ///
    /// # Errors
    /// As [`FqProgram::run_cpu`]; [`FieldError::LengthMismatch`] when `out` has another
    /// length (nothing is written then).
    pub fn run_cpu_into(&self, inputs: &[&[Fq]], out: &mut [Fq]) -> Result<(), FieldError> {
        let count = self.check_inputs(inputs)?;
        check_lengths("program", count, out.len())?;
        let mont = self.cpu_in_mont_form();
        if count >= crate::cpu::STREAM_STORE_MIN {
            // Large outputs bypass the caches (see STREAM_STORE_MIN); each task fences its
            // own stores before it completes.
            let task = |(t, dst): (usize, &mut [Fq])| {
                let start = t * STREAM_TASK;
                if self.multiplies() {
                    self.eval_range(inputs, start, dst.len(), mont, |i, v| {
                        crate::raw::stream_store(&mut dst[i], v)
                    });
                } else {
                    for (i, o) in dst.iter_mut().enumerate() {
                        crate::raw::stream_store(o, self.cpu_element(inputs, start + i, mont));
                    }
                }
                crate::raw::stream_fence();
            };
            out.par_chunks_mut(STREAM_TASK).enumerate().for_each(task);
            return Ok(());
        }
        if self.multiplies() {
            let task = |(t, dst): (usize, &mut [Fq])| {
                self.eval_range(inputs, t * CPU_TASK, dst.len(), mont, |i, v| dst[i] = v);
            };
            if self.runs_inline(count) {
                out.chunks_mut(CPU_TASK).enumerate().for_each(task);
            } else {
                out.par_chunks_mut(CPU_TASK).enumerate().for_each(task);
            }
            return Ok(());
        }
        let run = |(i, o): (usize, &mut Fq)| *o = self.cpu_element(inputs, i, mont);
        if self.runs_inline(count) {
            out.iter_mut().enumerate().for_each(run);
        } else {
            out.par_iter_mut()
                .enumerate()
                .with_min_len(64)
                .for_each(run);
        }
        Ok(())
    }

    /// Evaluates elements `start..start + n` a block at a time (programs that multiply:
    /// the multiplier takes [`CPU_BLOCK`] products at once, with AVX-512 IFMA where the
    /// CPU has it), handing each result to `put(index from 0, value)`.
    fn eval_range(
        &self,
        inputs: &[&[Fq]],
        start: usize,
        n: usize,
        mont: bool,
        mut put: impl FnMut(usize, Fq),
    ) {
        // The register file, reused by every block of the range.
        let mut regs = [[[0u64; FQ_LIMBS]; CPU_BLOCK]; MAX_PROGRAM_INPUTS + MAX_PROGRAM_STEPS];
        for at in (0..n).step_by(CPU_BLOCK) {
            let len = CPU_BLOCK.min(n - at);
            let out = self.eval_block(&mut regs, inputs, start + at, len, mont);
            for (i, v) in out[..len].iter().enumerate() {
                put(at + i, Fq::from_canonical_limbs(*v));
            }
        }
    }

    /// The canonical results of elements `start..start + n` (`n <= CPU_BLOCK`) in the
    /// first `n` entries, computed in `regs`: values in Montgomery form when `mont`.
    fn eval_block(
        &self,
        regs: &mut [Block; MAX_PROGRAM_INPUTS + MAX_PROGRAM_STEPS],
        inputs: &[&[Fq]],
        start: usize,
        n: usize,
        mont: bool,
    ) -> Block {
        // Montgomery form: x * R is the Montgomery product of x and R^2; back, the product
        // with the integer 1.
        const R2: Block = [crate::portable::R2_MOD_P; CPU_BLOCK];
        const ONE: Block = [[1, 0, 0, 0, 0, 0]; CPU_BLOCK];
        for (reg, input) in regs.iter_mut().zip(inputs) {
            for (r, x) in reg.iter_mut().zip(&input[start..start + n]) {
                *r = *x.limbs();
            }
            if mont {
                let canonical = *reg;
                ifma::mul_mont(&canonical[..n], &R2[..n], &mut reg[..n]);
            }
        }
        for (s, step) in self.steps.iter().enumerate() {
            let (done, rest) = regs.split_at_mut(self.inputs + s);
            let (a, b, dst) = (&done[step.a][..n], &done[step.b][..n], &mut rest[0][..n]);
            let each = |dst: &mut [Limbs], f: &dyn Fn(&Limbs, &Limbs) -> Limbs| {
                for ((d, x), y) in dst.iter_mut().zip(a).zip(b) {
                    *d = f(x, y);
                }
            };
            match (step.op, mont) {
                (Op::Mul, true) => ifma::mul_mont(a, b, dst),
                (Op::Mul, false) => ifma::mul_canonical(a, b, dst),
                (Op::Square, true) => ifma::mul_mont(a, a, dst),
                (Op::Square, false) => ifma::mul_canonical(a, a, dst),
                // Linear maps: the same in both representations.
                (Op::Add, _) => each(dst, &blst_ops::add),
                (Op::Sub, _) => each(dst, &blst_ops::sub),
                (Op::Neg, _) => each(dst, &|x, _| blst_ops::neg(x)),
                (Op::Double, _) => each(dst, &|x, _| blst_ops::double(x)),
            }
        }
        let mut out = regs[self.output];
        if mont {
            ifma::mul_mont(&regs[self.output][..n], &ONE[..n], &mut out[..n]);
        }
        out
    }

    /// Whether a CPU run of `count` elements stays on the calling thread: handing work to
    /// rayon's pool from outside it costs 20-40 us when the pool's threads sleep (H100
    /// host, `hybrid-exec scan`, 2026-11-21: a 256-element add took 36 us on the pool),
    /// more than one core needs for ~4096 additions or ~200 multiplications.
    fn runs_inline(&self, count: usize) -> bool {
        let muls = self.multiplications();
        let work = self.len() - muls + 20 * muls;
        count.saturating_mul(work.max(1)) <= 4096
    }

    /// Whether the CPU carries values in Montgomery form: a canonical multiplication costs
    /// two Montgomery products on the CPU, and entering and leaving Montgomery form one per
    /// input and one for the output, so only when the program multiplies more often than
    /// that costs. Both representations give the same canonical results.
    fn cpu_in_mont_form(&self) -> bool {
        self.multiplications() > self.inputs + 1
    }

    /// Element `i` of the program's result on the CPU (`mont`: see `cpu_in_mont_form`).
    fn cpu_element(&self, inputs: &[&[Fq]], i: usize, mont: bool) -> Fq {
        // One operation on the inputs (the usual job: add, mul, ...): straight to it, without
        // the register file (the interpreter doubled the cost of a 1Ki add on one core).
        if let [step] = self.steps.as_slice() {
            if !mont && self.output == self.inputs {
                let (a, b) = (inputs[step.a][i], inputs[step.b][i]);
                return step.op.apply(a, b);
            }
        }
        if mont {
            self.eval(inputs, i, Fq::to_mont, FqMont::to_canonical)
        } else {
            self.eval(inputs, i, |x: &Fq| *x, |x: &Fq| *x)
        }
    }

    /// Evaluates the steps on element `i` with values of type `T`: `enter` on each input,
    /// `leave` on the output.
    fn eval<T>(
        &self,
        inputs: &[&[Fq]],
        i: usize,
        enter: impl Fn(&Fq) -> T,
        leave: impl Fn(&T) -> Fq,
    ) -> Fq
    where
        T: Copy + Default + ProgramValue,
    {
        let mut v = [T::default(); MAX_PROGRAM_INPUTS + MAX_PROGRAM_STEPS];
        for (k, input) in inputs.iter().enumerate() {
            v[k] = enter(&input[i]);
        }
        for (s, step) in self.steps.iter().enumerate() {
            let (a, b) = (v[step.a], v[step.b]);
            v[self.inputs + s] = step.op.apply(a, b);
        }
        leave(&v[self.output])
    }

    /// As [`FqProgram::run_gpu`], writing the results into `out` (as long as the inputs)
    /// instead of a new vector: for large batches, reusing `out` saves the page faults of
    /// fresh memory (on the H100 host, several ns per element). `out` only ever holds
    /// canonical values; after an error some may be stale.
    ///
    /// # Errors
    /// As [`FqProgram::run_gpu`]; [`FieldError::LengthMismatch`] when `out` has another
    /// length.
    pub fn run_gpu_into(
        &self,
        gpu: &FqGpu,
        inputs: &[&[Fq]],
        out: &mut [Fq],
    ) -> Result<(), FieldError> {
        let count = self.check_inputs(inputs)?;
        let kernel = gpu.program_kernel(self, crate::gpu::round_trip_tiled(count))?;
        gpu.run_kernel_into(&kernel, "program", inputs, out)
    }

    /// Runs the program on the GPU: one kernel per element batch (streamed when large).
    ///
    /// # Errors
    /// As [`FqProgram::run_cpu`], and [`FieldError::Gpu`] when the device fails.
    pub fn run_gpu(&self, gpu: &FqGpu, inputs: &[&[Fq]]) -> Result<Vec<Fq>, FieldError> {
        let count = self.check_inputs(inputs)?;
        let kernel = gpu.program_kernel(self, crate::gpu::round_trip_tiled(count))?;
        gpu.run_kernel(&kernel, "program", inputs)
    }
}
