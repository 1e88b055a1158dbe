//! The browse scenario's searches: what buyers look for (an area, a category, a word), as a
//! small set of popular searches repeated by everyone (served from the cache after the first)
//! and as a stream in which no search repeats (every one misses the cache).

const WORDS: [&str; 20] = [
    "beras", "gula", "minyak", "telur", "sabun", "kopi", "kerupuk", "batik", "sambal", "teh",
    "mie", "susu", "bawang", "cabai", "tepung", "daging", "ikan", "tas", "kaos", "kue",
];
const CATEGORIES: [&str; 5] = [
    "sembako",
    "kebutuhan_harian",
    "kuliner",
    "kerajinan",
    "fashion",
];

/// One search: its query string and whether it is sent by a logged-in ASN (who sees the own
/// kecamatan when no area is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub query: String,
    pub as_asn: bool,
}

/// The areas searches refer to: kecamatan and kelurahan codes.
pub struct Areas {
    pub kecamatans: Vec<String>,
    pub kelurahans: Vec<String>,
}

fn query(parts: &[(&str, Option<String>)]) -> String {
    let mut out = String::from("/api/v1/listings?");
    let mut first = true;
    for (name, value) in parts {
        if let Some(value) = value {
            if !first {
                out.push('&');
            }
            first = false;
            out.push_str(name);
            out.push('=');
            out.push_str(value);
        }
    }
    out
}

/// The popular searches, everyone repeating them: `count` of them, fixed by `seed`.
pub fn popular(areas: &Areas, count: usize, seed: u64) -> Vec<Search> {
    let mut r = crate::rng::Rng::new(seed);
    (0..count)
        .map(|_| {
            let kec = Some(r.pick(&areas.kecamatans).clone());
            let kel = Some(r.pick(&areas.kelurahans).clone());
            let cat = Some((*r.pick(&CATEGORIES)).to_owned());
            let word = Some((*r.pick(&WORDS)).to_owned());
            let limit = Some("20".to_owned());
            match r.below(100) {
                0..30 => Search {
                    query: query(&[("kecamatan", kec), ("category", cat), ("limit", limit)]),
                    as_asn: false,
                },
                30..50 => Search {
                    query: query(&[("kecamatan", kec), ("q", word), ("limit", limit)]),
                    as_asn: false,
                },
                50..70 => Search {
                    query: query(&[("category", cat), ("limit", limit)]),
                    as_asn: true,
                },
                70..85 => Search {
                    query: query(&[("kelurahan", kel), ("category", cat), ("limit", limit)]),
                    as_asn: false,
                },
                _ => Search {
                    query: query(&[
                        ("q", word),
                        ("all_areas", Some("true".into())),
                        ("limit", limit),
                    ]),
                    as_asn: false,
                },
            }
        })
        .collect()
}

/// The `i`-th search of a stream in which no two are the same: half by kecamatan, three in ten
/// by kelurahan, two in ten city-wide by word, each with a category or none, a word or none, and
/// a page size of 10 to 200.
pub fn distinct(areas: &Areas, i: u64) -> Search {
    // Each kind of search enumerates its own space, so no index maps to a search another index
    // already made (until a space runs out, after hundreds of thousands of searches).
    let kind = i % 10;
    let (group, mut j) = match kind {
        0..5 => (0, (i / 10) * 5 + kind),
        5..8 => (1, (i / 10) * 3 + (kind - 5)),
        _ => (2, (i / 10) * 2 + (kind - 8)),
    };
    let mut take = |n: usize| {
        let v = (j % n as u64) as usize;
        j /= n as u64;
        v
    };
    let limit = Some((10 + take(191)).to_string());
    let category = CATEGORIES
        .get(take(CATEGORIES.len() + 1))
        .map(|c| (*c).to_owned());
    let word = WORDS.get(take(WORDS.len() + 1)).map(|w| (*w).to_owned());
    match group {
        0 => {
            let kec = Some(areas.kecamatans[take(areas.kecamatans.len())].clone());
            Search {
                query: query(&[
                    ("kecamatan", kec),
                    ("category", category),
                    ("q", word),
                    ("limit", limit),
                ]),
                as_asn: false,
            }
        }
        1 => {
            let kel = Some(areas.kelurahans[take(areas.kelurahans.len())].clone());
            Search {
                query: query(&[
                    ("kelurahan", kel),
                    ("category", category),
                    ("q", word),
                    ("limit", limit),
                ]),
                as_asn: false,
            }
        }
        _ => {
            // City-wide searches always have a word; a second one narrows them ("gula pasir").
            let first = WORDS[take(WORDS.len())];
            let words = match word {
                Some(second) => format!("{first}+{second}"),
                None => first.to_owned(),
            };
            Search {
                query: query(&[
                    ("q", Some(words)),
                    ("category", category),
                    ("all_areas", Some("true".into())),
                    ("limit", limit),
                ]),
                as_asn: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn areas() -> Areas {
        Areas {
            kecamatans: (1..=31).map(|k| format!("35.78.{k:02}")).collect(),
            kelurahans: (1..=153)
                .map(|k| format!("35.78.01.{:04}", 1000 + k))
                .collect(),
        }
    }

    #[test]
    fn the_distinct_stream_never_repeats_a_search() {
        let areas = areas();
        let mut seen = HashSet::new();
        for i in 0..200_000 {
            assert!(seen.insert(distinct(&areas, i).query), "repeat at {i}");
        }
    }

    #[test]
    fn popular_searches_are_fixed_by_the_seed() {
        let areas = areas();
        assert_eq!(popular(&areas, 50, 3), popular(&areas, 50, 3));
        assert!(popular(&areas, 50, 3).iter().any(|s| s.as_asn));
        assert!(
            popular(&areas, 50, 3)[0]
                .query
                .starts_with("/api/v1/listings?")
        );
    }
}
