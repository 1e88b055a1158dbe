//! Reports from the journal: merchant turnover and UMKM class, the city-wide turnover report,
//! the cash position, the trial balance, the daily close, the payout service level, a merchant's ledger, and the
//! tax-year statement.

mod cash;
pub mod opd_spend;
pub mod programme;
mod tables;
pub mod tax_year;
mod treasury;
mod turnover;

pub use cash::{
    CashDay, CashSeries, CashTotals, MAX_CASH_DAYS, cash_range, cash_series, cash_series_table,
};
pub use tables::{
    alerts_table, batch_items_table, batches_table, daily_close_table, ledger_table, sla_table,
    trial_balance_table,
};
pub use treasury::{
    AccountRow, DailyClose, KindRow, LedgerLine, SlaItem, SlaOutstanding, SlaReport, TrialBalance,
    daily_close, merchant_ledger, record_close, sla, trial_balance,
};
pub use turnover::{
    AlertView, CityRow, CityTurnover, MAX_MONTHS, MerchantTurnover, MonthRow, Totals, UmkmClass,
    city_turnover, city_turnover_table, merchant_turnover, merchant_turnover_table, months_between,
    umkm_class,
};
