//! The audit log keeps the client's `X-Request-Id` beside the server's own request id: the id
//! the audit log calls a request by is always made by the server, and what a client sent is
//! kept only for correlating with the client's logs.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    ClientRequestId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AuditLog::Table)
                .add_column(ColumnDef::new(AuditLog::ClientRequestId).string().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(AuditLog::Table)
                .drop_column(AuditLog::ClientRequestId)
                .to_owned(),
        )
        .await
    }
}
