//! Canary and stable replica counts for a weight without a traffic router: Argo Rollouts' `approximateWeightedCanaryStableReplicaCounts`.
//!
//! Traffic follows pods (one Service selects both Deployments), so a weight is a ratio of
//! replicas. The candidates are the floor and the ceiling of `replicas · weight / 100`, over
//! `replicas` pods and, when the stable Deployment may surge, over `replicas + 1`; the one
//! whose actual weight is nearest wins, the first listed on a tie (the ceiling, so the larger
//! canary). For 1 ≤ weight ≤ 99 with two or more pods (surge included) neither side is 0
//! (see `split` for the one corner where Argo's own function gives 0).

/// The counts for one weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    /// Pods of the canary Deployment.
    pub canary: u32,
    /// Pods of the stable Deployment.
    pub stable: u32,
}

/// Splits `replicas` for `weight` percent (0 to 100); `surge` is whether the total may be
/// `replicas + 1` (the stable Deployment's `maxSurge` is more than 0).
pub fn split(replicas: u32, weight: u32, surge: bool) -> Split {
    const MAX_WEIGHT: u64 = 100;
    let weight = u64::from(weight.min(100));
    let n = u64::from(replicas);
    if n == 0 {
        return Split {
            canary: 0,
            stable: 0,
        };
    }
    let ceil = (n * weight).div_ceil(MAX_WEIGHT);
    let floor = n * weight / MAX_WEIGHT;
    let zero_allowed = weight == MAX_WEIGHT || weight == 0 || (n == 1 && !surge);

    // (canary, total), in Argo's order: the order breaks ties.
    let mut options: Vec<(u64, u64)> = Vec::with_capacity(4);
    if ceil < n || zero_allowed {
        options.push((ceil, n));
    }
    if !tied(weight, n) && (floor != 0 || zero_allowed) {
        options.push((floor, n));
    }
    if surge {
        options.push((ceil, n + 1));
        if !tied(weight, n + 1) && (floor != 0 || zero_allowed) {
            options.push((floor, n + 1));
        }
    }
    // Argo's list is empty when the exact share is N − ½ without surge (2 at 75%, 5 at 90%,
    // 10 at 95%, 25 at 98%, 50 at 99%): the ceiling would empty the stable and the tie rules
    // the floor out. Argo then answers "0 canary" (its "should not get here" branch), which
    // would turn such a step back to no canary at all; this takes the floor instead, the one
    // split with neither side empty. The only deviation from Argo's function.
    let Some(&first) = options.first() else {
        return Split {
            canary: floor as u32,
            stable: (n - floor) as u32,
        };
    };
    // `delta` compares exact fractions: |canary·100/total − weight| as canary·100 − weight·total over total.
    let delta = |(canary, total): (u64, u64)| -> (u64, u64) {
        let actual = canary * MAX_WEIGHT;
        let wanted = weight * total;
        (actual.abs_diff(wanted), total)
    };
    let less = |a: (u64, u64), b: (u64, u64)| a.0 * b.1 < b.0 * a.1;
    let mut best = first;
    for &option in &options[1..] {
        if less(delta(option), delta(best)) {
            best = option;
        }
    }
    let (canary, total) = best;
    Split {
        canary: canary as u32,
        stable: (total - canary) as u32,
    }
}

/// Whether `total · weight / 100` falls exactly halfway between two integers.
fn tied(weight: u64, total: u64) -> bool {
    (total * weight) % 100 == 50
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (replicas, weight, surge, canary, stable): derived by running Argo's function by hand
    /// over its candidate list, including its own test's corner cases (one replica, ties at
    /// 50%, surge lifting the total to N+1).
    const CASES: &[(u32, u32, bool, u32, u32)] = &[
        (0, 0, false, 0, 0),
        (0, 50, true, 0, 0),
        (1, 0, false, 0, 1),
        (1, 1, false, 0, 1),
        (1, 49, false, 0, 1),
        (1, 50, false, 1, 0),
        (1, 99, false, 1, 0),
        (1, 100, false, 1, 0),
        (1, 0, true, 0, 1),
        (1, 1, true, 1, 1),
        (1, 50, true, 1, 1),
        (1, 99, true, 1, 1),
        (1, 100, true, 1, 0),
        (2, 0, false, 0, 2),
        (2, 1, false, 1, 1),
        (2, 50, false, 1, 1),
        (2, 99, false, 1, 1),
        (2, 100, false, 2, 0),
        (2, 1, true, 1, 2),
        (2, 50, true, 1, 1),
        (2, 99, true, 2, 1),
        (3, 10, false, 1, 2),
        (3, 34, false, 1, 2),
        (3, 49, false, 1, 2),
        (3, 50, false, 2, 1),
        (3, 10, true, 1, 3),
        (3, 25, true, 1, 3),
        (3, 33, true, 1, 2),
        (3, 49, true, 2, 2),
        (3, 50, true, 2, 2),
        (4, 20, false, 1, 3),
        (4, 20, true, 1, 4),
        (5, 20, false, 1, 4),
        (5, 50, false, 3, 2),
        (10, 1, false, 1, 9),
        (10, 14, false, 1, 9),
        (10, 15, false, 2, 8),
        (10, 20, false, 2, 8),
        (10, 50, false, 5, 5),
        (10, 99, false, 9, 1),
        (10, 100, true, 10, 0),
        (10, 1, true, 1, 10),
        (10, 18, true, 2, 9),
        (10, 20, true, 2, 8),
        (10, 24, true, 3, 8),
        (10, 25, true, 3, 8),
        (10, 99, true, 10, 1),
        // Argo gives 0 canary here (an empty candidate list); the floor keeps both sides.
        (2, 75, false, 1, 1),
        (5, 90, false, 4, 1),
        (10, 95, false, 9, 1),
        (50, 99, false, 49, 1),
        (2, 75, true, 2, 1),
    ];

    #[test]
    fn argos_table() {
        for &(replicas, weight, surge, canary, stable) in CASES {
            assert_eq!(
                split(replicas, weight, surge),
                Split { canary, stable },
                "{replicas} replicas at {weight}% (surge {surge})"
            );
        }
    }

    #[test]
    fn neither_side_is_empty_between_1_and_99_percent() {
        for replicas in 2..=30 {
            for weight in 1..=99 {
                for surge in [false, true] {
                    let s = split(replicas, weight, surge);
                    assert!(
                        s.canary > 0 && s.stable > 0,
                        "{replicas} at {weight}%: {s:?}"
                    );
                    let total = s.canary + s.stable;
                    assert!(
                        total == replicas || (surge && total == replicas + 1),
                        "{s:?}"
                    );
                }
            }
        }
    }
}
