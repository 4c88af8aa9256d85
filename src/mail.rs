//! Outgoing mail: over SMTP when a host is configured, otherwise written to `<data_dir>/outbox/`
//! so that a fresh install can still complete a password reset.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::MailConfig;

/// Sends mail.
#[derive(Clone)]
pub struct Mailer {
    from: String,
    target: Target,
}

#[derive(Clone)]
enum Target {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

/// One mail to send.
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Mailer {
    pub fn new(config: &MailConfig, data_dir: &std::path::Path) -> Mailer {
        let target = if config.smtp_host.is_empty() {
            Target::Outbox(data_dir.join("outbox"))
        } else {
            match smtp_transport(config) {
                Ok(transport) => Target::Smtp(transport),
                Err(err) => {
                    tracing::error!(%err, "invalid SMTP settings; writing mail to the outbox");
                    Target::Outbox(data_dir.join("outbox"))
                }
            }
        };
        Mailer {
            from: config.from.clone(),
            target,
        }
    }

    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(
                self.from
                    .parse::<Mailbox>()
                    .context("mail.from is not a mailbox")?,
            )
            .to(mail
                .to
                .parse::<Mailbox>()
                .context("recipient is not a mailbox")?)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)?;
        match &self.target {
            Target::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .context("sending mail over SMTP")?;
                tracing::info!("mail sent over SMTP");
            }
            Target::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let path = dir.join(format!("{}.eml", uuid::Uuid::now_v7()));
                tokio::fs::write(&path, message.formatted()).await?;
                tracing::info!(file = %path.display(), "mail written to the outbox (no SMTP host configured)");
            }
        }
        Ok(())
    }
}

fn smtp_transport(config: &MailConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match config.smtp_security.as_str() {
        "none" => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host),
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.smtp_host)?,
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.smtp_host)?,
        other => anyhow::bail!("mail.smtp_security must be none, starttls or tls, not {other}"),
    };
    let mut builder = builder
        .port(config.smtp_port)
        .timeout(Some(Duration::from_secs(20)));
    if !config.smtp_username.is_empty() {
        builder = builder.credentials(Credentials::new(
            config.smtp_username.clone(),
            config.smtp_password.expose().to_owned(),
        ));
    }
    Ok(builder.build())
}
