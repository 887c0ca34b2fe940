//! Multi-scalar multiplication on a Vulkan device: Pippenger's bucket method, every phase
//! on the GPU, in one submission (two when the bases are uploaded with the call: the
//! scalars and their sort first, so that the sort runs while the host fills the bases).
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
//!    rule: `c` doublings and one addition per window, MSMs in parallel; for more MSMs
//!    in a call than [`HOST_HORNER_MSMS_PER_THREAD_G1`] per host thread (G1) the Horner
//!    kernel does it on the device.
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
/// Knobs of the GPU MSM, for measurements and tuning; [`MsmTuning::default`] is what
/// [`G1Gpu::msm`](crate::G1Gpu::msm) and [`G2Gpu::msm`](crate::G2Gpu::msm) use.
///
/// ```
/// use curve_bls12::MsmTuning;
/// let t = MsmTuning::default().with_window_bits(13).with_chunk(8);
/// assert_eq!((t.window_bits, t.segment, t.chunk), (Some(13), 4, Some(8)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MsmTuning {
    /// Signed-digit window width, 1..=16; `None` chooses one by size
    /// ([`msm_window_bits`](crate::msm_window_bits)).
    pub window_bits: Option<u32>,
    /// Sorted entries each invocation of a reduction level sums, 4..=1024 (from 4 on, every
    /// level shortens the list): longer segments mean fewer levels and less parallelism.
    pub segment: u32,
    /// Entries each invocation of the first level sums (4..=1024), the level that reads the
    /// bases and does most of the work; `None` chooses by the number of entries.
    pub first_segment: Option<u32>,
    /// Buckets per invocation of the window kernel, 1..=32768: longer chunks mean fewer,
    /// longer running sums; `None` chooses by window width (8 up to 13 bits, 32 above).
    pub chunk: Option<u32>,
    /// Splits the call into one submission per phase and times each (slower: every split
    /// waits for the device); read the times with [`last_msm_phases`].
    pub profile: bool,
    /// Up to this many MSMs in a call the host combines each MSM's window sums (on all
    /// cores); more are combined on the device. `None`: 16 per rayon thread in G1, 40 in
    /// G2 (256 and 640 on 16 cores).
    pub host_horner_msms: Option<u32>,
}

impl Default for MsmTuning {
    fn default() -> Self {
        Self {
            window_bits: None,
            segment: 4,
            first_segment: None,
            chunk: None,
            profile: false,
            host_horner_msms: None,
        }
    }
}

impl MsmTuning {
    /// The same with windows of `bits` bits.
    pub fn with_window_bits(mut self, bits: u32) -> Self {
        self.window_bits = Some(bits);
        self
    }

    /// The same with segments of `entries` entries.
    pub fn with_segment(mut self, entries: u32) -> Self {
        self.segment = entries;
        self
    }

    /// The same with first-level segments of `entries` entries.
    pub fn with_first_segment(mut self, entries: u32) -> Self {
        self.first_segment = Some(entries);
        self
    }

    /// The same with chunks of `buckets` buckets.
    pub fn with_chunk(mut self, buckets: u32) -> Self {
        self.chunk = Some(buckets);
        self
    }

    /// The same with the window sums of more than `msms` MSMs combined on the device.
    pub fn with_host_horner_msms(mut self, msms: u32) -> Self {
        self.host_horner_msms = Some(msms);
        self
    }

    /// The same, split into one timed submission per phase ([`last_msm_phases`]).
    pub fn with_profile(mut self) -> Self {
        self.profile = true;
        self
    }

    /// The first setting outside its range, as (name, value).
    pub(crate) fn invalid(&self) -> Option<(&'static str, u32)> {
        match *self {
            MsmTuning {
                window_bits: Some(c),
                ..
            } if !(1..=MAX_WINDOW_BITS).contains(&c) => Some(("window_bits", c)),
            MsmTuning { segment, .. } if !(4..=1024).contains(&segment) => {
                Some(("segment", segment))
            }
            MsmTuning {
                first_segment: Some(s),
                ..
            } if !(4..=1024).contains(&s) => Some(("first_segment", s)),
            MsmTuning {
                chunk: Some(chunk), ..
            } if !(1..=32768).contains(&chunk) => Some(("chunk", chunk)),
            _ => None,
        }
    }
}

/// Buckets per window-kernel invocation for windows of `c` bits when [`MsmTuning::chunk`]
/// is `None`. Each invocation's running sums are a serial chain of two additions per
/// bucket, and below 2^14 buckets per window there are too few chunks to fill the GPU
/// anyway, so short chains win; with 2^13 buckets and more, longer chunks mean fewer shares
/// to add up. Measured with `msm_sweep` on an H100 (2026-12-06): chunks of 8 against 32 took
/// 6.69 against 7.36 ms for G1 at 2^16 points (c = 13), 3.82 against 4.77 at 2^10 and 23.4
/// against 26.2 for G2 at 2^16, but 21.3 against 20.5 at 2^18 (c = 14).
pub(crate) fn default_chunk(c: u32) -> u32 {
    if c <= 13 {
        8
    } else {
        32
    }
}

thread_local! {
    static PHASES: std::cell::RefCell<Vec<(&'static str, std::time::Duration)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The phases of the calling thread's last MSM call made with [`MsmTuning::profile`], in
/// order, each with its wall time from its recording to the end of its submission (the
/// last phase includes reading the result back).
///
/// ```
/// assert!(curve_bls12::last_msm_phases().is_empty());
/// ```
pub fn last_msm_phases() -> Vec<(&'static str, std::time::Duration)> {
    PHASES.with(|p| p.borrow().clone())
}

/// Records phase `name` of the calling thread's profiled call at position `at` of
/// [`last_msm_phases`] (at the end when past it).
pub(crate) fn record_phase(at: usize, name: &'static str, time: std::time::Duration) {
    PHASES.with(|p| {
        let mut p = p.borrow_mut();
        let at = at.min(p.len());
        p.insert(at, (name, time));
    });
}

/// Splits a call into timed submissions when profiling.
struct Phases {
    on: bool,
    start: std::time::Instant,
}

impl Phases {
    fn new(on: bool) -> Self {
        if on {
            PHASES.with(|p| p.borrow_mut().clear());
        }
        Self {
            on,
            start: std::time::Instant::now(),
        }
    }

    /// Ends phase `name`: submits and waits for what `batch` holds, and continues in a
    /// fresh batch.
    fn cut<'c>(
        &mut self,
        ctx: &'c Context,
        batch: &mut Batch<'c>,
        name: &'static str,
    ) -> Result<(), Error> {
        if self.on {
            std::mem::replace(batch, ctx.batch()?).submit()?.finish()?;
            self.end(name);
        }
        Ok(())
    }

    fn end(&mut self, name: &'static str) {
        if self.on {
            let now = std::time::Instant::now();
            PHASES.with(|p| p.borrow_mut().push((name, now - self.start)));
            self.start = now;
        }
    }
}

/// Entries per invocation of the first reduction level for a list of `entries` when
/// [`MsmTuning::first_segment`] is `None`: long enough that few runs cross a segment's edge
/// (each costs an entry in the next level), short enough to give the device many
/// invocations.
pub(crate) fn default_first_segment(entries: usize) -> usize {
    match entries {
        e if e >= 1 << 24 => 32,
        e if e >= 1 << 20 => 16,
        _ => 8,
    }
}

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
    horner: Kernel,
    split: Kernel,
}

impl MsmKernels {
    /// Builds the kernels; `group` holds the group's modules (level, window, Horner,
    /// split), the sort and the scan are shared.
    pub(crate) fn new(
        ctx: &Context,
        sort: &SpirvModule,
        scan: &SpirvModule,
        group: &[SpirvModule; 4],
        workgroup_size: u32,
    ) -> Result<Self, Error> {
        let make = |name, module, buffers, size| {
            ctx.create_kernel(&KernelDesc::general(name, module, buffers).with_workgroup_size(size))
        };
        Ok(Self {
            sort: make("msm_sort", sort, 5, workgroup_size)?,
            scan: make("msm_scan", scan, 3, SCAN_WORKGROUP)?,
            level: make("msm_level", &group[0], 8, workgroup_size)?,
            window: make("msm_window", &group[1], 4, workgroup_size)?,
            horner: make("msm_horner", &group[2], 2, workgroup_size)?,
            split: make("msm_split", &group[3], 2, workgroup_size)?,
        })
    }
}

/// Windows of `c`-bit signed digits that cover a scalar of `bits` bits and its last carry.
pub(crate) fn windows_for(c: u32, bits: u32) -> usize {
    (bits as usize + 1).div_ceil(c as usize)
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
    batch_window_bits(n, 1, point_bytes, max_buffer_bytes, 256)
}

/// As [`window_bits`] for `msms` MSMs of `pairs` (scalar, base) pairs in all.
pub(crate) fn batch_window_bits(
    pairs: usize,
    msms: usize,
    point_bytes: usize,
    max_buffer_bytes: u64,
    scalar_bits: u32,
) -> u32 {
    fitting_window_bits(pairs, msms, point_bytes, max_buffer_bytes, scalar_bits).unwrap_or(2)
}

/// [`batch_window_bits`], or `None` when no width's buffers fit (the call is then split).
pub(crate) fn fitting_window_bits(
    pairs: usize,
    msms: usize,
    point_bytes: usize,
    max_buffer_bytes: u64,
    scalar_bits: u32,
) -> Option<u32> {
    let windows = |c: u32| windows_for(c, scalar_bits);
    (2..=MAX_WINDOW_BITS)
        .filter(|&c| {
            window_fits(
                c,
                pairs,
                msms,
                false,
                point_bytes,
                max_buffer_bytes,
                scalar_bits,
            )
        })
        .min_by_key(|&c| windows(c) * (pairs + 3 * msms * (1usize << (c - 1))))
}

/// Whether the buffers of a call of `msms` MSMs of `pairs` pairs in all, in windows of `c`
/// bits, fit `max_buffer_bytes` each; over precomputed `multiples` each MSM has the buckets
/// of one window instead of every window's.
pub(crate) fn window_fits(
    c: u32,
    pairs: usize,
    msms: usize,
    multiples: bool,
    point_bytes: usize,
    max_buffer_bytes: u64,
    scalar_bits: u32,
) -> bool {
    let w = windows_for(c, scalar_bits);
    let keys = msms
        .saturating_mul(if multiples { 1 } else { w })
        .saturating_mul(1 << (c - 1));
    let entries = w.saturating_mul(pairs);
    let largest = [
        keys.saturating_mul(point_bytes),
        next_len(entries, default_first_segment(entries)).saturating_mul(point_bytes),
        entries.saturating_mul(4),
    ];
    keys <= u32::MAX as usize && largest.iter().all(|&b| b as u64 <= max_buffer_bytes)
}

/// The window width of a table of precomputed multiples `[2^(c j)] P` (j below the windows
/// of 256-bit scalars) of `n` bases of `affine_bytes` each, for fixed-base MSMs: the one
/// that minimises each MSM's point additions (`n` per window for the buckets, three per
/// bucket of its one window) among those whose table fits `max_buffer_bytes` and can be
/// indexed by the sort (below 2^31 entries). `None` when none fits.
///
/// For 4096 bases that is 13 bits (20 windows): 94k additions per MSM, against 141k for
/// the 29 windows of 9 bits that MSMs over the bases alone choose.
pub(crate) fn multiples_window_bits(
    n: usize,
    affine_bytes: usize,
    max_buffer_bytes: u64,
) -> Option<u32> {
    (1..=MAX_WINDOW_BITS)
        .filter(|&c| {
            let entries = windows_for(c, 256).saturating_mul(n);
            entries < 1 << 31 && entries.saturating_mul(affine_bytes) as u64 <= max_buffer_bytes
        })
        .min_by_key(|&c| windows_for(c, 256) * n + 3 * (1usize << (c - 1)))
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

/// The number of entries the next level can have after a level over `len` entries in
/// segments of `segment`.
fn next_len(len: usize, segment: usize) -> usize {
    2 * len.div_ceil(segment)
}

/// Records the levels that reduce the list `first` (`bound` entries at most, its length in
/// lengths slot `slot`) to one point per key in `out`, through the ping-pong lists. The
/// first level reads affine bases by sorted index when `affine`. Returns the next free
/// slot.
#[allow(clippy::too_many_arguments)]
fn record_levels<'c>(
    batch: &mut Batch<'c>,
    kernels: &MsmKernels,
    fixed: &LevelBuffers<'_>,
    first: (&DeviceBuffer, &DeviceBuffer),
    lists: &[List; 2],
    out: &DeviceBuffer,
    bound: usize,
    first_segment: usize,
    later_segment: usize,
    mut slot: u32,
    mut affine: bool,
    phases: &mut Phases,
    ctx: &'c Context,
) -> Result<u32, Error> {
    let (mut in_keys, mut in_points) = first;
    let mut len = bound;
    let mut target = 0;
    let mut level_segment = first_segment;
    loop {
        let segment = level_segment;
        level_segment = later_segment;
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
            len.div_ceil(segment).max(1),
            &[slot, slot + 1, segment as u32, u32::from(affine)],
        )?;
        slot += 1;
        if affine {
            phases.cut(ctx, batch, "first level")?;
        }
        affine = false;
        if len <= segment {
            return Ok(slot);
        }
        let next = next_len(len, segment);
        // Shorter every level (segment >= 4, checked by MsmTuning): a level that did not
        // shorten the list would repeat forever.
        if next >= len || slot as usize + 2 >= LENGTH_SLOTS {
            return Err(Error::InvalidArgument(format!(
                "MSM reduction with segments of {segment} does not converge"
            )));
        }
        len = next;
        in_keys = &dst.keys;
        in_points = &dst.points;
        target = 1 - target;
    }
}

/// `buf` cut into consecutive regions of `lens` (which sum to at most its length).
pub(crate) fn split_regions<T>(
    mut buf: &mut [T],
    lens: impl Iterator<Item = usize>,
) -> Vec<&mut [T]> {
    lens.map(|len| {
        let (region, rest) = std::mem::take(&mut buf).split_at_mut(len);
        buf = rest;
        region
    })
    .collect()
}

/// u64 words of a packed affine base (x, y) for points of `point_words` (X, Y, Z).
pub(crate) fn affine_words(point_words: u32) -> u32 {
    point_words / 3 * 2
}

/// Where a call's bases come from.
pub(crate) enum Bases<'a> {
    /// `n` affine points written by `write(i, words)` ([`affine_words`] each), uploaded
    /// with the call; each becomes `split` consecutive bases, `[|z|^d] P` for digit d
    /// (the group's `msm_split` kernel, for scalars split by the group's endomorphism), or
    /// one, itself, for `split` 1.
    Upload {
        n: usize,
        split: usize,
        write: &'a (dyn Fn(usize, &mut [u64]) + Sync),
    },
    /// Bases resident on the device (packed affine, [`affine_words`] each).
    Resident(&'a DeviceBuffer),
}

/// Which MSM each (scalar, base) pair belongs to, and which base it multiplies.
pub(crate) enum Pairs<'a> {
    /// One MSM; pair i multiplies base i.
    Single,
    /// Pair i belongs to MSM `ids[i]` and multiplies base i.
    Ids(&'a [u32]),
    /// Every MSM runs over the same `bases` bases: pair i belongs to MSM `i / bases` and
    /// multiplies base `i % bases`.
    Shared { bases: usize },
}

/// One call: any number of MSMs in one submission (two with uploaded bases).
pub(crate) struct MsmJob<'a> {
    pub(crate) bases: Bases<'a>,
    /// Every pair's scalar, MSM after MSM, as consecutive sets (one per MSM, or any split):
    /// the callers' own slices, not copied.
    pub(crate) scalars: &'a [&'a [Scalar]],
    pub(crate) pairs: Pairs<'a>,
    pub(crate) msms: usize,
    /// u64 words per projective point.
    pub(crate) point_words: u32,
    /// Window bits, 1..=MAX_WINDOW_BITS.
    pub(crate) c: u32,
    /// Entries per reduction invocation (3..=1024) and buckets per window invocation.
    pub(crate) segment: usize,
    /// Entries per invocation of the bucket reduction's first level.
    pub(crate) first_segment: usize,
    pub(crate) chunk: usize,
    /// Time each phase ([`MsmTuning::profile`]).
    pub(crate) profile: bool,
    /// Up to this many MSMs the host combines the window sums.
    pub(crate) host_horner_msms: usize,
    /// Bits of the largest scalar (256, or fewer for split scalars): sets the windows.
    pub(crate) scalar_bits: u32,
    /// The resident bases hold precomputed multiples for windows of `c` bits
    /// ([`multiples_window_bits`]; with [`Pairs::Shared`] only): each MSM sums one window.
    pub(crate) multiples: bool,
}

impl<'a> MsmJob<'a> {
    /// A job over these inputs, its settings (window width and the rest) left for the
    /// caller to fill from the tuning.
    pub(crate) fn new(
        bases: Bases<'a>,
        scalars: &'a [&'a [Scalar]],
        pairs: Pairs<'a>,
        msms: usize,
        point_words: u32,
    ) -> Self {
        Self {
            bases,
            scalars,
            pairs,
            msms,
            point_words,
            c: 0,
            segment: 0,
            first_segment: 0,
            chunk: 0,
            profile: false,
            host_horner_msms: 0,
            scalar_bits: 256,
            multiples: false,
        }
    }
}

/// Up to this many MSMs per host thread in a call (G1; G2 takes
/// [`HOST_HORNER_MSMS_PER_THREAD_G2`]) the host combines the window sums, MSMs in parallel
/// on all cores (each about 256 doublings and one addition per window); more go through the
/// Horner kernel, one invocation per MSM, whose serial chain of point operations takes
/// milliseconds whatever the number of MSMs. On the H100 with 16 cores (2026-12-06), 256
/// MSMs of 128 points: G1 7.98 ms with the host's Horner against 8.55 ms with the device's
/// (its chain 4.6 ms), G2 22.1 against 30.8 ms (its chain 17.0 ms); for 4096 MSMs the
/// device's chain (4.9 ms in G1) is far ahead.
pub(crate) const HOST_HORNER_MSMS_PER_THREAD_G1: usize = 16;
/// G2's [`HOST_HORNER_MSMS_PER_THREAD_G1`]: the device's chain of Fq2 operations is
/// longer than G1's by more than the host's.
pub(crate) const HOST_HORNER_MSMS_PER_THREAD_G2: usize = 40;

/// What a call returns, as words of homogeneous points.
pub(crate) enum MsmOutput {
    /// Window sums, MSM after MSM (`windows_for(c, scalar_bits)` each, window 0 first; one,
    /// the MSM itself, over precomputed multiples): the MSM is `sum_j 2^(c j) S_j`.
    WindowSums(Vec<u64>),
    /// One result per MSM.
    Results(Vec<u64>),
}

/// Runs a call's MSMs (see the module's description of the submissions). `on_submitted`
/// runs once the last submission is on its way, before the wait for it: work the host
/// does there, or submits behind it, overlaps the device's.
pub(crate) fn run(
    ctx: &Context,
    kernels: &MsmKernels,
    job: &MsmJob<'_>,
    on_submitted: &mut dyn FnMut(),
) -> Result<MsmOutput, Error> {
    let MsmJob {
        point_words,
        c,
        scalars,
        msms,
        segment,
        first_segment,
        chunk,
        profile,
        host_horner_msms,
        ..
    } = *job;
    let mut phases = Phases::new(profile);
    let pairs: usize = scalars.iter().map(|k| k.len()).sum();
    debug_assert!((1..=MAX_WINDOW_BITS).contains(&c) && pairs > 0 && msms > 0);
    let too_large =
        || Error::InvalidArgument(format!("{msms} MSMs of {pairs} pairs in all are too large"));
    let w = windows_for(c, job.scalar_bits);
    // Windows of buckets per MSM: one over precomputed multiples.
    let key_windows = if job.multiples { 1 } else { w };
    let per_window = 1usize << (c - 1);
    let keys = msms
        .checked_mul(key_windows * per_window)
        .filter(|&k| k <= u32::MAX as usize)
        .ok_or_else(too_large)?;
    let entries = w.checked_mul(pairs).ok_or_else(too_large)?;
    if pairs >= 1 << 31 || entries > u32::MAX as usize {
        return Err(too_large());
    }
    let chunks = per_window.div_ceil(chunk);
    let all_windows = msms * key_windows;
    let shares = all_windows * chunks;
    let list_entries = next_len(entries, first_segment).max(next_len(shares, segment));
    let blocks = keys.div_ceil(SCAN_BLOCK);

    let uploaded;
    let bases = match job.bases {
        Bases::Resident(buf) => buf,
        Bases::Upload { n, split, .. } => {
            let bases = n.checked_mul(split).ok_or_else(too_large)?;
            uploaded = ctx.alloc(bases, affine_words(point_words))?;
            &uploaded
        }
    };
    let scalar_buf = ctx.alloc(pairs, 4)?;
    let ids = ctx.alloc(
        match job.pairs {
            Pairs::Ids(ids) => u32_words(ids.len()),
            Pairs::Single => u32_words(pairs),
            Pairs::Shared { .. } => 1,
        },
        1,
    )?;
    let counts = ctx.alloc(u32_words(keys), 1)?;
    let totals = ctx.alloc(u32_words(blocks), 1)?;
    let lengths = ctx.alloc(u32_words(LENGTH_SLOTS), 1)?;
    let sorted_idx = ctx.alloc(u32_words(entries), 1)?;
    let sorted_key = ctx.alloc(u32_words(entries), 1)?;
    let lists = [
        List::new(ctx, list_entries, point_words)?,
        List::new(ctx, list_entries, point_words)?,
    ];
    let buckets = ctx.alloc(keys, point_words)?;
    let share_list = List::new(ctx, shares, point_words)?;
    let sums = ctx.alloc(all_windows, point_words)?;

    phases.end("allocate");
    // Two submissions when the bases are uploaded: the scalars and the sort, then the
    // bases and the rest, so that the sort runs while the host fills the bases and their
    // copy crosses the bus.
    let mut batch = ctx.batch()?;
    batch.upload(&scalar_buf, |words| {
        use rayon::prelude::*;
        split_regions(words, scalars.iter().map(|k| 4 * k.len()))
            .into_par_iter()
            .zip(scalars.par_iter())
            .for_each(|(region, set)| {
                region
                    .par_chunks_mut(4 * 1024)
                    .zip(set.par_chunks(1024))
                    .for_each(|(dst, ks)| {
                        for (dst, k) in dst.chunks_exact_mut(4).zip(ks) {
                            let bytes = k.to_le_bytes();
                            for (word, b) in dst.iter_mut().zip(bytes.chunks_exact(8)) {
                                *word = u64::from_le_bytes(b.try_into().expect("8-byte chunks"));
                            }
                        }
                    });
            });
    })?;
    match job.pairs {
        Pairs::Ids(list) => batch.upload(&ids, |words| {
            use rayon::prelude::*;
            words
                .par_iter_mut()
                .zip(list.par_chunks(2))
                .for_each(|(word, pair)| {
                    *word = u64::from(pair[0]) | pair.get(1).map_or(0, |&hi| u64::from(hi) << 32);
                });
        })?,
        Pairs::Single | Pairs::Shared { .. } => batch.fill_zero(&ids)?,
    }
    for buf in [&counts, &lengths, &buckets, &sums] {
        batch.fill_zero(buf)?;
    }
    phases.cut(ctx, &mut batch, "upload scalars")?;
    let shared = match job.pairs {
        Pairs::Shared { bases } => bases as u32,
        Pairs::Single | Pairs::Ids(_) => 0,
    };
    let multiples = u32::from(job.multiples && shared > 0);
    let sort_buffers = [&scalar_buf, &counts, &sorted_idx, &sorted_key, &ids];
    batch.dispatch_general(
        &kernels.sort,
        &sort_buffers,
        pairs,
        &[c, w as u32, 0, shared, multiples],
    )?;
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
    batch.dispatch_general(
        &kernels.sort,
        &sort_buffers,
        pairs,
        &[c, w as u32, 1, shared, multiples],
    )?;
    phases.cut(ctx, &mut batch, "sort")?;
    // Waited for at the end: the second submission runs after it on the same queue.
    let mut sorting = None;
    if let Bases::Upload { n, split, write } = job.bases {
        sorting = Some(std::mem::replace(&mut batch, ctx.batch()?).submit()?);
        let aw = affine_words(point_words);
        let fill = |words: &mut [u64]| {
            use rayon::prelude::*;
            words
                .par_chunks_mut(aw as usize)
                .enumerate()
                .for_each(|(i, point)| write(i, point));
        };
        if split > 1 {
            // The batch keeps the points' buffer until it completes.
            let points = ctx.alloc(n, aw)?;
            batch.upload(&points, fill)?;
            batch.dispatch_general(
                &kernels.split,
                &[&points, bases],
                n * split,
                &[split as u32],
            )?;
        } else {
            batch.upload(bases, fill)?;
        }
        phases.cut(ctx, &mut batch, "upload bases")?;
    }

    let fixed = LevelBuffers {
        bases,
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
        first_segment,
        segment,
        0,
        true,
        &mut phases,
        ctx,
    )?;
    phases.cut(ctx, &mut batch, "bucket levels")?;
    batch.dispatch_general(
        &kernels.window,
        &[&buckets, &share_list.keys, &share_list.points, &lengths],
        shares,
        &[
            per_window as u32,
            chunk as u32,
            chunks as u32,
            all_windows as u32,
            slot,
        ],
    )?;
    phases.cut(ctx, &mut batch, "window sums")?;
    record_levels(
        &mut batch,
        kernels,
        &fixed,
        (&share_list.keys, &share_list.points),
        &lists,
        &sums,
        shares,
        segment,
        segment,
        slot,
        false,
        &mut phases,
        ctx,
    )?;
    phases.cut(ctx, &mut batch, "window levels")?;
    if msms <= host_horner_msms {
        let id = batch.download(&sums)?;
        let ticket = batch.submit()?;
        on_submitted();
        let done = ticket.finish()?;
        let sums = done.read(id, <[u64]>::to_vec)?;
        if let Some(ticket) = sorting {
            ticket.finish()?;
        }
        phases.end("read");
        return Ok(MsmOutput::WindowSums(sums));
    }
    let results = ctx.alloc(msms, point_words)?;
    batch.dispatch_general(
        &kernels.horner,
        &[&sums, &results],
        msms,
        &[key_windows as u32, c, msms as u32],
    )?;
    let id = batch.download(&results)?;
    let ticket = batch.submit()?;
    on_submitted();
    let done = ticket.finish()?;
    let results = done.read(id, <[u64]>::to_vec)?;
    if let Some(ticket) = sorting {
        ticket.finish()?;
    }
    phases.end("horner and read");
    Ok(MsmOutput::Results(results))
}
