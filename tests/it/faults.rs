//! Injected faults and the control plane, seen by aws-sdk-ivs with its real retry logic: in
//! emulation, in replay and in record (where a fault answers before forwarding, never recorded).

use std::time::Duration;

use aws_sdk_ivs::config::retry::RetryConfig;
use aws_sdk_ivs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use ivs_vcr::__private::FaultRule;
use ivs_vcr::ReplayServer;

use crate::support::fake_ivs::FakeIvs;
use crate::support::{ivs_client, operator, raw, recorder, ACCESS_KEY, SECRET_KEY};

/// A client that retries as aws-sdk-rust does by default (standard mode, 3 attempts), with a
/// backoff short enough for a test.
fn retrying_client(endpoint: &str) -> aws_sdk_ivs::Client {
    let config = aws_sdk_ivs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .build();
    aws_sdk_ivs::Client::from_conf(config)
}

async fn faults_listing(addr: std::net::SocketAddr) -> serde_json::Value {
    let response = raw::call(addr, "GET", "/_ivs-vcr/faults").await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

#[tokio::test]
async fn retries_absorb_two_throttles_and_a_third_surfaces_as_the_typed_error() {
    // BatchStartViewerSessionRevocation is one of the operations whose model lists
    // ThrottlingException, so aws-sdk-ivs has a typed variant for it.
    let server = ReplayServer::emulator().await;
    let ivs = retrying_client(&server.uri());
    let revoke = || {
        ivs.batch_start_viewer_session_revocation().viewer_sessions(
            aws_sdk_ivs::types::BatchStartViewerSessionRevocationViewerSession::builder()
                .channel_arn("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh")
                .viewer_id("viewer-1")
                .build()
                .unwrap(),
        )
    };
    let rule = r#"{"operation": "BatchStartViewerSessionRevocation", "error": "ThrottlingException", "times": 2}"#;
    let added = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(added.status, 201, "{}", added.body);
    // Two throttles, then the real answer: the SDK's third attempt succeeds.
    let answer = revoke().send().await.unwrap();
    assert_eq!(
        answer.errors().len(),
        1,
        "the channel does not exist: {answer:?}"
    );
    assert_eq!(
        faults_listing(server.addr()).await["faults"][0]["remaining"],
        0
    );

    let rule = r#"{"operation": "BatchStartViewerSessionRevocation", "error": "ThrottlingException", "times": 5, "retry_after_ms": 1}"#;
    assert_eq!(
        raw::post(server.addr(), "/_ivs-vcr/faults", rule)
            .await
            .status,
        201
    );
    let err = revoke().send().await.unwrap_err().into_service_error();
    assert!(err.is_throttling_exception(), "{err:?}");
    assert!(err
        .message()
        .unwrap()
        .contains("ThrottlingException injected by ivs-vcr fault #"));
    // Three attempts spent three of the five uses.
    assert_eq!(
        faults_listing(server.addr()).await["faults"][1]["remaining"],
        2
    );

    // Other operations are untouched, and DELETE clears every rule.
    ivs.list_channels().send().await.unwrap();
    assert_eq!(
        raw::call(server.addr(), "DELETE", "/_ivs-vcr/faults")
            .await
            .status,
        200
    );
    revoke().send().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_for_the_sdk() {
    let server = ReplayServer::builder()
        .fault(FaultRule::from_cli("operation=GetChannel,connection=reset").unwrap())
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let err = ivs
        .get_channel()
        .arn("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_ivs::error::SdkError::DispatchFailure(_)
                | aws_sdk_ivs::error::SdkError::ResponseError(_)
        ),
        "{err:?}"
    );
    // The server is fine afterwards.
    ivs.list_channels().send().await.unwrap();
}

#[tokio::test]
async fn summary_reports_emulated_and_unmatched_requests_as_json() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    ivs.create_channel().send().await.unwrap();
    ivs.list_channels().send().await.unwrap();
    let summary: serde_json::Value = serde_json::from_str(
        &raw::call(server.addr(), "GET", "/_ivs-vcr/summary")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(summary["mode"], "emulate");
    assert_eq!(summary["operations"]["CreateChannel"]["emulated"], 1);
    assert_eq!(summary["operations"]["ListChannels"]["emulated"], 1);
    assert_eq!(summary["unmatched"], serde_json::json!([]));
    let health = raw::call(server.addr(), "GET", "/_ivs-vcr/health").await;
    assert_eq!(health.body, r#"{"mode":"emulate","status":"ok"}"#);
}

#[tokio::test]
async fn bad_control_requests_say_what_to_send() {
    let server = ReplayServer::emulator().await;
    let bad_rule = raw::post(
        server.addr(),
        "/_ivs-vcr/faults",
        r#"{"error": "NoSuchError"}"#,
    )
    .await;
    assert_eq!(bad_rule.status, 400, "{}", bad_rule.body);
    assert!(bad_rule.body.contains("NoSuchError"), "{}", bad_rule.body);
    let no_arn = raw::post(server.addr(), "/_ivs-vcr/streams/start", "{}").await;
    assert_eq!(no_arn.status, 400);
    // Like every error ivs-vcr answers, a control-plane error names its type in the header.
    assert_eq!(
        no_arn.header("x-amzn-ErrorType"),
        Some("ValidationException")
    );
    assert!(no_arn.body.contains("channelArn"), "{}", no_arn.body);
    let wrong_method = raw::post(server.addr(), "/_ivs-vcr/health", "{}").await;
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
}

#[tokio::test]
async fn record_answers_an_injected_fault_before_forwarding_and_never_records_it() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .fault(
            FaultRule::from_cli("operation=ListChannels,error=InternalServerException,times=1")
                .unwrap(),
        )
        .start()
        .await
        .unwrap();
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let err = ivs
        .list_channels()
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("InternalServerException"), "{err:?}");
    assert_eq!(
        fake.n_requests(),
        0,
        "an injected fault is answered before forwarding"
    );
    ivs.list_channels().send().await.unwrap();
    assert_eq!(fake.n_requests(), 1);
    let summary = server.shutdown().await;
    let written = std::fs::read_to_string(&summary.written[0]).unwrap();
    assert_eq!(
        written.matches("path: /ListChannels").count(),
        1,
        "{written}"
    );
    assert!(!written.contains("InternalServerException"), "{written}");
    // Issue 28 §2: the summary counts the injected fault.
    assert_eq!(summary.operations["ListChannels"].faulted, 1);
    let text = summary.to_string();
    assert!(
        text.contains(
            "total: 1 recorded, 0 replayed, 0 not recorded, 0 refused, 1 injected fault(s)"
        ),
        "{text}"
    );
}

/// Issue 28 §2: the summary counts injected faults (answered errors and dropped connections),
/// per operation and in total, in its text and in `GET /_ivs-vcr/summary`; a reset forgets them.
#[tokio::test]
async fn summary_counts_injected_faults() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");
    for rule in [
        r#"{"operation": "ListChannels", "error": "ThrottlingException", "times": 1}"#,
        r#"{"operation": "GetChannel", "connection": "reset", "times": 1}"#,
    ] {
        let added = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    ivs.list_channels().send().await.unwrap_err();
    ivs.list_channels().send().await.unwrap();
    ivs.get_channel()
        .arn("arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh")
        .send()
        .await
        .unwrap_err();
    let summary = server.summary();
    assert_eq!(summary.operations["ListChannels"].faulted, 1);
    assert_eq!(summary.operations["ListChannels"].emulated, 1);
    assert_eq!(summary.operations["GetChannel"].faulted, 1);
    assert_eq!(summary.n_faulted(), 2);
    let text = summary.to_string();
    assert!(
        text.contains("total: 1 emulated, 2 injected fault(s)\n"),
        "{text}"
    );
    assert!(
        text.starts_with("operation     emulated  faulted\n"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &raw::call(server.addr(), "GET", "/_ivs-vcr/summary")
            .await
            .body,
    )
    .unwrap();
    assert_eq!(json["n_faulted"], 2);
    assert_eq!(json["operations"]["ListChannels"]["faulted"], 1);
    let reset = raw::post(server.addr(), "/_ivs-vcr/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(server.summary().n_faulted(), 0);
}
