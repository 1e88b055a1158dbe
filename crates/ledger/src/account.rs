//! The chart of accounts and the sign convention.
//!
//! Every entry is a signed amount of whole rupiah: a **debit is positive, a credit negative**.
//! An account's stored balance is the plain sum of its entries, so the balances of all accounts
//! sum to zero exactly when every transaction does. `collection` (the city's bank account) is the
//! only asset and normally carries a debit (positive) balance; every other account is something
//! the city owes or has earned and normally carries a credit (negative) balance. The API shows
//! both the signed balance and the balance on the account's normal side.

use std::fmt;

/// Where money sits. The textual [`Account::code`] is stable: it is stored in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// The city's collection account at the bank (an asset).
    Collection,
    /// Buyers' money held until receipt.
    BuyerFundsHeld,
    /// What the city owes one merchant.
    MerchantPayable(String),
    /// Payouts approved and sent to the bank but not yet seen on a statement.
    PayoutInTransit,
    /// The platform's fee income.
    PlatformFee,
    /// Tax withheld from merchants, owed to the tax office.
    TaxWithheld,
    /// Refunds owed to buyers.
    RefundsPayable,
    /// Money whose destination is not known yet.
    Suspense,
}

/// Which side of zero an account's balance normally sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormalSide {
    Debit,
    Credit,
}

impl NormalSide {
    pub fn as_str(self) -> &'static str {
        match self {
            NormalSide::Debit => "debit",
            NormalSide::Credit => "credit",
        }
    }

    /// The balance as seen from the normal side: positive when the account holds what it
    /// should (money in the bank, money owed to someone).
    pub fn normal_balance(self, signed: i64) -> i64 {
        match self {
            NormalSide::Debit => signed,
            NormalSide::Credit => signed.saturating_neg(),
        }
    }
}

impl Account {
    /// The kinds, in the order reports list them.
    pub const KINDS: [&'static str; 8] = [
        "collection",
        "buyer_funds_held",
        "merchant_payable",
        "payout_in_transit",
        "platform_fee",
        "tax_withheld",
        "refunds_payable",
        "suspense",
    ];

    /// The stable code stored in the journal: `collection`, `merchant_payable:{merchant id}`, …
    pub fn code(&self) -> String {
        match self {
            Account::MerchantPayable(id) => format!("merchant_payable:{id}"),
            other => other.kind().to_owned(),
        }
    }

    /// The kind, without the merchant id.
    pub fn kind(&self) -> &'static str {
        match self {
            Account::Collection => "collection",
            Account::BuyerFundsHeld => "buyer_funds_held",
            Account::MerchantPayable(_) => "merchant_payable",
            Account::PayoutInTransit => "payout_in_transit",
            Account::PlatformFee => "platform_fee",
            Account::TaxWithheld => "tax_withheld",
            Account::RefundsPayable => "refunds_payable",
            Account::Suspense => "suspense",
        }
    }

    pub fn merchant_id(&self) -> Option<&str> {
        match self {
            Account::MerchantPayable(id) => Some(id),
            _ => None,
        }
    }

    /// True for the accounts of the whole city (every one but the merchant payables): their
    /// balance is kept in stripes, since many concurrent postings change them.
    pub fn is_city_wide(&self) -> bool {
        !matches!(self, Account::MerchantPayable(_))
    }

    pub fn normal_side(&self) -> NormalSide {
        match self {
            Account::Collection | Account::Suspense => NormalSide::Debit,
            _ => NormalSide::Credit,
        }
    }

    /// The guard kept by the database: 1 when the signed balance may not go below zero, -1 when
    /// it may not go above zero, 0 when it may take either sign.
    ///
    /// Every liability and income account must stay on its credit side: a merchant is never
    /// owed less than nothing, and no more can leave buyer funds, payouts in transit or refunds
    /// than came in. The collection account is left unguarded because the ledger may not know
    /// the bank's opening balance; the daily close compares it with the bank instead. Suspense
    /// holds unexplained money of either sign by definition. Tax withheld takes either sign
    /// too: tax the marketplace collects is a credit, tax a government buyer withheld (and
    /// remitted itself) from a bill is a debit until its order completes
    /// (`postings::post_withholding`).
    pub fn floor_sign(&self) -> i32 {
        match self {
            Account::Collection | Account::Suspense | Account::TaxWithheld => 0,
            _ => -1,
        }
    }

    /// Reads a stored code back.
    pub fn parse(code: &str) -> Option<Account> {
        if let Some(id) = code.strip_prefix("merchant_payable:") {
            return (!id.is_empty()).then(|| Account::MerchantPayable(id.to_owned()));
        }
        Some(match code {
            "collection" => Account::Collection,
            "buyer_funds_held" => Account::BuyerFundsHeld,
            "payout_in_transit" => Account::PayoutInTransit,
            "platform_fee" => Account::PlatformFee,
            "tax_withheld" => Account::TaxWithheld,
            "refunds_payable" => Account::RefundsPayable,
            "suspense" => Account::Suspense,
            _ => return None,
        })
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let all = [
            Account::Collection,
            Account::BuyerFundsHeld,
            Account::MerchantPayable("m-1".into()),
            Account::PayoutInTransit,
            Account::PlatformFee,
            Account::TaxWithheld,
            Account::RefundsPayable,
            Account::Suspense,
        ];
        for account in all {
            assert_eq!(Account::parse(&account.code()), Some(account.clone()));
            assert!(Account::KINDS.contains(&account.kind()));
        }
        assert_eq!(
            Account::MerchantPayable("abc".into()).code(),
            "merchant_payable:abc"
        );
        assert_eq!(Account::parse("merchant_payable:"), None);
        assert_eq!(Account::parse("bank"), None);
    }

    #[test]
    fn only_the_bank_account_is_debit_normal_among_guarded_ones() {
        assert_eq!(Account::Collection.normal_side(), NormalSide::Debit);
        assert_eq!(Account::RefundsPayable.normal_side(), NormalSide::Credit);
        assert_eq!(NormalSide::Credit.normal_balance(-500), 500);
        assert_eq!(Account::MerchantPayable("m".into()).floor_sign(), -1);
        assert_eq!(Account::Collection.floor_sign(), 0);
    }
}
