//! `salesloft-webhooks`: the command-line tool that registers Salesloft's webhook
//! subscriptions for a deployed stack and keeps them in step with the function's secret, a
//! token of its own per event type (docs/cli.md).
//!
//! The binary is `main.rs` calling [`run`] with the process's arguments and environment;
//! tests call [`run`] with their own. Modules:
//! - [`events`]: `--events` patterns over Salesloft's 37 event types;
//! - [`salesloft`]: the webhook subscriptions API client;
//! - [`secret`]: the secret document (validated with the function's own parser) and the
//!   Secrets Manager secret;
//! - [`plan`]: what each command does, decided without I/O;
//! - [`commands`]: applying a plan in a safe order, and the report;
//! - [`token`]: generated tokens, shown by their first four characters only.

pub mod commands;
pub mod error;
pub mod events;
pub mod plan;
pub mod salesloft;
pub mod secret;
pub mod token;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::commands::{Ctx, Io, Options};
use crate::error::{one_line, CliError};
use crate::salesloft::{Api, DEFAULT_API_URL};
use crate::secret::SecretStore;

/// The function's default SECRET_REFRESH_SECONDS: how long a warm instance may keep
/// verifying with a secret it read (`RefreshPolicy` is the function's own).
pub fn default_refresh_seconds() -> u64 {
    salesloft_webhooks::secrets::RefreshPolicy::default().refresh_after_ms / 1000
}

#[derive(Debug, Parser)]
#[command(
    name = "salesloft-webhooks",
    version,
    about = "Manage the Salesloft webhook subscriptions of a salesloft-webhooks stack",
    long_about = "Manage the Salesloft webhook subscriptions of a salesloft-webhooks stack: one \
subscription per event type, each with a token of its own, kept in step with the function's \
Secrets Manager secret.\n\nEnvironment: SALESLOFT_API_KEY (required), SALESLOFT_API_URL \
(default: Salesloft's public API), and the usual AWS variables (AWS_REGION, AWS_PROFILE, \
AWS_ENDPOINT_URL, ...)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Salesloft webhook subscriptions and their tokens.
    #[command(subcommand)]
    Subscriptions(Subscriptions),
}

#[derive(Debug, Subcommand)]
enum Subscriptions {
    /// Make Salesloft hold exactly one enabled subscription per selected event type for the
    /// URL, each with its own token, bound to its type in the secret before Salesloft uses it.
    Sync {
        #[command(flatten)]
        target: Target,
        /// Delete the subscriptions to this URL for types not selected, and their tokens.
        #[arg(long)]
        prune: bool,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// One row per event type: subscription id, enabled, and whether the secret holds its
    /// current token.
    List {
        #[command(flatten)]
        target: Target,
        /// Print one JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Give each selected subscription a new token, with no moment where Salesloft signs with
    /// a token the function does not accept: new tokens into the secret, a wait of
    /// --refresh-seconds, the switch; the old tokens go with --finish later (or --wait).
    Rotate {
        #[command(flatten)]
        target: Target,
        /// Only remove the tokens of the selected types that no subscription uses any more
        /// (the old tokens of an earlier rotate).
        #[arg(long, conflicts_with = "wait")]
        finish: bool,
        /// After the switch, wait --refresh-seconds more and remove the old tokens.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        refresh: Refresh,
    },
    /// Delete the subscriptions to the URL (all, or those of --events), then the tokens no
    /// subscription uses any more.
    Delete {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
struct Target {
    /// The function's Salesloft URL, exactly as Salesloft is to call it (the stack's
    /// SalesloftCallbackUrl, or WebhookUrl followed by `salesloft`).
    #[arg(long, value_name = "URL")]
    callback_url: String,
    /// The function's Secrets Manager secret (the stack's SenderSecretArn, or its name).
    #[arg(long, value_name = "ARN_OR_NAME")]
    secret_id: String,
    /// Event types, or patterns with `*` (e.g. `person_*`), comma-separated; may be repeated.
    /// Default: all 37.
    #[arg(long, value_name = "PATTERN,…")]
    events: Option<Vec<String>>,
}

#[derive(Debug, Args)]
struct Common {
    /// Print what would change, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct Refresh {
    /// The function's SECRET_REFRESH_SECONDS (how long an instance may keep a secret it
    /// read): the wait between writing new tokens and switching Salesloft to them when they
    /// replace tokens in use.
    #[arg(long, value_name = "SECONDS", default_value_t = default_refresh_seconds(),
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    refresh_seconds: u64,
}

/// The environment the CLI reads (the process's, or one a test gives). Blank counts as unset.
#[derive(Debug, Clone, Default)]
pub struct Environment(HashMap<String, String>);

impl Environment {
    /// The process's environment (variables that are not valid UTF-8 are left out).
    pub fn from_process() -> Self {
        Self(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).filter(|v| !v.trim().is_empty()).cloned()
    }
}

/// The AWS configuration from `env`: the SDK's defaults (profiles, SSO, instance roles…) with
/// the environment's region, endpoint and static credentials applied explicitly, so an
/// environment given by a test is honoured exactly as the process's would be.
async fn sdk_config(env: &Environment) -> Result<aws_config::SdkConfig, CliError> {
    use aws_config::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(15))
            .operation_timeout(Duration::from_secs(45))
            .build(),
    );
    if let Some(region) = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
    {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let Some(endpoint) = env
        .get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
    {
        loader = loader.endpoint_url(endpoint);
    }
    if let (Some(id), Some(key)) = (
        env.get("AWS_ACCESS_KEY_ID"),
        env.get("AWS_SECRET_ACCESS_KEY"),
    ) {
        loader = loader.credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            id,
            key,
            env.get("AWS_SESSION_TOKEN"),
            None,
            "environment",
        ));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(CliError::usage(
            "no AWS region: set AWS_REGION to the stack's region",
        ));
    }
    Ok(config)
}

/// A clap error as one line (help and version are not errors: printed, status 0).
fn parse_args(args: Vec<OsString>, io: &mut Io<'_>) -> Result<Cli, i32> {
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            let _ = write!(io.out, "{}", e.render());
            Err(0)
        }
        Err(e) => {
            let rendered = e.render().to_string();
            let message = rendered.split("\n\nUsage:").next().unwrap_or(&rendered);
            let message = one_line(message.trim_start_matches("error:"));
            let _ = writeln!(io.err, "error: {message} (see --help)");
            Err(2)
        }
    }
}

/// Runs the command line `args` (the program name first) with `env`; returns the exit
/// status: 0 on success, 1 when something failed, 2 for wrong arguments or environment. A
/// failure prints exactly one line, `error: …`, on `err`; neither the API key nor a token is
/// ever printed, except a token's first four characters.
pub async fn run(
    args: Vec<OsString>,
    env: &Environment,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
) -> i32 {
    let cli = match parse_args(args, &mut Io { out, err }) {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    let Command::Subscriptions(command) = cli.command;
    match execute(command, env, Io { out, err }).await {
        Ok(()) => 0,
        Err(e) => {
            // The message never holds the key; scrub it anyway in case a server echoed it.
            let key = env.get("SALESLOFT_API_KEY").unwrap_or_default();
            let line = token::scrub(&e.to_string(), &[key.trim()]);
            let _ = writeln!(err, "error: {line}");
            e.exit_code()
        }
    }
}

/// Which command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sync,
    List,
    Rotate,
    Delete,
}

async fn execute(command: Subscriptions, env: &Environment, io: Io<'_>) -> Result<(), CliError> {
    let options = |target: &Target, dry_run: bool, refresh_seconds: u64| Options {
        events: target.events.clone(),
        prune: false,
        dry_run,
        refresh_seconds,
        finish: false,
        wait: false,
    };
    let (kind, target, opts, json) = match command {
        Subscriptions::Sync {
            target,
            prune,
            common,
            refresh,
        } => {
            let opts = Options {
                prune,
                ..options(&target, common.dry_run, refresh.refresh_seconds)
            };
            (Kind::Sync, target, opts, common.json)
        }
        Subscriptions::List { target, json } => {
            let opts = options(&target, false, 0);
            (Kind::List, target, opts, json)
        }
        Subscriptions::Rotate {
            target,
            finish,
            wait,
            common,
            refresh,
        } => {
            let opts = Options {
                finish,
                wait,
                ..options(&target, common.dry_run, refresh.refresh_seconds)
            };
            (Kind::Rotate, target, opts, common.json)
        }
        Subscriptions::Delete { target, common } => {
            let opts = options(&target, common.dry_run, 0);
            (Kind::Delete, target, opts, common.json)
        }
    };
    // Everything that needs no network is checked first.
    if let Some(events) = &opts.events {
        events::select(Some(events))?;
    }
    check_callback_url(&target.callback_url)?;
    if target.secret_id.trim().is_empty() {
        return Err(CliError::usage("--secret-id is empty"));
    }
    let api = Api::new(
        &env.get("SALESLOFT_API_URL")
            .unwrap_or_else(|| DEFAULT_API_URL.to_string()),
        env.get("SALESLOFT_API_KEY").unwrap_or_default(),
    )?;
    let sdk = sdk_config(env).await?;
    let store = SecretStore::new(
        aws_sdk_secretsmanager::Client::new(&sdk),
        target.secret_id.clone(),
    );
    let mut ctx = Ctx {
        api,
        store,
        callback_url: target.callback_url,
        secret_id: target.secret_id,
        json,
        io,
    };
    match kind {
        Kind::Sync => commands::sync(&mut ctx, &opts).await,
        Kind::List => commands::list(&mut ctx, &opts).await,
        Kind::Rotate => commands::rotate(&mut ctx, &opts).await,
        Kind::Delete => commands::delete(&mut ctx, &opts).await,
    }
}

fn check_callback_url(url: &str) -> Result<(), CliError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(()),
        _ => Err(CliError::usage(format!(
            "--callback-url {url:?} is not an http(s) URL (give the function's Salesloft URL, e.g. its WebhookUrl followed by salesloft)"
        ))),
    }
}
