//! The programme's own reports and a shop moving up a class (*naik kelas*).
//!
//! - A camat user reads one kecamatan (`users.kecamatan_code`).
//! - The last sale of every shop is read from `orders` by `(merchant_id, paid_at)`.
//! - A shop may register while still getting its NIB: `merchants.nib` becomes optional and
//!   `merchants.nib_status` says where it stands (`none`, `in_progress`, `checked`); every shop
//!   registered before is `checked`. Only a `checked` shop sells. SQLite cannot drop a NOT NULL,
//!   so there `merchants` is rebuilt the way m0018 rebuilds its tables.
//! - The profile's signs of moving up: halal certificate, PIRT number, trademark, founding
//!   capital band; and the mentoring the cooperatives office gave (`merchant_mentoring`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{text, text_null, timestamp_with_time_zone};
use sea_orm_migration::sea_orm::DbBackend;

use crate::m0001_identity::index;
use crate::m0018_products::sqlite_drop_not_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(text_null("kecamatan_code"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_orders_merchant_paid",
            "orders",
            &["merchant_id", "paid_at"],
        )
        .await?;

        // SQLite alters one column a statement.
        for column in [
            text("nib_status").default("checked").to_owned(),
            text_null("halal_number"),
            text_null("pirt_number"),
            text_null("trademark_name"),
            text_null("trademark_number"),
            text_null("capital_band"),
        ] {
            m.alter_table(
                Table::alter()
                    .table("merchants")
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        let conn = m.get_connection();
        if m.get_database_backend() == DbBackend::Sqlite {
            conn.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
            conn.execute_unprepared("BEGIN").await?;
            let rebuilt = sqlite_drop_not_null(conn, "merchants", "nib").await;
            if let Err(e) = rebuilt {
                conn.execute_unprepared("ROLLBACK").await?;
                conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
                return Err(e);
            }
            conn.execute_unprepared("COMMIT").await?;
            conn.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        } else {
            conn.execute_unprepared("ALTER TABLE merchants ALTER COLUMN nib DROP NOT NULL")
                .await?;
        }

        m.create_table(
            Table::create()
                .table("merchant_mentoring")
                .col(text("id").primary_key())
                .col(text("merchant_id"))
                // The WIB date it was given, `YYYY-MM-DD`.
                .col(text("held_on"))
                .col(text("mentor"))
                .col(text("topic"))
                .col(text("recorded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .from("merchant_mentoring", "merchant_id")
                        .to("merchants", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_merchant_mentoring_merchant",
            "merchant_mentoring",
            &["merchant_id", "held_on"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // Shops registered without an NIB have no way back to a required column.
        Err(DbErr::Migration(
            "m0026_programme cannot be reverted: restore a backup instead".to_owned(),
        ))
    }
}
