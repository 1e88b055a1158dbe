//! `ApiError`: every failure a client can see, rendered as RFC 9457 problem+json with a stable
//! machine `code`. Unexpected failures keep their cause chain for the log and show the client
//! nothing but an opaque message.
//!
//! A problem is rendered in a language ([`Lang`]): in Indonesian (the default) its `title`,
//! `detail` and field `message`s come from the catalogue in [`crate::problems`]; in English they
//! are the HTTP reason phrase and the call site's own text. The `code` and `context` are the same
//! in both.

use std::borrow::Cow;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use sea_orm::error::SqlxError;
use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ids::IdError;
use crate::money::MoneyError;
use crate::period::PeriodError;
use crate::problems::{self, Lang};

/// One bad field in a request, as listed in a validation problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `owner.email` or `items[2].quantity`.
    pub field: String,
    /// A stable machine code such as `invalid_nik`.
    pub code: String,
    /// A human-readable explanation, in the response's language.
    pub message: String,
}

/// The body of every error response (RFC 9457 problem details), as
/// `application/problem+json`. `title`, `detail` and the field errors' `message` are in
/// Indonesian unless the request's `Accept-Language` prefers English (`en`, `en-US`, q-values
/// honoured); the response says which in `Content-Language` and has `Vary: Accept-Language`.
/// `code`, `type`, `status`, `errors[].code` and `context` are the same in every language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:peken:problem:{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short title in the response's language (`Content-Language`).
    pub title: String,
    pub status: u16,
    /// What went wrong, in the response's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine code, e.g. `out_of_stock`, the same in every language;
    /// `GET /api/v1/problem-codes` lists them all.
    pub code: String,
    /// For validation failures: each bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extra machine-readable facts about this problem (e.g. which listing is short).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub context: Option<serde_json::Value>,
}

/// An error that becomes an HTTP problem response. Boxed, so `Result<T, ApiError>` stays small
/// on the happy path.
pub struct ApiError(Box<Inner>);

struct Inner {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: Option<String>,
    errors: Vec<FieldError>,
    context: Option<serde_json::Value>,
    retry_after: Option<u64>,
    /// The cause of an unexpected failure; logged, never shown to the client.
    source: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>) -> Self {
        Self(Box::new(Inner {
            status,
            code: code.into(),
            detail: None,
            errors: Vec::new(),
            context: None,
            retry_after: None,
            source: None,
        }))
    }

    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    #[must_use]
    pub fn with_context(mut self, context: serde_json::Value) -> Self {
        self.0.context = Some(context);
        self
    }

    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code).with_detail(detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code).with_detail(detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code).with_detail(detail)
    }

    /// A resource that does not exist, or that the caller may not know exists.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found").with_detail(format!("{what} not found"))
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code).with_detail(detail)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
            .with_detail("your role may not perform this action")
    }

    /// A second person must approve what this one prepared or proposed (payout batches, manual
    /// matches, transfer proofs).
    pub fn four_eyes() -> Self {
        Self::new(StatusCode::FORBIDDEN, "four_eyes_required")
            .with_detail("a second treasury user must approve what another one prepared")
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests")
            .with_detail("too many attempts; try again later")
            .with_retry_after(retry_after)
    }

    pub fn unavailable(code: &'static str) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code)
            .with_detail("a dependency is unavailable; try again shortly")
            .with_retry_after(2)
    }

    /// A validation failure listing each bad field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut err = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .with_detail("one or more fields are invalid");
        err.0.errors = errors;
        err
    }

    /// One bad field, with the field's own code.
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
        }])
    }

    /// An unexpected failure: the client sees an opaque 500, the log sees the cause chain.
    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            .with_detail("an unexpected error occurred; it has been logged");
        err.0.source = Some(source.into());
        err
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// The problem details in a language.
    pub fn problem(&self, lang: Lang) -> Problem {
        let inner = &self.0;
        let entry = problems::lookup(&inner.code);
        let (title, detail, errors) = match lang {
            Lang::English => (
                inner
                    .status
                    .canonical_reason()
                    .unwrap_or("Error")
                    .to_owned(),
                inner.detail.clone(),
                inner.errors.clone(),
            ),
            Lang::Id => {
                let (title, detail) = match entry {
                    Some(entry) => (
                        entry.id.title.to_owned(),
                        Some(
                            problems::fill(entry.id.meaning, inner.context.as_ref())
                                .unwrap_or_else(|| format!("{}.", entry.id.title)),
                        ),
                    ),
                    // An uncatalogued code (the catalogue test keeps this from happening).
                    None => ("Terjadi kesalahan".to_owned(), inner.detail.clone()),
                };
                let errors = inner
                    .errors
                    .iter()
                    .map(|e| FieldError {
                        field: e.field.clone(),
                        code: e.code.clone(),
                        message: problems::lookup(&e.code)
                            .map_or_else(|| e.message.clone(), |f| f.id.meaning.to_owned()),
                    })
                    .collect();
                (title, detail, errors)
            }
        };
        Problem {
            kind: format!("urn:peken:problem:{}", inner.code),
            title,
            status: inner.status.as_u16(),
            detail,
            code: inner.code.to_string(),
            errors,
            context: inner.context.clone(),
        }
    }

    /// Logs the cause of an unexpected failure (once per error: `error_response` does, and
    /// whoever renders an error actix has not).
    pub fn log_cause(&self) {
        if let Some(source) = &self.0.source {
            tracing::error!(error = format!("{source:#}"), code = %self.0.code, "request failed");
        }
    }

    /// The problem+json response in a language, saying `Content-Language` and
    /// `Vary: Accept-Language`.
    pub fn response(&self, lang: Lang) -> HttpResponse {
        let mut builder = HttpResponse::build(self.0.status);
        builder.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        builder.insert_header((
            header::CONTENT_LANGUAGE,
            HeaderValue::from_static(lang.tag()),
        ));
        builder.insert_header((header::VARY, HeaderValue::from_static("accept-language")));
        if let Some(seconds) = self.0.retry_after {
            builder.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        builder.json(self.problem(lang))
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.code)?;
        if let Some(source) = &self.0.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.detail {
            Some(detail) => write!(f, "{}: {detail}", self.0.code),
            None => f.write_str(&self.0.code),
        }
    }
}

impl std::error::Error for ApiError {}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    /// In Indonesian; the server's outermost middleware renders the problem again in the
    /// request's language.
    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        self.response(Lang::Id)
    }
}

/// Database failures: lost connections become 503 so clients retry, constraint violations that
/// no call site mapped become 409, everything else an opaque 500.
impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if is_connection_error(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::unavailable("database_unavailable");
        }
        if is_transient_conflict(&err) {
            // Nothing was written (the database rolled the transaction back), so the client may
            // send the same request again. Logged as an error all the same: a deadlock means
            // two transactions took rows in different orders, which the code must not do.
            tracing::error!(error = %err, "transaction aborted by the database; retryable");
            return Self::new(StatusCode::SERVICE_UNAVAILABLE, "transaction_conflict")
                .with_detail("the request collided with another one; send it again")
                .with_retry_after(1);
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Self::conflict("conflict", "the resource already exists")
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                Self::unprocessable("invalid_reference", "a referenced resource does not exist")
            }
            _ => Self::internal(err),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<DbErr>() {
            Ok(db) => db.into(),
            Err(other) => Self::internal(other),
        }
    }
}

/// True when the database could not be reached at all (as opposed to a query failing): the
/// pool found no live connection, the connection broke mid-query (a restarting server closes
/// it, often without a TLS goodbye), or the server said it is shutting down or starting.
pub fn is_connection_error(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                SqlxError::Io(_)
                | SqlxError::Tls(_)
                | SqlxError::Protocol(_)
                | SqlxError::PoolTimedOut
                | SqlxError::PoolClosed
                | SqlxError::WorkerCrashed
                | SqlxError::BeginFailed => true,
                // PostgreSQL's class 08 (connection exception), 57P01-57P03 (shutting down,
                // crashed, starting up) and 53300 (too many connections).
                SqlxError::Database(db) => db.code().is_some_and(|code| {
                    code.starts_with("08") || code.starts_with("57P") || code == "53300"
                }),
                _ => false,
            }
        }
        DbErr::Exec(e) | DbErr::Query(e) => {
            let text = e.to_string().to_ascii_lowercase();
            text.contains("connection") && !text.contains("violates")
                || text.contains("pool timed out")
                || text.contains("broken pipe")
                || text.contains("the database system is")
        }
        _ => false,
    }
}

/// True when PostgreSQL aborted the transaction to resolve a deadlock (40P01) or a
/// serialization failure (40001): the request did nothing and may be sent again.
pub fn is_transient_conflict(err: &DbErr) -> bool {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(e.as_ref(), SqlxError::Database(db)
                if db.code().is_some_and(|code| code == "40P01" || code == "40001"))
        }
        _ => false,
    }
}

/// The message of a unique-constraint violation, if this is one. Call sites match the index or
/// column name in it (PostgreSQL names the index, SQLite names `table.column`).
pub fn unique_violation(err: &DbErr) -> Option<String> {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg)) => Some(msg),
        _ => None,
    }
}

/// Anything with a stable machine code, so parse failures of value types map to field errors.
pub trait Coded: fmt::Display {
    fn code(&self) -> &'static str;
}

impl Coded for IdError {
    fn code(&self) -> &'static str {
        IdError::code(self)
    }
}

impl Coded for MoneyError {
    fn code(&self) -> &'static str {
        MoneyError::code(self)
    }
}

impl Coded for PeriodError {
    fn code(&self) -> &'static str {
        PeriodError::code(self)
    }
}

/// Collects field errors while a request is checked, so the client learns every bad field at
/// once instead of one per round trip.
#[derive(Debug, Default)]
pub struct Validation {
    errors: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of a failed parse under `field` and returns the value when it parsed.
    pub fn check<T, E: Coded>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.push(field, err.code(), err.to_string());
                None
            }
        }
    }

    /// Like `check` for an optional input: `None` stays `None` without an error.
    pub fn check_opt<T, E: Coded>(
        &mut self,
        field: &str,
        result: Option<Result<T, E>>,
    ) -> Option<T> {
        result.and_then(|r| self.check(field, r))
    }

    /// Records an error when `ok` is false.
    pub fn require(&mut self, ok: bool, field: &str, code: &str, message: &str) {
        if !ok {
            self.push(field, code, message.to_owned());
        }
    }

    pub fn push(&mut self, field: &str, code: &str, message: String) {
        self.errors.push(FieldError {
            field: field.to_owned(),
            code: code.to_owned(),
            message,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else the 422 listing every bad field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.errors))
        }
    }

    /// Like [`finish`](Self::finish), and hands back the checked values: a tuple of the
    /// `Option`s the checks returned becomes a tuple of the values. A check that returns `None`
    /// records an error, so with no error every value is there; a `None` without an error is a
    /// bug in a check, answered 500 here, in one place.
    pub fn finish_with<T: Checked>(self, values: T) -> Result<T::Values, ApiError> {
        self.finish()?;
        values.all().ok_or_else(|| {
            ApiError::internal(anyhow::anyhow!(
                "a check returned no value and recorded no error"
            ))
        })
    }
}

/// A tuple of checked `Option`s (see [`Validation::finish_with`]).
pub trait Checked {
    type Values;
    fn all(self) -> Option<Self::Values>;
}

macro_rules! checked_tuple {
    ($($value:ident),+) => {
        impl<$($value),+> Checked for ($(Option<$value>,)+) {
            type Values = ($($value,)+);
            #[allow(non_snake_case)]
            fn all(self) -> Option<Self::Values> {
                let ($($value,)+) = self;
                Some(($($value?,)+))
            }
        }
    };
}

checked_tuple!(A);
checked_tuple!(A, B);
checked_tuple!(A, B, C);
checked_tuple!(A, B, C, D);
checked_tuple!(A, B, C, D, E);
checked_tuple!(A, B, C, D, E, F);
checked_tuple!(A, B, C, D, E, F, G);
checked_tuple!(A, B, C, D, E, F, G, H);

/// Checks a free-text field: trimmed, non-empty, at most `max` characters.
pub fn check_text(v: &mut Validation, field: &str, value: &str, max: usize) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        v.push(field, "required", format!("{field} must not be empty"));
        None
    } else if trimmed.chars().count() > max {
        v.push(
            field,
            "too_long",
            format!("{field} must be at most {max} characters"),
        );
        None
    } else {
        Some(trimmed.to_owned())
    }
}

/// Checks an e-mail address loosely (one `@`, a dot in the domain, no spaces) and lowercases it;
/// the real check is that mail arrives.
pub fn check_email(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let email = value.trim().to_ascii_lowercase();
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Some(email)
    } else {
        v.push(
            field,
            "invalid_email",
            "not a valid e-mail address".to_owned(),
        );
        None
    }
}

/// Checks an Indonesian phone number: digits with an optional leading `+`, 9 to 15 digits.
pub fn check_phone(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let phone: String = value.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let digits = phone.strip_prefix('+').unwrap_or(&phone);
    if (9..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Some(phone)
    } else {
        v.push(
            field,
            "invalid_phone",
            "a phone number has 9 to 15 digits".to_owned(),
        );
        None
    }
}

/// Checks a new password: 10 to 128 characters.
pub fn check_password(v: &mut Validation, field: &str, value: &str) -> Option<String> {
    let len = value.chars().count();
    if (10..=128).contains(&len) {
        Some(value.to_owned())
    } else {
        v.push(
            field,
            "weak_password",
            "a password has 10 to 128 characters".to_owned(),
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_with_hands_back_the_checked_values_or_the_422() {
        let mut v = Validation::new();
        let email = check_email(&mut v, "email", " Ani@Example.ID ");
        let name = check_text(&mut v, "name", " Ani ", 10);
        let (email, name) = v.finish_with((email, name)).expect("both valid");
        assert_eq!((email.as_str(), name.as_str()), ("ani@example.id", "Ani"));

        let mut v = Validation::new();
        let email = check_email(&mut v, "email", "nope");
        let name = check_text(&mut v, "name", "Ani", 10);
        let err = v.finish_with((email, name)).expect_err("a bad e-mail");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);

        // A value missing without a recorded error is a bug in a check: 500, not a panic.
        let err = Validation::new()
            .finish_with((Some(1), None::<u8>))
            .expect_err("nothing recorded, a value missing");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn validation_collects_every_field() {
        let mut v = Validation::new();
        check_email(&mut v, "email", "not-an-email");
        check_phone(&mut v, "phone", "12");
        check_text(&mut v, "name", "   ", 10);
        let ok = check_email(&mut v, "other", " Ani@Example.ID ");
        assert_eq!(ok.as_deref(), Some("ani@example.id"));
        let err = v.finish().expect_err("three errors");
        let problem = err.problem(Lang::English);
        assert_eq!(problem.status, 422);
        let codes: Vec<_> = problem.errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(codes, ["invalid_email", "invalid_phone", "required"]);
    }

    #[test]
    fn a_lost_database_is_a_503_and_a_bad_query_is_not() {
        use std::sync::Arc;
        let sqlx = |e: SqlxError| DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)));
        let eof = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "unexpected end of file");
        for lost in [
            sqlx(SqlxError::Io(eof)),
            sqlx(SqlxError::PoolTimedOut),
            sqlx(SqlxError::Protocol("peer closed connection".into())),
            DbErr::Exec(RuntimeErr::SqlxError(Arc::new(SqlxError::PoolClosed))),
        ] {
            assert!(is_connection_error(&lost), "{lost}");
            assert_eq!(ApiError::from(lost).code(), "database_unavailable");
        }
        let bad = sqlx(SqlxError::ColumnNotFound("nope".into()));
        assert!(!is_connection_error(&bad));
        assert_eq!(ApiError::from(bad).code(), "internal_error");
    }

    #[test]
    fn a_problem_is_indonesian_from_the_catalogue_or_english_from_the_call_site() {
        let err = ApiError::conflict("too_many_unpaid_checkouts", "at most 3 may wait")
            .with_context(serde_json::json!({"limit": 3}));
        let id = err.problem(Lang::Id);
        assert_eq!(id.title, "Terlalu banyak pesanan belum dibayar");
        assert_eq!(
            id.detail.as_deref(),
            Some(
                "Bayar atau batalkan pesanan yang masih terbuka terlebih dahulu: paling banyak 3 \
                 pesanan dapat menunggu pembayaran."
            )
        );
        let en = err.problem(Lang::English);
        assert_eq!(en.title, "Conflict");
        assert_eq!(en.detail.as_deref(), Some("at most 3 may wait"));
        assert_eq!((id.code, id.context), (en.code, en.context));

        let mut v = Validation::new();
        check_text(&mut v, "name", " ", 10);
        let err = v.finish().expect_err("empty");
        let id = err.problem(Lang::Id);
        assert_eq!(id.title, "Data tidak valid");
        assert_eq!(id.errors[0].message, "Kolom ini wajib diisi.");
        assert_eq!(id.errors[0].code, "required");
        let en = err.problem(Lang::English);
        assert_eq!(en.errors[0].message, "name must not be empty");

        // A fact the meaning names but the context lacks: the title, never a bare `{limit}`.
        let bare = ApiError::conflict("too_many_unpaid_checkouts", "x").problem(Lang::Id);
        assert_eq!(
            bare.detail.as_deref(),
            Some("Terlalu banyak pesanan belum dibayar.")
        );
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err = ApiError::internal(anyhow::anyhow!("secret table name"));
        for lang in [Lang::Id, Lang::English] {
            let body = serde_json::to_string(&err.problem(lang)).expect("serialises");
            assert!(!body.contains("secret"));
            assert!(body.contains("internal_error"));
        }
    }
}
