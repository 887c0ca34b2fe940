//! Host-vector jobs that fail part-way (faults injected at each stage, a real timeout):
//! the output never keeps a GPU result that was not checked. It holds zeros after the
//! failure, or, when even zeroing is impossible, refuses every access until it is reset.
//! Needs a Vulkan device (lavapipe in CI); see vk_backend::test_support.

mod common;

use std::time::{Duration, Instant};

use common::batch;
use field_bls12::{cpu, FieldError, Fq, FqGpu, FqOp, FqProgram, HostFqVec};
use vk_backend::test_support::{test_context_with, TestContext};
use vk_backend::{ContextConfig, DeviceBuffer, Error, FaultStage, Ticket};

/// Elements per job.
const N: usize = 4000;
/// The GPU's share of a split job: three GPU ranges and a CPU share of 1000.
const SPLIT: usize = 3000;

/// Chunks of 256 elements: the in-place path halves what is left down to two chunks, so
/// a whole job goes as three ranges, 0..2048, 2048..3072, 3072..4000 (a split one as
/// 0..1536, 1536..2304, 2304..3000).
fn small_chunks(c: ContextConfig) -> ContextConfig {
    c.with_stream_chunk_bytes(48 * 256)
}

fn add() -> FqProgram {
    let mut p = FqProgram::builder();
    let (x, y) = (p.input(), p.input());
    let s = p.add(x, y);
    p.build(s).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    Timeout,
    DeviceLost,
    OutOfDeviceMemory,
}

impl Fault {
    fn error(self) -> Error {
        match self {
            Fault::Timeout => Error::Timeout {
                call: "injected",
                after: Duration::from_secs(10),
            },
            Fault::DeviceLost => Error::DeviceLost { call: "injected" },
            Fault::OutOfDeviceMemory => Error::OutOfDeviceMemory { call: "injected" },
        }
    }

    fn is(self, e: &FieldError) -> bool {
        match (self, e) {
            (Fault::Timeout, FieldError::Gpu(e)) => e.is_timeout(),
            (Fault::DeviceLost, FieldError::Gpu(e)) => e.is_device_lost(),
            (Fault::OutOfDeviceMemory, FieldError::Gpu(e)) => {
                matches!(e, Error::OutOfDeviceMemory { .. })
            }
            _ => false,
        }
    }
}

/// Asserts `out` holds `want`, naming the first element that differs.
fn assert_holds(out: &HostFqVec, want: &[Fq], what: &str) {
    let got = out.to_vec().unwrap_or_else(|e| panic!("{what}: {e}"));
    if let Some(i) = got.iter().zip(want).position(|(x, y)| x != y) {
        panic!("{what}: element {i} is {}, not {}", got[i], want[i]);
    }
    assert_eq!(got.len(), want.len(), "{what}");
}

/// `run_gpu_host` (`gpu_len` N) or `run_split_host` (`gpu_len` SPLIT).
fn run(
    gpu: &FqGpu,
    gpu_len: usize,
    ins: &[&HostFqVec],
    out: &mut HostFqVec,
) -> Result<(), FieldError> {
    if gpu_len == out.len() {
        add().run_gpu_host(gpu, ins, out)
    } else {
        add().run_split_host(gpu, ins, out, gpu_len)
    }
}

/// Arms `fault` at `stage`, runs the job into an output full of 7s and checks what it
/// left: right results where the stage is not on the job's path (host jobs upload
/// nothing), else the injected error and zeros everywhere, the CPU's share and the GPU
/// ranges after the failing one included. Then the job runs again: right, unless the
/// device is lost, when it fails again and leaves zeros again.
fn case(ctx: &TestContext, gpu: &FqGpu, stage: FaultStage, fault: Fault, gpu_len: usize) {
    let what = format!("{fault:?} at {stage:?}, GPU share {gpu_len}");
    let (a, b) = batch(N, 31);
    let want = cpu::add(&a, &b).unwrap();
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.host_vec_from(&[Fq::from_u64(7); N]).unwrap();
    ctx.inject_fault(stage, fault.error());
    let r = run(gpu, gpu_len, &[&ha, &hb], &mut out);
    if stage == FaultStage::Upload {
        r.unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_holds(&out, &want, &what);
        // Still armed: the next upload takes it.
        let e = gpu.upload(&[Fq::ONE]).unwrap_err();
        assert!(fault.is(&e), "{what}: the upload failed with {e}");
        if ctx.is_lost() {
            return;
        }
        let r = run(gpu, gpu_len, &[&ha, &hb], &mut out);
        r.unwrap_or_else(|e| panic!("{what}, after the upload: {e}"));
        assert_holds(&out, &want, &format!("{what}, after the upload"));
        return;
    }
    let e = r.expect_err(&what);
    assert!(fault.is(&e), "{what}: failed with {e}");
    let zeros = vec![Fq::ZERO; N];
    assert_holds(&out, &zeros, &format!("{what}: out zeroed"));
    let r = run(gpu, gpu_len, &[&ha, &hb], &mut out);
    if matches!(fault, Fault::DeviceLost) {
        assert!(ctx.is_lost(), "{what}");
        let e = r.expect_err(&what);
        assert!(fault.is(&e), "{what}, again: {e}");
        assert_holds(&out, &zeros, &format!("{what}, again: out zeroed"));
    } else {
        r.unwrap_or_else(|e| panic!("{what}, again: {e}"));
        assert_holds(&out, &want, &format!("{what}, again"));
    }
}

const STAGES: [FaultStage; 3] = [
    FaultStage::Upload,
    FaultStage::Compute,
    FaultStage::Download,
];

/// Timeouts and out-of-memory errors at each stage, on whole and split jobs, one context.
#[test]
fn failed_host_jobs_leave_zeros_after_timeouts_and_out_of_memory() {
    let Some(ctx) = test_context_with("failed_host_jobs_leave_zeros", small_chunks) else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    for fault in [Fault::Timeout, Fault::OutOfDeviceMemory] {
        for stage in STAGES {
            for gpu_len in [N, SPLIT] {
                case(&ctx, &gpu, stage, fault, gpu_len);
            }
        }
    }
}

/// A lost device at each stage, on whole and split jobs, each on a context of its own (a
/// lost context stays lost); each context still drops cleanly.
#[test]
fn failed_host_jobs_leave_zeros_after_device_loss() {
    for stage in STAGES {
        for gpu_len in [N, SPLIT] {
            let Some(ctx) = test_context_with("failed_host_jobs_after_device_loss", small_chunks)
            else {
                return;
            };
            let gpu = FqGpu::new(ctx.arc()).unwrap();
            case(&ctx, &gpu, stage, Fault::DeviceLost, gpu_len);
            drop(gpu);
            drop(ctx);
        }
    }
}

/// Queues products on the GPU that keep it busy for at least `at_least` from now, sized
/// on this device: a batch is made larger (more products, then more elements) until it
/// takes 50 ms, then as many such batches are queued as fill `at_least`.
fn keep_busy(ctx: &TestContext, gpu: &FqGpu, at_least: Duration) -> Vec<Ticket> {
    let alloc = |len: usize| {
        let (x, y) = (ctx.alloc(len, 6).unwrap(), ctx.alloc(len, 6).unwrap());
        let mut batch = ctx.batch().unwrap();
        batch.upload(&x, |w| w.fill(1)).unwrap();
        // Waited for explicitly: the context's timeout is short on purpose.
        batch
            .submit()
            .unwrap()
            .wait(Duration::from_secs(600))
            .unwrap();
        (x, y)
    };
    let submit = |(x, y): &(DeviceBuffer, DeviceBuffer), products: usize| {
        let mut batch = ctx.batch().unwrap();
        for _ in 0..products {
            batch.dispatch(gpu.kernel(FqOp::Mul), &[x, x], y).unwrap();
        }
        batch.submit().unwrap()
    };
    let (mut len, mut products) = (1 << 12, 1);
    let mut bufs = alloc(len);
    let took = loop {
        let start = Instant::now();
        submit(&bufs, products)
            .wait(Duration::from_secs(600))
            .unwrap();
        let took = start.elapsed();
        if took >= Duration::from_millis(50) || len >= 1 << 22 {
            break took;
        }
        if products < 64 {
            products *= 2;
        } else {
            len *= 2;
            bufs = alloc(len);
        }
    };
    let batches = (at_least.as_nanos() / took.as_nanos().max(1)) as usize + 1;
    (0..batches).map(|_| submit(&bufs, products)).collect()
}

/// A job times out for real (its chunk waits on the queue behind long work), and so does
/// the wait to zero its output: the output then refuses every access with
/// `HostVecUnusable`, as input or output of a job too, until `reset`, which succeeds once
/// the GPU is done, leaves zeros, and makes the vector usable again.
#[test]
fn an_output_that_cannot_be_cleared_is_unusable_until_reset() {
    // Short, so that the job gives up (twice: its chunk, then the zeroing) well within
    // the work queued ahead of it.
    let timeout = Duration::from_millis(20);
    let Some(ctx) = test_context_with("an_output_that_cannot_be_cleared", |c| {
        c.with_timeout(timeout)
    }) else {
        return;
    };
    let gpu = FqGpu::new(ctx.arc()).unwrap();
    let (a, b) = batch(N, 41);
    let want = cpu::add(&a, &b).unwrap();
    let (ha, hb) = (
        gpu.host_vec_from(&a).unwrap(),
        gpu.host_vec_from(&b).unwrap(),
    );
    let mut out = gpu.alloc_host_vec(N).unwrap();
    let mut other = gpu.alloc_host_vec(N).unwrap();

    let ahead = keep_busy(&ctx, &gpu, Duration::from_secs(1));
    let started = Instant::now();
    let e = add().run_gpu_host(&gpu, &[&ha, &hb], &mut out).unwrap_err();
    assert!(matches!(&e, FieldError::Gpu(e) if e.is_timeout()), "{e}");
    let last = ahead.last().expect("at least one batch");
    assert!(
        !last.poll().unwrap(),
        "the work ahead ended within {:?}, before the job gave up",
        started.elapsed()
    );
    let unusable = |r: Result<(), FieldError>, what: &str| {
        assert!(
            matches!(r, Err(FieldError::HostVecUnusable)),
            "{what}: {r:?}"
        );
    };
    unusable(out.read(|_| ()), "read");
    unusable(out.to_vec().map(drop), "to_vec");
    unusable(out.write(|_| ()), "write");
    unusable(add().check_host_job(&[&ha, &hb], &out), "check_host_job");
    unusable(add().run_gpu_host(&gpu, &[&ha, &hb], &mut out), "as output");
    unusable(
        add().run_gpu_host(&gpu, &[&out, &hb], &mut other),
        "as input",
    );
    unusable(
        add().run_split_host(&gpu, &[&ha, &out], &mut other, 10),
        "as input of a split job",
    );

    last.wait(Duration::from_secs(600)).unwrap();
    drop(ahead);
    assert_holds(&other, &[Fq::ZERO; N], "other untouched");
    out.reset().unwrap();
    assert_holds(&out, &[Fq::ZERO; N], "reset leaves zeros");
    // Usable again (written here rather than by a job, whose waits the short timeout
    // would make depend on the machine's load).
    out.write(|o| o.copy_from_slice(&want)).unwrap();
    assert_holds(&out, &want, "usable again");
}
