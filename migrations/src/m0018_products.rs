//! Products a merchant owns, their photos, and the shop's profile.
//!
//! A listing used to sell an admin's commodity; it now sells one of the merchant's products, and
//! a product names a commodity only when it is one (a staple: the HET and the daily limits come
//! from it). Every existing listing gets an approved product made from its commodity, with the
//! listing's id as the product's id, so the listing, its orders and its movements keep working.
//! `listings.commodity_id` and `order_items.commodity_id` become optional (a batik has none);
//! SQLite cannot drop a NOT NULL, so there the two tables are rebuilt as SQLite documents it
//! (foreign keys off, copy, swap, indexes back, foreign key check).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer_null, boolean, integer, integer_null, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("products")
                .col(text("id").primary_key())
                .col(text("merchant_id"))
                .col(text("name"))
                .col(text("description").default(""))
                .col(text("category"))
                .col(text("unit"))
                .col(big_integer_null("net_weight_g"))
                .col(big_integer_null("net_volume_ml"))
                .col(text_null("barcode"))
                .col(text_null("commodity_id"))
                // `pending` until an admin approves the product, then `approved`; `rejected` with
                // a reason the merchant sees. Only an approved product sells.
                .col(text("status"))
                .col(text_null("rejection_reason"))
                // A change to an approved product waits here (JSON of the new fields) while the
                // approved version keeps selling; `change_status` is `pending` or `rejected`.
                .col(text_null("proposed"))
                .col(text_null("change_status"))
                .col(text_null("change_reason"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(timestamp_with_time_zone_null("moderated_at"))
                .col(text_null("moderated_by"))
                // Lowercased name and description, for search.
                .col(text("search_text"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_products_merchant")
                        .from("products", "merchant_id")
                        .to("merchants", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_products_commodity")
                        .from("products", "commodity_id")
                        .to("commodities", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_products_merchant",
            "products",
            &["merchant_id", "id"],
        )
        .await?;
        index(m, "ix_products_status", "products", &["status", "id"]).await?;
        index(
            m,
            "ix_products_change_status",
            "products",
            &["change_status", "id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("product_images")
                .col(text("id").primary_key())
                .col(text("product_id"))
                .col(integer("position"))
                .col(integer("width"))
                .col(integer("height"))
                // The stored sizes: JSON `[{width, height, key, bytes}]`, smallest first.
                .col(text("renditions"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_product_images_product")
                        .from("product_images", "product_id")
                        .to("products", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_product_images_product",
            "product_images",
            &["product_id", "position"],
        )
        .await?;

        // The shop's profile, shown to buyers.
        for column in [
            text_null("photo"),
            text_null("phone"),
            text_null("description"),
            text_null("opening_hours"),
            boolean("pickup").default(true).to_owned(),
            integer_null("delivery_radius_m"),
            big_integer_null("delivery_fee"),
        ] {
            m.alter_table(
                Table::alter()
                    .table("merchants")
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }

        let backend = m.get_database_backend();
        let conn = m.get_connection();
        if backend == DbBackend::Sqlite {
            conn.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
            conn.execute_unprepared("BEGIN").await?;
            let rebuilt = async {
                sqlite_drop_not_null(conn, "listings", "commodity_id").await?;
                sqlite_drop_not_null(conn, "order_items", "commodity_id").await
            }
            .await;
            if let Err(e) = rebuilt {
                conn.execute_unprepared("ROLLBACK").await?;
                conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
                return Err(e);
            }
            conn.execute_unprepared("COMMIT").await?;
            conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        } else {
            conn.execute_unprepared(
                "ALTER TABLE listings ALTER COLUMN commodity_id DROP NOT NULL; \
                 ALTER TABLE order_items ALTER COLUMN commodity_id DROP NOT NULL",
            )
            .await?;
        }

        m.alter_table(
            Table::alter()
                .table("listings")
                .add_column(text_null("product_id"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("order_items")
                .add_column(text_null("product_id"))
                .to_owned(),
        )
        .await?;

        // Every listing sells a product of its own commodity, approved as the commodity was.
        conn.execute_unprepared(
            "INSERT INTO products (id, merchant_id, name, description, category, unit, \
               net_weight_g, net_volume_ml, barcode, commodity_id, status, rejection_reason, \
               proposed, change_status, change_reason, submitted_at, moderated_at, moderated_by, \
               search_text, created_at, updated_at) \
             SELECT l.id, l.merchant_id, c.name, '', c.category, c.unit, NULL, NULL, NULL, c.id, \
               'approved', NULL, NULL, NULL, NULL, l.created_at, l.created_at, NULL, \
               LOWER(c.name), l.created_at, l.updated_at \
             FROM listings l JOIN commodities c ON c.id = l.commodity_id",
        )
        .await?;
        conn.execute_unprepared("UPDATE listings SET product_id = id")
            .await?;
        conn.execute_unprepared(
            "UPDATE order_items SET product_id = listing_id \
             WHERE listing_id IN (SELECT id FROM listings)",
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ux_listings_merchant_commodity")
                .table("listings")
                .to_owned(),
        )
        .await?;
        // One listing per product: its price and stock.
        unique(m, "ux_listings_product", "listings", &["product_id"]).await?;
        index(
            m,
            "ix_listings_merchant",
            "listings",
            &["merchant_id", "id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Listings of products without a commodity have no way back.
        Err(DbErr::Migration(
            "m0018_products cannot be reverted: restore a backup instead".to_owned(),
        ))
    }
}

/// SQLite's way to drop a NOT NULL: a new table from the old one's definition without it, the
/// rows copied, the old table dropped, the new one renamed, the indexes made again. Runs inside
/// the caller's transaction with foreign keys off; checks them before it returns.
pub(crate) async fn sqlite_drop_not_null<C: ConnectionTrait>(
    conn: &C,
    table: &str,
    column: &str,
) -> Result<(), DbErr> {
    let found = |sql: &str, name: &str| {
        Statement::from_sql_and_values(DbBackend::Sqlite, sql, [name.into()])
    };
    let Some(row) = conn
        .query_one_raw(found(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
            table,
        ))
        .await?
    else {
        return Err(DbErr::Migration(format!("no table {table}")));
    };
    let create: String = row.try_get_by_index(0)?;
    let definition = format!("\"{column}\" text NOT NULL");
    if !create.contains(&definition) {
        return Err(DbErr::Migration(format!(
            "{table}.{column} is not defined as expected: {create}"
        )));
    }
    let new_table = format!("{table}__rebuilt");
    let create = create
        .replacen(&definition, &format!("\"{column}\" text"), 1)
        .replacen(&format!("\"{table}\""), &format!("\"{new_table}\""), 1);
    let indexes: Vec<String> = conn
        .query_all_raw(found(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? \
             AND sql IS NOT NULL",
            table,
        ))
        .await?
        .into_iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
    conn.execute_unprepared(&create).await?;
    conn.execute_unprepared(&format!(
        "INSERT INTO \"{new_table}\" SELECT * FROM \"{table}\""
    ))
    .await?;
    conn.execute_unprepared(&format!("DROP TABLE \"{table}\""))
        .await?;
    conn.execute_unprepared(&format!(
        "ALTER TABLE \"{new_table}\" RENAME TO \"{table}\""
    ))
    .await?;
    for sql in indexes {
        conn.execute_unprepared(&sql).await?;
    }
    let broken = conn
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA foreign_key_check",
        ))
        .await?;
    if !broken.is_empty() {
        return Err(DbErr::Migration(format!(
            "{} rows break a foreign key after rebuilding {table}",
            broken.len()
        )));
    }
    Ok(())
}
