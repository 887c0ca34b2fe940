//! G1: the curve `y^2 = x^3 + 4` over Fq.

use field_bls12::Fq;

point_types!(
    group: "G1 (y^2 = x^3 + 4 over Fq)",
    affine: G1Affine,
    projective: G1Projective,
    ffi: p1,
    blst_affine: blst_p1_affine,
    blst_projective: blst_p1,
    coordinate: Fq,
);
