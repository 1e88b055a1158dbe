//! Problem codes and languages: every code the source can answer with has its entry in the
//! catalogue (`peken_kernel::problems`), problems are Indonesian unless `Accept-Language`
//! prefers English, the `code` never changes, and the catalogue is served.
//!
//! The harness (`TestApp::reply`) also checks every problem response the suite sees: its code
//! is catalogued for its status, and an Indonesian one has the catalogue's title and a detail
//! with every fact filled in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use peken_kernel::problems::{self, CATALOGUE};
use peken_tests::spawn_app;
use reqwest::Method;
use serde_json::json;

/// Where a code is made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Made {
    code: String,
    file: String,
    line: usize,
    /// The status of the problem, when the source names it; `None` for a field error.
    status: Option<u16>,
    field: bool,
}

/// `ApiError` constructors: which argument is the code, and the status they answer.
const CONSTRUCTORS: &[(&str, usize, Option<u16>)] = &[
    ("new", 1, None),
    ("conflict", 0, Some(409)),
    ("bad_request", 0, Some(400)),
    ("unprocessable", 0, Some(422)),
    ("unauthorized", 0, Some(401)),
    ("unavailable", 0, Some(503)),
    ("field", 1, None),
];

/// Helpers that take a code as an argument and pass it on (the code argument there is not a
/// literal): (file, the expression passed on, the helper, which argument of its calls holds
/// the code, counting from the end when negative). A new helper of this kind gets a row.
const FORWARDERS: &[(&str, &str, &str, isize)] = &[
    ("crates/catalog/src/input.rs", "fraction_code", "integer", 3),
    ("crates/catalog/src/input.rs", "other_code", "integer", 4),
    (
        "crates/merchant/src/service/merchants.rs",
        "wrong_state",
        "transition",
        -1,
    ),
];

/// Types whose struct literals carry a field-error code as `code: "…"` (the statement parsers'
/// line errors become field errors `line N`).
const CODE_STRUCTS: &[&str] = &["FieldError", "LineError"];

/// Arguments forwarded by the kernel's own constructors (`Validation::push`, `ApiError::field`,
/// `Self::new`): their callers are scanned.
const KERNEL_FORWARDED: &[&str] = &["code"];

fn status_named(name: &str) -> Option<u16> {
    let name = name.rsplit("::").next()?;
    Some(match name {
        "BAD_REQUEST" => 400,
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "CONFLICT" => 409,
        "PAYLOAD_TOO_LARGE" => 413,
        "UNSUPPORTED_MEDIA_TYPE" => 415,
        "UNPROCESSABLE_ENTITY" => 422,
        "TOO_MANY_REQUESTS" => 429,
        "INTERNAL_SERVER_ERROR" => 500,
        "SERVICE_UNAVAILABLE" => 503,
        _ => return None,
    })
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            // Integration tests of a crate make no codes the server answers with.
            if path.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source with comments blanked (line breaks kept, so offsets give line numbers).
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&src[start..i]);
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A char literal ('"', '\'', '\n'); lifetimes have no closing quote near.
            let end = src[i + 1..].find('\'').map_or(b.len(), |e| i + 1 + e + 1);
            let end = if b[i + 1] == b'\\' {
                src[i + 3..].find('\'').map_or(b.len(), |e| i + 3 + e + 1)
            } else {
                end
            };
            out.push_str(&src[i..end]);
            i = end;
        } else if src[i..].starts_with("//") {
            while i < b.len() && b[i] != b'\n' {
                out.push(' ');
                i += 1;
            }
        } else if src[i..].starts_with("/*") {
            while i < b.len() && !src[i..].starts_with("*/") {
                out.push(if b[i] == b'\n' { '\n' } else { ' ' });
                i += 1;
            }
            out.push_str("  ");
            i += 2;
        } else {
            let c = src[i..].chars().next().expect("a char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The top-level arguments of the call whose `(` is at `open`.
fn arguments(src: &str, open: usize) -> Vec<String> {
    let b = src.as_bytes();
    let mut args = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut i = open;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            current.push_str(&src[start..=i.min(b.len() - 1)]);
            i += 1;
            continue;
        }
        match c {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth == 1 {
                    i += 1;
                    continue;
                }
            }
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    if !current.trim().is_empty() {
                        args.push(current.trim().to_owned());
                    }
                    return args;
                }
            }
            b',' if depth == 1 => {
                args.push(current.trim().to_owned());
                current.clear();
                i += 1;
                continue;
            }
            _ => {}
        }
        current.push(c as char);
        i += 1;
    }
    args
}

/// The text of a string literal of lowercase letters, digits and `_`.
fn literal(arg: &str) -> Option<&str> {
    let text = arg.strip_prefix('"')?.strip_suffix('"')?;
    (!text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    .then_some(text)
}

fn line_of(src: &str, offset: usize) -> usize {
    src[..offset].matches('\n').count() + 1
}

/// Every `name(` call in `src` (not a definition), with the offset of its `(`.
fn calls<'a>(src: &'a str, name: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    src.match_indices(name).filter_map(move |(at, _)| {
        let before = src[..at].chars().next_back();
        if !name.starts_with('.') && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        let after = &src[at + name.len()..];
        let open = at + name.len() + (after.len() - after.trim_start().len());
        (src.as_bytes().get(open) == Some(&b'(') && !src[..at].trim_end().ends_with("fn"))
            .then_some((at, open))
    })
}

/// Every `Name {` struct literal (not the definition), with the offset of its `{`.
fn struct_literals<'a>(src: &'a str, name: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
    src.match_indices(name).filter_map(move |(at, _)| {
        let before = src[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|')
            || src[..at].trim_end().ends_with("struct")
            || src[..at].trim_end().ends_with("->")
        {
            return None;
        }
        let after = &src[at + name.len()..];
        let open = at + name.len() + (after.len() - after.trim_start().len());
        (src.as_bytes().get(open) == Some(&b'{')).then_some((at, open))
    })
}

/// The offset of the `}` closing the block whose `{` is at `open`.
fn block_end(src: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, c) in src[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return open + i;
                }
            }
            _ => {}
        }
    }
    src.len()
}

/// Where the source makes codes, and the places it passes one on that the scanner cannot
/// follow (each an error message).
fn scan(files: &[(String, String)]) -> (Vec<Made>, Vec<String>) {
    let mut made = Vec::new();
    let mut unexplained = Vec::new();
    let mut coded_types = BTreeSet::new();
    for (file, src) in files {
        for (at, _) in src.match_indices("impl Coded for ") {
            let rest = &src[at + "impl Coded for ".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            coded_types.insert(name);
        }
        let mut record = |code: &str, at: usize, status: Option<u16>, field: bool| {
            made.push(Made {
                code: code.to_owned(),
                file: file.clone(),
                line: line_of(src, at),
                status,
                field,
            });
        };
        let mut forwarded = |expr: &str, at: usize, what: &str| {
            let known = expr.ends_with(".code()")
                || (file.starts_with("crates/kernel/") && KERNEL_FORWARDED.contains(&expr))
                || FORWARDERS
                    .iter()
                    .any(|(f, e, _, _)| f == file && *e == expr);
            if !known {
                unexplained.push(format!(
                    "{file}:{}: {what} takes the code `{expr}`, which is not a string literal; \
                     write the code as a literal there, or add the helper that passes it on to \
                     FORWARDERS in tests/api/problems.rs",
                    line_of(src, at)
                ));
            }
        };
        for receiver in ["ApiError::", "Self::"] {
            for &(name, index, status) in CONSTRUCTORS {
                let call = format!("{receiver}{name}");
                for (at, open) in calls(src, &call) {
                    let args = arguments(src, open);
                    let Some(arg) = args.get(index) else { continue };
                    match literal(arg) {
                        Some(code) => {
                            let status = match name {
                                "new" => args.first().and_then(|s| status_named(s)),
                                _ => status,
                            };
                            record(code, at, status, name == "field");
                        }
                        // `Self::new(...)` of other types takes other things.
                        None if receiver == "Self::" => {}
                        None => forwarded(arg, at, &call),
                    }
                }
            }
        }
        for (method, arity, index) in [(".push", 3, 1), (".require", 4, 2)] {
            for (at, open) in calls(src, method) {
                let args = arguments(src, open);
                if args.len() != arity {
                    continue;
                }
                match literal(&args[index]) {
                    Some(code) => record(code, at, None, true),
                    None => forwarded(&args[index], at, method),
                }
            }
        }
        for name in CODE_STRUCTS {
            for (at, open) in struct_literals(src, name) {
                let body = &src[open..block_end(src, open)];
                for (i, _) in body.match_indices("code:") {
                    let value = body[i + "code:".len()..].trim_start();
                    let end = value[1..].find('"').map_or(0, |e| e + 2);
                    if let Some(code) = value.get(..end).and_then(literal) {
                        record(code, at + (open - at) + i, None, true);
                    }
                }
            }
        }
        for (f, _, helper, index) in FORWARDERS {
            if f != file {
                continue;
            }
            for (at, open) in calls(src, helper) {
                let args = arguments(src, open);
                let i = if *index < 0 {
                    args.len().checked_sub(index.unsigned_abs())
                } else {
                    Some(index.unsigned_abs())
                };
                if let Some(code) = i.and_then(|i| args.get(i)).and_then(|a| literal(a)) {
                    // The helpers make field errors or 409s; the statuses come from there.
                    record(code, at, None, helper == &"integer");
                }
            }
        }
    }
    // The codes of `Coded` types: the literals of their `fn code`.
    for (file, src) in files {
        for name in &coded_types {
            let Some(at) = src.find(&format!("impl {name} {{")) else {
                continue;
            };
            let Some(code_fn) = src[at..].find("fn code(&self)") else {
                continue;
            };
            let start = at + code_fn;
            let Some(open) = src[start..].find('{').map(|o| start + o) else {
                continue;
            };
            let body = &src[open..block_end(src, open)];
            for (i, _) in body.match_indices('"') {
                let rest = &body[i + 1..];
                if let Some(close) = rest.find('"')
                    && body[..i].ends_with("=> ")
                    && let Some(code) = literal(&body[i..=i + 1 + close])
                {
                    made.push(Made {
                        code: code.to_owned(),
                        file: file.clone(),
                        line: line_of(src, open + i),
                        status: None,
                        field: true,
                    });
                }
            }
        }
    }
    made.sort();
    (made, unexplained)
}

/// What is wrong with the catalogue for these places: each a message naming the code, the file
/// and the line.
fn gaps(made: &[Made]) -> Vec<String> {
    let mut gaps = Vec::new();
    for m in made {
        let place = format!("{}:{}", m.file, m.line);
        match problems::lookup(&m.code) {
            None => gaps.push(format!(
                "{place}: the code `{}` has no entry in the catalogue \
                 (CATALOGUE in crates/kernel/src/problems.rs)",
                m.code
            )),
            Some(entry) => {
                if m.field && !entry.field {
                    gaps.push(format!(
                        "{place}: `{}` names a bad field here; its catalogue entry says it \
                         does not (use `f(…)` or `pf(…)`)",
                        m.code
                    ));
                }
                if let Some(status) = m.status
                    && !entry.statuses.contains(&status)
                {
                    gaps.push(format!(
                        "{place}: `{}` is answered with {status} here; its catalogue entry \
                         lists {:?}",
                        m.code, entry.statuses
                    ));
                }
            }
        }
    }
    gaps
}

fn workspace_sources() -> Vec<(String, String)> {
    let root = root();
    let mut paths = Vec::new();
    rust_files(&root.join("crates"), &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let name = path
                .strip_prefix(&root)
                .expect("in the workspace")
                .to_string_lossy()
                .replace('\\', "/");
            (name, strip_comments(&text))
        })
        .collect()
}

#[test]
fn every_code_the_source_makes_is_in_the_catalogue() {
    let (made, unexplained) = scan(&workspace_sources());
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
    let gaps = gaps(&made);
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    // The scanner finds what it should: codes of each kind of place.
    let found: BTreeSet<&str> = made.iter().map(|m| m.code.as_str()).collect();
    for code in [
        "out_of_stock",         // ApiError::conflict
        "not_found",            // ApiError::not_found, through Self::new
        "validation_failed",    // ApiError::validation
        "control_character",    // ApiError::new with a status
        "too_long",             // Validation::push in check_text
        "invalid_nik",          // IdError, a Coded type
        "amount_has_fraction",  // MoneyError, and the `integer` helper
        "merchant_not_pending", // the `transition` helper
        "method_not_allowed",   // the language middleware
        "transaction_conflict", // From<DbErr>
        "invalid_header",       // a statement's LineError
    ] {
        assert!(found.contains(code), "the scanner missed {code}");
    }
    // And the catalogue holds nothing the source never makes.
    let unused: Vec<&str> = CATALOGUE
        .iter()
        .map(|e| e.code)
        .filter(|code| !found.contains(code))
        .collect();
    assert!(
        unused.is_empty(),
        "catalogue entries no source makes (remove them): {unused:?}"
    );
}

#[test]
fn the_scanner_names_a_missing_code_and_its_place() {
    let src = strip_comments(
        r#"
fn order() -> ApiError {
    // ApiError::conflict("commented_out", "x")
    let mut v = Validation::new();
    v.push(
        "items[0].note",
        "note_too_cheerful",
        "x".to_owned(),
    );
    v.require(false, "name", "required", "y");
    v.push("qty", "out_of_stock", "z".to_owned());
    ApiError::bad_request("out_of_stock", "x");
    ApiError::new(StatusCode::GONE, "brand_new_code")
}
fn line() -> LineError { LineError { line: 1, code: "line_gone_wrong", message: m } }
fn helper(code: &'static str) -> ApiError {
    ApiError::unprocessable(code, "passed on")
}
"#,
    );
    let (made, unexplained) = scan(&[("crates/x/src/lib.rs".to_owned(), src)]);
    let codes: Vec<&str> = made.iter().map(|m| m.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "brand_new_code",
            "line_gone_wrong",
            "note_too_cheerful",
            "out_of_stock",
            "out_of_stock",
            "required"
        ]
    );
    let gaps = gaps(&made);
    assert_eq!(
        gaps,
        [
            "crates/x/src/lib.rs:13: the code `brand_new_code` has no entry in the catalogue \
             (CATALOGUE in crates/kernel/src/problems.rs)",
            "crates/x/src/lib.rs:15: the code `line_gone_wrong` has no entry in the catalogue \
             (CATALOGUE in crates/kernel/src/problems.rs)",
            "crates/x/src/lib.rs:5: the code `note_too_cheerful` has no entry in the catalogue \
             (CATALOGUE in crates/kernel/src/problems.rs)",
            "crates/x/src/lib.rs:11: `out_of_stock` names a bad field here; its catalogue entry \
             says it does not (use `f(…)` or `pf(…)`)",
            "crates/x/src/lib.rs:12: `out_of_stock` is answered with 400 here; its catalogue \
             entry lists [409]",
        ]
    );
    assert_eq!(unexplained.len(), 1, "{unexplained:#?}");
    assert!(
        unexplained[0]
            .starts_with("crates/x/src/lib.rs:17: ApiError::unprocessable takes the code `code`"),
        "{}",
        unexplained[0]
    );
}

fn header<'a>(reply: &'a peken_tests::Reply, name: &str) -> &'a str {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A bad OPD: two bad fields, in the language `accept_language` asks for.
async fn bad_opd(
    app: &peken_tests::TestApp,
    token: &str,
    accept_language: Option<&str>,
) -> peken_tests::Reply {
    let headers: Vec<(&str, &str)> = accept_language
        .map(|v| ("accept-language", v))
        .into_iter()
        .collect();
    app.send(
        Method::POST,
        "/api/v1/admin/opds",
        Some(token),
        Some(&json!({"code": "no spaces allowed", "name": "  "})),
        &headers,
    )
    .await
    .expect_problem(422, "validation_failed")
}

#[tokio::test]
async fn problems_are_indonesian_by_default_and_english_on_request_with_the_same_code() {
    let app = spawn_app().await;
    let admin = app.admin().await;

    let id = bad_opd(&app, &admin.token, None).await;
    assert_eq!(header(&id, "content-language"), "id");
    assert!(header(&id, "vary").contains("accept-language"));
    assert_eq!(id.body["title"], "Data tidak valid");
    assert_eq!(
        id.body["detail"],
        "Satu atau beberapa kolom tidak valid; lihat daftar errors."
    );
    assert_eq!(
        id.field_codes(),
        [
            ("code".to_owned(), "invalid_code".to_owned()),
            ("name".to_owned(), "required".to_owned())
        ]
    );
    assert_eq!(id.body["errors"][1]["message"], "Kolom ini wajib diisi.");

    let en = bad_opd(&app, &admin.token, Some("en")).await;
    assert_eq!(header(&en, "content-language"), "en");
    assert_eq!(en.body["title"], "Unprocessable Entity");
    assert_eq!(en.body["detail"], "one or more fields are invalid");
    assert_eq!(en.body["errors"][1]["message"], "name must not be empty");
    // The machine parts do not change with the language.
    for key in ["code", "type", "status"] {
        assert_eq!(id.body[key], en.body[key], "{key}");
    }
    assert_eq!(id.field_codes(), en.field_codes());

    // q-values: the most preferred language decides; anything but English is Indonesian.
    for (accept, want) in [
        ("en-US", "en"),
        ("en-GB, en;q=0.9", "en"),
        ("id;q=0.9, en;q=0.8", "id"),
        ("id;q=0.5, en;q=0.8", "en"),
        ("en;q=0, id;q=0.1", "id"),
        ("fr, en;q=0.9", "id"),
        ("ja", "id"),
        ("*", "id"),
    ] {
        let reply = bad_opd(&app, &admin.token, Some(accept)).await;
        assert_eq!(header(&reply, "content-language"), want, "{accept}");
        let title = if want == "id" {
            "Data tidak valid"
        } else {
            "Unprocessable Entity"
        };
        assert_eq!(reply.body["title"], title, "{accept}");
    }
}

#[tokio::test]
async fn errors_raised_outside_handlers_are_rendered_in_the_language_too() {
    let app = spawn_app().await;
    let en = [("accept-language", "en")];
    // The Auth extractor.
    let id = app
        .get("/api/v1/me", None)
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(id.body["title"], "Belum masuk");
    let r = app.send(Method::GET, "/api/v1/me", None, None, &en).await;
    let r = r.expect_problem(401, "unauthenticated");
    assert_eq!(r.body["detail"], "an access token is required");
    // A path no route matches, and a method a route does not take (the default service
    // answers both; the middleware's own 405 is tested in peken-server's unit tests).
    let id = app
        .get("/api/v1/no-such-thing", None)
        .await
        .expect_problem(404, "not_found");
    assert_eq!(id.body["title"], "Tidak ditemukan");
    let r = app.send(Method::DELETE, "/healthz", None, None, &en).await;
    assert_eq!(
        r.expect_problem(404, "not_found").body["detail"],
        "no such route"
    );
    // The control-character guard, whose place is a fact of the Indonesian detail.
    let r = app
        .send(Method::GET, "/healthz", None, None, &[("x-note", "a\tb")])
        .await
        .expect_problem(422, "control_character");
    assert_eq!(r.body["context"]["place"], "header x-note");
    assert_eq!(
        r.body["detail"],
        "Bagian header x-note permintaan memuat karakter kontrol (NUL atau kode kontrol lain) \
         yang tidak diizinkan."
    );
    // A body over the limit, refused before any handler.
    let big = "x".repeat(app.state.settings.max_body_bytes + 10);
    let admin = app.admin().await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/admin/opds",
            Some(&admin.token),
            Some(&json!({"code": "A", "name": big})),
            &[],
        )
        .await
        .expect_problem(413, "payload_too_large");
    assert_eq!(r.body["title"], "Isi permintaan terlalu besar");
    assert!(
        r.headers.get("x-request-id").is_some(),
        "inner headers kept"
    );
}

#[tokio::test]
async fn a_conflict_is_indonesian_by_default_and_english_for_an_english_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({"code": "DINKES", "name": "Dinas Kesehatan"});
    app.post("/api/v1/admin/opds", Some(&admin.token), &body)
        .await
        .expect(201);
    let id = app
        .post("/api/v1/admin/opds", Some(&admin.token), &body)
        .await
        .expect_problem(409, "opd_code_taken");
    assert_eq!(id.body["title"], "Kode OPD sudah dipakai");
    assert_eq!(id.body["detail"], "OPD dengan kode ini sudah ada.");
    let en = app
        .send(
            Method::POST,
            "/api/v1/admin/opds",
            Some(&admin.token),
            Some(&body),
            &[("Accept-Language", "en-US,en;q=0.9,id;q=0.8")],
        )
        .await
        .expect_problem(409, "opd_code_taken");
    assert_eq!(en.body["detail"], "an OPD with this code already exists");
}

#[tokio::test]
async fn the_catalogue_is_served_public_and_cacheable() {
    let app = spawn_app().await;
    let r = app.get("/api/v1/problem-codes", None).await.expect(200);
    let etag = header(&r, "etag").to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert!(header(&r, "cache-control").contains("max-age"));
    let codes = r.body["codes"].as_array().expect("codes");
    assert_eq!(codes.len(), CATALOGUE.len());
    let out_of_stock = codes
        .iter()
        .find(|c| c["code"] == "out_of_stock")
        .expect("out_of_stock listed");
    assert_eq!(out_of_stock["statuses"], json!([409]));
    assert_eq!(out_of_stock["field"], false);
    assert_eq!(out_of_stock["id"]["title"], "Stok tidak mencukupi");
    assert_eq!(out_of_stock["en"]["title"], "Out of stock");
    let required = codes
        .iter()
        .find(|c| c["code"] == "required")
        .expect("required");
    assert_eq!(required["statuses"], json!([]));
    assert_eq!(required["field"], true);
    assert_eq!(required["id"]["title"], "Kolom wajib diisi");

    for sent in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"other\", {etag}"),
    ] {
        let again = app
            .send(
                Method::GET,
                "/api/v1/problem-codes",
                None,
                None,
                &[("if-none-match", &sent)],
            )
            .await
            .expect(304);
        assert!(again.text.is_empty());
        assert_eq!(header(&again, "etag"), etag);
    }
    app.send(
        Method::GET,
        "/api/v1/problem-codes",
        None,
        None,
        &[("if-none-match", "\"stale\"")],
    )
    .await
    .expect(200);
}
