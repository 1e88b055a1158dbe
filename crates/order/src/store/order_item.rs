use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub order_id: String,
    pub listing_id: String,
    /// The commodity of a staple: its daily limit counted this line.
    pub commodity_id: Option<String>,
    pub product_id: Option<String>,
    pub name: String,
    pub unit: String,
    /// The quantity ordered.
    pub quantity: i64,
    /// Units of `quantity` the shop could not supply (accepted: `quantity - short_quantity`).
    pub short_quantity: i64,
    pub price: i64,
    pub line_total: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
