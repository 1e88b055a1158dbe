//! Money seen on the city's bank statement. A credit line is matched to a bill by the bill's
//! virtual account number, its QRIS bill number, the reference of a recorded callback or of a
//! waiting transfer proof in the narrative, and the exact amount. Each `payment_receipts` row
//! is one arrival of money, whoever saw it first:
//!
//! - a callback (or verified proof) not yet seen on a statement is **confirmed** by the credit
//!   (the receipt gets the line; nothing is posted);
//! - a pending bill is **paid** by the credit, with the same effects as a callback;
//! - otherwise (expired, cancelled, or paid by other money) the money is **owed back**.
//!
//! A callback for money a credit recorded first pairs with that receipt (`callback_reference`)
//! and counts nothing again. Unique indexes hold a line to one receipt and a callback reference
//! to one receipt, so however callbacks and statements interleave, each arrival counts once.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use peken_kernel::db::new_id;
use peken_kernel::period::wib_midnight_utc;
use peken_kernel::sql;
use peken_kernel::{ApiError, ApiResult, Rupiah};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Value,
};

use crate::lifecycle::ledger_error;
use crate::payment::{Notice, PROOF_WAITING, apply_payment, apply_payments, owe_back};
use crate::store::{payment, payment_receipt};

/// A credit line of a bank statement.
#[derive(Debug, Clone)]
pub struct Credit {
    pub line_id: String,
    pub value_date: NaiveDate,
    pub amount: Rupiah,
    pub narrative: String,
}

/// What a matched credit did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditOutcome {
    /// It confirmed money a callback or a verified proof had recorded.
    Confirmed,
    /// It paid a pending bill.
    Paid,
    /// The bill could not take it; it is owed back.
    RefundDue,
}

impl CreditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CreditOutcome::Confirmed => "confirmed",
            CreditOutcome::Paid => "paid",
            CreditOutcome::RefundDue => "refund_due",
        }
    }
}

/// A credit line and the bill it was matched to.
#[derive(Debug, Clone)]
pub struct CreditMatch {
    pub line_id: String,
    pub payment_id: String,
    pub outcome: CreditOutcome,
}

/// Receipt sources that wait for the bank's confirmation.
const AWAITING_BANK: [&str; 2] = ["callback", "manual"];

/// Longest key list of one `IN (…)`.
const KEYS_PER_QUERY: usize = sql::CHUNK_ROWS;

/// The keys a narrative may carry.
#[derive(Debug, Default)]
struct Keys {
    /// Numbers of 10 to 24 digits (virtual account numbers).
    va: Vec<String>,
    /// Payment id prefixes of 25-hex-digit words (QRIS bill numbers).
    bill: Vec<String>,
    /// Words that may be a provider's or a transfer's reference.
    words: Vec<String>,
}

fn keys_of(narrative: &str) -> Keys {
    let mut keys = Keys::default();
    // Digit groups separated by a single space, dash or dot may be one number written in parts
    // (`8881 0123 4567 8901`): every run of consecutive groups 10 to 24 digits long is a key
    // (a virtual account number is a 2 to 12 digit bank prefix and 12 digits).
    let chars: Vec<char> = narrative.chars().collect();
    let mut groups: Vec<String> = vec![String::new()];
    let flush = |groups: &mut Vec<String>, keys: &mut Keys| {
        groups.retain(|g| !g.is_empty());
        for i in 0..groups.len() {
            let mut joined = String::new();
            for g in &groups[i..] {
                joined.push_str(g);
                if joined.len() > 24 {
                    break;
                }
                if joined.len() >= 10 {
                    keys.va.push(joined.clone());
                }
            }
        }
        groups.clear();
        groups.push(String::new());
    };
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_digit() {
            if let Some(last) = groups.last_mut() {
                last.push(*c);
            }
        } else if matches!(c, ' ' | '-' | '.')
            && groups.last().is_some_and(|g| !g.is_empty())
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            groups.push(String::new());
        } else {
            flush(&mut groups, &mut keys);
        }
    }
    flush(&mut groups, &mut keys);
    for word in narrative.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '/')) {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if (4..=128).contains(&word.len()) {
            keys.words.push(word.to_owned());
        }
    }
    for run in narrative.split(|c: char| !c.is_ascii_alphanumeric()) {
        if run.len() >= 25 && run.chars().all(|c| c.is_ascii_hexdigit()) {
            let lower = run.to_ascii_lowercase();
            for start in 0..=lower.len() - 25 {
                let t = &lower[start..start + 25];
                keys.bill.push(format!(
                    "{}-{}-{}-{}-{}",
                    &t[..8],
                    &t[8..12],
                    &t[12..16],
                    &t[16..20],
                    &t[20..25]
                ));
            }
        }
    }
    keys
}

fn dedup(keys: impl Iterator<Item = String>) -> Vec<String> {
    let set: HashSet<String> = keys.collect();
    let mut out: Vec<String> = set.into_iter().collect();
    out.sort();
    out
}

async fn ids_where<C: ConnectionTrait>(
    conn: &C,
    select: &str,
    keys: &[String],
    first: usize,
    before: &[Value],
) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(KEYS_PER_QUERY) {
        let mut values: Vec<Value> = before.to_vec();
        values.extend(chunk.iter().map(|k| Value::from(k.clone())));
        let rows = sql::query(
            conn,
            select.replace("{}", &sql::list(chunk.len(), first)),
            values,
        )
        .await?;
        for r in rows {
            out.push((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

async fn bills_by_id<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> ApiResult<HashMap<String, payment::Model>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_QUERY) {
        for bill in payment::Entity::find()
            .filter(payment::Column::Id.is_in(chunk.to_vec()))
            .all(conn)
            .await?
        {
            out.insert(bill.id.clone(), bill);
        }
    }
    Ok(out)
}

/// The bill of each credit: the one bill its narrative names with the credit's exact amount,
/// or `None` (no bill, or more than one).
pub async fn find_bills<C: ConnectionTrait>(
    conn: &C,
    credits: &[Credit],
) -> ApiResult<Vec<Option<payment::Model>>> {
    let keys: Vec<Keys> = credits.iter().map(|c| keys_of(&c.narrative)).collect();
    let va = dedup(keys.iter().flat_map(|k| k.va.iter().cloned()));
    let bill = dedup(keys.iter().flat_map(|k| k.bill.iter().cloned()));
    let words = dedup(keys.iter().flat_map(|k| k.words.iter().cloned()));
    let by_va: HashMap<String, String> = ids_where(
        conn,
        "SELECT va_number, id FROM payments WHERE va_number IN ({})",
        &va,
        1,
        &[],
    )
    .await?
    .into_iter()
    .collect();
    let by_bill: HashMap<String, String> = ids_where(
        conn,
        "SELECT substr(id, 1, 29), id FROM payments WHERE substr(id, 1, 29) IN ({})",
        &bill,
        1,
        &[],
    )
    .await?
    .into_iter()
    .collect();
    let mut by_word: HashMap<String, HashSet<String>> = HashMap::new();
    for (word, id) in ids_where(
        conn,
        "SELECT provider_reference, payment_id FROM payment_receipts \
         WHERE provider_reference IN ({})",
        &words,
        1,
        &[],
    )
    .await?
    .into_iter()
    .chain(
        ids_where(
            conn,
            "SELECT callback_reference, payment_id FROM payment_receipts \
             WHERE callback_reference IN ({})",
            &words,
            1,
            &[],
        )
        .await?,
    )
    .chain(
        ids_where(
            conn,
            "SELECT proof_reference, id FROM payments \
             WHERE proof_status IN ($1, $2) AND proof_reference IN ({})",
            &words,
            3,
            &[PROOF_WAITING[0].into(), PROOF_WAITING[1].into()],
        )
        .await?,
    ) {
        by_word.entry(word).or_default().insert(id);
    }
    let candidates: Vec<HashSet<String>> = keys
        .iter()
        .map(|k| {
            let mut ids: HashSet<String> = HashSet::new();
            ids.extend(k.va.iter().filter_map(|v| by_va.get(v)).cloned());
            ids.extend(k.bill.iter().filter_map(|b| by_bill.get(b)).cloned());
            for w in &k.words {
                if let Some(found) = by_word.get(w) {
                    ids.extend(found.iter().cloned());
                }
            }
            ids
        })
        .collect();
    let all = dedup(candidates.iter().flat_map(|c| c.iter().cloned()));
    let bills = bills_by_id(conn, &all).await?;
    Ok(credits
        .iter()
        .zip(candidates)
        .map(|(credit, ids)| {
            let hits: Vec<&payment::Model> = ids
                .iter()
                .filter_map(|id| bills.get(id))
                .filter(|b| b.amount == credit.amount.get())
                .collect();
            match hits[..] {
                [bill] => Some(bill.clone()),
                _ => None,
            }
        })
        .collect())
}

/// Matches new credit lines to bills and applies each match in the caller's transaction:
/// arrivals waiting for the bank are confirmed in a few multi-row statements, pending bills
/// are paid, and money no bill can take is owed back. Credits with no bill are not returned.
pub async fn receive_credits<C: ConnectionTrait>(
    conn: &C,
    credits: &[Credit],
    now: DateTime<Utc>,
) -> ApiResult<Vec<CreditMatch>> {
    let bills = find_bills(conn, credits).await?;
    let matched: Vec<(&Credit, payment::Model)> = credits
        .iter()
        .zip(bills)
        .filter_map(|(c, b)| b.map(|b| (c, b)))
        .collect();
    if matched.is_empty() {
        return Ok(Vec::new());
    }
    let bill_ids = dedup(matched.iter().map(|(_, b)| b.id.clone()));
    let mut waiting: HashMap<String, VecDeque<String>> = HashMap::new();
    for chunk in bill_ids.chunks(KEYS_PER_QUERY) {
        for r in payment_receipt::Entity::find()
            .filter(payment_receipt::Column::PaymentId.is_in(chunk.to_vec()))
            .filter(payment_receipt::Column::Source.is_in(AWAITING_BANK))
            .filter(payment_receipt::Column::StatementLineId.is_null())
            .order_by_asc(payment_receipt::Column::CreatedAt)
            .order_by_asc(payment_receipt::Column::Id)
            .all(conn)
            .await?
        {
            waiting.entry(r.payment_id).or_default().push_back(r.id);
        }
    }
    // The plan, in line order: confirm an arrival waiting for the bank, else settle one by one.
    let mut confirms: Vec<(String, String)> = Vec::new();
    let mut out = Vec::with_capacity(matched.len());
    let mut rest: Vec<(&Credit, &payment::Model)> = Vec::new();
    for (credit, bill) in &matched {
        if let Some(receipt) = waiting.get_mut(&bill.id).and_then(VecDeque::pop_front) {
            confirms.push((receipt, credit.line_id.clone()));
            out.push(CreditMatch {
                line_id: credit.line_id.clone(),
                payment_id: bill.id.clone(),
                outcome: CreditOutcome::Confirmed,
            });
        } else {
            rest.push((credit, bill));
        }
    }
    for chunk in confirms.chunks(sql::CHUNK_ROWS / 2) {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 3);
        let mut cases = String::new();
        for (i, (receipt, line)) in chunk.iter().enumerate() {
            let _ = write!(cases, " WHEN ${} THEN ${}", 2 * i + 1, 2 * i + 2);
            values.push(receipt.clone().into());
            values.push(line.clone().into());
        }
        let first = values.len() + 1;
        values.extend(chunk.iter().map(|(r, _)| Value::from(r.clone())));
        let linked = sql::exec(
            conn,
            format!(
                "UPDATE payment_receipts SET statement_line_id = CASE id{cases} END \
                 WHERE statement_line_id IS NULL AND id IN ({})",
                sql::list(chunk.len(), first)
            ),
            values,
        )
        .await
        .map_err(matched_already)?;
        if linked != chunk.len() as u64 {
            return Err(ApiError::conflict(
                "already_matched",
                "a receipt was confirmed by another statement meanwhile; try again",
            ));
        }
    }
    // The first credit of each bill still pending pays it: the bills are taken by one
    // conditional update and their effects applied together; every other credit (and one whose
    // bill a callback took meanwhile) is settled alone, after the payments, so a second credit
    // for a bill paid here is owed back.
    let mut payers: HashSet<&str> = HashSet::new();
    let mut candidates: Vec<(&Credit, &payment::Model, DateTime<Utc>)> = Vec::new();
    let mut alone: Vec<(&Credit, &payment::Model)> = Vec::new();
    for (credit, bill) in rest {
        if bill.status != "pending" || !payers.insert(bill.id.as_str()) {
            alone.push((credit, bill));
        } else {
            // The bank's value date is when the money arrived, never before the bill existed.
            let paid_at = wib_midnight_utc(credit.value_date).max(bill.created_at);
            candidates.push((credit, bill, paid_at));
        }
    }
    let mut won: Vec<(payment::Model, DateTime<Utc>)> = Vec::new();
    let mut receipts: Vec<payment_receipt::ActiveModel> = Vec::new();
    for chunk in candidates.chunks(sql::CHUNK_ROWS / 4) {
        // The callback's conditional update `pending → paid`, for all of them at once (their
        // amounts were matched exactly, and a bill's amount never changes).
        let mut references = String::new();
        let mut times = String::new();
        let mut values: Vec<Value> = vec![now.into()];
        for (credit, bill, paid_at) in chunk {
            let n = values.len();
            let _ = write!(references, " WHEN ${} THEN ${}", n + 1, n + 2);
            let _ = write!(times, " WHEN ${} THEN ${}", n + 1, n + 3);
            values.extend([
                bill.id.clone().into(),
                format!("statement:{}", credit.line_id).into(),
                (*paid_at).into(),
            ]);
        }
        let first = values.len() + 1;
        values.extend(chunk.iter().map(|(_, b, _)| Value::from(b.id.clone())));
        let taken: HashSet<String> = sql::query(
            conn,
            format!(
                "UPDATE payments SET status = 'paid', provider_reference = CASE id{references} END, \
                 paid_at = CASE id{times} END, confirmed_at = $1, updated_at = $1 \
                 WHERE status = 'pending' AND id IN ({}) RETURNING id",
                sql::list(chunk.len(), first)
            ),
            values,
        )
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<_, _>>()?;
        let mut waiting_proofs: Vec<String> = Vec::new();
        for (credit, bill, paid_at) in chunk {
            if !taken.contains(&bill.id) {
                alone.push((credit, bill));
                continue;
            }
            let mut paid = (*bill).clone();
            "paid".clone_into(&mut paid.status);
            paid.paid_at = Some(*paid_at);
            if PROOF_WAITING.contains(&paid.proof_status.as_str()) {
                waiting_proofs.push(paid.id.clone());
            }
            receipts.push(receipt_row(&paid, credit, *paid_at, "applied", now));
            out.push(CreditMatch {
                line_id: credit.line_id.clone(),
                payment_id: bill.id.clone(),
                outcome: CreditOutcome::Paid,
            });
            won.push((paid, *paid_at));
        }
        if !waiting_proofs.is_empty() {
            // A transfer proof waiting for its second approval needs none: the bank shows it.
            payment::Entity::update_many()
                .col_expr(
                    payment::Column::ProofStatus,
                    "confirmed_by_statement".into(),
                )
                .filter(payment::Column::Id.is_in(waiting_proofs))
                .filter(payment::Column::ProofStatus.is_in(PROOF_WAITING))
                .exec(conn)
                .await?;
        }
    }
    for chunk in receipts.chunks(sql::CHUNK_ROWS / 2) {
        payment_receipt::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await
            .map_err(matched_already)?;
    }
    apply_payments(conn, &won, now).await?;
    for (credit, bill) in alone {
        let outcome = settle(conn, bill, credit, true, now).await?;
        out.push(CreditMatch {
            line_id: credit.line_id.clone(),
            payment_id: bill.id.clone(),
            outcome,
        });
    }
    Ok(out)
}

/// Takes a pending bill for a credit with the callback's conditional update; `None` when the
/// bill is no longer pending. A waiting transfer proof needs no second approval now: the bank
/// shows the money.
async fn take<C: ConnectionTrait>(
    conn: &C,
    bill: &payment::Model,
    credit: &Credit,
    now: DateTime<Utc>,
) -> ApiResult<Option<(payment::Model, DateTime<Utc>)>> {
    // The bank's value date is when the money arrived, never before the bill existed.
    let paid_at = wib_midnight_utc(credit.value_date).max(bill.created_at);
    let taken = payment::Entity::update_many()
        .col_expr(payment::Column::Status, "paid".into())
        .col_expr(
            payment::Column::ProviderReference,
            Some(format!("statement:{}", credit.line_id)).into(),
        )
        .col_expr(payment::Column::PaidAt, Some(paid_at).into())
        .col_expr(payment::Column::ConfirmedAt, Some(now).into())
        .col_expr(payment::Column::UpdatedAt, now.into())
        .filter(payment::Column::Id.eq(bill.id.clone()))
        .filter(payment::Column::Status.eq("pending"))
        .filter(payment::Column::Amount.eq(credit.amount.get()))
        .exec_with_returning(conn)
        .await?;
    let Some(paid) = taken.into_iter().next() else {
        return Ok(None);
    };
    if PROOF_WAITING.contains(&paid.proof_status.as_str()) {
        payment::Entity::update_many()
            .col_expr(
                payment::Column::ProofStatus,
                "confirmed_by_statement".into(),
            )
            .filter(payment::Column::Id.eq(paid.id.clone()))
            .filter(payment::Column::ProofStatus.is_in(PROOF_WAITING))
            .exec(conn)
            .await?;
    }
    Ok(Some((paid, paid_at)))
}

/// One credit line to one bill, chosen by a person (a manual match a second treasury user
/// approved): the same effect as an automatic match. The amounts must agree.
pub async fn receive_credit<C: ConnectionTrait>(
    conn: &C,
    payment_id: &str,
    credit: &Credit,
    now: DateTime<Utc>,
) -> ApiResult<CreditOutcome> {
    let bill = crate::payment::find(conn, payment_id).await?;
    if bill.amount != credit.amount.get() {
        return Err(ApiError::unprocessable(
            "amount_mismatch",
            "the credit's amount differs from the bill's",
        )
        .with_context(serde_json::json!({"expected": bill.amount, "received": credit.amount})));
    }
    settle(conn, &bill, credit, true, now).await
}

fn matched_already(e: sea_orm::DbErr) -> ApiError {
    match peken_kernel::error::unique_violation(&e) {
        Some(_) => ApiError::conflict(
            "already_matched",
            "this statement line confirms another payment already",
        ),
        None => e.into(),
    }
}

/// Links the oldest arrival of the bill still waiting for the bank to the line.
async fn confirm_one<C: ConnectionTrait>(
    conn: &C,
    bill_id: &str,
    line_id: &str,
) -> ApiResult<bool> {
    let linked = sql::exec(
        conn,
        "UPDATE payment_receipts SET statement_line_id = $1 WHERE id = \
         (SELECT id FROM payment_receipts WHERE payment_id = $2 AND source IN ($3, $4) \
          AND statement_line_id IS NULL ORDER BY created_at, id LIMIT 1) \
         AND statement_line_id IS NULL",
        vec![
            line_id.into(),
            bill_id.into(),
            AWAITING_BANK[0].into(),
            AWAITING_BANK[1].into(),
        ],
    )
    .await
    .map_err(matched_already)?;
    Ok(linked == 1)
}

fn receipt_row(
    bill: &payment::Model,
    credit: &Credit,
    paid_at: DateTime<Utc>,
    outcome: &str,
    now: DateTime<Utc>,
) -> payment_receipt::ActiveModel {
    payment_receipt::ActiveModel {
        id: Set(new_id()),
        payment_id: Set(bill.id.clone()),
        provider_reference: Set(format!("statement:{}", credit.line_id)),
        amount: Set(credit.amount.get()),
        paid_at: Set(paid_at),
        outcome: Set(outcome.to_owned()),
        created_at: Set(now),
        source: Set("statement".to_owned()),
        statement_line_id: Set(Some(credit.line_id.clone())),
        callback_reference: Set(None),
    }
}

async fn insert_receipt<C: ConnectionTrait>(
    conn: &C,
    bill: &payment::Model,
    credit: &Credit,
    paid_at: DateTime<Utc>,
    outcome: &str,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let row = receipt_row(bill, credit, paid_at, outcome, now);
    let id = row.id.clone().unwrap();
    payment_receipt::Entity::insert(row)
        .exec_without_returning(conn)
        .await
        .map_err(matched_already)?;
    Ok(id)
}

/// A matched credit with no arrival waiting for it: pays the bill if it is still pending,
/// confirms a callback that arrived meanwhile, or is owed back.
async fn settle<C: ConnectionTrait>(
    conn: &C,
    bill: &payment::Model,
    credit: &Credit,
    confirm_first: bool,
    now: DateTime<Utc>,
) -> ApiResult<CreditOutcome> {
    if confirm_first && confirm_one(conn, &bill.id, &credit.line_id).await? {
        return Ok(CreditOutcome::Confirmed);
    }
    if let Some((paid, paid_at)) = take(conn, bill, credit, now).await? {
        insert_receipt(conn, &paid, credit, paid_at, "applied", now).await?;
        apply_payment(conn, &paid, paid_at, now).await?;
        return Ok(CreditOutcome::Paid);
    }
    let paid_at = wib_midnight_utc(credit.value_date).max(bill.created_at);
    // A callback may have paid it meanwhile (it committed while this waited for the row).
    if confirm_one(conn, &bill.id, &credit.line_id).await? {
        return Ok(CreditOutcome::Confirmed);
    }
    let receipt_id = insert_receipt(conn, bill, credit, paid_at, "refund_due", now).await?;
    let key = format!("{}:receipt:{receipt_id}", bill.id);
    peken_ledger::post_payment_confirmed(conn, &key, credit.amount, now)
        .await
        .map_err(ledger_error)?;
    owe_back(
        conn,
        bill,
        None,
        credit.amount,
        &format!("receipt:{receipt_id}"),
        "payment arrived for a bill that was no longer payable",
        now,
    )
    .await?;
    tracing::warn!(payment_id = %bill.id, "credit on the statement for an unpayable bill; refund recorded");
    Ok(CreditOutcome::RefundDue)
}

/// Whether a callback with this reference was recorded before, on its own or paired with a
/// statement's receipt.
pub(crate) async fn callback_seen<C: ConnectionTrait>(
    conn: &C,
    reference: &str,
) -> ApiResult<bool> {
    Ok(payment_receipt::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(payment_receipt::Column::ProviderReference.eq(reference.to_owned()))
                .add(payment_receipt::Column::CallbackReference.eq(reference.to_owned())),
        )
        .one(conn)
        .await?
        .is_some())
}

/// A callback for a bill whose money a statement credit recorded first: pairs it with the
/// oldest such receipt not yet paired, so it counts nothing again.
pub(crate) async fn pair_callback<C: ConnectionTrait>(
    conn: &C,
    bill_id: &str,
    notice: &Notice,
) -> ApiResult<bool> {
    let paired = sql::exec(
        conn,
        "UPDATE payment_receipts SET callback_reference = $1 WHERE id = \
         (SELECT id FROM payment_receipts WHERE payment_id = $2 AND source = 'statement' \
          AND callback_reference IS NULL AND amount = $3 ORDER BY created_at, id LIMIT 1) \
         AND callback_reference IS NULL",
        vec![
            notice.provider_reference.clone().into(),
            bill_id.into(),
            notice.amount.get().into(),
        ],
    )
    .await;
    match paired {
        Ok(n) => Ok(n == 1),
        // The same callback paired by a concurrent delivery: the caller answers a replay.
        Err(e) if peken_kernel::error::unique_violation(&e).is_some() => Err(ApiError::conflict(
            "reference_conflict",
            "this provider reference was recorded meanwhile",
        )),
        Err(e) => Err(e.into()),
    }
}

/// An arrival recorded by a callback or a verified proof that no statement credit confirms yet.
#[derive(Debug, Clone)]
pub struct Unconfirmed {
    pub receipt_id: String,
    pub payment_id: String,
    pub source: String,
    pub provider_reference: String,
    pub amount: Rupiah,
    pub paid_at: DateTime<Utc>,
    pub outcome: String,
    pub recorded_at: DateTime<Utc>,
}

/// Arrivals recorded before `before` that no statement credit confirms, oldest first, at most
/// `limit`.
pub async fn unconfirmed_receipts<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    limit: u64,
) -> ApiResult<Vec<Unconfirmed>> {
    use sea_orm::QuerySelect;
    Ok(payment_receipt::Entity::find()
        .filter(payment_receipt::Column::Source.is_in(AWAITING_BANK))
        .filter(payment_receipt::Column::StatementLineId.is_null())
        .filter(payment_receipt::Column::CreatedAt.lt(before))
        .order_by_asc(payment_receipt::Column::CreatedAt)
        .order_by_asc(payment_receipt::Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(|r| Unconfirmed {
            receipt_id: r.id,
            payment_id: r.payment_id,
            source: r.source,
            provider_reference: r.provider_reference,
            amount: Rupiah::new(r.amount),
            paid_at: r.paid_at,
            outcome: r.outcome,
            recorded_at: r.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::keys_of;

    #[test]
    fn narratives_yield_virtual_accounts_bill_numbers_and_words() {
        let k = keys_of("TRF VA 8808 1234 5678 9012 BUDI ref ABC123");
        assert!(k.va.contains(&"8808123456789012".to_owned()), "{k:?}");
        assert!(k.words.contains(&"ABC123".to_owned()));
        // A number glued to the next one by a space still yields the VA alone.
        let k = keys_of("VA 888101234567890123 50000");
        assert!(k.va.contains(&"888101234567890123".to_owned()), "{k:?}");
        let k = keys_of("QRIS 0190A1B2C3D47E8F9A0B1C2D3 x");
        assert_eq!(k.bill, vec!["0190a1b2-c3d4-7e8f-9a0b-1c2d3".to_owned()]);
        assert!(keys_of("no numbers here 123").va.is_empty());
    }
}

/// A bill a credit line could be matched to by hand.
#[derive(Debug, Clone)]
pub struct BillCandidate {
    pub payment_id: String,
    pub method: String,
    /// `pending`, `paid`, `expired`, `cancelled`, …
    pub status: String,
    pub va_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Bills of exactly `amount` that no statement credit has confirmed yet, newest first: the
/// choices offered for a manual match of a credit line of that amount (the match's own checks
/// still decide).
pub async fn bill_candidates<C: ConnectionTrait>(
    conn: &C,
    amount: i64,
    limit: u64,
) -> ApiResult<Vec<BillCandidate>> {
    let rows = sql::query(
        conn,
        "SELECT p.id, p.method, p.status, p.va_number, p.created_at FROM payments p \
         WHERE p.amount = $1 AND NOT EXISTS (SELECT 1 FROM payment_receipts r \
         WHERE r.payment_id = p.id AND r.statement_line_id IS NOT NULL) \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $2",
        vec![
            amount.into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BillCandidate {
                payment_id: r.try_get("", "id")?,
                method: r.try_get("", "method")?,
                status: r.try_get("", "status")?,
                va_number: r.try_get("", "va_number")?,
                created_at: r.try_get("", "created_at")?,
            })
        })
        .collect::<Result<_, sea_orm::DbErr>>()
        .map_err(Into::into)
}
