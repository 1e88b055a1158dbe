//! Messages about payouts, written to the mail outbox inside the caller's transaction: the
//! remittance advice to each merchant paid by an approved batch, and the failure notice to
//! treasury when the bank returns a payout.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_identity::people;
use peken_kernel::Rupiah;
use peken_kernel::auth::Role;
use peken_kernel::period::wib_date;
use peken_mail::{Mail, RemittanceLine, Template};
use sea_orm::{ConnectionTrait, DbErr};

use peken_merchant::facts::MerchantFacts;

/// An approved item as the advice describes it.
pub struct Advice<'a> {
    pub item_id: &'a str,
    pub batch_id: &'a str,
    pub reference: &'a str,
    pub merchant: &'a MerchantFacts,
    pub amount: i64,
    pub lines: Vec<RemittanceLine>,
}

/// Enqueues one remittance advice per approved item, to the merchant owner's e-mail, in
/// multi-row inserts. Owners without an e-mail address get none; the advice is a courtesy, the
/// transfer remark carries the reference anyway.
pub async fn remittance_advice<C: ConnectionTrait>(
    conn: &C,
    advices: Vec<Advice<'_>>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let owners: Vec<String> = advices
        .iter()
        .map(|a| a.merchant.owner_user_id.clone())
        .collect();
    let emails = emails_of(conn, &owners).await?;
    let mut mails = Vec::with_capacity(advices.len());
    for advice in advices {
        let Some((name, email)) = emails.get(&advice.merchant.owner_user_id) else {
            continue;
        };
        let mail = Mail {
            to: email.clone(),
            to_name: Some(name.clone()),
            user_id: Some(advice.merchant.owner_user_id.clone()),
            template: Template::RemittanceAdvice {
                merchant_name: advice.merchant.name.clone(),
                batch_id: advice.batch_id.to_owned(),
                reference: advice.reference.to_owned(),
                items: advice.lines,
                total: Rupiah::new(advice.amount),
            },
            dedupe_key: format!("payout_item:{}:remittance", advice.item_id),
        };
        mails.push(mail);
    }
    peken_mail::enqueue_many(conn, mails, now).await?;
    Ok(())
}

/// A completed order paid by a remittance, as one line of the advice.
pub fn remittance_line(order_id: &str, completed_at: DateTime<Utc>, amount: i64) -> RemittanceLine {
    RemittanceLine {
        order_id: order_id.to_owned(),
        completed_on: wib_date(completed_at),
        amount: Rupiah::new(amount),
    }
}

/// Tells every active treasury user that the bank returned a payout and the merchant is held.
pub async fn payout_failure_notice<C: ConnectionTrait>(
    conn: &C,
    item_id: &str,
    merchant_name: &str,
    reference: &str,
    amount: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let treasury = people::active_with_role(conn, Role::Treasury).await?;
    for person in treasury {
        let Some(email) = person.email else {
            continue;
        };
        let mail = Mail {
            to: email,
            to_name: Some(person.name),
            user_id: Some(person.id.clone()),
            template: Template::PayoutFailed {
                merchant_name: merchant_name.to_owned(),
                reference: reference.to_owned(),
                amount: Rupiah::new(amount),
                reason: reason.to_owned(),
            },
            dedupe_key: format!("payout_item:{item_id}:failed:{}", person.id),
        };
        peken_mail::enqueue(conn, mail, now).await?;
    }
    Ok(())
}

/// (name, e-mail) of the given users that have an e-mail address.
async fn emails_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[String],
) -> Result<HashMap<String, (String, String)>, DbErr> {
    Ok(people::find_many(conn, ids)
        .await?
        .into_iter()
        .filter_map(|p| p.email.map(|email| (p.id, (p.name, email))))
        .collect())
}
