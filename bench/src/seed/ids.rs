//! Valid, unique official numbers for generated people and businesses: NIP, NI PPPK, NIK, NIB.

use std::collections::HashSet;

use crate::rng::Rng;

/// Hands out numbers that were not handed out before.
#[derive(Default)]
pub struct Unique {
    seen: HashSet<String>,
}

impl Unique {
    fn fresh(&mut self, rng: &mut Rng, mut make: impl FnMut(&mut Rng) -> String) -> String {
        loop {
            let candidate = make(rng);
            if self.seen.insert(candidate.clone()) {
                return candidate;
            }
        }
    }

    /// A PNS NIP: birth date, appointment year and month, sex, sequence.
    pub fn nip(&mut self, rng: &mut Rng) -> String {
        self.fresh(rng, |r| {
            let birth = r.range(1966, 2000);
            let appointed = (birth + r.range(22, 35)).min(2025);
            format!(
                "{birth}{:02}{:02}{appointed}{:02}{}{:03}",
                r.range(1, 12),
                r.range(1, 28),
                r.range(1, 12),
                r.range(1, 2),
                r.range(1, 999)
            )
        })
    }

    /// A PPPK number: birth date, appointment year, two digits, sex, sequence.
    pub fn ni_pppk(&mut self, rng: &mut Rng) -> String {
        self.fresh(rng, |r| {
            let birth = r.range(1975, 2001);
            format!(
                "{birth}{:02}{:02}{}{:02}{}{:03}",
                r.range(1, 12),
                r.range(1, 28),
                r.range(2021, 2025),
                r.range(1, 20),
                r.range(1, 2),
                r.range(1, 999)
            )
        })
    }

    /// A Surabaya NIK (`3578`, district, birth date with day + 40 for women, sequence).
    pub fn nik(&mut self, rng: &mut Rng, district: &str) -> String {
        self.fresh(rng, |r| {
            let woman = r.chance(500);
            let day = r.range(1, 28) + if woman { 40 } else { 0 };
            format!(
                "3578{district}{day:02}{:02}{:02}{:04}",
                r.range(1, 12),
                r.range(60, 99),
                r.range(1, 9999)
            )
        })
    }

    /// A 13-digit NIB.
    pub fn nib(&mut self, rng: &mut Rng) -> String {
        self.fresh(rng, |r| format!("9120{:09}", r.below(1_000_000_000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peken_kernel::ids::{NiPppk, Nib, Nik, Nip};

    #[test]
    fn generated_numbers_are_valid_and_distinct() {
        let mut rng = Rng::new(5);
        let mut unique = Unique::default();
        let mut all = HashSet::new();
        for _ in 0..2_000 {
            let nip = unique.nip(&mut rng);
            assert!(Nip::parse(&nip).is_ok(), "{nip}");
            let pppk = unique.ni_pppk(&mut rng);
            assert!(NiPppk::parse(&pppk).is_ok(), "{pppk}");
            let nik = unique.nik(&mut rng, "05");
            assert!(Nik::parse(&nik).is_ok(), "{nik}");
            let nib = unique.nib(&mut rng);
            assert!(Nib::parse(&nib).is_ok(), "{nib}");
            for n in [nip, pppk, nik, nib] {
                assert!(all.insert(n));
            }
        }
    }
}
