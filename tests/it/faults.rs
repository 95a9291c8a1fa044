//! Injected faults and the control plane, seen by aws-sdk-ivs with its real retry logic: in
//! emulation, in replay and in record (where a fault answers before forwarding, never recorded).

use std::time::Duration;

use aws_sdk_ivs::config::retry::RetryConfig;
use aws_sdk_ivs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use ivs_vcr::__private::FaultRule;
use ivs_vcr::ReplayServer;

use crate::support::bin::IvsVcr;
use crate::support::fake_ivs::FakeIvs;
use crate::support::{ivs_client, ivs_client_as, operator, raw, recorder, ACCESS_KEY, SECRET_KEY};

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

/// The error code a ListChannels call of `ivs` ends with, `None` when it succeeds.
async fn list_channels_error(ivs: &aws_sdk_ivs::Client) -> Option<String> {
    match ivs.list_channels().send().await {
        Ok(_) => None,
        Err(err) => Some(err.into_service_error().code().unwrap_or("?").to_owned()),
    }
}

/// The ids of the rules a `GET /_ivs-vcr/faults…` lists.
async fn listed_ids(addr: std::net::SocketAddr, path: &str) -> Vec<u64> {
    let response = raw::call(addr, "GET", path).await;
    assert_eq!(response.status, 200, "{}", response.body);
    let json: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    json["faults"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect()
}

/// A rule with `account` fails that account's calls only, the account chosen as the emulator
/// chooses it (`--account-for`, a 12-digit key as itself, else the default account); `GET` shows
/// it, `DELETE ?account=` clears that account's rules and no other.
#[tokio::test]
async fn a_rule_for_one_account_fails_only_that_account_s_calls() {
    let server = ReplayServer::builder()
        .account("999999999999")
        .accounts_for([("AKIAWORKERONE".to_owned(), "333333333333".to_owned())])
        .start()
        .await
        .unwrap();
    let numeric = ivs_client_as(&server.uri(), "us-west-2", "111111111111");
    let mapped = ivs_client_as(&server.uri(), "us-west-2", "AKIAWORKERONE");
    let plain = ivs_client(&server.uri(), "us-west-2");
    let addr = server.addr();
    for rule in [
        r#"{"account": "333333333333", "operation": "ListChannels", "error": "ThrottlingException"}"#,
        r#"{"account": "999999999999", "operation": "ListChannels", "status": 503}"#,
        r#"{"operation": "GetChannel", "status": 500}"#,
    ] {
        let added = raw::post(addr, "/_ivs-vcr/faults", rule).await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    assert_eq!(list_channels_error(&numeric).await, None);
    assert_eq!(
        list_channels_error(&mapped).await.as_deref(),
        Some("ThrottlingException")
    );
    assert_eq!(
        list_channels_error(&plain).await.as_deref(),
        Some("IvsVcrInjectedFaultException")
    );
    let listing = faults_listing(addr).await;
    assert_eq!(listing["faults"][0]["account"], "333333333333");
    assert_eq!(listing["faults"][0]["hits"], 1);
    assert_eq!(listing["faults"][1]["hits"], 1);
    assert!(listing["faults"][2].get("account").is_none(), "{listing}");
    assert_eq!(
        listed_ids(addr, "/_ivs-vcr/faults?account=333333333333").await,
        [1]
    );

    let cleared = raw::call(addr, "DELETE", "/_ivs-vcr/faults?account=333333333333").await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let cleared: serde_json::Value = serde_json::from_str(&cleared.body).unwrap();
    assert_eq!(cleared["removed"], 1);
    assert_eq!(listed_ids(addr, "/_ivs-vcr/faults").await, [2, 3]);
    assert_eq!(list_channels_error(&mapped).await, None);
    assert!(list_channels_error(&plain).await.is_some());
    // The server-wide rule still reaches every account.
    for ivs in [&numeric, &mapped] {
        let err = ivs
            .get_channel()
            .arn("arn:aws:ivs:us-west-2:111111111111:channel/abcdABCDefgh")
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert_eq!(err.meta().code(), Some("IvsVcrInjectedFaultException"));
    }
    let all = raw::call(addr, "DELETE", "/_ivs-vcr/faults").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(
        listed_ids(addr, "/_ivs-vcr/faults").await,
        Vec::<u64>::new()
    );
}

#[tokio::test]
async fn a_bad_account_is_refused_with_what_to_send() {
    let server = ReplayServer::emulator().await;
    let addr = server.addr();
    let refused = raw::post(
        addr,
        "/_ivs-vcr/faults",
        r#"{"account": "12345", "operation": "ListChannels", "status": 503}"#,
    )
    .await;
    raw::assert_aws_error(
        &refused,
        400,
        "ValidationException",
        "account: `12345` is not a 12-digit AWS account id (such as `111122223333`); leave `account` out for every account",
    );
    for method in ["GET", "DELETE"] {
        let refused = raw::call(addr, method, "/_ivs-vcr/faults?account=worker-1").await;
        raw::assert_aws_error(
            &refused,
            400,
            "IvsVcrBadRequestException",
            "`account` must be one 12-digit AWS account id (`?account=123456789012`)",
        );
    }
    assert_eq!(
        listed_ids(addr, "/_ivs-vcr/faults").await,
        Vec::<u64>::new()
    );
}

/// Record has no emulator: a 12-digit key is its own account, any other the default one; a rule
/// for one account answers that account's calls before forwarding, and forwards the others'.
#[tokio::test]
async fn record_injects_a_fault_in_one_account_and_forwards_the_others() {
    let fake = FakeIvs::start(operator()).await;
    let dir = tempfile::tempdir().unwrap();
    let server = recorder(dir.path(), &fake.uri())
        .fault(
            FaultRule::from_cli("account=111111111111,operation=ListChannels,status=503").unwrap(),
        )
        .start()
        .await
        .unwrap();
    let faulted = ivs_client_as(&server.uri(), "us-west-2", "111111111111");
    let other = ivs_client_as(&server.uri(), "us-west-2", "222222222222");
    let plain = ivs_client(&server.uri(), "us-west-2");
    assert_eq!(
        list_channels_error(&faulted).await.as_deref(),
        Some("IvsVcrInjectedFaultException")
    );
    assert_eq!(fake.n_requests(), 0);
    assert_eq!(list_channels_error(&other).await, None);
    assert_eq!(list_channels_error(&plain).await, None);
    assert_eq!(fake.n_requests(), 2);
    let added = raw::post(
        server.addr(),
        "/_ivs-vcr/faults",
        r#"{"account": "123456789012", "operation": "ListChannels", "status": 500}"#,
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        list_channels_error(&plain).await.as_deref(),
        Some("IvsVcrInjectedFaultException")
    );
    assert_eq!(list_channels_error(&other).await, None);
    server.shutdown().await;
}

/// The CLI form takes `account` too, and the default account is `--account`'s.
#[test]
fn the_fault_flag_takes_an_account() {
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(
        &[
            "replay",
            "--port",
            "0",
            "--account",
            "999999999999",
            "--fault",
            "account=999999999999,operation=ListChannels,error=ThrottlingException",
        ],
        dir.path(),
    );
    let uri = server.uri().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert_eq!(
            list_channels_error(&ivs_client(&uri, "us-west-2"))
                .await
                .as_deref(),
            Some("ThrottlingException")
        );
        let other = ivs_client_as(&uri, "us-west-2", "111111111111");
        assert_eq!(list_channels_error(&other).await, None);
        let listing = faults_listing(server.addr()).await;
        assert_eq!(listing["faults"][0]["account"], "999999999999");
    });
    server.stop();

    let refused = crate::support::bin::run(
        &[
            "replay",
            "--port",
            "0",
            "--fault",
            "account=me,operation=ListChannels,status=500",
        ],
        dir.path(),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("account: `me` is not a 12-digit AWS account id"),
        "{}",
        refused.stderr
    );
}
