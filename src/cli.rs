//! The command line: `serve` (the default), `migrate`, `admin create|promote`, `config show`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::{App, shutdown_signal};
use crate::config::{Config, Overrides};
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(name = "letschat", version, about = "A self-hostable messaging server")]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// TOML configuration file (see config.example.toml).
    #[arg(long, global = true, env = "LETSCHAT_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:5000 (http.bind).
    #[arg(long, global = true)]
    bind: Option<std::net::SocketAddr>,
    /// Directory for the database, secrets, files and outbox (storage.data_dir).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// sqlite:… or postgres://… (database.url).
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage administrators.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Inspect the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a new administrator account.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The password; read from LETSCHAT_ADMIN_PASSWORD when not given.
        #[arg(long, env = "LETSCHAT_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Give an existing account (username or email) the admin role.
    Promote { login: String },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration as TOML, secrets redacted.
    Show,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        bind: cli.global.bind,
        data_dir: cli.global.data_dir.clone(),
        database_url: cli.global.database_url.clone(),
    };
    let config = match Config::load(cli.global.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("error: {err:#}");
            return ExitCode::from(2);
        }
    };
    init_tracing(&config);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = Store::connect(&config.database_url(), 1).await?;
            store.migrate().await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Admin(admin) => run_admin(admin, config).await,
        Command::Config(ConfigCommand::Show) => {
            print!("{}", toml_of(&config)?);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.http.bind;
    let app = App::build(config).await?;
    let listener = tokio::net::TcpListener::bind(bind).await?;
    tracing::info!(address = %listener.local_addr()?, "letschat is listening");
    app.serve(listener, shutdown_signal()).await
}

async fn run_admin(command: AdminCommand, config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let result = match command {
        AdminCommand::Create {
            username,
            email,
            password,
        } => crate::service::accounts::create_admin(&app.state, &username, &email, &password)
            .await
            .map(|id| println!("created admin {username} ({id})")),
        AdminCommand::Promote { login } => {
            crate::service::accounts::promote_admin(&app.state, &login)
                .await
                .map(|id| println!("promoted {login} ({id}) to admin"))
        }
    };
    app.state.store.close().await;
    result.map_err(|err| anyhow::anyhow!("{}", err.body().error))
}

fn toml_of(config: &Config) -> anyhow::Result<String> {
    let value = serde_json::to_value(config)?;
    let mut out = String::new();
    if let serde_json::Value::Object(sections) = value {
        for (name, section) in sections {
            out.push_str(&format!("[{name}]\n"));
            if let serde_json::Value::Object(fields) = section {
                for (key, value) in fields {
                    out.push_str(&format!("{key} = {value}\n"));
                }
            }
            out.push('\n');
        }
    }
    Ok(out)
}

fn init_tracing(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LETSCHAT_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log.format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
