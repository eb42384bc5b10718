//! [`SecretStore`] on AWS Secrets Manager: one `GetSecretValue` of the configured secret.

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use aws_sdk_secretsmanager::Client;

use super::{parse_secret_document, FetchFuture, SecretError, SecretStore};

/// Reads the sender secrets from one Secrets Manager secret (ARN or name).
#[derive(Debug, Clone)]
pub struct SecretsManagerSecretStore {
    client: Client,
    secret_id: String,
}

impl SecretsManagerSecretStore {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        Self {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl SecretStore for SecretsManagerSecretStore {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let output = self
                .client
                .get_secret_value()
                .secret_id(&self.secret_id)
                .send()
                .await
                .map_err(|e| SecretError::Unavailable(DisplayErrorContext(&e).to_string()))?;
            let text = output
                .secret_string()
                .ok_or_else(|| SecretError::Invalid("the secret has no SecretString".into()))?;
            parse_secret_document(text)
        })
    }
}
