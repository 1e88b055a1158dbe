use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub role: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub nip: Option<String>,
    pub asn_kind: Option<String>,
    /// Raw NIK digits; masked in every response and never logged.
    pub nik: Option<String>,
    pub password_hash: String,
    pub opd_id: Option<String>,
    pub position_class: Option<String>,
    pub domicile_kelurahan_code: Option<String>,
    pub work_kelurahan_code: Option<String>,
    pub merchant_id: Option<String>,
    pub merchant_role: Option<String>,
    /// A camat's kecamatan (`35.78.KK`): the one whose reports and shops it reads.
    pub kecamatan_code: Option<String>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
