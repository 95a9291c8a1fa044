//! Instructions per replayed request, for callgrind: a count that does not move with the VM's
//! noise, so two builds can be compared change by change. One thread runs a server and a client
//! that sends signed GetChannel requests one after another over one keep-alive connection.
//!
//! ```sh
//! cargo bench --bench instructions --no-run        # prints the binary's path
//! for n in 2000 6000; do valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.$n \
//!     target/release/deps/instructions-<hash> replay $n; done
//! ```
//!
//! The difference between the two totals over 4,000 is the instructions a request costs, client
//! included; run `bare` and `bare-headers` (bare hyper, with replay's headers) the same way for
//! the baseline, and `emulator` for emulated GetChannel (after ten CreateChannel calls).
//! `callgrind_annotate` on the two outputs shows where the difference goes. User space only: the
//! kernel's share, most of a request on loopback, is not counted. Run without valgrind it just
//! serves and exits.

mod support;

use ivs_vcr::{Cassette, ReplayServer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: instructions (replay | emulator | bare | bare-headers) REQUESTS";
    let which = args.get(1).expect(usage).clone();
    let n: usize = args.get(2).and_then(|n| n.parse().ok()).expect(usage);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let mut _server = None;
        let addr = match which.as_str() {
            "bare" => support::fixed_answer_server(&[]).await,
            "bare-headers" => {
                support::fixed_answer_server(&[
                    ("x-amzn-RequestId", support::REQUEST_ID),
                    ("x-ivs-vcr-source", "bench#1"),
                    ("x-ivs-vcr-match", "exact"),
                ])
                .await
            }
            "replay" => {
                let cassette =
                    Cassette::from_yaml(&support::cassette_yaml(10), "bench.yaml".as_ref())
                        .expect("bench cassette parses");
                let server = ReplayServer::builder()
                    .cassette(cassette)
                    .start()
                    .await
                    .expect("replay starts");
                let addr = server.addr();
                _server = Some(server);
                addr
            }
            "emulator" => {
                let server = ReplayServer::emulator().await;
                let addr = server.addr();
                _server = Some(server);
                addr
            }
            other => panic!("{other}? {usage}"),
        };
        let mut conn = support::RawConn::connect(addr).await;
        // The emulator answers for the channels it was asked to create.
        let mut arns: Vec<String> = (0..10)
            .map(|i| format!("arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}"))
            .collect();
        if which == "emulator" {
            for (i, arn) in arns.iter_mut().enumerate() {
                let body = format!(r#"{{"name": "bench{i}"}}"#);
                let mut request =
                    support::raw_head(addr, "/CreateChannel", "us-west-2", body.len()).into_bytes();
                request.extend_from_slice(body.as_bytes());
                let (status, answer) = conn.call(&request).await.expect("CreateChannel answers");
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(answer));
                let answer: serde_json::Value =
                    serde_json::from_slice(answer).expect("a JSON answer");
                *arn = answer["channel"]["arn"]
                    .as_str()
                    .expect("an ARN")
                    .to_owned();
            }
        }
        let requests: Vec<Vec<u8>> = arns
            .iter()
            .map(|arn| {
                let body = format!(r#"{{"arn": "{arn}"}}"#);
                let mut request =
                    support::raw_head(addr, "/GetChannel", "us-west-2", body.len()).into_bytes();
                request.extend_from_slice(body.as_bytes());
                request
            })
            .collect();
        for i in 0..n {
            let (status, _) = conn.call(&requests[i % 10]).await.expect("an answer");
            assert_eq!(status, 200);
        }
    });
}
