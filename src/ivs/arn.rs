//! Amazon Resource Names: the one place that takes them apart and makes them.
//!
//! `arn:<partition>:<service>:<region>:<account>:<resource type>/<resource id>`. Three parts of
//! ivs-vcr look inside ARNs: `redact` replaces the account ([`scrub_account`], also inside
//! percent-encoded `/tags/` paths), `diff` masks the account and resource id of every ARN in a
//! string ([`mask_all`]), and region-portable replay answers with another region (replay translates
//! region names textually, since they also appear outside ARNs; [`with_region`] is the ARN-level
//! form), and the emulator mints IVS ARNs ([`mint`]) and parses what clients send ([`parse_ivs`]).
//! Everything here is pure.

use std::borrow::Cow;

/// The account every ARN carries after `scrub_account`.
pub const ACCOUNT_PLACEHOLDER: &str = "000000000000";

/// An ARN, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// `ivs`, `iam`, `s3`, …
    pub service: &'a str,
    /// Empty for global resources.
    pub region: &'a str,
    /// The 12-digit account; empty for some services.
    pub account: &'a str,
    /// What comes before the first `/` or `:` of the resource (`channel`), or the whole
    /// resource when there is no separator.
    pub resource_type: &'a str,
    /// What comes after it (`abcdEFGH1234`); empty when there is no separator.
    pub resource_id: &'a str,
}

/// Parses a whole string as an ARN written with `:`.
pub fn parse(text: &str) -> Option<Arn<'_>> {
    // One pass over the bytes: every emulated request with an ARN parses one, and `split` found
    // each `:` with a search set up anew, about 2,000 instructions an ARN.
    let rest = text.strip_prefix("arn:")?;
    let mut fields = [""; 4];
    let (mut n, mut start) = (0, 0);
    for (at, &byte) in rest.as_bytes().iter().enumerate() {
        if byte == b':' {
            // `:` is ASCII, so both ends are character boundaries.
            fields[n] = &rest[start..at];
            (n, start) = (n + 1, at + 1);
            if n == fields.len() {
                break;
            }
        }
    }
    if n < fields.len() {
        return None;
    }
    let [partition, service, region, account] = fields;
    let resource = &rest[start..];
    let (resource_type, resource_id) = match memchr::memchr2(b'/', b':', resource.as_bytes()) {
        Some(idx) => (&resource[..idx], &resource[idx + 1..]),
        None => (resource, ""),
    };
    Some(Arn {
        partition,
        service,
        region,
        account,
        resource_type,
        resource_id,
    })
}

/// `arn` with its region replaced, when it is an ARN; everything else stays as written.
pub fn with_region(arn: &str, region: &str) -> Option<String> {
    let parsed = parse(arn)?;
    // `arn:` + partition + `:` + service + `:` is where the region starts.
    let start = 4 + parsed.partition.len() + 1 + parsed.service.len() + 1;
    let end = start + parsed.region.len();
    Some(format!("{}{region}{}", &arn[..start], &arn[end..]))
}

/// Replaces the account of every ARN in `text` with [`ACCOUNT_PLACEHOLDER`]. ARNs may be written
/// with `:` or with `%3A` (a percent-encoded `/tags/` path).
pub fn scrub_account(text: &str) -> Cow<'_, str> {
    if !text.contains("arn") {
        return scrub_playback_account(text);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find("arn") {
        let start = from + found;
        from = start + 3;
        let preceded_by_word = text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        if preceded_by_word {
            continue;
        }
        if let Some(account) = account_span(text, start + 3) {
            out.push_str(&text[copied..account.0]);
            out.push_str(ACCOUNT_PLACEHOLDER);
            copied = account.1;
            from = account.1;
        }
    }
    if copied == 0 {
        return scrub_playback_account(text);
    }
    out.push_str(&text[copied..]);
    match scrub_playback_account(&out) {
        Cow::Borrowed(_) => Cow::Owned(out),
        Cow::Owned(scrubbed) => Cow::Owned(scrubbed),
    }
}

/// Replaces the account in playback URLs, whose last segment is
/// `<region>.<account>.channel.<id>.m3u8`.
fn scrub_playback_account(text: &str) -> Cow<'_, str> {
    const MARK: &str = ".channel.";
    let mut spans = Vec::new();
    for (at, _) in text.match_indices(MARK) {
        let Some(start) = at.checked_sub(12) else {
            continue;
        };
        let Some(account) = text.get(start..at) else {
            continue;
        };
        if !account.bytes().all(|b| b.is_ascii_digit()) || account == ACCOUNT_PLACEHOLDER {
            continue;
        }
        let before = &text[..start];
        let Some(region_part) = before.strip_suffix('.') else {
            continue;
        };
        let region = region_part
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .next()
            .unwrap_or("");
        if is_valid_region(region) {
            spans.push(start..at);
        }
    }
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for span in spans.into_iter().rev() {
        out.replace_range(span, ACCOUNT_PLACEHOLDER);
    }
    Cow::Owned(out)
}

/// The byte range of the account of an ARN whose `arn` ends at `at`, if it is one.
fn account_span(text: &str, at: usize) -> Option<(usize, usize)> {
    let rest = &text[at..];
    let sep = ["%3A", "%3a", ":"]
        .into_iter()
        .find(|s| rest.starts_with(s))?;
    let mut pos = at + sep.len();
    // partition, service, region: each up to the next separator, made of `[a-z0-9-]`.
    for field_idx in 0..3 {
        let field_len = text[pos..]
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            .count();
        let field = &text[pos..pos + field_len];
        if (field_idx == 0 && !field.starts_with("aws")) || (field_idx == 1 && field.is_empty()) {
            return None;
        }
        pos += field_len;
        pos += text[pos..].starts_with(sep).then_some(sep.len())?;
    }
    let account = text.get(pos..pos + 12)?;
    let ends = text[pos + 12..].starts_with(sep);
    (account.bytes().all(|b| b.is_ascii_digit()) && ends).then_some((pos, pos + 12))
}

/// Masks every ARN in `text` with [`mask`]; an ARN ends at whitespace or punctuation that cannot
/// be part of it.
pub fn mask_all(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("arn:aws") {
        let at_word_start = rest[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if !at_word_start {
            out.push_str("arn");
            rest = &tail[3..];
            continue;
        }
        let end = tail
            .find(|c: char| c.is_whitespace() || "\"'`,;()[]{}<>".contains(c))
            .unwrap_or(tail.len());
        out.push_str(&mask(&tail[..end]));
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `arn:aws:ivs:us-west-2:123456789012:channel/abcd` → `arn:aws:ivs:us-west-2:*:channel/*`: the
/// partition, service, region and resource type stay, as they are part of the API.
pub fn mask(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return arn.to_owned();
    };
    let account = if account.is_empty() { "" } else { "*" };
    let resource = match resource.find(['/', ':']) {
        Some(idx) => format!("{}*", &resource[..=idx]),
        None => "*".to_owned(),
    };
    format!("{prefix}:{partition}:{service}:{region}:{account}:{resource}")
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

/// Parses an IVS ARN of the `aws` partition, as the model's ARN patterns allow it
/// (`arn:aws:ivs:[a-z0-9-]+:[0-9]+:<type>/[a-zA-Z0-9-]+`); `None` for anything else.
pub fn parse_ivs(text: &str) -> Option<Arn<'_>> {
    parse_family(text).filter(|arn| arn.service == "ivs")
}

/// Parses an ARN of a service of the IVS family (`ivs`, which Real-Time shares, or `ivschat`) of
/// the `aws` partition, with the syntax [`parse_ivs`] checks; `None` for anything else.
pub fn parse_family(text: &str) -> Option<Arn<'_>> {
    let arn = parse(text)?;
    let valid = arn.partition == "aws"
        && matches!(arn.service, "ivs" | "ivschat")
        && !arn.region.is_empty()
        && arn
            .region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !arn.account.is_empty()
        && arn.account.bytes().all(|b| b.is_ascii_digit())
        && text[text.len() - arn.resource_id.len() - 1..].starts_with('/')
        && !arn.resource_id.is_empty()
        && arn
            .resource_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(arn)
}

/// Builds the ARN of an IVS resource.
pub fn mint(region: &str, account: &str, resource_type: &str, id: &str) -> String {
    format!("arn:aws:ivs:{region}:{account}:{resource_type}/{id}")
}

/// True when `region` has AWS's region syntax: lowercase words and a final number joined by
/// dashes, such as `us-west-2`, `us-gov-east-1` or `eu-isoe-west-1`.
///
/// Record mode builds the upstream host name from the region, so anything else must be refused:
/// this is what stops a request from choosing where the operator's credentials go.
pub fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    region.len() <= 32
        && words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`parse`] as it was first written, with `split`: what the byte scan must equal.
    fn parse_by_split(text: &str) -> Option<Arn<'_>> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let (partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        let (resource_type, resource_id) = match resource.find(['/', ':']) {
            Some(idx) => (&resource[..idx], &resource[idx + 1..]),
            None => (resource, ""),
        };
        Some(Arn {
            partition,
            service,
            region,
            account,
            resource_type,
            resource_id,
        })
    }

    proptest! {
        /// Texts made of ARN pieces, separators and the odd other character (non-ASCII too), so
        /// that most are near-ARNs: missing, extra and doubled separators.
        #[test]
        fn the_byte_scan_parses_as_split_does(
            start in prop_oneof![3 => Just("arn:"), 1 => Just("arn"), 1 => Just("")],
            pieces in proptest::collection::vec(
                prop_oneof![
                    1 => Just("arn".to_owned()),
                    4 => Just(":".to_owned()),
                    1 => Just("/".to_owned()),
                    1 => Just("aws".to_owned()),
                    1 => Just("us-west-2".to_owned()),
                    2 => "[a-z0-9é:/-]{0,6}",
                ],
                0..16,
            )
        ) {
            let text = format!("{start}{}", pieces.concat());
            prop_assert_eq!(parse(&text), parse_by_split(&text));
        }
    }

    #[test]
    fn parses_and_re_regions() {
        let arn = parse("arn:aws:ivs:us-west-2:123456789012:channel/abcd").unwrap();
        assert_eq!(
            (arn.partition, arn.service, arn.region, arn.account),
            ("aws", "ivs", "us-west-2", "123456789012")
        );
        assert_eq!((arn.resource_type, arn.resource_id), ("channel", "abcd"));
        assert_eq!(
            with_region(
                "arn:aws:ivs:us-west-2:123456789012:channel/abcd",
                "eu-west-1"
            )
            .as_deref(),
            Some("arn:aws:ivs:eu-west-1:123456789012:channel/abcd")
        );
        assert_eq!(
            with_region("arn:aws:iam::123456789012:role/x", "us-east-1").as_deref(),
            Some("arn:aws:iam:us-east-1:123456789012:role/x")
        );
        assert_eq!(parse("not an arn"), None);
        assert_eq!(with_region("arn:aws:ivs", "x"), None);
    }

    #[test]
    fn ivs_arns_parse_and_mint_round_trip() {
        let text = "arn:aws:ivs:us-west-2:123456789012:stream-key/g1H2I3j4k5L6";
        let arn = parse_ivs(text).unwrap();
        assert_eq!(
            (arn.region, arn.account, arn.resource_type, arn.resource_id),
            ("us-west-2", "123456789012", "stream-key", "g1H2I3j4k5L6")
        );
        assert_eq!(
            mint(arn.region, arn.account, arn.resource_type, arn.resource_id),
            text
        );
        for bad in [
            "nope",
            "arn:aws:ivs:us-west-2:123456789012:channel",
            "arn:aws:ivs:us-west-2:12x:channel/abc",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ivs:us-west-2:123456789012:channel/",
            "arn:aws:ivs:us-west-2:123456789012:channel:abc",
        ] {
            assert_eq!(parse_ivs(bad), None, "{bad}");
        }
    }
}
