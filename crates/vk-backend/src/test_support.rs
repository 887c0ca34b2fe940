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

use crate::{Context, ContextConfig, Validation, ENV_VALIDATION};

/// Set to `1` to skip tests that need a Vulkan device (they print that they skipped).
pub const ENV_SKIP_GPU_TESTS: &str = "HYBRID_SKIP_GPU_TESTS";

/// A [`Context`] for a test; fails the test on drop if the validation layer reported
/// anything or device memory is still allocated.
#[derive(Debug)]
pub struct TestContext {
    ctx: Arc<Context>,
    test: String,
}

impl Deref for TestContext {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

impl TestContext {
    /// The context as an `Arc`, for APIs that keep it.
    pub fn arc(&self) -> Arc<Context> {
        Arc::clone(&self.ctx)
    }

    /// Asserts that the validation layer has reported nothing so far.
    pub fn assert_no_validation_messages(&self) {
        let messages = self.take_validation_messages();
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
        if std::thread::panicking() {
            return;
        }
        self.assert_no_validation_messages();
        let live = self.live_allocations();
        assert_eq!(
            live, 0,
            "{}: {live} device allocation(s) still live at the end of the test",
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
    match Context::new(&config) {
        Ok(ctx) => Some(TestContext {
            ctx: Arc::new(ctx),
            test: test.to_owned(),
        }),
        Err(e) => panic!(
            "{test}: this test needs a Vulkan device and none could be opened: {e}.\n\
             Install a driver (`cargo xtask test` installs Mesa lavapipe on Debian/Ubuntu), \
             or set {ENV_SKIP_GPU_TESTS}=1 to skip GPU tests explicitly."
        ),
    }
}
