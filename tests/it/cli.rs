//! The subscriptions CLI (crates/cli) end to end: `subscriptions sync` against the local
//! Salesloft API and moto's Secrets Manager, then the built function under the emulator,
//! reading only that secret (`SECRET_ARN`), verifies a delivery signed with one type's token
//! for that type and no other.

#[path = "../../crates/cli/tests/support/fake_salesloft.rs"]
mod fake_salesloft;

use fake_salesloft::FakeSalesloft;
use salesloft_webhooks_cli::{run, Environment};

use crate::common::emulator::Emulator;
use crate::common::{attr, salesloft_event, Stack};

const CALLBACK_URL: &str = "https://webhooks.test/salesloft";
const API_KEY: &str = "test-api-key-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sync_a_delivery_signed_with_a_types_token_reaches_the_queue_and_no_other_type() {
    let stack = Stack::start().await;
    // What `sam deploy` leaves: a generated token as a string.
    let (_, arn) = stack
        .create_secret(r#"{"salesloft":"GeneratedByCloudFormation0123456789abcdef"}"#)
        .await;
    let api = FakeSalesloft::start(API_KEY).await;

    // The README's one command after `sam deploy`.
    let mut env = stack.moto.aws_env();
    env.push(("SALESLOFT_API_KEY".into(), API_KEY.into()));
    env.push(("SALESLOFT_API_URL".into(), api.base.clone()));
    let args = [
        "salesloft-webhooks",
        "subscriptions",
        "sync",
        "--callback-url",
        CALLBACK_URL,
        "--secret-id",
        &arn,
        // The function starts after the sync here: nothing to wait for.
        "--refresh-seconds",
        "0",
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let status = run(
        args.iter().map(Into::into).collect(),
        &Environment::from_pairs(env),
        &mut out,
        &mut err,
    )
    .await;
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert_eq!(status, 0, "{out}{err}");
    let subs = api.subscriptions();
    assert_eq!(subs.len(), 37);
    let token = subs
        .iter()
        .find(|s| s.event_type == "person_updated")
        .map(|s| s.callback_token.clone())
        .unwrap();
    assert!(!out.contains(&token) && !err.contains(&token));

    let rie = Emulator::webhook(
        &stack,
        &[
            ("SECRET_ARN", arn.as_str()),
            ("SALESLOFT_SECRETS", ""),
            ("SALESOS_SECRETS", ""),
            ("STANDARD_WEBHOOKS_SECRETS", ""),
        ],
    );
    let body = r#"{"id":2000002,"first_name":"Ada","last_name":"Lovelace"}"#;
    let ok = rie
        .invoke(&salesloft_event("person_updated", body, &token))
        .await;
    assert_eq!(ok["statusCode"], 202, "{ok}\n{}", rie.log());
    let messages = stack.drain(&stack.default_queue).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(attr(&messages[0], "event_type"), "person_updated");
    let envelope: serde_json::Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(envelope["payload"]["id"], 2000002);

    // The same body and signature under another type: refused, nothing queued.
    let replay = rie
        .invoke(&salesloft_event("person_deleted", body, &token))
        .await;
    assert_eq!(replay["statusCode"], 401, "{replay}");
    assert!(stack.drain(&stack.default_queue).await.is_empty());
    assert!(!rie.log().contains(&token));
}
