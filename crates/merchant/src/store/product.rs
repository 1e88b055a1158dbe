use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub merchant_id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub unit: String,
    pub net_weight_g: Option<i64>,
    pub net_volume_ml: Option<i64>,
    pub barcode: Option<String>,
    /// The commodity a staple is: its HET and daily limits apply.
    pub commodity_id: Option<String>,
    /// `pending`, `approved` or `rejected`: the moderation of the fields above.
    pub status: String,
    pub rejection_reason: Option<String>,
    /// A change to an approved product awaiting moderation (JSON of the new fields).
    pub proposed: Option<String>,
    /// `pending` or `rejected` while `proposed` is set.
    pub change_status: Option<String>,
    pub change_reason: Option<String>,
    pub submitted_at: DateTimeUtc,
    pub moderated_at: Option<DateTimeUtc>,
    pub moderated_by: Option<String>,
    /// Lowercased name and description, for search.
    pub search_text: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
