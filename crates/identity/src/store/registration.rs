use sea_orm::entity::prelude::*;

/// A public registration waiting for its e-mail confirmation; not yet a user.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "registrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// SHA-256 of the mailed code.
    pub token_hash: String,
    /// Raw NIK digits; never logged.
    pub nik: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub password_hash: String,
    pub kelurahan_code: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
