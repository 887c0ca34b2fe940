//! The point types of one group, generated for G1 (`g1.rs`) and G2 (`g2.rs`) by one macro so
//! that the two cannot drift apart.

macro_rules! point_types {
    (
        group: $group:literal,
        affine: $Affine:ident,
        projective: $Projective:ident,
        ffi: $ffi:ident,
        blst_affine: $BlstAffine:ident,
        blst_projective: $BlstProjective:ident,
        coordinate: $Coord:ident,
    ) => {
        #[doc = concat!("A point of ", $group, " in affine coordinates `(x, y)`, or the point at infinity.")]
        ///
        /// Always on the curve, with canonical coordinates: every constructor checks. NOT
        /// necessarily in the prime-order subgroup (EIP-2537's additions take points that are
        /// only on the curve); [`Self::is_in_subgroup`] checks, and the ZCash decoders always
        /// do.
        ///
        /// Wraps blst's affine point, which stands for infinity with all-zero coordinates.
        #[derive(Clone, Copy)]
        pub struct $Affine(pub(crate) blst::$BlstAffine);

        #[doc = concat!("A point of ", $group, " in blst's projective (Jacobian) coordinates; the form for arithmetic.")]
        ///
        /// Always on the curve (every constructor checks, every operation keeps it so), not
        /// necessarily in the prime-order subgroup.
        #[derive(Clone, Copy)]
        pub struct $Projective(pub(crate) blst::$BlstProjective);

        impl $Affine {
            /// The point at infinity, the group's identity.
            pub fn identity() -> Self {
                Self(blst::$BlstAffine::default())
            }

            /// The standard generator.
            pub fn generator() -> Self {
                Self(crate::ffi::$ffi::generator())
            }

            /// The point `(x, y)`.
            ///
            /// # Errors
            /// [`crate::CurveError::NotOnCurve`] when `y^2 != x^3 + b`. `(0, 0)` (not on the
            /// curve, though some encodings use it for infinity) is rejected too; use
            /// [`Self::identity`].
            pub fn from_xy(x: $Coord, y: $Coord) -> Result<Self, crate::CurveError> {
                let point = blst::$BlstAffine {
                    x: x.into(),
                    y: y.into(),
                };
                // blst's check accepts all-zero coordinates (its infinity); (0, 0) is not on
                // the curve (b != 0), so rejecting it separately is exact.
                let is_zero = x == $Coord::ZERO && y == $Coord::ZERO;
                if is_zero || !crate::ffi::$ffi::affine_on_curve(&point) {
                    return Err(crate::CurveError::NotOnCurve { index: None });
                }
                Ok(Self(point))
            }

            /// Whether this is the point at infinity.
            pub fn is_identity(&self) -> bool {
                self.0 == blst::$BlstAffine::default()
            }

            /// The x coordinate (0 for infinity).
            pub fn x(&self) -> $Coord {
                $Coord::try_from(self.0.x).expect("point coordinates are canonical (type invariant)")
            }

            /// The y coordinate (0 for infinity).
            pub fn y(&self) -> $Coord {
                $Coord::try_from(self.0.y).expect("point coordinates are canonical (type invariant)")
            }

            /// Whether the point is in the prime-order subgroup (infinity is), by blst's
            /// endomorphism-based check.
            pub fn is_in_subgroup(&self) -> bool {
                crate::ffi::$ffi::affine_in_group(&self.0)
            }

            /// `-self`: `(x, -y)`; infinity stays infinity (its y is 0).
            pub fn neg(&self) -> Self {
                Self(blst::$BlstAffine {
                    x: self.0.x,
                    y: (-self.y()).into(),
                })
            }

            /// The same point in projective coordinates.
            pub fn to_projective(&self) -> $Projective {
                $Projective(crate::ffi::$ffi::from_affine(&self.0))
            }
        }

        impl $Projective {
            /// The point at infinity.
            pub fn identity() -> Self {
                Self(blst::$BlstProjective::default())
            }

            /// The standard generator.
            pub fn generator() -> Self {
                $Affine::generator().to_projective()
            }

            /// Whether this is the point at infinity.
            pub fn is_identity(&self) -> bool {
                crate::ffi::$ffi::is_inf(&self.0)
            }

            /// `self + other` (any two points, equal or opposite ones included).
            pub fn add(&self, other: &Self) -> Self {
                Self(crate::ffi::$ffi::add(&self.0, &other.0))
            }

            /// `self + other` for an affine `other` (mixed addition, cheaper).
            pub fn add_affine(&self, other: &$Affine) -> Self {
                Self(crate::ffi::$ffi::add_affine(&self.0, &other.0))
            }

            /// `2 * self`.
            pub fn double(&self) -> Self {
                Self(crate::ffi::$ffi::double(&self.0))
            }

            /// `-self`.
            pub fn neg(&self) -> Self {
                Self(crate::ffi::$ffi::neg(&self.0))
            }

            /// `[k] self` for the full 256-bit integer `k` (not reduced mod r), right for
            /// every point on the curve, in the subgroup or not.
            pub fn mul(&self, k: &crate::Scalar) -> Self {
                Self(crate::ffi::$ffi::mul(&self.0, k))
            }

            /// The affine form (one field inversion; [`crate::batch`] shares one inversion
            /// over many points).
            pub fn to_affine(&self) -> $Affine {
                $Affine(crate::ffi::$ffi::to_affine(&self.0))
            }

            /// Whether the point is in the prime-order subgroup.
            pub fn is_in_subgroup(&self) -> bool {
                self.to_affine().is_in_subgroup()
            }
        }

        impl PartialEq for $Affine {
            fn eq(&self, other: &Self) -> bool {
                crate::ffi::$ffi::affine_eq(&self.0, &other.0)
            }
        }
        impl Eq for $Affine {}

        /// The same point, whatever the projective representatives.
        impl PartialEq for $Projective {
            fn eq(&self, other: &Self) -> bool {
                crate::ffi::$ffi::eq(&self.0, &other.0)
            }
        }
        impl Eq for $Projective {}

        impl Default for $Affine {
            /// The point at infinity.
            fn default() -> Self {
                Self::identity()
            }
        }

        impl Default for $Projective {
            /// The point at infinity.
            fn default() -> Self {
                Self::identity()
            }
        }

        impl core::fmt::Debug for $Affine {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                if self.is_identity() {
                    write!(f, "{}(infinity)", stringify!($Affine))
                } else {
                    write!(f, "{}(x = {:?}, y = {:?})", stringify!($Affine), self.x(), self.y())
                }
            }
        }

        impl core::fmt::Debug for $Projective {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, "{}({:?})", stringify!($Projective), self.to_affine())
            }
        }

        impl From<$Affine> for $Projective {
            fn from(p: $Affine) -> Self {
                p.to_projective()
            }
        }

        impl From<$Projective> for $Affine {
            fn from(p: $Projective) -> Self {
                p.to_affine()
            }
        }

        /// blst's affine point (infinity as all-zero coordinates).
        impl From<$Affine> for blst::$BlstAffine {
            fn from(p: $Affine) -> Self {
                p.0
            }
        }

        /// blst's projective point.
        impl From<$Projective> for blst::$BlstProjective {
            fn from(p: $Projective) -> Self {
                p.0
            }
        }

        /// Checks a blst affine point: canonical coordinates, on the curve (all-zero
        /// coordinates are infinity); not the subgroup.
        impl TryFrom<blst::$BlstAffine> for $Affine {
            type Error = crate::CurveError;
            /// # Errors
            /// [`crate::CurveError::NotOnCurve`] for coordinates `>= p` or off the curve.
            fn try_from(p: blst::$BlstAffine) -> Result<Self, crate::CurveError> {
                if p == blst::$BlstAffine::default() {
                    return Ok(Self::identity());
                }
                match ($Coord::try_from(p.x), $Coord::try_from(p.y)) {
                    (Ok(x), Ok(y)) => Self::from_xy(x, y),
                    _ => Err(crate::CurveError::NotOnCurve { index: None }),
                }
            }
        }

        /// Checks a blst projective point: canonical coordinates, on the curve.
        impl TryFrom<blst::$BlstProjective> for $Projective {
            type Error = crate::CurveError;
            /// # Errors
            /// [`crate::CurveError::NotOnCurve`] for coordinates `>= p` or off the curve.
            fn try_from(p: blst::$BlstProjective) -> Result<Self, crate::CurveError> {
                let canonical = $Coord::try_from(p.x).is_ok()
                    && $Coord::try_from(p.y).is_ok()
                    && $Coord::try_from(p.z).is_ok();
                if canonical && crate::ffi::$ffi::on_curve(&p) {
                    Ok(Self(p))
                } else {
                    Err(crate::CurveError::NotOnCurve { index: None })
                }
            }
        }
    };
}
