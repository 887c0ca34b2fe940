//! Helpers for tests that need a Vulkan device (feature `test-support`).
//!
//! GPU tests never pass silently without a device: [`test_context`] panics with a clear
//! message when none can be opened, unless [`ENV_SKIP_GPU_TESTS`] is set to `1`, in which
//! case it prints that the test was skipped and returns `None`.
//!
//! The validation layer is on when installed (or required, with
//! `VK_BACKEND_VALIDATION=require`, which `cargo xtask test` sets); every warning or error it
//! reports fails the test when the [`TestContext`] is dropped.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::{ContextConfig, Validation, ENV_PIPELINE_CACHE, ENV_VALIDATION};
use crate::context::{Context, ContextProbe};

/// Set to `1` to skip tests that need a Vulkan device (they print that they skipped).
pub const ENV_SKIP_GPU_TESTS: &str = "HYBRID_SKIP_GPU_TESTS";

/// A [`Context`] for a test. When dropped it fails the test if the validation layer
/// reported anything (including while the context was destroyed) or if any device memory
/// is still allocated after the context is gone.
#[derive(Debug)]
pub struct TestContext {
    ctx: Option<Arc<Context>>,
    probe: ContextProbe,
    test: String,
}

impl Deref for TestContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        self.ctx.as_ref().expect("present until drop")
    }
}

impl TestContext {
    /// The context as an `Arc`, for APIs that keep it. Drop every clone before the
    /// `TestContext` (declare the `TestContext` first), or the leak check fails.
    pub fn arc(&self) -> Arc<Context> {
        Arc::clone(self.ctx.as_ref().expect("present until drop"))
    }

    /// Asserts that the validation layer has reported nothing so far.
    pub fn assert_no_validation_messages(&self) {
        let messages = self.probe.take_validation_messages();
        assert!(
            messages.is_empty(),
            "{}: the Vulkan validation layer reported {} message(s):\n{}",
            self.test,
            messages.len(),
            messages.join("\n")
        );
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        let ctx = self.ctx.take().expect("present until drop");
        let last = Arc::into_inner(ctx).is_some(); // dropped here when we held the last Arc
        if std::thread::panicking() {
            return;
        }
        assert!(
            last,
            "{}: an Arc<Context> outlived the TestContext (leak check impossible)",
            self.test
        );
        self.assert_no_validation_messages();
        let live = self.probe.live_allocations();
        assert_eq!(
            live, 0,
            "{}: {live} device allocation(s) still live after the context was dropped",
            self.test
        );
    }
}

/// Opens the test device, or returns `None` (after printing so) when GPU tests are
/// explicitly skipped. `test` names the test in messages.
///
/// # Panics
/// When no Vulkan device can be opened and skipping was not asked for.
pub fn test_context(test: &str) -> Option<TestContext> {
    test_context_with(test, |c| c)
}

/// Like [`test_context`], with the configuration adjusted by `adjust` (e.g. to force the
/// staging path with `with_direct_limit(0)`).
///
/// # Panics
/// When no Vulkan device can be opened and skipping was not asked for.
pub fn test_context_with(
    test: &str,
    adjust: impl FnOnce(ContextConfig) -> ContextConfig,
) -> Option<TestContext> {
    if std::env::var(ENV_SKIP_GPU_TESTS).as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED {test}: {ENV_SKIP_GPU_TESTS}=1 asks to skip tests that need a Vulkan device"
        );
        return None;
    }
    let mut config = match ContextConfig::from_env() {
        Ok(c) => c,
        Err(e) => panic!("{test}: bad Vulkan test configuration: {e}"),
    };
    if std::env::var_os(ENV_VALIDATION).is_none() {
        config.validation = Validation::IfInstalled;
    }
    // Tests stay hermetic: no pipeline cache file unless one is asked for explicitly.
    if std::env::var_os(ENV_PIPELINE_CACHE).is_none() {
        config.pipeline_cache_dir = None;
    }
    let config = adjust(config);
    match Context::new(&config) {
        Ok(ctx) => Some(TestContext {
            probe: ctx.probe(),
            ctx: Some(Arc::new(ctx)),
            test: test.to_owned(),
        }),
        Err(e) => panic!(
            "{test}: this test needs a Vulkan device and none could be opened: {e}.\n\
             Install a driver (`cargo xtask test` installs Mesa lavapipe on Debian/Ubuntu), \
             or set {ENV_SKIP_GPU_TESTS}=1 to skip GPU tests explicitly."
        ),
    }
}

/// The project's Fq add kernel (`shaders/fq/fq_add.comp`: two inputs, one output, elements
/// of 6 u64 words), a real kernel for the backend's own tests and benchmarks.
pub fn fq_add_module() -> &'static crate::SpirvModule {
    static MODULE: std::sync::LazyLock<crate::SpirvModule> = std::sync::LazyLock::new(|| {
        let spirv = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shaders/fq/fq_add.spv"
        ));
        // SAFETY: fq_add.comp guards every access with `index < count` and is used with its
        // own interface (2 inputs, 6 words per element) by the tests of this crate.
        unsafe { crate::SpirvModule::from_bytes_unchecked(&spirv[..]) }
    });
    &MODULE
}

/// A general kernel for the backend's own tests (`shaders/util/add_words.comp`, 2 buffers of
/// u32 words: `dst[i] = src[i] + args[0]` for invocations inside both buffers).
pub fn add_words_module() -> &'static crate::SpirvModule {
    static MODULE: std::sync::LazyLock<crate::SpirvModule> = std::sync::LazyLock::new(|| {
        let spirv = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shaders/util/add_words.spv"
        ));
        // SAFETY: add_words.comp checks every index against both buffers' lengths, whatever
        // the arguments, and is made into general kernels of 2 buffers only.
        unsafe { crate::SpirvModule::from_bytes_unchecked(&spirv[..]) }
    });
    &MODULE
}
