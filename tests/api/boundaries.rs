//! The domain boundaries, checked on the source: every table the migrations create has one
//! owner in ARCHITECTURE.md's table, no crate imports another crate's `store` module (its
//! entities), and no crate names another crate's table in SQL except the crossings listed here,
//! each with its reason. A new crossing fails; so does a listed one that is gone (shrink the list).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crossings that remain: (crate, table it names, why). Each is one statement kept for speed or
/// a read model that moves with its owner later.
const CROSSINGS: &[(&str, &str, &str)] = &[
    (
        "catalog",
        "listings",
        "a commodity's change answers how many listings its HET now stops, in one count, and \
         a lowered HET tells the shops of those listings (their ids, shops and prices, in one \
         query; catalog sits below merchant and cannot call it)",
    ),
    (
        "merchant",
        "commodities",
        "listings for sale (one statement per checkout), the browse read model and the bulk \
         import's one read join the commodity of a staple and its HET",
    ),
    (
        "merchant",
        "category_permissions",
        "listings for sale and the browse read model: whether the shop's kind may sell the \
         category, in the same statement",
    ),
    (
        "order",
        "merchants",
        "a payment counts the month's buyers in the city and per kecamatan of the shops paid \
         (`buyer_months`) in one statement, which reads the shops' kecamatan",
    ),
    (
        "server",
        "users",
        "the demo seed writes thousands of rows a statement",
    ),
    ("server", "merchants", "the demo seed"),
    ("server", "listings", "the demo seed"),
    ("server", "commodities", "the demo seed"),
    ("server", "settings", "the demo seed"),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The rows of ARCHITECTURE.md's owner table: a table name in backticks, then its owner.
fn owners() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut owners = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if let [_, table, owner, _] = cells.as_slice()
            && let Some(table) = table.strip_prefix('`').and_then(|t| t.strip_suffix('`'))
        {
            let previous = owners.insert(table.to_owned(), (*owner).to_owned());
            assert!(
                previous.is_none(),
                "{table} has two owners in ARCHITECTURE.md"
            );
        }
    }
    owners
}

/// The tables the migrations create.
fn created_tables() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("migrations/src"), &mut files);
    let mut tables = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a migration");
        for (i, _) in text.match_indices("Table::create()") {
            let rest = &text[i..];
            if let Some(start) = rest.find(".table(\"") {
                let name = &rest[start + 8..];
                let end = name.find('"').expect("a closing quote");
                tables.insert(name[..end].to_owned());
            }
        }
    }
    tables
}

/// The words after `FROM`, `JOIN`, `UPDATE` and `INTO` on a line.
fn named_tables(line: &str) -> Vec<String> {
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "FROM" | "JOIN" | "UPDATE" | "INTO"))
        .map(|w| w[1].to_owned())
        .collect()
}

#[test]
fn every_table_has_one_owner_and_crates_keep_to_their_own() {
    let owners = owners();
    let created = created_tables();
    let listed: BTreeSet<String> = owners.keys().cloned().collect();
    assert_eq!(
        created, listed,
        "ARCHITECTURE.md must list exactly the tables the migrations create"
    );
    assert!(created.len() > 40, "{created:?}");

    let crates_dir = root().join("crates");
    let mut found_crossings = BTreeSet::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&crates_dir).expect("crates/") {
        let dir = entry.expect("an entry").path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files);
        for file in files {
            // A crate's own tests may look at any table to check what happened.
            let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
            if file_name == "tests.rs" || file_name == "proptests.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("a source file");
            let shown = file.strip_prefix(root()).unwrap().display().to_string();
            for (n, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for other in owners.values().collect::<BTreeSet<_>>() {
                    if *other != name && line.contains(&format!("peken_{other}::store")) {
                        problems.push(format!("{shown}:{}: uses {other}'s store", n + 1));
                    }
                }
                for table in named_tables(line) {
                    let Some(owner) = owners.get(&table) else {
                        continue;
                    };
                    if *owner == name {
                        continue;
                    }
                    if CROSSINGS.iter().any(|(c, t, _)| *c == name && *t == table) {
                        found_crossings.insert((name.clone(), table));
                    } else {
                        problems.push(format!(
                            "{shown}:{}: {name} names {owner}'s table {table}",
                            n + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for (c, t, why) in CROSSINGS {
        assert!(
            found_crossings.contains(&((*c).to_owned(), (*t).to_owned())),
            "the crossing {c} → {t} ({why}) is gone: remove it from the list"
        );
    }
}

#[test]
fn the_scanner_sees_a_crossing() {
    assert_eq!(
        named_tables("\"SELECT m.name FROM merchants m JOIN users u ON u.id = m.owner_user_id\""),
        ["merchants", "users"]
    );
    assert_eq!(named_tables("UPDATE listings SET x = 1"), ["listings"]);
    assert!(named_tables("no sql here, from a comment").is_empty());
}
