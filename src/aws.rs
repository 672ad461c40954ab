//! The AWS side: one tokio runtime and one SDK configuration per run, built from the
//! standard credential chain and the AWS CLI flags (`--profile`, `--region`,
//! `--endpoint-url`). Everything async stays behind this module and its siblings.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The AWS CLI-style connection flags.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// A runtime and a loaded configuration, shared by every AWS-facing part of a run.
pub struct AwsContext {
    runtime: tokio::runtime::Runtime,
    pub config: SdkConfig,
    pub options: AwsOptions,
}

impl AwsContext {
    pub fn new(options: AwsOptions) -> Result<AwsContext> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("trailwhy-aws")
            .enable_all()
            .build()
            .map_err(|e| anyhow!("cannot start the AWS runtime: {e}"))?;
        let config = runtime.block_on(async {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .retry_config(
                    RetryConfig::standard()
                        .with_max_attempts(5)
                        .with_initial_backoff(Duration::from_millis(200)),
                )
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(10))
                        .read_timeout(Duration::from_secs(60))
                        .build(),
                );
            if let Some(p) = &options.profile {
                loader = loader.profile_name(p);
            }
            if let Some(r) = &options.region {
                loader = loader.region(Region::new(r.clone()));
            }
            if let Some(e) = &options.endpoint_url {
                loader = loader.endpoint_url(e);
            }
            loader.load().await
        });
        Ok(AwsContext {
            runtime,
            config,
            options,
        })
    }

    /// Fails with one line a person can act on when no usable AWS credentials can be loaded,
    /// before any request is made (every remote SOURCE and live lookup needs them).
    pub fn check_credentials(&self) -> Result<()> {
        use aws_credential_types::provider::ProvideCredentials;
        let Some(provider) = self.config.credentials_provider() else {
            return Err(anyhow!(
                "no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ));
        };
        match self.block_on(provider.provide_credentials()) {
            Ok(_) => Ok(()),
            Err(e) => Err(anyhow!(
                "{}",
                credentials_error(&e)
                    .unwrap_or_else(|| format!("the AWS credentials could not be loaded: {e}"))
            )),
        }
    }

    /// Runs a future to completion on the runtime (from plain threads only).
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Spawns a task on the runtime.
    pub fn spawn<F>(&self, f: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(f)
    }

    /// The region the clients use: the flag, the profile, the environment, else us-east-1.
    pub fn region(&self) -> String {
        self.config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string())
    }

    /// An SQS client (`watch`), in `region` when given.
    pub fn sqs(&self, region: Option<&str>) -> aws_sdk_sqs::Client {
        let mut b = aws_sdk_sqs::config::Builder::from(&self.config);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_sqs::Client::from_conf(b.build())
    }

    /// An S3 client; path-style addressing when an endpoint is given (local servers).
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.config);
        if self.options.endpoint_url.is_some() {
            b = b.force_path_style(true);
        }
        if let Some(r) = region {
            b = b.region(Region::new(r.to_owned()));
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }
}

/// Keeps the body of a successful response, for a document the project reads with its own
/// parser rather than the SDK's typed model (`--codebuild-live`'s BatchGetBuilds, whose
/// timestamps local servers write in another form; `--aws-details`' policy call, which the
/// SDK does not model). A body the typed model could not read ends the call with
/// [`BodyTaken`] instead of being retried as a transient error.
#[derive(Debug, Clone, Default)]
pub struct KeepBody(Arc<Mutex<Option<Vec<u8>>>>);

impl KeepBody {
    /// The body kept, if a successful response came.
    pub fn take(&self) -> Option<Vec<u8>> {
        self.0.lock().ok().and_then(|mut b| b.take())
    }
}

/// The typed model could not read a body [`KeepBody`] has kept: stop here rather than retry.
#[derive(Debug)]
pub struct BodyTaken;

impl std::fmt::Display for BodyTaken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response body taken for the tool's own parser")
    }
}

impl std::error::Error for BodyTaken {}

impl Intercept for KeepBody {
    fn name(&self) -> &'static str {
        "trailwhy-keep-body"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if !response.status().is_success() {
            return Ok(());
        }
        let Some(bytes) = response.body().bytes() else {
            return Ok(());
        };
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(bytes.to_vec());
        }
        match context.output_or_error() {
            Err(e) if e.is_response_error() => Err(Box::new(BodyTaken)),
            _ => Ok(()),
        }
    }
}

/// One readable line for an SDK error: the service's code and message when there is one,
/// else the transport problem, with the hint a user needs (credentials, permissions).
pub fn describe_sdk_error<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>, permission: &str) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let code = e.code().unwrap_or("unknown error");
            let msg = e.message().unwrap_or_default();
            match code {
                "AccessDenied" | "AccessDeniedException" | "Forbidden" => {
                    format!(
                        "access denied ({permission} is needed){}",
                        if msg.is_empty() {
                            String::new()
                        } else {
                            format!(": {msg}")
                        }
                    )
                }
                "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => {
                    "the AWS credentials have expired: refresh them (e.g. aws sso login) and retry"
                        .to_owned()
                }
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "UnrecognizedClientException"
                | "InvalidClientTokenId" => {
                    format!("the AWS credentials were rejected ({code})")
                }
                _ if msg.is_empty() => code.to_owned(),
                _ => format!("{code}: {msg}"),
            }
        }
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            if let Some(c) = credentials_error(err) {
                return c;
            }
            let mut cause = String::new();
            let mut src: Option<&(dyn std::error::Error + 'static)> =
                std::error::Error::source(err);
            while let Some(e) = src {
                cause = e.to_string();
                src = e.source();
            }
            if cause.contains("A region must be set") {
                return "no AWS region is set: pass --region, set AWS_REGION, or use a --profile that has one".to_owned();
            }
            format!("cannot reach the endpoint: {cause}")
        }
        SdkError::TimeoutError(_) => "the request timed out".to_owned(),
        SdkError::ResponseError(r) => format!("unreadable response: {r:?}"),
        other => format!("{other}"),
    }
}

/// The credentials problem behind an SDK error, in words, if that is what it is.
fn credentials_error(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = src {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::CredentialsNotLoaded(_) => {
                    "no AWS credentials found: set AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned()
                }
                CredentialsError::ProviderTimedOut(_) => "loading the AWS credentials timed out".to_owned(),
                other => {
                    let inner = std::error::Error::source(other).map(|s| s.to_string()).unwrap_or_default();
                    format!("the AWS credentials could not be loaded: {other} {inner}").trim_end().to_owned()
                }
            });
        }
        src = e.source();
    }
    None
}
