//! The posting engine: append transactions and entries, keep balances, refuse what must not be.
//!
//! Callers pass their own database transaction; a posting either writes everything or returns
//! an error, after which the caller's transaction must be rolled back (dropping it does that).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Utc};
use peken_kernel::db::new_id;
use peken_kernel::period::Period;
use sea_orm::{ConnectionTrait, DbBackend, Value};

use crate::account::Account;
use crate::error::LedgerError;
use peken_kernel::sql::{self, CHUNK_ROWS};

/// What kind of event a transaction records. The code is stored in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnKind {
    PaymentConfirmed,
    OrderCompleted,
    Refund,
    RefundPaid,
    PayoutApproved,
    PayoutSettled,
    PayoutFailed,
    Reversal,
    Adjustment,
}

impl TxnKind {
    pub const ALL: [TxnKind; 9] = [
        TxnKind::PaymentConfirmed,
        TxnKind::OrderCompleted,
        TxnKind::Refund,
        TxnKind::RefundPaid,
        TxnKind::PayoutApproved,
        TxnKind::PayoutSettled,
        TxnKind::PayoutFailed,
        TxnKind::Reversal,
        TxnKind::Adjustment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxnKind::PaymentConfirmed => "payment_confirmed",
            TxnKind::OrderCompleted => "order_completed",
            TxnKind::Refund => "refund",
            TxnKind::RefundPaid => "refund_paid",
            TxnKind::PayoutApproved => "payout_approved",
            TxnKind::PayoutSettled => "payout_settled",
            TxnKind::PayoutFailed => "payout_failed",
            TxnKind::Reversal => "reversal",
            TxnKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(code: &str) -> Option<TxnKind> {
        TxnKind::ALL.into_iter().find(|k| k.as_str() == code)
    }
}

/// What a transaction is about, kept on its row for reports and links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    pub order_id: Option<String>,
    pub merchant_id: Option<String>,
    pub payment_id: Option<String>,
    pub payout_item_id: Option<String>,
    /// The transaction this one reverses.
    pub reverses_id: Option<String>,
    /// The headline amount (paid, completed, refunded, paid out), for lists and reports.
    pub amount: i64,
    /// The change to the merchant's gross turnover: the gross at completion, minus refunds of
    /// completed orders. Zero for everything else.
    pub turnover_amount: i64,
    /// When the buyer received the goods, for the payout service level; completions use their
    /// own time when this is absent.
    pub receipt_at: Option<DateTime<Utc>>,
}

/// A transaction to post: entries are `(account, signed amount)`, debits positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransaction {
    /// The natural key, unique in the journal (`order:{id}:completed`).
    pub key: String,
    pub kind: TxnKind,
    pub occurred_at: DateTime<Utc>,
    pub memo: Option<String>,
    pub entries: Vec<(Account, i64)>,
    pub refs: Refs,
}

/// The outcome of a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Written; the new transaction's id.
    New(String),
    /// A transaction with this natural key exists already; nothing was written.
    AlreadyPosted,
}

impl Posted {
    pub fn is_new(&self) -> bool {
        matches!(self, Posted::New(_))
    }
}

/// Cumulative yearly turnover thresholds that raise an alert when crossed: Rp500 million (the
/// individual exemption of PP 55/2022 and PMK 37/2025) and Rp4.8 billion (the ceiling of the
/// final 0.5% regime).
pub const TURNOVER_THRESHOLDS: [i64; 2] = [500_000_000, 4_800_000_000];

const MAX_KEY_LEN: usize = 200;

/// Posts one transaction. See [`post_many`].
pub async fn post<C: ConnectionTrait>(
    conn: &C,
    txn: NewTransaction,
) -> Result<Posted, LedgerError> {
    let mut posted = post_many(conn, vec![txn]).await?;
    Ok(posted.pop().unwrap_or(Posted::AlreadyPosted))
}

/// Posts many transactions with a handful of set-based statements, whatever their number.
///
/// Each transaction must have entries summing to zero, none of them zero. A transaction whose
/// natural key is already in the journal (or earlier in `txns`) is skipped and reported as
/// [`Posted::AlreadyPosted`]. Balances change in the same database transaction, with the
/// accounts locked in the order of their codes; a balance that would cross its floor fails the
/// whole call with [`LedgerError::InsufficientBalance`], and the caller must roll back.
pub async fn post_many<C: ConnectionTrait>(
    conn: &C,
    txns: Vec<NewTransaction>,
) -> Result<Vec<Posted>, LedgerError> {
    for txn in &txns {
        validate(txn)?;
    }
    if txns.is_empty() {
        return Ok(Vec::new());
    }
    let backend = conn.get_database_backend();
    let recorded_at = Utc::now();

    ensure_accounts(conn, &txns).await?;

    // Insert the transaction rows; the unique natural key decides which ones are new.
    let mut seen = HashSet::new();
    let mut ids: Vec<Option<String>> = Vec::with_capacity(txns.len());
    for txn in &txns {
        ids.push(seen.insert(txn.key.as_str()).then(new_id));
    }
    let mut new_keys: HashSet<String> = HashSet::new();
    let candidates: Vec<(usize, &NewTransaction)> = txns
        .iter()
        .enumerate()
        .filter(|(i, _)| ids[*i].is_some())
        .collect();
    for chunk in candidates.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 14);
        for (i, txn) in chunk {
            let period = Period::of(txn.occurred_at).to_string();
            values.extend([
                ids[*i].clone().into(),
                txn.key.clone().into(),
                txn.kind.as_str().into(),
                txn.occurred_at.into(),
                period.into(),
                txn.memo.clone().into(),
                txn.refs.order_id.clone().into(),
                txn.refs.merchant_id.clone().into(),
                txn.refs.payment_id.clone().into(),
                txn.refs.payout_item_id.clone().into(),
                txn.refs.reverses_id.clone().into(),
                txn.refs.amount.into(),
                txn.refs.turnover_amount.into(),
                recorded_at.into(),
            ]);
        }
        let rows = sql::query(
            conn,
            format!(
                "INSERT INTO ledger_transactions (id, natural_key, kind, occurred_at, period, \
                 memo, order_id, merchant_id, payment_id, payout_item_id, reverses_id, amount, \
                 turnover_amount, recorded_at) VALUES {} ON CONFLICT (natural_key) DO NOTHING \
                 RETURNING natural_key",
                sql::values_rows(chunk.len(), 14, 1)
            ),
            values,
        )
        .await
        .map_err(map_reversal_conflict)?;
        for row in rows {
            new_keys.insert(row.try_get_by_index::<String>(0)?);
        }
    }

    let mut posted = Vec::with_capacity(txns.len());
    let mut fresh: Vec<(&str, &NewTransaction)> = Vec::new();
    for (i, txn) in txns.iter().enumerate() {
        match &ids[i] {
            Some(id) if new_keys.contains(&txn.key) => {
                fresh.push((id.as_str(), txn));
                posted.push(Posted::New(id.clone()));
            }
            _ => posted.push(Posted::AlreadyPosted),
        }
    }
    if fresh.is_empty() {
        return Ok(posted);
    }

    insert_entries(conn, &fresh).await?;
    let movements = payable_movements(&fresh)?;
    let seqs = apply_balances(conn, backend, &fresh, &movements).await?;
    insert_movements(conn, &movements, &seqs).await?;
    track_turnover(conn, &fresh).await?;
    Ok(posted)
}

fn validate(txn: &NewTransaction) -> Result<(), LedgerError> {
    if txn.key.trim().is_empty() || txn.key.len() > MAX_KEY_LEN {
        return Err(LedgerError::InvalidKey(txn.key.chars().take(64).collect()));
    }
    if txn.entries.is_empty() {
        return Err(LedgerError::Unbalanced {
            key: txn.key.clone(),
            sum: 0,
        });
    }
    let mut sum: i128 = 0;
    for (account, amount) in &txn.entries {
        if *amount == 0 {
            return Err(LedgerError::ZeroEntry {
                key: txn.key.clone(),
                account: account.code(),
            });
        }
        if account.merchant_id().is_some_and(str::is_empty) {
            return Err(LedgerError::InvalidKey(account.code()));
        }
        sum += i128::from(*amount);
    }
    if sum != 0 {
        return Err(LedgerError::Unbalanced {
            key: txn.key.clone(),
            sum,
        });
    }
    Ok(())
}

/// A second reversal of the same transaction under a different key hits the unique index on
/// `reverses_id`.
fn map_reversal_conflict(err: sea_orm::DbErr) -> LedgerError {
    match peken_kernel::error::unique_violation(&err) {
        Some(msg) if msg.contains("reverses") => LedgerError::AlreadyReversed,
        _ => LedgerError::Db(err),
    }
}

async fn ensure_accounts<C: ConnectionTrait>(
    conn: &C,
    txns: &[NewTransaction],
) -> Result<(), LedgerError> {
    let accounts: BTreeMap<String, &Account> = txns
        .iter()
        .flat_map(|t| t.entries.iter().map(|(a, _)| (a.code(), a)))
        .collect();
    let accounts: Vec<(String, &Account)> = accounts.into_iter().collect();
    for chunk in accounts.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for (code, account) in chunk {
            values.extend([
                code.clone().into(),
                account.kind().into(),
                account.merchant_id().map(str::to_owned).into(),
                account.floor_sign().into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO ledger_accounts (code, kind, merchant_id, floor_sign) VALUES {} \
                 ON CONFLICT (code) DO NOTHING",
                sql::values_rows(chunk.len(), 4, 1)
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

async fn insert_entries<C: ConnectionTrait>(
    conn: &C,
    fresh: &[(&str, &NewTransaction)],
) -> Result<(), LedgerError> {
    let rows: Vec<(&str, usize, &Account, i64, DateTime<Utc>)> = fresh
        .iter()
        .flat_map(|(id, txn)| {
            txn.entries
                .iter()
                .enumerate()
                .map(move |(n, (account, amount))| (*id, n + 1, account, *amount, txn.occurred_at))
        })
        .collect();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for (id, line, account, amount, at) in chunk {
            values.extend([
                (*id).into(),
                (*line as i32).into(),
                account.code().into(),
                account.kind().into(),
                account.merchant_id().map(str::to_owned).into(),
                (*amount).into(),
                (*at).into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO ledger_entries (txn_id, line_no, account, account_kind, \
                 merchant_id, amount, occurred_at) VALUES {}",
                sql::values_rows(chunk.len(), 7, 1)
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// A change of one merchant's payable by one transaction, other than the payout itself.
struct Movement<'a> {
    txn_id: &'a str,
    txn: &'a NewTransaction,
    merchant: String,
    /// Owed to the merchant (+) or taken back (−).
    amount: i64,
}

/// The payable movements of the new transactions, in posting order. A payout approval is not a
/// movement: it is what pays them.
fn payable_movements<'a>(
    fresh: &[(&'a str, &'a NewTransaction)],
) -> Result<Vec<Movement<'a>>, LedgerError> {
    let mut rows = Vec::new();
    for (id, txn) in fresh {
        if txn.kind == TxnKind::PayoutApproved {
            continue;
        }
        let mut per_merchant: BTreeMap<&str, i64> = BTreeMap::new();
        for (account, amount) in &txn.entries {
            if let Account::MerchantPayable(merchant) = account {
                // The payable is credit-normal: a credit (negative) is money owed.
                let owed = per_merchant.entry(merchant.as_str()).or_default();
                *owed = owed.checked_sub(*amount).ok_or(LedgerError::Overflow)?;
            }
        }
        for (merchant, amount) in per_merchant {
            if amount != 0 {
                rows.push(Movement {
                    txn_id: id,
                    txn,
                    merchant: merchant.to_owned(),
                    amount,
                });
            }
        }
    }
    Ok(rows)
}

/// Records the movements, numbered per merchant: the account update returned each merchant's
/// last number, and the merchant's movements of this call take the numbers up to it in order.
async fn insert_movements<C: ConnectionTrait>(
    conn: &C,
    movements: &[Movement<'_>],
    last_seq: &HashMap<String, i64>,
) -> Result<(), LedgerError> {
    let mut count: HashMap<&str, i64> = HashMap::new();
    for m in movements {
        *count.entry(m.merchant.as_str()).or_default() += 1;
    }
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (merchant, n) in &count {
        let code = Account::MerchantPayable((*merchant).to_owned()).code();
        let last = last_seq
            .get(&code)
            .copied()
            .ok_or_else(|| LedgerError::InvalidKey(code.clone()))?;
        next.insert(merchant, last - n + 1);
    }
    for chunk in movements.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 7);
        for m in chunk {
            let receipt = m
                .txn
                .refs
                .receipt_at
                .or((m.txn.kind == TxnKind::OrderCompleted).then_some(m.txn.occurred_at));
            let slot = next.entry(m.merchant.as_str()).or_default();
            let seq = *slot;
            *slot += 1;
            values.extend([
                m.txn_id.into(),
                m.merchant.clone().into(),
                seq.into(),
                m.txn.kind.as_str().into(),
                m.amount.into(),
                m.txn.occurred_at.into(),
                receipt.into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO ledger_payable_movements (txn_id, merchant_id, seq, kind, amount, \
                 occurred_at, receipt_at) VALUES {}",
                sql::values_rows(chunk.len(), 7, 1)
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// Adds each account's net change to its balance with one guarded statement per chunk, after
/// locking the rows in code order so that concurrent postings cannot deadlock. Merchant payables
/// also count their new movements; the new counts are returned by account code.
async fn apply_balances<C: ConnectionTrait>(
    conn: &C,
    backend: DbBackend,
    fresh: &[(&str, &NewTransaction)],
    movements: &[Movement<'_>],
) -> Result<HashMap<String, i64>, LedgerError> {
    let mut deltas: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (_, txn) in fresh {
        for (account, amount) in &txn.entries {
            let delta = deltas.entry(account.code()).or_default();
            delta.0 = delta.0.checked_add(*amount).ok_or(LedgerError::Overflow)?;
        }
    }
    for m in movements {
        deltas
            .entry(Account::MerchantPayable(m.merchant.clone()).code())
            .or_default()
            .1 += 1;
    }
    let deltas: Vec<(String, (i64, i64))> = deltas
        .into_iter()
        .filter(|(_, (d, n))| *d != 0 || *n != 0)
        .collect();
    if backend == DbBackend::Postgres {
        // `NO KEY UPDATE`, not `UPDATE`: the entries inserted just before hold `KEY SHARE`
        // locks on these rows (their foreign key), which `FOR UPDATE` would wait for, so two
        // concurrent postings to the same accounts would deadlock on each other's entries.
        for chunk in deltas.chunks(CHUNK_ROWS * 4) {
            let values: Vec<Value> = chunk.iter().map(|(code, _)| code.clone().into()).collect();
            sql::query(
                conn,
                format!(
                    "SELECT code FROM ledger_accounts WHERE code IN ({}) ORDER BY code \
                     FOR NO KEY UPDATE",
                    sql::list(chunk.len(), 1)
                ),
                values,
            )
            .await?;
        }
    }
    let mut seqs = HashMap::new();
    for chunk in deltas.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for (code, (delta, count)) in chunk {
            values.extend([code.clone().into(), (*delta).into(), (*count).into()]);
        }
        let updated = sql::query(
            conn,
            format!(
                "UPDATE ledger_accounts SET balance = ledger_accounts.balance + v.column2, \
                 seq = ledger_accounts.seq + v.column3 \
                 FROM (VALUES {}) AS v WHERE ledger_accounts.code = v.column1 \
                 AND ledger_accounts.floor_sign * (ledger_accounts.balance + v.column2) >= 0 \
                 RETURNING ledger_accounts.code, ledger_accounts.seq",
                sql::values_rows(chunk.len(), 3, 1)
            ),
            values,
        )
        .await?;
        if updated.len() != chunk.len() {
            let plain: Vec<(String, i64)> =
                chunk.iter().map(|(c, (d, _))| (c.clone(), *d)).collect();
            return Err(LedgerError::InsufficientBalance {
                account: which_guard_failed(conn, &plain).await?,
            });
        }
        for row in updated {
            seqs.insert(
                row.try_get_by_index::<String>(0)?,
                row.try_get_by_index::<i64>(1)?,
            );
        }
    }
    Ok(seqs)
}

/// Names an account of `chunk` whose change was refused, for the error message.
async fn which_guard_failed<C: ConnectionTrait>(
    conn: &C,
    chunk: &[(String, i64)],
) -> Result<String, LedgerError> {
    let wanted: HashMap<&str, i64> = chunk.iter().map(|(c, d)| (c.as_str(), *d)).collect();
    let values: Vec<Value> = chunk.iter().map(|(code, _)| code.clone().into()).collect();
    let rows = sql::query(
        conn,
        format!(
            "SELECT code, floor_sign, balance FROM ledger_accounts WHERE code IN ({}) ORDER BY code",
            sql::list(chunk.len(), 1)
        ),
        values,
    )
    .await?;
    // Rows already updated by this statement show their new balance; only a refused row can
    // still be on the wrong side once its delta is added again, but both readings name an
    // account that is at its floor, which is what the caller needs to know.
    for row in rows {
        let code: String = row.try_get("", "code")?;
        let sign: i32 = row.try_get("", "floor_sign")?;
        let balance: i64 = row.try_get("", "balance")?;
        let delta = wanted.get(code.as_str()).copied().unwrap_or(0);
        if i128::from(sign) * (i128::from(balance) + i128::from(delta)) < 0 {
            return Ok(code);
        }
    }
    Ok(chunk.first().map(|(c, _)| c.clone()).unwrap_or_default())
}

/// A merchant and a WIB year.
type YearKey = (String, i32);
/// The change to a merchant's year: amount, the last transaction and its time.
type YearChange<'a> = (i64, &'a str, DateTime<Utc>);

/// Keeps cumulative yearly turnover per merchant and records each threshold the first time a
/// posting carries the year across it.
async fn track_turnover<C: ConnectionTrait>(
    conn: &C,
    fresh: &[(&str, &NewTransaction)],
) -> Result<(), LedgerError> {
    let mut per_year: BTreeMap<YearKey, YearChange<'_>> = BTreeMap::new();
    for (id, txn) in fresh {
        let Some(merchant) = &txn.refs.merchant_id else {
            continue;
        };
        if txn.refs.turnover_amount == 0 {
            continue;
        }
        let year = Period::of(txn.occurred_at).year();
        let slot = per_year
            .entry((merchant.clone(), year))
            .or_insert((0, id, txn.occurred_at));
        slot.0 = slot
            .0
            .checked_add(txn.refs.turnover_amount)
            .ok_or(LedgerError::Overflow)?;
        slot.1 = id;
        slot.2 = slot.2.max(txn.occurred_at);
    }
    let rows: Vec<(YearKey, YearChange<'_>)> = per_year
        .into_iter()
        .filter(|(_, (d, _, _))| *d != 0)
        .collect();
    // One upsert per chunk, rows in key order: the returned totals say which postings carried a
    // year across a threshold.
    for chunk in rows.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        for ((merchant, year), (delta, _, _)) in chunk {
            values.extend([merchant.clone().into(), (*year).into(), (*delta).into()]);
        }
        let returned = sql::query(
            conn,
            format!(
                "INSERT INTO turnover_years (merchant_id, year, amount) VALUES {} \
                 ON CONFLICT (merchant_id, year) DO UPDATE SET amount = turnover_years.amount + \
                 excluded.amount RETURNING merchant_id, year, amount",
                sql::values_rows(chunk.len(), 3, 1)
            ),
            values,
        )
        .await?;
        let mut after: HashMap<(String, i32), i64> = HashMap::with_capacity(returned.len());
        for r in returned {
            after.insert(
                (r.try_get("", "merchant_id")?, r.try_get("", "year")?),
                r.try_get("", "amount")?,
            );
        }
        for (key, (delta, txn_id, at)) in chunk {
            let Some(total) = after.get(key).copied() else {
                continue;
            };
            let before = total - delta;
            for threshold in TURNOVER_THRESHOLDS {
                if before < threshold && total >= threshold {
                    sql::exec(
                        conn,
                        "INSERT INTO turnover_alerts (merchant_id, year, threshold_amount, \
                         turnover_amount, txn_id, crossed_at) VALUES ($1, $2, $3, $4, $5, $6) \
                         ON CONFLICT (merchant_id, year, threshold_amount) DO NOTHING",
                        vec![
                            key.0.clone().into(),
                            key.1.into(),
                            threshold.into(),
                            total.into(),
                            (*txn_id).into(),
                            (*at).into(),
                        ],
                    )
                    .await?;
                }
            }
        }
    }
    Ok(())
}

/// The WIB year of an instant (tax years are WIB calendar years).
pub fn wib_year(at: DateTime<Utc>) -> i32 {
    peken_kernel::period::wib_date(at).year()
}
