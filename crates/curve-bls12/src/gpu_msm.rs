//! Multi-scalar multiplication on a Vulkan device: Pippenger's bucket method, every phase
//! on the GPU, one submission.
//!
//! 1. `msm_sort` (two passes around `msm_scan`): each scalar is recoded into signed digits
//!    of `c` bits (`shaders/include/msm.glsl`), and the points are counting-sorted by
//!    (window, bucket): per-bucket counts, exclusive prefix sums, a scatter of point
//!    indices (negated digits marked in the index's top bit).
//! 2. `gN_msm_level`: the sorted list is summed by key in segments of equal length, so a
//!    bucket holding every point costs what an even spread costs; runs that cross a
//!    segment's edge go on to the next level, as many levels as the longest possible list
//!    needs (`shaders/include/msm_level.glsl`). The result: every bucket's sum.
//! 3. `gN_msm_window`: chunks of each window's buckets become `A + lo R` shares (running
//!    sums), and the same level kernel adds the shares of each window.
//! 4. The host reads the window sums (one point per window) and combines them by Horner's
//!    rule: `c` doublings and one addition per window, microseconds on the CPU.
//!
//! Scalars are used whole (256 bits, not reduced mod r), so the result is right for any
//! point on the curve, in the prime-order subgroup or not. The formulas are the complete
//! ones of `shaders/include/curve.glsl`: equal points and opposite points in one bucket need
//! no special case.

use vk_backend::{Batch, Context, DeviceBuffer, Error, Kernel, KernelDesc, SpirvModule};

use crate::Scalar;

/// The widest window: the scan handles up to 1024 blocks of 1024 bucket counts, and
/// `ceil(257 / 16) * 2^15` is 557,056.
pub(crate) const MAX_WINDOW_BITS: u32 = 16;
/// Entries each invocation of a level sums (at least 3, so every level shortens the list).
const SEGMENT: usize = 16;
/// Buckets per invocation of the window kernel.
const CHUNK: usize = 32;
/// Workgroup size of the scan (fixed in `msm_scan.comp`).
const SCAN_WORKGROUP: u32 = 256;
/// Counts per scan block.
const SCAN_BLOCK: usize = 1024;
/// Slots in the lengths buffer (one per level; 64 is far above what 2^32 entries need).
const LENGTH_SLOTS: usize = 64;

/// The MSM kernels of one group on one context.
#[derive(Debug)]
pub(crate) struct MsmKernels {
    sort: Kernel,
    scan: Kernel,
    level: Kernel,
    window: Kernel,
}

impl MsmKernels {
    /// Builds the kernels; `level` and `window` are the group's modules, the sort and the
    /// scan are shared.
    pub(crate) fn new(
        ctx: &Context,
        sort: &SpirvModule,
        scan: &SpirvModule,
        level: &SpirvModule,
        window: &SpirvModule,
        workgroup_size: u32,
    ) -> Result<Self, Error> {
        let make = |name, module, buffers, size| {
            ctx.create_kernel(&KernelDesc::general(name, module, buffers).with_workgroup_size(size))
        };
        Ok(Self {
            sort: make("msm_sort", sort, 4, workgroup_size)?,
            scan: make("msm_scan", scan, 3, SCAN_WORKGROUP)?,
            level: make("msm_level", level, 8, workgroup_size)?,
            window: make("msm_window", window, 4, workgroup_size)?,
        })
    }
}

/// Windows of `c`-bit signed digits that cover a 256-bit scalar and its last carry.
pub(crate) fn windows(c: u32) -> usize {
    257usize.div_ceil(c as usize)
}

/// The window width [`G1Gpu::msm`](crate::G1Gpu::msm) and
/// [`G2Gpu::msm`](crate::G2Gpu::msm) choose for `n` points of `point_bytes` each on a device
/// whose kernels bind at most `max_buffer_bytes` per buffer: the one that minimises the
/// point additions (about `n` per window for the buckets and three per bucket for the
/// running sums) among those whose largest buffer fits.
///
/// ```
/// // 2^20 G1 points (144 bytes each on the device), 4 GiB buffers: 16-bit windows.
/// assert_eq!(curve_bls12::msm_window_bits(1 << 20, 144, 1 << 32), 16);
/// ```
pub fn window_bits(n: usize, point_bytes: usize, max_buffer_bytes: u64) -> u32 {
    let fits = |c: u32| {
        let w = windows(c);
        let largest = [
            w * (1 << (c - 1)) * point_bytes,
            next_len(w * n) * point_bytes,
            4 * w * n,
        ];
        largest.iter().all(|&b| b as u64 <= max_buffer_bytes)
    };
    (2..=MAX_WINDOW_BITS)
        .filter(|&c| fits(c))
        .min_by_key(|&c| windows(c) * (n + 3 * (1usize << (c - 1))))
        .unwrap_or(2)
}

/// Words of a buffer of `entries` u32 values (at least one word: buffers are never empty).
fn u32_words(entries: usize) -> usize {
    entries.div_ceil(2).max(1)
}

/// One device list of (key, point) entries.
struct List {
    keys: DeviceBuffer,
    points: DeviceBuffer,
}

impl List {
    fn new(ctx: &Context, entries: usize, point_words: u32) -> Result<Self, Error> {
        Ok(Self {
            keys: ctx.alloc(u32_words(entries), 1)?,
            points: ctx.alloc(entries.max(1), point_words)?,
        })
    }
}

/// The buffers every level binds besides its lists.
struct LevelBuffers<'a> {
    bases: &'a DeviceBuffer,
    sorted_idx: &'a DeviceBuffer,
    lengths: &'a DeviceBuffer,
}

/// The number of entries the next level can have after a level over `len` entries.
fn next_len(len: usize) -> usize {
    2 * len.div_ceil(SEGMENT)
}

/// Records the levels that reduce the list `first` (`bound` entries at most, its length in
/// lengths slot `slot`) to one point per key in `out`, through the ping-pong lists. The
/// first level reads affine bases by sorted index when `affine`. Returns the next free
/// slot.
#[allow(clippy::too_many_arguments)]
fn record_levels(
    batch: &mut Batch<'_>,
    kernels: &MsmKernels,
    fixed: &LevelBuffers<'_>,
    first: (&DeviceBuffer, &DeviceBuffer),
    lists: &[List; 2],
    out: &DeviceBuffer,
    bound: usize,
    mut slot: u32,
    mut affine: bool,
) -> Result<u32, Error> {
    let (mut in_keys, mut in_points) = first;
    let mut len = bound;
    let mut target = 0;
    loop {
        let dst = &lists[target];
        // Level 0 reads no input points: bind the other list's, unused, to keep all eight
        // buffers distinct.
        let in_points_bound = if affine {
            &lists[1 - target].points
        } else {
            in_points
        };
        batch.dispatch_general(
            &kernels.level,
            &[
                fixed.bases,
                fixed.sorted_idx,
                in_keys,
                in_points_bound,
                fixed.lengths,
                &dst.keys,
                &dst.points,
                out,
            ],
            len.div_ceil(SEGMENT).max(1),
            &[slot, slot + 1, SEGMENT as u32, u32::from(affine)],
        )?;
        slot += 1;
        affine = false;
        if len <= SEGMENT {
            return Ok(slot);
        }
        len = next_len(len);
        in_keys = &dst.keys;
        in_points = &dst.points;
        target = 1 - target;
    }
}

/// The inputs of one MSM as the kernels read them.
pub(crate) struct MsmInput<'a> {
    /// Points.
    pub(crate) n: usize,
    /// u64 words per point (affine bases padded to a projective point's size).
    pub(crate) point_words: u32,
    /// Writes affine base `i` into its words.
    pub(crate) write_base: &'a (dyn Fn(usize, &mut [u64]) + Sync),
    pub(crate) scalars: &'a [Scalar],
    /// Window bits, 1..=MAX_WINDOW_BITS.
    pub(crate) c: u32,
}

/// Runs one MSM and returns the words of its window sums (homogeneous points, window 0
/// first): `sum_j 2^(c j) S_j` is the result.
pub(crate) fn run(
    ctx: &Context,
    kernels: &MsmKernels,
    input: &MsmInput<'_>,
) -> Result<Vec<u64>, Error> {
    let MsmInput {
        n,
        point_words,
        c,
        scalars,
        ..
    } = *input;
    debug_assert!((1..=MAX_WINDOW_BITS).contains(&c) && scalars.len() == n && n > 0);
    let too_many = || Error::InvalidArgument(format!("an MSM of {n} points is too large"));
    let w = windows(c);
    let per_window = 1usize << (c - 1);
    let keys = w * per_window;
    let entries = w.checked_mul(n).ok_or_else(too_many)?;
    if n >= 1 << 31 || entries > u32::MAX as usize {
        return Err(too_many());
    }
    let chunks = per_window.div_ceil(CHUNK);
    let shares = w * chunks;
    let list_entries = next_len(entries).max(next_len(shares));
    let pw = point_words as usize;

    let bases = ctx.alloc(n, point_words)?;
    let scalar_buf = ctx.alloc(n, 4)?;
    let counts = ctx.alloc(u32_words(keys), 1)?;
    let totals = ctx.alloc(u32_words(SCAN_BLOCK), 1)?;
    let lengths = ctx.alloc(u32_words(LENGTH_SLOTS), 1)?;
    let sorted_idx = ctx.alloc(u32_words(entries), 1)?;
    let sorted_key = ctx.alloc(u32_words(entries), 1)?;
    let lists = [
        List::new(ctx, list_entries, point_words)?,
        List::new(ctx, list_entries, point_words)?,
    ];
    let buckets = ctx.alloc(keys, point_words)?;
    let share_list = List::new(ctx, shares, point_words)?;
    let sums = ctx.alloc(w, point_words)?;

    let mut batch = ctx.batch()?;
    batch.upload(&bases, |words| {
        use rayon::prelude::*;
        words
            .par_chunks_mut(pw)
            .enumerate()
            .for_each(|(i, point)| (input.write_base)(i, point));
    })?;
    batch.upload(&scalar_buf, |words| {
        for (dst, k) in words.chunks_exact_mut(4).zip(scalars) {
            for (word, bytes) in dst.iter_mut().zip(k.to_le_bytes().chunks_exact(8)) {
                *word = u64::from_le_bytes(bytes.try_into().expect("8-byte chunks"));
            }
        }
    })?;
    for buf in [&counts, &lengths, &buckets, &sums] {
        batch.fill_zero(buf)?;
    }
    let sort_buffers = [&scalar_buf, &counts, &sorted_idx, &sorted_key];
    batch.dispatch_general(&kernels.sort, &sort_buffers, n, &[c, w as u32, 0])?;
    let blocks = keys.div_ceil(SCAN_BLOCK);
    let scan_buffers = [&counts, &totals, &lengths];
    let group = SCAN_WORKGROUP as usize;
    for (pass, invocations) in [(0, blocks * group), (1, group), (2, blocks * group)] {
        batch.dispatch_general(
            &kernels.scan,
            &scan_buffers,
            invocations,
            &[keys as u32, pass, 0],
        )?;
    }
    batch.dispatch_general(&kernels.sort, &sort_buffers, n, &[c, w as u32, 1])?;

    let fixed = LevelBuffers {
        bases: &bases,
        sorted_idx: &sorted_idx,
        lengths: &lengths,
    };
    let slot = record_levels(
        &mut batch,
        kernels,
        &fixed,
        (&sorted_key, &sorted_key),
        &lists,
        &buckets,
        entries,
        0,
        true,
    )?;
    batch.dispatch_general(
        &kernels.window,
        &[&buckets, &share_list.keys, &share_list.points, &lengths],
        shares,
        &[
            per_window as u32,
            CHUNK as u32,
            chunks as u32,
            w as u32,
            slot,
        ],
    )?;
    record_levels(
        &mut batch,
        kernels,
        &fixed,
        (&share_list.keys, &share_list.points),
        &lists,
        &sums,
        shares,
        slot,
        false,
    )?;
    let id = batch.download(&sums)?;
    let done = batch.submit()?.finish()?;
    done.read(id, <[u64]>::to_vec)
}
