//! The order state machine: which action moves an order from which states to which, and who may
//! take it. Pure rules; the store applies them with conditional updates.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// An OPD order above its OPD's threshold, waiting for the PPK.
    AwaitingApproval,
    AwaitingPayment,
    Paid,
    Accepted,
    Shipped,
    Completed,
    Cancelled,
    Rejected,
    Disputed,
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::AwaitingApproval,
        OrderStatus::AwaitingPayment,
        OrderStatus::Paid,
        OrderStatus::Accepted,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
        OrderStatus::Disputed,
        OrderStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::AwaitingApproval => "awaiting_approval",
            OrderStatus::AwaitingPayment => "awaiting_payment",
            OrderStatus::Paid => "paid",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Disputed => "disputed",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Who takes an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Buyer,
    Merchant,
    Admin,
    /// The payment provider's callback or a treasury verification.
    Payment,
    /// A background worker (expiry, auto-completion).
    System,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Buyer => "buyer",
            Actor::Merchant => "merchant",
            Actor::Admin => "admin",
            Actor::Payment => "payment",
            Actor::System => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ConfirmPayment,
    Expire,
    Cancel,
    Accept,
    Reject,
    Ship,
    ConfirmReceipt,
    AutoComplete,
    Dispute,
    ResolveCompleted,
    ResolveRefunded,
    /// The OPD's PPK approves an order waiting for approval.
    Approve,
    /// The OPD's PPK rejects it, with a reason.
    Decline,
    /// Nobody approved it in time.
    ExpireApproval,
}

impl Action {
    /// The states the action may start from.
    pub fn from(self) -> &'static [OrderStatus] {
        use OrderStatus as S;
        match self {
            Action::ConfirmPayment | Action::Expire => &[S::AwaitingPayment],
            Action::Cancel => &[S::AwaitingPayment, S::Paid],
            Action::Accept | Action::Reject => &[S::Paid],
            Action::Ship => &[S::Accepted],
            Action::ConfirmReceipt | Action::AutoComplete | Action::Dispute => &[S::Shipped],
            Action::ResolveCompleted | Action::ResolveRefunded => &[S::Disputed],
            Action::Approve | Action::Decline | Action::ExpireApproval => &[S::AwaitingApproval],
        }
    }

    pub fn to(self) -> OrderStatus {
        use OrderStatus as S;
        match self {
            Action::ConfirmPayment => S::Paid,
            Action::Approve => S::AwaitingPayment,
            Action::Expire | Action::Cancel | Action::Decline | Action::ExpireApproval => {
                S::Cancelled
            }
            Action::Accept => S::Accepted,
            Action::Reject => S::Rejected,
            Action::Ship => S::Shipped,
            Action::ConfirmReceipt | Action::AutoComplete | Action::ResolveCompleted => {
                S::Completed
            }
            Action::Dispute => S::Disputed,
            Action::ResolveRefunded => S::Refunded,
        }
    }

    pub fn actor(self) -> Actor {
        match self {
            Action::ConfirmPayment => Actor::Payment,
            Action::Expire | Action::AutoComplete | Action::ExpireApproval => Actor::System,
            Action::Cancel
            | Action::ConfirmReceipt
            | Action::Dispute
            | Action::Approve
            | Action::Decline => Actor::Buyer,
            Action::Accept | Action::Reject | Action::Ship => Actor::Merchant,
            Action::ResolveCompleted | Action::ResolveRefunded => Actor::Admin,
        }
    }

    /// The timestamp column the transition sets.
    pub fn timestamp_column(self) -> Option<&'static str> {
        match self.to() {
            OrderStatus::Paid => Some("paid_at"),
            OrderStatus::Accepted => Some("accepted_at"),
            OrderStatus::Shipped => Some("shipped_at"),
            OrderStatus::Completed => Some("completed_at"),
            OrderStatus::Cancelled | OrderStatus::Rejected => Some("cancelled_at"),
            OrderStatus::Refunded => Some("refunded_at"),
            OrderStatus::AwaitingApproval
            | OrderStatus::AwaitingPayment
            | OrderStatus::Disputed => None,
        }
    }

    pub fn allowed_from(self, status: OrderStatus) -> bool {
        self.from().contains(&status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [Action; 14] = [
        Action::Approve,
        Action::Decline,
        Action::ExpireApproval,
        Action::ConfirmPayment,
        Action::Expire,
        Action::Cancel,
        Action::Accept,
        Action::Reject,
        Action::Ship,
        Action::ConfirmReceipt,
        Action::AutoComplete,
        Action::Dispute,
        Action::ResolveCompleted,
        Action::ResolveRefunded,
    ];

    #[test]
    fn terminal_states_have_no_way_out() {
        for terminal in [
            OrderStatus::Completed,
            OrderStatus::Cancelled,
            OrderStatus::Rejected,
            OrderStatus::Refunded,
        ] {
            assert!(
                ACTIONS.iter().all(|a| !a.allowed_from(terminal)),
                "{terminal:?} must be terminal"
            );
        }
    }

    #[test]
    fn the_buyer_cancels_only_before_acceptance() {
        assert!(Action::Cancel.allowed_from(OrderStatus::AwaitingPayment));
        assert!(Action::Cancel.allowed_from(OrderStatus::Paid));
        assert!(!Action::Cancel.allowed_from(OrderStatus::Accepted));
        assert!(!Action::Cancel.allowed_from(OrderStatus::Shipped));
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(OrderStatus::parse("lost"), None);
    }
}
