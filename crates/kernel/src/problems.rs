//! The catalogue of problem codes: every `code` a problem response or a field error can carry,
//! with its HTTP status, and a title and a meaning in Indonesian and in English.
//!
//! A response is Indonesian unless the request's `Accept-Language` prefers English
//! ([`Lang::negotiate`]). In Indonesian, a problem's `title` and `detail` and each field error's
//! `message` come from here; in English they stay the call site's own text. The `code` is the
//! same in both. A meaning may name facts of the problem's `context` as `{key}`; the Indonesian
//! `detail` fills them in ([`fill`]).
//!
//! Adding a code is one entry in [`CATALOGUE`]; `tests/api/problems.rs` fails, naming the code
//! and the file and line that makes it, when a code the source can return has none.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Serialize;
use utoipa::ToSchema;

/// The language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Indonesian: the default.
    #[default]
    Id,
    English,
}

impl Lang {
    /// The language tag for `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::English => "en",
        }
    }

    /// The language an `Accept-Language` header asks for: English when the most preferred
    /// language range (highest `q`, the first of equals) that names a language is English
    /// (`en`, `en-US`, …), else Indonesian. `*`, ranges with `q=0` and unreadable parts are
    /// skipped; no header, or nothing usable in it, is Indonesian.
    pub fn negotiate(accept_language: Option<&str>) -> Lang {
        let Some(header) = accept_language else {
            return Lang::Id;
        };
        let mut best: Option<(u16, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let range = pieces.next().unwrap_or("").trim();
            let primary = range.split('-').next().unwrap_or("");
            if primary.is_empty()
                || primary == "*"
                || primary.len() > 8
                || !primary.bytes().all(|b| b.is_ascii_alphabetic())
            {
                continue;
            }
            let mut q = Some(1000);
            for param in pieces {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    q = parse_q(value.trim());
                }
            }
            let Some(q) = q.filter(|q| *q > 0) else {
                continue;
            };
            let lang = if primary.eq_ignore_ascii_case("en") {
                Lang::English
            } else {
                Lang::Id
            };
            if best.is_none_or(|(top, _)| q > top) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Id, |(_, lang)| lang)
    }
}

/// A quality value (`0`, `0.5`, `1.000`) in thousandths; `None` when it is not one.
fn parse_q(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A title and a meaning in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ProblemText)]
pub struct Text {
    /// A short title, the problem's `title` in this language.
    pub title: &'static str,
    /// What the code means; `{key}` names a fact of the problem's `context`.
    pub meaning: &'static str,
}

/// One code of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = ProblemCode)]
pub struct Entry {
    /// The stable machine code, as in a problem's `code` or a field error's `code`.
    pub code: &'static str,
    /// The HTTP statuses a problem with this code is answered with; empty for a code that only
    /// names a bad field of a `validation_failed` problem.
    pub statuses: &'static [u16],
    /// Whether the code names a bad field (in a problem's `errors[]`).
    pub field: bool,
    /// Indonesian.
    pub id: Text,
    /// English.
    pub en: Text,
}

impl Entry {
    pub fn text(&self, lang: Lang) -> &Text {
        match lang {
            Lang::Id => &self.id,
            Lang::English => &self.en,
        }
    }
}

/// The code of a problem (answered with these statuses).
const fn p(
    code: &'static str,
    statuses: &'static [u16],
    id: (&'static str, &'static str),
    en: (&'static str, &'static str),
) -> Entry {
    Entry {
        code,
        statuses,
        field: false,
        id: Text {
            title: id.0,
            meaning: id.1,
        },
        en: Text {
            title: en.0,
            meaning: en.1,
        },
    }
}

/// The code of a bad field.
const fn f(
    code: &'static str,
    id: (&'static str, &'static str),
    en: (&'static str, &'static str),
) -> Entry {
    Entry {
        field: true,
        ..p(code, &[], id, en)
    }
}

/// A code used both for a problem and for a bad field.
const fn pf(
    code: &'static str,
    statuses: &'static [u16],
    id: (&'static str, &'static str),
    en: (&'static str, &'static str),
) -> Entry {
    Entry {
        field: true,
        ..p(code, statuses, id, en)
    }
}

/// Every code, once, in alphabetical order.
pub static CATALOGUE: &[Entry] = &[
    f(
        "address_ambiguous",
        (
            "Alamat ganda",
            "Isi address_id atau alamat tertulis, jangan keduanya.",
        ),
        ("Ambiguous address", "Give address_id or address, not both."),
    ),
    f(
        "address_required",
        (
            "Alamat wajib diisi",
            "Pengantaran memerlukan alamat tujuan.",
        ),
        ("Address required", "Delivery needs an address."),
    ),
    p(
        "all_lines_short",
        &[409],
        (
            "Semua barang kurang",
            "Tidak ada barang pesanan yang dapat disediakan; tolak pesanan ini saja.",
        ),
        (
            "Every line short",
            "None of the order's goods can be supplied; reject the order instead.",
        ),
    ),
    p(
        "already_matched",
        &[409],
        (
            "Sudah dicocokkan",
            "Baris mutasi rekening atau item pembayaran ini sudah dicocokkan, atau item tidak lagi dalam proses transfer.",
        ),
        (
            "Already matched",
            "The statement line or the payout item is matched already, or the item left transit.",
        ),
    ),
    p(
        "already_reversed",
        &[409],
        (
            "Sudah dibalik",
            "Transaksi jurnal ini sudah pernah dibalik.",
        ),
        (
            "Already reversed",
            "This journal transaction has been reversed already.",
        ),
    ),
    p(
        "already_taken_down",
        &[409],
        (
            "Sudah diturunkan",
            "Produk jualan ini sudah diturunkan dari etalase.",
        ),
        ("Already taken down", "This listing is already taken down."),
    ),
    f(
        "ambiguous_code",
        (
            "Kode tidak tunggal",
            "Beberapa listing Anda memakai kode ini (komoditas atau barcode); pakai kode produk.",
        ),
        (
            "Ambiguous code",
            "Several of your listings have this code (a commodity or barcode); use the product code.",
        ),
    ),
    f(
        "amount_has_fraction",
        (
            "Nominal tidak boleh pecahan",
            "Nominal harus berupa bilangan bulat rupiah tanpa sen.",
        ),
        (
            "Amount has a fraction",
            "An amount is a whole number of rupiah.",
        ),
    ),
    p(
        "amount_mismatch",
        &[422],
        (
            "Nominal tidak sesuai",
            "Nominal yang dibayarkan atau tercantum berbeda dari tagihan; tidak ada yang dicatat.",
        ),
        (
            "Amount mismatch",
            "The amount paid or shown differs from the bill; nothing was recorded.",
        ),
    ),
    f(
        "amount_not_positive",
        (
            "Nominal harus lebih dari nol",
            "Nominal harus lebih besar dari nol.",
        ),
        ("Amount not positive", "The amount must be more than zero."),
    ),
    pf(
        "amount_too_large",
        &[422],
        (
            "Nominal terlalu besar",
            "Nominal melebihi batas yang diperbolehkan.",
        ),
        ("Amount too large", "The amount is larger than allowed."),
    ),
    p(
        "bank_account_not_held",
        &[409],
        (
            "Tidak ada rekening menunggu konfirmasi",
            "Pedagang ini tidak memiliki rekening bank baru yang menunggu konfirmasi.",
        ),
        (
            "No bank account waiting",
            "This merchant has no new bank account waiting for confirmation.",
        ),
    ),
    p(
        "batch_not_approved",
        &[409],
        (
            "Batch belum disetujui",
            "Hanya batch pembayaran yang sudah disetujui yang memiliki berkas transfer.",
        ),
        (
            "Batch not approved",
            "Only an approved batch has a transfer file.",
        ),
    ),
    p(
        "batch_not_draft",
        &[409],
        (
            "Batch tidak dapat diubah",
            "Batch pembayaran ini bukan lagi draf sehingga tidak dapat diubah atau dibatalkan.",
        ),
        (
            "Batch not a draft",
            "The payout batch is no longer a draft and can no longer change or be cancelled.",
        ),
    ),
    p(
        "cart_too_large",
        &[422],
        (
            "Keranjang terlalu banyak baris",
            "Satu keranjang memuat paling banyak {limit} baris barang.",
        ),
        ("Cart too large", "A cart holds at most {limit} lines."),
    ),
    f(
        "category_mismatch",
        (
            "Kategori tidak sesuai",
            "Kategori produk berbeda dari kategori komoditasnya.",
        ),
        (
            "Category mismatch",
            "The product's category differs from its commodity's.",
        ),
    ),
    p(
        "category_not_allowed",
        &[422],
        (
            "Kategori tidak diizinkan",
            "Jenis usaha pedagang ini tidak diizinkan menjual kategori tersebut.",
        ),
        (
            "Category not allowed",
            "This kind of merchant may not sell the category.",
        ),
    ),
    p(
        "commodity_exists",
        &[409],
        (
            "Komoditas sudah ada",
            "Komoditas dengan nama ini sudah terdaftar.",
        ),
        ("Commodity exists", "A commodity with this name exists."),
    ),
    f(
        "commodity_required",
        (
            "Komoditas wajib diisi",
            "Produk bahan pokok harus menyebutkan komoditasnya agar HET dan batas harian berlaku.",
        ),
        (
            "Commodity required",
            "A staple must name its commodity, so that its HET and daily limits apply.",
        ),
    ),
    p(
        "concurrent_batch",
        &[409],
        (
            "Batch lain sedang dibuat",
            "Batch pembayaran lain baru saja mengambil utang pembayaran yang sama; silakan coba lagi.",
        ),
        (
            "Concurrent batch",
            "Another batch claimed these payables meanwhile; try again.",
        ),
    ),
    p(
        "conflict",
        &[409],
        ("Data sudah ada", "Data yang sama sudah ada."),
        ("Conflict", "The resource already exists."),
    ),
    p(
        "control_character",
        &[422],
        (
            "Karakter kontrol tidak diizinkan",
            "Bagian {place} permintaan memuat karakter kontrol (NUL atau kode kontrol lain) yang tidak diizinkan.",
        ),
        (
            "Control character",
            "The {place} holds a control character (NUL, other C0 or C1 codes).",
        ),
    ),
    f(
        "coordinates_incomplete",
        (
            "Koordinat tidak lengkap",
            "Isi lintang dan bujur sekaligus, atau kosongkan keduanya.",
        ),
        (
            "Incomplete coordinates",
            "Give both latitude and longitude, or neither.",
        ),
    ),
    f(
        "coordinates_off_map",
        (
            "Koordinat di luar peta",
            "Koordinat tidak berada di wilayah Indonesia.",
        ),
        (
            "Coordinates off the map",
            "The coordinates are not in Indonesia.",
        ),
    ),
    f(
        "cutoff_in_future",
        (
            "Batas waktu di masa depan",
            "Batas waktu (cut-off) tidak boleh melewati waktu sekarang.",
        ),
        (
            "Cut-off in the future",
            "The cut-off must not be later than now.",
        ),
    ),
    p(
        "daily_limit_exceeded",
        &[409],
        (
            "Batas pembelian harian terlampaui",
            "Setiap pembeli paling banyak membeli {limit} unit barang ini per hari.",
        ),
        (
            "Daily limit exceeded",
            "At most {limit} units of this item per buyer per day.",
        ),
    ),
    p(
        "database_unavailable",
        &[503],
        (
            "Layanan sedang tidak tersedia",
            "Basis data sedang tidak dapat dihubungi; silakan coba beberapa saat lagi.",
        ),
        (
            "Service unavailable",
            "The database cannot be reached; try again shortly.",
        ),
    ),
    f(
        "description_too_long",
        (
            "Keterangan terlalu panjang",
            "Keterangan baris mutasi melebihi panjang yang diperbolehkan.",
        ),
        (
            "Description too long",
            "The line's description is longer than allowed.",
        ),
    ),
    f(
        "device_token_too_long",
        (
            "Token perangkat terlalu panjang",
            "Token perangkat paling banyak 4.096 karakter.",
        ),
        (
            "Device token too long",
            "A device token is at most 4,096 characters.",
        ),
    ),
    p(
        "draft_batch_exists",
        &[409],
        (
            "Masih ada batch draf",
            "Masih ada batch pembayaran draf yang menunggu persetujuan; setujui atau batalkan terlebih dahulu.",
        ),
        (
            "Draft batch exists",
            "A draft batch is waiting for approval; approve or cancel it first.",
        ),
    ),
    f(
        "duplicate_code",
        (
            "Kode ganda",
            "Baris lain dalam berkas yang sama sudah menyebut listing ini.",
        ),
        (
            "Duplicate code",
            "Another line of the same file names this listing.",
        ),
    ),
    f(
        "duplicate_order_line",
        (
            "Baris pesanan ganda",
            "Baris pesanan ini disebut lebih dari sekali.",
        ),
        (
            "Duplicate order line",
            "This order line is named more than once.",
        ),
    ),
    p(
        "duty_required",
        &[403],
        (
            "Tugas tidak dimiliki",
            "Tugas Anda di OPD tidak mencakup langkah ini ({duty}).",
        ),
        (
            "Duty required",
            "Your duties in the OPD do not include this step ({duty}).",
        ),
    ),
    p(
        "email_taken",
        &[409],
        (
            "Email sudah terdaftar",
            "Alamat email ini sudah digunakan oleh pengguna lain.",
        ),
        ("E-mail taken", "A user with this e-mail already exists."),
    ),
    p(
        "empty_cart",
        &[422],
        ("Keranjang kosong", "Keranjang belum berisi barang."),
        ("Empty cart", "The cart has no items."),
    ),
    p(
        "file_missing",
        &[422],
        (
            "Berkas tidak ada",
            "Permintaan tidak memuat bagian bernama `file`.",
        ),
        ("File missing", "The request has no part named `file`."),
    ),
    p(
        "forbidden",
        &[403],
        (
            "Akses ditolak",
            "Peran Anda tidak diizinkan melakukan tindakan ini.",
        ),
        ("Forbidden", "Your role may not perform this action."),
    ),
    p(
        "four_eyes_required",
        &[403],
        (
            "Perlu persetujuan petugas lain",
            "Persetujuan harus diberikan oleh petugas perbendaharaan lain, bukan oleh yang menyiapkannya.",
        ),
        (
            "Four eyes required",
            "A second treasury user must approve what another one prepared.",
        ),
    ),
    p(
        "hold_already_cleared",
        &[409],
        (
            "Penahanan sudah dicabut",
            "Penahanan pembayaran ini sudah dicabut sebelumnya.",
        ),
        ("Hold already cleared", "This hold was cleared already."),
    ),
    p(
        "idempotency_key_required",
        &[400],
        (
            "Idempotency-Key wajib dikirim",
            "Kirimkan header Idempotency-Key (misalnya sebuah UUID).",
        ),
        (
            "Idempotency key required",
            "Send an Idempotency-Key header (a UUID is a good choice).",
        ),
    ),
    p(
        "idempotency_key_reused",
        &[409],
        (
            "Idempotency-Key sudah dipakai",
            "Idempotency-Key ini sudah dipakai untuk permintaan yang berbeda.",
        ),
        (
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request.",
        ),
    ),
    p(
        "image_corrupt",
        &[422],
        ("Gambar rusak", "Berkas gambar terpotong atau rusak."),
        ("Image corrupt", "The image is truncated or corrupt."),
    ),
    p(
        "image_too_many_pixels",
        &[422],
        (
            "Resolusi gambar terlalu besar",
            "Gambar berukuran {width}×{height} piksel; paling banyak {max_pixels} piksel.",
        ),
        (
            "Image has too many pixels",
            "The image has {width}×{height} pixels; at most {max_pixels} pixels.",
        ),
    ),
    p(
        "image_type_mismatch",
        &[422],
        (
            "Jenis gambar tidak sesuai",
            "Berkas dinyatakan sebagai {declared} tetapi isinya {actual}.",
        ),
        (
            "Image type mismatch",
            "The file is declared as {declared} but holds {actual}.",
        ),
    ),
    f(
        "in_the_future",
        (
            "Waktu di masa depan",
            "Waktu transfer tidak boleh di masa depan.",
        ),
        ("In the future", "A transfer cannot be in the future."),
    ),
    p(
        "insufficient_balance",
        &[409],
        (
            "Saldo tidak mencukupi",
            "Saldo akun {account} tidak mencukupi untuk transaksi ini.",
        ),
        (
            "Insufficient balance",
            "The balance of the account {account} is too low for this.",
        ),
    ),
    p(
        "insufficient_payable",
        &[409],
        (
            "Utang pembayaran berkurang",
            "Utang kepada pedagang kini lebih kecil dari itemnya (ada pengembalian dana setelah batas waktu); batalkan batch dan buat yang baru.",
        ),
        (
            "Insufficient payable",
            "A merchant is now owed less than its item (a refund came in after the cut-off); cancel the batch and build a new one.",
        ),
    ),
    p(
        "internal_error",
        &[500],
        (
            "Terjadi kesalahan",
            "Terjadi kesalahan yang tidak terduga dan sudah dicatat.",
        ),
        (
            "Internal error",
            "An unexpected error occurred; it has been logged.",
        ),
    ),
    pf(
        "invalid_account_code",
        &[422],
        (
            "Kode rekening tidak sah",
            "Kode rekening belanja berbentuk 5.1.02.01.01.0024.",
        ),
        (
            "Invalid account code",
            "An expenditure account code looks like 5.1.02.01.01.0024.",
        ),
    ),
    f(
        "invalid_account_number",
        (
            "Nomor rekening tidak valid",
            "Nomor rekening terdiri atas 5 sampai 20 angka.",
        ),
        (
            "Invalid account number",
            "An account number has 5 to 20 digits.",
        ),
    ),
    pf(
        "invalid_amount",
        &[422],
        (
            "Nominal tidak valid",
            "Nominal harus berupa bilangan bulat rupiah yang sah.",
        ),
        ("Invalid amount", "Not a valid amount of whole rupiah."),
    ),
    f(
        "invalid_balance",
        (
            "Saldo tidak valid",
            "Saldo pada mutasi rekening tidak dapat dibaca.",
        ),
        ("Invalid balance", "The statement's balance cannot be read."),
    ),
    f(
        "invalid_bank_code",
        ("Kode bank tidak valid", "Kode bank terdiri atas 3 angka."),
        ("Invalid bank code", "A bank code has 3 digits."),
    ),
    f(
        "invalid_barcode",
        (
            "Barcode tidak valid",
            "Barcode terdiri atas 8, 12, 13, atau 14 angka dengan digit pemeriksa yang benar.",
        ),
        (
            "Invalid barcode",
            "A barcode is 8, 12, 13 or 14 digits with a valid check digit.",
        ),
    ),
    p(
        "invalid_body",
        &[422],
        (
            "Isi permintaan tidak sesuai",
            "Isi permintaan tidak sesuai dengan bentuk yang diharapkan (kolom hilang atau jenis nilai salah).",
        ),
        (
            "Invalid body",
            "The body does not match the expected shape (a missing field or a value of the wrong type).",
        ),
    ),
    f(
        "invalid_boolean",
        (
            "Bukan ya atau tidak",
            "Isi dengan true atau false (ya atau tidak, 1 atau 0).",
        ),
        (
            "Not true or false",
            "Write true or false (ya or tidak, 1 or 0).",
        ),
    ),
    f(
        "invalid_capital_band",
        (
            "Kelompok modal tidak valid",
            "Kelompok modal usaha adalah mikro, kecil, atau menengah.",
        ),
        (
            "Invalid capital band",
            "capital_band must be mikro, kecil or menengah.",
        ),
    ),
    f(
        "invalid_code",
        (
            "Kode tidak valid",
            "Kode terdiri atas 1 sampai 32 huruf, angka, '_', '-', atau '.'.",
        ),
        ("Invalid code", "1 to 32 letters, digits, '_', '-' or '.'."),
    ),
    f(
        "invalid_count",
        (
            "Jumlah tidak sah",
            "Jumlah butir di luar batas yang diizinkan.",
        ),
        (
            "Invalid count",
            "The number of items is outside the allowed range.",
        ),
    ),
    p(
        "invalid_credentials",
        &[401],
        ("Login gagal", "Nama pengguna atau kata sandi salah."),
        ("Invalid credentials", "Login or password is wrong."),
    ),
    p(
        "invalid_csv",
        &[422],
        (
            "Berkas CSV tidak terbaca",
            "Baris judul berkas CSV tidak dapat dibaca.",
        ),
        ("Invalid CSV", "The CSV file's header cannot be read."),
    ),
    f(
        "invalid_cursor",
        ("Kursor tidak valid", "Kursor halaman tidak valid."),
        ("Invalid cursor", "The cursor is not valid."),
    ),
    f(
        "invalid_date",
        (
            "Tanggal tidak valid",
            "Tanggal harus tanggal yang ada, ditulis YYYY-MM-DD.",
        ),
        ("Invalid date", "Expected a real date written YYYY-MM-DD."),
    ),
    f(
        "invalid_date_range",
        (
            "Rentang tanggal tidak valid",
            "Tanggal awal harus sama dengan atau sebelum tanggal akhir.",
        ),
        ("Invalid date range", "from must be on or before to."),
    ),
    f(
        "invalid_decision",
        (
            "Keputusan tidak valid",
            "Pilih setujui (approve) atau tolak (reject).",
        ),
        ("Invalid decision", "approve or reject."),
    ),
    f(
        "invalid_delivery",
        (
            "Pengaturan pengantaran tidak valid",
            "Radius pengantaran 100 sampai 50.000 meter dan ongkos 0 sampai 1.000.000 rupiah.",
        ),
        (
            "Invalid delivery",
            "radius_m from 100 to 50,000 and a fee from 0 to 1,000,000.",
        ),
    ),
    f(
        "invalid_device_token",
        (
            "Token perangkat tidak valid",
            "Token perangkat terdiri atas sedikitnya 16 karakter cetak tanpa spasi.",
        ),
        (
            "Invalid device token",
            "A device token is 16 or more printable characters without spaces.",
        ),
    ),
    f(
        "invalid_direction",
        ("Arah tidak valid", "Pilih debit, credit, atau all."),
        ("Invalid direction", "Debit, credit or all."),
    ),
    f(
        "invalid_duty",
        (
            "Tugas tidak dikenal",
            "Pilih dari: buyer, ppk, receiver, treasurer.",
        ),
        ("Unknown duty", "One of buyer, ppk, receiver, treasurer."),
    ),
    f(
        "invalid_email",
        ("Email tidak valid", "Alamat email tidak valid."),
        ("Invalid e-mail", "Not a valid e-mail address."),
    ),
    p(
        "invalid_email_change_code",
        &[400],
        (
            "Kode tidak berlaku",
            "Kode konfirmasi email salah, sudah kedaluwarsa, atau sudah dipakai.",
        ),
        (
            "Invalid code",
            "The e-mail confirmation code is invalid, has expired or has already been used.",
        ),
    ),
    p(
        "invalid_encoding",
        &[422],
        (
            "Pengodean berkas tidak valid",
            "Berkas harus berupa teks UTF-8.",
        ),
        ("Invalid encoding", "The file must be UTF-8 text."),
    ),
    f(
        "invalid_entry",
        (
            "Baris transaksi tidak valid",
            "Baris transaksi (:61:) pada mutasi MT940 tidak dapat dibaca.",
        ),
        (
            "Invalid entry",
            "The :61: entry of the MT940 statement cannot be read.",
        ),
    ),
    f(
        "invalid_header",
        (
            "Baris judul tidak valid",
            "Baris judul mutasi CSV tidak terbaca atau tidak memuat kolom value_date, description, debit, credit, dan balance.",
        ),
        (
            "Invalid header",
            "The CSV statement's header cannot be read or lacks value_date, description, debit, credit and balance.",
        ),
    ),
    f(
        "invalid_hours",
        (
            "Jam buka tidak valid",
            "Jam buka berupa daftar paling banyak 14 entri; hari 1 sampai 7; jam buka sebelum jam tutup, keduanya HH:MM.",
        ),
        (
            "Invalid hours",
            "At most 14 entries of {day, opens, closes}; day 1 to 7; opens before closes, both HH:MM.",
        ),
    ),
    f(
        "invalid_id",
        ("ID tidak valid", "Nilai ini bukan ID yang sah."),
        ("Invalid id", "Not an id."),
    ),
    p(
        "invalid_idempotency_key",
        &[400],
        (
            "Idempotency-Key tidak valid",
            "Idempotency-Key terdiri atas 1 sampai 255 karakter ASCII yang terlihat.",
        ),
        (
            "Invalid idempotency key",
            "The Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ),
    ),
    f(
        "invalid_kind",
        (
            "Jenis tidak valid",
            "Pilih restock atau adjustment; pergerakan lain dibuat oleh pesanan.",
        ),
        (
            "Invalid kind",
            "Restock or adjustment; orders make the other movements.",
        ),
    ),
    f(
        "invalid_limit",
        (
            "Batas tidak valid",
            "Nilai limit di luar rentang yang diperbolehkan.",
        ),
        ("Invalid limit", "The limit is out of range."),
    ),
    f(
        "invalid_listing_id",
        (
            "ID produk jualan tidak valid",
            "Nilai ini bukan ID produk jualan yang sah.",
        ),
        ("Invalid listing id", "Not a listing id."),
    ),
    p(
        "invalid_media_key",
        &[400],
        (
            "Kunci media tidak valid",
            "Kunci media terdiri atas segmen jalur relatif berisi huruf, angka, `.`, `_`, dan `-`.",
        ),
        (
            "Invalid media key",
            "Not a media key: relative path segments of letters, digits, `.`, `_` and `-`.",
        ),
    ),
    f(
        "invalid_months",
        (
            "Jumlah bulan tidak valid",
            "Jumlah bulan tanpa penjualan antara 1 dan 120.",
        ),
        ("Invalid months", "months must be 1 to 120."),
    ),
    f(
        "invalid_ni_pppk",
        ("NI PPPK tidak valid", "Nomor Induk PPPK tidak valid."),
        ("Invalid NI PPPK", "Not a valid NI PPPK."),
    ),
    f(
        "invalid_nib",
        ("NIB tidak valid", "Nomor Induk Berusaha (NIB) tidak valid."),
        ("Invalid NIB", "Not a valid NIB."),
    ),
    f(
        "invalid_nib_status",
        (
            "Status NIB tidak valid",
            "Status NIB adalah none, in_progress, atau checked; toko yang sudah ber-NIB tidak kembali ke none.",
        ),
        (
            "Invalid NIB status",
            "status must be none, in_progress or checked; a shop with an NIB does not go back to none.",
        ),
    ),
    f(
        "invalid_nik",
        (
            "NIK tidak valid",
            "Nomor Induk Kependudukan (NIK) tidak valid.",
        ),
        ("Invalid NIK", "Not a valid NIK."),
    ),
    f(
        "invalid_nip",
        ("NIP tidak valid", "Nomor Induk Pegawai (NIP) tidak valid."),
        ("Invalid NIP", "Not a valid NIP."),
    ),
    f(
        "invalid_npwp",
        (
            "NPWP tidak valid",
            "Nomor Pokok Wajib Pajak (NPWP) tidak valid.",
        ),
        ("Invalid NPWP", "Not a valid NPWP."),
    ),
    f(
        "invalid_order_id",
        ("ID pesanan tidak sah", "Ini bukan ID pesanan."),
        ("Invalid order id", "This is not an order id."),
    ),
    f(
        "invalid_period",
        ("Periode tidak valid", "Periode ditulis YYYY-MM."),
        ("Invalid period", "Expected a period written YYYY-MM."),
    ),
    f(
        "invalid_phone",
        (
            "Nomor telepon tidak valid",
            "Nomor telepon terdiri atas 9 sampai 15 angka.",
        ),
        ("Invalid phone", "A phone number has 9 to 15 digits."),
    ),
    f(
        "invalid_platform",
        (
            "Platform tidak valid",
            "Platform harus android, ios, atau web.",
        ),
        ("Invalid platform", "platform must be android, ios or web."),
    ),
    p(
        "invalid_policy",
        &[422],
        (
            "Nilai kebijakan tidak valid",
            "Nilai kebijakan tidak valid.",
        ),
        ("Invalid policy", "The policy's value is not valid."),
    ),
    f(
        "invalid_position_class",
        (
            "Kelas jabatan tidak valid",
            "Kelas jabatan terdiri atas 1 sampai 50 karakter a-z, 0-9, dan '_'.",
        ),
        ("Invalid position class", "1 to 50 of a-z, 0-9 and '_'."),
    ),
    f(
        "invalid_quantity",
        ("Jumlah tidak valid", "Jumlah harus bilangan bulat positif."),
        ("Invalid quantity", "A quantity is a positive whole number."),
    ),
    p(
        "invalid_query",
        &[400],
        (
            "Parameter kueri tidak valid",
            "Parameter kueri tidak valid.",
        ),
        ("Invalid query", "Invalid query parameters."),
    ),
    f(
        "invalid_range",
        (
            "Rentang tidak valid",
            "Tanggal awal (from) tidak boleh setelah tanggal akhir (to).",
        ),
        ("Invalid range", "From must not be after to."),
    ),
    f(
        "invalid_reason",
        (
            "Alasan tidak valid",
            "Alasan terdiri atas 1 sampai 500 karakter.",
        ),
        ("Invalid reason", "A reason of 1 to 500 characters."),
    ),
    pf(
        "invalid_reference",
        &[422],
        (
            "Referensi tidak valid",
            "Referensi tidak valid, terlalu panjang, atau menunjuk data yang tidak ada.",
        ),
        (
            "Invalid reference",
            "The reference is too long, or names a resource that does not exist.",
        ),
    ),
    p(
        "invalid_refresh_token",
        &[401],
        (
            "Token penyegaran tidak valid",
            "Token penyegaran tidak berlaku; silakan masuk kembali.",
        ),
        ("Invalid refresh token", "The refresh token is invalid."),
    ),
    f(
        "invalid_region_code",
        (
            "Kode wilayah tidak valid",
            "Kode wilayah tidak ditulis dengan benar.",
        ),
        ("Invalid region code", "Not a well-formed region code."),
    ),
    p(
        "invalid_registration_token",
        &[400],
        (
            "Kode pendaftaran tidak valid",
            "Kode tidak valid, sudah kedaluwarsa, atau sudah digunakan.",
        ),
        (
            "Invalid registration code",
            "The code is invalid, has expired or has already been used.",
        ),
    ),
    p(
        "invalid_reset_token",
        &[400],
        (
            "Kode atur ulang tidak valid",
            "Kode tidak valid, sudah kedaluwarsa, atau sudah digunakan.",
        ),
        (
            "Invalid reset code",
            "The code is invalid, has expired or has already been used.",
        ),
    ),
    p(
        "invalid_signature",
        &[401],
        (
            "Tanda tangan tidak valid",
            "Tanda tangan permintaan tidak cocok.",
        ),
        ("Invalid signature", "The signature does not match."),
    ),
    f(
        "invalid_statement",
        (
            "Mutasi tidak valid",
            "Berkas tidak memuat isian MT940 (:20:, :61:, :62F:).",
        ),
        (
            "Invalid statement",
            "No MT940 fields (:20:, :61:, :62F:) found.",
        ),
    ),
    f(
        "invalid_status",
        ("Status tidak valid", "Status tidak dikenal."),
        ("Invalid status", "Not a known status."),
    ),
    pf(
        "invalid_sub_kegiatan",
        &[422],
        (
            "Kode sub-kegiatan tidak sah",
            "Kode sub-kegiatan berbentuk 1.02.02.2.01.0001.",
        ),
        (
            "Invalid sub-activity code",
            "A sub-activity code looks like 1.02.02.2.01.0001.",
        ),
    ),
    f(
        "invalid_timestamp",
        (
            "Waktu tidak valid",
            "Waktu ditulis dalam format RFC 3339, misalnya 2026-03-31T17:00:00Z.",
        ),
        (
            "Invalid timestamp",
            "An RFC 3339 timestamp, e.g. 2026-03-31T17:00:00Z.",
        ),
    ),
    p(
        "invalid_token",
        &[401],
        (
            "Sesi tidak berlaku",
            "Token akses tidak berlaku atau sesi sudah berakhir; silakan masuk kembali.",
        ),
        (
            "Invalid token",
            "The access token is invalid or the session has ended.",
        ),
    ),
    p(
        "invalid_transition",
        &[409],
        (
            "Perubahan status tidak diizinkan",
            "Pesanan dengan status {status} tidak dapat diubah dengan cara ini.",
        ),
        (
            "Invalid transition",
            "An order that is {status} cannot make this change.",
        ),
    ),
    f(
        "invalid_type",
        (
            "Jenis nilai tidak valid",
            "Nilai harus berupa teks atau null.",
        ),
        ("Invalid type", "A string or null."),
    ),
    f(
        "kelurahan_outside_city",
        (
            "Kelurahan di luar kota",
            "Kelurahan tersebut tidak berada di kota ini; alamat harus di dalam kota.",
        ),
        (
            "Kelurahan outside the city",
            "The kelurahan is not in the city; addresses must be inside it.",
        ),
    ),
    p(
        "listing_exists",
        &[409],
        (
            "Produk jualan sudah ada",
            "Pedagang ini sudah menjual produk ini; ubahlah produk jualan yang ada.",
        ),
        (
            "Listing exists",
            "This merchant already lists this product; change that listing instead.",
        ),
    ),
    p(
        "listing_not_found",
        &[422],
        (
            "Produk jualan tidak ditemukan",
            "Salah satu produk jualan di keranjang tidak ditemukan.",
        ),
        ("Listing not found", "A listing in the cart does not exist."),
    ),
    p(
        "listing_not_sellable",
        &[409],
        (
            "Produk tidak dijual",
            "Produk jualan ini sedang tidak dijual.",
        ),
        ("Listing not sellable", "This listing is not for sale now."),
    ),
    f(
        "listing_taken_down",
        (
            "Listing diturunkan admin",
            "Admin menurunkan listing ini; hanya admin yang dapat memulihkannya.",
        ),
        (
            "Listing taken down",
            "An admin took this listing down; only an admin can lift it.",
        ),
    ),
    p(
        "mail_already_sent",
        &[409],
        ("Surel sudah terkirim", "Pesan ini sudah terkirim."),
        ("Mail already sent", "This message has already been sent."),
    ),
    p(
        "malformed_body",
        &[400],
        (
            "Isi permintaan tidak terbaca",
            "Isi permintaan tidak dapat dibaca.",
        ),
        ("Malformed body", "The body could not be read."),
    ),
    p(
        "malformed_json",
        &[400],
        ("JSON tidak valid", "Isi permintaan bukan JSON yang valid."),
        ("Malformed JSON", "The body is not valid JSON."),
    ),
    f(
        "malformed_line",
        ("Baris tidak terbaca", "Baris CSV ini tidak dapat dibaca."),
        ("Malformed line", "This CSV line cannot be read."),
    ),
    p(
        "malformed_multipart",
        &[400],
        (
            "Multipart tidak terbaca",
            "Isi permintaan multipart tidak dapat dibaca.",
        ),
        ("Malformed multipart", "The multipart body cannot be read."),
    ),
    p(
        "match_decided",
        &[409],
        (
            "Pencocokan sudah diputuskan",
            "Usulan pencocokan ini sudah diputuskan sebelumnya.",
        ),
        ("Match decided", "This match was decided already."),
    ),
    p(
        "match_pending",
        &[409],
        (
            "Pencocokan menunggu persetujuan",
            "Pencocokan manual untuk baris atau item ini sudah menunggu persetujuan.",
        ),
        (
            "Match pending",
            "A manual match of this line or item is already waiting for approval.",
        ),
    ),
    p(
        "media_not_found",
        &[404],
        (
            "Media tidak ditemukan",
            "Berkas media yang diminta tidak ditemukan.",
        ),
        ("Media not found", "No such media object."),
    ),
    p(
        "media_unavailable",
        &[503],
        (
            "Penyimpanan foto tidak tersedia",
            "Penyimpanan foto sedang tidak tersedia; tidak ada yang disimpan. Silakan coba lagi.",
        ),
        (
            "Media unavailable",
            "The photo store is unavailable; nothing was stored.",
        ),
    ),
    p(
        "merchant_capped",
        &[409],
        (
            "Batas omzet toko tercapai",
            "Toko ini sudah mencapai batas omzet bulan ini; silakan belanja di toko lain.",
        ),
        (
            "Merchant capped",
            "This shop has reached its turnover cap for the month; try another shop.",
        ),
    ),
    p(
        "merchant_not_active",
        &[409],
        (
            "Toko tidak aktif",
            "Toko ini sedang tidak aktif dan tidak menerima pesanan maupun produk jualan baru.",
        ),
        (
            "Merchant not active",
            "The shop is not active: it takes no orders and may not list.",
        ),
    ),
    p(
        "merchant_not_pending",
        &[409],
        (
            "Pedagang tidak menunggu verifikasi",
            "Pedagang ini tidak sedang menunggu verifikasi.",
        ),
        (
            "Merchant not pending",
            "The merchant is not waiting for verification.",
        ),
    ),
    p(
        "merchant_not_suspended",
        &[409],
        (
            "Pedagang tidak sedang dibekukan",
            "Pedagang ini tidak sedang dibekukan.",
        ),
        ("Merchant not suspended", "The merchant is not suspended."),
    ),
    p(
        "method_not_allowed",
        &[405],
        (
            "Metode tidak diizinkan",
            "Alamat ini tidak menerima metode HTTP tersebut.",
        ),
        (
            "Method not allowed",
            "This path does not take this HTTP method.",
        ),
    ),
    p(
        "metrics_token_required",
        &[401],
        (
            "Token metrik diperlukan",
            "Metrik server ini hanya dapat dibaca dengan token metriknya sebagai bearer token.",
        ),
        (
            "Metrics token required",
            "This server's metrics need its metrics token as a bearer token.",
        ),
    ),
    p(
        "missing_columns",
        &[422],
        (
            "Kolom tidak lengkap",
            "Baris judul berkas tidak memuat kolom: {missing}.",
        ),
        ("Missing columns", "The header lacks: {missing}."),
    ),
    f(
        "multiple_accounts",
        (
            "Lebih dari satu rekening",
            "Satu berkas hanya boleh memuat mutasi satu rekening.",
        ),
        (
            "Multiple accounts",
            "One file must hold statements of one account.",
        ),
    ),
    f(
        "net_quantity_conflict",
        (
            "Isi bersih ganda",
            "Produk memiliki berat bersih atau volume bersih, tidak keduanya.",
        ),
        (
            "Net quantity conflict",
            "A product has a net weight or a net volume, not both.",
        ),
    ),
    p(
        "nib_not_checked",
        &[409],
        (
            "NIB belum diperiksa",
            "Toko ini belum dapat berjualan sampai Dinas Koperasi memeriksa NIB-nya.",
        ),
        (
            "NIB not checked",
            "This shop cannot sell until the cooperatives office has checked its NIB.",
        ),
    ),
    p(
        "nib_taken",
        &[409],
        (
            "NIB sudah terdaftar",
            "Pedagang dengan NIB ini sudah terdaftar.",
        ),
        (
            "NIB taken",
            "A merchant with this NIB is already registered.",
        ),
    ),
    p(
        "nik_not_reclaimable",
        &[409],
        (
            "NIK tidak dapat diambil alih",
            "Hanya akun pembeli umum yang dapat dilepaskan NIK-nya dengan cara ini; akun ASN dan pedagang dikoreksi melalui datanya masing-masing.",
        ),
        (
            "NIK not reclaimable",
            "Only a public buyer account can lose its NIK this way; ASN and merchant accounts are corrected through their own records.",
        ),
    ),
    p(
        "nik_taken",
        &[409],
        (
            "NIK sudah terdaftar",
            "Pengguna dengan NIK ini sudah terdaftar.",
        ),
        ("NIK taken", "A user with this NIK already exists."),
    ),
    p(
        "nip_taken",
        &[409],
        (
            "NIP sudah terdaftar",
            "Pengguna dengan NIP ini sudah terdaftar.",
        ),
        ("NIP taken", "A user with this NIP already exists."),
    ),
    p(
        "no_proof_to_verify",
        &[409],
        (
            "Tidak ada bukti untuk diverifikasi",
            "Pembayaran ini tidak memiliki bukti transfer yang menunggu verifikasi.",
        ),
        (
            "No proof to verify",
            "This payment has no proof waiting for verification.",
        ),
    ),
    p(
        "not_a_credit",
        &[422],
        (
            "Bukan baris kredit",
            "Tagihan pembeli hanya dicocokkan dengan baris kredit.",
        ),
        ("Not a credit", "A bill is matched to a credit line."),
    ),
    p(
        "not_a_debit",
        &[422],
        (
            "Bukan baris debit",
            "Pembayaran kepada pedagang hanya dicocokkan dengan baris debit.",
        ),
        ("Not a debit", "A payout is matched to a debit line."),
    ),
    f(
        "not_a_permutation",
        (
            "Urutan foto tidak lengkap",
            "Sebutkan setiap foto produk tepat satu kali.",
        ),
        (
            "Not a permutation",
            "Name each of the product's photos exactly once.",
        ),
    ),
    f(
        "not_allowed",
        (
            "Tidak diizinkan",
            "Kolom ini tidak boleh diisi untuk peran tersebut.",
        ),
        ("Not allowed", "This field may not be given for this role."),
    ),
    p(
        "not_an_image",
        &[415],
        ("Bukan gambar", "Berkas bukan gambar JPEG, PNG, atau WebP."),
        ("Not an image", "The file is not a JPEG, PNG or WebP image."),
    ),
    f(
        "not_an_integer",
        (
            "Bukan bilangan bulat",
            "Nilai harus berupa bilangan bulat JSON.",
        ),
        ("Not an integer", "The value must be a JSON integer."),
    ),
    p(
        "not_found",
        &[404],
        (
            "Tidak ditemukan",
            "Data atau alamat yang diminta tidak ditemukan.",
        ),
        (
            "Not found",
            "The resource or route does not exist, or is not yours to see.",
        ),
    ),
    p(
        "not_reversible",
        &[409],
        (
            "Tidak dapat dibalik",
            "Transaksi jurnal ini tidak dapat dibalik.",
        ),
        (
            "Not reversible",
            "This journal transaction cannot be reversed.",
        ),
    ),
    p(
        "not_taken_down",
        &[409],
        (
            "Tidak sedang diturunkan",
            "Produk jualan ini tidak sedang diturunkan.",
        ),
        ("Not taken down", "This listing is not taken down."),
    ),
    p(
        "nothing_to_moderate",
        &[409],
        (
            "Tidak ada yang dimoderasi",
            "Tidak ada bagian produk ini yang menunggu moderasi.",
        ),
        (
            "Nothing to moderate",
            "Nothing of this product waits for moderation.",
        ),
    ),
    p(
        "nothing_to_pay",
        &[422],
        (
            "Tidak ada yang dibayarkan",
            "Tidak ada pedagang yang perlu dibayar sampai batas waktu ini.",
        ),
        (
            "Nothing to pay",
            "No merchant is owed money up to this cut-off.",
        ),
    ),
    p(
        "nothing_to_refund",
        &[422],
        (
            "Tidak ada pengembalian dana",
            "Tidak ada pengembalian dana dengan rekening pengembalian yang jatuh tempo sampai batas waktu ini.",
        ),
        (
            "Nothing to refund",
            "No refund with a refund account is due up to this cut-off.",
        ),
    ),
    p(
        "opd_code_taken",
        &[409],
        ("Kode OPD sudah dipakai", "OPD dengan kode ini sudah ada."),
        ("OPD code taken", "An OPD with this code already exists."),
    ),
    p(
        "order_not_paid",
        &[409],
        (
            "Pesanan belum dibayar",
            "Berita acara serah terima baru terbit setelah pesanan dibayar.",
        ),
        (
            "Order not paid",
            "A receipt is issued once the order is paid.",
        ),
    ),
    p(
        "order_voided",
        &[409],
        (
            "Pesanan dibatalkan",
            "Pesanan ini dibatalkan, ditolak, atau dananya dikembalikan: tidak ada berita acara serah terima.",
        ),
        (
            "Order voided",
            "The order was cancelled, rejected or refunded: it has no receipt.",
        ),
    ),
    p(
        "orderer_cannot_approve",
        &[403],
        (
            "Pemesan tidak boleh menyetujui",
            "Pejabat yang memesan tidak boleh menyetujui atau menolak pesanan yang sama.",
        ),
        (
            "The orderer may not approve",
            "The person who placed the order may not approve or reject it.",
        ),
    ),
    p(
        "orders_not_billable",
        &[409],
        (
            "Pesanan tidak dapat ditagihkan",
            "Ada pesanan yang tidak menunggu pembayaran atau sudah ditagihkan.",
        ),
        (
            "Orders not billable",
            "An order is not awaiting payment or was billed already.",
        ),
    ),
    f(
        "out_of_range",
        (
            "Di luar rentang",
            "Nilai berada di luar rentang yang diperbolehkan.",
        ),
        ("Out of range", "The value is out of range."),
    ),
    p(
        "out_of_stock",
        &[409],
        (
            "Stok tidak mencukupi",
            "Stok barang ini tidak mencukupi untuk jumlah yang diminta.",
        ),
        (
            "Out of stock",
            "The stock of this listing is too low for this change.",
        ),
    ),
    p(
        "outside_area",
        &[422],
        (
            "Di luar wilayah",
            "ASN berbelanja di toko yang berada di kecamatan tempat tinggalnya.",
        ),
        (
            "Outside area",
            "Civil servants buy from shops in their own kecamatan.",
        ),
    ),
    p(
        "owner_not_removable",
        &[409],
        (
            "Pemilik tidak dapat dihapus",
            "Pemilik bukan staf; setiap pedagang selalu memiliki pemilik.",
        ),
        (
            "Owner not removable",
            "The owner is not staff; a merchant always has its owner.",
        ),
    ),
    p(
        "owner_only",
        &[403],
        (
            "Khusus pemilik",
            "Hanya pemilik toko yang boleh melakukan tindakan ini.",
        ),
        ("Owner only", "Only the merchant's owner may do this."),
    ),
    f(
        "password_unchanged",
        (
            "Kata sandi sama",
            "Kata sandi baru harus berbeda dari kata sandi saat ini.",
        ),
        (
            "Password unchanged",
            "The new password must differ from the current one.",
        ),
    ),
    p(
        "payer_cannot_receive",
        &[403],
        (
            "Pembayar tidak boleh menerima",
            "Bendahara yang menerbitkan tagihan pesanan ini tidak boleh menandatangani BAST-nya.",
        ),
        (
            "The payer may not receive",
            "The treasurer who issued this order's bill may not sign its BAST.",
        ),
    ),
    p(
        "payload_too_large",
        &[413],
        (
            "Isi permintaan terlalu besar",
            "Ukuran isi permintaan atau berkas melebihi batas.",
        ),
        (
            "Payload too large",
            "The request body or file is too large.",
        ),
    ),
    p(
        "payment_expired",
        &[409],
        (
            "Pembayaran kedaluwarsa",
            "Batas waktu pembayaran ini sudah lewat; transfer yang dilakukan untuknya akan dikembalikan.",
        ),
        (
            "Payment expired",
            "This payment has expired; a transfer made for it is refunded.",
        ),
    ),
    p(
        "payment_not_pending",
        &[409],
        (
            "Pembayaran sudah ditutup",
            "Pembayaran ini tidak lagi menunggu pembayaran.",
        ),
        ("Payment not pending", "This payment is no longer open."),
    ),
    p(
        "payout_already_failed",
        &[409],
        (
            "Pembayaran sudah gagal",
            "Item pembayaran ini sudah tercatat gagal.",
        ),
        ("Payout already failed", "The item failed already."),
    ),
    p(
        "payout_already_settled",
        &[409],
        (
            "Pembayaran sudah diterima",
            "Mutasi rekening menunjukkan item ini sudah dibayar; item tidak dapat dinyatakan gagal lagi.",
        ),
        (
            "Payout already settled",
            "The statement shows this item paid; it cannot fail any more.",
        ),
    ),
    p(
        "payout_item_not_in_transit",
        &[409],
        (
            "Item tidak dalam proses transfer",
            "Hanya item yang sudah disetujui dan sedang dalam proses transfer yang dapat dinyatakan gagal.",
        ),
        (
            "Payout item not in transit",
            "Only an approved item in transit can fail.",
        ),
    ),
    pf(
        "price_above_het",
        &[409, 422],
        (
            "Harga melebihi HET",
            "Harga melebihi Harga Eceran Tertinggi (HET) yang ditetapkan pemerintah.",
        ),
        (
            "Price above HET",
            "The price is above the government's ceiling price (HET).",
        ),
    ),
    f(
        "product_or_commodity",
        (
            "Pilih produk atau komoditas",
            "Sebutkan salah satu: product_id atau commodity_id.",
        ),
        (
            "Product or commodity",
            "Name either a product_id or a commodity_id.",
        ),
    ),
    pf(
        "product_rejected",
        &[409],
        (
            "Produk ditolak",
            "Produk ditolak dalam moderasi; ubah produk dan tunggu persetujuan sebelum menjualnya.",
        ),
        (
            "Product rejected",
            "The product was rejected in moderation; change it and wait for approval to sell it.",
        ),
    ),
    p(
        "proof_already_submitted",
        &[409],
        (
            "Bukti sudah dikirim",
            "Bukti transfer untuk pembayaran ini sudah menunggu verifikasi.",
        ),
        (
            "Proof already submitted",
            "A proof for this payment is already waiting for verification.",
        ),
    ),
    p(
        "quantity_too_large",
        &[422],
        (
            "Jumlah terlalu banyak",
            "Satu baris keranjang paling banyak memuat {limit} unit barang.",
        ),
        (
            "Quantity too large",
            "A cart line holds at most {limit} units.",
        ),
    ),
    f(
        "query_too_long",
        (
            "Kata kunci terlalu panjang",
            "Pencarian memuat terlalu banyak kata atau kata yang terlalu panjang.",
        ),
        (
            "Query too long",
            "The search has too many words or too long a word.",
        ),
    ),
    f(
        "range_too_long",
        (
            "Rentang terlalu panjang",
            "Rentang waktu laporan terlalu panjang.",
        ),
        ("Range too long", "The report covers too many months."),
    ),
    p(
        "reference_conflict",
        &[409],
        (
            "Referensi sudah dipakai",
            "Referensi penyedia pembayaran ini sudah dipakai untuk pembayaran lain.",
        ),
        (
            "Reference conflict",
            "This provider reference was already used for another payment.",
        ),
    ),
    p(
        "refresh_token_reused",
        &[401],
        (
            "Token penyegaran sudah dipakai",
            "Token penyegaran ini sudah pernah dipakai; sesi telah diakhiri demi keamanan. Silakan masuk kembali.",
        ),
        (
            "Refresh token reused",
            "This refresh token was already used; the session has been ended.",
        ),
    ),
    p(
        "refund_already_paid",
        &[409],
        (
            "Pengembalian dana sudah dibayar",
            "Pengembalian dana ini sudah dibayarkan.",
        ),
        ("Refund already paid", "This refund was already paid."),
    ),
    p(
        "refund_already_settled",
        &[409],
        (
            "Pengembalian dana sudah diterima",
            "Mutasi rekening menunjukkan transfer pengembalian dana ini sudah keluar; transfer tidak dapat dinyatakan gagal lagi.",
        ),
        (
            "Refund already settled",
            "The statement shows this refund paid; it cannot fail any more.",
        ),
    ),
    p(
        "refund_item_already_failed",
        &[409],
        (
            "Transfer pengembalian sudah gagal",
            "Transfer pengembalian dana ini sudah tercatat gagal.",
        ),
        ("Refund transfer already failed", "The item failed already."),
    ),
    p(
        "refund_item_not_in_transit",
        &[409],
        (
            "Transfer pengembalian tidak dalam proses",
            "Hanya transfer pengembalian dana yang sudah disetujui dan sedang diproses yang dapat dinyatakan gagal.",
        ),
        (
            "Refund item not in transit",
            "Only an approved item in transit can fail.",
        ),
    ),
    p(
        "refund_not_due",
        &[409],
        (
            "Pengembalian dana tidak terutang",
            "Pengembalian dana ini berstatus {status} dan tidak dapat dibayar manual sekarang.",
        ),
        (
            "Refund not due",
            "The refund is {status} and cannot be paid by hand now.",
        ),
    ),
    p(
        "refund_payment_not_proposed",
        &[409],
        (
            "Tidak ada usulan pembayaran",
            "Pengembalian dana ini berstatus {status}; tidak ada pembayaran manual yang menunggu persetujuan.",
        ),
        (
            "No payment proposed",
            "The refund is {status}; no payment by hand of it waits for confirmation.",
        ),
    ),
    p(
        "request_timeout",
        &[503],
        (
            "Waktu permintaan habis",
            "Permintaan memakan waktu terlalu lama; silakan coba beberapa saat lagi.",
        ),
        (
            "Request timeout",
            "The request took too long; try again shortly.",
        ),
    ),
    f(
        "required",
        ("Kolom wajib diisi", "Kolom ini wajib diisi."),
        ("Required", "This field is required."),
    ),
    f(
        "short_quantity_too_large",
        (
            "Jumlah kurang terlalu besar",
            "Jumlah yang kurang melebihi jumlah yang dipesan pada baris ini.",
        ),
        (
            "Short quantity too large",
            "The short quantity is more than this line ordered.",
        ),
    ),
    p(
        "statement_line_matched",
        &[409],
        (
            "Baris mutasi sudah dicocokkan",
            "Baris mutasi rekening ini sudah dicocokkan.",
        ),
        (
            "Statement line matched",
            "This statement line is matched already.",
        ),
    ),
    f(
        "stock_below_zero",
        (
            "Stok menjadi negatif",
            "Perubahan ini membuat stok di bawah nol.",
        ),
        (
            "Stock below zero",
            "This change would take the stock below zero.",
        ),
    ),
    f(
        "stock_change_and_count",
        (
            "Perubahan dan hitungan stok",
            "Satu baris memuat stock_change atau stock_count, tidak keduanya.",
        ),
        (
            "Stock change and count",
            "A line gives stock_change or stock_count, not both.",
        ),
    ),
    f(
        "too_long",
        (
            "Teks terlalu panjang",
            "Teks melebihi panjang yang diperbolehkan.",
        ),
        ("Too long", "The text is longer than allowed."),
    ),
    f(
        "too_many",
        ("Terlalu banyak", "Jumlah isian melebihi batas."),
        ("Too many", "More entries than allowed."),
    ),
    p(
        "too_many_addresses",
        &[409],
        (
            "Alamat terlalu banyak",
            "Satu pembeli menyimpan paling banyak 20 alamat; hapus salah satu terlebih dahulu.",
        ),
        (
            "Too many addresses",
            "A buyer keeps at most 20 addresses; delete one first.",
        ),
    ),
    p(
        "too_many_favourites",
        &[409],
        (
            "Favorit terlalu banyak",
            "Satu pembeli menyimpan paling banyak 500 favorit.",
        ),
        (
            "Too many favourites",
            "A buyer keeps at most 500 favourites.",
        ),
    ),
    p(
        "too_many_images",
        &[409],
        (
            "Foto terlalu banyak",
            "Satu produk memiliki paling banyak {limit} foto; hapus salah satu terlebih dahulu.",
        ),
        (
            "Too many images",
            "A product has at most {limit} photos; delete one first.",
        ),
    ),
    pf(
        "too_many_lines",
        &[422],
        (
            "Baris terlalu banyak",
            "Berkas memuat baris melebihi batas; bagi menjadi beberapa berkas.",
        ),
        (
            "Too many lines",
            "The file has more lines than allowed; split it into several files.",
        ),
    ),
    p(
        "too_many_requests",
        &[429],
        (
            "Terlalu banyak percobaan",
            "Terlalu banyak percobaan; silakan coba lagi nanti.",
        ),
        ("Too many requests", "Too many attempts; try again later."),
    ),
    p(
        "too_many_reserved_units",
        &[409],
        (
            "Terlalu banyak barang dipesan",
            "Pesanan yang belum dibayar paling banyak memuat {limit} unit barang per pembeli.",
        ),
        (
            "Too many reserved units",
            "Unpaid checkouts may hold at most {limit} units per buyer.",
        ),
    ),
    p(
        "too_many_unpaid_checkouts",
        &[409],
        (
            "Terlalu banyak pesanan belum dibayar",
            "Bayar atau batalkan pesanan yang masih terbuka terlebih dahulu: paling banyak {limit} pesanan dapat menunggu pembayaran.",
        ),
        (
            "Too many unpaid checkouts",
            "Pay or cancel an open checkout first: at most {limit} may wait for payment.",
        ),
    ),
    p(
        "transaction_conflict",
        &[503],
        (
            "Permintaan bertabrakan",
            "Permintaan bertabrakan dengan permintaan lain dan tidak ada yang disimpan; silakan kirim ulang.",
        ),
        (
            "Transaction conflict",
            "The request collided with another one; send it again.",
        ),
    ),
    p(
        "transfer_already_recorded",
        &[409],
        (
            "Transfer sudah dicatat",
            "Transfer dengan referensi ini sudah dicatat.",
        ),
        (
            "Transfer already recorded",
            "A transfer with this reference was already recorded.",
        ),
    ),
    p(
        "unauthenticated",
        &[401],
        (
            "Belum masuk",
            "Token akses diperlukan; silakan masuk terlebih dahulu.",
        ),
        ("Unauthenticated", "An access token is required."),
    ),
    pf(
        "unknown_address",
        &[422],
        (
            "Alamat tidak dikenal",
            "Alamat tersebut tidak ada di buku alamat Anda.",
        ),
        ("Unknown address", "No such address in your address book."),
    ),
    f(
        "unknown_category",
        (
            "Kategori tidak dikenal",
            "Tidak ada kategori dengan kode ini.",
        ),
        ("Unknown category", "No category with this code."),
    ),
    f(
        "unknown_commodity",
        ("Komoditas tidak dikenal", "Komoditas tersebut tidak ada."),
        ("Unknown commodity", "No such commodity."),
    ),
    f(
        "unknown_listing_code",
        (
            "Kode tidak dikenal",
            "Tidak ada listing Anda dengan kode ini.",
        ),
        ("Unknown code", "None of your listings has this code."),
    ),
    f(
        "unknown_merchant_kind",
        (
            "Jenis usaha tidak dikenal",
            "Pilih salah satu: toko_kelontong, umkm, koperasi, padat_karya.",
        ),
        (
            "Unknown merchant kind",
            "One of toko_kelontong, umkm, koperasi, padat_karya.",
        ),
    ),
    f(
        "unknown_opd",
        ("OPD tidak dikenal", "Tidak ada OPD dengan ID ini."),
        ("Unknown OPD", "No OPD with this id."),
    ),
    f(
        "unknown_order_line",
        (
            "Baris pesanan tidak dikenal",
            "Pesanan ini tidak memuat listing tersebut.",
        ),
        (
            "Unknown order line",
            "This order has no line of that listing.",
        ),
    ),
    f(
        "unknown_payment",
        ("Tagihan tidak dikenal", "Tidak ada tagihan dengan ID ini."),
        ("Unknown bill", "No bill with this id."),
    ),
    f(
        "unknown_payout_item",
        (
            "Item pembayaran tidak dikenal",
            "Tidak ada item pembayaran dengan ID ini.",
        ),
        ("Unknown payout item", "No payout item with this id."),
    ),
    f(
        "unknown_policy",
        (
            "Kebijakan tidak dikenal",
            "Tidak ada kebijakan dengan nama ini.",
        ),
        ("Unknown policy", "No policy has this name."),
    ),
    f(
        "unknown_product",
        (
            "Produk tidak dikenal",
            "Produk tersebut tidak ada di antara produk Anda.",
        ),
        ("Unknown product", "No such product of yours."),
    ),
    f(
        "unknown_region",
        (
            "Wilayah tidak dikenal",
            "Kode ini bukan kode kecamatan atau kelurahan resmi.",
        ),
        (
            "Unknown region",
            "Not an official kecamatan or kelurahan code.",
        ),
    ),
    f(
        "unknown_statement_line",
        (
            "Baris mutasi tidak dikenal",
            "Tidak ada baris mutasi rekening dengan ID ini.",
        ),
        ("Unknown statement line", "No statement line with this id."),
    ),
    f(
        "unknown_status",
        (
            "Status tidak dikenal",
            "Pilih salah satu: pending, active, rejected, suspended.",
        ),
        (
            "Unknown status",
            "One of pending, active, rejected, suspended.",
        ),
    ),
    p(
        "unreadable_file",
        &[422],
        (
            "Berkas tidak dapat dibaca",
            "Kirim berkas CSV (UTF-8, dipisah koma atau titik koma) atau XLSX dengan baris judul kolom.",
        ),
        (
            "Unreadable file",
            "Send a CSV file (UTF-8, comma or semicolon separated) or an XLSX workbook with a header line.",
        ),
    ),
    p(
        "unsupported_media_type",
        &[415],
        (
            "Jenis konten tidak didukung",
            "Jenis konten (Content-Type) permintaan tidak didukung oleh alamat ini.",
        ),
        (
            "Unsupported media type",
            "This path does not take the request's Content-Type.",
        ),
    ),
    p(
        "validation_failed",
        &[422],
        (
            "Data tidak valid",
            "Satu atau beberapa kolom tidak valid; lihat daftar errors.",
        ),
        ("Validation failed", "One or more fields are invalid."),
    ),
    f(
        "weak_password",
        (
            "Kata sandi terlalu lemah",
            "Kata sandi terdiri atas 10 sampai 128 karakter.",
        ),
        ("Weak password", "A password has 10 to 128 characters."),
    ),
    f(
        "wrong_password",
        (
            "Kata sandi salah",
            "Kata sandi saat ini yang Anda masukkan salah.",
        ),
        ("Wrong password", "The current password is wrong."),
    ),
];

static INDEX: LazyLock<HashMap<&'static str, &'static Entry>> =
    LazyLock::new(|| CATALOGUE.iter().map(|e| (e.code, e)).collect());

/// The catalogue's entry for a code.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    INDEX.get(code).copied()
}

/// A meaning with each `{key}` replaced by that fact of `context` (a string as it is, a number
/// written out, a list joined with commas); `None` when a key is not in `context`.
pub fn fill(template: &str, context: Option<&serde_json::Value>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}')?;
        let key = &after[..end];
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            // Not a placeholder (the English meaning of `invalid_hours` shows braces).
            out.push('{');
            rest = after;
            continue;
        }
        out.push_str(&fact(context?.get(key)?)?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn fact(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items
            .iter()
            .map(fact)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(", ")),
        Value::Null | Value::Object(_) => None,
    }
}

/// The context keys a meaning names.
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let key = &after[..end];
        if !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            keys.push(key);
            rest = &after[end + 1..];
        } else {
            rest = after;
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_sorted_unique_and_complete_in_both_languages() {
        for pair in CATALOGUE.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} must come before {} (alphabetical, once each)",
                pair[1].code,
                pair[0].code
            );
        }
        for e in CATALOGUE {
            assert!(
                e.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                e.code
            );
            assert!(
                e.field || !e.statuses.is_empty(),
                "{}: a problem code names its statuses",
                e.code
            );
            for text in [&e.id, &e.en] {
                assert!(!text.title.trim().is_empty(), "{}", e.code);
                assert!(text.meaning.trim().len() > 5, "{}", e.code);
            }
            assert_ne!(e.id.meaning, e.en.meaning, "{}: translated", e.code);
            assert_eq!(
                placeholders(e.id.meaning),
                placeholders(e.en.meaning),
                "{}: both languages name the same facts",
                e.code
            );
            assert!(e.statuses.iter().all(|s| (400..600).contains(s)));
        }
        assert_eq!(
            lookup("out_of_stock").map(|e| e.id.title),
            Some("Stok tidak mencukupi")
        );
        assert!(lookup("no_such_code").is_none());
    }

    #[test]
    fn accept_language_picks_english_only_when_english_is_preferred() {
        let cases = [
            (None, Lang::Id),
            (Some(""), Lang::Id),
            (Some("en"), Lang::English),
            (Some("EN"), Lang::English),
            (Some("en-US"), Lang::English),
            (Some("en-GB,en;q=0.9"), Lang::English),
            (Some("id"), Lang::Id),
            (Some("id-ID"), Lang::Id),
            (Some("id;q=0.9, en;q=0.8"), Lang::Id),
            (Some("en;q=0.8, id;q=0.9"), Lang::Id),
            (Some("id;q=0.5, en;q=0.8"), Lang::English),
            (Some("fr, en;q=0.9"), Lang::Id),
            (Some("de"), Lang::Id),
            (Some("*"), Lang::Id),
            (Some("*, en;q=0.5"), Lang::English),
            (Some("en;q=0"), Lang::Id),
            (Some("en;q=0, id"), Lang::Id),
            (Some("id;q=0, en;q=0.1"), Lang::English),
            (Some("en;q=1.5"), Lang::Id),
            (Some("en;q=abc, id;q=0.1"), Lang::Id),
            (Some("en ; Q=0.700 , id;q=0.699"), Lang::English),
            (Some("en, id"), Lang::English),
            (Some("id, en"), Lang::Id),
            (Some("x-klingon, en;q=0.2"), Lang::Id),
            (Some(",,;q=1,"), Lang::Id),
        ];
        for (header, want) in cases {
            assert_eq!(Lang::negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn meanings_are_filled_from_context_or_not_at_all() {
        let ctx = serde_json::json!({"limit": 3, "missing": ["nip", "name"], "place": "query"});
        assert_eq!(
            fill("paling banyak {limit} pesanan", Some(&ctx)).as_deref(),
            Some("paling banyak 3 pesanan")
        );
        assert_eq!(
            fill("tidak memuat kolom: {missing}.", Some(&ctx)).as_deref(),
            Some("tidak memuat kolom: nip, name.")
        );
        assert_eq!(fill("{absent}", Some(&ctx)), None);
        assert_eq!(fill("{limit}", None), None);
        assert_eq!(
            fill("of {day, opens, closes}", None).as_deref(),
            Some("of {day, opens, closes}")
        );
        assert_eq!(
            placeholders("a {place} b {limit} {x y}"),
            ["place", "limit"]
        );
    }
}
