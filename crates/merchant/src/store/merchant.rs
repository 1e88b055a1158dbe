use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "merchants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    /// `toko_kelontong`, `umkm`, `koperasi` or `padat_karya`.
    pub kind: String,
    /// The 13-digit NIB; absent while the shop is still getting it.
    pub nib: Option<String>,
    /// `none`, `in_progress` or `checked`: only a shop whose NIB the cooperatives office
    /// checked sells.
    pub nib_status: String,
    pub halal_number: Option<String>,
    pub pirt_number: Option<String>,
    pub trademark_name: Option<String>,
    pub trademark_number: Option<String>,
    /// Founding-capital band (PP 7/2021): `mikro`, `kecil` or `menengah`.
    pub capital_band: Option<String>,
    /// Raw NIK digits of the owner; masked in every response and never logged.
    pub owner_nik: String,
    pub npwp: Option<String>,
    pub mbr: bool,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
    pub address: String,
    pub bank_code: String,
    pub account_number: String,
    pub account_name: String,
    /// `pending`, `active`, `rejected` or `suspended`.
    pub status: String,
    pub status_reason: Option<String>,
    pub verified_at: Option<DateTimeUtc>,
    pub verified_by: Option<String>,
    pub owner_user_id: String,
    /// After a change of bank account: payouts to it wait until then, unless an admin confirms
    /// it first (then `None`).
    pub bank_account_hold_until: Option<DateTimeUtc>,
    pub bank_account_confirmed_by: Option<String>,
    /// The shop's photo: JSON `[{width, height, key, bytes}]` as stored, smallest first.
    pub photo: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    /// JSON `[{day, opens, closes}]`, day 1 = Monday.
    pub opening_hours: Option<String>,
    pub pickup: bool,
    /// Delivery within this many metres of the shop, when it delivers.
    pub delivery_radius_m: Option<i32>,
    pub delivery_fee: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
