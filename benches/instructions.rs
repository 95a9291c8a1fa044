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
//! the baseline. `callgrind_annotate` on the two outputs shows where the difference goes. User
//! space only: the kernel's share, most of a request on loopback, is not counted. Run without
//! valgrind it just serves and exits.

mod support;

use ivs_vcr::{Cassette, ReplayServer};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: instructions (replay | bare | bare-headers) REQUESTS";
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
            other => panic!("{other}? {usage}"),
        };
        let mut conn = support::RawConn::connect(addr).await;
        let requests: Vec<Vec<u8>> = (0..10)
            .map(|i| {
                let body = format!(
                    r#"{{"arn": "arn:aws:ivs:us-west-2:123456789012:channel/bench{i:07}"}}"#
                );
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
