//! The tables the generator writes and the columns it fills, in the order rows are flushed:
//! every table comes after the tables its foreign keys point to.

use super::sink::Table;

pub static OPDS: Table = Table {
    name: "opds",
    columns: &["id", "code", "name", "created_at"],
};

pub static USERS: Table = Table {
    name: "users",
    columns: &[
        "id",
        "role",
        "name",
        "email",
        "phone",
        "nip",
        "asn_kind",
        "nik",
        "password_hash",
        "opd_id",
        "position_class",
        "domicile_kelurahan_code",
        "work_kelurahan_code",
        "merchant_id",
        "merchant_role",
        "active",
        "created_at",
        "updated_at",
    ],
};

pub static ASN_OPD_HISTORY: Table = Table {
    name: "asn_opd_history",
    columns: &["user_id", "opd_id", "valid_from"],
};

pub static MANDATE_POLICIES: Table = Table {
    name: "mandate_policies",
    columns: &[
        "position_class",
        "effective_from",
        "min_amount",
        "set_by",
        "updated_at",
    ],
};

pub static COMMODITIES: Table = Table {
    name: "commodities",
    columns: &[
        "id",
        "name",
        "category",
        "unit",
        "het_price",
        "max_qty_per_buyer_per_day",
        "active",
        "created_at",
        "updated_at",
    ],
};

pub static MERCHANTS: Table = Table {
    name: "merchants",
    columns: &[
        "id",
        "name",
        "kind",
        "nib",
        "owner_nik",
        "npwp",
        "mbr",
        "kelurahan_code",
        "kecamatan_code",
        "address",
        "bank_code",
        "account_number",
        "account_name",
        "status",
        "verified_at",
        "verified_by",
        "owner_user_id",
        "created_at",
        "updated_at",
    ],
};

pub static PRODUCTS: Table = Table {
    name: "products",
    columns: &[
        "id",
        "merchant_id",
        "name",
        "description",
        "category",
        "unit",
        "commodity_id",
        "status",
        "submitted_at",
        "moderated_at",
        "search_text",
        "created_at",
        "updated_at",
    ],
};

pub static PRODUCT_IMAGES: Table = Table {
    name: "product_images",
    columns: &[
        "id",
        "product_id",
        "position",
        "width",
        "height",
        "renditions",
        "created_at",
    ],
};

pub static LISTINGS: Table = Table {
    name: "listings",
    columns: &[
        "id",
        "merchant_id",
        "product_id",
        "commodity_id",
        "price",
        "stock",
        "active",
        "category",
        "kecamatan_code",
        "kelurahan_code",
        "search_text",
        "created_at",
        "updated_at",
    ],
};

pub static LEDGER_ACCOUNTS: Table = Table {
    name: "ledger_accounts",
    columns: &["code", "kind", "merchant_id", "floor_sign", "balance"],
};

pub static PAYMENTS: Table = Table {
    name: "payments",
    columns: &[
        "id",
        "checkout_id",
        "buyer_id",
        "method",
        "amount",
        "status",
        "va_number",
        "qris_payload",
        "expires_at",
        "provider_reference",
        "paid_at",
        "confirmed_at",
        "proof_status",
        "created_at",
        "updated_at",
    ],
};

pub static PAYMENT_RECEIPTS: Table = Table {
    name: "payment_receipts",
    columns: &[
        "id",
        "payment_id",
        "provider_reference",
        "amount",
        "paid_at",
        "outcome",
        "created_at",
    ],
};

pub static ORDERS: Table = Table {
    name: "orders",
    columns: &[
        "id",
        "checkout_id",
        "payment_id",
        "buyer_id",
        "buyer_role",
        "merchant_id",
        "status",
        "total_amount",
        "fulfilment_method",
        "address",
        "paid_at",
        "paid_period",
        "accepted_at",
        "shipped_at",
        "completed_at",
        "created_at",
        "updated_at",
    ],
};

pub static ORDER_ITEMS: Table = Table {
    name: "order_items",
    columns: &[
        "id",
        "order_id",
        "listing_id",
        "product_id",
        "commodity_id",
        "name",
        "unit",
        "quantity",
        "price",
        "line_total",
    ],
};

pub static ORDER_EVENTS: Table = Table {
    name: "order_events",
    columns: &[
        "id",
        "order_id",
        "from_status",
        "to_status",
        "actor_id",
        "actor_role",
        "note",
        "created_at",
    ],
};

pub static STOCK_MOVEMENTS: Table = Table {
    name: "stock_movements",
    columns: &[
        "id",
        "listing_id",
        "kind",
        "quantity_delta",
        "units",
        "stock_after",
        "reference_type",
        "reference_id",
        "note",
        "actor_id",
        "created_at",
    ],
};

pub static LEDGER_TRANSACTIONS: Table = Table {
    name: "ledger_transactions",
    columns: &[
        "id",
        "natural_key",
        "kind",
        "occurred_at",
        "period",
        "order_id",
        "merchant_id",
        "payment_id",
        "amount",
        "turnover_amount",
        "recorded_at",
    ],
};

pub static LEDGER_ENTRIES: Table = Table {
    name: "ledger_entries",
    columns: &[
        "txn_id",
        "line_no",
        "account",
        "account_kind",
        "merchant_id",
        "amount",
        "occurred_at",
    ],
};

pub static PAYABLE_MOVEMENTS: Table = Table {
    name: "ledger_payable_movements",
    columns: &[
        "txn_id",
        "merchant_id",
        "seq",
        "kind",
        "amount",
        "occurred_at",
        "receipt_at",
    ],
};

pub static MERCHANT_TURNOVER: Table = Table {
    name: "merchant_turnover",
    columns: &["merchant_id", "period", "gross_amount", "order_count"],
};

pub static TURNOVER_YEARS: Table = Table {
    name: "turnover_years",
    columns: &["merchant_id", "year", "amount"],
};

pub static ASN_MONTHLY_SPEND: Table = Table {
    name: "asn_monthly_spend",
    columns: &["user_id", "period", "spent_amount"],
};

/// Every table, parents before children.
pub fn all() -> Vec<&'static Table> {
    vec![
        &OPDS,
        &USERS,
        &ASN_OPD_HISTORY,
        &MANDATE_POLICIES,
        &COMMODITIES,
        &MERCHANTS,
        &PRODUCTS,
        &PRODUCT_IMAGES,
        &LISTINGS,
        &LEDGER_ACCOUNTS,
        &PAYMENTS,
        &PAYMENT_RECEIPTS,
        &ORDERS,
        &ORDER_ITEMS,
        &ORDER_EVENTS,
        &STOCK_MOVEMENTS,
        &LEDGER_TRANSACTIONS,
        &LEDGER_ENTRIES,
        &PAYABLE_MOVEMENTS,
        &MERCHANT_TURNOVER,
        &TURNOVER_YEARS,
        &ASN_MONTHLY_SPEND,
    ]
}
