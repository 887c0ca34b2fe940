//! Several devices behind one front door (`DeviceGroup`), on lavapipe: two contexts on the
//! one software device stand for two GPUs, so that the splits, the combination of partial
//! results and a device failing under fault injection all run in CI with the validation
//! layer on. Every result is compared with the CPU's.

use curve_bls12::{msm_g1, msm_g2, G1Affine, G1Projective, G2Affine, G2Projective, Scalar};
use eip2537::Precompile;
use field_bls12::{Fq, FqGpu, FqProgram};
use hybrid_exec::{DeviceGroup, GpuStatus, Policy, Router, RouterConfig, SplitConfig};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use vk_backend::test_support::{test_context, TestContext};
use vk_backend::{Error, FaultStage};

fn scalars(n: usize, seed: u64) -> Vec<Scalar> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            match i {
                1 => Scalar::ZERO,
                2 => Scalar::ONE,
                _ => Scalar::from_le_bytes(bytes),
            }
        })
        .collect()
}

fn g1_points(n: usize, seed: u64) -> Vec<G1Affine> {
    let k = scalars(n, seed);
    let mut v: Vec<G1Affine> = k
        .iter()
        .map(|k| G1Projective::generator().mul(k).to_affine())
        .collect();
    if n >= 4 {
        v[0] = G1Affine::identity();
        v[3] = v[2].neg();
    }
    v
}

fn g2_points(n: usize, seed: u64) -> Vec<G2Affine> {
    scalars(n, seed)
        .iter()
        .map(|k| G2Projective::generator().mul(k).to_affine())
        .collect()
}

/// Two routers, each on a context of its own, as one group that splits from small sizes.
fn group_of_two(test: &str, policy: Policy) -> Option<(TestContext, TestContext, DeviceGroup)> {
    let first = test_context(test)?;
    let second = test_context(&format!("{test} (second device)"))?;
    let mut config = RouterConfig::default();
    config.policy = policy;
    // The breaker stays closed: the tests fail a device on purpose.
    config.breaker.failures = u32::MAX;
    let routers = [&first, &second]
        .map(|ctx| Router::with_gpu(&config, Some(FqGpu::new(ctx.arc()).unwrap())))
        .into();
    let mut split = SplitConfig::default();
    split.fq_above = 1000;
    split.msm_above = 64;
    split.batch_points_above = 64;
    let group = DeviceGroup::from_routers(routers, policy)
        .unwrap()
        .with_split(split);
    Some((first, second, group))
}

/// `G1MSM` input: (point, big-endian scalar) pairs in EIP-2537's encoding.
fn g1_msm_call(n: usize, seed: u64) -> Vec<u8> {
    g1_points(n, seed)
        .iter()
        .zip(scalars(n, seed + 1))
        .flat_map(|(p, k)| {
            let mut pair = p.to_eip2537().to_vec();
            pair.extend_from_slice(&k.to_be_bytes());
            pair
        })
        .collect()
}

#[test]
fn split_jobs_match_the_cpu_and_use_both_devices() {
    let Some((first, second, group)) =
        group_of_two("split_jobs_match_the_cpu_and_use_both_devices", Policy::Gpu)
    else {
        return;
    };
    assert_eq!(group.devices().len(), 2);
    assert!(group
        .devices()
        .iter()
        .all(|(_, s)| matches!(s, GpuStatus::Ready { .. })));

    // An element-wise program over 3001 elements: 1500 and 1501 per device.
    let mut p = FqProgram::builder();
    let (x, y) = (p.input(), p.input());
    let xy = p.mul(x, y);
    let out = p.add(xy, x);
    let program = p.build(out).unwrap();
    let a: Vec<Fq> = (0..3001u64).map(|i| Fq::from(i * 7 + 1)).collect();
    let b: Vec<Fq> = (0..3001u64).map(|i| Fq::from(i * 13 + 5)).collect();
    let want = program.run_cpu(&[&a, &b]).unwrap();
    assert_eq!(group.run(&program, &[&a, &b]).unwrap(), want);

    // One MSM of 201 points, split 100 / 101; G2 of 65 (slow on lavapipe).
    let (p1, k1) = (g1_points(201, 1), scalars(201, 2));
    assert_eq!(group.msm_g1(&p1, &k1).unwrap(), msm_g1(&p1, &k1).unwrap());
    let (p2, k2) = (g2_points(65, 3), scalars(65, 4));
    assert_eq!(group.msm_g2(&p2, &k2).unwrap(), msm_g2(&p2, &k2).unwrap());

    // A batch of MSMs of awkward sizes, cut by points.
    let sizes = [0usize, 1, 3, 33, 31, 64, 2, 17];
    let batch: Vec<(Vec<G1Affine>, Vec<Scalar>)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (g1_points(n, 10 + i as u64), scalars(n, 20 + i as u64)))
        .collect();
    let msms: Vec<(&[G1Affine], &[Scalar])> = batch.iter().map(|(p, k)| (&p[..], &k[..])).collect();
    let sums = group.msm_batch_g1(&msms).unwrap();
    assert_eq!(sums.len(), sizes.len());
    for ((p, k), sum) in msms.iter().zip(&sums) {
        assert_eq!(*sum, msm_g1(p, k).unwrap());
    }

    // A block: MSM calls, an addition and a malformed call, each as it is alone.
    let inputs: Vec<(Precompile, Vec<u8>)> = vec![
        (Precompile::G1Msm, g1_msm_call(33, 30)),
        (
            Precompile::G1Add,
            g1_points(2, 31)
                .iter()
                .flat_map(|p| p.to_eip2537())
                .collect(),
        ),
        (Precompile::G1Msm, g1_msm_call(40, 33)),
        (Precompile::G1Msm, vec![1u8; 100]),
        (Precompile::G1Msm, g1_msm_call(3, 34)),
        (Precompile::G1Msm, g1_msm_call(33, 35)),
    ];
    let calls: Vec<(Precompile, &[u8])> = inputs.iter().map(|(p, i)| (*p, &i[..])).collect();
    let want: Vec<_> = calls.iter().map(|&(p, i)| eip2537::call(p, i)).collect();
    assert!(want[3].is_err() && want.iter().filter(|r| r.is_err()).count() == 1);
    assert_eq!(group.execute_block(&calls), want);

    // Both devices took GPU work, and none failed.
    for (d, stats) in group.stats().iter().enumerate() {
        assert!(stats.gpu_jobs >= 3, "device {d}: {stats:?}");
        assert_eq!(
            (stats.gpu_failures, stats.fallback_jobs),
            (0, 0),
            "{stats:?}"
        );
    }
    // Bad input is the router's typed error, and nothing runs.
    let before: Vec<u64> = group.stats().iter().map(|s| s.gpu_jobs).collect();
    assert!(group.msm_g1(&p1, &k1[..200]).is_err());
    assert!(group.run(&program, &[&a, &b[..3000]]).is_err());
    let after: Vec<u64> = group.stats().iter().map(|s| s.gpu_jobs).collect();
    assert_eq!(before, after);
    first.assert_no_validation_messages();
    second.assert_no_validation_messages();
}

#[test]
fn the_cpu_policy_keeps_every_job_off_the_devices() {
    let Some((first, second, group)) = group_of_two(
        "the_cpu_policy_keeps_every_job_off_the_devices",
        Policy::Cpu,
    ) else {
        return;
    };
    let (p, k) = (g1_points(201, 5), scalars(201, 6));
    assert_eq!(group.msm_g1(&p, &k).unwrap(), msm_g1(&p, &k).unwrap());
    assert!(group.stats().iter().all(|s| s.gpu_jobs == 0));
    first.assert_no_validation_messages();
    second.assert_no_validation_messages();
}

#[test]
fn a_failing_device_recomputes_its_share_and_a_lost_one_leaves_the_splits() {
    let Some((first, second, group)) = group_of_two(
        "a_failing_device_recomputes_its_share_and_a_lost_one_leaves_the_splits",
        Policy::Gpu,
    ) else {
        return;
    };
    let (p, k) = (g1_points(130, 7), scalars(130, 8));
    let want = msm_g1(&p, &k).unwrap();

    // A failed kernel on the second device: its share runs on the CPU, the sum is right.
    second.inject_fault(
        FaultStage::Compute,
        Error::OutOfDeviceMemory { call: "injected" },
    );
    assert_eq!(group.msm_g1(&p, &k).unwrap(), want);
    let stats = group.stats();
    assert_eq!(
        (stats[0].gpu_jobs, stats[0].gpu_failures),
        (1, 0),
        "{stats:?}"
    );
    assert_eq!(
        (stats[1].fallback_jobs, stats[1].gpu_failures),
        (1, 1),
        "{stats:?}"
    );

    // The second device lost: the sum is still right, and the device leaves routing.
    second.inject_fault(FaultStage::Compute, Error::DeviceLost { call: "injected" });
    assert_eq!(group.msm_g1(&p, &k).unwrap(), want);
    assert!(matches!(group.devices()[1].1, GpuStatus::Lost { .. }));
    let lost = group.stats()[1].clone();
    // Later jobs go whole to the first device.
    assert_eq!(group.msm_g1(&p, &k).unwrap(), want);
    let stats = group.stats();
    assert_eq!(stats[0].gpu_jobs, 3, "{stats:?}");
    assert_eq!(
        (stats[1].gpu_jobs, stats[1].cpu_jobs, stats[1].fallback_jobs),
        (lost.gpu_jobs, lost.cpu_jobs, lost.fallback_jobs),
        "{stats:?}"
    );
    first.assert_no_validation_messages();
}

/// The group from a device set: on the CI machine's one device, one router with its GPU;
/// an entry naming no device leaves a group of one router on the CPU.
#[test]
fn groups_open_the_devices_a_set_names() {
    let Some(ctx) = test_context("groups_open_the_devices_a_set_names") else {
        return;
    };
    let name = ctx.info().name.clone();
    let config = RouterConfig::default();
    let group = DeviceGroup::with_devices(&config, &vk_backend::DeviceSet::parse("0"));
    assert_eq!(group.devices().len(), 1);
    assert!(matches!(&group.devices()[0].1, GpuStatus::Ready { name: n } if *n == name));
    let none = DeviceGroup::with_devices(&config, &vk_backend::DeviceSet::parse("no-such-gpu"));
    assert_eq!(none.devices().len(), 1);
    assert!(none.routers()[0].gpu().is_none());
    let (p, k) = (g1_points(3, 9), scalars(3, 10));
    assert_eq!(none.msm_g1(&p, &k).unwrap(), msm_g1(&p, &k).unwrap());
}

/// Host vectors and resident vectors in one shard per device: programs run on every shard
/// on its own device; a failing device's host shard is computed on the CPU, a resident
/// shard's failure is the job's error; shards that differ are a typed error.
#[test]
fn sharded_host_and_resident_vectors_match_the_cpu() {
    let Some((first, second, group)) = group_of_two(
        "sharded_host_and_resident_vectors_match_the_cpu",
        Policy::Gpu,
    ) else {
        return;
    };
    let mut p = FqProgram::builder();
    let (x, y) = (p.input(), p.input());
    let xy = p.mul(x, y);
    let out = p.add(xy, x);
    let program = p.build(out).unwrap();
    let a: Vec<Fq> = (0..3001u64).map(|i| Fq::from(i * 3 + 2)).collect();
    let b: Vec<Fq> = (0..3001u64).map(|i| Fq::from(i * 11 + 1)).collect();
    let want = program.run_cpu(&[&a, &b]).unwrap();

    let (ha, hb) = (
        group.host_vec_from(&a).unwrap(),
        group.host_vec_from(&b).unwrap(),
    );
    assert_eq!((ha.len(), ha.is_empty()), (3001, false));
    assert_eq!(ha.to_vec().unwrap(), a);
    let mut out = group.alloc_host_vec_like(&ha).unwrap();
    group.run_host(&program, &[&ha, &hb], &mut out).unwrap();
    assert_eq!(out.to_vec().unwrap(), want);
    assert!(
        group.stats().iter().all(|s| s.gpu_jobs == 1),
        "{:?}",
        group.stats()
    );

    let (ra, rb) = (group.upload(&a).unwrap(), group.upload(&b).unwrap());
    let rc = group.run_resident(&program, &[&ra, &rb]).unwrap();
    assert_eq!(rc.len(), 3001);
    assert_eq!(group.download(&rc).unwrap(), want);
    // Chained on the devices: (c b + c).
    let rd = group.run_resident(&program, &[&rc, &rb]).unwrap();
    assert_eq!(
        group.download(&rd).unwrap(),
        program.run_cpu(&[&want, &b]).unwrap()
    );

    // Shards that differ: a typed error, and nothing runs.
    let short = group.host_vec_from(&a[..3000]).unwrap();
    let before = group.stats();
    assert!(matches!(
        group.run_host(&program, &[&ha, &short], &mut out),
        Err(hybrid_exec::RouterError::Field(
            field_bls12::FieldError::LengthMismatch { .. }
        ))
    ));
    let short_resident = group.upload(&a[..3000]).unwrap();
    assert!(group
        .run_resident(&program, &[&ra, &short_resident])
        .is_err());
    assert_eq!(
        group.stats().iter().map(|s| s.gpu_jobs).collect::<Vec<_>>(),
        before.iter().map(|s| s.gpu_jobs).collect::<Vec<_>>()
    );

    // A failing device: its host shard on the CPU, the result the same.
    second.inject_fault(
        FaultStage::Compute,
        Error::OutOfDeviceMemory { call: "injected" },
    );
    let mut again = group.alloc_host_vec_like(&ha).unwrap();
    group.run_host(&program, &[&ha, &hb], &mut again).unwrap();
    assert_eq!(again.to_vec().unwrap(), want);
    assert_eq!(group.stats()[1].fallback_jobs, 1, "{:?}", group.stats());
    // Its resident shard cannot move: the job fails with the device's error.
    second.inject_fault(
        FaultStage::Compute,
        Error::OutOfDeviceMemory { call: "injected" },
    );
    assert!(group.run_resident(&program, &[&ra, &rb]).is_err());
    first.assert_no_validation_messages();
    second.assert_no_validation_messages();
}
