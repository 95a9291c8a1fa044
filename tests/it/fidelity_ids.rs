//! The formats of the identifiers and secrets the emulator mints, held to real IVS answers
//! (issue 27): each format is a regex built from real examples, which a unit test matches
//! verbatim (so no regex is looser or stricter than what IVS returned), and one black-box test
//! creates one of each resource through aws-sdk-ivs, -ivschat and -ivsrealtime and checks every
//! id and secret it got against them. `docs/fidelity/*.yaml` cite these tests.
//!
//! Secrets quoted from public repositories are kept here with their random part masked class for
//! class (`x` a lowercase letter, `X` an uppercase one, `0` a digit), so the length, alphabet and
//! case a regex checks survive while a third party's credential is not republished; AWS's own
//! documentation examples and an expired participant token are quoted whole.

use aws_sdk_ivschat::types::ChatTokenCapability;
use aws_sdk_ivsrealtime::types::{
    DestinationConfiguration, IngestProtocol, S3DestinationConfiguration,
};
use ivs_vcr::ReplayServer;
use regex::Regex;
use serde_json::{json, Value};

use crate::support::keys::FIXED_PUBLIC_PEM;
use crate::support::stages::new_storage;
use crate::support::{chat_client, ivs_client, raw, realtime_client};

/// One identifier or secret: its name, the regex every value must match whole, and real examples
/// with where each is from.
struct Format {
    name: &'static str,
    pattern: &'static str,
    examples: &'static [(&'static str, &'static str)],
}

/// AWS CLI's example pages (`aws/aws-cli`, `awscli/examples/<service>/<command>.rst`): AWS's own
/// examples, ids in IVS's shape though not from a live account.
const CLI: &str = "aws/aws-cli awscli/examples";
/// A gaming hub's notes of its real channel (`Albinator3000/aws3-globalgaming`,
/// `gg-hub/src/client/ivsstreamdetails.js`).
const GLOBALGAMING: &str = "Albinator3000/aws3-globalgaming gg-hub/src/client/ivsstreamdetails.js";
/// A Flutter stage demo's real CreateParticipantToken answers (`SunilDevX/flutter_ivs_stage`,
/// `example/lib/main.dart`), tokens that expired 2025-09-03.
const FLUTTER: &str = "SunilDevX/flutter_ivs_stage example/lib/main.dart";

/// An ARN of `service` and `resource_type` whose id is 12 alphanumerics.
macro_rules! arn_format {
    ($name:expr, $service:literal, $type:literal, $examples:expr) => {
        Format {
            name: $name,
            pattern: concat!(
                "^arn:aws:",
                $service,
                r":[a-z]{2}(-[a-z]+)+-\d:\d{12}:",
                $type,
                "/[A-Za-z0-9]{12}$"
            ),
            examples: $examples,
        }
    };
}

/// Every format, by name.
const FORMATS: &[Format] = &[
    arn_format!(
        "channel ARN",
        "ivs",
        "channel",
        &[
            (GLOBALGAMING, "arn:aws:ivs:us-west-2:251394915937:channel/aVHZaA2R5mCI"),
            (CLI, "arn:aws:ivs:us-west-2:123456789012:channel/abcdABCDefgh"),
        ]
    ),
    arn_format!(
        "stream key ARN",
        "ivs",
        "stream-key",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:stream-key/g1H2I3j4k5L6")]
    ),
    arn_format!(
        "recording configuration ARN",
        "ivs",
        "recording-configuration",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:recording-configuration/ABCD12cdEFgh")]
    ),
    arn_format!(
        "playback key pair ARN",
        "ivs",
        "playback-key",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:playback-key/abcd1234efgh")]
    ),
    arn_format!(
        "playback restriction policy ARN",
        "ivs",
        "playback-restriction-policy",
        &[(GLOBALGAMING, "arn:aws:ivs:us-west-2:251394915937:playback-restriction-policy/wzFLQxpUBA15")]
    ),
    Format {
        name: "ingest endpoint",
        pattern: r"^[0-9a-f]{12}\.global-contribute\.live-video\.net$",
        examples: &[
            (GLOBALGAMING, "6376322642cf.global-contribute.live-video.net"),
            (
                "https://community.aws/content/2ZVIrnKEpmTi4M9bmoQQdhAiHfC/build-a-ugc-live-streaming-app-with-amazon-ivs-displaying-stream-credentials-lesson-3-1",
                "f99084460c35.global-contribute.live-video.net",
            ),
        ],
    },
    Format {
        name: "playback URL",
        pattern: r"^https://[0-9a-f]{12}\.[a-z]{2}(-[a-z]+)+-\d\.playback\.live-video\.net/api/video/v1/[a-z]{2}(-[a-z]+)+-\d\.\d{12}\.channel\.[A-Za-z0-9]{12}\.m3u8$",
        examples: &[(
            GLOBALGAMING,
            "https://6376322642cf.us-west-2.playback.live-video.net/api/video/v1/us-west-2.251394915937.channel.aVHZaA2R5mCI.m3u8",
        )],
    },
    Format {
        name: "SRT endpoint",
        pattern: r"^[0-9a-f]{12}\.srt\.live-video\.net$",
        examples: &[(CLI, "a1b2c3d4e5f6.srt.live-video.net")],
    },
    Format {
        name: "SRT passphrase",
        pattern: r"^[A-Za-z0-9]{69,79}$",
        examples: &[
            (
                "https://docs.aws.amazon.com/ivs/latest/LowLatencyUserGuide/getting-started-set-up-streaming.html",
                "ZU5A3yrjGAkghUNDr0c5NXBhsPrjlmtcKMNBluh7oImwJQ3ijeyClvMKxlpPcGAMziICJ",
            ),
            (
                CLI,
                "AB1C2defGHijkLMNo3PqQRstUvwxyzaBCDEfghh4ijklMN5opqrStuVWxyzAbCDEfghIJ",
            ),
            (
                "a recorded CreateChannel answer in a public Vue demo (masked)",
                "Xx0xXxxXxX0XXXxxXXx0XxX0X0x0X0xxXXxXXXX0xXX0xXXXXXXXxxxXxXXXxxxX0XX0Xx0XxXXXXxx",
            ),
        ],
    },
    Format {
        name: "stream key value",
        pattern: r"^sk_[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]{12}_[A-Za-z0-9]{30}$",
        examples: &[(
            "Albinator3000/aws3-globalgaming gg-hub/src/client/ivsstreamdetails.js (masked)",
            "sk_us-west-2_3jeOhfUEEueC_xXXX0xXxXXXXxx0xxXXX0xXxXXxXxX",
        )],
    },
    Format {
        name: "playback key pair fingerprint",
        pattern: r"^[0-9a-f]{2}(:[0-9a-f]{2}){15}$",
        examples: &[(CLI, "0a:1b:2c:ab:cd:ef:34:56:70:b1:b2:71:01:2a:a3:72")],
    },
    Format {
        name: "stream id",
        pattern: r"^st-[A-Za-z0-9]{23}$",
        examples: &[(CLI, "st-ABCDEfghij01234KLMN5678")],
    },
    arn_format!(
        "chat room ARN",
        "ivschat",
        "room",
        &[(
            "hashicorp/terraform-provider-aws website/docs/r/ivschat_room.html.markdown",
            "arn:aws:ivschat:us-west-2:326937407773:room/GoXEXyB4VwHb",
        )]
    ),
    arn_format!(
        "chat logging configuration ARN",
        "ivschat",
        "logging-configuration",
        &[(
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-ivschat-loggingconfiguration.html",
            "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/abcdABCDefgh",
        )]
    ),
    Format {
        name: "chat token",
        pattern: r"^AQICAH[g-v][A-Za-z0-9_-]+$",
        // Inferred: no whole real token was found (AWS's example is `ACEGmnoq#1rstu2...`). A KMS
        // ciphertext blob opens `01 02 02 00 78`, hence `AQICAH` and one of `g`…`v`; the
        // base64url alphabet is what a WebSocket subprotocol can carry (see `emulator::chat`).
        examples: &[],
    },
    arn_format!(
        "stage ARN",
        "ivs",
        "stage",
        &[(FLUTTER, "arn:aws:ivs:us-east-1:655758237974:stage/uAVDFdSTytHE")]
    ),
    arn_format!(
        "encoder configuration ARN",
        "ivs",
        "encoder-configuration",
        &[(CLI, "arn:aws:ivs:ap-northeast-1:123456789012:encoder-configuration/ABabCDcdEFef")]
    ),
    arn_format!(
        "storage configuration ARN",
        "ivs",
        "storage-configuration",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:storage-configuration/abcdABCDefgh")]
    ),
    arn_format!(
        "ingest configuration ARN",
        "ivs",
        "ingest-configuration",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:ingest-configuration/AbCdEfGh1234")]
    ),
    arn_format!(
        "public key ARN",
        "ivs",
        "public-key",
        &[(CLI, "arn:aws:ivs:us-west-2:123456789012:public-key/abcdABC1efg2")]
    ),
    arn_format!(
        "composition ARN",
        "ivs",
        "composition",
        &[(CLI, "arn:aws:ivs:ap-northeast-1:123456789012:composition/abcdABCDefgh")]
    ),
    Format {
        name: "participant id",
        pattern: r"^[A-Za-z0-9]{12}$",
        examples: &[(CLI, "abCDEf12GHIj"), (FLUTTER, "a5XS7s83Higi")],
    },
    Format {
        name: "stage session id",
        pattern: r"^st-[A-Za-z0-9]{13}$",
        examples: &[(CLI, "st-a1b2c3d4e5f6g")],
    },
    Format {
        name: "participant token",
        // The header is `{"alg":"KMS","typ":"JWT"}` in base64url; the signature is a P-384 ECDSA
        // signature in DER (`0x30 0x6?`, about 102 to 104 bytes).
        pattern: r"^eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ\.[A-Za-z0-9_-]+\.MG[A-Za-z0-9_-]{130,137}$",
        examples: &[(
            FLUTTER,
            "eyJhbGciOiJLTVMiLCJ0eXAiOiJKV1QifQ.eyJleHAiOjE3NTY5MjMxMTgsImlhdCI6MTc1NjcwNzExOCwianRpIjoiYTVYUzdzODNIaWdpIiwicmVzb3VyY2UiOiJhcm46YXdzOml2czp1cy1lYXN0LTE6NjU1NzU4MjM3OTc0OnN0YWdlL3VBVkRGZFNUeXRIRSIsInRvcGljIjoidUFWREZkU1R5dEhFIiwiZXZlbnRzX3VybCI6IndzczovL2dsb2JhbC5ldmVudHMubGl2ZS12aWRlby5uZXQiLCJ3aGlwX3VybCI6Imh0dHBzOi8vNzQ1M2EwZTk1ZGI0Lmdsb2JhbC1ibS53aGlwLmxpdmUtdmlkZW8ubmV0IiwidXNlcl9pZCI6Imd1ZXN0LTE3NTY3MDcxMTciLCJjYXBhYmlsaXRpZXMiOnsiYWxsb3dfcHVibGlzaCI6dHJ1ZSwiYWxsb3dfc3Vic2NyaWJlIjp0cnVlfSwidmVyc2lvbiI6IjAuMCJ9.MGYCMQCZxkZ53StQOz4StAA-gAu2NE8iYFuhOrFaAqIUXW8lMewqEBPI9mZwYxWgNJy7DAsCMQC8VlQUDiCNQHY1SGCuP321vlr2JxcIcY2mded-nugzdbfQ8CROoOzCOnX3-Juk7Fo",
        )],
    },
    Format {
        name: "ingest stream key",
        pattern: r"^rt_\d{12}_[a-z]{2}(-[a-z]+)+-\d_[A-Za-z0-9]{12}_[A-Za-z0-9]{30}$",
        examples: &[(
            CLI,
            "rt_123456789012_us-west-2_AbCdEfGh1234_abcd1234efgh5678ijkl9012MNOP34",
        )],
    },
    Format {
        name: "stage events endpoint",
        pattern: r"^wss://global\.events\.live-video\.net$",
        examples: &[(FLUTTER, "wss://global.events.live-video.net")],
    },
    Format {
        name: "stage WHIP endpoint",
        pattern: r"^https://[0-9a-f]{12}\.global-bm\.whip\.live-video\.net$",
        examples: &[(FLUTTER, "https://7453a0e95db4.global-bm.whip.live-video.net")],
    },
    Format {
        name: "stage RTMP endpoint",
        // Inferred: AWS's example reads `rtmp://9x0y8z7s6t5u.global-contribute-staging.live-video.net/app/`,
        // a placeholder host on what reads as a staging domain; the production host and the
        // account prefix of the WHIP endpoint are assumed.
        pattern: r"^rtmp://[0-9a-f]{12}\.global-contribute\.live-video\.net/app/$",
        examples: &[],
    },
    Format {
        name: "stage RTMPS endpoint",
        // Inferred, as the RTMP endpoint.
        pattern: r"^rtmps://[0-9a-f]{12}\.global-contribute\.live-video\.net:443/app/$",
        examples: &[],
    },
    Format {
        name: "public key fingerprint",
        pattern: r"^[0-9a-f]{2}(:[0-9a-f]{2}){15}$",
        examples: &[(CLI, "0a:1b:2c:ab:cd:ef:34:56:70:b1:b2:71:01:2a:a3:72")],
    },
];

/// The format called `name`.
fn format(name: &str) -> &'static Format {
    FORMATS
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no format `{name}`"))
}

/// Panics unless `value` matches the format called `name`, naming both.
fn check(name: &str, value: &str) {
    let format = format(name);
    // Invariant: `every_format_matches_its_real_examples_verbatim` compiles every pattern.
    let regex = Regex::new(format.pattern).unwrap();
    assert!(
        regex.is_match(value),
        "{name} does not have IVS's format\nexpected: /{}/\ngot:      {value}",
        format.pattern
    );
}

#[test]
fn every_format_matches_its_real_examples_verbatim() {
    for format in FORMATS {
        let regex = Regex::new(format.pattern)
            .unwrap_or_else(|e| panic!("{}: bad pattern: {e}", format.name));
        for (source, example) in format.examples {
            assert!(
                regex.is_match(example),
                "{}: the real example from {source} does not match\npattern: /{}/\nexample: {example}",
                format.name,
                format.pattern
            );
        }
    }
}

#[test]
fn the_formats_refuse_what_the_emulator_used_to_mint() {
    // A 44-character SRT passphrase, a chat token whose seventh character no KMS blob has, an ES384
    // participant token and a 36-character ingest key tail: the shapes before issue 27.
    for (name, old) in [
        ("SRT passphrase", "A".repeat(44)),
        ("chat token", format!("AQICAHA{}", "b".repeat(233))),
        (
            "participant token",
            format!(
                "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCJ9.e30.{}",
                "A".repeat(128)
            ),
        ),
        (
            "ingest stream key",
            format!("rt_123456789012_us-west-2_AbCdEfGh1234_{}", "a".repeat(36)),
        ),
    ] {
        let regex = Regex::new(format(name).pattern).unwrap();
        assert!(!regex.is_match(&old), "{name} still takes {old}");
    }
}

/// The claims of a compact JWT.
fn jwt_claims(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("three parts");
    let bytes = base64url(part);
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// Decodes unpadded base64url.
fn base64url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn minted_ids_and_secrets_have_the_formats_ivs_returns() {
    let server = ReplayServer::emulator().await;
    let ivs = ivs_client(&server.uri(), "us-west-2");

    // IVS: a channel (ARN, ingest and SRT endpoints, playback URL, passphrase, its stream key).
    let created = ivs.create_channel().send().await.unwrap();
    let channel = created.channel().unwrap();
    let key = created.stream_key().unwrap();
    check("channel ARN", channel.arn().unwrap());
    check("stream key ARN", key.arn().unwrap());
    check("stream key value", key.value().unwrap());
    let key_id = key.arn().unwrap().rsplit('/').next().unwrap();
    assert!(key.value().unwrap().contains(&format!("_{key_id}_")));
    let ingest = channel.ingest_endpoint().unwrap();
    check("ingest endpoint", ingest);
    let playback = channel.playback_url().unwrap();
    check("playback URL", playback);
    let prefix = &ingest[..12];
    let channel_id = channel.arn().unwrap().rsplit('/').next().unwrap();
    assert!(playback.starts_with(&format!("https://{prefix}.us-west-2.")));
    assert!(playback.ends_with(&format!(".channel.{channel_id}.m3u8")));
    let srt = channel.srt().unwrap();
    check("SRT endpoint", srt.endpoint().unwrap());
    assert!(srt.endpoint().unwrap().starts_with(prefix));
    check("SRT passphrase", srt.passphrase().unwrap());
    // One account shares one prefix in a region, as Kick's channels all ingest at one host.
    let other = ivs.create_channel().send().await.unwrap();
    assert_eq!(other.channel().unwrap().ingest_endpoint(), Some(ingest));

    let recording = ivs
        .create_recording_configuration()
        .destination_configuration(
            aws_sdk_ivs::types::DestinationConfiguration::builder()
                .s3(aws_sdk_ivs::types::S3DestinationConfiguration::builder()
                    .bucket_name("vods")
                    .build()
                    .unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    check(
        "recording configuration ARN",
        recording.recording_configuration().unwrap().arn(),
    );
    let pair = ivs
        .import_playback_key_pair()
        .public_key_material(FIXED_PUBLIC_PEM)
        .send()
        .await
        .unwrap();
    let pair = pair.key_pair().unwrap();
    check("playback key pair ARN", pair.arn().unwrap());
    check("playback key pair fingerprint", pair.fingerprint().unwrap());
    let policy = ivs
        .create_playback_restriction_policy()
        .send()
        .await
        .unwrap();
    check(
        "playback restriction policy ARN",
        policy.playback_restriction_policy().unwrap().arn(),
    );
    let started = raw::post(
        server.addr(),
        "/_ivs-vcr/streams/start",
        &json!({"channelArn": channel.arn().unwrap()}).to_string(),
    )
    .await;
    assert_eq!(started.status, 200, "{}", started.body);
    let stream = ivs
        .get_stream()
        .channel_arn(channel.arn().unwrap())
        .send()
        .await
        .unwrap();
    check("stream id", stream.stream().unwrap().stream_id().unwrap());

    // IVS Chat: a room, a logging configuration, a token.
    let chat = chat_client(&server.uri(), "us-west-2");
    let room = chat.create_room().send().await.unwrap();
    check("chat room ARN", room.arn().unwrap());
    let logging = crate::support::create_s3_logging(&chat, None).await;
    check("chat logging configuration ARN", logging.arn().unwrap());
    let token = chat
        .create_chat_token()
        .room_identifier(room.arn().unwrap())
        .user_id("ana")
        .capabilities(ChatTokenCapability::SendMessage)
        .send()
        .await
        .unwrap();
    check("chat token", token.token().unwrap());

    // IVS Real-Time: a stage with its endpoints, a token, a session and participant, the
    // configurations, a public key and a composition.
    let rt = realtime_client(&server.uri(), "us-west-2");
    let stage = rt.create_stage().send().await.unwrap();
    let stage = stage.stage().unwrap();
    check("stage ARN", stage.arn());
    let endpoints = stage.endpoints().unwrap();
    check("stage events endpoint", endpoints.events().unwrap());
    check("stage WHIP endpoint", endpoints.whip().unwrap());
    check("stage RTMP endpoint", endpoints.rtmp().unwrap());
    check("stage RTMPS endpoint", endpoints.rtmps().unwrap());
    // The account's prefix, as real tokens' `whip_url` shares its channels' ingest host's.
    assert!(endpoints
        .whip()
        .unwrap()
        .starts_with(&format!("https://{prefix}.")));
    let minted = rt
        .create_participant_token()
        .stage_arn(stage.arn())
        .user_id("ana")
        .send()
        .await
        .unwrap();
    let minted = minted.participant_token().unwrap();
    check("participant id", minted.participant_id().unwrap());
    check("participant token", minted.token().unwrap());
    let claims = jwt_claims(minted.token().unwrap());
    assert_eq!(claims["version"], "0.0", "{claims}");
    assert_eq!(claims["jti"].as_str(), minted.participant_id());
    assert!(claims.get("attributes").is_none(), "{claims}");
    let joined = raw::post(
        server.addr(),
        "/_ivs-vcr/stages/join",
        &json!({"token": minted.token().unwrap(), "publish": true}).to_string(),
    )
    .await;
    assert_eq!(joined.status, 200, "{}", joined.body);
    let sessions = rt
        .list_stage_sessions()
        .stage_arn(stage.arn())
        .send()
        .await
        .unwrap();
    check(
        "stage session id",
        sessions.stage_sessions()[0].session_id().unwrap(),
    );

    let storage_arn = &new_storage(&rt, "vods", None).await;
    check("storage configuration ARN", storage_arn);
    let encoder = rt.create_encoder_configuration().send().await.unwrap();
    let encoder_arn = encoder.encoder_configuration().unwrap().arn();
    check("encoder configuration ARN", encoder_arn);
    let ingest_config = rt
        .create_ingest_configuration()
        .ingest_protocol(IngestProtocol::Rtmps)
        .send()
        .await
        .unwrap();
    let ingest_config = ingest_config.ingest_configuration().unwrap();
    check("ingest configuration ARN", ingest_config.arn());
    check("ingest stream key", ingest_config.stream_key());
    check("participant id", ingest_config.participant_id());
    let public_key = rt
        .import_public_key()
        .public_key_material(FIXED_PUBLIC_PEM)
        .send()
        .await
        .unwrap();
    let public_key = public_key.public_key().unwrap();
    check("public key ARN", public_key.arn().unwrap());
    check("public key fingerprint", public_key.fingerprint().unwrap());
    let composition = rt
        .start_composition()
        .stage_arn(stage.arn())
        .destinations(
            DestinationConfiguration::builder()
                .s3(S3DestinationConfiguration::builder()
                    .storage_configuration_arn(storage_arn)
                    .encoder_configuration_arns(encoder_arn)
                    .build()
                    .unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    check("composition ARN", composition.composition().unwrap().arn());
}
