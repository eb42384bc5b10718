//! [`SpoolStore`] on S3: one object per spooled delivery in the stack's bucket.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::{SpoolError, SpoolFuture, SpoolStore};

/// An S3 client for the spool: path-style addressing when an endpoint is configured (the
/// local stack), virtual-hosted (AWS's default) otherwise.
pub fn client(aws: &aws_config::SdkConfig) -> Client {
    let config = aws_sdk_s3::config::Builder::from(aws)
        .force_path_style(aws.endpoint_url().is_some())
        .build();
    Client::from_conf(config)
}

/// The S3 adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Spool {
    client: Client,
    bucket: String,
}

impl S3Spool {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }
}

fn unavailable(err: impl std::error::Error) -> SpoolError {
    SpoolError(DisplayErrorContext(&err).to_string())
}

impl SpoolStore for S3Spool {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> SpoolFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .content_type("application/json")
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> SpoolFuture<'a, Vec<String>> {
        Box::pin(async move {
            let mut objects = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(unavailable)?;
                for object in page.contents() {
                    if let Some(key) = object.key() {
                        let modified = object.last_modified().map(|t| t.as_nanos()).unwrap_or(0);
                        objects.push((modified, key.to_string()));
                    }
                }
                match page.next_continuation_token() {
                    Some(next) if page.is_truncated().unwrap_or(false) => {
                        token = Some(next.to_string())
                    }
                    _ => break,
                }
            }
            // Oldest first, so a backlog drains in arrival order.
            objects.sort();
            Ok(objects.into_iter().map(|(_, key)| key).collect())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let output = match self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(output) => output,
                Err(err) => {
                    return match err.as_service_error() {
                        Some(e) if e.is_no_such_key() => Ok(None),
                        _ => Err(unavailable(err)),
                    }
                }
            };
            let bytes = output.body.collect().await.map_err(unavailable)?;
            Ok(Some(bytes.into_bytes().to_vec()))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> SpoolFuture<'a, ()> {
        Box::pin(async move {
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map(|_| ())
                .map_err(unavailable)
        })
    }
}
