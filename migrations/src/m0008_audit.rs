//! The audit log: an append-only hash chain of every admin, treasury and merchant action that
//! changes money, stock, status or policy, and its one-row head.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, text, text_null, timestamp_with_time_zone};

use crate::m0001_identity::index;

/// The hash the first row chains to: 64 zeros, the width of a SHA-256 in hex.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("audit_log")
                // Gap-free position in the chain, handed out by `audit_head`.
                .col(big_integer("seq").primary_key())
                .col(timestamp_with_time_zone("occurred_at"))
                .col(text("actor_id"))
                .col(text("actor_role"))
                .col(text("action"))
                .col(text("subject_type"))
                .col(text("subject_id"))
                // JSON text, hashed exactly as stored (not `jsonb`, which would reorder keys).
                .col(text_null("before_state"))
                .col(text_null("after_state"))
                .col(text_null("request_id"))
                .col(text("prev_hash"))
                .col(text("hash"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_audit_log_subject",
            "audit_log",
            &["subject_type", "subject_id"],
        )
        .await?;
        index(m, "ix_audit_log_actor", "audit_log", &["actor_id"]).await?;

        // One row: the last position and hash. Appending updates it first, which serialises
        // appends (the row lock is held until the appending transaction ends), so concurrent
        // actions still form one chain.
        m.create_table(
            Table::create()
                .table("audit_head")
                .col(integer("id").primary_key())
                .col(big_integer("seq"))
                .col(text("hash"))
                .check(Expr::col("id").eq(1))
                .to_owned(),
        )
        .await?;
        let insert = Query::insert()
            .into_table("audit_head")
            .columns(["id", "seq", "hash"])
            .values([1.into(), 0_i64.into(), GENESIS.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        m.exec_stmt(insert).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["audit_head", "audit_log"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
