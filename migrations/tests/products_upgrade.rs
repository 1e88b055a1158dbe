//! Migration m0018 on a database that already sells: every listing gets an approved product of
//! its commodity, the rows that point at listings still point at them, foreign keys still hold,
//! and a listing may now sell a product without a commodity. On SQLite (a file) and, when
//! `PEKEN_TEST_DATABASE_URL` is set, on a scratch PostgreSQL database.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use peken_kernel::scratch::ScratchDatabase;
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm_migration::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value,
};

/// Migrations before m0018.
const BEFORE_PRODUCTS: u32 = 16;

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<Value>) {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        values,
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn text(db: &DatabaseConnection, sql: &str) -> Option<String> {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .map(|row| row.try_get_by_index::<Option<String>>(0).unwrap())
        .unwrap_or_default()
}

async fn number(db: &DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// A shop with one listing of a commodity and a stock movement, written as m0017 left the
/// tables.
async fn selling_shop(db: &DatabaseConnection) {
    let now = chrono::Utc::now();
    exec(
        db,
        "INSERT INTO users (id, role, name, email, password_hash, active, created_at, updated_at) \
         VALUES ('u1', 'merchant', 'Bu Sri', 'sri@toko.test', 'x', $1, $2, $2)",
        vec![true.into(), now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO merchants (id, name, kind, nib, owner_nik, mbr, kelurahan_code, \
           kecamatan_code, address, bank_code, account_number, account_name, status, \
           owner_user_id, created_at, updated_at) \
         VALUES ('m1', 'Toko Sri', 'toko_kelontong', '9120000000001', '3578010101900001', $1, \
           '35.78.03.1001', '35.78.03', 'Jl. Uji 1', '008', '1200000001', 'SRI', 'active', \
           'u1', $2, $2)",
        vec![false.into(), now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO commodities (id, name, category, unit, het_price, active, created_at, \
           updated_at) VALUES ('c1', 'Gula Pasir', 'sembako', 'kg', 17500, $1, $2, $2)",
        vec![true.into(), now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO listings (id, merchant_id, commodity_id, price, stock, active, category, \
           kecamatan_code, kelurahan_code, search_text, created_at, updated_at) \
         VALUES ('l1', 'm1', 'c1', 17000, 12, $1, 'sembako', '35.78.03', '35.78.03.1001', \
           'gula pasir toko sri', $2, $2)",
        vec![true.into(), now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO stock_movements (id, listing_id, kind, quantity_delta, units, stock_after, \
           created_at) VALUES ('s1', 'l1', 'restock', 12, 12, 12, $1)",
        vec![now.into()],
    )
    .await;
}

async fn upgrade_keeps_what_sells(db: &DatabaseConnection) {
    Migrator::up(db, Some(BEFORE_PRODUCTS)).await.unwrap();
    assert!(
        text(
            db,
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1"
        )
        .await
        .unwrap()
        .contains("m0017")
    );
    selling_shop(db).await;
    Migrator::up(db, None).await.unwrap();

    assert_eq!(
        text(db, "SELECT product_id FROM listings WHERE id = 'l1'")
            .await
            .as_deref(),
        Some("l1")
    );
    assert_eq!(
        text(db, "SELECT status FROM products WHERE id = 'l1'")
            .await
            .as_deref(),
        Some("approved")
    );
    assert_eq!(
        text(db, "SELECT name FROM products WHERE id = 'l1'")
            .await
            .as_deref(),
        Some("Gula Pasir")
    );
    assert_eq!(
        text(db, "SELECT commodity_id FROM products WHERE id = 'l1'")
            .await
            .as_deref(),
        Some("c1")
    );
    assert_eq!(
        number(db, "SELECT stock FROM listings WHERE id = 'l1'").await,
        12
    );
    assert_eq!(
        number(
            db,
            "SELECT COUNT(*) FROM stock_movements WHERE listing_id = 'l1'"
        )
        .await,
        1
    );
    // The old unique (merchant, commodity) is gone, one listing per product holds.
    let now = chrono::Utc::now();
    exec(
        db,
        "INSERT INTO products (id, merchant_id, name, category, unit, status, submitted_at, \
           search_text, created_at, updated_at) \
         VALUES ('p2', 'm1', 'Sabun Sereh', 'kebutuhan_harian', 'pcs', 'approved', $1, \
           'sabun sereh', $1, $1)",
        vec![now.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO listings (id, merchant_id, product_id, commodity_id, price, stock, active, \
           category, kecamatan_code, kelurahan_code, search_text, created_at, updated_at) \
         VALUES ('l2', 'm1', 'p2', NULL, 5000, 0, $1, 'kebutuhan_harian', '35.78.03', \
           '35.78.03.1001', 'sabun sereh toko sri', $2, $2)",
        vec![true.into(), now.into()],
    )
    .await;
    let second = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO listings (id, merchant_id, product_id, price, stock, active, category, \
               kecamatan_code, kelurahan_code, search_text, created_at, updated_at) \
             VALUES ('l3', 'm1', 'p2', 5000, 0, $1, 'x', 'x', 'x', 'x', $2, $2)",
            [true.into(), now.into()],
        ))
        .await;
    assert!(second.is_err(), "a second listing of one product");
    // Foreign keys still guard the rebuilt tables.
    let orphan = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "INSERT INTO stock_movements (id, listing_id, kind, quantity_delta, units, \
               stock_after, created_at) VALUES ('s9', 'nope', 'restock', 1, 1, 1, $1)",
            [now.into()],
        ))
        .await;
    assert!(orphan.is_err(), "a movement of no listing");
    let bad_commodity = db
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE listings SET commodity_id = 'nope' WHERE id = 'l2'",
            [],
        ))
        .await;
    assert!(bad_commodity.is_err(), "a listing of no commodity");
    if db.get_database_backend() == DbBackend::Sqlite {
        assert_eq!(
            number(db, "SELECT COUNT(*) FROM pragma_foreign_key_check").await,
            0
        );
    }
}

#[tokio::test]
async fn m0018_gives_every_listing_a_product_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("peken-m0018-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = peken_kernel::db::connect(&format!("sqlite://{}/peken.db?mode=rwc", dir.display()), 1)
        .await
        .unwrap();
    upgrade_keeps_what_sells(&db).await;
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn m0018_gives_every_listing_a_product_on_postgres() {
    let Ok(server) = std::env::var("PEKEN_TEST_DATABASE_URL") else {
        eprintln!("PEKEN_TEST_DATABASE_URL unset: the PostgreSQL pass runs this");
        return;
    };
    let scratch = ScratchDatabase::create(&server, "m0018").await.unwrap();
    let db = peken_kernel::db::connect(&scratch.url, 2).await.unwrap();
    upgrade_keeps_what_sells(&db).await;
}
