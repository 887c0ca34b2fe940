//! f32 jobs ([`F32Job`]) through the router: the CPU reference or the GPU's kernels
//! (`f32_ops`), whichever the cost model expects to finish first once it has seen the GPU
//! run the job's shape; a GPU failure recomputes the job on the CPU.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use f32_ops::{cpu, F32Error, F32Gpu};

use super::{Policy, Route, Router, RouterError, MIN_GPU_LEN};
use crate::cost::{Device, JobShape, Op};

/// An f32 job for [`Router::f32`]: its inputs, borrowed.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum F32Job<'a> {
    /// `a + b`, element by element.
    Add(&'a [f32], &'a [f32]),
    /// `sum a_i b_i`.
    Dot(&'a [f32], &'a [f32]),
    /// `a` where above 0, else +0.
    Relu(&'a [f32]),
    /// `1 / (1 + e^-a)`.
    Sigmoid(&'a [f32]),
    /// GELU, tanh form.
    Gelu(&'a [f32]),
    /// Softmax.
    Softmax(&'a [f32]),
    /// `A B` for row-major `a` (`m x k`) and `b` (`k x n`).
    Matmul {
        /// A, `m x k`.
        a: &'a [f32],
        /// B, `k x n`.
        b: &'a [f32],
        /// Rows of A and C.
        m: usize,
        /// Columns of A, rows of B.
        k: usize,
        /// Columns of B and C.
        n: usize,
    },
}

/// What an [`F32Job`] returns.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum F32Output {
    /// One value per element (or per element of C).
    Values(Vec<f32>),
    /// One value (a dot product).
    Scalar(f32),
}

impl F32Job<'_> {
    /// The cost model's shape: elements, or multiply-adds for a matrix product.
    fn shape(&self) -> JobShape {
        match *self {
            F32Job::Add(a, _) | F32Job::Relu(a) | F32Job::Sigmoid(a) | F32Job::Gelu(a) => {
                JobShape::f32(Op::F32Map, a.len())
            }
            F32Job::Dot(a, _) | F32Job::Softmax(a) => JobShape::f32(Op::F32Reduce, a.len()),
            F32Job::Matmul { m, k, n, .. } => {
                JobShape::f32(Op::F32Matmul, m.saturating_mul(k).saturating_mul(n))
            }
        }
    }

    fn on_cpu(&self) -> Result<F32Output, F32Error> {
        Ok(match *self {
            F32Job::Add(a, b) => F32Output::Values(cpu::add(a, b)?),
            F32Job::Dot(a, b) => F32Output::Scalar(cpu::dot(a, b)?),
            F32Job::Relu(a) => F32Output::Values(cpu::relu(a)),
            F32Job::Sigmoid(a) => F32Output::Values(cpu::sigmoid(a)),
            F32Job::Gelu(a) => F32Output::Values(cpu::gelu(a)),
            F32Job::Softmax(a) => F32Output::Values(cpu::softmax(a)),
            F32Job::Matmul { a, b, m, k, n } => F32Output::Values(cpu::matmul(a, b, m, k, n)?),
        })
    }

    fn on_gpu(&self, gpu: &F32Gpu) -> Result<F32Output, F32Error> {
        Ok(match *self {
            F32Job::Add(a, b) => F32Output::Values(gpu.add(a, b)?),
            F32Job::Dot(a, b) => F32Output::Scalar(gpu.dot(a, b)?),
            F32Job::Relu(a) => F32Output::Values(gpu.relu(a)?),
            F32Job::Sigmoid(a) => F32Output::Values(gpu.sigmoid(a)?),
            F32Job::Gelu(a) => F32Output::Values(gpu.gelu(a)?),
            F32Job::Softmax(a) => F32Output::Values(gpu.softmax(a)?),
            F32Job::Matmul { a, b, m, k, n } => F32Output::Values(gpu.matmul(a, b, m, k, n)?),
        })
    }

    /// The job's own errors (lengths, shapes), before anything runs: the CPU's checks.
    fn check(&self) -> Result<(), F32Error> {
        match *self {
            F32Job::Add(a, b) | F32Job::Dot(a, b) if a.len() != b.len() => {
                Err(F32Error::LengthMismatch {
                    op: if matches!(self, F32Job::Add(..)) {
                        "add"
                    } else {
                        "dot"
                    },
                    left: a.len(),
                    right: b.len(),
                })
            }
            F32Job::Matmul { a, b, m, k, n } => cpu::check_matmul(a, b, m, k, n),
            _ => Ok(()),
        }
    }
}

/// The f32 kernels, built from the GPU's context by the first f32 job that would use them:
/// the kernels, or why they could not be built (then every f32 job runs on the CPU).
pub(crate) type F32Slot = OnceLock<Result<F32Gpu, String>>;

impl Router {
    /// Runs an f32 job under the router's policy ([`Router::f32_with`]).
    ///
    /// ```no_run
    /// use hybrid_exec::{F32Job, F32Output, Router, RouterConfig};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let router = Router::new(&RouterConfig::from_env()?);
    /// let a = vec![1.0f32; 1 << 20];
    /// let F32Output::Scalar(s) = router.f32(F32Job::Dot(&a, &a))? else { unreachable!() };
    /// assert_eq!(s, (1 << 20) as f32);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`RouterError::F32`] for an invalid job (lengths or shapes); GPU failures are
    /// recomputed on the CPU.
    pub fn f32(&self, job: F32Job<'_>) -> Result<F32Output, RouterError> {
        Ok(self.f32_with(self.policy, job)?.0)
    }

    /// Runs an f32 job under `policy` and says where it ran. [`Policy::Auto`] runs it on
    /// the CPU until the GPU has been seen to run jobs of its shape and size (under
    /// [`Policy::Gpu`], or by calibration), and then wherever the model expects it to
    /// finish first; jobs below 256 elements stay on the CPU.
    ///
    /// # Errors
    /// As [`Router::f32`].
    pub fn f32_with(
        &self,
        policy: Policy,
        job: F32Job<'_>,
    ) -> Result<(F32Output, Route), RouterError> {
        job.check()?;
        let shape = job.shape();
        let route = match policy {
            Policy::Cpu => Route::Cpu,
            Policy::Gpu => Route::Gpu,
            Policy::Auto if shape.len < MIN_GPU_LEN || !self.breaker.routable() => Route::Cpu,
            Policy::Auto => self.plan_shape(shape, usize::MAX),
        };
        let claimed = if route == Route::Gpu {
            self.claim_f32()
        } else {
            None
        };
        let (out, ran) = match claimed {
            None => (self.timed(Device::Cpu, shape, || job.on_cpu())?, Route::Cpu),
            Some((gpu, pass)) => match self.timed(Device::Gpu, shape, || job.on_gpu(gpu)) {
                Ok(out) => {
                    self.gpu_succeeded(pass);
                    (out, Route::Gpu)
                }
                Err(e) => {
                    self.record_failure(&e, Some(pass));
                    (job.on_cpu()?, Route::CpuFallback)
                }
            },
        };
        self.count(ran);
        Ok((out, ran))
    }

    /// Predicted times of `job` on (CPU, GPU), for reports: the GPU's `None` while it is
    /// unknown (no GPU run of the job's shape and size bucket observed yet).
    pub fn predict_f32(&self, job: &F32Job<'_>) -> (Duration, Option<Duration>) {
        let shape = job.shape();
        let m = super::lock(&self.model);
        let gpu = m
            .known(Device::Gpu, shape)
            .then(|| m.predict(Device::Gpu, shape));
        (m.predict(Device::Cpu, shape), gpu)
    }

    /// The f32 kernels (built on first use) and leave to use them for one job, when the
    /// GPU is there, they could be built and the breaker gives leave.
    fn claim_f32(&self) -> Option<(&F32Gpu, super::Pass<'_>)> {
        let fq = self.gpu()?;
        let built = self.f32_kernels.get_or_init(|| {
            F32Gpu::new(Arc::clone(fq.context())).map_err(|e| {
                tracing::warn!(
                    device = %self.gpu_name(),
                    error = %e,
                    "the f32 kernels could not be built: the CPU runs every f32 job"
                );
                format!("the f32 kernels could not be built: {e}")
            })
        });
        let gpu = built.as_ref().ok()?;
        Some((gpu, self.breaker.admit()?))
    }
}
