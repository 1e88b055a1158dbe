//! Regions (the official Kemendagri table), OPDs, users and refresh tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, integer, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

/// The official table, copied from the city's reference data; never typed by hand.
const REGIONS_CSV: &str = include_str!("surabaya_wilayah.csv");

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("regions")
                .col(text("code").primary_key())
                .col(text("level"))
                .col(text("name"))
                .col(text_null("parent_code"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_regions_parent")
                .table("regions")
                .col("parent_code")
                .to_owned(),
        )
        .await?;
        load_regions(m).await?;

        m.create_table(
            Table::create()
                .table("opds")
                .col(text("id").primary_key())
                .col(text("code"))
                .col(text("name"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        unique(m, "ux_opds_code", "opds", &["code"]).await?;

        m.create_table(
            Table::create()
                .table("users")
                .col(text("id").primary_key())
                .col(text("role"))
                .col(text("name"))
                .col(text_null("email"))
                .col(text_null("phone"))
                .col(text_null("nip"))
                .col(text_null("asn_kind"))
                .col(text_null("nik"))
                .col(text("password_hash"))
                .col(text_null("opd_id"))
                .col(text_null("position_class"))
                .col(text_null("domicile_kelurahan_code"))
                .col(text_null("work_kelurahan_code"))
                .col(text_null("merchant_id"))
                .col(text_null("merchant_role"))
                .col(boolean("active").default(true))
                .col(integer("failed_logins").default(0))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_users_opd")
                        .from("users", "opd_id")
                        .to("opds", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "ux_users_email", "users", &["email"]).await?;
        unique(m, "ux_users_nip", "users", &["nip"]).await?;
        unique(m, "ux_users_nik", "users", &["nik"]).await?;
        index(m, "ix_users_opd", "users", &["opd_id"]).await?;
        index(m, "ix_users_merchant", "users", &["merchant_id"]).await?;
        index(m, "ix_users_role", "users", &["role"]).await?;

        m.create_table(
            Table::create()
                .table("refresh_tokens")
                .col(text("id").primary_key())
                .col(text("user_id"))
                .col(text("family_id"))
                .col(text("token_hash"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("spent_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_refresh_tokens_user")
                        .from("refresh_tokens", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_refresh_tokens_hash",
            "refresh_tokens",
            &["token_hash"],
        )
        .await?;
        index(
            m,
            "ix_refresh_tokens_family",
            "refresh_tokens",
            &["family_id"],
        )
        .await?;

        // Small key-value store for instance-wide facts (e.g. generated secrets' fingerprints)
        // and policy switches that admins change at run time.
        m.create_table(
            Table::create()
                .table("settings")
                .col(text("key").primary_key())
                .col(text("value"))
                .col(big_integer("version").default(0))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["settings", "refresh_tokens", "users", "opds", "regions"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn load_regions(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut reader = csv::Reader::from_reader(REGIONS_CSV.as_bytes());
    let mut insert = Query::insert()
        .into_table("regions")
        .columns(["code", "level", "name", "parent_code"])
        .to_owned();
    for record in reader.records() {
        let record = record.map_err(|e| DbErr::Migration(format!("regions csv: {e}")))?;
        let field = |i: usize| record.get(i).unwrap_or_default().to_owned();
        let parent = Some(field(3)).filter(|p| !p.is_empty());
        insert
            .values([
                field(0).into(),
                field(1).into(),
                field(2).into(),
                parent.into(),
            ])
            .map_err(|e| DbErr::Migration(format!("regions insert: {e}")))?;
    }
    m.exec_stmt(insert).await
}

pub async fn unique(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut idx = Index::create().name(name).table(table).unique().to_owned();
    for col in cols {
        idx.col(*col);
    }
    m.create_index(idx).await
}

pub async fn index(
    m: &SchemaManager<'_>,
    name: &str,
    table: &'static str,
    cols: &[&'static str],
) -> Result<(), DbErr> {
    let mut idx = Index::create().name(name).table(table).to_owned();
    for col in cols {
        idx.col(*col);
    }
    m.create_index(idx).await
}
