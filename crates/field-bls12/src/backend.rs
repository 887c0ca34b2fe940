//! [`gpu_core::BatchBackend`] implementations for the CPU and GPU paths.

use gpu_core::{BackendError, BackendKind, BatchBackend, BinaryOp};

use crate::{cpu, Fq, FqGpu};

/// The CPU path (blst on all rayon threads) as a [`BatchBackend`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuBackend;

impl BatchBackend for CpuBackend {
    type Element = Fq;

    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn describe(&self) -> String {
        format!("cpu (blst, {} threads)", rayon::current_num_threads())
    }

    fn run_binary(&self, op: BinaryOp, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, BackendError> {
        match op {
            BinaryOp::Add => Ok(cpu::add(a, b)?),
            BinaryOp::Sub => Ok(cpu::sub(a, b)?),
            BinaryOp::Mul => Ok(cpu::mul(a, b)?),
            other => Err(BackendError::InvalidArgument(format!(
                "{} is not supported",
                other.name()
            ))),
        }
    }
}

impl BatchBackend for FqGpu {
    type Element = Fq;

    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn describe(&self) -> String {
        format!("vulkan ({})", self.context().info().name)
    }

    fn run_binary(&self, op: BinaryOp, a: &[Fq], b: &[Fq]) -> Result<Vec<Fq>, BackendError> {
        match op {
            BinaryOp::Add => Ok(self.add(a, b)?),
            BinaryOp::Sub => Ok(self.sub(a, b)?),
            BinaryOp::Mul => Ok(self.mul(a, b)?),
            other => Err(BackendError::InvalidArgument(format!(
                "{} is not supported",
                other.name()
            ))),
        }
    }
}
