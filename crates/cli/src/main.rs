//! The `salesloft-webhooks` command (see the library, and docs/cli.md).

use salesloft_webhooks_cli::{run, Environment};

#[tokio::main]
async fn main() {
    let env = Environment::from_process();
    let status = run(
        std::env::args_os().collect(),
        &env,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await;
    std::process::exit(status);
}
