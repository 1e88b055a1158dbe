//! Delivery: SMTP through lettre when `PEKEN_SMTP_URL` is set, else `.eml` files in the data
//! directory. The URL holds a password, so neither it nor any part of it is ever logged.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use peken_kernel::settings::Settings;

use crate::outbox::message_id;
use crate::store::outbox;

/// How long one SMTP exchange may take before it counts as a failed attempt.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text (`smtp://`), for a relay on the same host or network.
    None,
    /// Plain, upgraded with STARTTLS when the server offers it (`smtp://…?tls=opportunistic`).
    Opportunistic,
    /// STARTTLS required (`smtp://…?tls=starttls`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// A parsed `PEKEN_SMTP_URL`. `Debug` leaves out the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    password: Option<String>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl SmtpConfig {
    /// Parses `smtp://[user[:pass]@]host[:port][?tls=starttls|opportunistic|none]` or
    /// `smtps://[user[:pass]@]host[:port]`. Errors describe the problem without quoting the URL.
    pub fn parse(url: &str) -> Result<SmtpConfig, String> {
        let (implicit, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            (false, rest)
        } else {
            return Err("must start with smtp:// or smtps://".into());
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err("has no host".into());
        }
        let mut tls = if implicit {
            TlsMode::Implicit
        } else {
            TlsMode::None
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", "starttls" | "required")) if !implicit => tls = TlsMode::StartTls,
                Some(("tls", "opportunistic")) if !implicit => tls = TlsMode::Opportunistic,
                Some(("tls", "none")) if !implicit => tls = TlsMode::None,
                Some(("tls", _)) => {
                    return Err(
                        "tls must be starttls, opportunistic or none (smtps:// is always TLS)"
                            .into(),
                    );
                }
                _ => return Err("has an unknown query parameter (only tls= is known)".into()),
            }
        }
        let port = match port {
            Some(port) => port,
            None => match tls {
                TlsMode::Implicit => 465,
                TlsMode::StartTls => 587,
                TlsMode::None | TlsMode::Opportunistic => 25,
            },
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user)?;
                let password = percent_decode(password)?;
                (
                    Some(user).filter(|u| !u.is_empty()),
                    Some(password).filter(|p| !p.is_empty()),
                )
            }
        };
        Ok(SmtpConfig {
            host: host.to_owned(),
            port,
            tls,
            user,
            password,
        })
    }

    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
        let tls_parameters = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| format!("cannot set up TLS for the SMTP host: {e}"))
        };
        let tls = match self.tls {
            TlsMode::None => Tls::None,
            TlsMode::Opportunistic => Tls::Opportunistic(tls_parameters()?),
            TlsMode::StartTls => Tls::Required(tls_parameters()?),
            TlsMode::Implicit => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &self.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                self.password.clone().unwrap_or_default(),
            ));
        }
        Ok(builder.build())
    }
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<u16>), String> {
    // An IPv6 literal is bracketed: `[::1]:2525`.
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("has an unclosed [ in the host")?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(parse_port(port)?))),
            None if after.is_empty() => Ok((host, None)),
            None => Err("has text after the host".into()),
        };
    }
    match hostport.rsplit_once(':') {
        Some((host, port)) => Ok((host, Some(parse_port(port)?))),
        None => Ok((hostport, None)),
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| "has an invalid port".into())
}

fn percent_decode(input: &str) -> Result<String, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("has a bad %-escape in the user or password")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "has a user or password that is not UTF-8".into())
}

/// Why an attempt failed, and whether trying again can help.
#[derive(Debug, Clone)]
pub struct SendError {
    pub message: String,
    /// A bad address or a permanent (5xx) refusal: retrying would fail the same way.
    pub permanent: bool,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }

    fn transient(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }
}

enum Delivery {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Sends outbox rows, by SMTP or into `.eml` files.
pub struct Mailer {
    from: Mailbox,
    delivery: Delivery,
}

impl Mailer {
    /// Builds the mailer from settings; a bad `PEKEN_SMTP_URL` or `PEKEN_MAIL_FROM` is reported
    /// here, at start, not at the first message.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Mailer> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("PEKEN_MAIL_FROM is not a valid mailbox: {e}"))?;
        let delivery = match &settings.smtp_url {
            Some(url) => {
                let config = SmtpConfig::parse(url.expose())
                    .map_err(|e| anyhow::anyhow!("PEKEN_SMTP_URL {e}"))?;
                Delivery::Smtp(
                    config
                        .transport()
                        .map_err(|e| anyhow::anyhow!("PEKEN_SMTP_URL: {e}"))?,
                )
            }
            None => Delivery::Files(settings.data_dir.join("mail")),
        };
        Ok(Mailer { from, delivery })
    }

    /// Where `.eml` files go, when mail goes to files.
    pub fn mail_dir(&self) -> Option<&Path> {
        match &self.delivery {
            Delivery::Files(dir) => Some(dir),
            Delivery::Smtp(_) => None,
        }
    }

    /// The message of an outbox row, with its stable Message-ID and the Date it was enqueued.
    pub fn message(&self, row: &outbox::Model) -> Result<Message, SendError> {
        let address: Address = row
            .recipient
            .parse()
            .map_err(|_| SendError::permanent("the recipient is not a valid e-mail address"))?;
        let to = Mailbox::new(row.recipient_name.clone(), address);
        Message::builder()
            .message_id(Some(message_id(&row.id)))
            .date(SystemTime::from(row.created_at))
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                row.body_text.clone(),
                row.body_html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the message: {e}")))
    }

    /// Delivers one row.
    pub async fn send(&self, row: &outbox::Model) -> Result<(), SendError> {
        let message = self.message(row)?;
        match &self.delivery {
            Delivery::Smtp(transport) => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::permanent(format!(
                    "the SMTP server refused the message: {e}"
                ))),
                Err(e) => Err(SendError::transient(format!("SMTP delivery failed: {e}"))),
            },
            Delivery::Files(dir) => write_eml(dir, &row.id, &message.formatted())
                .await
                .map_err(|e| SendError::transient(format!("cannot write the .eml file: {e}"))),
        }
    }
}

/// Writes `{dir}/{id}.eml` atomically: a reader sees the whole file or none of it.
async fn write_eml(dir: &Path, id: &str, bytes: &[u8]) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{id}.eml.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(format!("{id}.eml"))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_with_tls_modes_and_credentials() {
        let c = SmtpConfig::parse("smtp://127.0.0.1:2525").expect("valid");
        assert_eq!(
            (c.host.as_str(), c.port, c.tls),
            ("127.0.0.1", 2525, TlsMode::None)
        );
        assert_eq!(c.user, None);

        let c = SmtpConfig::parse("smtps://peken%40kota:p%3Ass@mail.example.id").expect("valid");
        assert_eq!((c.port, c.tls), (465, TlsMode::Implicit));
        assert_eq!(c.user.as_deref(), Some("peken@kota"));
        assert_eq!(c.password.as_deref(), Some("p:ss"));

        let c = SmtpConfig::parse("smtp://u:p@mail.example.id?tls=starttls").expect("valid");
        assert_eq!((c.port, c.tls), (587, TlsMode::StartTls));
        let c = SmtpConfig::parse("smtp://[::1]:25/?tls=opportunistic").expect("valid");
        assert_eq!((c.host.as_str(), c.tls), ("::1", TlsMode::Opportunistic));
    }

    #[test]
    fn bad_smtp_urls_are_refused_without_echoing_the_password() {
        for url in [
            "http://x",
            "smtp://",
            "smtp://host:0",
            "smtp://host:port",
            "smtps://u:hunter2@host?tls=none",
            "smtp://u:hunter2@host?verify=no",
            "smtp://u:%zzhunter2@host",
        ] {
            let err = SmtpConfig::parse(url).expect_err(url);
            assert!(!err.contains("hunter2"), "{err}");
        }
        let c = SmtpConfig::parse("smtps://u:hunter2@host").expect("valid");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
