//! Why a posting was refused.

use peken_kernel::ApiError;
use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The entries do not sum to zero: a bug in the caller, never the client's fault.
    #[error("transaction {key} does not balance: its entries sum to {sum}")]
    Unbalanced { key: String, sum: i128 },
    #[error("transaction {key} has a zero entry on {account}")]
    ZeroEntry { key: String, account: String },
    #[error("invalid natural key or account: {0:?}")]
    InvalidKey(String),
    /// An amount the caller passed is not acceptable (negative, or parts exceeding the whole).
    #[error("invalid amount: {0}")]
    InvalidAmount(&'static str),
    /// The posting would take an account below its floor, e.g. a merchant payable below zero.
    #[error("insufficient balance on {account}")]
    InsufficientBalance { account: String },
    #[error("the transaction was reversed already")]
    AlreadyReversed,
    #[error("the transaction cannot be reversed: {0}")]
    NotReversible(&'static str),
    #[error("no such transaction")]
    NotFound,
    #[error("amount overflow")]
    Overflow,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl LedgerError {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::Unbalanced { .. } => "ledger_unbalanced",
            LedgerError::ZeroEntry { .. } => "ledger_zero_entry",
            LedgerError::InvalidKey(_) => "ledger_invalid_key",
            LedgerError::InvalidAmount(_) => "invalid_amount",
            LedgerError::InsufficientBalance { .. } => "insufficient_balance",
            LedgerError::AlreadyReversed => "already_reversed",
            LedgerError::NotReversible(_) => "not_reversible",
            LedgerError::NotFound => "not_found",
            LedgerError::Overflow => "amount_overflow",
            LedgerError::Db(_) => "database_error",
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(err: LedgerError) -> Self {
        match err {
            LedgerError::InsufficientBalance { ref account } => {
                ApiError::conflict("insufficient_balance", format!("{err}"))
                    .with_context(serde_json::json!({ "account": account }))
            }
            LedgerError::AlreadyReversed => ApiError::conflict("already_reversed", err.to_string()),
            LedgerError::NotReversible(_) => ApiError::conflict("not_reversible", err.to_string()),
            LedgerError::InvalidAmount(_) => {
                ApiError::unprocessable("invalid_amount", err.to_string())
            }
            LedgerError::NotFound => ApiError::not_found("ledger transaction"),
            LedgerError::Db(db) => db.into(),
            // The rest are programming errors of the caller: an opaque 500 with the cause logged.
            other => ApiError::internal(other),
        }
    }
}
