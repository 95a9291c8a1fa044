//! State that survives: `GET /_ivs-vcr/state` → `POST /_ivs-vcr/state` round trips through the
//! real server and the AWS SDKs, refused documents change nothing, and `--state-file` through the
//! real binary survives SIGTERM whole, SIGKILL up to the last save, and refuses a damaged or newer
//! file with exit code 2.

use std::net::SocketAddr;
use std::path::Path;

use ivs_vcr::ReplayServer;
use serde_json::{json, Value};

use crate::support::bin::{run, IvsVcr};
use crate::support::{chat_client, ivs_client, ivs_client_as, raw, realtime_client};

const B: &str = "222222222222";

async fn get(addr: SocketAddr, path: &str) -> Value {
    let response = raw::call(addr, "GET", path).await;
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).unwrap()
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    let response = raw::post(addr, path, body).await;
    (
        response.status,
        serde_json::from_str(&response.body).unwrap_or_default(),
    )
}

/// The `world` a restore reads: what must be equal before and after.
async fn world(addr: SocketAddr) -> Value {
    get(addr, "/_ivs-vcr/state").await["world"].clone()
}

/// Every Get and List answer of what [`populate`] made, as text (the parts without request ids).
async fn answers(uri: &str, made: &Made) -> Vec<String> {
    let ivs = ivs_client(uri, "us-west-2");
    let other = ivs_client_as(uri, "us-west-2", B);
    let chat = chat_client(uri, "us-west-2");
    let rt = realtime_client(uri, "us-west-2");
    let mut out = Vec::new();
    let channels = ivs.list_channels().send().await.unwrap();
    out.push(format!("{:?}", channels.channels()));
    let got = ivs.get_channel().arn(&made.channel).send().await.unwrap();
    out.push(format!("{:?}", got.channel()));
    let keys = ivs
        .list_stream_keys()
        .channel_arn(&made.channel)
        .send()
        .await
        .unwrap();
    out.push(format!("{:?}", keys.stream_keys()));
    let stream = ivs
        .get_stream()
        .channel_arn(&made.channel)
        .send()
        .await
        .unwrap();
    out.push(format!("{:?}", stream.stream()));
    let sessions = ivs
        .list_stream_sessions()
        .channel_arn(&made.channel)
        .send()
        .await
        .unwrap();
    out.push(format!("{:?}", sessions.stream_sessions()));
    for session in sessions.stream_sessions() {
        let one = ivs
            .get_stream_session()
            .channel_arn(&made.channel)
            .stream_id(session.stream_id().unwrap())
            .send()
            .await
            .unwrap();
        out.push(format!("{:?}", one.stream_session()));
    }
    let room = chat.get_room().identifier(&made.room).send().await.unwrap();
    out.push(format!(
        "{:?}",
        (room.arn(), room.name(), room.tags(), room.create_time())
    ));
    let rooms = chat.list_rooms().send().await.unwrap();
    out.push(format!("{:?}", rooms.rooms()));
    let stage = rt.get_stage().arn(&made.stage).send().await.unwrap();
    out.push(format!("{:?}", stage.stage()));
    let stage_sessions = rt
        .list_stage_sessions()
        .stage_arn(&made.stage)
        .send()
        .await
        .unwrap();
    out.push(format!("{:?}", stage_sessions.stage_sessions()));
    for session in stage_sessions.stage_sessions() {
        let participants = rt
            .list_participants()
            .stage_arn(&made.stage)
            .session_id(session.session_id().unwrap())
            .send()
            .await
            .unwrap();
        out.push(format!("{:?}", participants.participants()));
    }
    let theirs = other.list_channels().send().await.unwrap();
    out.push(format!("{:?}", theirs.channels()));
    out
}

/// What [`populate`] made.
struct Made {
    channel: String,
    room: String,
    stage: String,
}

/// Channels with keys and tags, a live stream with an ended session before it, a chat room, a
/// Real-Time stage with a joined participant, and a second account's channel.
async fn populate(uri: &str, addr: SocketAddr) -> Made {
    let ivs = ivs_client(uri, "us-west-2");
    let created = ivs
        .create_channel()
        .name("kept")
        .tags("team", "video")
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap().arn().unwrap().to_owned();
    ivs.create_channel().name("second").send().await.unwrap();
    ivs.create_stream_key()
        .channel_arn(&channel)
        .send()
        .await
        .ok();
    for path in [
        "/_ivs-vcr/streams/start",
        "/_ivs-vcr/streams/stop",
        "/_ivs-vcr/streams/start",
    ] {
        let (status, body) = post(addr, path, &json!({"channelArn": channel}).to_string()).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let room = chat_client(uri, "us-west-2")
        .create_room()
        .name("lobby")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let rt = realtime_client(uri, "us-west-2");
    let stage = rt.create_stage().name("show").send().await.unwrap();
    let stage = stage.stage().unwrap().arn().to_owned();
    let token = participant_token(&rt, &stage).await;
    let (status, body) = post(
        addr,
        "/_ivs-vcr/stages/join",
        &json!({"token": token}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    ivs_client_as(uri, "us-west-2", B)
        .create_channel()
        .name("theirs")
        .send()
        .await
        .unwrap();
    Made {
        channel,
        room,
        stage,
    }
}

async fn participant_token(rt: &aws_sdk_ivsrealtime::Client, stage: &str) -> String {
    rt.create_participant_token()
        .stage_arn(stage)
        .user_id("host")
        .send()
        .await
        .unwrap()
        .participant_token()
        .unwrap()
        .token()
        .unwrap()
        .to_owned()
}

async fn create_channel_arn(uri: &str) -> String {
    ivs_client(uri, "us-west-2")
        .create_channel()
        .send()
        .await
        .unwrap()
        .channel()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_snapshot_restored_after_a_reset_answers_every_get_and_list_as_before() {
    let server = ReplayServer::emulator().await;
    let (uri, addr) = (server.uri(), server.addr());
    let made = populate(&uri, addr).await;
    let before = answers(&uri, &made).await;
    let snapshot = raw::call(addr, "GET", "/_ivs-vcr/state").await.body;
    assert!(!snapshot.contains("signingKey") && !snapshot.contains("PRIVATE KEY"));
    // The id the next channel gets without a round trip.
    let next = create_channel_arn(&uri).await;

    let (status, _) = post(addr, "/_ivs-vcr/reset", "").await;
    assert_eq!(status, 200);
    assert!(ivs_client(&uri, "us-west-2")
        .list_channels()
        .send()
        .await
        .unwrap()
        .channels()
        .is_empty());
    let (status, done) = post(addr, "/_ivs-vcr/state", &snapshot).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["accounts"], json!(["123456789012", B]));
    assert_eq!(
        done["streamsEnded"],
        json!([]),
        "a control-plane stream stays live"
    );

    assert_eq!(answers(&uri, &made).await, before);
    assert_eq!(
        create_channel_arn(&uri).await,
        next,
        "ids continue as without the round trip"
    );
    // The restored room is known to the chat data plane: a token for it is accepted.
    let token = chat_client(&uri, "us-west-2")
        .create_chat_token()
        .room_identifier(&made.room)
        .user_id("u")
        .send()
        .await;
    assert!(token.is_ok(), "{token:?}");
}

#[tokio::test]
async fn a_refused_document_changes_nothing_and_says_what_is_wrong() {
    let server = ReplayServer::builder()
        .max_accounts(2)
        .start()
        .await
        .unwrap();
    let (uri, addr) = (server.uri(), server.addr());
    populate(&uri, addr).await;
    let before = world(addr).await;
    let good = get(addr, "/_ivs-vcr/state").await;
    let mut newer = good.clone();
    newer["version"] = json!(2);
    let mut over = good.clone();
    over["world"]["accounts"]["333333333333"] = good["world"]["accounts"][B].clone();
    let cases = [
        (
            "{\"format\": \"ivs-vcr/state\", \"vers".to_owned(),
            "request body is not JSON",
        ),
        (
            newer.to_string(),
            "version 2 is newer than this ivs-vcr reads (version 1)",
        ),
        (
            over.to_string(),
            "over the emulator's limit of 2 (`--max-accounts`)",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = post(addr, "/_ivs-vcr/state", &body).await;
        assert_eq!(status, 400, "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{message:?} should say {expected:?}"
        );
        assert_eq!(world(addr).await, before, "after {expected:?}");
    }
    // Without --state-file, a save says how to get one.
    let (status, answer) = post(addr, "/_ivs-vcr/state/save", "").await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("--state-file"));
}

#[tokio::test]
async fn a_one_account_snapshot_restores_that_account_alone() {
    let server = ReplayServer::emulator().await;
    let (uri, addr) = (server.uri(), server.addr());
    populate(&uri, addr).await;
    let theirs = raw::call(addr, "GET", &format!("/_ivs-vcr/state?account={B}"))
        .await
        .body;
    let ours_before = get(addr, "/_ivs-vcr/state?account=123456789012").await["world"].clone();
    ivs_client_as(&uri, "us-west-2", B)
        .create_channel()
        .send()
        .await
        .unwrap();
    let (status, done) = post(addr, "/_ivs-vcr/state", &theirs).await;
    assert_eq!((status, &done["scope"]), (200, &json!("account")), "{done}");
    let listed = ivs_client_as(&uri, "us-west-2", B)
        .list_channels()
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.channels().len(),
        1,
        "the channel made after the snapshot is gone"
    );
    assert_eq!(
        get(addr, "/_ivs-vcr/state?account=123456789012").await["world"],
        ours_before
    );
}

/// The default account's channel ARNs in the binary's state, sorted.
async fn channel_arns(addr: SocketAddr) -> Vec<String> {
    let state = get(addr, "/_ivs-vcr/state").await;
    let mut arns: Vec<String> = state["regions"]["us-west-2"]["channel"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| c["arn"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    arns.sort();
    arns
}

fn serve_with(file: &Path, dir: &Path) -> IvsVcr {
    IvsVcr::start(
        &[
            "serve",
            "--port",
            "0",
            "--state-file",
            file.to_str().unwrap(),
        ],
        dir,
    )
}

#[tokio::test]
async fn the_state_file_survives_sigterm_whole_and_sigkill_up_to_the_last_save() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ivs.json");
    let mut expected: Vec<String> = Vec::new();
    // A fixed xorshift: the stop points vary by round and the run is the same every time.
    let mut rng: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut terms, mut kills) = (0, 0);
    for round in 0..12 {
        let server = serve_with(&file, dir.path());
        let addr = server.addr();
        assert_eq!(
            channel_arns(addr).await,
            expected,
            "round {round}: state is whole"
        );
        let writes = 1 + next() % 3;
        let mut made = Vec::new();
        for _ in 0..writes {
            made.push(create_channel_arn(&server.uri().unwrap()).await);
        }
        if next() % 2 == 0 {
            terms += 1;
            expected.extend(made);
            let finished = server.stop();
            assert!(finished.status.success(), "{finished:?}");
            assert!(
                finished.stdout.contains("state saved"),
                "{}",
                finished.stdout
            );
        } else {
            kills += 1;
            let (status, saved) = post(addr, "/_ivs-vcr/state/save", "").await;
            assert_eq!(status, 200, "{saved}");
            assert_eq!(saved["path"], file.to_str().unwrap());
            expected.extend(made);
            // Written after the save, and lost with the SIGKILL.
            create_channel_arn(&server.uri().unwrap()).await;
            server.kill();
        }
        expected.sort();
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: Value = serde_json::from_str(&text).expect("the file is never partial");
        assert_eq!(doc["version"], 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the file holds a private key");
        }
    }
    assert!(
        terms > 0 && kills > 0,
        "both stops ran: {terms} SIGTERM, {kills} SIGKILL"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_participant_token_issued_before_a_restart_joins_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ivs.json");
    let server = serve_with(&file, dir.path());
    let rt = realtime_client(&server.uri().unwrap(), "us-west-2");
    let stage = rt
        .create_stage()
        .send()
        .await
        .unwrap()
        .stage()
        .unwrap()
        .arn()
        .to_owned();
    let token = participant_token(&rt, &stage).await;
    assert!(server.stop().status.success());

    let server = serve_with(&file, dir.path());
    let (status, body) = post(
        server.addr(),
        "/_ivs-vcr/stages/join",
        &json!({"token": token}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stageArn"], json!(stage));
    let state = get(server.addr(), "/_ivs-vcr/state").await.to_string();
    assert!(!state.contains("signingKey"), "GET never carries the key");
}

#[test]
fn a_damaged_or_newer_state_file_is_refused_with_exit_code_2_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ivs.json");
    let cases = [
        (
            "{\"format\": \"ivs-vcr/state\", \"version\": 1, \"wor".to_owned(),
            "is not JSON",
        ),
        (
            json!({"format": "ivs-vcr/state", "version": 9, "scope": "all"}).to_string(),
            "version 9 is newer than this ivs-vcr reads (version 1)",
        ),
        (
            json!({"format": "ivs-vcr/state", "version": 1, "scope": "all",
                   "clock": {"epochMillis": 0}, "world": {"accounts": {"12": {}}}})
            .to_string(),
            "was not loaded",
        ),
    ];
    for (content, expected) in cases {
        std::fs::write(&file, &content).unwrap();
        let finished = run(
            &[
                "serve",
                "--port",
                "0",
                "--state-file",
                file.to_str().unwrap(),
            ],
            dir.path(),
        );
        assert_eq!(finished.status.code(), Some(2), "{finished:?}");
        let said = format!("{}{}", finished.stdout, finished.stderr);
        assert!(said.contains(expected), "{said}");
        assert!(
            said.contains(file.to_str().unwrap()),
            "names the file: {said}"
        );
        assert!(
            said.contains("move the file away"),
            "says what to do: {said}"
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            content,
            "left as it was"
        );
    }
}

/// A state file in a folder that does not exist yet: the folder is made at start, so the first
/// save (here, the one at shutdown) writes the file rather than failing when it is too late.
#[tokio::test]
async fn a_state_file_in_a_new_folder_is_saved_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not").join("yet").join("ivs.json");
    let server = serve_with(&file, dir.path());
    let arn = create_channel_arn(&server.uri().unwrap()).await;
    let finished = server.stop();
    assert!(finished.status.success(), "{finished:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&arn), "the saved state holds the channel");
}
