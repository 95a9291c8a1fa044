//! IVS ARNs: `arn:aws:ivs:<region>:<account>:<resource-type>/<id>`. Parsing and minting live here
//! so that the emulator, replay's region translation and the account scrub agree on one grammar.

/// The parts of an IVS ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// The region, e.g. `us-west-2`.
    pub region: &'a str,
    /// The 12-digit account id.
    pub account: &'a str,
    /// The resource type, e.g. `channel` or `stream-key`.
    pub resource_type: &'a str,
    /// The resource id after the `/`.
    pub id: &'a str,
}

/// The resource types IVS names in its ARNs, as the model's ARN patterns spell them.
pub const RESOURCE_TYPES: &[&str] = &[
    "ad-configuration",
    "channel",
    "failover-slate-configuration",
    "playback-key",
    "playback-restriction-policy",
    "recording-configuration",
    "stream-key",
];

/// Parses an IVS ARN in the `aws` partition; `None` for anything else.
pub fn parse(text: &str) -> Option<Arn<'_>> {
    let rest = text.strip_prefix("arn:aws:ivs:")?;
    let (region, rest) = rest.split_once(':')?;
    let (account, resource) = rest.split_once(':')?;
    let (resource_type, id) = resource.split_once('/')?;
    let valid = !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !account.is_empty()
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource_type.is_empty()
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(Arn {
        region,
        account,
        resource_type,
        id,
    })
}

/// Builds the ARN of a resource.
pub fn mint(region: &str, account: &str, resource_type: &str, id: &str) -> String {
    format!("arn:aws:ivs:{region}:{account}:{resource_type}/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_parse_and_mint_round_trip() {
        let text = "arn:aws:ivs:us-west-2:123456789012:stream-key/g1H2I3j4k5L6";
        let arn = parse(text).unwrap();
        assert_eq!(
            (arn.region, arn.account, arn.resource_type, arn.id),
            ("us-west-2", "123456789012", "stream-key", "g1H2I3j4k5L6")
        );
        assert_eq!(mint(arn.region, arn.account, arn.resource_type, arn.id), text);
        for bad in [
            "nope",
            "arn:aws:ivs:us-west-2:123456789012:channel",
            "arn:aws:ivs:us-west-2:12x:channel/abc",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ivs:us-west-2:123456789012:channel/",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
