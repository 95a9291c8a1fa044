//! Accounts from credentials, through the AWS SDKs: a request's access key id picks the account
//! it is answered in (a 12-digit key is the account id; `--account-for` maps others; any other key
//! lands in the default account), so parallel workers with their own keys never see each other.

use aws_sdk_ivs::error::ProvideErrorMetadata as _;
use ivs_vcr::ReplayServer;
use serde_json::Value;

use crate::support::{chat_client_as, ivs_client_as, raw, realtime_client_as};

const A: &str = "111111111111";
const B: &str = "222222222222";

async fn control_get(server: &ReplayServer, path: &str) -> (u16, Value) {
    let response = raw::call(server.addr(), "GET", path).await;
    let body = serde_json::from_str(&response.body).unwrap_or_default();
    (response.status, body)
}

async fn channel_arns(ivs: &aws_sdk_ivs::Client) -> Vec<String> {
    let listed = ivs
        .list_channels()
        .send()
        .await
        .expect("ListChannels answers");
    let mut arns: Vec<String> = listed
        .channels()
        .iter()
        .filter_map(|c| c.arn().map(str::to_owned))
        .collect();
    arns.sort();
    arns
}

async fn create(ivs: &aws_sdk_ivs::Client) -> aws_sdk_ivs::types::Channel {
    ivs.create_channel()
        .send()
        .await
        .expect("CreateChannel answers")
        .channel()
        .expect("a channel")
        .clone()
}

#[tokio::test]
async fn two_twelve_digit_keys_are_two_accounts_that_never_see_each_other() {
    let server = ReplayServer::emulator().await;
    let a = ivs_client_as(&server.uri(), "us-west-2", A);
    let b = ivs_client_as(&server.uri(), "us-west-2", B);

    let channel = create(&a).await;
    let arn = channel.arn().unwrap().to_owned();
    assert!(
        arn.starts_with(&format!("arn:aws:ivs:us-west-2:{A}:channel/")),
        "{arn}"
    );
    let playback = channel.playback_url().unwrap();
    assert!(
        playback.contains(&format!("us-west-2.{A}.channel.")),
        "{playback}"
    );

    assert_eq!(channel_arns(&a).await, vec![arn.clone()]);
    assert!(channel_arns(&b).await.is_empty(), "B sees A's channel");
    // The owner's Get (the fast path) answers; the other account's is not found, as IVS answers
    // an ARN that names no resource of the caller's account (inferred: the API reference
    // documents no cross-account access for GetChannel).
    a.get_channel()
        .arn(&arn)
        .send()
        .await
        .expect("A gets its own channel");
    let err = b.get_channel().arn(&arn).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
    let err = b.delete_channel().arn(&arn).send().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");

    let theirs = create(&b).await;
    let theirs = theirs.arn().unwrap().to_owned();
    assert!(theirs.contains(&format!(":{B}:channel/")), "{theirs}");
    assert_eq!(channel_arns(&a).await, vec![arn.clone()]);
    assert_eq!(channel_arns(&b).await, vec![theirs]);
    // Each account's ids are its own sequence: the same first call gives another id.
    assert_ne!(
        arn.rsplit('/').next(),
        channel_arns(&b).await[0].rsplit('/').next()
    );
}

#[tokio::test]
async fn other_keys_land_in_the_default_account_unless_mapped() {
    let server = ReplayServer::builder()
        .account("999999999999")
        .accounts_for([("AKIAWORKERONE".to_owned(), "333333333333".to_owned())])
        .start()
        .await
        .unwrap();
    let plain = ivs_client_as(&server.uri(), "eu-west-1", "AKIDEXAMPLE");
    let other_plain = ivs_client_as(&server.uri(), "eu-west-1", "ASIAANOTHERKEY");
    let mapped = ivs_client_as(&server.uri(), "eu-west-1", "AKIAWORKERONE");
    let numeric = ivs_client_as(&server.uri(), "eu-west-1", "333333333333");

    let default_arn = create(&plain).await.arn().unwrap().to_owned();
    assert!(
        default_arn.contains(":999999999999:channel/"),
        "{default_arn}"
    );
    // Any other non-numeric key is the same default account.
    assert_eq!(channel_arns(&other_plain).await, vec![default_arn]);

    let mapped_arn = create(&mapped).await.arn().unwrap().to_owned();
    assert!(
        mapped_arn.contains(":333333333333:channel/"),
        "{mapped_arn}"
    );
    // The mapped key and the account's own id are one account.
    assert_eq!(channel_arns(&numeric).await, vec![mapped_arn]);
}

#[tokio::test]
async fn eight_accounts_creating_twenty_channels_each_at_once_keep_their_own_counts() {
    let server = ReplayServer::emulator().await;
    let accounts: Vec<String> = (1..=8).map(|n| format!("{n:012}")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for account in &accounts {
        for _ in 0..20 {
            let ivs = ivs_client_as(&server.uri(), "us-east-1", account);
            tasks.spawn(async move { create(&ivs).await.arn().unwrap().to_owned() });
        }
    }
    let mut created = Vec::new();
    while let Some(arn) = tasks.join_next().await {
        created.push(arn.expect("no task panics"));
    }
    assert_eq!(created.len(), 160);
    for account in &accounts {
        let ivs = ivs_client_as(&server.uri(), "us-east-1", account);
        let mut listed = Vec::new();
        let mut token = None;
        loop {
            let page = ivs
                .list_channels()
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            listed.extend(
                page.channels()
                    .iter()
                    .filter_map(|c| c.arn().map(str::to_owned)),
            );
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(listed.len(), 20, "{account}: {listed:?}");
        let marker = format!(":{account}:channel/");
        assert!(listed.iter().all(|arn| arn.contains(&marker)), "{listed:?}");
        let mine = created.iter().filter(|arn| arn.contains(&marker)).count();
        assert_eq!(mine, 20, "{account}");
    }
}

#[tokio::test]
async fn state_and_reset_take_an_account() {
    let server = ReplayServer::emulator().await;
    let a = ivs_client_as(&server.uri(), "us-west-2", A);
    let b = ivs_client_as(&server.uri(), "us-west-2", B);
    let plain = ivs_client_as(&server.uri(), "us-west-2", "AKIDEXAMPLE");
    let a_arn = create(&a).await.arn().unwrap().to_owned();
    let b_arn = create(&b).await.arn().unwrap().to_owned();
    let default_arn = create(&plain).await.arn().unwrap().to_owned();

    let (status, state) = control_get(&server, &format!("/_ivs-vcr/state?account={A}")).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["account"], A);
    let channels = &state["regions"]["us-west-2"]["channel"];
    assert_eq!(channels.as_array().map(Vec::len), Some(1), "{state}");
    assert_eq!(channels[0]["arn"], a_arn.as_str());

    // Without `account`: the default account as before, and every account under `accounts`.
    let (_, all) = control_get(&server, "/_ivs-vcr/state").await;
    assert_eq!(all["account"], "123456789012");
    assert_eq!(
        all["regions"]["us-west-2"]["channel"][0]["arn"],
        default_arn.as_str()
    );
    for (account, arn) in [(A, &a_arn), (B, &b_arn), ("123456789012", &default_arn)] {
        assert_eq!(
            all["accounts"][account]["regions"]["us-west-2"]["channel"][0]["arn"],
            arn.as_str(),
            "{all}"
        );
    }

    let reset = raw::post(server.addr(), &format!("/_ivs-vcr/reset?account={A}"), "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert!(channel_arns(&a).await.is_empty());
    assert_eq!(channel_arns(&b).await, vec![b_arn]);
    assert_eq!(channel_arns(&plain).await, vec![default_arn]);
    // A reset account starts its ids again: its first channel is the one it had first.
    assert_eq!(create(&a).await.arn(), Some(a_arn.as_str()));

    for bad in [
        "/_ivs-vcr/state?account=abc",
        "/_ivs-vcr/state?account=1&account=2",
    ] {
        let (status, body) = control_get(&server, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let bad = raw::post(server.addr(), "/_ivs-vcr/reset?account=12345", "").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("12-digit"), "{}", bad.body);
}

#[tokio::test]
async fn accounts_with_state_are_bounded() {
    let server = ReplayServer::builder()
        .max_accounts(2)
        .start()
        .await
        .unwrap();
    create(&ivs_client_as(&server.uri(), "us-west-2", A)).await;
    create(&ivs_client_as(&server.uri(), "us-west-2", B)).await;
    let third = ivs_client_as(&server.uri(), "us-west-2", "333333333333");
    let err = third.create_channel().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
    let message = err.message().unwrap_or_default();
    assert!(message.contains("--max-accounts"), "{message}");
    // An account that is done makes room.
    let reset = raw::post(server.addr(), &format!("/_ivs-vcr/reset?account={A}"), "").await;
    assert_eq!(reset.status, 200);
    create(&third).await;
}

#[tokio::test]
async fn chat_rooms_and_real_time_stages_are_per_account_too() {
    let server = ReplayServer::emulator().await;
    let chat_a = chat_client_as(&server.uri(), "us-west-2", A);
    let chat_b = chat_client_as(&server.uri(), "us-west-2", B);
    let room = chat_a.create_room().send().await.unwrap();
    let room_arn = room.arn().unwrap().to_owned();
    assert!(room_arn.contains(&format!(":{A}:room/")), "{room_arn}");
    assert!(chat_b.list_rooms().send().await.unwrap().rooms().is_empty());
    assert_eq!(chat_a.list_rooms().send().await.unwrap().rooms().len(), 1);
    let err = chat_b
        .get_room()
        .identifier(&room_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_ivschat::error::ProvideErrorMetadata::code(&err),
        Some("ResourceNotFoundException"),
        "{err:?}"
    );

    let rt_a = realtime_client_as(&server.uri(), "us-west-2", A);
    let rt_b = realtime_client_as(&server.uri(), "us-west-2", B);
    let stage = rt_a.create_stage().send().await.unwrap();
    let stage_arn = stage.stage().map(|s| s.arn()).unwrap().to_owned();
    assert!(stage_arn.contains(&format!(":{A}:stage/")), "{stage_arn}");
    assert!(rt_b.list_stages().send().await.unwrap().stages().is_empty());
    assert_eq!(rt_a.list_stages().send().await.unwrap().stages().len(), 1);
}

#[tokio::test]
async fn the_binary_maps_keys_from_the_flag_and_the_environment_and_refuses_a_bad_mapping() {
    use crate::support::bin::{command, run, IvsVcr};
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(
        &[
            "replay",
            "--port",
            "0",
            "--account",
            "999999999999",
            "--account-for",
            "AKIAFLAG=444444444444",
            "--max-accounts",
            "3",
        ],
        dir.path(),
    );
    // The flag, when given, replaces the environment's list (clap's rule for env defaults).
    cmd.env(
        "IVS_VCR_ACCOUNT_FOR",
        "AKIAENV1=555555555555,AKIAENV2=666666666666",
    );
    let server = IvsVcr::spawn(cmd);
    let uri = server.uri().unwrap();
    let arn_of = |key: &'static str| {
        let uri = uri.clone();
        async move {
            create(&ivs_client_as(&uri, "us-west-2", key))
                .await
                .arn()
                .unwrap()
                .to_owned()
        }
    };
    assert!(arn_of("AKIAFLAG").await.contains(":444444444444:"));
    assert!(arn_of("AKIAENV1").await.contains(":999999999999:"));
    server.stop();

    let mut cmd = command(&["replay", "--port", "0"], dir.path());
    cmd.env(
        "IVS_VCR_ACCOUNT_FOR",
        "AKIAENV1=555555555555,AKIAENV2=666666666666",
    );
    let server = IvsVcr::spawn(cmd);
    let uri = server.uri().unwrap();
    let arn_of = |key: &'static str| {
        let uri = uri.clone();
        async move {
            create(&ivs_client_as(&uri, "us-west-2", key))
                .await
                .arn()
                .unwrap()
                .to_owned()
        }
    };
    assert!(arn_of("AKIAENV1").await.contains(":555555555555:"));
    assert!(arn_of("AKIAENV2").await.contains(":666666666666:"));
    server.stop();

    for bad in ["AKIA=12345", "no-equals", "=111111111111"] {
        let refused = run(&["replay", "--port", "0", "--account-for", bad], dir.path());
        assert!(!refused.status.success(), "{bad}");
        assert!(
            refused.stderr.contains("--account-for"),
            "{bad}: {}",
            refused.stderr
        );
    }
}

/// `GET /_ivs-vcr/summary?account=ID`, or `{}` with the status when refused.
async fn account_summary(server: &ReplayServer, account: &str) -> (u16, Value) {
    control_get(server, &format!("/_ivs-vcr/summary?account={account}")).await
}

#[tokio::test]
async fn the_summary_takes_an_account_and_lists_every_accounts_counts() {
    let server = ReplayServer::emulator().await;
    let a = ivs_client_as(&server.uri(), "us-west-2", A);
    let b = ivs_client_as(&server.uri(), "us-west-2", B);
    let a_arn = create(&a).await.arn().unwrap().to_owned();
    create(&a).await;
    // The Get by ARN is answered on the fast path: counted in its account all the same.
    a.get_channel().arn(&a_arn).send().await.unwrap();
    create(&b).await;
    let rule = r#"{"operation": "ListChannels", "error": "AccessDeniedException", "times": 1}"#;
    let added = raw::post(server.addr(), "/_ivs-vcr/faults", rule).await;
    assert_eq!(added.status, 201, "{}", added.body);
    let err = b.list_channels().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");

    let (status, mine) = account_summary(&server, A).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(
        mine,
        serde_json::json!({
            "mode": "emulate",
            "account": A,
            "operations": {
                "CreateChannel": {"emulated": 2, "faulted": 0},
                "GetChannel": {"emulated": 1, "faulted": 0},
            },
            "n_emulated": 3,
            "n_faulted": 0,
        })
    );
    let (_, theirs) = account_summary(&server, B).await;
    assert_eq!(
        theirs["operations"],
        serde_json::json!({
            "CreateChannel": {"emulated": 1, "faulted": 0},
            "ListChannels": {"emulated": 0, "faulted": 1},
        }),
        "{theirs}"
    );
    assert_eq!(
        (theirs["n_emulated"].as_u64(), theirs["n_faulted"].as_u64()),
        (Some(1), Some(1))
    );

    // Without `account`: the whole server's counts, as before, and each account's part.
    let (_, all) = control_get(&server, "/_ivs-vcr/summary").await;
    assert_eq!(all["operations"]["CreateChannel"]["emulated"], 3, "{all}");
    assert_eq!(all["n_faulted"], 1, "{all}");
    for (account, part) in [(A, &mine), (B, &theirs)] {
        let mut part = part.clone();
        let object = part.as_object_mut().unwrap();
        object.remove("mode");
        object.remove("account");
        assert_eq!(all["accounts"][account], part, "{all}");
    }
    assert_eq!(
        all["accounts"].as_object().map(|o| o.len()),
        Some(2),
        "{all}"
    );

    // An account that nothing was asked of has zeros; resetting one forgets its counts only.
    let (_, nobody) = account_summary(&server, "333333333333").await;
    assert_eq!(
        (
            nobody["n_emulated"].as_u64(),
            nobody["operations"].as_object().map(|o| o.len())
        ),
        (Some(0), Some(0)),
        "{nobody}"
    );
    let reset = raw::post(server.addr(), &format!("/_ivs-vcr/reset?account={A}"), "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(account_summary(&server, A).await.1["n_emulated"], 0);
    assert_eq!(account_summary(&server, B).await.1, theirs);
    // The whole reset forgets every account's.
    let reset = raw::post(server.addr(), "/_ivs-vcr/reset", "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(account_summary(&server, B).await.1["n_emulated"], 0);
    let (_, all) = control_get(&server, "/_ivs-vcr/summary").await;
    assert_eq!(all["accounts"], serde_json::json!({}), "{all}");

    let (status, body) = account_summary(&server, "12345").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("12-digit"), "{body}");
}

#[tokio::test]
async fn a_summary_by_account_needs_an_emulator() {
    let server = ReplayServer::builder()
        .cassette(ivs_vcr::Cassette::load(crate::support::fixture("replay/flow.yaml")).unwrap())
        .fail_on_unused(false)
        .start()
        .await
        .unwrap();
    let (status, body) = account_summary(&server, A).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("--on-miss emulate"), "{body}");
}

#[tokio::test]
async fn events_take_an_account() {
    let server = ReplayServer::emulator().await;
    let mut arns = Vec::new();
    for key in [A, B] {
        let ivs = ivs_client_as(&server.uri(), "us-west-2", key);
        let arn = create(&ivs).await.arn().unwrap().to_owned();
        let start = format!(r#"{{"channelArn": "{arn}"}}"#);
        let started = raw::post(server.addr(), "/_ivs-vcr/streams/start", &start).await;
        assert_eq!(started.status, 200, "{}", started.body);
        ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
        arns.push(arn);
    }
    let (_, all) = control_get(&server, "/_ivs-vcr/events").await;
    let n_all = all["events"].as_array().map_or(0, Vec::len);
    let mut n_listed = 0;
    for (account, arn) in [A, B].into_iter().zip(&arns) {
        let (status, mine) =
            control_get(&server, &format!("/_ivs-vcr/events?account={account}")).await;
        assert_eq!(status, 200, "{mine}");
        let events = mine["events"].as_array().expect("an events list");
        // Going live and going offline, at least.
        assert!(events.len() >= 2, "{mine}");
        for event in events {
            assert_eq!(event["account"], account, "{mine}");
            assert_eq!(event["resources"][0], arn.as_str(), "{mine}");
        }
        // `last` counts every account's events: the next `since` for any listing.
        assert_eq!(mine["last"], all["last"]);
        n_listed += events.len();
    }
    assert_eq!(n_listed, n_all, "{all}");
    let (_, typed) = control_get(
        &server,
        &format!("/_ivs-vcr/events?account={B}&detail-type=IVS%20Stream%20State%20Change"),
    )
    .await;
    let typed = typed["events"].as_array().unwrap();
    assert!(
        !typed.is_empty()
            && typed
                .iter()
                .all(|e| e["account"] == B && e["detail-type"] == "IVS Stream State Change")
    );
    let (status, body) = control_get(&server, "/_ivs-vcr/events?account=me").await;
    assert_eq!(status, 400, "{body}");
}
