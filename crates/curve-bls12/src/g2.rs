//! G2: the twist `y^2 = x^3 + 4 (1 + u)` over Fq2.

use field_bls12::Fq2;

point_types!(
    group: "G2 (y^2 = x^3 + 4(1 + u) over Fq2)",
    affine: G2Affine,
    projective: G2Projective,
    ffi: p2,
    blst_affine: blst_p2_affine,
    blst_projective: blst_p2,
    coordinate: Fq2,
);
