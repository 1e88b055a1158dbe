//! What a buyer keeps between purchases: an address book, favourite listings, and on each
//! delivery order a copy of the address it was sent to (so editing or deleting an address later
//! does not rewrite where past orders went), and e-mail changes waiting for confirmation.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    boolean, double_null, text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("addresses")
                .col(text("id").primary_key())
                .col(text("user_id"))
                .col(text("label"))
                .col(text("recipient"))
                .col(text("phone"))
                .col(text("kelurahan_code"))
                .col(text("street"))
                .col(text_null("notes"))
                .col(double_null("latitude"))
                .col(double_null("longitude"))
                .col(boolean("is_default"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_addresses_user")
                        .from("addresses", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_addresses_user", "addresses", &["user_id", "id"]).await?;

        m.create_table(
            Table::create()
                .table("favourites")
                .col(text("user_id"))
                .col(text("listing_id"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("user_id").col("listing_id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_favourites_user")
                        .from("favourites", "user_id")
                        .to("users", "id"),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_favourites_listing")
                        .from("favourites", "listing_id")
                        .to("listings", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_favourites_user_created",
            "favourites",
            &["user_id", "created_at", "listing_id"],
        )
        .await?;

        // A change of e-mail address waits here until the code mailed to the new address is
        // entered; the code is stored only as its SHA-256.
        m.create_table(
            Table::create()
                .table("email_changes")
                .col(text("id").primary_key())
                .col(text("user_id"))
                .col(text("new_email"))
                .col(text("token_hash"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_email_changes_user")
                        .from("email_changes", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_email_changes_token",
            "email_changes",
            &["token_hash"],
        )
        .await?;
        index(m, "ix_email_changes_user", "email_changes", &["user_id"]).await?;

        // JSON of the address the order is delivered to, as it was at checkout.
        m.alter_table(
            Table::alter()
                .table("orders")
                .add_column(text_null("delivery_address"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("orders")
                .drop_column("delivery_address")
                .to_owned(),
        )
        .await?;
        m.drop_table(Table::drop().table("email_changes").to_owned())
            .await?;
        m.drop_table(Table::drop().table("favourites").to_owned())
            .await?;
        m.drop_table(Table::drop().table("addresses").to_owned())
            .await
    }
}
