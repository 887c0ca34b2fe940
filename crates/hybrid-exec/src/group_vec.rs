//! Fq vectors spread over a [`DeviceGroup`]'s devices, one contiguous shard per device
//! with a GPU: host vectors each device reaches in place ([`GroupHostVec`]) and resident
//! vectors in each device's memory ([`GroupFqVec`]). Programs run on every shard side by
//! side, each on its own device, so nothing crosses between devices.

use rayon::prelude::*;

use field_bls12::{FieldError, Fq, FqGpu, FqProgram, FqVec, HostFqVec};

use crate::group::{split_evenly, DeviceGroup};
use crate::RouterError;

/// Fq values in host memory, one contiguous shard per device of the [`DeviceGroup`] that
/// made it ([`DeviceGroup::host_vec_from`]), each shard reachable by its device in place.
#[derive(Debug)]
pub struct GroupHostVec {
    /// (router index, shard), in order of the values.
    shards: Vec<(usize, HostFqVec)>,
}

/// Fq values resident in the devices' memory, one contiguous shard per device of the
/// [`DeviceGroup`] that made it ([`DeviceGroup::upload`]).
#[derive(Debug)]
pub struct GroupFqVec {
    /// (router index, shard), in order of the values.
    shards: Vec<(usize, FqVec)>,
}

impl GroupHostVec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|(_, s)| s.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, in order.
    ///
    /// # Errors
    /// [`RouterError::Field`] when a shard cannot be read.
    pub fn to_vec(&self) -> Result<Vec<Fq>, RouterError> {
        let mut out = Vec::with_capacity(self.len());
        for (_, s) in &self.shards {
            out.extend(s.to_vec()?);
        }
        Ok(out)
    }
}

impl GroupFqVec {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|(_, s)| s.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether every vector has the shards of the first (same devices, same lengths): the
/// layout a job needs; [`FieldError::LengthMismatch`] naming the first that differs.
fn check_layout<'v, T: 'v>(
    op: &'static str,
    vectors: impl IntoIterator<Item = &'v [(usize, T)]>,
    len: impl Fn(&T) -> usize,
) -> Result<(), RouterError> {
    let mut vectors = vectors.into_iter();
    let Some(first) = vectors.next() else {
        return Ok(());
    };
    for v in vectors {
        let same = v.len() == first.len()
            && v.iter()
                .zip(first)
                .all(|((d, a), (e, b))| d == e && len(a) == len(b));
        if !same {
            let total = |v: &[(usize, T)]| v.iter().map(|(_, s)| len(s)).sum();
            return Err(FieldError::LengthMismatch {
                op,
                left: total(first),
                right: total(v),
            }
            .into());
        }
    }
    Ok(())
}

impl DeviceGroup {
    /// The routers with a GPU, and their GPUs: where shards live.
    fn shard_devices(&self) -> Result<Vec<(usize, &FqGpu)>, RouterError> {
        let devices: Vec<(usize, &FqGpu)> = self
            .routers()
            .iter()
            .enumerate()
            .filter_map(|(d, r)| r.gpu().map(|g| (d, g)))
            .collect();
        if devices.is_empty() {
            return Err(FieldError::Gpu(vk_backend::Error::NoSuitableDevice(
                "the group has no device with a GPU for shards".into(),
            ))
            .into());
        }
        Ok(devices)
    }

    /// `values` in host memory, cut into one contiguous shard per device with a GPU.
    ///
    /// # Errors
    /// [`RouterError::Field`] when the group has no GPU, or memory cannot be had.
    pub fn host_vec_from(&self, values: &[Fq]) -> Result<GroupHostVec, RouterError> {
        let devices = self.shard_devices()?;
        let ranges = split_evenly(values.len(), devices.len());
        let shards = devices
            .into_iter()
            .zip(ranges)
            .map(|((d, gpu), range)| Ok((d, gpu.host_vec_from(&values[range])?)))
            .collect::<Result<_, RouterError>>()?;
        Ok(GroupHostVec { shards })
    }

    /// A host vector of zeros with the shards of `like`: the output of a job on it.
    ///
    /// # Errors
    /// As [`DeviceGroup::host_vec_from`].
    pub fn alloc_host_vec_like(&self, like: &GroupHostVec) -> Result<GroupHostVec, RouterError> {
        let shards = like
            .shards
            .iter()
            .map(|(d, s)| {
                let gpu = self.routers()[*d].gpu().ok_or_else(|| {
                    RouterError::from(FieldError::Gpu(vk_backend::Error::NoSuitableDevice(
                        "a shard's device has no GPU now".into(),
                    )))
                })?;
                Ok((*d, gpu.alloc_host_vec(s.len())?))
            })
            .collect::<Result<_, RouterError>>()?;
        Ok(GroupHostVec { shards })
    }

    /// [`Router::run_host`](crate::Router::run_host) on every shard, side by side, each
    /// by its device's router under the group's policy: a device that fails (or is lost)
    /// has its shard computed on the CPU, which reads host vectors in place.
    ///
    /// # Errors
    /// As [`Router::run_host`](crate::Router::run_host), and
    /// [`FieldError::LengthMismatch`] for vectors whose shards differ; nothing runs then.
    pub fn run_host(
        &self,
        program: &FqProgram,
        inputs: &[&GroupHostVec],
        out: &mut GroupHostVec,
    ) -> Result<(), RouterError> {
        check_layout(
            "DeviceGroup::run_host",
            inputs
                .iter()
                .map(|v| &v.shards[..])
                .chain([&out.shards[..]]),
            HostFqVec::len,
        )?;
        for (s, (_, shard)) in out.shards.iter().enumerate() {
            let shard_inputs: Vec<&HostFqVec> = inputs.iter().map(|v| &v.shards[s].1).collect();
            program.check_host_job(&shard_inputs, shard)?;
        }
        let policy = self.policy();
        out.shards
            .par_iter_mut()
            .with_max_len(1)
            .enumerate()
            .map(|(s, (d, shard))| {
                let shard_inputs: Vec<&HostFqVec> = inputs.iter().map(|v| &v.shards[s].1).collect();
                self.routers()[*d]
                    .run_host(policy, program, &shard_inputs, shard)
                    .map(|_| ())
            })
            .collect()
    }

    /// `values` resident on the devices, one contiguous shard per device with a GPU.
    ///
    /// # Errors
    /// [`RouterError::Field`] when the group has no GPU or a device fails.
    pub fn upload(&self, values: &[Fq]) -> Result<GroupFqVec, RouterError> {
        let devices = self.shard_devices()?;
        let ranges = split_evenly(values.len(), devices.len());
        let shards = devices
            .into_par_iter()
            .zip(ranges)
            .with_max_len(1)
            .map(|((d, gpu), range)| Ok((d, gpu.upload(&values[range])?)))
            .collect::<Result<_, RouterError>>()?;
        Ok(GroupFqVec { shards })
    }

    /// The values of a resident vector, in order.
    ///
    /// # Errors
    /// [`RouterError::Field`] when a device fails or left a value that is not canonical.
    pub fn download(&self, v: &GroupFqVec) -> Result<Vec<Fq>, RouterError> {
        let parts = v
            .shards
            .par_iter()
            .with_max_len(1)
            .map(|(d, shard)| self.resident_gpu(*d)?.download(shard).map_err(Into::into))
            .collect::<Result<Vec<Vec<Fq>>, RouterError>>()?;
        Ok(parts.into_iter().flatten().collect())
    }

    /// `program` on resident vectors, every shard on its own device side by side (one
    /// submission each), into a new resident vector with the same shards. Resident data
    /// lives on its device: a device that fails fails the job (the data cannot be
    /// recomputed elsewhere), with the error.
    ///
    /// # Errors
    /// [`FieldError::LengthMismatch`] for vectors whose shards differ (nothing runs then);
    /// [`RouterError::Field`] as [`FqGpu::run_program_resident`].
    pub fn run_resident(
        &self,
        program: &FqProgram,
        inputs: &[&GroupFqVec],
    ) -> Result<GroupFqVec, RouterError> {
        check_layout(
            "DeviceGroup::run_resident",
            inputs.iter().map(|v| &v.shards[..]),
            FqVec::len,
        )?;
        let Some(first) = inputs.first() else {
            // No inputs: the program's own check says so.
            program.check_job(std::iter::empty())?;
            return Ok(GroupFqVec { shards: Vec::new() });
        };
        let shards = first
            .shards
            .par_iter()
            .with_max_len(1)
            .enumerate()
            .map(|(s, (d, _))| {
                let shard_inputs: Vec<&FqVec> = inputs.iter().map(|v| &v.shards[s].1).collect();
                let out = self
                    .resident_gpu(*d)?
                    .run_program_resident(program, &shard_inputs)?;
                Ok((*d, out))
            })
            .collect::<Result<_, RouterError>>()?;
        Ok(GroupFqVec { shards })
    }

    /// The GPU of router `d`, which holds resident shards.
    fn resident_gpu(&self, d: usize) -> Result<&FqGpu, RouterError> {
        self.routers()[d].gpu().ok_or_else(|| {
            FieldError::Gpu(vk_backend::Error::DeviceLost {
                call: "a resident shard's device is out of service",
            })
            .into()
        })
    }
}
