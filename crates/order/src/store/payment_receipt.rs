use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_receipts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub payment_id: String,
    pub provider_reference: String,
    pub amount: i64,
    pub paid_at: DateTimeUtc,
    pub outcome: String,
    pub created_at: DateTimeUtc,
    /// `callback`, `statement` or `manual`: what recorded the arrival first.
    pub source: String,
    /// The statement credit that confirms this arrival.
    pub statement_line_id: Option<String>,
    /// A provider's callback that arrived after the statement had recorded the money.
    pub callback_reference: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
