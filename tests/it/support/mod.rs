//! Helpers shared by the black-box tests: fixture paths and a real aws-sdk-ivs client.
#![allow(dead_code)]

pub mod bin;
pub mod fake_ivs;
pub mod faults;
pub mod keys;
pub mod model;
pub mod raw;
pub mod rules;
pub mod stages;
pub mod verify;
pub mod webhook;

use std::path::PathBuf;

use aws_sdk_ivs::config::{BehaviorVersion, Credentials, Region};
use ivs_vcr::{RecordServer, RecordServerBuilder};

use fake_ivs::OperatorCredentials;

/// The fixed, fake credentials every test signs with.
pub const ACCESS_KEY: &str = "AKIDEXAMPLE";
/// The secret of [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// The operator's credentials in record tests: not the downstream client's, and with a session
/// token, so that a leak of any of the three is caught.
pub const OPERATOR_KEY: &str = "ASIAOPERATOREXAMPLE1";
/// The secret of [`OPERATOR_KEY`].
pub const OPERATOR_SECRET: &str = "operatorSecretKeyEXAMPLEoperatorSecretKey";
/// The session token of [`OPERATOR_KEY`].
pub const OPERATOR_TOKEN: &str = "FQoGZXIvYXdzOPERATORTOKEN//+==";

/// The operator's credentials, for the fake IVS to check and the recorder to sign with.
pub fn operator() -> OperatorCredentials {
    OperatorCredentials {
        access_key: OPERATOR_KEY.into(),
        secret_key: OPERATOR_SECRET.into(),
        session_token: Some(OPERATOR_TOKEN.into()),
    }
}

/// A recorder forwarding to `upstream` and signing with [`operator`]; tests add what they vary.
pub fn recorder(dir: &std::path::Path, upstream: &str) -> RecordServerBuilder {
    RecordServer::builder(dir)
        .upstream(upstream)
        .credentials(operator().provider())
}

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// An IVS client for `endpoint`, signing as a test user in `region`, without retries so every
/// answer is seen exactly once.
pub fn ivs_client(endpoint: &str, region: &str) -> aws_sdk_ivs::Client {
    ivs_client_as(endpoint, region, ACCESS_KEY)
}

/// [`ivs_client`] signing with the access key id `access_key` (which picks the emulator's account).
pub fn ivs_client_as(endpoint: &str, region: &str, access_key: &str) -> aws_sdk_ivs::Client {
    let config = aws_sdk_ivs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            SECRET_KEY,
            None,
            None,
            "ivs-vcr-tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_ivs::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ivs::Client::from_conf(config)
}

/// Creates an IVS Chat logging configuration delivering to the S3 bucket `chat-logs`, named
/// `name` if given (a replayed test must send what was recorded, name or none).
pub async fn create_s3_logging(
    chat: &aws_sdk_ivschat::Client,
    name: Option<&str>,
) -> aws_sdk_ivschat::operation::create_logging_configuration::CreateLoggingConfigurationOutput {
    use aws_sdk_ivschat::types::{DestinationConfiguration, S3DestinationConfiguration};
    chat.create_logging_configuration()
        .set_name(name.map(str::to_owned))
        .destination_configuration(DestinationConfiguration::S3(
            S3DestinationConfiguration::builder()
                .bucket_name("chat-logs")
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
}

/// An IVS Chat client for `endpoint`, signing as a test user in `region` (as `ivschat`), without
/// retries.
pub fn chat_client(endpoint: &str, region: &str) -> aws_sdk_ivschat::Client {
    chat_client_as(endpoint, region, ACCESS_KEY)
}

/// [`chat_client`] signing with the access key id `access_key` (which picks the emulator's account).
pub fn chat_client_as(endpoint: &str, region: &str, access_key: &str) -> aws_sdk_ivschat::Client {
    let config = aws_sdk_ivschat::Config::builder()
        .behavior_version(aws_sdk_ivschat::config::BehaviorVersion::latest())
        .region(aws_sdk_ivschat::config::Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            SECRET_KEY,
            None,
            None,
            "ivs-vcr-tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_ivschat::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ivschat::Client::from_conf(config)
}

/// An IVS Real-Time client for `endpoint`, signing as a test user in `region` (as `ivs`, as
/// Real-Time signs), without retries.
pub fn realtime_client(endpoint: &str, region: &str) -> aws_sdk_ivsrealtime::Client {
    realtime_client_as(endpoint, region, ACCESS_KEY)
}

/// [`realtime_client`] signing with the access key id `access_key` (which picks the emulator's account).
pub fn realtime_client_as(
    endpoint: &str,
    region: &str,
    access_key: &str,
) -> aws_sdk_ivsrealtime::Client {
    let config = aws_sdk_ivsrealtime::Config::builder()
        .behavior_version(aws_sdk_ivsrealtime::config::BehaviorVersion::latest())
        .region(aws_sdk_ivsrealtime::config::Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            access_key,
            SECRET_KEY,
            None,
            None,
            "ivs-vcr-tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(aws_sdk_ivsrealtime::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_ivsrealtime::Client::from_conf(config)
}

/// Creates a channel with IVS's defaults and returns its ARN.
pub async fn new_channel(ivs: &aws_sdk_ivs::Client) -> String {
    let created = ivs
        .create_channel()
        .send()
        .await
        .expect("CreateChannel answers");
    created
        .channel()
        .and_then(|c| c.arn())
        .expect("a created channel has an ARN")
        .to_owned()
}

/// The error code and message of a failed call, or a panic naming what succeeded.
pub fn failure<
    T: std::fmt::Debug,
    E: aws_sdk_ivs::error::ProvideErrorMetadata + std::fmt::Debug,
>(
    result: Result<T, E>,
) -> (String, String) {
    let err = result.expect_err("the call should fail");
    (
        err.code().unwrap_or_default().to_owned(),
        err.message().unwrap_or_default().to_owned(),
    )
}
