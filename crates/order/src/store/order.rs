use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub checkout_id: String,
    pub payment_id: String,
    pub buyer_id: String,
    pub buyer_role: String,
    pub merchant_id: String,
    pub status: String,
    /// What the buyer paid for the order.
    pub total_amount: i64,
    /// What the units the shop could not supply cost; refunded at acceptance. The shop is owed
    /// `total_amount - short_amount`.
    pub short_amount: i64,
    pub fulfilment_method: String,
    pub address: Option<String>,
    /// JSON of the `DeliveryAddress` copied from the buyer's address book at checkout.
    pub delivery_address: Option<String>,
    pub paid_at: Option<DateTimeUtc>,
    pub paid_period: Option<String>,
    pub accepted_at: Option<DateTimeUtc>,
    pub shipped_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub refunded_at: Option<DateTimeUtc>,
    pub status_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// What the buyer paid for the goods the shop supplies: the total less the shortfall
    /// refunded at acceptance. Completion pays the shop this, and a later whole refund returns
    /// this (the shortfall went back already).
    pub fn supplied_amount(&self) -> i64 {
        self.total_amount - self.short_amount
    }
}
