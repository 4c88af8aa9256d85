//! Configuration: one typed struct, layered defaults → TOML file → `LETSCHAT_*` env → CLI flags.
//!
//! Environment names are `LETSCHAT_` + section + `__` + key (`LETSCHAT_HTTP__BIND`). Secrets are
//! wrapped in [`Secret`], which prints as `[redacted]`, so `config show` and logs never leak them.
//! Secrets left unset are generated into the data directory on first start (see [`Config::load_secrets`]).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret value: readable by the code, never printed.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            serializer.serialize_str("")
        } else {
            serializer.serialize_str("[redacted]")
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
pub struct Config {
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub mail: MailConfig,
    pub realtime: RealtimeConfig,
    pub messages: MessagesConfig,
    pub files: FilesConfig,
    pub metrics: MetricsConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Address the server listens on.
    pub bind: SocketAddr,
    /// Origins allowed by CORS and for Socket.IO connections; empty allows same-origin only.
    pub cors_origins: Vec<String>,
    /// Peers whose `X-Forwarded-For` header is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Public base URL of the web client, used in links sent by mail.
    pub public_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Where the SQLite database, generated secrets, files and the mail outbox live.
    pub data_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://...`; empty means SQLite at `<data_dir>/letschat.db`.
    pub url: Secret,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC key for access tokens; generated into the data directory when empty.
    pub jwt_secret: Secret,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    pub password_reset_ttl_mins: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per minute per client address on the API; 0 disables the limit.
    pub requests_per_minute: u32,
    /// Requests per minute per address on login, register, refresh and password reset.
    pub auth_requests_per_minute: u32,
    /// Failed logins per hour per account, whatever addresses they come from.
    pub failed_logins_per_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// SMTP host; empty writes mails to `<data_dir>/outbox/` instead of sending them.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none` (plain, for a local relay), `starttls` or `tls`.
    pub smtp_security: String,
    pub smtp_username: String,
    pub smtp_password: Secret,
    pub from: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealtimeConfig {
    /// Seconds a connection may wait before its CONNECT packet.
    pub connect_timeout_secs: u64,
    /// Largest Socket.IO packet accepted, in bytes.
    pub max_payload_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessagesConfig {
    /// Seconds after sending during which the sender may edit a message.
    pub edit_window_secs: u64,
    /// Seconds after sending during which the sender may delete a message for everyone.
    pub delete_window_secs: u64,
    /// Largest message text, in bytes.
    pub max_content_bytes: usize,
    /// Most members a group may have.
    pub max_group_members: usize,
    /// Messages one person may send per minute; 0 disables the limit.
    pub sends_per_minute: u32,
    /// Seconds after which "typing…" ends if the client never says it stopped.
    pub typing_timeout_secs: u64,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        MessagesConfig {
            edit_window_secs: 15 * 60,
            delete_window_secs: 15 * 60,
            max_content_bytes: 64 * 1024,
            max_group_members: 1024,
            sends_per_minute: 120,
            typing_timeout_secs: 6,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Largest image upload, in bytes.
    pub max_image_bytes: u64,
    /// Largest upload of any other kind, in bytes.
    pub max_file_bytes: u64,
    /// Bytes one person may keep stored; 0 disables the quota.
    pub user_quota_bytes: u64,
    /// Most pixels (width × height) an image may declare; larger is refused before decoding.
    pub max_image_pixels: u64,
    /// Longest side of generated thumbnails, in pixels.
    pub thumbnail_px: u32,
    /// Side of the square avatar thumbnail, in pixels.
    pub avatar_px: u32,
    /// Lifetime of the signed URLs in `fileUrl` and `file.url`, in seconds.
    pub signed_url_ttl_secs: u64,
    /// Seconds between sweeps for files nothing uses any more; 0 disables the sweep.
    pub cleanup_interval_secs: u64,
    /// Age in seconds before an unused file is removed (time to send what was just uploaded).
    pub orphan_grace_secs: u64,
    /// HMAC key for signed file URLs; generated into the data directory when empty.
    pub url_secret: Secret,
    /// S3-compatible object storage; files go to `<data_dir>/files/` while `bucket` is empty.
    pub s3: S3Config,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// `https://…` of an S3-compatible service; empty means AWS for `region`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Allow a plain `http://` endpoint (a service on the local network).
    pub allow_http: bool,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            max_image_bytes: 10 * 1024 * 1024,
            max_file_bytes: 50 * 1024 * 1024,
            user_quota_bytes: 1024 * 1024 * 1024,
            max_image_pixels: 50_000_000,
            thumbnail_px: 320,
            avatar_px: 256,
            signed_url_ttl_secs: 3600,
            cleanup_interval_secs: 3600,
            orphan_grace_secs: 24 * 3600,
            url_secret: Secret::default(),
            s3: S3Config::default(),
        }
    }
}

impl Default for S3Config {
    fn default() -> Self {
        S3Config {
            endpoint: String::new(),
            bucket: String::new(),
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            allow_http: false,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Bearer token that may read `/metrics` (admins always may); empty means admins only.
    pub token: Secret,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `letschat=debug,info`.
    pub level: String,
    /// `pretty` or `json`.
    pub format: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5000)),
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            public_url: "http://127.0.0.1:5000".into(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: Secret::default(),
            max_connections: 8,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            jwt_secret: Secret::default(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_days: 30,
            password_reset_ttl_mins: 30,
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            requests_per_minute: 100,
            auth_requests_per_minute: 10,
            failed_logins_per_hour: 20,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            from: "letschat <no-reply@localhost>".into(),
        }
    }
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            connect_timeout_secs: 10,
            max_payload_bytes: 1024 * 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "pretty".into(),
        }
    }
}

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Builds the effective configuration from all layers.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            anyhow::ensure!(file.exists(), "config file {} not found", file.display());
            figment = figment.merge(Toml::file(file));
        }
        // Only `LETSCHAT_<SECTION>__<KEY>` names are settings; others (LETSCHAT_LOG,
        // LETSCHAT_CONFIG, LETSCHAT_ADMIN_PASSWORD) belong to the command line.
        let env = Env::prefixed("LETSCHAT_")
            .filter(|key| key.as_str().contains("__"))
            .split("__");
        figment = figment.merge(env);
        let mut config: Config = figment.extract().context("invalid configuration")?;
        if let Some(bind) = overrides.bind {
            config.http.bind = bind;
        }
        if let Some(dir) = &overrides.data_dir {
            config.storage.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            config.database.url = Secret::new(url.clone());
        }
        Ok(config)
    }

    /// The database URL, defaulting to SQLite inside the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            let path = self.storage.data_dir.join("letschat.db");
            format!("sqlite://{}?mode=rwc", path.display())
        } else {
            self.database.url.expose().to_owned()
        }
    }

    /// Fills unset secrets from `<data_dir>/secrets/`, generating them on first start.
    pub fn load_secrets(&mut self) -> anyhow::Result<()> {
        if self.auth.jwt_secret.is_empty() {
            self.auth.jwt_secret = read_or_generate_secret(&self.storage.data_dir, "jwt.key")?;
        }
        if self.files.url_secret.is_empty() {
            self.files.url_secret =
                read_or_generate_secret(&self.storage.data_dir, "file-urls.key")?;
        }
        Ok(())
    }
}

fn read_or_generate_secret(data_dir: &Path, name: &str) -> anyhow::Result<Secret> {
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    if path.exists() {
        let value = std::fs::read_to_string(&path)
            .with_context(|| format!("reading secret {}", path.display()))?;
        return Ok(Secret::new(value.trim()));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let value = crate::domain::random_token(32);
    write_private(&path, &value)?;
    tracing::info!(file = %path.display(), "generated a new secret");
    Ok(Secret::new(value))
}

#[cfg(unix)]
fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing secret {}", path.display()))?;
    file.write_all(value.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    std::fs::write(path, value).with_context(|| format!("writing secret {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_when_printed() {
        let mut config = Config::default();
        config.auth.jwt_secret = Secret::new("super-secret");
        let shown = toml_string(&config);
        assert!(!shown.contains("super-secret"));
        assert!(!format!("{config:?}").contains("super-secret"));
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_dir() {
        let config = Config::default();
        assert!(
            config
                .database_url()
                .starts_with("sqlite://./data/letschat.db")
        );
    }

    #[test]
    fn the_example_file_documents_exactly_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
        let from_file: Config = Figment::new()
            .merge(Toml::file(&path))
            .extract()
            .expect("config.example.toml parses");
        assert_eq!(
            toml_string(&from_file),
            toml_string(&Config::default()),
            "config.example.toml and Config::default() disagree"
        );
    }

    fn toml_string(config: &Config) -> String {
        serde_json::to_string(config).unwrap_or_default()
    }
}
