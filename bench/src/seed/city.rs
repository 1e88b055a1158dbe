//! The people and shops of the generated city, kept in memory for the order history and written
//! through the sink: OPDs, staff, ASN, public buyers, merchants, commodities, listings with their
//! initial stock, ledger accounts and mandate policies.

use chrono::{DateTime, Duration, Utc};
use peken_kernel::period::Period;
use peken_ledger::Account;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::data::{self, COMMODITIES};
use super::ids::Unique;
use super::sink::{Cell, Sink};
use super::tables as t;
use crate::rng::{Rng, cumulative};

/// How big the city is.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    pub merchants: usize,
    pub toko_kelontong: usize,
    pub padat_karya: usize,
    pub asn: usize,
    pub public: usize,
    pub opds: usize,
}

impl Scale {
    /// Surabaya: 5,000 merchants (a koperasi in each of the 153 kelurahan, 1,100 toko
    /// kelontong, 150 Rumah Padat Karya, the rest UMKM), 15,000 ASN in 60 OPDs, 5,000 residents.
    pub const CITY: Scale = Scale {
        merchants: 5_000,
        toko_kelontong: 1_100,
        padat_karya: 150,
        asn: 15_000,
        public: 5_000,
        opds: 60,
    };
    /// A small town for trying the tools quickly.
    pub const TOWN: Scale = Scale {
        merchants: 400,
        toko_kelontong: 120,
        padat_karya: 20,
        asn: 600,
        public: 200,
        opds: 12,
    };
}

pub struct Kecamatan {
    pub code: String,
    pub name: String,
    /// Merchants of the kecamatan and their cumulative order weights.
    pub merchants: Vec<usize>,
    pub weights: Vec<u64>,
}

pub struct Kelurahan {
    pub code: String,
    pub name: String,
    pub kecamatan: usize,
}

pub struct Merchant {
    pub id: String,
    pub owner_id: String,
    pub listings: Vec<usize>,
}

pub struct Listing {
    pub id: String,
    pub commodity: usize,
    pub price: i64,
    /// Running stock while the history is generated; the final stock at the end.
    pub stock: i64,
}

pub struct Buyer {
    pub id: String,
    pub asn: bool,
    pub kecamatan: usize,
}

pub struct City {
    pub kecamatans: Vec<Kecamatan>,
    pub commodity_ids: Vec<String>,
    pub merchants: Vec<Merchant>,
    pub merchant_weights: Vec<u64>,
    pub listings: Vec<Listing>,
    pub buyers: Vec<Buyer>,
    pub buyer_weights: Vec<u64>,
}

/// The shared password of every generated account.
pub const PASSWORD: &str = "peken-bench-2026";
pub const ADMIN_EMAIL: &str = "admin@bench.peken.local";
pub const TREASURY_EMAILS: [&str; 2] = [
    "bendahara1@bench.peken.local",
    "bendahara2@bench.peken.local",
];

/// Loads the official kecamatan and kelurahan of the city from the `regions` table.
async fn regions(db: &DatabaseConnection) -> anyhow::Result<(Vec<Kecamatan>, Vec<Kelurahan>)> {
    let rows = peken_kernel::sql::query(
        db,
        "SELECT code, level, name, parent_code FROM regions ORDER BY code",
        vec![],
    )
    .await?;
    let mut kecamatans: Vec<Kecamatan> = Vec::new();
    let mut kelurahans = Vec::new();
    for row in rows {
        let code: String = row.try_get("", "code")?;
        let level: String = row.try_get("", "level")?;
        match level.as_str() {
            "kecamatan" => kecamatans.push(Kecamatan {
                code,
                name: row.try_get("", "name")?,
                merchants: Vec::new(),
                weights: Vec::new(),
            }),
            "kelurahan" => {
                let parent: Option<String> = row.try_get("", "parent_code")?;
                let kecamatan = kecamatans
                    .iter()
                    .position(|k| Some(&k.code) == parent.as_ref())
                    .ok_or_else(|| anyhow::anyhow!("kelurahan {code} without its kecamatan"))?;
                kelurahans.push(Kelurahan {
                    code,
                    name: row.try_get("", "name")?,
                    kecamatan,
                });
            }
            _ => {}
        }
    }
    anyhow::ensure!(
        !kelurahans.is_empty(),
        "the regions table is empty; did the migrations run?"
    );
    Ok((kecamatans, kelurahans))
}

pub(super) fn person_name(rng: &mut Rng) -> String {
    format!(
        "{} {}",
        rng.pick(&data::FIRST_NAMES),
        rng.pick(&data::LAST_NAMES)
    )
}

pub(super) fn phone(rng: &mut Rng) -> String {
    format!("08{}{:09}", rng.range(11, 99), rng.below(1_000_000_000))
}

/// Generates the city and writes its people, shops and listings. `since` is the start of the
/// order history: everything here exists before it.
pub async fn build(
    db: &DatabaseConnection,
    sink: &mut Sink,
    scale: Scale,
    rng: &Rng,
    password_hash: &str,
    since: DateTime<Utc>,
) -> anyhow::Result<City> {
    let (mut kecamatans, kelurahans) = regions(db).await?;
    let mut unique = Unique::default();
    let founded = since - Duration::days(400);
    let mut r = rng.fork(1);

    // OPDs: departments, then the kecamatan offices, then sections of the secretariat.
    let mut opds: Vec<(String, String, String)> = Vec::new();
    for (code, name) in data::OPD_STEMS {
        opds.push((r.id_at(founded), code.to_owned(), name.to_owned()));
    }
    for k in &kecamatans {
        let code = format!("KEC-{}", k.code.replace('.', ""));
        opds.push((r.id_at(founded), code, format!("Kecamatan {}", k.name)));
    }
    let mut n = 1;
    while opds.len() < scale.opds.max(1) {
        opds.push((
            r.id_at(founded),
            format!("SETDA-{n:02}"),
            format!("Sekretariat Daerah, Bagian {n}"),
        ));
        n += 1;
    }
    opds.truncate(scale.opds.max(1));
    for (id, code, name) in &opds {
        sink.row(
            &t::OPDS,
            &[id.into(), code.into(), name.into(), founded.into()],
        )
        .await?;
    }

    // Staff who run the month end: an admin and two treasury users (four eyes).
    let staff = [
        ("admin", "Admin Dinkopumdag", ADMIN_EMAIL),
        ("treasury", "Bendahara Satu", TREASURY_EMAILS[0]),
        ("treasury", "Bendahara Dua", TREASURY_EMAILS[1]),
    ];
    let mut admin_id = String::new();
    for (role, name, email) in staff {
        let id = r.id_at(founded);
        if role == "admin" {
            admin_id.clone_from(&id);
        }
        UserRow {
            id: &id,
            role,
            name,
            email: Some(email),
            password_hash,
            at: founded,
            ..UserRow::default()
        }
        .write(sink)
        .await?;
    }

    let buyers = super::people::buyers(
        sink,
        &mut r,
        &mut unique,
        scale,
        &opds,
        &kelurahans,
        password_hash,
        founded,
    )
    .await?;
    let (buyers, buyer_weights) = buyers;

    // Mandate minimums in force from the first month of the history.
    let first = Period::of(since).to_string();
    for (class, min, _) in data::POSITION_CLASSES {
        sink.row(
            &t::MANDATE_POLICIES,
            &[
                class.into(),
                (&first).into(),
                min.into(),
                (&admin_id).into(),
                founded.into(),
            ],
        )
        .await?;
    }

    let mut commodity_ids = Vec::with_capacity(COMMODITIES.len());
    for c in &COMMODITIES {
        let id = r.id_at(founded);
        sink.row(
            &t::COMMODITIES,
            &[
                (&id).into(),
                c.name.into(),
                c.category.into(),
                c.unit.into(),
                Cell::Int(c.het),
                Cell::Int(c.ration.map(i64::from)),
                true.into(),
                founded.into(),
                founded.into(),
            ],
        )
        .await?;
        commodity_ids.push(id);
    }

    let mut city = City {
        kecamatans: Vec::new(),
        commodity_ids,
        merchants: Vec::new(),
        merchant_weights: Vec::new(),
        listings: Vec::new(),
        buyers,
        buyer_weights,
    };
    let merchant_weights = shops(
        sink,
        &mut r,
        &mut unique,
        scale,
        &kelurahans,
        &mut kecamatans,
        &mut city,
        password_hash,
        &admin_id,
        since,
    )
    .await?;
    city.merchant_weights = cumulative(merchant_weights);
    city.kecamatans = kecamatans;

    // The city-wide accounts come with the schema (their balances go to their own rows, which
    // the first posting that needs them spreads over their stripes).
    for m in &city.merchants {
        account_row(sink, &Account::MerchantPayable(m.id.clone())).await?;
    }
    Ok(city)
}

async fn account_row(sink: &mut Sink, account: &Account) -> anyhow::Result<()> {
    let code = account.code();
    sink.row(
        &t::LEDGER_ACCOUNTS,
        &[
            (&code).into(),
            account.kind().into(),
            account.merchant_id().into(),
            account.floor_sign().into(),
            0_i64.into(),
        ],
    )
    .await
}

/// One row of `users`, as the services would write it: active, no failed logins, created and
/// updated at `at`; what is `None` is NULL.
#[derive(Default)]
pub struct UserRow<'a> {
    pub id: &'a str,
    pub role: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub nip: Option<&'a str>,
    pub asn_kind: Option<&'a str>,
    pub nik: Option<&'a str>,
    pub password_hash: &'a str,
    pub opd_id: Option<&'a str>,
    pub position_class: Option<&'a str>,
    pub domicile_kelurahan_code: Option<&'a str>,
    pub work_kelurahan_code: Option<&'a str>,
    pub merchant_id: Option<&'a str>,
    pub merchant_role: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl UserRow<'_> {
    pub async fn write(&self, sink: &mut Sink) -> anyhow::Result<()> {
        sink.row(
            &t::USERS,
            &[
                self.id.into(),
                self.role.into(),
                self.name.into(),
                self.email.into(),
                self.phone.into(),
                self.nip.into(),
                self.asn_kind.into(),
                self.nik.into(),
                self.password_hash.into(),
                self.opd_id.into(),
                self.position_class.into(),
                self.domicile_kelurahan_code.into(),
                self.work_kelurahan_code.into(),
                self.merchant_id.into(),
                self.merchant_role.into(),
                true.into(),
                self.at.into(),
                self.at.into(),
            ],
        )
        .await
    }
}

/// The kind of the `i`-th merchant: a koperasi per kelurahan first, then toko kelontong, padat
/// karya, and UMKM for the rest.
fn kind_of(i: usize, scale: Scale, kelurahans: usize) -> &'static str {
    if i < kelurahans {
        "koperasi"
    } else if i < kelurahans + scale.toko_kelontong {
        "toko_kelontong"
    } else if i < kelurahans + scale.toko_kelontong + scale.padat_karya {
        "padat_karya"
    } else {
        "umkm"
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of the city shops refer to"
)]
async fn shops(
    sink: &mut Sink,
    r: &mut Rng,
    unique: &mut Unique,
    scale: Scale,
    kelurahans: &[Kelurahan],
    kecamatans: &mut [Kecamatan],
    city: &mut City,
    password_hash: &str,
    admin_id: &str,
    since: DateTime<Utc>,
) -> anyhow::Result<Vec<u64>> {
    let mut weights = Vec::with_capacity(scale.merchants);
    let mut per_kecamatan: Vec<Vec<u64>> = vec![Vec::new(); kecamatans.len()];
    for i in 0..scale.merchants {
        let kind = kind_of(i, scale, kelurahans.len());
        let kel_index = if kind == "koperasi" {
            i
        } else {
            r.index(kelurahans.len())
        };
        let kel = &kelurahans[kel_index];
        let created =
            since - Duration::days(r.range(30, 380)) - Duration::minutes(r.range(0, 1440));
        let verified = created + Duration::hours(r.range(2, 96));
        let id = r.id_at(created);
        let owner_id = r.id_at(created);
        let owner = person_name(r);
        let word = *r.pick(&data::SHOP_WORDS);
        let name = match kind {
            "koperasi" => format!("Koperasi Kelurahan {}", kel.name),
            "toko_kelontong" => format!("Toko {word} {}", kel.name),
            "padat_karya" => format!("Rumah Padat Karya {}", kel.name),
            _ => format!("UMKM {word} {}", owner.split(' ').next().unwrap_or("Arek")),
        };
        let district = kel.code.get(6..8).unwrap_or("01").to_owned();
        let nik = unique.nik(r, &district);
        let nib = unique.nib(r);
        let npwp = r.chance(600).then(|| nik.clone());
        let account_number = format!("{:010}", r.below(10_000_000_000));
        let bank = *r.pick(&data::BANKS);
        let address = format!("Jl. {} No. {}", kel.name, r.range(1, 200));
        let email = format!("merchant{:04}@bench.peken.local", i + 1);
        let phone = phone(r);
        UserRow {
            id: &owner_id,
            role: "merchant",
            name: &owner,
            email: Some(&email),
            phone: Some(&phone),
            password_hash,
            merchant_id: Some(&id),
            merchant_role: Some("owner"),
            at: created,
            ..UserRow::default()
        }
        .write(sink)
        .await?;
        let kecamatan_code = &kecamatans[kel.kecamatan].code;
        sink.row(
            &t::MERCHANTS,
            &[
                (&id).into(),
                (&name).into(),
                kind.into(),
                (&nib).into(),
                (&nik).into(),
                npwp.as_deref().into(),
                (kind == "padat_karya").into(),
                (&kel.code).into(),
                kecamatan_code.into(),
                (&address).into(),
                bank.into(),
                (&account_number).into(),
                (&owner).into(),
                "active".into(),
                verified.into(),
                admin_id.into(),
                (&owner_id).into(),
                created.into(),
                verified.into(),
            ],
        )
        .await?;

        let (lo, hi) = match kind {
            "koperasi" => (18, 30),
            "toko_kelontong" => (14, 26),
            _ => (2, 6),
        };
        let mut allowed: Vec<usize> = (0..COMMODITIES.len())
            .filter(|c| data::allowed(kind, COMMODITIES[*c].category))
            .collect();
        let count = (r.range(lo, hi) as usize).min(allowed.len());
        let merchant_index = city.merchants.len();
        let mut listing_ids = Vec::with_capacity(count);
        for k in 0..count {
            // A partial shuffle: the first `count` commodities are a random distinct choice.
            let j = k + r.index(allowed.len() - k);
            allowed.swap(k, j);
            let c = &COMMODITIES[allowed[k]];
            let price = match c.het {
                Some(het) => (het - r.range(0, het * 6 / 100)) / 100 * 100,
                None => (c.price * r.range(85, 120) / 100) / 100 * 100,
            };
            let stock = r.range(40, 400);
            let listed = verified + Duration::hours(r.range(1, 72));
            let listing_id = r.id_at(listed);
            // The listing's product has the listing's id, as migration m0018 made them; every
            // product has one photo record, pointing at one of a few shared sets of sizes.
            let description = format!("{} pilihan dari {}", c.name, name);
            let product_search =
                peken_catalog::input::search_words(&format!("{} {description}", c.name)).join(" ");
            sink.row(
                &t::PRODUCTS,
                &[
                    (&listing_id).into(),
                    (&id).into(),
                    c.name.into(),
                    (&description).into(),
                    c.category.into(),
                    c.unit.into(),
                    (&city.commodity_ids[allowed[k]]).into(),
                    "approved".into(),
                    listed.into(),
                    listed.into(),
                    (&product_search).into(),
                    listed.into(),
                    listed.into(),
                ],
            )
            .await?;
            let image_id = r.id_at(listed);
            let renditions = shared_renditions(allowed[k] % 4);
            sink.row(
                &t::PRODUCT_IMAGES,
                &[
                    (&image_id).into(),
                    (&listing_id).into(),
                    0_i64.into(),
                    1080_i64.into(),
                    810_i64.into(),
                    (&renditions).into(),
                    listed.into(),
                ],
            )
            .await?;
            let search = format!(
                "{product_search} {}",
                peken_catalog::input::search_words(&name).join(" ")
            );
            sink.row(
                &t::LISTINGS,
                &[
                    (&listing_id).into(),
                    (&id).into(),
                    (&listing_id).into(),
                    (&city.commodity_ids[allowed[k]]).into(),
                    price.into(),
                    0_i64.into(),
                    true.into(),
                    c.category.into(),
                    kecamatan_code.into(),
                    (&kel.code).into(),
                    (&search).into(),
                    listed.into(),
                    listed.into(),
                ],
            )
            .await?;
            let movement_id = r.id_at(listed);
            sink.row(
                &t::STOCK_MOVEMENTS,
                &[
                    (&movement_id).into(),
                    (&listing_id).into(),
                    "restock".into(),
                    stock.into(),
                    stock.into(),
                    stock.into(),
                    Cell::Text(None),
                    Cell::Text(None),
                    "initial stock".into(),
                    (&owner_id).into(),
                    listed.into(),
                ],
            )
            .await?;
            listing_ids.push(city.listings.len());
            city.listings.push(Listing {
                id: listing_id,
                commodity: allowed[k],
                price,
                stock,
            });
        }
        // Shops that sell staples get most orders; one in ten shops hardly gets any.
        let kind_factor = match kind {
            "koperasi" => 12,
            "toko_kelontong" => 10,
            _ => 3,
        };
        let weight = if r.chance(100) {
            1
        } else {
            kind_factor * (r.below(140) + 30)
        };
        weights.push(weight);
        kecamatans[kel.kecamatan].merchants.push(merchant_index);
        per_kecamatan[kel.kecamatan].push(weight);
        city.merchants.push(Merchant {
            id,
            owner_id,
            listings: listing_ids,
        });
    }
    for (k, w) in kecamatans.iter_mut().zip(per_kecamatan) {
        k.weights = cumulative(w);
    }
    Ok(weights)
}

/// Writes rows of `(key, value)` into `table.value_column` with one UPDATE per chunk.
pub async fn update_column(
    db: &DatabaseConnection,
    table: &str,
    key_column: &str,
    value_column: &str,
    rows: &[(String, i64)],
) -> anyhow::Result<()> {
    let backend = db.get_database_backend();
    for chunk in rows.chunks(500) {
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 2);
        for (key, value) in chunk {
            values.push(key.clone().into());
            values.push((*value).into());
        }
        let sql = format!(
            "UPDATE {table} SET {value_column} = v.column2 FROM (VALUES {}) AS v \
             WHERE {table}.{key_column} = v.column1",
            peken_kernel::sql::values_rows(chunk.len(), 2, 1)
        );
        db.execute_raw(peken_kernel::sql::stmt(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// The stored sizes of one of a few shared product photos (the bench measures what browse and
/// checkout do with photo records, not the photos).
fn shared_renditions(n: usize) -> String {
    let sizes = [(160, 120), (480, 360), (1080, 810)];
    let parts: Vec<String> = sizes
        .iter()
        .map(|(w, h)| {
            format!(
                "{{\"width\":{w},\"height\":{h},\"key\":\"img/b{n}/bench{n}{w:04}.jpg\",\"bytes\":{}}}",
                w * h / 8
            )
        })
        .collect();
    format!("[{}]", parts.join(","))
}
