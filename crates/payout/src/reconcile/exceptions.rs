//! The exceptions list: what reconciliation could not settle by itself.

use chrono::{DateTime, Utc};
use peken_kernel::ApiResult;
use peken_kernel::period::{WorkingCalendar, wib_date};
use peken_kernel::sql;
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::manual::{ProposalView, proposals};
use super::{ITEM_SELECT, LINE_SELECT, LineView, OVERDUE_WORKING_DAYS, line_row};
use crate::batches::item_row;
use crate::views::ItemView;

/// An approved payout not yet seen on any statement after the allowed working days.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OverdueItem {
    #[serde(flatten)]
    pub item: ItemView,
    /// Working days since approval.
    pub working_days_in_transit: i64,
}

/// What reconciliation could not settle by itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Exceptions {
    /// Statement lines no payout explains (debits by default; see `direction`).
    pub unmatched_lines: Vec<LineView>,
    /// Approved payouts in transit for longer than the allowed working days.
    pub overdue_items: Vec<OverdueItem>,
    /// Manual matches waiting for a second treasury user.
    pub pending_matches: Vec<ProposalView>,
    /// True when a list was cut at `limit`.
    pub truncated: bool,
}

/// The exceptions: unmatched lines of the given direction (all when `None`), overdue items and
/// pending manual matches, each list at most `limit` long.
pub async fn exceptions<C: ConnectionTrait>(
    conn: &C,
    calendar: &WorkingCalendar,
    direction: Option<&str>,
    limit: u64,
    now: DateTime<Utc>,
) -> ApiResult<Exceptions> {
    let fetch = limit as i64 + 1;
    let rows = match direction {
        Some(d) => {
            sql::query(
                conn,
                format!(
                    "{LINE_SELECT} WHERE status = 'unmatched' AND direction = $1 \
                     ORDER BY value_date, id LIMIT $2"
                ),
                vec![d.into(), fetch.into()],
            )
            .await?
        }
        None => {
            sql::query(
                conn,
                format!(
                    "{LINE_SELECT} WHERE status = 'unmatched' ORDER BY value_date, id LIMIT $1"
                ),
                vec![fetch.into()],
            )
            .await?
        }
    };
    let mut unmatched_lines: Vec<LineView> = rows.iter().map(line_row).collect::<Result<_, _>>()?;
    let mut truncated = unmatched_lines.len() as u64 > limit;
    unmatched_lines.truncate(limit as usize);

    let today = wib_date(now);
    let rows = sql::query(
        conn,
        format!("{ITEM_SELECT} WHERE status = 'approved' ORDER BY approved_at, id"),
        vec![],
    )
    .await?;
    let mut overdue_items = Vec::new();
    for r in &rows {
        let item = item_row(r)?;
        let Some(approved) = item.approved_at else {
            continue;
        };
        let waited = calendar.working_days_between(wib_date(approved), today);
        if waited > i64::from(OVERDUE_WORKING_DAYS) {
            if overdue_items.len() as u64 == limit {
                truncated = true;
                break;
            }
            overdue_items.push(OverdueItem {
                item,
                working_days_in_transit: waited,
            });
        }
    }
    let pending_matches = proposals(conn, Some("pending")).await?;
    Ok(Exceptions {
        unmatched_lines,
        overdue_items,
        pending_matches,
        truncated,
    })
}
