//! Kith's outgoing e-mail (password reset links, security notices) through `lettre`: SMTP (with
//! STARTTLS or TLS as the URL says), a pickup directory of `.eml` files, or off. Messages are
//! plain text; they are sent by the job worker (`jobs.rs`), never inside a request.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use serde::{Deserialize, Serialize};

/// `[mail]`: how Kith sends its e-mails.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct MailConfig {
    /// `none` (nothing is sent: no password reset links), `smtp`, or `file` (each message is
    /// written as an `.eml` file into `dir`: a pickup folder for a local mail server).
    pub transport: String,
    /// The sender of Kith's e-mails, `Name <address>` or an address.
    pub from: String,
    /// For `smtp`: `smtp://host:587?tls=required` (STARTTLS), `smtps://host:465` (TLS), or
    /// `smtp://host:25` (plain, for a relay on the same host).
    pub smtp_url: String,
    pub smtp_username: String,
    /// Better set through `KITH_MAIL__SMTP_PASSWORD`; never logged.
    pub smtp_password: String,
    /// Seconds an SMTP exchange may take.
    pub timeout_secs: u64,
    /// For `file`: the folder (relative to where Kith runs, like `server.data_dir`).
    pub dir: PathBuf,
    /// How long a password reset link works, minutes.
    pub reset_link_minutes: i64,
    /// Most reset links one account gets per hour, however often they are asked for.
    pub resets_per_account_per_hour: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: "none".into(),
            from: "Kith <kith@localhost>".into(),
            smtp_url: String::new(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            timeout_secs: 10,
            dir: PathBuf::from("data/outbox"),
            reset_link_minutes: 60,
            resets_per_account_per_hour: 3,
        }
    }
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .field("smtp_url", &crate::auth::redact_url(&self.smtp_url))
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &if self.smtp_password.is_empty() { "" } else { "<redacted>" })
            .field("timeout_secs", &self.timeout_secs)
            .field("dir", &self.dir)
            .field("reset_link_minutes", &self.reset_link_minutes)
            .field("resets_per_account_per_hour", &self.resets_per_account_per_hour)
            .finish()
    }
}

/// Where messages go.
pub struct Mailer {
    /// `None` only when off.
    from: Option<Mailbox>,
    transport: Transport,
}

enum Transport {
    Off,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.transport {
            Transport::Off => "none",
            Transport::Smtp(_) => "smtp",
            Transport::File(..) => "file",
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.as_ref().map(Mailbox::to_string))
            .field("transport", &kind)
            .finish()
    }
}

impl Mailer {
    /// The mailer `[mail]` describes; a key that cannot work is named in the error. Nothing is
    /// connected or created yet (`Config::validate` calls this too).
    /// Builds the mailer `[mail]` describes; a bad setting is `(key, why)`.
    pub fn new(c: &MailConfig) -> Result<Mailer, (String, String)> {
        let invalid = |key: &str, message: String| (key.to_string(), message);
        let from: Mailbox =
            c.from.parse().map_err(|e| invalid("mail.from", format!("`{}` is not an address: {e}", c.from)))?;
        let transport = match c.transport.as_str() {
            "none" => Transport::Off,
            "file" => Transport::File(AsyncFileTransport::<Tokio1Executor>::new(&c.dir), c.dir.clone()),
            "smtp" => {
                if c.smtp_url.is_empty() {
                    return Err(invalid("mail.smtp_url", "is needed when mail.transport = \"smtp\"".into()));
                }
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::from_url(&c.smtp_url)
                    .map_err(|e| invalid("mail.smtp_url", format!("{e}")))?
                    .timeout(Some(Duration::from_secs(c.timeout_secs.max(1))));
                if !c.smtp_username.is_empty() {
                    b = b.credentials(Credentials::new(c.smtp_username.clone(), c.smtp_password.clone()));
                }
                Transport::Smtp(b.build())
            }
            other => return Err(invalid("mail.transport", format!("`{other}` is not one of none, smtp, file"))),
        };
        Ok(Mailer { from: Some(from), transport })
    }

    /// A mailer that sends nothing.
    pub fn off() -> Mailer {
        Mailer { from: None, transport: Transport::Off }
    }

    /// `false` when `mail.transport = "none"`.
    pub fn is_on(&self) -> bool {
        !matches!(self.transport, Transport::Off)
    }

    /// Sends one plain-text message. The error text is safe to log (no credentials).
    pub async fn send(&self, to_name: &str, to: &str, subject: &str, body: String) -> std::result::Result<(), String> {
        let Some(from) = self.from.clone().filter(|_| self.is_on()) else { return Ok(()) };
        let address: Address = to.parse().map_err(|e| format!("not an address: {e}"))?;
        let name = to_name.chars().filter(|c| !c.is_control()).collect::<String>();
        let message = Message::builder()
            .from(from)
            .to(Mailbox::new((!name.is_empty()).then_some(name), address))
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match &self.transport {
            Transport::Off => Ok(()),
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}")),
            Transport::File(t, dir) => {
                tokio::fs::create_dir_all(dir).await.map_err(|e| format!("pickup directory {}: {e}", dir.display()))?;
                t.send(message).await.map(|_| ()).map_err(|e| format!("pickup directory: {e}"))
            }
        }
    }
}

/// The e-mails Kith sends, one template file per message and language
/// (`core/templates/mail/<lang>/<name>.txt`: a `Subject:` line, a blank line, the body), rendered
/// with tera as plain text. A language without a copy gets English.
pub struct MailTemplates {
    tera: tera::Tera,
}

impl std::fmt::Debug for MailTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTemplates").field("templates", &self.tera.get_template_names().count()).finish()
    }
}

/// Every shipped e-mail template: (language, name, source).
const MAIL_TEMPLATES: &[(&str, &str, &str)] = &[
    ("en", "password-reset", include_str!("../templates/mail/en/password-reset.txt")),
    ("de", "password-reset", include_str!("../templates/mail/de/password-reset.txt")),
    ("en", "identity-linked", include_str!("../templates/mail/en/identity-linked.txt")),
    ("de", "identity-linked", include_str!("../templates/mail/de/identity-linked.txt")),
];

impl Default for MailTemplates {
    fn default() -> Self {
        let mut tera = tera::Tera::default();
        // no template may read the process environment (RELIABILITY H7)
        tera.register_function("get_env", |_: &std::collections::HashMap<String, tera::Value>| {
            Err(tera::Error::msg("get_env is not available in Kith's templates"))
        });
        for (lang, name, source) in MAIL_TEMPLATES {
            // `.txt`: tera does not HTML-escape plain text
            if let Err(e) = tera.add_raw_template(&format!("{lang}/{name}.txt"), source) {
                tracing::error!(lang, name, error = %e, "a shipped e-mail template does not compile");
            }
        }
        MailTemplates { tera }
    }
}

impl MailTemplates {
    /// The subject and body of e-mail `name` in `lang` (English when there is no copy in it).
    pub fn render(&self, name: &str, lang: &str, ctx: &tera::Context) -> Result<(String, String), String> {
        let lang = if self.tera.get_template_names().any(|t| t == format!("{lang}/{name}.txt")) { lang } else { "en" };
        let text = self.tera.render(&format!("{lang}/{name}.txt"), ctx).map_err(|e| format!("e-mail {name}: {e}"))?;
        let (head, body) = text.split_once("\n\n").ok_or_else(|| format!("e-mail {name} has no blank line"))?;
        let subject = head.strip_prefix("Subject: ").ok_or_else(|| format!("e-mail {name} has no Subject line"))?;
        // a name with a line break cannot add a header: the subject is one line of ours
        Ok((subject.trim().to_string(), body.to_string()))
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;

    #[test]
    fn every_mail_renders_in_every_language_and_falls_back_to_english() {
        let t = MailTemplates::default();
        let mut ctx = tera::Context::new();
        for key in ["name", "username", "link", "provider", "at"] {
            ctx.insert(key, "<x>");
        }
        ctx.insert("minutes", &60);
        for (lang, name, _) in MAIL_TEMPLATES {
            let (subject, body) = t.render(name, lang, &ctx).unwrap_or_else(|e| panic!("{lang} {name}: {e}"));
            assert!(!subject.is_empty() && body.contains("<x>"), "{lang} {name}: plain text, not escaped: {body}");
        }
        assert_eq!(t.render("password-reset", "de", &ctx).map(|r| r.0).unwrap_or_default(), "Passwort zurücksetzen");
        assert_eq!(t.render("password-reset", "fr", &ctx).map(|r| r.0).unwrap_or_default(), "Reset your password");
    }
}
