//! What every page shares: the frame (navigation by role, the CSRF token), the answer to a
//! failure as an HTML page, and the formatting of amounts and times.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, Responder};
use askama::Template;
use chrono::{DateTime, Utc};
use peken_kernel::ApiError;
use peken_kernel::auth::{Caller, Role};
use peken_kernel::problems::Lang;

/// Why a page is not shown.
#[derive(Debug)]
pub enum Failure {
    /// No session, or it ended: to the sign-in page.
    SignIn,
    /// The caller's role may not see this page.
    Forbidden,
    /// A form from another site, or without this session's token.
    CrossSite,
    /// What the service refused, or an unexpected failure.
    Api(ApiError),
}

impl From<ApiError> for Failure {
    fn from(err: ApiError) -> Self {
        Failure::Api(err)
    }
}

impl From<askama::Error> for Failure {
    fn from(err: askama::Error) -> Self {
        Failure::Api(ApiError::internal(anyhow::anyhow!("template: {err}")))
    }
}

/// A page's outcome, answered as HTML whatever happened (never problem+json: the console is
/// read by people).
pub struct Page(pub Result<HttpResponse, Failure>);

impl Responder for Page {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        match self.0 {
            Ok(response) => response,
            Err(failure) => failure_page(failure),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    title: String,
    detail: String,
    status: u16,
    code: String,
    fields: Vec<(String, String)>,
}

fn failure_page(failure: Failure) -> HttpResponse {
    let (status, title, detail, code, fields) = match failure {
        Failure::SignIn => return see_other("/console/masuk"),
        Failure::Forbidden => (
            StatusCode::FORBIDDEN,
            "Tidak diizinkan".to_owned(),
            "Peran Anda tidak boleh membuka halaman ini.".to_owned(),
            "forbidden".to_owned(),
            Vec::new(),
        ),
        Failure::CrossSite => (
            StatusCode::FORBIDDEN,
            "Formulir ditolak".to_owned(),
            "Formulir ini tidak dikirim dari halaman konsol yang sah (token atau asal tidak \
             cocok). Muat ulang halaman lalu coba lagi."
                .to_owned(),
            "csrf_failed".to_owned(),
            Vec::new(),
        ),
        Failure::Api(err) => {
            err.log_cause();
            let problem = err.problem(Lang::Id);
            let fields = problem
                .errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect();
            (
                err.status(),
                problem.title,
                problem.detail.unwrap_or_default(),
                problem.code,
                fields,
            )
        }
    };
    let page = ErrorPage {
        frame: Frame::anonymous(),
        title,
        detail,
        status: status.as_u16(),
        code,
        fields,
    };
    let body = page
        .render()
        .unwrap_or_else(|_| "Terjadi kesalahan.".to_owned());
    html(status, body)
}

/// An HTML answer with the console's headers: no caching of personal pages, no framing, and a
/// content security policy that allows only this origin's own assets.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("id"));
    response
}

/// Renders a page as 200.
pub fn ok<T: Template>(page: &T) -> Result<HttpResponse, Failure> {
    Ok(html(StatusCode::OK, page.render()?))
}

/// Renders a page that shows uploaded photos as 200: when photos are served from another
/// origin (`PEKEN_MEDIA_PUBLIC_URL`, e.g. a bucket or CDN), the policy allows images from that
/// origin too; otherwise they come from this origin's `/media/` like the stylesheet.
pub fn ok_with_media<T: Template>(
    settings: &peken_kernel::settings::Settings,
    page: &T,
) -> Result<HttpResponse, Failure> {
    let mut response = html(StatusCode::OK, page.render()?);
    if let Some(origin) = settings.media.public_url.as_deref().and_then(origin_of)
        && let Ok(value) = HeaderValue::from_str(&format!(
            "default-src 'none'; style-src 'self'; img-src 'self' data: {origin}; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ))
    {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

/// The origin (`scheme://host[:port]`) of an http(s) address, if it is one that may stand in a
/// policy (no spaces, quotes or semicolons).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    let clean = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    clean.then(|| format!("{scheme}://{host}"))
}

/// POST/redirect/GET: after a form, the browser loads `to`.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A link of the navigation.
pub struct Link {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The frame around every page: who is signed in, the navigation for that role, and the token
/// the sign-out form carries.
pub struct Frame {
    pub signed_in: bool,
    pub role_label: &'static str,
    pub links: Vec<Link>,
    pub csrf: String,
}

impl Frame {
    pub fn anonymous() -> Self {
        Frame {
            signed_in: false,
            role_label: "",
            links: Vec::new(),
            csrf: String::new(),
        }
    }

    pub fn of(caller: &Caller, csrf: &str, current: &str) -> Self {
        let links: &[(&'static str, &'static str)] = match caller.role {
            Role::Treasury => &[
                ("/console", "Beranda"),
                ("/console/treasury/batches", "Batch pembayaran"),
                ("/console/treasury/statements", "Rekening koran"),
                ("/console/treasury/exceptions", "Pengecualian"),
                ("/console/treasury/refunds", "Refund"),
                ("/console/treasury/refund-batches", "Batch refund"),
                ("/console/treasury/holds", "Toko ditahan"),
                ("/console/treasury/ledger", "Buku besar & kas"),
                ("/console/treasury/sla", "Tingkat layanan"),
            ],
            Role::Admin => &[
                ("/console", "Beranda"),
                ("/console/admin/merchants", "Verifikasi toko"),
                ("/console/admin/products", "Moderasi produk"),
                ("/console/admin/bank-accounts", "Rekening baru"),
                ("/console/admin/nik-reclaims", "Pengembalian NIK"),
                ("/console/admin/listings", "Penurunan listing"),
                ("/console/compliance", "Kepatuhan ASN"),
                ("/console/admin/mandate-policies", "Batas minimum"),
                ("/console/admin/outbox", "Surel keluar"),
                ("/console/treasury/sla", "Tingkat layanan"),
            ],
            Role::OpdAdmin => &[
                ("/console", "Beranda"),
                ("/console/compliance", "Kepatuhan ASN"),
            ],
            _ => &[("/console", "Beranda")],
        };
        Frame {
            signed_in: true,
            role_label: role_label(caller.role),
            links: links
                .iter()
                .map(|&(href, label)| Link {
                    href,
                    label,
                    current: href == current,
                })
                .collect(),
            csrf: csrf.to_owned(),
        }
    }
}

pub fn role_label(role: Role) -> &'static str {
    match role {
        Role::Treasury => "Bendahara",
        Role::Admin => "Dinkopumdag (admin)",
        Role::OpdAdmin => "Admin OPD",
        Role::OpdStaff => "Staf OPD",
        Role::Camat => "Camat",
        Role::Merchant => "Toko",
        Role::Asn => "ASN",
        Role::Public => "Pembeli umum",
    }
}

/// An instant as a WIB wall-clock time, `31-03-2026 23:30 WIB`.
pub fn wib(instant: DateTime<Utc>) -> String {
    (instant + chrono::Duration::hours(7))
        .format("%d-%m-%Y %H:%M WIB")
        .to_string()
}

/// An optional instant, or a dash.
pub fn wib_opt(instant: Option<DateTime<Utc>>) -> String {
    instant.map_or_else(|| "–".to_owned(), wib)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_media_origin_is_the_scheme_and_host_of_its_address() {
        assert_eq!(
            origin_of("https://cdn.example.go.id/media").as_deref(),
            Some("https://cdn.example.go.id")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:9000/bucket").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(origin_of("https://evil.example; script-src *"), None);
        assert_eq!(origin_of("ftp://files.example"), None);
    }
}
