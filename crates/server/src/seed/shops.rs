//! The demo city's shops: commodities with 2025-2026 ceiling prices, merchants of every kind
//! spread over Rungkut (where most demo ASN live), Wonocolo, Karang Pilang and Tegalsari, one
//! still awaiting verification, and their listings.

use peken_catalog::service::{self as catalog, NewCommodity};
use peken_kernel::auth::{Caller, Role};
use peken_kernel::ids::{Nib, Nik, Npwp};
use peken_kernel::{AppState, Rupiah};
use peken_merchant::media::StoredRendition;
use peken_merchant::service::BankAccount;
use peken_merchant::service::listings::{self, ListingOf};
use peken_merchant::service::merchants::{self, NewMerchant, NewPerson};
use peken_merchant::service::products::{self, Decision, NewImage, NewProduct};

use super::DEMO_PASSWORD;

/// Name, category, unit, HET and daily limit per buyer of a demo commodity.
type DemoCommodity = (
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    Option<i32>,
);

/// HETs are the national ceilings of 2025-2026: rice by Bapanas for Java, sugar and the
/// `MinyaKita` cooking oil by the trade ministry.
const COMMODITIES: [DemoCommodity; 12] = [
    ("Beras Medium", "sembako", "kg", Some(13_500), None),
    ("Beras Premium", "sembako", "kg", Some(14_900), None),
    ("Gula Pasir", "sembako", "kg", Some(17_500), None),
    (
        "Minyak Goreng MinyaKita",
        "sembako",
        "liter",
        Some(15_700),
        Some(2),
    ),
    ("Telur Ayam Ras", "sembako", "kg", None, None),
    ("Tepung Terigu", "sembako", "kg", None, None),
    ("Bawang Merah", "sembako", "kg", None, None),
    ("Sabun Mandi Batang", "kebutuhan_harian", "pcs", None, None),
    (
        "Deterjen Bubuk 800 g",
        "kebutuhan_harian",
        "pack",
        None,
        None,
    ),
    ("Kerupuk Ikan Tenggiri", "kuliner", "pack", None, None),
    ("Sambal Bawang Botol", "kuliner", "botol", None, None),
    ("Tas Anyaman Plastik", "kerajinan", "pcs", None, None),
];

/// A demo merchant: name, kind, NIB, owner NIK, kelurahan, address, bank code, login e-mail,
/// owner name, active or left pending.
struct Shop {
    name: &'static str,
    kind: &'static str,
    nib: &'static str,
    nik: &'static str,
    kelurahan: &'static str,
    address: &'static str,
    bank: &'static str,
    email: &'static str,
    owner: &'static str,
    active: bool,
    /// (commodity index, price, stock)
    listings: &'static [(usize, i64, i64)],
}

const SHOPS: [Shop; 8] = [
    Shop {
        name: "Toko Sumber Rejeki",
        kind: "toko_kelontong",
        nib: "9120001000101",
        nik: "3578031203750001",
        kelurahan: "35.78.03.1001",
        address: "Jl. Kalirungkut No. 27",
        bank: "114",
        email: "toko.sumberrejeki@peken.local",
        owner: "Slamet Riyadi",
        active: true,
        listings: &[
            (0, 13_200, 120),
            (1, 14_800, 60),
            (2, 17_300, 80),
            (3, 15_700, 48),
            (4, 29_500, 40),
            (7, 4_000, 100),
        ],
    },
    Shop {
        name: "Toko Barokah Wonorejo",
        kind: "toko_kelontong",
        nib: "9120001000102",
        nik: "3578035508800002",
        kelurahan: "35.78.03.1005",
        address: "Jl. Wonorejo Permai Utara 5",
        bank: "002",
        email: "toko.barokah@peken.local",
        owner: "Siti Aminah",
        active: true,
        listings: &[
            (0, 13_500, 90),
            (2, 17_500, 50),
            (3, 15_500, 36),
            (5, 11_500, 40),
            (8, 21_000, 30),
        ],
    },
    Shop {
        name: "Koperasi Kelurahan Rungkut Kidul",
        kind: "koperasi",
        nib: "9120001000103",
        nik: "3578030507680003",
        kelurahan: "35.78.03.1002",
        address: "Balai RW 03, Jl. Rungkut Kidul Gg. II",
        bank: "114",
        email: "kopkel.rungkutkidul@peken.local",
        owner: "H. Abdul Karim",
        active: true,
        listings: &[
            (0, 13_000, 300),
            (1, 14_500, 150),
            (2, 17_000, 120),
            (3, 15_600, 96),
            (6, 38_000, 25),
        ],
    },
    Shop {
        name: "Kerupuk Ikan Bu Sri",
        kind: "umkm",
        nib: "9120001000104",
        nik: "3578036110820004",
        kelurahan: "35.78.03.1006",
        address: "Jl. Medokan Ayu Utara 9",
        bank: "008",
        email: "kerupuk.busri@peken.local",
        owner: "Sri Wahyuni",
        active: true,
        listings: &[(9, 25_000, 60), (10, 18_000, 40)],
    },
    Shop {
        name: "Rumah Padat Karya Margorejo",
        kind: "padat_karya",
        nib: "9120001000105",
        nik: "3578024402790005",
        kelurahan: "35.78.02.1003",
        address: "Jl. Margorejo Indah Blok C",
        bank: "114",
        email: "padatkarya.margorejo@peken.local",
        owner: "Lilik Suryani",
        active: true,
        listings: &[(10, 17_000, 30), (11, 35_000, 20), (8, 20_500, 25)],
    },
    Shop {
        name: "Toko Makmur Jaya",
        kind: "toko_kelontong",
        nib: "9120001000106",
        nik: "3578011708700006",
        kelurahan: "35.78.01.1002",
        address: "Jl. Kebraon Indah Permai 14",
        bank: "014",
        email: "toko.makmurjaya@peken.local",
        owner: "Bambang Sutrisno",
        active: true,
        listings: &[
            (0, 13_400, 80),
            (2, 17_400, 40),
            (4, 30_000, 30),
            (3, 15_700, 24),
        ],
    },
    Shop {
        name: "Koperasi Kelurahan Tegalsari",
        kind: "koperasi",
        nib: "9120001000107",
        nik: "3578050309660007",
        kelurahan: "35.78.05.1001",
        address: "Jl. Tegalsari No. 51",
        bank: "009",
        email: "kopkel.tegalsari@peken.local",
        owner: "Drs. Mulyono",
        active: true,
        listings: &[(0, 13_100, 200), (1, 14_700, 100), (5, 11_800, 60)],
    },
    Shop {
        name: "Toko Baru Kedung Baruk",
        kind: "toko_kelontong",
        nib: "9120001000108",
        nik: "3578032012900008",
        kelurahan: "35.78.03.1003",
        address: "Jl. Kedung Baruk 88",
        bank: "002",
        email: "toko.baru@peken.local",
        owner: "Andi Pratama",
        active: false,
        listings: &[],
    },
];

#[expect(
    clippy::needless_pass_by_value,
    reason = "used as map_err(err), which passes the error by value"
)]
fn err(e: peken_kernel::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Loads the shops; `admin_id` is the demo admin who verifies them.
pub async fn load(state: &AppState, admin_id: &str) -> anyhow::Result<()> {
    let mut commodity_ids = Vec::new();
    let admin = caller(admin_id, Role::Admin, None);
    for (name, category, unit, het, limit) in COMMODITIES {
        let created = catalog::create_commodity(
            state,
            &admin,
            NewCommodity {
                name: name.to_owned(),
                category: category.to_owned(),
                unit: unit.to_owned(),
                het_price: het.map(Rupiah::new),
                max_qty_per_buyer_per_day: limit,
            },
        )
        .await
        .map_err(err)?;
        commodity_ids.push(created.id);
    }
    for shop in &SHOPS {
        let kelurahan = state
            .regions
            .kelurahan(shop.kelurahan)
            .ok_or_else(|| anyhow::anyhow!("demo kelurahan {} unknown", shop.kelurahan))?;
        let merchant = merchants::register(
            state,
            NewMerchant {
                name: shop.name.to_owned(),
                kind: shop.kind.to_owned(),
                nib: Some(Nib::parse(shop.nib)?),
                owner_nik: Nik::parse(shop.nik)?,
                npwp: Some(Npwp::parse(shop.nik)?),
                mbr: shop.kind == "padat_karya",
                kelurahan,
                address: shop.address.to_owned(),
                bank: BankAccount {
                    bank_code: shop.bank.to_owned(),
                    account_number: format!("00{}", &shop.nib[5..]),
                    account_name: shop.owner.to_uppercase(),
                },
                owner: NewPerson {
                    name: shop.owner.to_owned(),
                    email: shop.email.to_owned(),
                    phone: "081231234567".to_owned(),
                    password: DEMO_PASSWORD.to_owned(),
                },
            },
        )
        .await
        .map_err(err)?;
        if !shop.active {
            continue;
        }
        merchants::verify(state, &admin, &merchant.id, true, None)
            .await
            .map_err(err)?;
        let owner = caller(
            &merchant.owner_user_id,
            Role::Merchant,
            Some(merchant.id.clone()),
        );
        let shop_photo = photo(state, shop.name, 0).await?;
        merchants::set_photo(state, &owner, &merchant.id, Some(shop_photo))
            .await
            .map_err(err)?;
        for &(commodity, price, stock) in shop.listings {
            let listed = listings::create(
                state,
                &owner,
                &merchant.id,
                ListingOf::Commodity(commodity_ids[commodity].clone()),
                Rupiah::new(price),
                stock,
                None,
            )
            .await
            .map_err(err)?;
            let image = photo(state, COMMODITIES[commodity].0, 1).await?;
            products::add_image(state, &owner, &merchant.id, &listed.sale.product_id, image)
                .await
                .map_err(err)?;
        }
        for own in OWN_PRODUCTS.iter().filter(|p| p.shop == shop.name) {
            let created = products::create(
                state,
                &owner,
                &merchant.id,
                NewProduct {
                    name: own.name.to_owned(),
                    description: own.description.to_owned(),
                    category: Some(own.category.to_owned()),
                    unit: Some(own.unit.to_owned()),
                    net_weight_g: own.net_weight_g,
                    net_volume_ml: None,
                    barcode: None,
                    commodity_id: None,
                },
            )
            .await
            .map_err(err)?;
            for n in 0..2 {
                let image = photo(state, own.name, n + 1).await?;
                products::add_image(state, &owner, &merchant.id, &created.id, image)
                    .await
                    .map_err(err)?;
            }
            if own.approved {
                products::moderate(state, &admin, &created.id, Decision::Approve)
                    .await
                    .map_err(err)?;
            }
            listings::create(
                state,
                &owner,
                &merchant.id,
                ListingOf::Product(created.id),
                Rupiah::new(own.price),
                own.stock,
                None,
            )
            .await
            .map_err(err)?;
        }
    }
    Ok(())
}

/// A product of a shop's own, in the merchant's words.
struct OwnProduct {
    shop: &'static str,
    name: &'static str,
    description: &'static str,
    category: &'static str,
    unit: &'static str,
    net_weight_g: Option<i64>,
    price: i64,
    stock: i64,
    /// The last one waits in the moderation queue, for the demo admin to see.
    approved: bool,
}

const OWN_PRODUCTS: [OwnProduct; 4] = [
    OwnProduct {
        shop: "Kerupuk Ikan Bu Sri",
        name: "Kerupuk Udang Bu Sri",
        description: "Udang Selat Madura, dijemur sendiri, renyah tanpa pengawet.",
        category: "kuliner",
        unit: "bungkus",
        net_weight_g: Some(250),
        price: 22_000,
        stock: 50,
        approved: true,
    },
    OwnProduct {
        shop: "Kerupuk Ikan Bu Sri",
        name: "Rengginang Ketan Terasi",
        description: "Rengginang ketan putih dengan terasi Sidoarjo, siap goreng.",
        category: "kuliner",
        unit: "bungkus",
        net_weight_g: Some(500),
        price: 18_000,
        stock: 40,
        approved: true,
    },
    OwnProduct {
        shop: "Rumah Padat Karya Margorejo",
        name: "Tas Anyaman Eceng Gondok",
        description: "Dianyam warga Margorejo dari eceng gondok Kali Wonokromo.",
        category: "kerajinan",
        unit: "pcs",
        net_weight_g: None,
        price: 65_000,
        stock: 12,
        approved: true,
    },
    OwnProduct {
        shop: "Rumah Padat Karya Margorejo",
        name: "Keset Perca Batik",
        description: "Keset dari kain perca batik Surabaya, bisa dicuci.",
        category: "kerajinan",
        unit: "pcs",
        net_weight_g: None,
        price: 30_000,
        stock: 20,
        approved: false,
    },
];

/// A small picture made for a demo product or shop: stripes in colours taken from its name, so
/// each looks different. Stored as an upload would be, through `peken_media`.
async fn photo(state: &AppState, name: &str, variant: u32) -> anyhow::Result<NewImage> {
    let seed = name.bytes().fold(2_166_136_261_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16_777_619)
    }) ^ variant.wrapping_mul(0x9E37_79B9);
    let channel = |shift: u32| 60 + ((seed >> shift) & 0x7F) as u8;
    let (base, accent) = (
        [channel(0), channel(7), channel(14)],
        [channel(21), channel(3), channel(11)],
    );
    let picture = image::RgbImage::from_fn(480, 360, |x, y| {
        let band = (x / 40 + y / 30 + variant) % 3;
        image::Rgb(if band == 0 { accent } else { base })
    });
    let mut png = std::io::Cursor::new(Vec::new());
    picture.write_to(&mut png, image::ImageFormat::Png)?;
    let stored = peken_media::store_image(
        state,
        peken_media::Upload {
            bytes: png.into_inner().into(),
            content_type: Some("image/png".to_owned()),
            file_name: None,
        },
    )
    .await
    .map_err(err)?;
    Ok(NewImage {
        width: stored.width,
        height: stored.height,
        renditions: stored
            .renditions
            .into_iter()
            .map(|r| StoredRendition {
                width: r.width,
                height: r.height,
                key: r.key,
                bytes: r.bytes,
            })
            .collect(),
    })
}

fn caller(user_id: &str, role: Role, merchant_id: Option<String>) -> Caller {
    Caller {
        user_id: user_id.to_owned(),
        role,
        session_id: "demo-seed".to_owned(),
        merchant_id,
        opd_id: None,
        request_id: None,
        client_request_id: None,
    }
}
