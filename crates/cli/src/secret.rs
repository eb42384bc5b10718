//! The function's secret document, as the CLI reads and rewrites it, and the Secrets Manager
//! secret that holds it.
//!
//! The document is exactly what the function reads (`salesloft_webhooks::secrets::
//! parse_secret_document`): every text read is validated by that parser before anything is
//! changed, and every text written is parsed by it again before it is sent. The CLI writes
//! Salesloft's tokens in the per-type form, each under its event type:
//! `{"salesloft": {"person_updated": ["tok1"], "*": ["tok2"]}, "salesos": …}`. Tokens that
//! serve every type (the plain forms, or `"*"`) are kept under `"*"`; the other senders'
//! members are kept as they are.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;
use salesloft_webhooks::secrets::parse_secret_document;
use salesloft_webhooks::senders::Provider;
use serde_json::{Map, Value};

use crate::error::CliError;
use crate::token::Token;

/// The member name of Salesloft's tokens.
pub fn salesloft_member() -> &'static str {
    Provider::Salesloft.document_keys()[0]
}

/// How the secret accepts a token for an event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Bound to this event type: verifies deliveries of this type only.
    Bound,
    /// Serves every type (`"*"` or a plain list): verifies, but a captured delivery could be
    /// replayed under another type.
    Shared,
    /// Not accepted: the function answers 401 to deliveries signed with it.
    No,
}

/// The secret document: Salesloft's tokens by event type, and the other members untouched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// Tokens bound to an event type, in the order listed.
    bound: BTreeMap<String, Vec<Token>>,
    /// Tokens serving every event type.
    any: Vec<Token>,
    /// The other senders' members, as they were.
    others: Map<String, Value>,
}

impl Document {
    /// Reads the text of the secret. It must be a document the function accepts; anything
    /// else is refused (and never rewritten). Errors never quote the text.
    pub fn parse(text: &str) -> Result<Self, CliError> {
        parse_secret_document(text).map_err(|e| {
            CliError::new(format!(
                "the secret is not a document the function accepts ({e}); fix it before running this command"
            ))
        })?;
        let trimmed = text.trim();
        let mut doc = Document::default();
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(object)) => {
                let mut seen = false;
                for (member, value) in object {
                    if Provider::for_document_key(&member) != Some(Provider::Salesloft) {
                        doc.others.insert(member, value);
                        continue;
                    }
                    if seen {
                        return Err(CliError::new(
                            "the secret has more than one Salesloft member; keep one",
                        ));
                    }
                    seen = true;
                    doc.read_salesloft(&value);
                }
            }
            Ok(Value::String(s)) => doc.any = split_list(&s),
            // The parser accepted it, so this is plain text: comma-separated tokens.
            Err(_) => doc.any = split_list(trimmed),
            Ok(_) => unreachable!("parse_secret_document refuses other JSON"),
        }
        Ok(doc)
    }

    /// Salesloft's member, in any of the forms the function reads.
    fn read_salesloft(&mut self, value: &Value) {
        // A string or a list of strings, each element one token (as the function's reader).
        fn list(value: &Value) -> Vec<Token> {
            let items: Vec<&str> = match value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            items
                .into_iter()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Token::new)
                .collect()
        }
        match value {
            Value::String(s) => self.any = split_list(s),
            Value::Array(_) => self.any = list(value),
            Value::Object(map) => {
                for (event_type, tokens) in map {
                    let tokens = list(tokens);
                    if event_type == "*" {
                        self.any.extend(tokens);
                    } else if !tokens.is_empty() {
                        self.bound
                            .entry(event_type.clone())
                            .or_default()
                            .extend(tokens);
                    }
                }
            }
            _ => {}
        }
    }

    /// The document's text: Salesloft's tokens in the per-type form, the other members as
    /// they were; checked with the function's own parser.
    pub fn to_text(&self) -> Result<String, CliError> {
        let mut object = self.others.clone();
        let mut salesloft = Map::new();
        for (event_type, tokens) in &self.bound {
            if !tokens.is_empty() {
                salesloft.insert(event_type.clone(), tokens_value(tokens));
            }
        }
        if !self.any.is_empty() {
            salesloft.insert("*".into(), tokens_value(&self.any));
        }
        if !salesloft.is_empty() {
            object.insert(salesloft_member().into(), Value::Object(salesloft));
        }
        let text = Value::Object(object).to_string();
        parse_secret_document(&text).map_err(|e| {
            CliError::new(format!(
                "internal error: the document to write would not be read by the function ({e}); nothing written"
            ))
        })?;
        Ok(text)
    }

    /// How the secret accepts `token` for `event_type`.
    pub fn accepts(&self, event_type: &str, token: &Token) -> Acceptance {
        if self.bound_tokens(event_type).contains(token) {
            Acceptance::Bound
        } else if self.any.contains(token) {
            Acceptance::Shared
        } else {
            Acceptance::No
        }
    }

    /// The tokens bound to `event_type`.
    pub fn bound_tokens(&self, event_type: &str) -> &[Token] {
        self.bound
            .get(event_type)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The event types that have bound tokens.
    pub fn bound_types(&self) -> impl Iterator<Item = &str> {
        self.bound.keys().map(String::as_str)
    }

    /// The tokens that serve every event type.
    pub fn shared_tokens(&self) -> &[Token] {
        &self.any
    }

    /// Binds `token` to `event_type`, after the tokens already there.
    pub fn add(&mut self, event_type: &str, token: Token) {
        let tokens = self.bound.entry(event_type.to_string()).or_default();
        if !tokens.contains(&token) {
            tokens.push(token);
        }
    }

    /// Removes `token` from `event_type`'s bound tokens; true if it was there.
    pub fn remove(&mut self, event_type: &str, token: &Token) -> bool {
        let Some(tokens) = self.bound.get_mut(event_type) else {
            return false;
        };
        let before = tokens.len();
        tokens.retain(|t| t != token);
        let removed = tokens.len() != before;
        if tokens.is_empty() {
            self.bound.remove(event_type);
        }
        removed
    }

    /// Every whole token in the document (to keep them out of any text shown).
    pub fn all_tokens(&self) -> Vec<&Token> {
        self.bound.values().flatten().chain(&self.any).collect()
    }
}

fn tokens_value(tokens: &[Token]) -> Value {
    Value::Array(
        tokens
            .iter()
            .map(|t| Value::String(t.expose().to_string()))
            .collect(),
    )
}

/// A comma-separated list, as the function splits it (trimmed, empty entries dropped).
fn split_list(text: &str) -> Vec<Token> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(Token::new)
        .collect()
}

/// The secret as read: its document and the version it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub document: Document,
    pub version_id: Option<String>,
}

/// The stack's Secrets Manager secret (`--secret-id`: its ARN or name).
#[derive(Debug, Clone)]
pub struct SecretStore {
    client: Client,
    secret_id: String,
}

impl SecretStore {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }

    /// Reads and validates the secret. A missing secret is an error: the stack creates it.
    pub async fn read(&self) -> Result<Loaded, CliError> {
        let (text, version_id) = self.read_text().await?;
        Ok(Loaded {
            document: Document::parse(&text)?,
            version_id,
        })
    }

    async fn read_text(&self) -> Result<(String, Option<String>), CliError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception())
                {
                    CliError::new(format!(
                        "secret {:?} not found in Secrets Manager: pass the stack's SenderSecretArn as --secret-id (and check AWS_REGION)",
                        self.secret_id
                    ))
                } else {
                    aws_error("read", &self.secret_id, &e)
                }
            })?;
        let text = out.secret_string().ok_or_else(|| {
            CliError::new(format!(
                "secret {:?} has no SecretString (the function reads only a string)",
                self.secret_id
            ))
        })?;
        Ok((text.to_string(), out.version_id().map(str::to_string)))
    }

    /// Writes `document` as the secret's new current version, unless the secret changed
    /// since `read` (then nothing is written: run the command again). Returns the new
    /// version's id.
    pub async fn write(&self, read: &Loaded, document: &Document) -> Result<Loaded, CliError> {
        let text = document.to_text()?;
        let (_, current) = self.read_text().await?;
        if current != read.version_id {
            return Err(CliError::new(format!(
                "secret {:?} changed while this command ran; nothing written to it: run the command again",
                self.secret_id
            )));
        }
        let out = self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(text)
            .send()
            .await
            .map_err(|e| aws_error("write", &self.secret_id, &e))?;
        Ok(Loaded {
            document: document.clone(),
            version_id: out.version_id().map(str::to_string),
        })
    }
}

/// One line for a failed Secrets Manager call: unreachable, or what the service said.
fn aws_error<E, R>(action: &str, secret_id: &str, err: &SdkError<E, R>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let reason = if matches!(err, SdkError::TimeoutError(_)) {
                "timed out".to_string()
            } else {
                // The innermost cause says what happened (e.g. "Connection refused").
                let mut source: &dyn std::error::Error = err;
                while let Some(next) = source.source() {
                    source = next;
                }
                source.to_string()
            };
            CliError::new(format!(
                "cannot reach Secrets Manager to {action} secret {secret_id:?} ({reason}): check AWS_REGION, AWS_ENDPOINT_URL, the credentials and the network"
            ))
        }
        SdkError::ServiceError(service) => {
            let e = service.err();
            CliError::new(format!(
                "Secrets Manager refused to {action} secret {secret_id:?}: {}: {}",
                e.code().unwrap_or("error"),
                e.message().unwrap_or("no message")
            ))
        }
        _ => {
            let mut source: &dyn std::error::Error = err;
            while let Some(next) = source.source() {
                source = next;
            }
            CliError::new(format!(
                "the Secrets Manager call to {action} secret {secret_id:?} failed ({source}): check AWS_REGION and the credentials"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesloft_webhooks::headers::Headers;
    use salesloft_webhooks::senders::salesloft::{sign, SALESLOFT_EVENT, SALESLOFT_SIGNATURE};
    use salesloft_webhooks::senders::SenderSettings;

    /// Whether the function, having read `text`, verifies a delivery of `event_type` signed
    /// with `token`.
    fn verifies(text: &str, event_type: &str, token: &str) -> bool {
        let keys = parse_secret_document(text).unwrap();
        let verifier = keys.verifier(&SenderSettings::default());
        let body = br#"{"id":1}"#;
        let headers = Headers::from_pairs([
            (
                SALESLOFT_SIGNATURE.to_string(),
                sign(token.as_bytes(), body),
            ),
            (SALESLOFT_EVENT.to_string(), event_type.to_string()),
        ]);
        verifier
            .verify(Provider::Salesloft, body, &headers, 0)
            .is_ok()
    }

    #[test]
    fn every_form_the_function_reads_is_read_with_the_same_meaning() {
        for text in [
            "tokA, tokB",
            r#""tokA,tokB""#,
            r#"{"salesloft":"tokA,tokB"}"#,
            r#"{"salesloft":["tokA","tokB"]}"#,
            r#"{"salesloft":{"*":["tokA","tokB"]}}"#,
        ] {
            let doc = Document::parse(text).unwrap();
            assert_eq!(
                doc.shared_tokens(),
                [Token::new("tokA"), Token::new("tokB")]
            );
            assert_eq!(
                doc.accepts("person_updated", &Token::new("tokB")),
                Acceptance::Shared
            );
            // Rewritten, it still means the same to the function.
            let out = doc.to_text().unwrap();
            assert_eq!(out, r#"{"salesloft":{"*":["tokA","tokB"]}}"#, "{text}");
            assert!(verifies(&out, "note_created", "tokA"));
        }
        // In the per-type form a string is one token, never split.
        let doc = Document::parse(r#"{"salesloft":{"person_updated":"a,b"}}"#).unwrap();
        assert_eq!(doc.bound_tokens("person_updated"), [Token::new("a,b")]);
    }

    #[test]
    fn other_members_are_kept_and_bound_tokens_verify_only_their_type() {
        let text = r#"{"salesos":"s1,s2","standard_webhooks":["whsec_c3dfdGVzdF9zZWNyZXRfMDEyMzQ1Njc4OWFiY2RlZg=="],"salesloft":{"person_updated":["old"],"*":["shared"]}}"#;
        let mut doc = Document::parse(text).unwrap();
        doc.add("person_updated", Token::new("new"));
        doc.add("person_deleted", Token::new("del"));
        let out = doc.to_text().unwrap();
        let value: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["salesos"], "s1,s2");
        assert_eq!(value["standard_webhooks"][0].as_str().unwrap().len(), 50);
        assert_eq!(
            value["salesloft"]["person_updated"],
            serde_json::json!(["old", "new"])
        );
        assert!(verifies(&out, "person_updated", "old"));
        assert!(verifies(&out, "person_updated", "new"));
        assert!(!verifies(&out, "person_deleted", "new"));
        assert!(verifies(&out, "person_deleted", "del"));
        assert!(verifies(&out, "person_deleted", "shared"));
        assert_eq!(
            doc.accepts("person_updated", &Token::new("new")),
            Acceptance::Bound
        );
        assert_eq!(
            doc.accepts("person_deleted", &Token::new("new")),
            Acceptance::No
        );

        assert!(doc.remove("person_updated", &Token::new("old")));
        assert!(!doc.remove("person_updated", &Token::new("old")));
        assert!(doc.remove("person_deleted", &Token::new("del")));
        let out = doc.to_text().unwrap();
        assert!(!verifies(&out, "person_updated", "old"));
        assert!(verifies(&out, "person_updated", "new"));
        assert!(!out.contains("person_deleted"), "{out}");
    }

    #[test]
    fn an_empty_document_stays_valid_and_the_member_goes_when_empty() {
        let mut doc = Document::parse("{}").unwrap();
        assert_eq!(doc.to_text().unwrap(), "{}");
        doc.add("person_updated", Token::new("t"));
        assert_eq!(
            doc.to_text().unwrap(),
            r#"{"salesloft":{"person_updated":["t"]}}"#
        );
        doc.remove("person_updated", &Token::new("t"));
        assert_eq!(doc.to_text().unwrap(), "{}");
    }

    #[test]
    fn a_document_the_function_refuses_is_refused_without_quoting_it() {
        for text in [
            r#"{"salesloft":["sekrit"],"unknown":"x"}"#,
            r#"[1,2]"#,
            r#"{"salesloft":{"bad type!":["sekrit"]}}"#,
            r#"{"salesloft": ["sekrit""#,
        ] {
            let err = Document::parse(text).unwrap_err();
            assert!(!err.to_string().contains("sekrit"), "{err}");
        }
    }
}
