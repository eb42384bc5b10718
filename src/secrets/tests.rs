//! Keyring refresh policy and secret document parsing.

use std::sync::Arc;

use super::*;
use crate::headers::Headers;
use crate::senders::salesloft::{
    sign as salesloft_signature, SALESLOFT_EVENT, SALESLOFT_SIGNATURE,
};

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
    assert_eq!(
        s.get(Provider::StandardWebhooks)[0].secret().expose(),
        b"secret"
    );
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
            .secret()
            .expose(),
        b"Xy12"
    );
}

#[test]
fn a_bad_secret_document_is_refused_without_echoing_it() {
    for doc in [
        r#"{"salesloft":["a"],"hubspot":["topsecret"]}"#,
        r#"{"salesloft":[1]}"#,
        r#"{"salesloft":{"k k":"topsecret"}}"#,
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

#[test]
fn json_that_is_neither_an_object_nor_a_string_is_refused_and_list_elements_are_never_split() {
    // Review defect 6: a JSON array was read as plain text (tokens `["tok1"` and `"tok2"]`),
    // and a comma inside a list element split it into short tokens that became valid keys.
    for doc in [
        r#"["tok1","tok2"]"#,
        "42",
        "true",
        "null",
        r#"["tok1""#,
        r#"{"salesloft":"#,
    ] {
        assert!(
            matches!(parse_secret_document(doc), Err(SecretError::Invalid(_))),
            "{doc}"
        );
    }
    let s = parse_secret_document(r#"{"salesloft":["a,b"]}"#).unwrap();
    let keys = s.get(Provider::Salesloft);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].secret().expose(), b"a,b");
    // A plain string keeps meaning a comma-separated list.
    assert_eq!(
        parse_secret_document(r#"{"salesloft":"a, b"}"#)
            .unwrap()
            .get(Provider::Salesloft)
            .len(),
        2
    );
}

#[test]
fn salesloft_tokens_can_be_bound_to_their_event_types_in_the_document() {
    let s = parse_secret_document(
        r#"{"salesloft":{"person_updated":["tok1"],"person_deleted":"tok3","*":["tok2"]}}"#,
    )
    .unwrap();
    let v = s.verifier(&SenderSettings::default());
    let signed = |token: &str, event_type: &str| {
        Headers::from_pairs([
            (
                SALESLOFT_SIGNATURE.to_string(),
                salesloft_signature(token.as_bytes(), b"{}"),
            ),
            (SALESLOFT_EVENT.to_string(), event_type.to_string()),
        ])
    };
    let ok = |token, t| {
        v.verify(Provider::Salesloft, b"{}", &signed(token, t), 0)
            .is_ok()
    };
    assert!(ok("tok1", "person_updated"));
    assert!(
        !ok("tok1", "person_deleted"),
        "a bound token must not verify another type"
    );
    assert!(ok("tok3", "person_deleted"));
    assert!(ok("tok2", "person_deleted") && ok("tok2", "anything_else"));
    // Only a sender whose type is unsigned binds; bad types are refused without echoing.
    for doc in [
        r#"{"salesos":{"lead.created":["topsecret"]}}"#,
        r#"{"salesloft":{"bad type":["topsecret"]}}"#,
        r#"{"salesloft":{"person_updated":[1]}}"#,
    ] {
        let err = parse_secret_document(doc).unwrap_err().to_string();
        assert!(!err.contains("topsecret"), "{err}");
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
async fn without_any_keys_the_store_is_retried_after_a_backoff_and_nothing_is_served_until_then() {
    let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["tok"]}"#));
    store.set(None);
    let k = keyring(&store).await;
    assert!(k.current(T0 + 1).await.is_none());
    // Unknown yet: answered 503 (retry), not 404.
    assert!(k.serves(Provider::SalesOs));
    store.set(Some(r#"{"salesloft":["tok"]}"#));
    // Within the first backoff (one second) nothing is read.
    assert!(k.current(T0 + 999).await.is_none());
    assert_eq!(store.reads(), 1);
    assert!(accepts(&k.current(T0 + 1_000).await.unwrap(), "tok"));
    assert_eq!(store.reads(), 2);
}

#[tokio::test]
async fn a_hundred_requests_while_no_keys_are_loaded_do_not_make_a_hundred_reads() {
    // Review defect 4: with no usable keys every request read the store (100 forged
    // requests made 101 reads). Both ways of having no keys: the read fails, or the secret
    // holds none.
    for broken in [None, Some("{}")] {
        let store = Arc::new(MemorySecretStore::new(r#"{"salesloft":["tok"]}"#));
        store.set(broken);
        let k = keyring(&store).await;
        // 100 requests over ten seconds.
        for i in 0..100 {
            assert!(k.current(T0 + i * 100).await.is_none());
            assert!(k.refresh_after_failure(T0 + i * 100).await.is_none());
        }
        // Backoff doubling from one second: reads at 0, 1, 3 and 7 s.
        assert_eq!(store.reads(), 4, "{broken:?}");
        // It never backs off longer than the retry interval (a minute).
        for i in 0..20 {
            k.current(T0 + 10_000 + i * 60_000).await;
        }
        assert!(store.reads() >= 4 + 19, "{}", store.reads());
        store.set(Some(r#"{"salesloft":["tok"]}"#));
        let late = T0 + 10_000 + 21 * 60_000;
        assert!(accepts(&k.current(late).await.unwrap(), "tok"));
    }
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
