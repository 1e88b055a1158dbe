//! What payout batches and refund batches share: the transfer rail chosen by amount, the unique
//! reference each item carries in the bank's remark, and the bank's transfer file.

use peken_kernel::csv::{Cell, CsvWriter};

/// BI-FAST carries transfers up to Rp250 million, SKN up to Rp1 billion; RTGS the rest.
pub const BIFAST_MAX: i64 = 250_000_000;
pub const SKN_MAX: i64 = 1_000_000_000;

/// The transfer rail for an amount.
pub fn rail_for(amount: i64) -> &'static str {
    if amount <= BIFAST_MAX {
        "BIFAST"
    } else if amount <= SKN_MAX {
        "SKN"
    } else {
        "RTGS"
    }
}

/// A new transfer reference: `PKN` and 12 characters of Crockford base32 (60 random bits),
/// short enough for any bank's remark field and free of letters that read like digits. Payout
/// and refund items draw from the same space, so the statement's reference finds one of them.
pub fn new_reference() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = uuid::Uuid::new_v4().as_u128();
    let mut out = String::with_capacity(15);
    out.push_str("PKN");
    for i in 0..12 {
        out.push(char::from(ALPHABET[((bits >> (5 * i)) & 31) as usize]));
    }
    out
}

/// One line of a transfer file.
pub struct TransferLine<'a> {
    pub reference: &'a str,
    pub bank_code: &'a str,
    pub account_number: &'a str,
    pub account_name: &'a str,
    pub amount: i64,
    pub rail: &'a str,
}

/// The bank's transfer file: CSV
/// `reference,bank_code,account_number,account_name,amount,rail,remark`, the reference in the
/// remark (`PEKEN {reference}`).
pub fn transfer_file<'a>(lines: impl IntoIterator<Item = TransferLine<'a>>) -> String {
    let mut writer = CsvWriter::new();
    writer.header(&[
        "reference",
        "bank_code",
        "account_number",
        "account_name",
        "amount",
        "rail",
        "remark",
    ]);
    for line in lines {
        writer.row(&[
            Cell::Text(line.reference),
            Cell::Text(line.bank_code),
            Cell::Text(line.account_number),
            Cell::Text(line.account_name),
            Cell::Number(line.amount),
            Cell::Text(line.rail),
            Cell::Text(&format!("PEKEN {}", line.reference)),
        ]);
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rails_follow_the_amount_limits() {
        assert_eq!(rail_for(1), "BIFAST");
        assert_eq!(rail_for(250_000_000), "BIFAST");
        assert_eq!(rail_for(250_000_001), "SKN");
        assert_eq!(rail_for(1_000_000_000), "SKN");
        assert_eq!(rail_for(1_000_000_001), "RTGS");
    }

    #[test]
    fn references_are_short_distinct_and_unambiguous() {
        let a = new_reference();
        let b = new_reference();
        assert_ne!(a, b);
        assert_eq!(a.len(), 15);
        assert!(a.starts_with("PKN"));
        assert!(
            a[3..]
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(!a[3..].contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn the_transfer_file_carries_the_reference_in_the_remark() {
        let file = transfer_file([TransferLine {
            reference: "PKN0123456789AB",
            bank_code: "008",
            account_number: "1234567890",
            account_name: "SITI",
            amount: 300_000_000,
            rail: rail_for(300_000_000),
        }]);
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(
            lines[0],
            "reference,bank_code,account_number,account_name,amount,rail,remark"
        );
        assert_eq!(
            lines[1],
            "PKN0123456789AB,008,1234567890,SITI,300000000,SKN,PEKEN PKN0123456789AB"
        );
    }
}
