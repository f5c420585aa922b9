//! `--partition K/N`: one of N CI jobs running a share of the checks. A check that splits its
//! own work ([`CheckerInfo::splits`](crate::CheckerInfo::splits), pytest: its test files by
//! recorded durations) runs in every shard; every other check runs whole in one shard. Both
//! use [`assign`], deterministic from what every shard sees alike (the repository), so the N
//! jobs together run everything exactly once.

/// This run is shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// 1-based.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

impl Partition {
    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("`{text}` is not a partition; give `K/N` with 1 ≤ K ≤ N, as `--partition 2/3`");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let (index, count): (usize, usize) =
            (index.trim().parse().map_err(|_| invalid())?, count.trim().parse().map_err(|_| invalid())?);
        if index == 0 || count == 0 || index > count {
            return Err(invalid());
        }
        Ok(Self { index, count })
    }

    /// True when shard `shard` (0-based, from [`assign`]) is this one.
    pub fn is_mine(&self, shard: usize) -> bool {
        shard + 1 == self.index
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Longest first onto the least loaded shard: the shard (0-based) of each of `weights`, with
/// `loads` the work each shard already has (updated). Ties go to the earlier item and the
/// lower shard, so every shard computes the same answer.
pub fn assign(weights: &[f64], loads: &mut [f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|a, b| weights[*b].total_cmp(&weights[*a]).then(a.cmp(b)));
    let mut shards = vec![0; weights.len()];
    for item in order {
        let shard = (0..loads.len()).min_by(|a, b| loads[*a].total_cmp(&loads[*b]).then(a.cmp(b))).unwrap_or(0);
        loads[shard] += weights[item];
        shards[item] = shard;
    }
    shards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_parse_and_reject_what_is_not_one() {
        assert_eq!(Partition::parse("2/3"), Ok(Partition { index: 2, count: 3 }));
        assert_eq!(Partition::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_longest_go_first_onto_the_least_loaded_shard() {
        let mut loads = vec![0.0; 2];
        assert_eq!(assign(&[1.0, 5.0, 3.0, 3.0], &mut loads), [0, 0, 1, 1]);
        assert_eq!(loads, [6.0, 6.0]);
        let mut loads = vec![4.0, 0.0, 0.0];
        assert_eq!(assign(&[2.0, 2.0, 2.0], &mut loads), [1, 2, 1]);
    }
}
