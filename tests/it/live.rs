//! Going live for real: ffmpeg publishes a test pattern over RTMP, the AWS SDK reads the stream,
//! its session and the ingest configuration measured from it, and ffprobe plays the channel's
//! HLS from its `playbackUrl`; StopStream drops the encoder, a disconnect ends the stream, a
//! private channel plays only with a signed token; hostile RTMP clients are refused and bounded.
//!
//! Each test's media is a few seconds, and every wait is bounded. The tests need ffmpeg and
//! ffprobe on PATH (`.ci/run` installs them); without them they say so and pass, unless
//! `IVS_VCR_REQUIRE_FFMPEG=1`, as in CI.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_ivs::Client;
use ivs_vcr::ReplayServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::ivs_client;
use crate::support::keys::{now_secs, P384};
use crate::support::raw::{self, RawResponse};

/// Whether ffmpeg and ffprobe can run; a test without them is skipped (failed under CI).
pub(crate) fn have_ffmpeg() -> bool {
    let ok = ["ffmpeg", "ffprobe"].iter().all(|tool| {
        Command::new(tool)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if !ok {
        let message = "ffmpeg/ffprobe not on PATH; install with `apt-get install ffmpeg`";
        if std::env::var("IVS_VCR_REQUIRE_FFMPEG").as_deref() == Ok("1") {
            panic!("IVS_VCR_REQUIRE_FFMPEG=1 but {message}");
        }
        eprintln!("SKIPPED live video test: {message}");
    }
    ok
}

/// An emulator with RTMP ingest and HLS playback on ports of their own.
async fn live_server() -> ReplayServer {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    ReplayServer::builder()
        .rtmp(any)
        .playback(any)
        .playback_urls_here(true)
        .max_rtmp_connections(8)
        .start()
        .await
        .expect("an emulator with RTMP ingest and playback starts")
}

/// [`live_server`] for a test that runs ffmpeg, or `None` without it (see [`have_ffmpeg`]): the
/// test then passes without running.
async fn ffmpeg_server() -> Option<ReplayServer> {
    if !have_ffmpeg() {
        return None;
    }
    Some(live_server().await)
}

/// An ffmpeg publishing `seconds` of a 640×360 30 fps test pattern with a 44.1 kHz tone.
pub(crate) fn publish(url: &str, seconds: u32, extra: &[&str]) -> Child {
    let mut command = Command::new("ffmpeg");
    command.args(["-hide_banner", "-loglevel", "error", "-re"]);
    command.args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"]);
    command.args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
    command.args(["-t", &seconds.to_string()]);
    if extra.is_empty() {
        command.args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "60",
            "-c:a",
            "aac",
        ]);
    } else {
        command.args(extra);
    }
    command
        .args(["-f", "flv", url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg starts")
}

/// Waits at most `bound` for the child to exit; its status, or `None` (then it is killed).
pub(crate) async fn exited(child: &mut Child, bound: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Polls `check` every 100 ms for at most `bound`.
async fn eventually<F: std::future::Future<Output = bool>>(
    bound: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn is_live(ivs: &Client, arn: &str) -> bool {
    ivs.get_stream().channel_arn(arn).send().await.is_ok()
}

/// A channel and its stream key's value.
async fn channel(ivs: &Client, authorized: bool) -> (String, String, String) {
    let created = ivs
        .create_channel()
        .authorized(authorized)
        .send()
        .await
        .unwrap();
    let channel = created.channel().unwrap();
    (
        channel.arn().unwrap().to_owned(),
        channel.playback_url().unwrap().to_owned(),
        created.stream_key().unwrap().value().unwrap().to_owned(),
    )
}

/// A GET of a full URL on the playback server, with an optional `Origin`.
async fn get(url: &str, origin: Option<&str>) -> RawResponse {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let addr: SocketAddr = host.parse().unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let request =
        format!("GET /{path} HTTP/1.1\r\nHost: {addr}\r\n{origin}Connection: close\r\n\r\n");
    raw::exchange(addr, request.as_bytes()).await
}

/// What ffprobe reads of a playlist: `codec,width,height` per stream.
pub(crate) fn probe(url: &str) -> String {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-rw_timeout",
            "5000000",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "csv=p=0",
            url,
        ])
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_goes_live_with_its_measured_configuration_plays_as_hls_and_disconnecting_ends_it() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (arn, playback_url, key) = channel(&ivs, false).await;
    let playback = server.playback_uri().unwrap();
    assert!(
        playback_url.starts_with(&playback),
        "{playback_url} is on {playback}"
    );
    // Offline: 404, as IVS playback answers a channel that is not live.
    assert_eq!(get(&playback_url, None).await.status, 404);

    let mut encoder = publish(&format!("{}{key}", server.rtmp_url().unwrap()), 6, &[]);
    assert!(
        eventually(Duration::from_secs(5), || is_live(&ivs, &arn)).await,
        "the publish takes the channel live"
    );
    let media_url = playback_url.replace(".m3u8", "/media.m3u8");
    assert!(
        eventually(Duration::from_secs(8), || async {
            get(&media_url, None).await.body.contains(".ts")
        })
        .await,
        "a segment is cut"
    );
    let probed = probe(&playback_url);
    assert!(probed.contains("h264,640,360"), "{probed}");
    assert!(probed.contains("aac"), "{probed}");
    let multivariant = get(&playback_url, None).await;
    assert_eq!(
        multivariant.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert!(
        multivariant.body.contains("RESOLUTION=640x360"),
        "{}",
        multivariant.body
    );
    assert!(
        multivariant
            .body
            .contains("CODECS=\"avc1.42C01E,mp4a.40.2\""),
        "{}",
        multivariant.body
    );

    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let session = session.stream_session().unwrap();
    let config = session.ingest_configuration().unwrap();
    let video = config.video().unwrap();
    assert_eq!((video.video_width(), video.video_height()), (640, 360));
    assert_eq!(video.codec(), Some("avc1.42C01E"));
    assert_eq!(
        (video.avc_profile(), video.avc_level()),
        (Some("Baseline"), Some("3.0"))
    );
    assert!(
        (28..=31).contains(&video.target_framerate()),
        "{}",
        video.target_framerate()
    );
    assert!(
        video.target_bitrate() > 50_000,
        "{}",
        video.target_bitrate()
    );
    assert!(
        video.encoder().unwrap().starts_with("Lavf"),
        "{:?}",
        video.encoder()
    );
    let audio = config.audio().unwrap();
    assert_eq!(audio.codec(), Some("mp4a.40.2"));
    assert_eq!((audio.sample_rate(), audio.channels()), (44_100, 1));
    assert!(
        audio.target_bitrate() > 10_000,
        "{}",
        audio.target_bitrate()
    );

    // The encoder finishes: the stream ends, the session too, and playback answers 404 again.
    assert!(exited(&mut encoder, Duration::from_secs(15))
        .await
        .is_some());
    assert!(
        eventually(Duration::from_secs(5), || async {
            !is_live(&ivs, &arn).await
        })
        .await
    );
    let session = ivs
        .get_stream_session()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let session = session.stream_session().unwrap();
    assert!(session.end_time().is_some());
    let names: Vec<_> = session
        .truncated_events()
        .iter()
        .filter_map(|e| e.name())
        .collect();
    assert_eq!(
        names,
        // Newest first: "sorted by most recent events" (StreamSession.truncatedEvents).
        [
            "Session Ended",
            "Stream End",
            "Stream Start",
            "Session Created"
        ]
    );
    assert_eq!(get(&playback_url, None).await.status, 404);
    server.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_stream_drops_the_encoder_and_keys_are_checked_at_publish() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let rtmp = server.rtmp_url().unwrap();
    let (arn, _, key) = channel(&ivs, false).await;

    // A key no channel has, before anything: refused, nothing goes live.
    let mut stranger = publish(&format!("{rtmp}sk_us-west-2_AAAAAAAAAAAA_nope"), 20, &[]);
    let status = exited(&mut stranger, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "an unknown key is refused: {status:?}"
    );

    let mut encoder = publish(&format!("{rtmp}{key}"), 30, &[]);
    assert!(eventually(Duration::from_secs(5), || is_live(&ivs, &arn)).await);
    // A second publisher with the same key: refused while the first stays live.
    let mut second = publish(&format!("{rtmp}{key}"), 20, &[]);
    let status = exited(&mut second, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "a second publisher is refused: {status:?}"
    );
    assert!(is_live(&ivs, &arn).await);
    // DeleteChannel of a live channel is refused, as before.
    let err = ivs.delete_channel().arn(&arn).send().await.unwrap_err();
    assert!(err.into_service_error().is_conflict_exception());

    // DeleteStreamKey of the live key leaves the stream live ("can be used in conjunction with
    // DeleteStreamKey to prevent further streaming", StopStream's reference says).
    let keys = ivs
        .list_stream_keys()
        .channel_arn(&arn)
        .send()
        .await
        .unwrap();
    let key_arn = keys.stream_keys()[0].arn().unwrap().to_owned();
    ivs.delete_stream_key().arn(&key_arn).send().await.unwrap();
    assert!(is_live(&ivs, &arn).await);

    // StopStream: the encoder's connection is dropped, the channel goes offline.
    ivs.stop_stream().channel_arn(&arn).send().await.unwrap();
    let status = exited(&mut encoder, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "StopStream drops the encoder: {status:?}"
    );
    assert!(!is_live(&ivs, &arn).await);

    // The deleted key no longer publishes.
    let mut deleted = publish(&format!("{rtmp}{key}"), 20, &[]);
    let status = exited(&mut deleted, Duration::from_secs(10)).await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "a deleted key is refused: {status:?}"
    );
    assert!(!is_live(&ivs, &arn).await);
    server.verify();
}

/// An ES384 playback token, signed as the IVS user guide's "Generate and Sign IVS Playback
/// Tokens" shows.
fn token(key: &P384, claims: serde_json::Value) -> String {
    key.sign_jwt(&serde_json::json!({"alg": "ES384", "typ": "JWT"}), &claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_channel_plays_only_with_a_valid_token_until_its_viewer_is_revoked() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (arn, playback_url, key) = channel(&ivs, true).await;
    let signer = P384::new();
    ivs.import_playback_key_pair()
        .public_key_material(signer.public_pem())
        .send()
        .await
        .unwrap();
    let mut encoder = publish(&format!("{}{key}", server.rtmp_url().unwrap()), 12, &[]);
    assert!(eventually(Duration::from_secs(5), || is_live(&ivs, &arn)).await);

    let now = now_secs();
    let valid = token(
        &signer,
        serde_json::json!({"aws:channel-arn": arn, "exp": now + 300, "aws:viewer-id": "viewer-1"}),
    );
    let with = |t: &str| format!("{playback_url}?token={t}");
    let media_url = playback_url.replace(".m3u8", "/media.m3u8");
    assert!(
        eventually(Duration::from_secs(8), || async {
            get(&format!("{media_url}?token={valid}"), None)
                .await
                .body
                .contains(".ts")
        })
        .await,
        "the token plays"
    );
    let probed = probe(&with(&valid));
    assert!(probed.contains("h264,640,360"), "{probed}");

    // Refused as IVS refuses, with 403: no token, an expired one, another channel's, another key's.
    let no_token = get(&playback_url, None).await;
    assert_eq!(no_token.status, 403, "{}", no_token.body);
    assert!(
        no_token.body.contains("private channel"),
        "{}",
        no_token.body
    );
    let expired = token(
        &signer,
        serde_json::json!({"aws:channel-arn": arn, "exp": now - 10}),
    );
    assert_eq!(get(&with(&expired), None).await.status, 403);
    let other = token(
        &signer,
        serde_json::json!({"aws:channel-arn": format!("{arn}x"), "exp": now + 300}),
    );
    assert_eq!(get(&with(&other), None).await.status, 403);
    let stranger = P384::new();
    let forged = token(
        &stranger,
        serde_json::json!({"aws:channel-arn": arn, "exp": now + 300}),
    );
    assert_eq!(get(&with(&forged), None).await.status, 403);
    // The token's origins: a page from another origin is refused the multivariant playlist.
    let pinned = token(
        &signer,
        serde_json::json!({"aws:channel-arn": arn, "exp": now + 300, "aws:access-control-allow-origin": "http://localhost:3000"}),
    );
    assert_eq!(
        get(&with(&pinned), Some("http://localhost:3000"))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&with(&pinned), Some("http://localhost:4000"))
            .await
            .status,
        403
    );

    // Revoking the viewer's sessions stops its token at the next request.
    ivs.start_viewer_session_revocation()
        .channel_arn(&arn)
        .viewer_id("viewer-1")
        .send()
        .await
        .unwrap();
    let revoked = get(&format!("{media_url}?token={valid}"), None).await;
    assert_eq!(revoked.status, 403, "{}", revoked.body);
    assert!(revoked.body.contains("revoked"), "{}", revoked.body);
    let _ = exited(&mut encoder, Duration::from_secs(15)).await;
    server.verify();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_and_unsupported_codecs_are_refused_and_end_the_stream() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let rtmp = server.rtmp_url().unwrap();
    for (what, args) in [
        ("audio only", &["-vn", "-c:a", "aac"][..]),
        ("Sorenson H.263 video", &["-c:v", "flv", "-c:a", "aac"][..]),
    ] {
        let (arn, _, key) = channel(&ivs, false).await;
        let mut encoder = publish(&format!("{rtmp}{key}"), 20, args);
        let status = exited(&mut encoder, Duration::from_secs(12)).await;
        assert!(
            status.is_some_and(|s| !s.success()),
            "{what} is refused: {status:?}"
        );
        assert!(
            eventually(Duration::from_secs(3), || async {
                !is_live(&ivs, &arn).await
            })
            .await,
            "{what}"
        );
    }
    server.verify();
}

/// The RTMP handshake as a client: C0 and C1, S0 to S2 read, C2.
async fn handshake(addr: SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut c0c1 = vec![3u8];
    c0c1.extend(std::iter::repeat_n(7u8, 1536));
    stream.write_all(&c0c1).await.unwrap();
    let mut s = vec![0u8; 3073];
    stream.read_exact(&mut s).await.unwrap();
    stream.write_all(&s[1..1537]).await.unwrap();
    stream
}

/// Whether the server closes the connection within `bound` (reading and discarding).
async fn closed_within(stream: &mut tokio::net::TcpStream, bound: Duration) -> bool {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_rtmp_clients_are_closed_and_bounded_and_missing_segments_are_404() {
    let server = live_server().await;
    let rtmp: SocketAddr = server
        .rtmp_url()
        .unwrap()
        .trim_start_matches("rtmp://")
        .trim_end_matches("/app/")
        .parse()
        .unwrap();

    // A client that stalls in the handshake, and one that stalls after it.
    let mut stalled = tokio::net::TcpStream::connect(rtmp).await.unwrap();
    stalled.write_all(&[3, 0, 0]).await.unwrap();
    let mut idle = handshake(rtmp).await;
    // Garbage after the handshake: a chunk header for a 16 MB message, then noise.
    let mut garbage = handshake(rtmp).await;
    garbage
        .write_all(&[0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0])
        .await
        .unwrap();
    garbage.write_all(&[0xab; 8192]).await.unwrap();
    assert!(
        closed_within(&mut stalled, Duration::from_secs(6)).await,
        "a stalled handshake is closed"
    );
    assert!(
        closed_within(&mut idle, Duration::from_secs(6)).await,
        "a silent client is closed"
    );
    assert!(
        closed_within(&mut garbage, Duration::from_secs(6)).await,
        "garbage is closed"
    );

    // A flood: connections past the limit (8 here) are closed at once; the server still answers.
    let mut flood = Vec::new();
    for _ in 0..8 {
        flood.push(tokio::net::TcpStream::connect(rtmp).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(rtmp).await.unwrap();
    assert!(
        closed_within(&mut extra, Duration::from_secs(2)).await,
        "past the limit, closed at once"
    );
    drop(flood);
    let health = raw::call(server.addr(), "GET", "/_ivs-vcr/health").await;
    assert_eq!(health.status, 200);
    assert!(health.body.contains("rtmp://"), "{}", health.body);
    // Once they are gone, a new connection is served again (and closed for its silence later).
    assert!(
        eventually(Duration::from_secs(3), || async {
            let mut s = tokio::net::TcpStream::connect(rtmp).await.unwrap();
            s.write_all(&[3]).await.is_ok()
                && !closed_within(&mut s, Duration::from_millis(300)).await
        })
        .await
    );

    // Playback paths that never existed.
    let ivs = ivs_client(&server.uri(), "us-west-2");
    let (_, playback_url, _) = channel(&ivs, false).await;
    let segment = playback_url.replace(".m3u8", "/123.ts");
    assert_eq!(get(&segment, None).await.status, 404);
    let unknown = playback_url.replace("channel.", "channel.x");
    assert_eq!(get(&unknown, None).await.status, 404);
    assert_eq!(
        get(&format!("{}/nothing", server.playback_uri().unwrap()), None)
            .await
            .status,
        404
    );
    server.verify();
}

/// `serve --rtmp-port 0 --playback-port 0` says where encoders publish and players play, on its
/// startup lines and in `/_ivs-vcr/health`; without an emulator, ingest refuses to start.
#[tokio::test]
async fn the_binary_prints_the_rtmp_and_playback_urls() {
    use crate::support::bin::{run, IvsVcr};
    let dir = tempfile::tempdir().unwrap();
    let server = IvsVcr::start(
        &[
            "serve",
            "--port",
            "0",
            "--rtmp-port",
            "0",
            "--playback-port",
            "0",
        ],
        dir.path(),
    );
    let health = raw::call(server.addr(), "GET", "/_ivs-vcr/health").await;
    let health: serde_json::Value = serde_json::from_str(&health.body).unwrap();
    let rtmp = health["live"]["rtmp"].as_str().unwrap().to_owned();
    let playback = health["live"]["playback"].as_str().unwrap().to_owned();
    assert!(
        rtmp.starts_with("rtmp://127.0.0.1:") && rtmp.ends_with("/app/<streamKey>"),
        "{rtmp}"
    );
    assert!(playback.starts_with("http://127.0.0.1:"), "{playback}");
    let finished = server.stop();
    assert!(
        finished
            .stdout
            .contains(&format!("RTMP ingest: publish to {rtmp}")),
        "{}",
        finished.stdout
    );
    assert!(
        finished
            .stdout
            .contains(&format!("HLS playback: {playback}/api/video/v1/")),
        "{}",
        finished.stdout
    );

    let fixture = crate::support::fixture("replay/flow.yaml");
    let refused = run(
        &[
            "replay",
            "--port",
            "0",
            "--rtmp-port",
            "0",
            "--cassettes",
            fixture.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(!refused.status.success());
    assert!(
        refused
            .stderr
            .contains("RTMP ingest and HLS playback need the emulator"),
        "{}",
        refused.stderr
    );
}

/// Issue 26 §1: a Real-Time ingest configuration's stream key publishes into its stage over RTMP:
/// the configuration goes ACTIVE, its participant joins and publishes; the encoder leaving takes
/// the participant out. A key no configuration has is refused at publish.
#[tokio::test]
async fn a_real_time_ingest_key_publishes_its_participant_into_the_stage() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let rt = crate::support::realtime_client(&server.uri(), "us-west-2");
    let stage = rt.create_stage().name("studio").send().await.unwrap();
    let stage_arn = stage.stage().unwrap().arn().to_owned();
    let created = rt
        .create_ingest_configuration()
        .stage_arn(&stage_arn)
        .ingest_protocol(aws_sdk_ivsrealtime::types::IngestProtocol::Rtmp)
        .insecure_ingest(true)
        .user_id("encoder")
        .send()
        .await
        .unwrap();
    let config = created.ingest_configuration().unwrap();
    let (config_arn, key, participant_id) = (
        config.arn().to_owned(),
        config.stream_key().to_owned(),
        config.participant_id().to_owned(),
    );
    let state = || async {
        rt.get_ingest_configuration()
            .arn(&config_arn)
            .send()
            .await
            .unwrap()
            .ingest_configuration()
            .unwrap()
            .state()
            .as_str()
            .to_owned()
    };
    assert_eq!(state().await, "INACTIVE");

    let mut encoder = publish(&format!("{}{key}", server.rtmp_url().unwrap()), 3, &[]);
    assert!(
        eventually(Duration::from_secs(5), || async {
            state().await == "ACTIVE"
        })
        .await,
        "the publish makes the configuration ACTIVE"
    );
    let session = rt
        .get_stage()
        .arn(&stage_arn)
        .send()
        .await
        .unwrap()
        .stage()
        .unwrap()
        .active_session_id()
        .unwrap()
        .to_owned();
    let participant = || async {
        rt.get_participant()
            .stage_arn(&stage_arn)
            .session_id(&session)
            .participant_id(&participant_id)
            .send()
            .await
            .unwrap()
            .participant()
            .cloned()
            .unwrap()
    };
    let joined = participant().await;
    assert_eq!(joined.state().map(|s| s.as_str()), Some("CONNECTED"));
    assert!(joined.published(), "{joined:?}");
    assert_eq!(joined.user_id(), Some("encoder"));

    assert!(exited(&mut encoder, Duration::from_secs(15))
        .await
        .is_some());
    assert!(
        eventually(Duration::from_secs(5), || async {
            participant().await.state().map(|s| s.as_str()) == Some("DISCONNECTED")
        })
        .await,
        "the encoder leaving takes its participant out"
    );
    assert_eq!(state().await, "INACTIVE");

    // A key of the right shape that no configuration has: refused, nothing joins.
    let mut forged = publish(
        &format!(
            "{}rt_123456789012_us-west-2_AbCdEfGhIjKl_{}",
            server.rtmp_url().unwrap(),
            "x".repeat(30)
        ),
        2,
        &[],
    );
    let status = exited(&mut forged, Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_key_of_another_account_publishes_and_plays_in_that_account() {
    let Some(server) = ffmpeg_server().await else {
        return;
    };
    let worker = crate::support::ivs_client_as(&server.uri(), "us-west-2", "111111111111");
    let default = ivs_client(&server.uri(), "us-west-2");
    let (arn, playback_url, key) = channel(&worker, false).await;
    assert!(arn.contains(":111111111111:channel/"), "{arn}");
    assert!(
        playback_url.contains("us-west-2.111111111111.channel."),
        "{playback_url}"
    );

    // Ingest finds the key whatever account holds it.
    let mut encoder = publish(&format!("{}{key}", server.rtmp_url().unwrap()), 6, &[]);
    assert!(
        eventually(Duration::from_secs(5), || is_live(&worker, &arn)).await,
        "the publish takes the worker's channel live"
    );
    assert!(
        !is_live(&default, &arn).await,
        "another account sees no stream"
    );
    assert!(default
        .list_streams()
        .send()
        .await
        .unwrap()
        .streams()
        .is_empty());
    assert!(
        eventually(Duration::from_secs(8), || async {
            get(&playback_url, None).await.status == 200
        })
        .await,
        "the worker's channel plays"
    );
    let _ = exited(&mut encoder, Duration::from_secs(15)).await;
    server.verify();
}
