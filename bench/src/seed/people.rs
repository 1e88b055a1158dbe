//! The buyers of the generated city: ASN of every position class in the OPDs, and residents,
//! each with a home kecamatan and an appetite for shopping.

use chrono::{DateTime, Utc};

use super::city::{Buyer, Kelurahan, Scale, UserRow, person_name, phone};
use super::data;
use super::ids::Unique;
use super::sink::Sink;
use super::tables as t;
use crate::rng::{Rng, cumulative};

#[expect(
    clippy::too_many_arguments,
    reason = "the parts of the city buyers refer to"
)]
pub(super) async fn buyers(
    sink: &mut Sink,
    r: &mut Rng,
    unique: &mut Unique,
    scale: Scale,
    opds: &[(String, String, String)],
    kelurahans: &[Kelurahan],
    password_hash: &str,
    founded: DateTime<Utc>,
) -> anyhow::Result<(Vec<Buyer>, Vec<u64>)> {
    let classes = cumulative(data::POSITION_CLASSES.iter().map(|(_, _, w)| *w));
    let mut buyers = Vec::with_capacity(scale.asn + scale.public);
    let mut weights = Vec::with_capacity(scale.asn + scale.public);
    for i in 0..scale.asn {
        let id = r.id_at(founded);
        let pppk = r.chance(200);
        let nip = if pppk {
            unique.ni_pppk(r)
        } else {
            unique.nip(r)
        };
        let opd = &opds[r.index(opds.len())].0;
        let class = data::POSITION_CLASSES[r.weighted(&classes)].0;
        let home = r.index(kelurahans.len());
        let work = r.index(kelurahans.len());
        // About one in twelve lives outside Surabaya and shops near work.
        let outside = r.chance(80);
        let domicile = (!outside).then(|| kelurahans[home].code.as_str());
        let phone = phone(r);
        let email = format!("asn{:05}@bench.peken.local", i + 1);
        let name = person_name(r);
        UserRow {
            id: &id,
            role: "asn",
            name: &name,
            email: Some(&email),
            phone: Some(&phone),
            nip: Some(&nip),
            asn_kind: Some(if pppk { "pppk" } else { "pns" }),
            password_hash,
            opd_id: Some(opd),
            position_class: Some(class),
            domicile_kelurahan_code: domicile,
            work_kelurahan_code: Some(&kelurahans[work].code),
            at: founded,
            ..UserRow::default()
        }
        .write(sink)
        .await?;
        sink.row(
            &t::ASN_OPD_HISTORY,
            &[(&id).into(), opd.into(), founded.into()],
        )
        .await?;
        let area = if outside { work } else { home };
        // One in ten ASN hardly buys anything; the rest differ in how much they buy.
        weights.push(if r.chance(100) { 1 } else { r.below(180) + 20 });
        buyers.push(Buyer {
            id,
            asn: true,
            kecamatan: kelurahans[area].kecamatan,
        });
    }
    for i in 0..scale.public {
        let id = r.id_at(founded);
        let home = r.index(kelurahans.len());
        let district = kelurahans[home].code.get(6..8).unwrap_or("01").to_owned();
        let nik = unique.nik(r, &district);
        let phone = phone(r);
        let email = format!("warga{:05}@bench.peken.local", i + 1);
        let name = person_name(r);
        UserRow {
            id: &id,
            role: "public",
            name: &name,
            email: Some(&email),
            phone: Some(&phone),
            nik: Some(&nik),
            password_hash,
            domicile_kelurahan_code: Some(&kelurahans[home].code),
            at: founded,
            ..UserRow::default()
        }
        .write(sink)
        .await?;
        weights.push(r.below(150) + 1);
        buyers.push(Buyer {
            id,
            asn: false,
            kecamatan: kelurahans[home].kecamatan,
        });
    }
    Ok((buyers, cumulative(weights)))
}
