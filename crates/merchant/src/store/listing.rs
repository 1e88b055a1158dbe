use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "listings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub merchant_id: String,
    /// The product's commodity when it is a staple (a copy: daily limits and the HET use it).
    pub commodity_id: Option<String>,
    pub product_id: String,
    pub price: i64,
    /// Units available for sale (on hand minus reserved); the sum of the listing's movements.
    pub stock: i64,
    pub active: bool,
    pub taken_down_at: Option<DateTimeUtc>,
    pub takedown_reason: Option<String>,
    pub taken_down_by: Option<String>,
    pub category: String,
    pub kecamatan_code: String,
    pub kelurahan_code: String,
    /// Lowercased product name and description and merchant name, for browse search.
    pub search_text: String,
    /// The merchant is alerted when `stock` falls to or below it; `None`: no alert.
    pub low_stock_threshold: Option<i64>,
    /// When the low-stock worker last alerted; cleared once the stock is above the threshold
    /// again, so each fall below it alerts once.
    pub low_stock_alerted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
