//! The standard Fq jobs that `scan`, `calibrate`, `verify`, `bench` and the examples measure,
//! defined once so every report names and times the same programs. Public for the
//! `hybrid-exec` binary, the examples and development tools, which all time these jobs;
//! applications use [`Router`](crate::Router)'s single operations or build their own
//! [`FqProgram`]s.
//!
//! ```
//! let jobs = hybrid_exec::jobs::standard()?;
//! assert_eq!(jobs.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["add", "mul", "chain10"]);
//! # Ok::<(), field_bls12::FieldError>(())
//! ```

use field_bls12::{FieldError, FqProgram, FqProgramBuilder, Value};

/// A program over two inputs `(a, b)` whose output is `f(builder, a, b)`.
pub fn two_input(
    f: impl FnOnce(&mut FqProgramBuilder, Value, Value) -> Value,
) -> Result<FqProgram, FieldError> {
    let mut p = FqProgram::builder();
    let (a, b) = (p.input(), p.input());
    let out = f(&mut p, a, b);
    p.build(out)
}

/// The 10-operation chain of the issues: `x = a`; five times `x = x * b + a`.
pub fn chain10() -> Result<FqProgram, FieldError> {
    two_input(|p, a, b| {
        let mut x = a;
        for _ in 0..5 {
            x = p.mul(x, b);
            x = p.add(x, a);
        }
        x
    })
}

/// `add`, `mul` and `chain10`, each over two inputs, with the names reports print.
pub fn standard() -> Result<Vec<(&'static str, FqProgram)>, FieldError> {
    Ok(vec![
        ("add", two_input(|p, a, b| p.add(a, b))?),
        ("mul", two_input(|p, a, b| p.mul(a, b))?),
        ("chain10", chain10()?),
    ])
}
