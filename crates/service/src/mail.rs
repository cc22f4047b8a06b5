//! Sending email: through an SMTP server when one is configured, otherwise into an
//! outbox folder as `.eml` files (so a demo or a test installation never emails anyone,
//! and what would have been sent can be read).

use crate::{Result, ServiceError};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

/// How mail leaves Gatehouse.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Write each message as a `.eml` file into this folder.
    Outbox(PathBuf),
    /// Send through an SMTP server.
    Smtp(SmtpSettings),
}

/// An SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port (587 for STARTTLS, 465 for TLS).
    pub port: u16,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// `starttls` (default), `tls`, or `none` (only for a relay on the same machine).
    pub security: String,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Recipient's address.
    pub to: String,
    /// Recipient's name.
    pub to_name: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
}

/// Where a mailer's messages go.
#[derive(Clone)]
enum Sender {
    Outbox(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    sender: Sender,
    /// The address people use to reach Gatehouse, for links in messages.
    pub base_url: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = match &self.sender {
            Sender::Outbox(d) => format!("outbox {}", d.display()),
            Sender::Smtp(_) => "smtp".to_owned(),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .field("to", &to)
            .finish_non_exhaustive()
    }
}

fn invalid(field: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Invalid(format!("{field}: {e}"))
}

impl Mailer {
    /// A mailer sending from `from` (e.g. `Gatehouse <gatehouse@school.example>`).
    pub fn new(from: &str, transport: Transport, base_url: &str) -> Result<Self> {
        let from: Mailbox = from.parse().map_err(|e| invalid("email.from", e))?;
        let sender = match transport {
            Transport::Outbox(dir) => Sender::Outbox(dir),
            Transport::Smtp(s) => {
                let builder = match s.security.as_str() {
                    "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                        .map_err(|e| invalid("email.smtp_host", e))?,
                    "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                    _ => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                        .map_err(|e| invalid("email.smtp_host", e))?,
                };
                let mut builder = builder.port(s.port);
                if let (Some(u), Some(p)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
                }
                Sender::Smtp(builder.build())
            }
        };
        Ok(Self {
            from,
            sender,
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Send one message.
    pub async fn send(&self, m: &Outgoing) -> Result<()> {
        let to = Mailbox::new(
            Some(m.to_name.clone()),
            m.to.parse().map_err(|e| invalid("to", e))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| invalid("message", e))?;
        match &self.sender {
            Sender::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map_err(|e| ServiceError::Invalid(format!("email could not be sent: {e}")))?;
            }
            Sender::Outbox(dir) => {
                write_eml(dir, &message.formatted())
                    .map_err(|e| ServiceError::Invalid(format!("outbox: {e}")))?;
            }
        }
        Ok(())
    }
}

/// Write a message file atomically: a temporary name, then a rename.
fn write_eml(dir: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%S%.6fZ")
        .to_string();
    let name = format!("{stamp}-{:08x}.eml", rand::random::<u32>());
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_holds_a_readable_message() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(
            "Gatehouse <gatehouse@school.example>",
            Transport::Outbox(dir.path().to_path_buf()),
            "http://x/",
        )
        .unwrap();
        mailer
            .send(&Outgoing {
                to: "ann@example.com".into(),
                to_name: "Ann Example".into(),
                subject: "Please sign".into(),
                body: "Sign at http://x/sign".into(),
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].extension().is_some_and(|e| e == "eml"));
        let text = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            text.contains("To: \"Ann Example\" <ann@example.com>"),
            "{text}"
        );
        assert!(text.contains("Subject: Please sign"));
        assert!(text.contains("Sign at http://x/sign"));
    }

    #[test]
    fn a_bad_sender_is_refused_naming_the_setting() {
        let err =
            Mailer::new("not an address", Transport::Outbox(PathBuf::from("x")), "").unwrap_err();
        assert!(err.to_string().contains("email.from"), "{err}");
    }
}
