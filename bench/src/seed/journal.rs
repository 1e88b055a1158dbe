//! The journal rows of the generated history: a transaction, its entries (balanced), and the
//! running balances they add up to.

use chrono::{DateTime, Utc};
use peken_kernel::period::Period;
use peken_ledger::{Account, TxnKind};

use super::history::Generator;
use super::sink::Cell;
use super::tables as t;

impl Generator<'_> {
    /// A journal transaction and its entries, and the running balances.
    #[expect(
        clippy::too_many_arguments,
        reason = "one journal transaction, field by field"
    )]
    pub(super) async fn post(
        &mut self,
        txn_id: &str,
        key: &str,
        kind: TxnKind,
        at: DateTime<Utc>,
        (order_id, merchant_id, payment_id): (Option<&str>, Option<&str>, Option<&str>),
        (amount, turnover): (i64, i64),
        entries: &[(Account, i64)],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(
            entries.iter().map(|(_, a)| *a).sum::<i64>() == 0,
            "unbalanced posting {key}"
        );
        let period = Period::of(at).to_string();
        self.sink
            .row(
                &t::LEDGER_TRANSACTIONS,
                &[
                    txn_id.into(),
                    key.into(),
                    kind.as_str().into(),
                    at.into(),
                    (&period).into(),
                    order_id.into(),
                    merchant_id.into(),
                    payment_id.into(),
                    amount.into(),
                    turnover.into(),
                    at.into(),
                ],
            )
            .await?;
        for (line, (account, amount)) in entries.iter().enumerate() {
            let code = account.code();
            self.sink
                .row(
                    &t::LEDGER_ENTRIES,
                    &[
                        txn_id.into(),
                        Cell::Int(Some(line as i64 + 1)),
                        (&code).into(),
                        account.kind().into(),
                        account.merchant_id().into(),
                        (*amount).into(),
                        at.into(),
                    ],
                )
                .await?;
            *self.totals.balances.entry(code).or_default() += amount;
        }
        Ok(())
    }
}
