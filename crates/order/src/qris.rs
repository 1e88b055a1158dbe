//! A dynamic QRIS payload (EMVCo merchant-presented QR) for a payment, with the CRC the standard
//! requires, so a banking app can read the amount and bill number.

use peken_kernel::Rupiah;

fn field(id: &str, value: &str) -> String {
    format!("{id}{:02}{value}", value.len())
}

/// CRC-16/CCITT-FALSE over the payload, as EMVCo specifies for tag 63.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for byte in data {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn hex_upper(crc: u16) -> String {
    format!("{crc:04X}")
}

/// The payload for a bill: merchant account "peken" at the city, amount in whole rupiah, the
/// bill number (the payment id without dashes, cut to 25 characters).
pub fn payload(payment_id: &str, amount: Rupiah) -> String {
    let bill: String = payment_id.chars().filter(|c| *c != '-').take(25).collect();
    let account = field("00", "ID.GO.SURABAYAKOTA.PEKEN") + &field("01", "936000000000000001");
    let mut out = String::new();
    out.push_str(&field("00", "01"));
    out.push_str(&field("01", "12"));
    out.push_str(&field("26", &account));
    out.push_str(&field("52", "5411"));
    out.push_str(&field("53", "360"));
    out.push_str(&field("54", &amount.get().to_string()));
    out.push_str(&field("58", "ID"));
    out.push_str(&field("59", "PEKEN SURABAYA"));
    out.push_str(&field("60", "SURABAYA"));
    out.push_str(&field("62", &field("01", &bill)));
    out.push_str("6304");
    let crc = crc16(out.as_bytes());
    out.push_str(&hex_upper(crc));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // CRC-16/CCITT-FALSE of "123456789" is 0x29B1.
        assert_eq!(crc16(b"123456789"), 0x29B1);
    }

    #[test]
    fn the_payload_carries_amount_and_a_valid_crc() {
        let p = payload("0190a1b2-c3d4", Rupiah::new(125_000));
        assert!(p.contains("5406125000"), "{p}");
        let (body, crc) = p.split_at(p.len() - 4);
        assert_eq!(format!("{:04X}", crc16(body.as_bytes())), crc);
    }
}
