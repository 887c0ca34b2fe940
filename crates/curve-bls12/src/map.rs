//! EIP-2537's maps of field elements to curve points (MAP_FP_TO_G1, MAP_FP2_TO_G2): the
//! simplified SWU map to an isogenous curve, the isogeny to BLS12-381, then cofactor
//! clearing, through blst's `blst_map_to_g1` / `blst_map_to_g2` (the `map_to_curve` and
//! `clear_cofactor` steps of RFC 9380's `BLS12381G1_XMD:SHA-256_SSWU_RO_` and
//! `BLS12381G2_XMD:SHA-256_SSWU_RO_` suites, which EIP-2537's `field_to_curve.md`
//! specifies).

use field_bls12::{Fq, Fq2};

use crate::{ffi, G1Affine, G2Affine};

/// The G1 point EIP-2537's MAP_FP_TO_G1 gives for `u`: SSWU onto the 11-isogenous curve
/// E', the 11-isogeny to E, then `[h_eff] = [1 - z] = [0xd201000000010001]` to clear the
/// cofactor. Always on the curve and in the prime-order subgroup; total (the SSWU's
/// exceptional inputs such as 0 have defined images).
///
/// ```
/// use curve_bls12::map_fp_to_g1;
/// use field_bls12::Fq;
///
/// let p = map_fp_to_g1(&Fq::from_u64(1));
/// assert!(!p.is_identity() && p.is_in_subgroup());
/// // The SSWU map is odd in u up to the sign of y: u and -u give the same x.
/// assert_eq!(map_fp_to_g1(&-Fq::from_u64(1)), p.neg());
/// ```
pub fn map_fp_to_g1(u: &Fq) -> G1Affine {
    let point = ffi::map_to_g1(&blst::blst_fp::from(*u));
    G1Affine(ffi::p1::to_affine(&point))
}

/// The G2 point EIP-2537's MAP_FP2_TO_G2 gives for `u`: SSWU onto the 3-isogenous curve,
/// the 3-isogeny to the twist, then cofactor clearing (multiplication by `h_eff`, computed
/// with the endomorphism psi). Always on the curve and in the prime-order subgroup; total.
///
/// ```
/// use curve_bls12::map_fp2_to_g2;
/// use field_bls12::{Fq, Fq2};
///
/// let q = map_fp2_to_g2(&Fq2::new(Fq::from_u64(1), Fq::from_u64(2)));
/// assert!(!q.is_identity() && q.is_in_subgroup());
/// ```
pub fn map_fp2_to_g2(u: &Fq2) -> G2Affine {
    let point = ffi::map_to_g2(&blst::blst_fp2::from(*u));
    G2Affine(ffi::p2::to_affine(&point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scalar;

    fn fq(seed: u64) -> Fq {
        let mut bytes = [0u8; 48];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (i % 8 * 8)) as u8 ^ (7 * i) as u8;
        }
        bytes[0] &= 0x0f; // below 2^380 < p
        Fq::from_be_bytes(&bytes).unwrap()
    }

    /// The group order r as a scalar.
    fn r() -> Scalar {
        let mut be = [0u8; 32];
        let hex = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
        for (i, b) in be.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        Scalar::from_be_bytes(be)
    }

    fn from_hex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn fq_hex(hex: &str) -> Fq {
        Fq::from_be_slice(&from_hex(hex)).unwrap()
    }

    /// Known answers: EIP-2537's vectors `bls_g1map_616263` and `bls_g2map_616263` (the
    /// field elements RFC 9380's suites hash "abc" to), outputs in EIP-2537 encoding.
    #[test]
    fn eip2537_vectors() {
        let u = fq_hex("147e1ed29f06e4c5079b9d14fc89d2820d32419b990c1c7bb7dbea2a36a045124b31ffbde7c99329c05c559af1c6cc82");
        let p = map_fp_to_g1(&u);
        assert_eq!(p.x(), fq_hex("009769f3ab59bfd551d53a5f846b9984c59b97d6842b20a2c565baa167945e3d026a3755b6345df8ec7e6acb6868ae6d"));
        assert_eq!(p.y(), fq_hex("1532c00cf61aa3d0ce3e5aa20c3b531a2abd2c770a790a2613818303c6b830ffc0ecf6c357af3317b9575c567f11cd2c"));

        let u = Fq2::new(
            fq_hex("138879a9559e24cecee8697b8b4ad32cced053138ab913b99872772dc753a2967ed50aabc907937aefb2439ba06cc50c"),
            fq_hex("0a1ae7999ea9bab1dcc9ef8887a6cb6e8f1e22566015428d220b7eec90ffa70ad1f624018a9ad11e78d588bd3617f9f2"),
        );
        let q = map_fp2_to_g2(&u);
        assert_eq!(q.x(), Fq2::new(
            fq_hex("108ed59fd9fae381abfd1d6bce2fd2fa220990f0f837fa30e0f27914ed6e1454db0d1ee957b219f61da6ff8be0d6441f"),
            fq_hex("0296238ea82c6d4adb3c838ee3cb2346049c90b96d602d7bb1b469b905c9228be25c627bffee872def773d5b2a2eb57d"),
        ));
        assert_eq!(q.y(), Fq2::new(
            fq_hex("033f90f6057aadacae7963b0a0b379dd46750c1c94a6357c99b65f63b79e321ff50fe3053330911c56b6ceea08fee656"),
            fq_hex("153606c417e59fb331b7ae6bce4fbf7c5190c33ce9402b5ebe2b70e44fca614f3f1382a3625ed5493843d0b0a652fc3f"),
        ));
    }

    /// Outputs are on the curve (the affine constructor re-checks), in the subgroup, of
    /// order r, and u, -u map to opposite points; edge inputs 0, 1, p - 1 included.
    #[test]
    fn outputs_on_curve_and_in_subgroup() {
        let p_minus_1 = Fq::from_be_bytes(&Fq::MODULUS_MINUS_ONE_BE).unwrap();
        let mut inputs = vec![Fq::ZERO, Fq::ONE, p_minus_1];
        inputs.extend((1..6).map(fq));
        for u in &inputs {
            let p = map_fp_to_g1(u);
            assert!(!p.is_identity(), "{u:?}");
            assert_eq!(G1Affine::from_xy(p.x(), p.y()), Ok(p), "{u:?}");
            assert!(p.is_in_subgroup(), "{u:?}");
            assert!(p.to_projective().mul(&r()).is_identity(), "{u:?}");
            if *u != Fq::ZERO {
                assert_eq!(map_fp_to_g1(&-*u), p.neg(), "{u:?}");
            }

            for v in [Fq::ZERO, Fq::ONE, fq(99)] {
                let u2 = Fq2::new(*u, v);
                let q = map_fp2_to_g2(&u2);
                assert!(!q.is_identity(), "{u2:?}");
                assert_eq!(G2Affine::from_xy(q.x(), q.y()), Ok(q), "{u2:?}");
                assert!(q.is_in_subgroup(), "{u2:?}");
                assert!(q.to_projective().mul(&r()).is_identity(), "{u2:?}");
                if !u2.is_zero() {
                    assert_eq!(map_fp2_to_g2(&-u2), q.neg(), "{u2:?}");
                }
            }
        }
    }
}
