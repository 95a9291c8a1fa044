//! IVS Real-Time resources the tests set up through aws-sdk-ivsrealtime before the calls they
//! are about: stages, participant tokens, the encoder and storage configurations a composition
//! needs, and a composition's S3 destination.

use aws_sdk_ivsrealtime::types::{
    DestinationConfiguration, S3DestinationConfiguration, S3StorageConfiguration,
};
use aws_sdk_ivsrealtime::Client;

/// Creates a stage with Real-Time's defaults and returns its ARN.
pub async fn new_stage(rt: &Client) -> String {
    rt.create_stage()
        .send()
        .await
        .unwrap()
        .stage()
        .unwrap()
        .arn()
        .to_owned()
}

/// Creates a participant token for `stage`: the token and its participant id.
pub async fn new_token(rt: &Client, stage: &str) -> (String, String) {
    let token = rt
        .create_participant_token()
        .stage_arn(stage)
        .send()
        .await
        .unwrap();
    let token = token.participant_token().unwrap();
    (
        token.token().unwrap().to_owned(),
        token.participant_id().unwrap().to_owned(),
    )
}

/// Creates an encoder configuration, named `name` if given, with Real-Time's defaults otherwise;
/// returns its ARN.
pub async fn new_encoder(rt: &Client, name: Option<&str>) -> String {
    rt.create_encoder_configuration()
        .set_name(name.map(str::to_owned))
        .send()
        .await
        .unwrap()
        .encoder_configuration()
        .unwrap()
        .arn()
        .to_owned()
}

/// Creates a storage configuration writing to the S3 bucket `bucket`, named `name` if given;
/// returns its ARN.
pub async fn new_storage(rt: &Client, bucket: &str, name: Option<&str>) -> String {
    rt.create_storage_configuration()
        .set_name(name.map(str::to_owned))
        .s3(S3StorageConfiguration::builder()
            .bucket_name(bucket)
            .build()
            .unwrap())
        .send()
        .await
        .unwrap()
        .storage_configuration()
        .unwrap()
        .arn()
        .to_owned()
}

/// A composition destination recording to S3 through `storage` with `encoder`.
pub fn s3_destination(storage: &str, encoder: &str) -> DestinationConfiguration {
    DestinationConfiguration::builder()
        .s3(S3DestinationConfiguration::builder()
            .storage_configuration_arn(storage)
            .encoder_configuration_arns(encoder)
            .build()
            .unwrap())
        .build()
}
