//! A small deterministic random generator (`SplitMix64`) and time-ordered ids made from it.
//!
//! The generator is written out here rather than taken from a crate so that a seed produces the
//! same city on every machine and with every version of the dependencies.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// An independent stream for one part of the generation, so that adding draws in one part
    /// does not change what another part generates.
    pub fn fork(&self, stream: u64) -> Rng {
        let mut mixer = Rng(self.0 ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng(mixer.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`). The multiply-shift reduction has a bias below 2^-40 for the
    /// sizes used here.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// An index into a slice of `len` elements (`len > 0`).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// True with probability `permille / 1000`.
    pub fn chance(&mut self, permille: u64) -> bool {
        self.below(1000) < permille
    }

    /// An index chosen with probability proportional to `cumulative[i] - cumulative[i - 1]`,
    /// where `cumulative` is the running sum of positive weights.
    pub fn weighted(&mut self, cumulative: &[u64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0);
        let x = self.below(total);
        cumulative.partition_point(|c| *c <= x)
    }

    /// A UUIDv7 for the instant `at`: ids made by the generator sort by time like the server's.
    pub fn id_at(&mut self, at: DateTime<Utc>) -> String {
        let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        let random = self.next_u64();
        let more = self.next_u64();
        let mut bytes = [0_u8; 16];
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        bytes[6] = 0x70 | ((random >> 8) & 0x0F) as u8;
        bytes[7] = random as u8;
        bytes[8] = 0x80 | ((more >> 56) & 0x3F) as u8;
        bytes[9..].copy_from_slice(&more.to_be_bytes()[1..]);
        uuid::Uuid::from_bytes(bytes).to_string()
    }
}

/// Running sums of weights, for [`Rng::weighted`].
pub fn cumulative(weights: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut total = 0_u64;
    weights
        .into_iter()
        .map(|w| {
            total += w.max(1);
            total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_same_seed_gives_the_same_numbers() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(43).next_u64(), xs[0]);
        assert_ne!(a.fork(1).next_u64(), a.fork(2).next_u64());
    }

    #[test]
    fn ranges_and_weights_stay_in_bounds() {
        let mut r = Rng::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let x = r.range(3, 7);
            assert!((3..=7).contains(&x));
            seen[(x - 3) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let cum = cumulative([1, 0, 98, 1]);
        let mut counts = [0; 4];
        for _ in 0..10_000 {
            counts[r.weighted(&cum)] += 1;
        }
        assert!(counts[2] > 9_000, "{counts:?}");
        assert!(counts.iter().all(|c| *c > 0), "{counts:?}");
    }

    #[test]
    fn ids_are_version_7_and_sort_by_time() {
        let mut r = Rng::new(1);
        let early = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let late = Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap();
        let a = r.id_at(early);
        let b = r.id_at(late);
        assert!(a < b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    }
}
