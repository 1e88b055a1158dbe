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

    // Insert the transaction rows; the unique natural key decides which ones are new.
    let mut seen = HashSet::new();
    let mut ids: Vec<Option<String>> = Vec::with_capacity(txns.len());
    for txn in &txns {
        ids.push(seen.insert(txn.key.as_str()).then(new_id));
    }
    let candidates: Vec<(usize, &NewTransaction)> = txns
        .iter()
        .enumerate()
        .filter(|(i, _)| ids[*i].is_some())
        .collect();
    if backend == DbBackend::Postgres
        && candidates.len() <= ONE_STATEMENT_MAX
        && candidates.iter().all(|(_, t)| {
            t.refs.turnover_amount == 0 && t.entries.iter().all(|(a, _)| a.is_city_wide())
        })
    {
        return post_city_wide(conn, &txns, &ids, &candidates, recorded_at).await;
    }
    let mut new_keys: HashSet<String> = HashSet::new();
    for chunk in candidates.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 14);
        for (i, txn) in chunk {
            values.extend(txn_values(
                ids[*i].as_deref().unwrap_or_default(),
                txn,
                recorded_at,
            ));
        }
        let rows = sql::query(
            conn,
            format!(
                "INSERT INTO ledger_transactions ({TXN_COLUMNS}) VALUES {} \
                 ON CONFLICT (natural_key) DO NOTHING RETURNING natural_key",
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

    // Balances first: they create a merchant's payable account the entries refer to.
    let movements = payable_movements(&fresh)?;
    let seqs = apply_balances(conn, backend, &fresh, &movements).await?;
    insert_entries(conn, &fresh).await?;
    insert_movements(conn, &movements, &seqs).await?;
    track_turnover(conn, &fresh).await?;
    track_turnover_months(conn, &fresh).await?;
    Ok(posted)
}

const TXN_COLUMNS: &str = "id, natural_key, kind, occurred_at, period, memo, order_id, \
     merchant_id, payment_id, payout_item_id, reverses_id, amount, turnover_amount, recorded_at";

fn txn_values(id: &str, txn: &NewTransaction, recorded_at: DateTime<Utc>) -> [Value; 14] {
    [
        id.into(),
        txn.key.clone().into(),
        txn.kind.as_str().into(),
        txn.occurred_at.into(),
        Period::of(txn.occurred_at).to_string().into(),
        txn.memo.clone().into(),
        txn.refs.order_id.clone().into(),
        txn.refs.merchant_id.clone().into(),
        txn.refs.payment_id.clone().into(),
        txn.refs.payout_item_id.clone().into(),
        txn.refs.reverses_id.clone().into(),
        txn.refs.amount.into(),
        txn.refs.turnover_amount.into(),
        recorded_at.into(),
    ]
}

const ENTRY_COLUMNS: &str =
    "txn_id, line_no, account, account_kind, merchant_id, amount, occurred_at";

fn entry_values(
    id: &str,
    line: usize,
    account: &Account,
    amount: i64,
    at: DateTime<Utc>,
) -> [Value; 7] {
    [
        id.into(),
        i32::try_from(line).unwrap_or(i32::MAX).into(),
        account.code().into(),
        account.kind().into(),
        account.merchant_id().map(str::to_owned).into(),
        amount.into(),
        at.into(),
    ]
}

/// Postings of at most this many transactions that touch only city-wide accounts go to
/// PostgreSQL as one statement.
const ONE_STATEMENT_MAX: usize = 8;

/// A payment confirmation, a refund before completion, a refund paid: transactions that touch
/// only city-wide accounts, posted on PostgreSQL in one statement instead of three. Its
/// data-modifying CTEs insert the transactions (the natural key decides which are new), the new
/// ones' entries, and add their changes to the stripes in (code, stripe) order under the guard;
/// the statement returns the new keys and the stripes it changed. A stripe the guard refused
/// is rebalanced afterwards, as in the general path.
async fn post_city_wide<C: ConnectionTrait>(
    conn: &C,
    txns: &[NewTransaction],
    ids: &[Option<String>],
    candidates: &[(usize, &NewTransaction)],
    recorded_at: DateTime<Utc>,
) -> Result<Vec<Posted>, LedgerError> {
    let mut values: Vec<Value> = Vec::new();
    let mut txn_rows = Vec::with_capacity(candidates.len());
    for (i, txn) in candidates {
        txn_rows.push(txn_values(
            ids[*i].as_deref().unwrap_or_default(),
            txn,
            recorded_at,
        ));
    }
    let mut entry_rows = Vec::new();
    // (txn id, code, stripe, floor sign, delta) for each entry.
    let mut stripe_rows: Vec<(String, String, i32, i32, i64)> = Vec::new();
    for (i, txn) in candidates {
        let id = ids[*i].as_deref().unwrap_or_default();
        let stripe = stripe_of(&txn.key);
        for (n, (account, amount)) in txn.entries.iter().enumerate() {
            entry_rows.push(entry_values(id, n + 1, account, *amount, txn.occurred_at));
            stripe_rows.push((
                id.to_owned(),
                account.code(),
                stripe,
                account.floor_sign(),
                *amount,
            ));
        }
    }
    let first_entry = txn_rows.len() * 14 + 1;
    let first_stripe = first_entry + entry_rows.len() * 7;
    for row in txn_rows {
        values.extend(row);
    }
    let entry_count = entry_rows.len();
    for row in entry_rows {
        values.extend(row);
    }
    for (id, code, stripe, sign, delta) in &stripe_rows {
        values.extend([
            id.clone().into(),
            code.clone().into(),
            (*stripe).into(),
            (*sign).into(),
            (*delta).into(),
        ]);
    }
    let statement = format!(
        "WITH t AS (INSERT INTO ledger_transactions ({TXN_COLUMNS}) VALUES {} \
           ON CONFLICT (natural_key) DO NOTHING RETURNING id, natural_key), \
         e AS (INSERT INTO ledger_entries ({ENTRY_COLUMNS}) \
           SELECT v.* FROM (VALUES {}) AS v ({ENTRY_COLUMNS}) JOIN t ON t.id = v.txn_id), \
         d AS (SELECT v.code, v.stripe, MIN(v.floor_sign) AS floor_sign, \
             CAST(SUM(v.delta) AS BIGINT) AS delta \
           FROM (VALUES {}) AS v (txn_id, code, stripe, floor_sign, delta) \
           JOIN t ON t.id = v.txn_id GROUP BY v.code, v.stripe), \
         s AS (INSERT INTO ledger_balance_stripes (code, stripe, floor_sign, balance) \
           SELECT code, stripe, CASE WHEN floor_sign * delta >= 0 THEN floor_sign ELSE 0 END, \
             delta FROM d WHERE delta <> 0 ORDER BY code, stripe \
           ON CONFLICT (code, stripe) DO UPDATE \
           SET balance = ledger_balance_stripes.balance + excluded.balance \
           WHERE ledger_balance_stripes.floor_sign * \
             (ledger_balance_stripes.balance + excluded.balance) >= 0 \
           RETURNING code, stripe, floor_sign) \
         SELECT 'txn' AS what, natural_key AS code, 0 AS stripe, 0 AS floor_sign FROM t \
         UNION ALL SELECT 'stripe', code, stripe, floor_sign FROM s",
        sql::values_rows(candidates.len(), 14, 1),
        sql::values_rows(entry_count, 7, first_entry),
        sql::values_rows(stripe_rows.len(), 5, first_stripe),
    );
    let rows = sql::query(conn, statement, values)
        .await
        .map_err(map_reversal_conflict)?;
    let mut new_keys: HashSet<String> = HashSet::new();
    let mut applied: HashMap<(String, i32), i32> = HashMap::new();
    for row in rows {
        let what: String = row.try_get("", "what")?;
        let code: String = row.try_get("", "code")?;
        if what == "txn" {
            new_keys.insert(code);
        } else {
            applied.insert(
                (code, row.try_get("", "stripe")?),
                row.try_get("", "floor_sign")?,
            );
        }
    }
    // What the new transactions should have changed, against what the guard let through.
    let fresh = candidates
        .iter()
        .filter(|(_, t)| new_keys.contains(&t.key))
        .map(|(_, t)| *t);
    settle_stripes(conn, DbBackend::Postgres, stripe_deltas(fresh)?, &applied).await?;
    Ok(txns
        .iter()
        .enumerate()
        .map(|(i, txn)| match &ids[i] {
            Some(id) if new_keys.contains(&txn.key) => Posted::New(id.clone()),
            _ => Posted::AlreadyPosted,
        })
        .collect())
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
            values.extend(entry_values(id, *line, account, *amount, *at));
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO ledger_entries ({ENTRY_COLUMNS}) VALUES {}",
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

/// Stripes per city-wide account: the rows its balance is kept in (migration m0016).
pub const STRIPES: i32 = 16;

/// The stripe a transaction's change to a city-wide account goes to: a hash of its natural key,
/// the same in every process and release (FNV-1a), so concurrent payments spread over the
/// stripes and no row is locked by every one of them.
pub fn stripe_of(key: &str) -> i32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    i32::try_from(hash % u64::from(STRIPES.unsigned_abs())).unwrap_or(0)
}

/// Applies the balance changes of the new transactions and returns the merchant payables'
/// movement counts by account code.
///
/// A merchant payable keeps its balance on its own row: one upsert per chunk creates missing
/// accounts and adds the changes, rows in code order (an `INSERT` takes its rows in the order
/// given, so concurrent postings lock them in the same order and cannot deadlock). A city-wide
/// account keeps its balance in [`STRIPES`] rows and each transaction changes the stripe of its
/// key, in another ordered upsert. Both are guarded like the rows' `CHECK`
/// (`floor_sign * balance >= 0`): a change the guard refuses is not applied and its row not
/// returned. A refused merchant payable is [`LedgerError::InsufficientBalance`]; a refused
/// stripe only means that part of the balance is too small, and the account is rebalanced.
async fn apply_balances<C: ConnectionTrait>(
    conn: &C,
    backend: DbBackend,
    fresh: &[(&str, &NewTransaction)],
    movements: &[Movement<'_>],
) -> Result<HashMap<String, i64>, LedgerError> {
    // Own rows: code → (account, delta, new movements).
    let mut own: BTreeMap<String, (&Account, i64, i64)> = BTreeMap::new();
    for (_, txn) in fresh {
        for (account, amount) in txn.entries.iter().filter(|(a, _)| !a.is_city_wide()) {
            let slot = &mut own.entry(account.code()).or_insert((account, 0, 0)).1;
            *slot = slot.checked_add(*amount).ok_or(LedgerError::Overflow)?;
        }
    }
    for m in movements {
        let code = Account::MerchantPayable(m.merchant.clone()).code();
        if let Some(entry) = own.get_mut(&code) {
            entry.2 += 1;
        }
    }
    let own: Vec<(String, (&Account, i64, i64))> = own
        .into_iter()
        .filter(|(_, (_, d, n))| *d != 0 || *n != 0)
        .collect();
    let mut seqs = HashMap::new();
    for chunk in own.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for (code, (account, delta, count)) in chunk {
            values.extend([
                code.clone().into(),
                account.kind().into(),
                account.merchant_id().map(str::to_owned).into(),
                proposed_sign(account.floor_sign(), *delta).into(),
                (*delta).into(),
                (*count).into(),
            ]);
        }
        let updated = sql::query(
            conn,
            format!(
                "INSERT INTO ledger_accounts (code, kind, merchant_id, floor_sign, balance, seq) \
                 VALUES {} ON CONFLICT (code) DO UPDATE \
                 SET balance = ledger_accounts.balance + excluded.balance, \
                 seq = ledger_accounts.seq + excluded.seq \
                 WHERE ledger_accounts.floor_sign * (ledger_accounts.balance + excluded.balance) >= 0 \
                 RETURNING code, seq, floor_sign",
                sql::values_rows(chunk.len(), 6, 1)
            ),
            values,
        )
        .await?;
        let mut signs: HashMap<String, i32> = HashMap::with_capacity(updated.len());
        for row in &updated {
            let code = row.try_get_by_index::<String>(0)?;
            seqs.insert(code.clone(), row.try_get_by_index::<i64>(1)?);
            signs.insert(code, row.try_get_by_index::<i32>(2)?);
        }
        if let Some((code, _)) = chunk
            .iter()
            .find(|(code, (account, _, _))| signs.get(code) != Some(&account.floor_sign()))
        {
            return Err(LedgerError::InsufficientBalance {
                account: code.clone(),
            });
        }
    }

    let striped: Vec<((String, i32), (i32, i64))> = stripe_deltas(fresh.iter().map(|(_, t)| *t))?
        .into_iter()
        .filter(|(_, (_, d))| *d != 0)
        .collect();
    let mut applied: HashMap<(String, i32), i32> = HashMap::with_capacity(striped.len());
    for chunk in striped.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 4);
        for ((code, stripe), (sign, delta)) in chunk {
            values.extend([
                code.clone().into(),
                (*stripe).into(),
                proposed_sign(*sign, *delta).into(),
                (*delta).into(),
            ]);
        }
        let rows = sql::query(
            conn,
            format!(
                "INSERT INTO ledger_balance_stripes (code, stripe, floor_sign, balance) VALUES {} \
                 ON CONFLICT (code, stripe) DO UPDATE \
                 SET balance = ledger_balance_stripes.balance + excluded.balance \
                 WHERE ledger_balance_stripes.floor_sign * \
                 (ledger_balance_stripes.balance + excluded.balance) >= 0 \
                 RETURNING code, stripe, floor_sign",
                sql::values_rows(chunk.len(), 4, 1)
            ),
            values,
        )
        .await?;
        for row in rows {
            applied.insert(
                (
                    row.try_get_by_index::<String>(0)?,
                    row.try_get_by_index::<i32>(1)?,
                ),
                row.try_get_by_index::<i32>(2)?,
            );
        }
    }
    settle_stripes(conn, backend, striped, &applied).await?;
    Ok(seqs)
}

/// A city-wide account's stripe: (account code, stripe).
type StripeKey = (String, i32);
/// The changes of stripes: the account's floor sign and the change.
type StripeDeltas = BTreeMap<StripeKey, (i32, i64)>;

/// Each city-wide account's change by `txns`, per stripe (the stripe of each transaction's key),
/// with the account's guard: `(code, stripe) → (floor sign, delta)`.
fn stripe_deltas<'a>(
    txns: impl IntoIterator<Item = &'a NewTransaction>,
) -> Result<StripeDeltas, LedgerError> {
    let mut out = StripeDeltas::new();
    for txn in txns {
        let stripe = stripe_of(&txn.key);
        for (account, amount) in txn.entries.iter().filter(|(a, _)| a.is_city_wide()) {
            let slot = out
                .entry((account.code(), stripe))
                .or_insert((account.floor_sign(), 0));
            slot.1 = slot.1.checked_add(*amount).ok_or(LedgerError::Overflow)?;
        }
    }
    Ok(out)
}

/// Holds the stripe changes `wanted` against what the upsert returned (`applied`: the stored
/// guard of each stripe it changed). A stripe changed with another guard was created by the
/// upsert and cannot give what it never held; a stripe not returned was refused by its guard,
/// and its account is rebalanced with the refused change.
async fn settle_stripes<C: ConnectionTrait>(
    conn: &C,
    backend: DbBackend,
    wanted: impl IntoIterator<Item = (StripeKey, (i32, i64))>,
    applied: &HashMap<StripeKey, i32>,
) -> Result<(), LedgerError> {
    let mut refused: BTreeMap<String, i64> = BTreeMap::new();
    for (key, (sign, delta)) in wanted {
        if delta == 0 {
            continue;
        }
        match applied.get(&key) {
            Some(stored) if *stored == sign => {}
            Some(_) => return Err(LedgerError::InsufficientBalance { account: key.0 }),
            None => {
                let slot = refused.entry(key.0).or_default();
                *slot = slot.checked_add(delta).ok_or(LedgerError::Overflow)?;
            }
        }
    }
    for (code, delta) in refused {
        rebalance(conn, backend, &code, delta).await?;
    }
    Ok(())
}

/// The guard of the row an upsert proposes. A database checks a proposed row's `CHECK` before
/// it finds the row it conflicts with, so a change towards the floor is proposed unguarded (the
/// update adds it to the stored row, under the stored guard); should the row turn out to be new,
/// `RETURNING` shows the unguarded sign and the change is refused, as nothing can be taken from
/// an account that held nothing.
fn proposed_sign(sign: i32, delta: i64) -> i32 {
    if i64::from(sign) * delta >= 0 {
        sign
    } else {
        0
    }
}

/// Applies `delta` to a city-wide account whose stripe was too small for it: the account's
/// parts (its own row and its stripes) that no other transaction holds are locked, their sum
/// with `delta` is checked against the floor and spread evenly over the locked stripes, so each
/// part keeps the floor and later changes find money in every stripe.
///
/// Parts other transactions hold are skipped (`SKIP LOCKED`), not waited for: this transaction
/// may hold a stripe such a transaction will want, and two rebalances waiting for each other's
/// stripes would deadlock. When the free parts are not enough but the whole balance is, the
/// money sits in stripes that in-flight postings hold for a moment; it tries again shortly, and
/// only after [`REBALANCE_TRIES`] waits for every part. When the whole balance is not enough
/// the change is refused. SQLite has one writer and no row locks: one pass sees everything.
async fn rebalance<C: ConnectionTrait>(
    conn: &C,
    backend: DbBackend,
    code: &str,
    delta: i64,
) -> Result<(), LedgerError> {
    let postgres = backend == DbBackend::Postgres;
    let refused = || LedgerError::InsufficientBalance {
        account: code.to_owned(),
    };
    for attempt in 0..=REBALANCE_TRIES {
        let wait = attempt == REBALANCE_TRIES;
        let (own_lock, lock) = match (postgres, wait) {
            (false, _) => ("", ""),
            (true, false) => (" FOR NO KEY UPDATE SKIP LOCKED", " FOR UPDATE SKIP LOCKED"),
            (true, true) => (" FOR NO KEY UPDATE", " FOR UPDATE"),
        };
        let own = sql::query_one(
            conn,
            format!("SELECT floor_sign, balance FROM ledger_accounts WHERE code = $1{own_lock}"),
            vec![code.into()],
        )
        .await?;
        let stripes = sql::query(
            conn,
            format!(
                "SELECT stripe, balance FROM ledger_balance_stripes WHERE code = $1 \
                 ORDER BY stripe{lock}"
            ),
            vec![code.into()],
        )
        .await?;
        let mut pool = i128::from(delta);
        let mut held: Vec<i32> = Vec::with_capacity(stripes.len());
        for row in &stripes {
            held.push(row.try_get("", "stripe")?);
            pool += i128::from(row.try_get::<i64>("", "balance")?);
        }
        if let Some(row) = &own {
            let sign: i32 = row.try_get("", "floor_sign")?;
            pool += i128::from(row.try_get::<i64>("", "balance")?);
            if i128::from(sign) * pool >= 0 && !held.is_empty() {
                spread(conn, code, pool, &held).await?;
                return Ok(());
            }
        }
        let complete = !postgres || wait || own.is_some() && held.len() == STRIPES as usize;
        if complete {
            return Err(refused());
        }
        // Not enough in the free parts: is there enough at all?
        let whole = sql::query_one(
            conn,
            "SELECT floor_sign, balance FROM ledger_account_balances WHERE code = $1",
            vec![code.into()],
        )
        .await?
        .ok_or_else(refused)?;
        let sign: i32 = whole.try_get("", "floor_sign")?;
        let balance: i64 = whole.try_get("", "balance")?;
        if i128::from(sign) * (i128::from(balance) + i128::from(delta)) < 0 {
            return Err(refused());
        }
        tokio::time::sleep(std::time::Duration::from_millis(2 << attempt.min(5))).await;
    }
    Err(refused())
}

/// Tries of a rebalance with the free parts only, before it waits for all of them.
const REBALANCE_TRIES: u32 = 12;

/// Writes `pool` spread evenly over `stripes` (the first takes the remainder) and empties the
/// account's own row; every share has the pool's sign, so every part keeps the floor.
async fn spread<C: ConnectionTrait>(
    conn: &C,
    code: &str,
    pool: i128,
    stripes: &[i32],
) -> Result<(), LedgerError> {
    let pool = i64::try_from(pool).map_err(|_| LedgerError::Overflow)?;
    let parts = i64::try_from(stripes.len()).map_err(|_| LedgerError::Overflow)?;
    let (share, rest) = (pool / parts, pool % parts);
    let mut values: Vec<Value> = Vec::with_capacity(stripes.len() * 2 + 1);
    for (n, stripe) in stripes.iter().enumerate() {
        let amount = if n == 0 { share + rest } else { share };
        values.extend([(*stripe).into(), amount.into()]);
    }
    values.push(code.into());
    sql::exec(
        conn,
        "UPDATE ledger_accounts SET balance = 0 WHERE code = $1",
        vec![code.into()],
    )
    .await?;
    sql::exec(
        conn,
        format!(
            "UPDATE ledger_balance_stripes SET balance = v.column2 FROM (VALUES {}) AS v \
             WHERE ledger_balance_stripes.code = ${} AND ledger_balance_stripes.stripe = v.column1",
            sql::values_rows(stripes.len(), 2, 1),
            stripes.len() * 2 + 1
        ),
        values,
    )
    .await?;
    Ok(())
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

/// A merchant's month's change: gross, refunds and completed orders.
type MonthChange = (i64, i64, i64);

/// Keeps each merchant's turnover per WIB month of posting (`ledger_turnover_months`), the
/// summary the programme's reports read instead of the journal: one upsert per chunk, rows in
/// key order, the same shop rows `turnover_years` takes.
async fn track_turnover_months<C: ConnectionTrait>(
    conn: &C,
    fresh: &[(&str, &NewTransaction)],
) -> Result<(), LedgerError> {
    let mut per_month: BTreeMap<(&str, String), MonthChange> = BTreeMap::new();
    for (_, txn) in fresh {
        let Some(merchant) = &txn.refs.merchant_id else {
            continue;
        };
        let amount = txn.refs.turnover_amount;
        if amount == 0 {
            continue;
        }
        let slot = per_month
            .entry((merchant.as_str(), Period::of(txn.occurred_at).to_string()))
            .or_insert((0, 0, 0));
        if amount > 0 {
            slot.0 = slot.0.checked_add(amount).ok_or(LedgerError::Overflow)?;
        } else {
            let refund = amount.checked_neg().ok_or(LedgerError::Overflow)?;
            slot.1 = slot.1.checked_add(refund).ok_or(LedgerError::Overflow)?;
        }
        if txn.kind == TxnKind::OrderCompleted {
            slot.2 += 1;
        }
    }
    let rows: Vec<_> = per_month.into_iter().collect();
    for chunk in rows.chunks(CHUNK_ROWS) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 5);
        for ((merchant, period), (gross, refunds, completed)) in chunk {
            values.extend([
                (*merchant).into(),
                period.clone().into(),
                (*gross).into(),
                (*refunds).into(),
                (*completed).into(),
            ]);
        }
        sql::exec(
            conn,
            format!(
                "INSERT INTO ledger_turnover_months (merchant_id, period, gross_amount, \
                 refunds_amount, completed_orders) VALUES {} \
                 ON CONFLICT (merchant_id, period) DO UPDATE SET \
                 gross_amount = ledger_turnover_months.gross_amount + excluded.gross_amount, \
                 refunds_amount = ledger_turnover_months.refunds_amount + excluded.refunds_amount, \
                 completed_orders = ledger_turnover_months.completed_orders + excluded.completed_orders",
                sql::values_rows(chunk.len(), 5, 1)
            ),
            values,
        )
        .await?;
    }
    Ok(())
}

/// The WIB year of an instant (tax years are WIB calendar years).
pub fn wib_year(at: DateTime<Utc>) -> i32 {
    peken_kernel::period::wib_date(at).year()
}
