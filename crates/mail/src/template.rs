//! The messages peken sends and their rendering. The wording lives in `templates/` (plain text
//! with a `Subject:` line, and an HTML fragment); this module only fills in `{{name}}` values.
//! Values are escaped in the HTML part; the lists of items are built here, escaped cell by cell.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use peken_kernel::Rupiah;

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The recipient's address.
    pub to: String,
    pub to_name: Option<String>,
    /// The recipient's user id, when the recipient is a user: the event then also writes an
    /// entry to their inbox and a push message to each of their devices (see
    /// [`Template::notice`]).
    pub user_id: Option<String>,
    pub template: Template,
    /// The event's natural key, e.g. `order:{id}:paid:buyer`. It is unique: an event enqueued
    /// twice is stored once and sent once.
    pub dedupe_key: String,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailItem {
    pub name: String,
    pub quantity: i64,
    pub unit: String,
    pub price: Rupiah,
    pub line_total: Rupiah,
}

/// One completed order paid out in a remittance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemittanceLine {
    pub order_id: String,
    /// The WIB date on which the order completed.
    pub completed_on: NaiveDate,
    pub amount: Rupiah,
}

/// One listing at or below its low-stock threshold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowStockLine {
    pub listing_id: String,
    pub product_name: String,
    pub unit: String,
    pub stock: i64,
    pub threshold: i64,
}

/// One of a shop's listings priced above a lowered HET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedListing {
    pub listing_id: String,
    pub price: Rupiah,
}

/// Every kind of message, with what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// To the buyer: payment confirmed.
    OrderPaid {
        order_id: String,
        buyer_name: String,
        merchant_name: String,
        items: Vec<MailItem>,
        total: Rupiah,
    },
    /// To the buyer: the merchant accepted the order, perhaps with some units short. `short`
    /// lists the units the shop cannot supply (quantity and value of the short units only) and
    /// `refund` what they cost, refunded; both are empty and zero for a whole acceptance.
    OrderAccepted {
        order_id: String,
        buyer_name: String,
        merchant_name: String,
        short: Vec<MailItem>,
        refund: Rupiah,
    },
    /// To the buyer: the merchant rejected the order; the money goes back.
    OrderRejected {
        order_id: String,
        buyer_name: String,
        merchant_name: String,
        reason: String,
        refund: Rupiah,
    },
    /// To the buyer: shipped (`method` = `delivery`) or ready for pickup (`pickup`).
    OrderShipped {
        order_id: String,
        buyer_name: String,
        merchant_name: String,
        method: String,
    },
    /// To the buyer: receipt confirmed or the confirmation window passed.
    OrderCompleted {
        order_id: String,
        buyer_name: String,
        merchant_name: String,
        total: Rupiah,
    },
    /// To the buyer: money returned (e.g. a dispute resolved in the buyer's favour).
    OrderRefunded {
        order_id: String,
        buyer_name: String,
        amount: Rupiah,
        reason: String,
    },
    /// To the merchant: a new paid order to accept or reject.
    MerchantNewOrder {
        order_id: String,
        merchant_name: String,
        items: Vec<MailItem>,
        total: Rupiah,
    },
    /// To the merchant: the result of its verification.
    MerchantVerification {
        merchant_name: String,
        approved: bool,
        reason: Option<String>,
    },
    /// To the merchant's owner: the bank account payouts go to was changed; payouts to a new
    /// account wait until `payouts_from` unless an admin confirms it sooner.
    BankAccountChanged {
        merchant_name: String,
        bank_code: String,
        /// The account number with all but its last four digits hidden.
        account_masked: String,
        account_name: String,
        payouts_from: Option<DateTime<Utc>>,
    },
    /// To the merchant: a payout was approved; what it pays for and the transfer reference.
    RemittanceAdvice {
        merchant_name: String,
        batch_id: String,
        reference: String,
        items: Vec<RemittanceLine>,
        total: Rupiah,
    },
    /// To an ASN: how much of the monthly minimum is still to spend.
    MandateReminder {
        asn_name: String,
        /// `YYYY-MM`.
        period: String,
        required: Rupiah,
        spent: Rupiah,
        remaining: Rupiah,
        deadline: NaiveDate,
    },
    /// To treasury: the bank returned a payout.
    PayoutFailed {
        merchant_name: String,
        reference: String,
        amount: Rupiah,
        reason: String,
    },
    /// To any user who asked: a single-use code to set a new password.
    PasswordReset {
        name: String,
        /// The token the user enters (or an app link carries) to set the password.
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// To the new address a user asked to change their e-mail to: the code that confirms it.
    EmailChange {
        name: String,
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// To the old address once a user's e-mail address was changed.
    EmailChanged { name: String, new_email: String },
    /// To whoever registered as a public buyer: the code that confirms the address and creates
    /// the account.
    RegistrationConfirm {
        name: String,
        code: String,
        expires_at: DateTime<Utc>,
    },
    /// To the owner of an address someone tried to register again.
    RegistrationEmailTaken { name: String },
    /// To whoever registered with a NIK another account holds: how to reclaim it.
    RegistrationNikTaken {
        name: String,
        /// The NIK with its middle digits hidden.
        nik_masked: String,
    },
    /// To the holder of an account closed because the NIK's owner reclaimed it.
    NikReclaimed { name: String, nik_masked: String },
    /// To a shop's people: listings whose stock fell to or below the threshold they set (one
    /// message per shop and worker run, however many listings).
    LowStock {
        merchant_id: String,
        merchant_name: String,
        lines: Vec<LowStockLine>,
        checked_at: DateTime<Utc>,
    },
    /// To a shop's people: the cooperatives office lowered a commodity's HET and listings of the
    /// shop are priced above it, so they stopped selling until repriced.
    HetLowered {
        /// The recipient's name (the message goes to each of the shop's people).
        name: String,
        commodity_id: String,
        commodity_name: String,
        unit: String,
        het: Rupiah,
        listings: Vec<PricedListing>,
        changed_at: DateTime<Utc>,
    },
    /// To a shop's people: an admin took one of its listings down.
    ListingTakenDown {
        merchant_name: String,
        listing_id: String,
        product_name: String,
        reason: String,
        at: DateTime<Utc>,
    },
    /// To a shop's people: an admin lifted the takedown of one of its listings; `reason` is the
    /// takedown's.
    ListingRestored {
        merchant_name: String,
        listing_id: String,
        product_name: String,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    /// To a shop's people: an admin decided on its product (`change`: on a change of an
    /// approved product) with a reason when rejected.
    ProductModerated {
        merchant_name: String,
        product_id: String,
        product_name: String,
        change: bool,
        approved: bool,
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    /// To an ASN imported from the roster: a single-use code to set the first password.
    AccountActivation {
        name: String,
        /// What the ASN logs in with afterwards (the NIP).
        login: String,
        code: String,
        expires_at: DateTime<Utc>,
    },
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The template's file name, stored with the message so admins see what kind it is.
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A value put into a template.
enum Var {
    /// Plain text: escaped in the HTML part.
    Text(String),
    /// A block built here in both forms; its HTML is already escaped.
    Block { text: String, html: String },
}

fn text(value: impl Into<String>) -> Var {
    Var::Text(value.into())
}

fn money(value: Rupiah) -> Var {
    Var::Text(value.format_idr())
}

const LAYOUT_TXT: &str = include_str!("../templates/layout.txt");
const LAYOUT_HTML: &str = include_str!("../templates/layout.html");

/// The text and HTML files of a template, by name.
fn files(name: &str) -> (&'static str, &'static str) {
    macro_rules! pick {
        ($($name:literal),* $(,)?) => {
            match name {
                $($name => (
                    include_str!(concat!("../templates/", $name, ".txt")),
                    include_str!(concat!("../templates/", $name, ".html")),
                ),)*
                _ => ("", ""),
            }
        };
    }
    pick!(
        "order_paid",
        "order_accepted",
        "order_rejected",
        "order_shipped",
        "order_ready_for_pickup",
        "order_completed",
        "order_refunded",
        "merchant_new_order",
        "merchant_approved",
        "merchant_rejected",
        "bank_account_changed",
        "remittance_advice",
        "mandate_reminder",
        "payout_failed",
        "password_reset",
        "email_change",
        "email_changed",
        "account_activation",
        "registration_confirm",
        "registration_email_taken",
        "registration_nik_taken",
        "nik_reclaimed",
        "low_stock",
        "het_lowered",
        "listing_taken_down",
        "listing_restored",
        "product_approved",
        "product_rejected",
    )
}

impl Template {
    /// The template's name and its values.
    fn parts(&self) -> (&'static str, Vec<(&'static str, Var)>) {
        match self {
            Template::OrderPaid {
                order_id,
                buyer_name,
                merchant_name,
                items,
                total,
            } => (
                "order_paid",
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("merchant_name", text(merchant_name)),
                    ("items", items_block(items)),
                    ("total", money(*total)),
                ],
            ),
            Template::OrderAccepted {
                order_id,
                buyer_name,
                merchant_name,
                short,
                refund,
            } => (
                "order_accepted",
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("merchant_name", text(merchant_name)),
                    ("shortfall", shortfall_block(short, *refund)),
                ],
            ),
            Template::OrderRejected {
                order_id,
                buyer_name,
                merchant_name,
                reason,
                refund,
            } => (
                "order_rejected",
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("merchant_name", text(merchant_name)),
                    ("reason", text(reason)),
                    ("refund", money(*refund)),
                ],
            ),
            Template::OrderShipped {
                order_id,
                buyer_name,
                merchant_name,
                method,
            } => (
                if method == "pickup" {
                    "order_ready_for_pickup"
                } else {
                    "order_shipped"
                },
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("merchant_name", text(merchant_name)),
                ],
            ),
            Template::OrderCompleted {
                order_id,
                buyer_name,
                merchant_name,
                total,
            } => (
                "order_completed",
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("merchant_name", text(merchant_name)),
                    ("total", money(*total)),
                ],
            ),
            Template::OrderRefunded {
                order_id,
                buyer_name,
                amount,
                reason,
            } => (
                "order_refunded",
                vec![
                    ("order_id", text(order_id)),
                    ("buyer_name", text(buyer_name)),
                    ("amount", money(*amount)),
                    ("reason", text(reason)),
                ],
            ),
            Template::MerchantNewOrder {
                order_id,
                merchant_name,
                items,
                total,
            } => (
                "merchant_new_order",
                vec![
                    ("order_id", text(order_id)),
                    ("merchant_name", text(merchant_name)),
                    ("items", items_block(items)),
                    ("total", money(*total)),
                ],
            ),
            Template::MerchantVerification {
                merchant_name,
                approved,
                reason,
            } => (
                if *approved {
                    "merchant_approved"
                } else {
                    "merchant_rejected"
                },
                vec![
                    ("merchant_name", text(merchant_name)),
                    (
                        "reason",
                        text(reason.as_deref().unwrap_or("tidak disebutkan")),
                    ),
                ],
            ),
            Template::BankAccountChanged {
                merchant_name,
                bank_code,
                account_masked,
                account_name,
                payouts_from,
            } => (
                "bank_account_changed",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("bank_code", text(bank_code)),
                    ("account_masked", text(account_masked)),
                    ("account_name", text(account_name)),
                    (
                        "payouts_from",
                        text(payouts_from.map_or_else(
                            || "segera (rekening yang sama atau tanpa masa tunggu)".to_owned(),
                            time_label,
                        )),
                    ),
                ],
            ),
            Template::RemittanceAdvice {
                merchant_name,
                batch_id,
                reference,
                items,
                total,
            } => (
                "remittance_advice",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("batch_id", text(batch_id)),
                    ("reference", text(reference)),
                    ("lines", remittance_block(items)),
                    ("total", money(*total)),
                ],
            ),
            Template::MandateReminder {
                asn_name,
                period,
                required,
                spent,
                remaining,
                deadline,
            } => (
                "mandate_reminder",
                vec![
                    ("asn_name", text(asn_name)),
                    ("period", text(period_label(period))),
                    ("required", money(*required)),
                    ("spent", money(*spent)),
                    ("remaining", money(*remaining)),
                    ("deadline", text(date_label(*deadline))),
                ],
            ),
            Template::PayoutFailed {
                merchant_name,
                reference,
                amount,
                reason,
            } => (
                "payout_failed",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("reference", text(reference)),
                    ("amount", money(*amount)),
                    ("reason", text(reason)),
                ],
            ),
            Template::PasswordReset {
                name,
                code,
                expires_at,
            } => (
                "password_reset",
                vec![
                    ("name", text(name)),
                    ("code", text(code)),
                    ("expires_at", text(time_label(*expires_at))),
                ],
            ),
            Template::EmailChange {
                name,
                code,
                expires_at,
            } => (
                "email_change",
                vec![
                    ("name", text(name)),
                    ("code", text(code)),
                    ("expires_at", text(time_label(*expires_at))),
                ],
            ),
            Template::EmailChanged { name, new_email } => (
                "email_changed",
                vec![("name", text(name)), ("new_email", text(new_email))],
            ),
            Template::RegistrationConfirm {
                name,
                code,
                expires_at,
            } => (
                "registration_confirm",
                vec![
                    ("name", text(name)),
                    ("code", text(code)),
                    ("expires_at", text(time_label(*expires_at))),
                ],
            ),
            Template::RegistrationEmailTaken { name } => {
                ("registration_email_taken", vec![("name", text(name))])
            }
            Template::RegistrationNikTaken { name, nik_masked } => (
                "registration_nik_taken",
                vec![("name", text(name)), ("nik_masked", text(nik_masked))],
            ),
            Template::NikReclaimed { name, nik_masked } => (
                "nik_reclaimed",
                vec![("name", text(name)), ("nik_masked", text(nik_masked))],
            ),
            Template::LowStock {
                merchant_name,
                lines,
                checked_at,
                ..
            } => (
                "low_stock",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("lines", low_stock_block(lines)),
                    ("checked_at", text(time_label(*checked_at))),
                ],
            ),
            Template::HetLowered {
                name,
                commodity_name,
                unit,
                het,
                listings,
                changed_at,
                ..
            } => (
                "het_lowered",
                vec![
                    ("name", text(name)),
                    ("commodity_name", text(commodity_name)),
                    ("unit", text(unit)),
                    ("het", money(*het)),
                    ("lines", priced_block(listings)),
                    ("changed_at", text(time_label(*changed_at))),
                ],
            ),
            Template::ListingTakenDown {
                merchant_name,
                listing_id,
                product_name,
                reason,
                at,
            } => (
                "listing_taken_down",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("listing_id", text(listing_id)),
                    ("product_name", text(product_name)),
                    ("reason", text(reason)),
                    ("at", text(time_label(*at))),
                ],
            ),
            Template::ListingRestored {
                merchant_name,
                listing_id,
                product_name,
                reason,
                at,
            } => (
                "listing_restored",
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("listing_id", text(listing_id)),
                    ("product_name", text(product_name)),
                    (
                        "reason",
                        text(reason.as_deref().unwrap_or("tidak disebutkan")),
                    ),
                    ("at", text(time_label(*at))),
                ],
            ),
            Template::ProductModerated {
                merchant_name,
                product_name,
                change,
                approved,
                reason,
                at,
                ..
            } => (
                if *approved {
                    "product_approved"
                } else {
                    "product_rejected"
                },
                vec![
                    ("merchant_name", text(merchant_name)),
                    ("product_name", text(product_name)),
                    (
                        "what",
                        text(if *change {
                            "Perubahan produk"
                        } else {
                            "Produk"
                        }),
                    ),
                    (
                        "reason",
                        text(reason.as_deref().unwrap_or("tidak disebutkan")),
                    ),
                    ("at", text(time_label(*at))),
                ],
            ),
            Template::AccountActivation {
                name,
                login,
                code,
                expires_at,
            } => (
                "account_activation",
                vec![
                    ("name", text(name)),
                    ("login", text(login)),
                    ("code", text(code)),
                    ("expires_at", text(time_label(*expires_at))),
                ],
            ),
        }
    }

    /// The template's name, as [`Rendered::template`] has it.
    pub fn render_name(&self) -> &'static str {
        self.parts().0
    }

    /// Renders the subject, the plain text and the HTML.
    pub fn render(&self) -> Rendered {
        let (name, vars) = self.parts();
        let (text_file, html_file) = files(name);
        let (subject_line, body) = text_file.split_once('\n').unwrap_or((text_file, ""));
        let subject_template = subject_line
            .strip_prefix("Subject:")
            .unwrap_or(subject_line);
        // A subject is one line: a value with a line break must not start a new header.
        let subject = fill(subject_template.trim(), &vars, false).replace(['\r', '\n'], " ");
        let content = fill(body.trim(), &vars, false);
        let text = fill(
            LAYOUT_TXT.trim_end(),
            &[("content", Var::Text(content))],
            false,
        ) + "\n";
        let content_html = fill(html_file.trim(), &vars, true);
        let html = fill(
            LAYOUT_HTML,
            &[
                ("subject", Var::Text(subject.clone())),
                (
                    "content",
                    Var::Block {
                        text: String::new(),
                        html: content_html,
                    },
                ),
            ],
            true,
        );
        Rendered {
            template: name,
            subject,
            text,
            html,
        }
    }
}

/// Replaces each `{{name}}` with its value; unknown names stay as they are, which the tests
/// catch.
fn fill(template: &str, vars: &[(&str, Var)], html: bool) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match vars.iter().find(|(n, _)| *n == name) {
            Some((_, Var::Text(value))) if html => out.push_str(&escape_html(value)),
            Some((_, Var::Block { html: value, .. })) if html => out.push_str(value),
            Some((_, Var::Text(value) | Var::Block { text: value, .. })) => out.push_str(value),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const TABLE: &str = "<table style=\"border-collapse:collapse;width:100%;margin:8px 0;\">";
const TH: &str = "<th style=\"text-align:left;border-bottom:1px solid #ccc;padding:4px;\">";
const TH_RIGHT: &str = "<th style=\"text-align:right;border-bottom:1px solid #ccc;padding:4px;\">";
const TD: &str = "<td style=\"padding:4px;\">";
const TD_RIGHT: &str = "<td style=\"padding:4px;text-align:right;\">";

fn items_block(items: &[MailItem]) -> Var {
    let (text, html) = items_parts(items);
    Var::Block { text, html }
}

/// A list of order lines as plain text and as an HTML table.
fn items_parts(items: &[MailItem]) -> (String, String) {
    let text = items
        .iter()
        .map(|i| {
            format!(
                "- {}: {} {} x {} = {}",
                i.name,
                i.quantity,
                i.unit,
                i.price.format_idr(),
                i.line_total.format_idr()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut html = format!(
        "{TABLE}<tr>{TH}Barang</th>{TH_RIGHT}Jumlah</th>{TH_RIGHT}Harga</th>{TH_RIGHT}Subtotal</th></tr>"
    );
    for i in items {
        let _ = write!(
            html,
            "<tr>{TD}{}</td>{TD_RIGHT}{} {}</td>{TD_RIGHT}{}</td>{TD_RIGHT}{}</td></tr>",
            escape_html(&i.name),
            i.quantity,
            escape_html(&i.unit),
            i.price.format_idr(),
            i.line_total.format_idr()
        );
    }
    html.push_str("</table>");
    (text, html)
}

/// The paragraph of a partial acceptance: the units the shop cannot supply and the refund.
/// Empty for a whole acceptance.
fn shortfall_block(short: &[MailItem], refund: Rupiah) -> Var {
    if short.is_empty() {
        return Var::Block {
            text: String::new(),
            html: String::new(),
        };
    }
    let (lines, table) = items_parts(short);
    let intro = "Sebagian barang tidak dapat disediakan oleh penjual:";
    let refunded = format!(
        "{} untuk barang tersebut dikembalikan kepada Anda.",
        refund.format_idr()
    );
    Var::Block {
        text: format!("\n\n{intro}\n{lines}\n\n{refunded}"),
        html: format!(
            "<p>{intro}</p>{table}<p><strong>{}</strong> untuk barang tersebut dikembalikan kepada Anda.</p>",
            refund.format_idr()
        ),
    }
}

fn remittance_block(lines: &[RemittanceLine]) -> Var {
    let text = lines
        .iter()
        .map(|l| {
            format!(
                "- Pesanan {}, selesai {}: {}",
                l.order_id,
                date_label(l.completed_on),
                l.amount.format_idr()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut html = format!("{TABLE}<tr>{TH}Pesanan</th>{TH}Selesai</th>{TH_RIGHT}Jumlah</th></tr>");
    for l in lines {
        let _ = write!(
            html,
            "<tr>{TD}{}</td>{TD}{}</td>{TD_RIGHT}{}</td></tr>",
            escape_html(&l.order_id),
            date_label(l.completed_on),
            l.amount.format_idr()
        );
    }
    html.push_str("</table>");
    Var::Block { text, html }
}

fn low_stock_block(lines: &[LowStockLine]) -> Var {
    let text = lines
        .iter()
        .map(|l| {
            format!(
                "- {}: sisa {} {} (batas {})",
                l.product_name, l.stock, l.unit, l.threshold
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut html =
        format!("{TABLE}<tr>{TH}Barang</th>{TH_RIGHT}Sisa stok</th>{TH_RIGHT}Batas</th></tr>");
    for l in lines {
        let _ = write!(
            html,
            "<tr>{TD}{}</td>{TD_RIGHT}{} {}</td>{TD_RIGHT}{}</td></tr>",
            escape_html(&l.product_name),
            l.stock,
            escape_html(&l.unit),
            l.threshold
        );
    }
    html.push_str("</table>");
    Var::Block { text, html }
}

fn priced_block(listings: &[PricedListing]) -> Var {
    let text = listings
        .iter()
        .map(|l| format!("- Listing {}: {}", l.listing_id, l.price.format_idr()))
        .collect::<Vec<_>>()
        .join("\n");
    let mut html = format!("{TABLE}<tr>{TH}Listing</th>{TH_RIGHT}Harga Anda</th></tr>");
    for l in listings {
        let _ = write!(
            html,
            "<tr>{TD}{}</td>{TD_RIGHT}{}</td></tr>",
            escape_html(&l.listing_id),
            l.price.format_idr()
        );
    }
    html.push_str("</table>");
    Var::Block { text, html }
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

fn month_name(month: u32) -> &'static str {
    MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("")
}

/// `31 Oktober 2026`.
pub fn date_label(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(date.month()),
        date.year()
    )
}

/// `31 Oktober 2026 pukul 14.30 WIB`: an instant as people in Surabaya read it.
pub fn time_label(instant: DateTime<Utc>) -> String {
    let local = instant.with_timezone(&peken_kernel::period::WIB);
    format!(
        "{} pukul {:02}.{:02} WIB",
        date_label(local.date_naive()),
        local.hour(),
        local.minute()
    )
}

/// `2026-10` → `Oktober 2026`; anything else is shown as given.
pub fn period_label(period: &str) -> String {
    match peken_kernel::period::Period::parse(period) {
        Ok(p) => format!("{} {}", month_name(p.month()), p.year()),
        Err(_) => period.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> MailItem {
        MailItem {
            name: "Beras <Premium>".into(),
            quantity: 2,
            unit: "karung".into(),
            price: Rupiah::new(75_000),
            line_total: Rupiah::new(150_000),
        }
    }

    fn every_template() -> Vec<Template> {
        let date = NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date");
        vec![
            Template::OrderPaid {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                items: vec![item()],
                total: Rupiah::new(150_000),
            },
            Template::OrderAccepted {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                short: Vec::new(),
                refund: Rupiah::ZERO,
            },
            Template::OrderRejected {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                reason: "stok habis".into(),
                refund: Rupiah::new(150_000),
            },
            Template::OrderShipped {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                method: "delivery".into(),
            },
            Template::OrderShipped {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                method: "pickup".into(),
            },
            Template::OrderCompleted {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                merchant_name: "Toko Sri".into(),
                total: Rupiah::new(150_000),
            },
            Template::OrderRefunded {
                order_id: "o1".into(),
                buyer_name: "Ani".into(),
                amount: Rupiah::new(150_000),
                reason: "barang rusak".into(),
            },
            Template::MerchantNewOrder {
                order_id: "o1".into(),
                merchant_name: "Toko Sri".into(),
                items: vec![item()],
                total: Rupiah::new(150_000),
            },
            Template::MerchantVerification {
                merchant_name: "Toko Sri".into(),
                approved: true,
                reason: None,
            },
            Template::MerchantVerification {
                merchant_name: "Toko Sri".into(),
                approved: false,
                reason: Some("NIB tidak cocok".into()),
            },
            Template::RemittanceAdvice {
                merchant_name: "Toko Sri".into(),
                batch_id: "b1".into(),
                reference: "PKN-0001".into(),
                items: vec![RemittanceLine {
                    order_id: "o1".into(),
                    completed_on: date,
                    amount: Rupiah::new(150_000),
                }],
                total: Rupiah::new(150_000),
            },
            Template::MandateReminder {
                asn_name: "Budi".into(),
                period: "2026-10".into(),
                required: Rupiah::new(2_000_000),
                spent: Rupiah::new(1_250_000),
                remaining: Rupiah::new(750_000),
                deadline: date,
            },
            Template::PayoutFailed {
                merchant_name: "Toko Sri".into(),
                reference: "PKN-0001".into(),
                amount: Rupiah::new(150_000),
                reason: "rekening ditutup".into(),
            },
            Template::PasswordReset {
                name: "Ani".into(),
                code: "abc-123".into(),
                expires_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::AccountActivation {
                name: "Budi".into(),
                login: "199001012015011001".into(),
                code: "abc-123".into(),
                expires_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::BankAccountChanged {
                merchant_name: "Toko Sri".into(),
                bank_code: "008".into(),
                account_masked: "******7890".into(),
                account_name: "SRI RAHAYU".into(),
                payouts_from: DateTime::from_timestamp(1_793_431_800, 0),
            },
            Template::RegistrationConfirm {
                name: "Ani".into(),
                code: "abc-123".into(),
                expires_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::RegistrationEmailTaken { name: "Ani".into() },
            Template::EmailChange {
                name: "Ani".into(),
                code: "abc-123".into(),
                expires_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::EmailChanged {
                name: "Ani".into(),
                new_email: "ani.baru@example.id".into(),
            },
            Template::RegistrationNikTaken {
                name: "Ani".into(),
                nik_masked: "3578********0001".into(),
            },
            Template::NikReclaimed {
                name: "Ani".into(),
                nik_masked: "3578********0001".into(),
            },
            Template::LowStock {
                merchant_id: "m1".into(),
                merchant_name: "Toko Sri".into(),
                lines: vec![LowStockLine {
                    listing_id: "l1".into(),
                    product_name: "Beras <Premium>".into(),
                    unit: "kg".into(),
                    stock: 2,
                    threshold: 5,
                }],
                checked_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::HetLowered {
                name: "Sri".into(),
                commodity_id: "c1".into(),
                commodity_name: "Minyak Goreng".into(),
                unit: "liter".into(),
                het: Rupiah::new(14_000),
                listings: vec![PricedListing {
                    listing_id: "l1".into(),
                    price: Rupiah::new(15_500),
                }],
                changed_at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::ListingTakenDown {
                merchant_name: "Toko Sri".into(),
                listing_id: "l1".into(),
                product_name: "Beras".into(),
                reason: "foto menyesatkan".into(),
                at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::ListingRestored {
                merchant_name: "Toko Sri".into(),
                listing_id: "l1".into(),
                product_name: "Beras".into(),
                reason: Some("foto menyesatkan".into()),
                at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::ProductModerated {
                merchant_name: "Toko Sri".into(),
                product_id: "p1".into(),
                product_name: "Kerupuk".into(),
                change: false,
                approved: true,
                reason: None,
                at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
            Template::ProductModerated {
                merchant_name: "Toko Sri".into(),
                product_id: "p1".into(),
                product_name: "Kerupuk".into(),
                change: true,
                approved: false,
                reason: Some("bukan produk Surabaya".into()),
                at: DateTime::from_timestamp(1_793_431_800, 0).expect("valid instant"),
            },
        ]
    }

    #[test]
    fn every_template_fills_every_placeholder() {
        for template in every_template() {
            let r = template.render();
            for part in [&r.subject, &r.text, &r.html] {
                assert!(!part.contains("{{"), "{}: unfilled in {part}", r.template);
                assert!(!part.is_empty(), "{}: empty part", r.template);
            }
            assert!(!r.subject.contains('\n'));
            assert!(r.html.starts_with("<!DOCTYPE html>"));
        }
    }

    #[test]
    fn a_partial_acceptance_lists_the_short_units_and_the_refund() {
        let whole = every_template()[1].render();
        assert_eq!(whole.template, "order_accepted");
        assert!(!whole.text.contains("dikembalikan"), "{}", whole.text);
        let partial = Template::OrderAccepted {
            order_id: "o1".into(),
            buyer_name: "Ani".into(),
            merchant_name: "Toko Sri".into(),
            short: vec![MailItem {
                quantity: 1,
                line_total: Rupiah::new(75_000),
                ..item()
            }],
            refund: Rupiah::new(75_000),
        };
        let r = partial.render();
        assert!(
            r.text
                .contains("- Beras <Premium>: 1 karung x Rp75.000 = Rp75.000"),
            "{}",
            r.text
        );
        assert!(
            r.text
                .contains("Rp75.000 untuk barang tersebut dikembalikan")
        );
        assert!(r.html.contains("Beras &lt;Premium&gt;"));
        let notice = partial.notice().expect("a notice");
        assert!(notice.body.contains("Rp75.000"), "{}", notice.body);
    }

    #[test]
    fn amounts_are_rupiah_and_values_are_escaped_in_html() {
        let r = every_template()[0].render();
        assert_eq!(r.template, "order_paid");
        assert!(r.subject.contains("o1"));
        assert!(
            r.text
                .contains("- Beras <Premium>: 2 karung x Rp75.000 = Rp150.000")
        );
        assert!(r.text.contains("Total dibayar: Rp150.000"));
        assert!(r.html.contains("Beras &lt;Premium&gt;"));
        assert!(!r.html.contains("<Premium>"));
    }

    #[test]
    fn dates_and_periods_are_in_indonesian() {
        let r = every_template()[11].render();
        assert!(r.subject.contains("Oktober 2026"), "{}", r.subject);
        assert!(r.text.contains("Batas waktu: 31 Oktober 2026"));
        assert!(r.text.contains("Sisa: Rp750.000"));
        let r = every_template()[10].render();
        assert!(
            r.text
                .contains("- Pesanan o1, selesai 31 Oktober 2026: Rp150.000")
        );
    }

    #[test]
    fn password_codes_and_their_expiry_are_shown_in_wib() {
        let templates = every_template();
        // 1_793_431_800 is 31 October 2026 07:30 UTC, 14.30 in Surabaya.
        let r = templates[13].render();
        assert_eq!(r.template, "password_reset");
        assert!(r.text.contains("\nabc-123\n"), "{}", r.text);
        assert!(
            r.text.contains("sampai 31 Oktober 2026 pukul 14.30 WIB"),
            "{}",
            r.text
        );
        let r = templates[14].render();
        assert_eq!(r.template, "account_activation");
        assert!(
            r.text.contains("NIP Anda (199001012015011001)"),
            "{}",
            r.text
        );
        assert!(r.html.contains("abc-123"));
    }

    #[test]
    fn shop_alerts_say_what_and_when_in_wib() {
        let templates = every_template();
        let r = templates[22].render();
        assert_eq!(r.template, "low_stock");
        assert!(
            r.text.contains("- Beras <Premium>: sisa 2 kg (batas 5)"),
            "{}",
            r.text
        );
        assert!(r.text.contains("31 Oktober 2026 pukul 14.30 WIB"));
        assert!(r.html.contains("Beras &lt;Premium&gt;"));
        let r = templates[23].render();
        assert_eq!(r.template, "het_lowered");
        assert!(r.subject.contains("Rp14.000"), "{}", r.subject);
        assert!(r.text.contains("- Listing l1: Rp15.500"), "{}", r.text);
        let r = templates[24].render();
        assert!(r.text.contains("Alasan: foto menyesatkan"), "{}", r.text);
        let r = templates[26].render();
        assert_eq!(r.template, "product_approved");
        let r = templates[27].render();
        assert_eq!(r.template, "product_rejected");
        assert!(
            r.subject.starts_with("Perubahan produk Kerupuk"),
            "{}",
            r.subject
        );
        assert!(r.text.contains("Alasan: bukan produk Surabaya"));
    }

    #[test]
    fn a_line_break_in_a_value_cannot_add_a_header() {
        let r = Template::OrderAccepted {
            order_id: "o1\r\nBcc: x@example.com".into(),
            buyer_name: "Ani".into(),
            merchant_name: "Toko".into(),
            short: Vec::new(),
            refund: Rupiah::ZERO,
        }
        .render();
        assert!(!r.subject.contains('\n') && !r.subject.contains('\r'));
    }
}
