//! Every raw-memory `unsafe` of the crate, in small functions with safe signatures: huge-page
//! advice on fresh outputs, vectors filled before their length covers the elements,
//! non-temporal stores, and the view of a host vector's words as elements.
//!
//! The other `unsafe` code of the crate is blst's FFI (`blst_ops`), the AVX-512 IFMA
//! intrinsics (`ifma`) and the embedded kernels (`gpu::embedded_module`); the crate root
//! denies `unsafe` everywhere else.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use crate::fq::{Fq, FQ_LIMBS};
use crate::gpu::GpuElement;

/// Fresh outputs of at least this many bytes ask the kernel for transparent huge pages
/// ([`output_vec`]).
const HUGE_PAGE_OUTPUT_MIN: usize = 4 << 20;

/// An empty `Vec` with room for `len` results. A large one asks Linux to back it with
/// transparent huge pages (`madvise(MADV_HUGEPAGE)`, honoured where THP is `always` or
/// `madvise`): first-touch page faults, one per 4 KiB, otherwise cost more than the
/// arithmetic that fills the memory. Measured on the GPU machines' 16-core host (a call
/// that got the H200 machine, 2026-11-22, filling a fresh buffer on all cores, medians of
/// 7): 48 MiB 3.45-3.58 ms with 4 KiB pages, 1.13-1.33 with huge pages, 0.24-0.36 reused;
/// 768 MiB 52-70 against 20-22 ms. On the H100 machine a 16Mi CPU add went from 5.0-5.6 to
/// 2.7 ns per element.
pub(crate) fn output_vec<T>(len: usize) -> Vec<T> {
    let v = Vec::with_capacity(len);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = len.saturating_mul(std::mem::size_of::<T>());
        if bytes >= HUGE_PAGE_OUTPUT_MIN {
            // The whole 2 MiB pages inside the allocation.
            let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
            let end = (v.as_ptr() as usize + bytes) & !(HUGE - 1);
            if end > start {
                // SAFETY: `start..end` lies inside the allocation just made for `bytes`
                // bytes, which nothing has touched yet. MADV_HUGEPAGE is advice about how
                // to back those pages; it changes no contents and no mapping the program
                // sees. Its failure (THP off, old kernel) leaves ordinary pages: ignored.
                unsafe {
                    libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
                }
            }
        }
    }
    v
}

/// `len` elements computed `CHUNK` at a time (on all cores when `parallel`), written
/// straight into a fresh [`output_vec`]: no zero-fill pass over memory the results then
/// overwrite (on a large batch that pass costs as much as the arithmetic). `f(start, limbs)`
/// writes the canonical limbs of elements `start..start + limbs.len()` into `limbs`, a
/// buffer on the task's stack that this function then moves into the vector, so every
/// element is written before the vector's length covers it, whatever `f` does.
pub(crate) fn collect_fq<const CHUNK: usize>(
    len: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [[u64; FQ_LIMBS]]) + Sync,
) -> Vec<Fq> {
    let mut out = output_vec(len);
    let task = |(t, dst): (usize, &mut [MaybeUninit<Fq>])| {
        let mut limbs = [[0u64; FQ_LIMBS]; CHUNK];
        let limbs = &mut limbs[..dst.len()];
        f(t * CHUNK, limbs);
        for (d, l) in dst.iter_mut().zip(limbs.iter()) {
            d.write(Fq::from_canonical_limbs(*l));
        }
    };
    let dst = &mut out.spare_capacity_mut()[..len];
    if parallel {
        dst.par_chunks_mut(CHUNK).enumerate().for_each(task);
    } else {
        dst.chunks_mut(CHUNK).enumerate().for_each(task);
    }
    // SAFETY: `output_vec(len)` reserved `len` elements; the chunks above cover elements
    // 0..len of the spare capacity, and each task wrote every element of its chunk (a zip
    // of two slices of the chunk's length). A panic in `f` never reaches this line.
    unsafe { out.set_len(len) };
    out
}

/// Writes `v` into `dst` around the caches on x86-64 (six `movnti`; consecutive elements
/// fill whole lines in the write-combining buffers), plainly elsewhere. The writes are
/// weakly ordered: [`stream_fence`] before anything else may read them.
#[inline(always)]
pub(crate) fn stream_store(dst: &mut Fq, v: Fq) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = std::ptr::from_mut(dst).cast::<i64>();
        for (k, w) in v.limbs().iter().enumerate() {
            // SAFETY: `Fq` is `repr(transparent)` over `[u64; 6]`, so `p + k` (k < 6) is
            // an aligned u64 inside the exclusively borrowed `dst`; movnti is SSE2, part
            // of every x86-64 CPU. The words stored are those of `v`, a valid `Fq`.
            unsafe { std::arch::x86_64::_mm_stream_si64(p.add(k), *w as i64) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        *dst = v;
    }
}

/// Writes `v` into uninitialised `dst` around the caches, as [`stream_store`] does.
#[inline(always)]
pub(crate) fn stream_store_uninit(dst: &mut MaybeUninit<Fq>, v: Fq) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = dst.as_mut_ptr().cast::<i64>();
        for (k, w) in v.limbs().iter().enumerate() {
            // SAFETY: `Fq` is `repr(transparent)` over `[u64; 6]`, so `p + k` (k < 6) is an
            // aligned u64 inside the exclusively borrowed `dst` (writing into
            // uninitialised memory through a raw pointer is allowed); movnti is SSE2. The
            // six words stored are those of `v`, so `dst` then holds a valid `Fq`.
            unsafe { std::arch::x86_64::_mm_stream_si64(p.add(k), *w as i64) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        dst.write(v);
    }
}

/// Appends `make(i)` for `i` in `0..n` to `out` on all cores (the copy pool), in tasks of
/// `task` elements, each writing straight into the vector's spare capacity with
/// [`GpuElement::store_streaming_uninit`] and fencing its stores before it ends.
pub(crate) fn extend_par<O: GpuElement>(
    out: &mut Vec<O>,
    n: usize,
    task: usize,
    make: impl Fn(usize) -> O + Sync,
) {
    out.reserve(n);
    let len = out.len();
    let dst = &mut out.spare_capacity_mut()[..n];
    crate::gpu::copy_pool().install(|| {
        dst.par_chunks_mut(task.max(1))
            .enumerate()
            .for_each(|(t, chunk)| {
                for (i, d) in chunk.iter_mut().enumerate() {
                    make(t * task.max(1) + i).store_streaming_uninit(d);
                }
                stream_fence();
            })
    });
    // SAFETY: `reserve(n)` made room for `n` more elements; the tasks above cover elements
    // `len..len + n` (chunks of the first `n` of the spare capacity) and each wrote every
    // element of its chunk before returning (every `store_streaming_uninit` of this
    // crate-private trait writes its value: the default with `write`, `Fq`'s with all six
    // words), with its streaming stores fenced; rayon's join orders those writes before
    // this line. A panic in `make` never reaches it.
    unsafe { out.set_len(len + n) };
}

/// Writes `words` into `dst` around the caches, as [`stream_store`] does for an `Fq` (for
/// GPU-visible memory the host only writes: staging for uploads).
#[inline(always)]
pub(crate) fn stream_store_words(dst: &mut [u64; FQ_LIMBS], words: &[u64; FQ_LIMBS]) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = dst.as_mut_ptr().cast::<i64>();
        for (k, w) in words.iter().enumerate() {
            // SAFETY: `p + k` (k < 6) is an aligned u64 of the exclusively borrowed `dst`;
            // movnti is SSE2, part of every x86-64 CPU.
            unsafe { std::arch::x86_64::_mm_stream_si64(p.add(k), *w as i64) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        *dst = *words;
    }
}

/// Orders the calling thread's [`stream_store`]s and [`stream_store_words`] before its
/// later stores (the ones that
/// publish the work as done, such as the end of a rayon task).
#[inline]
pub(crate) fn stream_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: sfence is SSE, part of every x86-64 CPU.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

/// The words of a [`crate::HostFqVec`]'s buffer (or a range of it) as the elements they
/// hold. For host vectors only: their invariant is what makes the words elements.
pub(crate) fn host_elements(words: &[[u64; FQ_LIMBS]]) -> &[Fq] {
    // SAFETY: `Fq` is `repr(transparent)` over `[u64; 6]` (same size, alignment and bit
    // validity), so the words are `words.len()` values of `Fq` in the same memory, borrowed
    // as long as `words`. Each is `< p`, as `Fq` promises: the callers pass only the words
    // of a usable host vector, whose invariant (`host_vec.rs`, `HostFqVec`) is that every
    // element is canonical: zeroed at allocation, written only through `&mut [Fq]` or by
    // kernels whose results are checked before anything reads them, zeroed when a job
    // fails, and never read while a failed job's words could not be cleared.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<Fq>(), words.len()) }
}

/// [`host_elements`], to change them: whatever is written is an `Fq`, so canonical.
pub(crate) fn host_elements_mut(words: &mut [[u64; FQ_LIMBS]]) -> &mut [Fq] {
    // SAFETY: as in `host_elements`; the exclusive borrow of `words` passes to the result.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<Fq>(), words.len()) }
}
