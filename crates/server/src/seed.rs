//! The demo city: enough people and shops to try every flow by hand. Loaded once; a second run
//! finds the marker and does nothing.

use peken_identity::opd_staff::Duty;
use peken_identity::service::{self as identity, NewUser};
use peken_kernel::AppState;
use peken_kernel::auth::{Caller, Role};
use peken_kernel::ids::AsnKind;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

mod orders;
mod shops;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "peken-demo-2026";

const MARKER: &str = "demo_seeded";

pub async fn demo(state: &AppState) -> anyhow::Result<()> {
    if already_seeded(state).await? {
        tracing::info!("demo data already loaded");
        return Ok(());
    }
    let now = state.now();
    let hash = state
        .passwords
        .hash(DEMO_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = |role: Role, name: &str, email: &str| {
        let mut u = NewUser::new(role, name.to_owned(), hash.clone());
        u.email = Some(email.to_owned());
        u
    };
    let err = |e: peken_kernel::ApiError| anyhow::anyhow!("{e:?}");

    let opds = [
        (
            "DINKOPUMDAG",
            "Dinas Koperasi, Usaha Kecil dan Menengah dan Perdagangan",
        ),
        (
            "BAPPEDALITBANG",
            "Badan Perencanaan Pembangunan Daerah, Penelitian dan Pengembangan",
        ),
        ("DISPENDIK", "Dinas Pendidikan"),
        ("DINKES", "Dinas Kesehatan"),
        ("KEC-RUNGKUT", "Kecamatan Rungkut"),
    ];
    let mut opd_ids = Vec::new();
    for (code, name) in opds {
        let opd = identity::create_opd(state, code.into(), name.into())
            .await
            .map_err(err)?;
        opd_ids.push(opd.id);
    }

    let mut admin_id = String::new();
    for new in [
        user(Role::Admin, "Admin Dinkopumdag", "admin@peken.local"),
        user(Role::Treasury, "Bendahara Satu", "bendahara1@peken.local"),
        user(Role::Treasury, "Bendahara Dua", "bendahara2@peken.local"),
    ] {
        let role = new.role;
        let created = peken_identity::people::add(&state.db, new, now)
            .await
            .map_err(err)?;
        if role == Role::Admin {
            admin_id = created.id;
        }
    }
    let mut opd_admin = user(
        Role::OpdAdmin,
        "Admin Dispendik",
        "opd.dispendik@peken.local",
    );
    opd_admin.opd_id = Some(opd_ids[2].clone());
    let opd_admin = peken_identity::people::add(&state.db, opd_admin, now)
        .await
        .map_err(err)?;
    // The OPD's purchasing staff, one duty each, made by its admin.
    let opd_admin = Caller {
        user_id: opd_admin.id,
        role: Role::OpdAdmin,
        session_id: "demo-seed".to_owned(),
        merchant_id: None,
        opd_id: Some(opd_ids[2].clone()),
        request_id: None,
        client_request_id: None,
    };
    for (name, email, duty) in [
        (
            "Pemesan Dispendik",
            "pemesan.dispendik@peken.local",
            Duty::Buyer,
        ),
        ("PPK Dispendik", "ppk.dispendik@peken.local", Duty::Ppk),
        (
            "Penerima Dispendik",
            "penerima.dispendik@peken.local",
            Duty::Receiver,
        ),
        (
            "Bendahara Dispendik",
            "bendahara.dispendik@peken.local",
            Duty::Treasurer,
        ),
    ] {
        peken_identity::opd_staff::create(
            state,
            &opd_admin,
            name.to_owned(),
            email.to_owned(),
            hash.clone(),
            vec![duty],
        )
        .await
        .map_err(err)?;
    }
    let mut camat = user(Role::Camat, "Camat Rungkut", "camat.rungkut@peken.local");
    camat.kecamatan_code = Some("35.78.03".to_owned());
    peken_identity::people::add(&state.db, camat, now)
        .await
        .map_err(err)?;

    // (NIP, name, OPD index, position class, domicile kelurahan)
    let asn = [
        (
            "198503142010011001",
            "Budi Santoso",
            0,
            "staf",
            Some("35.78.03.1001"),
        ),
        (
            "199001012015032002",
            "Siti Rahayu",
            0,
            "kepala_seksi",
            Some("35.78.03.1002"),
        ),
        (
            "197806152003121003",
            "Agus Wibowo",
            1,
            "kepala_bidang",
            Some("35.78.01.1001"),
        ),
        (
            "198811202012012004",
            "Dewi Lestari",
            2,
            "guru",
            Some("35.78.02.1003"),
        ),
        (
            "199205052019031005",
            "Rudi Hartono",
            2,
            "guru",
            Some("35.78.02.1001"),
        ),
        ("198002282006042006", "Rina Wulandari", 3, "staf", None),
        (
            "197512251999031007",
            "Hendra Gunawan",
            4,
            "camat",
            Some("35.78.03.1005"),
        ),
    ];
    for (i, (nip, name, opd, class, domicile)) in asn.into_iter().enumerate() {
        let mut u = user(Role::Asn, name, &format!("asn{}@peken.local", i + 1));
        u.nip = Some((nip.to_owned(), AsnKind::Pns));
        u.opd_id = Some(opd_ids[opd].clone());
        u.position_class = Some(class.to_owned());
        u.domicile_kelurahan_code = domicile.map(str::to_owned);
        // Lives outside Surabaya: mapped to the shops near work.
        u.work_kelurahan_code = Some("35.78.03.1003".to_owned());
        peken_identity::people::add(&state.db, u, now)
            .await
            .map_err(err)?;
    }
    let mut public = user(Role::Public, "Wahyu Pratama", "warga@peken.local");
    public.nik = Some("3578010101900001".to_owned());
    public.domicile_kelurahan_code = Some("35.78.01.1002".to_owned());
    peken_identity::people::add(&state.db, public, now)
        .await
        .map_err(err)?;

    shops::load(state, &admin_id).await?;
    orders::load(state, &admin_id).await?;

    mark_seeded(state).await?;
    tracing::info!(
        password = DEMO_PASSWORD,
        "demo city loaded: admin@peken.local, bendahara1@peken.local, bendahara2@peken.local, \
         opd.dispendik@peken.local, ASN by NIP (e.g. 198503142010011001), warga@peken.local, \
         merchants (e.g. toko.sumberrejeki@peken.local)"
    );
    Ok(())
}

async fn already_seeded(state: &AppState) -> anyhow::Result<bool> {
    let backend = state.db.get_database_backend();
    let row = state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT value FROM settings WHERE key = $1",
            [MARKER.into()],
        ))
        .await?;
    Ok(row.is_some())
}

async fn mark_seeded(state: &AppState) -> anyhow::Result<()> {
    let backend: DbBackend = state.db.get_database_backend();
    state
        .db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO settings (key, value, version, updated_at) VALUES ($1, $2, 0, $3)",
            [MARKER.into(), "true".into(), state.now().into()],
        ))
        .await?;
    Ok(())
}
