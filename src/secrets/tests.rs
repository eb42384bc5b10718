//! Keyring refresh policy and secret document parsing.

use std::sync::Arc;

use super::*;
use crate::headers::Headers;
use crate::senders::salesloft::{sign as salesloft_signature, SALESLOFT_SIGNATURE};

const T0: u64 = 1_795_442_400_000;

fn signed_by(token: &str) -> Headers {
    Headers::from_pairs([(
        SALESLOFT_SIGNATURE.to_string(),
        salesloft_signature(token.as_bytes(), b"{}"),
    )])
}

async fn keyring(store: &Arc<MemorySecretStore>) -> Keyring {
    Keyring::from_store(
        Box::new(store.clone()),
        SenderSettings::default(),
        RefreshPolicy::default(),
        T0,
    )
    .await
}

fn accepts(v: &Verifier, token: &str) -> bool {
    v.verify(Provider::Salesloft, b"{}", &signed_by(token), 0)
        .is_ok()
}

#[test]
fn the_secret_document_accepts_lists_strings_and_plain_text() {
    let s = parse_secret_document(
        r#"{"salesloft":["a","b"],"salesos":"c","standard_webhooks":["whsec_c2VjcmV0"]}"#,
    )
    .unwrap();
    assert_eq!(s.get(Provider::Salesloft).len(), 2);
    assert_eq!(s.get(Provider::SalesOs).len(), 1);
    assert_eq!(s.get(Provider::StandardWebhooks)[0].expose(), b"secret");
    assert_eq!(
        parse_secret_document("tok1, tok2")
            .unwrap()
            .get(Provider::Salesloft)
            .len(),
        2
    );
    assert_eq!(
        parse_secret_document("\"tok1\"")
            .unwrap()
            .get(Provider::Salesloft)
            .len(),
        1
    );
    // SAM's generated secret: {"salesloft":"<random>"}.
    assert_eq!(
        parse_secret_document(r#"{"salesloft":"Xy12"}"#)
            .unwrap()
            .get(Provider::Salesloft)[0]
            .expose(),
        b"Xy12"
    );
}

#[test]
fn a_bad_secret_document_is_refused_without_echoing_it() {
    for doc in [
        r#"{"salesloft":["a"],"hubspot":["topsecret"]}"#,
        r#"{"salesloft":[1]}"#,
        r#"{"salesloft":{"k":"topsecret"}}"#,
        r#"{"standard_webhooks":["whsec_!!topsecret!!"]}"#,
        r#"{"salesloft":"topsecret""#,
    ] {
        let err = parse_secret_document(doc).unwrap_err().to_string();
        assert!(!err.contains("topsecret"), "{err}");
        assert!(matches!(
            parse_secret_document(doc),
            Err(SecretError::Invalid(_))
        ));
    }
}

#[tokio::test]
async fn the_keyring_reads_the_store_once_at_start_and_serves_from_cache() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["tok"]}"#));
    let k = keyring(&store).await;
    for i in 0..10 {
        let v = k.current(T0 + i * 1000).await.unwrap();
        assert!(accepts(&v, "tok"));
    }
    assert_eq!(store.reads(), 1);
    assert!(k.serves(Provider::Salesloft));
    assert!(!k.serves(Provider::SalesOs));
}

#[tokio::test]
async fn a_rotation_takes_effect_after_the_refresh_interval() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["old"]}"#));
    let k = keyring(&store).await;
    store.set(Some(r#"{"salesloft":["new"]}"#));
    assert!(accepts(&k.current(T0 + 299_000).await.unwrap(), "old"));
    let v = k.current(T0 + 300_000).await.unwrap();
    assert!(accepts(&v, "new") && !accepts(&v, "old"));
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_failed_verification_refreshes_once_when_the_keys_are_over_a_minute_old() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["old"]}"#));
    let k = keyring(&store).await;
    store.set(Some(r#"{"salesloft":["old","added"]}"#));
    // Younger than a minute: no re-read, however many forged requests arrive.
    for i in 0..5 {
        assert!(k.refresh_after_failure(T0 + 59_000 + i).await.is_none());
    }
    assert_eq!(store.reads(), 1);
    let fresh = k.refresh_after_failure(T0 + 61_000).await.unwrap();
    assert!(accepts(&fresh, "added"));
    // The refresh resets the clock: the next failure within a minute reads nothing.
    assert!(k.refresh_after_failure(T0 + 62_000).await.is_none());
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_store_outage_keeps_the_previous_keys() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["tok"]}"#));
    let k = keyring(&store).await;
    store.set(None);
    let v = k.current(T0 + 600_000).await.unwrap();
    assert!(accepts(&v, "tok"));
    // A secret emptied by mistake is not installed either.
    store.set(Some(r#"{}"#));
    let v = k.current(T0 + 1_200_000).await.unwrap();
    assert!(accepts(&v, "tok"));
}

#[tokio::test]
async fn without_any_keys_every_request_retries_the_store_and_nothing_is_served_until_then() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["tok"]}"#));
    store.set(None);
    let k = keyring(&store).await;
    assert!(k.current(T0 + 1).await.is_none());
    // Unknown yet: answered 503 (retry), not 404.
    assert!(k.serves(Provider::SalesOs));
    store.set(Some(r#"{"salesloft":["tok"]}"#));
    assert!(accepts(&k.current(T0 + 2).await.unwrap(), "tok"));
    assert_eq!(store.reads(), 3);
}

#[tokio::test]
async fn a_fixed_keyring_never_refreshes() {
    let k = Keyring::fixed(Verifier::default().with_keys(
        Provider::Salesloft,
        vec![crate::signature::Secret::new("tok")],
    ));
    assert!(k.refresh_after_failure(u64::MAX).await.is_none());
    assert!(accepts(&k.current(u64::MAX).await.unwrap(), "tok"));
}
