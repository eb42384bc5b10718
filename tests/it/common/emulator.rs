//! The Lambda Runtime Interface Emulator (shipped in the SAM CLI package of the project venv)
//! running a built binary against the moto stack.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use salesloft_webhooks::senders::Provider;

use super::{free_port, repo_path, test_secret, wait_for_port, ChildGuard, Stack};

/// Path of the emulator shipped in the aws-sam-cli package of the project venv.
pub fn rie_path() -> PathBuf {
    if let Ok(p) = std::env::var("AWS_LAMBDA_RIE") {
        return PathBuf::from(p);
    }
    let arch = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "x86_64"
    };
    let pattern = repo_path(".venv/lib");
    let found = std::fs::read_dir(&pattern).ok().and_then(|mut dirs| {
        dirs.find_map(|d| {
            let p = d.ok()?.path().join(format!(
                "site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"
            ));
            p.exists().then_some(p)
        })
    });
    found.unwrap_or_else(|| {
        panic!(
            "aws-lambda-rie not found under {}: run `make setup`",
            pattern.display()
        )
    })
}

/// The example consumer binary of the consumer crate, built next to this test binary
/// (`make test` builds it first: `cargo build -p salesloft-webhooks-consumer --bin consumer`;
/// a test cannot ask cargo for another package's binary).
pub fn consumer_binary() -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/it-<hash> -> target/<profile>/consumer
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("consumer"))
        .expect("the target directory");
    assert!(
        path.exists(),
        "{} not found: run `cargo build -p salesloft-webhooks-consumer --bin consumer` (make test does)",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

pub struct Emulator {
    pub url: String,
    pub log: PathBuf,
    _child: ChildGuard,
}

impl Emulator {
    /// The `webhook` binary under the emulator, configured for `stack` with the test secrets
    /// and AWS clients pointed at moto; `extra_env` is applied last (overrides).
    pub fn webhook(stack: &Stack, extra_env: &[(&str, &str)]) -> Self {
        Self::start(env!("CARGO_BIN_EXE_webhook"), stack, "10", extra_env)
    }

    /// `binary` under the emulator with a timeout of `timeout_s` seconds.
    pub fn start(binary: &str, stack: &Stack, timeout_s: &str, extra_env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let api_port = free_port();
        let log = std::env::temp_dir().join(format!("rie-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(rie_path());
        cmd.args([
            "--runtime-interface-emulator-address",
            &format!("127.0.0.1:{port}"),
            "--runtime-api-address",
            &format!("127.0.0.1:{api_port}"),
            binary,
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TABLE_NAME", super::TABLE)
        .env("QUEUE_URL", &stack.default_queue)
        .envs(
            Provider::ALL
                .iter()
                .map(|p| (p.secrets_env(), test_secret(*p))),
        )
        .env("AWS_LAMBDA_FUNCTION_TIMEOUT", timeout_s)
        .env("RUST_LOG", "info")
        .envs(stack.moto.aws_env())
        .envs(
            extra_env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
        let child = ChildGuard(cmd.spawn().expect("start aws-lambda-rie"));
        wait_for_port(port, Duration::from_secs(30));
        Emulator {
            url: format!("http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"),
            log,
            _child: child,
        }
    }

    /// Invokes the function; the emulator's answer as JSON (`null` when it sent no body,
    /// as it does when the runtime failed to start).
    pub async fn invoke(&self, event: &serde_json::Value) -> serde_json::Value {
        let text = reqwest::Client::new()
            .post(&self.url)
            .json(event)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .expect("invoke")
            .text()
            .await
            .expect("response body");
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
