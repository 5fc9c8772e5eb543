//! Kith's outgoing e-mail (password reset links, security notices) through `lettre`: SMTP (with
//! STARTTLS or TLS as the URL says), a pickup directory of `.eml` files, or off. Messages are
//! plain text; they are sent by the job worker (`jobs.rs`), never inside a request.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Address, AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::{ConfigError, MailConfig};

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
    pub fn new(c: &MailConfig) -> Result<Mailer, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid { key: key.to_string(), message };
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
