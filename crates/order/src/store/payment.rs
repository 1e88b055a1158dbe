use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub checkout_id: String,
    pub buyer_id: String,
    pub method: String,
    pub amount: i64,
    pub status: String,
    pub va_number: Option<String>,
    pub qris_payload: Option<String>,
    pub expires_at: DateTimeUtc,
    pub provider_reference: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub confirmed_at: Option<DateTimeUtc>,
    pub proof_status: String,
    pub proof_reference: Option<String>,
    pub proof_paid_at: Option<DateTimeUtc>,
    pub proof_verified_by: Option<String>,
    pub proof_wait_until: Option<DateTimeUtc>,
    pub proof_proposed_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
