//! Whether each ASN short of a month's minimum was reminded: the mandate reminder worker
//! (`mandate::send_reminders`) queues one mail per ASN and month under [`reminder_key`], and the
//! outbox says whether it went.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use peken_kernel::period::Period;
use peken_kernel::{ApiResult, AppState};

/// The outbox dedupe key of an ASN's reminder for a month: at most one per ASN and month.
pub fn reminder_key(period: Period, user_id: &str) -> String {
    format!("mandate:{period}:{user_id}:reminder")
}

/// One ASN's reminder for a month.
#[derive(Debug, Clone)]
pub struct AsnReminder {
    /// The outbox's status: `pending` (queued, not yet delivered), `sent` or `failed`.
    pub status: String,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The month's reminders of these ASN, by user id; an ASN not reminded is absent.
pub async fn reminders_of(
    state: &AppState,
    period: Period,
    user_ids: &[String],
) -> ApiResult<HashMap<String, AsnReminder>> {
    let by_key: HashMap<String, &String> = user_ids
        .iter()
        .map(|id| (reminder_key(period, id), id))
        .collect();
    let keys: Vec<String> = by_key.keys().cloned().collect();
    Ok(peken_mail::service::deliveries(&state.db, &keys)
        .await?
        .into_iter()
        .filter_map(|d| {
            let user = by_key.get(&d.dedupe_key)?;
            Some((
                (*user).clone(),
                AsnReminder {
                    status: d.status,
                    queued_at: d.queued_at,
                    sent_at: d.sent_at,
                },
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reminder_key_names_the_month_and_the_asn() {
        let period = Period::parse("2026-03").unwrap_or_else(|_| unreachable!());
        assert_eq!(reminder_key(period, "u1"), "mandate:2026-03:u1:reminder");
    }
}
