//! Categories, commodities, merchants, listings, stock movements and month-to-date turnover.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, boolean, integer_null, text, text_null,
    timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Default categories and which merchant kinds may list them (admins can change this).
const CATEGORIES: [(&str, &str); 5] = [
    ("sembako", "Sembilan bahan pokok"),
    ("kebutuhan_harian", "Kebutuhan harian"),
    ("kuliner", "Kuliner"),
    ("kerajinan", "Kerajinan"),
    ("fashion", "Fashion"),
];
const PERMISSIONS: [(&str, &str); 10] = [
    ("toko_kelontong", "sembako"),
    ("toko_kelontong", "kebutuhan_harian"),
    ("koperasi", "sembako"),
    ("koperasi", "kebutuhan_harian"),
    ("umkm", "kuliner"),
    ("umkm", "kerajinan"),
    ("umkm", "fashion"),
    ("umkm", "kebutuhan_harian"),
    ("padat_karya", "kuliner"),
    ("padat_karya", "kebutuhan_harian"),
];
const PADAT_KARYA_EXTRA: [(&str, &str); 2] =
    [("padat_karya", "kerajinan"), ("padat_karya", "fashion")];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("categories")
                .col(text("code").primary_key())
                .col(text("name"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("category_permissions")
                .col(text("merchant_kind"))
                .col(text("category"))
                .primary_key(Index::create().col("merchant_kind").col("category"))
                .to_owned(),
        )
        .await?;
        let mut insert = Query::insert()
            .into_table("categories")
            .columns(["code", "name"])
            .to_owned();
        for (code, name) in CATEGORIES {
            insert
                .values([code.into(), name.into()])
                .map_err(|e| DbErr::Migration(e.to_string()))?;
        }
        m.exec_stmt(insert).await?;
        let mut insert = Query::insert()
            .into_table("category_permissions")
            .columns(["merchant_kind", "category"])
            .to_owned();
        for (kind, category) in PERMISSIONS.into_iter().chain(PADAT_KARYA_EXTRA) {
            insert
                .values([kind.into(), category.into()])
                .map_err(|e| DbErr::Migration(e.to_string()))?;
        }
        m.exec_stmt(insert).await?;

        m.create_table(
            Table::create()
                .table("commodities")
                .col(text("id").primary_key())
                .col(text("name"))
                .col(text("category"))
                .col(text("unit"))
                .col(big_integer_null("het_price"))
                .col(integer_null("max_qty_per_buyer_per_day"))
                .col(boolean("active").default(true))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_commodities_category")
                        .from("commodities", "category")
                        .to("categories", "code"),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "ux_commodities_name", "commodities", &["name"]).await?;

        m.create_table(
            Table::create()
                .table("merchants")
                .col(text("id").primary_key())
                .col(text("name"))
                .col(text("kind"))
                .col(text("nib"))
                .col(text("owner_nik"))
                .col(text_null("npwp"))
                .col(boolean("mbr").default(false))
                .col(text("kelurahan_code"))
                .col(text("kecamatan_code"))
                .col(text("address"))
                .col(text("bank_code"))
                .col(text("account_number"))
                .col(text("account_name"))
                .col(text("status"))
                .col(text_null("status_reason"))
                .col(timestamp_with_time_zone_null("verified_at"))
                .col(text_null("verified_by"))
                .col(text("owner_user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_merchants_kelurahan")
                        .from("merchants", "kelurahan_code")
                        .to("regions", "code"),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "ux_merchants_nib", "merchants", &["nib"]).await?;
        index(m, "ix_merchants_status", "merchants", &["status"]).await?;
        index(
            m,
            "ix_merchants_kecamatan",
            "merchants",
            &["kecamatan_code"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("listings")
                .col(text("id").primary_key())
                .col(text("merchant_id"))
                .col(text("commodity_id"))
                .col(big_integer("price"))
                // Units available for sale: on hand minus reserved. Never below zero.
                .col(big_integer("stock").check(Expr::col("stock").gte(0)))
                .col(boolean("active").default(true))
                .col(timestamp_with_time_zone_null("taken_down_at"))
                .col(text_null("takedown_reason"))
                .col(text_null("taken_down_by"))
                // Copied from the merchant and commodity so browsing filters one table.
                .col(text("category"))
                .col(text("kecamatan_code"))
                .col(text("kelurahan_code"))
                .col(text("search_text"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_listings_merchant")
                        .from("listings", "merchant_id")
                        .to("merchants", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_listings_commodity")
                        .from("listings", "commodity_id")
                        .to("commodities", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_listings_merchant_commodity",
            "listings",
            &["merchant_id", "commodity_id"],
        )
        .await?;
        index(m, "ix_listings_commodity", "listings", &["commodity_id"]).await?;
        index(
            m,
            "ix_listings_kecamatan_category",
            "listings",
            &["kecamatan_code", "category"],
        )
        .await?;
        index(m, "ix_listings_kelurahan", "listings", &["kelurahan_code"]).await?;
        index(m, "ix_listings_category", "listings", &["category"]).await?;

        m.create_table(
            Table::create()
                .table("stock_movements")
                .col(text("id").primary_key())
                .col(text("listing_id"))
                // restock | adjustment | reservation | release | sale
                .col(text("kind"))
                // Effect on the listing's available stock; the stock is the sum of these.
                .col(big_integer("quantity_delta"))
                // Units the movement concerns (a sale converts reserved units: delta 0).
                .col(big_integer("units"))
                .col(big_integer("stock_after"))
                .col(text_null("reference_type"))
                .col(text_null("reference_id"))
                .col(text_null("note"))
                .col(text_null("actor_id"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_stock_movements_listing")
                        .from("stock_movements", "listing_id")
                        .to("listings", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_stock_movements_listing",
            "stock_movements",
            &["listing_id", "created_at"],
        )
        .await?;
        index(
            m,
            "ix_stock_movements_reference",
            "stock_movements",
            &["reference_id"],
        )
        .await?;

        // Month-to-date turnover per merchant and WIB month, kept in the payment transaction;
        // the cap and fair browse ordering read it.
        m.create_table(
            Table::create()
                .table("merchant_turnover")
                .col(text("merchant_id"))
                .col(text("period"))
                .col(big_integer("gross_amount").default(0))
                .col(big_integer("order_count").default(0))
                .primary_key(Index::create().col("merchant_id").col("period"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_merchant_turnover_period",
            "merchant_turnover",
            &["period", "gross_amount"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "merchant_turnover",
            "stock_movements",
            "listings",
            "merchants",
            "commodities",
            "category_permissions",
            "categories",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
