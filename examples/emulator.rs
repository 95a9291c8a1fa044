//! The README's Rust example as a program: an emulated IVS account, driven by aws-sdk-ivs.
//!
//! `cargo run --example emulator` prints the channel it created and read back.

use aws_sdk_ivs::config::{BehaviorVersion, Credentials, Region};
use ivs_vcr::ReplayServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = ReplayServer::emulator().await; // an empty IVS account on a free port
    let config = aws_sdk_ivs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(server.uri())
        .build();
    let ivs = aws_sdk_ivs::Client::from_conf(config);
    let created = ivs.create_channel().name("demo").send().await?;
    let arn = created.channel().and_then(|c| c.arn()).ok_or("no ARN")?;
    let read = ivs.get_channel().arn(arn).send().await?;
    assert_eq!(read.channel().and_then(|c| c.name()), Some("demo"));
    println!("created and read back {arn}");
    server.verify(); // panics listing unmatched requests; also runs on drop
    Ok(())
}
