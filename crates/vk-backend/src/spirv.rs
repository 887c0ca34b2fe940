//! SPIR-V modules: the code a kernel runs, which the backend must trust.

use std::borrow::Cow;
use std::sync::OnceLock;

/// The SPIR-V of a compute kernel (entry point `main`), vouched for by whoever made it.
///
/// The device runs kernels without robust buffer access, so nothing on the GPU stops a
/// kernel from reading or writing outside the buffers it is given. A module is therefore
/// trusted code, and the only way to make one from bytes is the `unsafe`
/// [`SpirvModule::from_bytes_unchecked`], as wgpu does for SPIR-V passthrough. Crates embed
/// their own, tested kernels that way in one audited place; the backend's built-in copy
/// kernel is [`Context::copy_kernel`](crate::Context::copy_kernel).
#[derive(Clone)]
pub struct SpirvModule {
    bytes: Cow<'static, [u8]>,
    /// Hash of the bytes for the kernel cache's key, computed on first use: a large module
    /// (800 KB) takes a fraction of a millisecond to hash, too much per dispatch.
    hash: OnceLock<u64>,
}

impl std::fmt::Debug for SpirvModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpirvModule")
            .field("bytes", &self.bytes.len())
            .finish_non_exhaustive()
    }
}

impl SpirvModule {
    /// A module from SPIR-V bytes, without any check that it is safe to run (malformed
    /// bytes are still reported as [`Error::InvalidSpirv`](crate::Error::InvalidSpirv) when
    /// a kernel is made from them).
    ///
    /// # Safety
    /// For every [`KernelDesc`](crate::KernelDesc) the module is used with (its number of
    /// inputs, words per element, workgroup size and specialization constants), the module
    /// must:
    /// - be a compute shader whose entry point `main` uses only that interface: storage
    ///   buffers in set 0 at bindings `0..inputs` (inputs), `inputs` (output) and
    ///   `inputs + 1` (status word), and the push constants `{ uint count; uint row_stride; }`;
    /// - read and write only the first `count * words_per_element` u64 words of the input
    ///   and output buffers and the first 32-bit word of the status buffer, and no other
    ///   memory;
    /// - finish for every `count` and `row_stride` the backend dispatches it with.
    ///
    /// For a general kernel ([`KernelDesc::general`](crate::KernelDesc::general)) with `n`
    /// buffers, the module must instead use only storage buffers in set 0 at bindings
    /// `0..n` and the push constants `{ uint count; uint row_stride; uint args[14]; }`, and,
    /// for every buffer sizes and argument values whatever they are, read and write only
    /// within the bound buffers (for example by checking every index against the runtime
    /// array's `length()`) and no other memory, and finish.
    ///
    /// The shaders this workspace ships (`shaders/**/*.comp`) keep this promise by guarding
    /// every access with `index < count` (`shaders/include/index.glsl`), and their tests
    /// run them under the Khronos validation layer.
    pub unsafe fn from_bytes_unchecked(bytes: impl Into<Cow<'static, [u8]>>) -> Self {
        Self {
            bytes: bytes.into(),
            hash: OnceLock::new(),
        }
    }

    /// The SPIR-V bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn hash(&self) -> u64 {
        *self.hash.get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.bytes.hash(&mut hasher);
            hasher.finish()
        })
    }
}
