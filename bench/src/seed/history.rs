//! A history of completed orders, written as the server would have written it: checkout
//! (payment, orders, items, reservations), the provider's callback (receipt, sales, journal
//! entry), acceptance, shipping and receipt (completion journal entry and payable movement),
//! with every order's events. Running totals (stock, turnover, spend, balances) are kept here
//! and written at the end.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use peken_kernel::Rupiah;
use peken_kernel::period::Period;
use peken_ledger::{Account, TxnKind};
use sha2::{Digest, Sha256};

use super::city::City;
use super::data::COMMODITIES;
use super::sink::Sink;
use super::tables as t;
use crate::rng::Rng;

/// What the history added up to; written by `finish`.
#[derive(Default)]
pub struct Totals {
    pub orders: u64,
    pub checkouts: u64,
    pub items: u64,
    /// Gross turnover and order count per merchant and WIB month of payment.
    pub turnover: HashMap<(usize, Period), (i64, i64)>,
    /// Spend per ASN (buyer index) and WIB month of payment.
    pub spend: HashMap<(usize, Period), i64>,
    /// Completed gross per merchant and WIB year.
    pub years: HashMap<(usize, i32), i64>,
    /// Signed ledger balances by account code (debits positive).
    pub balances: HashMap<String, i64>,
    /// Payable movements (merchant, time, transaction, amount), numbered per merchant in time
    /// order when written at the end, as the server numbers them in commit order.
    pub movements: Vec<(usize, DateTime<Utc>, String, i64)>,
}

/// Rates applied at completion, as the policies in force say.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    pub fee_bps: u32,
    pub tax_bps: u32,
}

/// One row of an order's history: from, to, actor, actor's role, note, time.
type Event<'a> = (
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    &'a str,
    Option<&'a str>,
    DateTime<Utc>,
);

/// Everything one checkout needs besides the city.
struct Plan {
    created: DateTime<Utc>,
    buyer: usize,
    /// Per merchant: the listings and quantities bought.
    orders: Vec<(usize, Vec<(usize, i64)>)>,
}

pub struct Generator<'a> {
    pub sink: &'a mut Sink,
    pub city: &'a mut City,
    pub rates: Rates,
    pub va_prefix: String,
    pub totals: Totals,
    vas: HashSet<String>,
    rng: Rng,
}

impl<'a> Generator<'a> {
    pub fn new(sink: &'a mut Sink, city: &'a mut City, rng: &Rng, rates: Rates) -> Self {
        Generator {
            sink,
            city,
            rates,
            va_prefix: peken_kernel::policy::Policies::default().va_bank_prefix,
            totals: Totals::default(),
            vas: HashSet::new(),
            rng: rng.fork(2),
        }
    }

    /// Generates `orders` completed orders spread evenly over `since..until`.
    pub async fn run(
        &mut self,
        orders: u64,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let span = i128::from((until - since).num_milliseconds().max(1));
        let step = (span / i128::from(orders.max(1))).max(1);
        let mut reported = 0;
        while self.totals.orders < orders {
            let offset = span * i128::from(self.totals.orders) / i128::from(orders.max(1));
            let jitter = i128::from(self.rng.below(step as u64));
            let created = since + Duration::milliseconds((offset + jitter) as i64);
            let left = orders - self.totals.orders;
            let Some(plan) = self.plan(created, left) else {
                continue;
            };
            self.write(&plan).await?;
            let tenth = self.totals.orders * 10 / orders.max(1);
            if tenth > reported {
                reported = tenth;
                eprintln!("  {} of {orders} orders", self.totals.orders);
            }
        }
        Ok(())
    }

    /// Chooses a buyer, one to three shops (mostly in the buyer's kecamatan) and one to five
    /// items.
    fn plan(&mut self, created: DateTime<Utc>, left: u64) -> Option<Plan> {
        let r = &mut self.rng;
        let city = &*self.city;
        let buyer = r.weighted(&city.buyer_weights);
        let shops = match r.below(100) {
            0..65 => 1,
            65..90 => 2,
            _ => 3,
        }
        .min(left as usize);
        let home = &city.kecamatans[city.buyers[buyer].kecamatan];
        let mut chosen: Vec<usize> = Vec::with_capacity(shops);
        for _ in 0..20 {
            if chosen.len() == shops {
                break;
            }
            let m = if !home.merchants.is_empty() && r.chance(880) {
                home.merchants[r.weighted(&home.weights)]
            } else {
                r.weighted(&city.merchant_weights)
            };
            if !city.merchants[m].listings.is_empty() && !chosen.contains(&m) {
                chosen.push(m);
            }
        }
        if chosen.is_empty() {
            return None;
        }
        let items = (r.range(1, 5) as usize).max(chosen.len());
        let mut per_shop = vec![1_usize; chosen.len()];
        for _ in chosen.len()..items {
            per_shop[r.index(chosen.len())] += 1;
        }
        let mut orders = Vec::with_capacity(chosen.len());
        for (m, want) in chosen.into_iter().zip(per_shop) {
            let listings = &city.merchants[m].listings;
            let mut lines: Vec<(usize, i64)> = Vec::with_capacity(want);
            for _ in 0..want * 3 {
                if lines.len() == want.min(listings.len()) {
                    break;
                }
                let l = *r.pick(listings);
                if lines.iter().any(|(x, _)| *x == l) {
                    continue;
                }
                let limit = COMMODITIES[city.listings[l].commodity]
                    .ration
                    .map_or(3, i64::from);
                lines.push((l, r.range(1, limit.min(3))));
            }
            orders.push((m, lines));
        }
        Some(Plan {
            created,
            buyer,
            orders,
        })
    }

    async fn write(&mut self, plan: &Plan) -> anyhow::Result<()> {
        let created = plan.created;
        let r = &mut self.rng;
        let paid = created + Duration::seconds(r.range(30, 1800));
        let provider_paid = paid - Duration::seconds(r.range(1, 20));
        let period = Period::of(provider_paid.max(created).min(paid));
        let checkout_id = r.id_at(created);
        let payment_id = r.id_at(created);
        let buyer_id = self.city.buyers[plan.buyer].id.clone();
        let asn = self.city.buyers[plan.buyer].asn;
        let reference = format!("PRV{}", payment_id.replace('-', "").to_uppercase());

        let mut amount = 0_i64;
        let mut order_rows = Vec::with_capacity(plan.orders.len());
        for (m, lines) in &plan.orders {
            let order_id = self.rng.id_at(created);
            let mut total = 0;
            for (l, q) in lines {
                total += self.city.listings[*l].price * q;
            }
            amount += total;
            order_rows.push((*m, order_id, total, lines));
        }

        let va = self
            .rng
            .chance(400)
            .then(|| va_number(&self.va_prefix, &payment_id));
        let va = va.filter(|v| self.vas.insert(v.clone()));
        let qris = va
            .is_none()
            .then(|| peken_order::qris::payload(&payment_id, Rupiah::new(amount)));
        let method = if va.is_some() { "va" } else { "qris" };
        self.sink
            .row(
                &t::PAYMENTS,
                &[
                    (&payment_id).into(),
                    (&checkout_id).into(),
                    (&buyer_id).into(),
                    method.into(),
                    amount.into(),
                    "paid".into(),
                    va.as_deref().into(),
                    qris.as_deref().into(),
                    (created + Duration::minutes(120)).into(),
                    (&reference).into(),
                    provider_paid.into(),
                    paid.into(),
                    "none".into(),
                    created.into(),
                    paid.into(),
                ],
            )
            .await?;
        let receipt_id = self.rng.id_at(paid);
        self.sink
            .row(
                &t::PAYMENT_RECEIPTS,
                &[
                    (&receipt_id).into(),
                    (&payment_id).into(),
                    (&reference).into(),
                    amount.into(),
                    provider_paid.into(),
                    "applied".into(),
                    paid.into(),
                ],
            )
            .await?;
        let txn_id = self.rng.id_at(paid);
        self.post(
            &txn_id,
            &format!("payment:{payment_id}:confirmed"),
            TxnKind::PaymentConfirmed,
            paid,
            (None, None, Some(&payment_id)),
            (amount, 0),
            &[
                (Account::Collection, amount),
                (Account::BuyerFundsHeld, -amount),
            ],
        )
        .await?;
        self.totals.checkouts += 1;

        for (m, order_id, total, lines) in order_rows {
            self.order(
                &order_id,
                m,
                total,
                lines,
                (created, paid),
                &buyer_id,
                asn,
                plan.buyer,
                period,
                &checkout_id,
                &payment_id,
            )
            .await?;
        }
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one order of a checkout, field by field"
    )]
    async fn order(
        &mut self,
        order_id: &str,
        m: usize,
        total: i64,
        lines: &[(usize, i64)],
        (created, paid): (DateTime<Utc>, DateTime<Utc>),
        buyer_id: &str,
        asn: bool,
        buyer: usize,
        period: Period,
        checkout_id: &str,
        payment_id: &str,
    ) -> anyhow::Result<()> {
        let r = &mut self.rng;
        let accepted = paid + Duration::minutes(r.range(10, 360));
        let shipped = accepted + Duration::minutes(r.range(30, 1440));
        let completed = shipped + Duration::minutes(r.range(30, 2880));
        let delivery = r.chance(700);
        let address = delivery.then(|| format!("Jl. Kenanga No. {}", r.range(1, 300)));
        let merchant_id = self.city.merchants[m].id.clone();
        let owner_id = self.city.merchants[m].owner_id.clone();
        let period_text = period.to_string();
        self.sink
            .row(
                &t::ORDERS,
                &[
                    order_id.into(),
                    checkout_id.into(),
                    payment_id.into(),
                    buyer_id.into(),
                    (if asn { "asn" } else { "public" }).into(),
                    (&merchant_id).into(),
                    "completed".into(),
                    total.into(),
                    (if delivery { "delivery" } else { "pickup" }).into(),
                    address.as_deref().into(),
                    paid.into(),
                    (&period_text).into(),
                    accepted.into(),
                    shipped.into(),
                    completed.into(),
                    created.into(),
                    completed.into(),
                ],
            )
            .await?;
        for (l, q) in lines {
            self.item(order_id, *l, *q, (created, paid), buyer_id, &owner_id)
                .await?;
        }
        let events: [Event<'_>; 5] = [
            (
                None,
                "awaiting_payment",
                Some(buyer_id),
                "buyer",
                Some("checkout"),
                created,
            ),
            (
                Some("awaiting_payment"),
                "paid",
                None,
                "payment",
                None,
                paid,
            ),
            (
                Some("paid"),
                "accepted",
                Some(&owner_id),
                "merchant",
                None,
                accepted,
            ),
            (
                Some("accepted"),
                "shipped",
                Some(&owner_id),
                "merchant",
                None,
                shipped,
            ),
            (
                Some("shipped"),
                "completed",
                Some(buyer_id),
                "buyer",
                None,
                completed,
            ),
        ];
        for (from, to, actor, role, note, at) in events {
            let id = self.rng.id_at(at);
            self.sink
                .row(
                    &t::ORDER_EVENTS,
                    &[
                        (&id).into(),
                        order_id.into(),
                        from.into(),
                        to.into(),
                        actor.into(),
                        role.into(),
                        note.into(),
                        at.into(),
                    ],
                )
                .await?;
        }

        let turnover = self.totals.turnover.entry((m, period)).or_default();
        turnover.0 += total;
        turnover.1 += 1;
        if asn {
            *self.totals.spend.entry((buyer, period)).or_default() += total;
        }
        let (net, fee, tax) = peken_ledger::split_completed(
            Rupiah::new(total),
            self.rates.fee_bps,
            self.rates.tax_bps,
        )?;
        let mut entries = vec![(Account::BuyerFundsHeld, total)];
        for (account, part) in [
            (Account::MerchantPayable(merchant_id.clone()), net),
            (Account::PlatformFee, fee),
            (Account::TaxWithheld, tax),
        ] {
            if part.get() != 0 {
                entries.push((account, -part.get()));
            }
        }
        let txn_id = self.rng.id_at(completed);
        self.post(
            &txn_id,
            &format!("order:{order_id}:completed"),
            TxnKind::OrderCompleted,
            completed,
            (Some(order_id), Some(&merchant_id), None),
            (total, total),
            &entries,
        )
        .await?;
        if net.get() != 0 {
            self.totals
                .movements
                .push((m, completed, txn_id, net.get()));
        }
        *self
            .totals
            .years
            .entry((m, Period::of(completed).year()))
            .or_default() += total;
        self.totals.orders += 1;
        Ok(())
    }

    /// One line: the item, its reservation at checkout and its sale at payment (restocking first
    /// when the shop ran low).
    async fn item(
        &mut self,
        order_id: &str,
        l: usize,
        quantity: i64,
        (created, paid): (DateTime<Utc>, DateTime<Utc>),
        buyer_id: &str,
        owner_id: &str,
    ) -> anyhow::Result<()> {
        let listing = &self.city.listings[l];
        let commodity = &COMMODITIES[listing.commodity];
        let listing_id = listing.id.clone();
        let price = listing.price;
        let item_id = self.rng.id_at(created);
        self.sink
            .row(
                &t::ORDER_ITEMS,
                &[
                    (&item_id).into(),
                    order_id.into(),
                    (&listing_id).into(),
                    // Each listing sells the product with its own id.
                    (&listing_id).into(),
                    (&self.city.commodity_ids[listing.commodity]).into(),
                    commodity.name.into(),
                    commodity.unit.into(),
                    quantity.into(),
                    price.into(),
                    (price * quantity).into(),
                ],
            )
            .await?;
        if self.city.listings[l].stock < quantity {
            let restock = self.rng.range(100, 400) + quantity;
            let at = created - Duration::minutes(self.rng.range(5, 120));
            self.city.listings[l].stock += restock;
            let after = self.city.listings[l].stock;
            self.movement(
                &listing_id,
                "restock",
                restock,
                restock,
                after,
                None,
                Some("barang datang"),
                Some(owner_id),
                at,
            )
            .await?;
        }
        self.city.listings[l].stock -= quantity;
        let after = self.city.listings[l].stock;
        self.movement(
            &listing_id,
            "reservation",
            -quantity,
            quantity,
            after,
            Some(order_id),
            Some("reserved at checkout"),
            Some(buyer_id),
            created,
        )
        .await?;
        self.movement(
            &listing_id,
            "sale",
            0,
            quantity,
            after,
            Some(order_id),
            Some("paid"),
            None,
            paid,
        )
        .await?;
        self.totals.items += 1;
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one movement row, field by field"
    )]
    pub async fn movement(
        &mut self,
        listing_id: &str,
        kind: &str,
        delta: i64,
        units: i64,
        after: i64,
        order_id: Option<&str>,
        note: Option<&str>,
        actor: Option<&str>,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let id = self.rng.id_at(at);
        self.sink
            .row(
                &t::STOCK_MOVEMENTS,
                &[
                    (&id).into(),
                    listing_id.into(),
                    kind.into(),
                    delta.into(),
                    units.into(),
                    after.into(),
                    order_id.map(|_| "order").into(),
                    order_id.into(),
                    note.into(),
                    actor.into(),
                    at.into(),
                ],
            )
            .await
    }
}

/// The server's virtual account number for a payment: the bank's prefix and twelve digits
/// derived from the payment id.
fn va_number(prefix: &str, payment_id: &str) -> String {
    let digest = Sha256::digest(payment_id.as_bytes());
    let mut n: u64 = 0;
    for byte in &digest[..8] {
        n = (n << 8) | u64::from(*byte);
    }
    format!("{prefix}{:012}", n % 1_000_000_000_000)
}
