//! The Vulkan backend on a real driver (lavapipe in CI) with the validation layer on.
//!
//! These tests exercise the plumbing with the Fq add kernel on small values, where the sum
//! never reaches the modulus, so plain integer addition is the reference.

use vk_backend::test_support::test_context;
use vk_backend::{
    Context, ContextConfig, DeviceSelector, Error, KernelDesc, SpirvModule, Validation,
};

const WORDS: usize = 6;

fn add_kernel_desc() -> KernelDesc<'static> {
    KernelDesc::elementwise(
        "fq_add",
        vk_backend::test_support::fq_add_module(),
        2,
        WORDS as u32,
    )
}

/// Inputs where element i is (i, 3i, 0, ..) and (2i, 0, i, ..): sums stay far below p and
/// exercise limbs 0 and 2 independently.
fn inputs(n: usize) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let mut a = vec![0u64; n * WORDS];
    let mut b = vec![0u64; n * WORDS];
    let mut want = vec![0u64; n * WORDS];
    for i in 0..n {
        let i64 = i as u64;
        a[i * WORDS] = i64;
        a[i * WORDS + 1] = 3 * i64;
        b[i * WORDS] = 2 * i64;
        b[i * WORDS + 2] = i64;
        want[i * WORDS] = 3 * i64;
        want[i * WORDS + 1] = 3 * i64;
        want[i * WORDS + 2] = i64;
    }
    (a, b, want)
}

fn run(ctx: &Context, kernel: &vk_backend::Kernel, n: usize) -> Result<Vec<u64>, Error> {
    let (a, b, _) = inputs(n);
    ctx.run_elementwise(
        kernel,
        n,
        |i, dst| dst.copy_from_slice(if i == 0 { &a } else { &b }),
        |w| w.to_vec(),
    )
}

#[test]
fn round_trip_is_exact_at_awkward_sizes() {
    let Some(ctx) = test_context("round_trip_is_exact_at_awkward_sizes") else {
        return;
    };
    let kernel = ctx.create_kernel(&add_kernel_desc()).unwrap();
    for n in [0, 1, 63, 64, 65, 255, 256, 257, 1000, 65537] {
        let (_, _, want) = inputs(n);
        assert_eq!(run(&ctx, &kernel, n).unwrap(), want, "n = {n}");
    }
}

#[test]
fn workgroup_size_is_a_specialization_constant() {
    let Some(ctx) = test_context("workgroup_size_is_a_specialization_constant") else {
        return;
    };
    for size in [1, 7, 32, 128, 256] {
        let kernel = ctx
            .create_kernel(&add_kernel_desc().with_workgroup_size(size))
            .unwrap();
        assert_eq!(kernel.workgroup_size(), size);
        let (_, _, want) = inputs(513);
        assert_eq!(
            run(&ctx, &kernel, 513).unwrap(),
            want,
            "workgroup size {size}"
        );
    }
}

#[test]
fn bad_kernels_are_typed_errors() {
    let Some(ctx) = test_context("bad_kernels_are_typed_errors") else {
        return;
    };
    // SAFETY: neither module can run: making a kernel of such bytes fails.
    let (junk, nothing) = unsafe {
        (
            SpirvModule::from_bytes_unchecked(&b"not spir-v at all"[..]),
            SpirvModule::from_bytes_unchecked(&[][..]),
        )
    };
    let not_spirv = ctx.create_kernel(&KernelDesc::elementwise("junk", &junk, 2, 6));
    assert!(
        matches!(not_spirv, Err(Error::InvalidSpirv { ref kernel, .. }) if kernel == "junk"),
        "{not_spirv:?}"
    );
    let empty = ctx.create_kernel(&KernelDesc::elementwise("empty", &nothing, 2, 6));
    assert!(
        matches!(empty, Err(Error::InvalidSpirv { .. })),
        "{empty:?}"
    );
    let too_big = ctx.create_kernel(&add_kernel_desc().with_workgroup_size(1 << 20));
    assert!(
        matches!(too_big, Err(Error::InvalidArgument(_))),
        "{too_big:?}"
    );
    let no_inputs = ctx.create_kernel(&KernelDesc::elementwise(
        "fq_add",
        vk_backend::test_support::fq_add_module(),
        0,
        6,
    ));
    assert!(
        matches!(no_inputs, Err(Error::InvalidArgument(_))),
        "{no_inputs:?}"
    );
}

#[test]
fn oversized_batches_are_rejected_before_any_work() {
    let Some(ctx) = test_context("oversized_batches_are_rejected_before_any_work") else {
        return;
    };
    let kernel = ctx.create_kernel(&add_kernel_desc()).unwrap();
    let mut filled = false;
    let r = ctx.run_elementwise(&kernel, usize::MAX / 2, |_, _| filled = true, |_| ());
    assert!(
        matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("too large")),
        "{r:?}"
    );
    assert!(!filled);
}

#[test]
fn kernels_do_not_cross_contexts() {
    let Some(first) = test_context("kernels_do_not_cross_contexts") else {
        return;
    };
    let Some(second) = test_context("kernels_do_not_cross_contexts (second context)") else {
        return;
    };
    let kernel = first.create_kernel(&add_kernel_desc()).unwrap();
    let r = second.run_elementwise(&kernel, 4, |_, _| (), |_| ());
    assert!(
        matches!(r, Err(Error::InvalidArgument(ref m)) if m.contains("another context")),
        "{r:?}"
    );
}

/// Resident data names its device, and a buffer given to another context (two contexts on
/// lavapipe stand for two devices) is a typed error, not a silent copy.
#[test]
fn buffers_name_their_device_and_do_not_cross_contexts() {
    let Some(first) = test_context("buffers_name_their_device_and_do_not_cross_contexts") else {
        return;
    };
    let Some(second) =
        test_context("buffers_name_their_device_and_do_not_cross_contexts (second context)")
    else {
        return;
    };
    let buf = first.alloc(4, 1).unwrap();
    assert_eq!(buf.device().index, first.info().index);
    assert_eq!(buf.device().uuid, first.info().uuid);
    let mut batch = second.batch().unwrap();
    let r = batch.fill_zero(&buf);
    match r {
        Err(Error::ForeignBuffer {
            ref buffer_device,
            ref context_device,
        }) => {
            assert!(
                buffer_device.starts_with("another context on device"),
                "{r:?}"
            );
            assert!(context_device.contains(&first.info().name), "{r:?}");
        }
        other => panic!("expected ForeignBuffer, got {other:?}"),
    }
    let r = second.download(&buf, |w: &[u64]| w.to_vec());
    assert!(matches!(r, Err(Error::ForeignBuffer { .. })), "{r:?}");
    first.assert_no_validation_messages();
    second.assert_no_validation_messages();
}

#[test]
fn context_is_send_and_sync_and_serves_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Context>();
    assert_send_sync::<vk_backend::Kernel>();
    let Some(ctx) = test_context("context_is_send_and_sync_and_serves_threads") else {
        return;
    };
    let kernel = ctx.create_kernel(&add_kernel_desc()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (ctx, kernel) = (&*ctx, &kernel);
            s.spawn(move || {
                let n = 100 + t * 37;
                let (_, _, want) = inputs(n);
                for _ in 0..3 {
                    assert_eq!(run(ctx, kernel, n).unwrap(), want);
                }
            });
        }
    });
}

#[test]
fn unknown_device_is_a_typed_error() {
    let config = ContextConfig::default()
        .with_validation(Validation::IfInstalled)
        .with_device(DeviceSelector::NameContains(
            "no-such-device-anywhere".into(),
        ));
    match Context::new(&config) {
        Err(Error::NoSuitableDevice(msg)) => {
            assert!(msg.contains("no-such-device-anywhere"), "{msg}")
        }
        Err(Error::LoaderNotFound(_)) => {} // a machine without any loader says so instead
        other => panic!("expected NoSuitableDevice, got {other:?}"),
    }
    let config = ContextConfig::default().with_device(DeviceSelector::Index(10_000));
    assert!(matches!(
        Context::new(&config),
        Err(Error::NoSuitableDevice(_) | Error::LoaderNotFound(_))
    ));
}

#[test]
fn missing_loader_is_a_typed_error() {
    // SAFETY: no file is there, so nothing is loaded.
    let config = unsafe { ContextConfig::default().with_loader("/nonexistent/libvulkan.so.1") };
    let err = Context::new(&config).unwrap_err();
    assert!(matches!(err, Error::LoaderNotFound(_)), "{err:?}");
    assert!(err.to_string().contains("Vulkan loader not found"), "{err}");
}

#[test]
fn enumeration_lists_the_selected_device() {
    let Some(ctx) = test_context("enumeration_lists_the_selected_device") else {
        return;
    };
    let devices = vk_backend::enumerate_devices().unwrap();
    assert!(devices
        .iter()
        .any(|d| d.uuid == ctx.info().uuid && d.name == ctx.info().name));
    let by_name = ContextConfig::default().with_device(DeviceSelector::parse(&ctx.info().name));
    assert_eq!(Context::new(&by_name).unwrap().info().uuid, ctx.info().uuid);
    assert_eq!(DeviceSelector::parse("1"), DeviceSelector::Index(1));
    assert_eq!(DeviceSelector::parse(" "), DeviceSelector::Best);
}
