//! EIP-2537's gas schedule ("Gas schedule" and "Gas schedule clarifications for the
//! variable-length input"): constants, the MSM discount tables (copied from the EIP's
//! text) and [`gas`].

use crate::precompile::{G1_MSM_PAIR_BYTES, G2_MSM_PAIR_BYTES, PAIRING_PAIR_BYTES};
use crate::{Precompile, PrecompileError};

/// BLS12_G1ADD.
pub const G1ADD_GAS: u64 = 375;
/// BLS12_G2ADD.
pub const G2ADD_GAS: u64 = 600;
/// A G1 multiplication: the MSM price of one pair before its discount.
pub const G1MUL_GAS: u64 = 12000;
/// A G2 multiplication: the MSM price of one pair before its discount.
pub const G2MUL_GAS: u64 = 22500;
/// BLS12_PAIRING_CHECK, per (G1, G2) pair.
pub const PAIRING_PER_PAIR_GAS: u64 = 32600;
/// BLS12_PAIRING_CHECK, for the call.
pub const PAIRING_BASE_GAS: u64 = 37700;
/// BLS12_MAP_FP_TO_G1.
pub const MAP_FP_TO_G1_GAS: u64 = 5500;
/// BLS12_MAP_FP2_TO_G2.
pub const MAP_FP2_TO_G2_GAS: u64 = 23800;
/// The MSM discounts' denominator.
pub const MSM_MULTIPLIER: u64 = 1000;

/// G1MSM discounts as the EIP gives them: `[k, discount]` for k = 1..=128.
#[rustfmt::skip]
pub const G1_MSM_DISCOUNTS: [[u16; 2]; 128] = [[1, 1000], [2, 949], [3, 848], [4, 797], [5, 764], [6, 750], [7, 738], [8, 728], [9, 719], [10, 712], [11, 705], [12, 698], [13, 692], [14, 687], [15, 682], [16, 677], [17, 673], [18, 669], [19, 665], [20, 661], [21, 658], [22, 654], [23, 651], [24, 648], [25, 645], [26, 642], [27, 640], [28, 637], [29, 635], [30, 632], [31, 630], [32, 627], [33, 625], [34, 623], [35, 621], [36, 619], [37, 617], [38, 615], [39, 613], [40, 611], [41, 609], [42, 608], [43, 606], [44, 604], [45, 603], [46, 601], [47, 599], [48, 598], [49, 596], [50, 595], [51, 593], [52, 592], [53, 591], [54, 589], [55, 588], [56, 586], [57, 585], [58, 584], [59, 582], [60, 581], [61, 580], [62, 579], [63, 577], [64, 576], [65, 575], [66, 574], [67, 573], [68, 572], [69, 570], [70, 569], [71, 568], [72, 567], [73, 566], [74, 565], [75, 564], [76, 563], [77, 562], [78, 561], [79, 560], [80, 559], [81, 558], [82, 557], [83, 556], [84, 555], [85, 554], [86, 553], [87, 552], [88, 551], [89, 550], [90, 549], [91, 548], [92, 547], [93, 547], [94, 546], [95, 545], [96, 544], [97, 543], [98, 542], [99, 541], [100, 540], [101, 540], [102, 539], [103, 538], [104, 537], [105, 536], [106, 536], [107, 535], [108, 534], [109, 533], [110, 532], [111, 532], [112, 531], [113, 530], [114, 529], [115, 528], [116, 528], [117, 527], [118, 526], [119, 525], [120, 525], [121, 524], [122, 523], [123, 522], [124, 522], [125, 521], [126, 520], [127, 520], [128, 519]];
/// G1MSM's discount for k > 128.
pub const G1_MSM_MAX_DISCOUNT: u16 = 519;

/// G2MSM discounts as the EIP gives them: `[k, discount]` for k = 1..=128.
#[rustfmt::skip]
pub const G2_MSM_DISCOUNTS: [[u16; 2]; 128] = [[1, 1000], [2, 1000], [3, 923], [4, 884], [5, 855], [6, 832], [7, 812], [8, 796], [9, 782], [10, 770], [11, 759], [12, 749], [13, 740], [14, 732], [15, 724], [16, 717], [17, 711], [18, 704], [19, 699], [20, 693], [21, 688], [22, 683], [23, 679], [24, 674], [25, 670], [26, 666], [27, 663], [28, 659], [29, 655], [30, 652], [31, 649], [32, 646], [33, 643], [34, 640], [35, 637], [36, 634], [37, 632], [38, 629], [39, 627], [40, 624], [41, 622], [42, 620], [43, 618], [44, 615], [45, 613], [46, 611], [47, 609], [48, 607], [49, 606], [50, 604], [51, 602], [52, 600], [53, 598], [54, 597], [55, 595], [56, 593], [57, 592], [58, 590], [59, 589], [60, 587], [61, 586], [62, 584], [63, 583], [64, 582], [65, 580], [66, 579], [67, 578], [68, 576], [69, 575], [70, 574], [71, 573], [72, 571], [73, 570], [74, 569], [75, 568], [76, 567], [77, 566], [78, 565], [79, 563], [80, 562], [81, 561], [82, 560], [83, 559], [84, 558], [85, 557], [86, 556], [87, 555], [88, 554], [89, 553], [90, 552], [91, 552], [92, 551], [93, 550], [94, 549], [95, 548], [96, 547], [97, 546], [98, 545], [99, 545], [100, 544], [101, 543], [102, 542], [103, 541], [104, 541], [105, 540], [106, 539], [107, 538], [108, 537], [109, 537], [110, 536], [111, 535], [112, 535], [113, 534], [114, 533], [115, 532], [116, 532], [117, 531], [118, 530], [119, 530], [120, 529], [121, 528], [122, 528], [123, 527], [124, 526], [125, 526], [126, 525], [127, 524], [128, 524]];
/// G2MSM's discount for k > 128.
pub const G2_MSM_MAX_DISCOUNT: u16 = 524;

/// The discount of an MSM of `k >= 1` pairs from its table: the entry for k, or the
/// maximum discount past the table's end.
fn discount(table: &[[u16; 2]; 128], max_discount: u16, k: usize) -> u64 {
    let entry = k.checked_sub(1).and_then(|i| table.get(i));
    u64::from(entry.map_or(max_discount, |&[_, d]| d))
}

/// `(k * multiplication_cost * discount(k)) // 1000` for `k = input_len / pair_bytes`,
/// 0 for k = 0.
fn msm_gas(
    precompile: Precompile,
    input_len: usize,
    pair_bytes: usize,
    mul_gas: u64,
    table: &[[u16; 2]; 128],
    max_discount: u16,
) -> Result<u64, PrecompileError> {
    let k = input_len / pair_bytes;
    if k == 0 {
        return Ok(0);
    }
    let d = discount(table, max_discount, k);
    let gas = k as u128 * u128::from(mul_gas) * u128::from(d) / u128::from(MSM_MULTIPLIER);
    u64::try_from(gas).map_err(|_| PrecompileError::GasOverflow {
        precompile,
        input_len,
    })
}

/// The gas a call of `precompile` with `input_len` bytes of input costs, by the EIP's
/// schedule.
///
/// As the EIP requires, the price does not validate the length: the MSMs and the pairing
/// count `k = input_len / pair_bytes` whole pairs (floor division; an MSM with k = 0 costs
/// 0, a pairing 37700) and the fixed-size precompiles cost their constant whatever the
/// length; [`crate::call`] then rejects the lengths that are wrong.
///
/// ```
/// use eip2537::{gas, Precompile};
///
/// assert_eq!(gas(Precompile::G1Add, 256)?, 375);
/// // 2 G1 pairs: 2 * 12000 * 949 / 1000.
/// assert_eq!(gas(Precompile::G1Msm, 320)?, 22776);
/// assert_eq!(gas(Precompile::PairingCheck, 2 * 384)?, 2 * 32600 + 37700);
/// # Ok::<(), eip2537::PrecompileError>(())
/// ```
///
/// # Errors
/// [`PrecompileError::GasOverflow`] when the price does not fit in a `u64` (inputs of
/// petabytes; no valid transaction comes near).
pub fn gas(precompile: Precompile, input_len: usize) -> Result<u64, PrecompileError> {
    match precompile {
        Precompile::G1Add => Ok(G1ADD_GAS),
        Precompile::G2Add => Ok(G2ADD_GAS),
        Precompile::MapFpToG1 => Ok(MAP_FP_TO_G1_GAS),
        Precompile::MapFp2ToG2 => Ok(MAP_FP2_TO_G2_GAS),
        Precompile::G1Msm => msm_gas(
            precompile,
            input_len,
            G1_MSM_PAIR_BYTES,
            G1MUL_GAS,
            &G1_MSM_DISCOUNTS,
            G1_MSM_MAX_DISCOUNT,
        ),
        Precompile::G2Msm => msm_gas(
            precompile,
            input_len,
            G2_MSM_PAIR_BYTES,
            G2MUL_GAS,
            &G2_MSM_DISCOUNTS,
            G2_MSM_MAX_DISCOUNT,
        ),
        Precompile::PairingCheck => {
            let k = (input_len / PAIRING_PAIR_BYTES) as u128;
            let gas = k * u128::from(PAIRING_PER_PAIR_GAS) + u128::from(PAIRING_BASE_GAS);
            u64::try_from(gas).map_err(|_| PrecompileError::GasOverflow {
                precompile,
                input_len,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_indexed_by_k_and_non_increasing() {
        for table in [&G1_MSM_DISCOUNTS, &G2_MSM_DISCOUNTS] {
            for (i, [k, d]) in table.iter().enumerate() {
                assert_eq!(usize::from(*k), i + 1);
                assert!(*d <= 1000);
                if i > 0 {
                    assert!(*d <= table[i - 1][1]);
                }
            }
        }
        assert_eq!(G1_MSM_DISCOUNTS[127][1], G1_MSM_MAX_DISCOUNT);
        assert_eq!(G2_MSM_DISCOUNTS[127][1], G2_MSM_MAX_DISCOUNT);
    }

    #[test]
    fn msm_and_pairing_prices() {
        use Precompile::*;
        assert_eq!(gas(G1Msm, 0), Ok(0));
        assert_eq!(gas(G1Msm, 159), Ok(0));
        assert_eq!(gas(G1Msm, 160), Ok(12000));
        assert_eq!(gas(G1Msm, 161), Ok(12000));
        assert_eq!(gas(G2Msm, 2 * 288), Ok(2 * 22500));
        assert_eq!(gas(G2Msm, 3 * 288), Ok(3 * 22500 * 923 / 1000));
        assert_eq!(gas(G1Msm, 128 * 160), Ok(128 * 12000 * 519 / 1000));
        assert_eq!(gas(G1Msm, 129 * 160), Ok(129 * 12000 * 519 / 1000));
        assert_eq!(gas(G2Msm, 1000 * 288), Ok(1000 * 22500 * 524 / 1000));
        assert_eq!(gas(PairingCheck, 0), Ok(37700));
        assert_eq!(gas(PairingCheck, 383), Ok(37700));
        assert_eq!(gas(PairingCheck, 384), Ok(70300));
        assert_eq!(gas(G1Add, 0), Ok(375));
        assert_eq!(gas(MapFp2ToG2, 7), Ok(23800));
        assert_eq!(
            gas(G1Msm, usize::MAX),
            Err(PrecompileError::GasOverflow {
                precompile: G1Msm,
                input_len: usize::MAX
            })
        );
        assert!(gas(PairingCheck, usize::MAX).is_err());
        // The largest G1MSM length whose price fits.
        let k_max = (u128::from(u64::MAX) * 1000 / (12000 * 519)) as usize;
        assert!(gas(G1Msm, k_max * 160).is_ok());
        assert!(gas(G1Msm, (k_max + 2) * 160).is_err());
    }
}
