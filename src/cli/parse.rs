//! The value parsers of the command line: each turns one flag's text into the domain value its
//! subcommand passes on, or into the message clap prints after `invalid value '…' for '--flag'`.
//!
//! Pure: no IO. Where the library already owns a rule (region names, cassette names, origins,
//! events URLs, fault rules), the parser calls it through `ivs_vcr::__private` rather than
//! restating it, so the command line and the control plane refuse the same values.

use std::net::IpAddr;
use std::time::Duration;

use ivs_vcr::__private::{normalize, FaultRule};

/// An IP address, or `localhost` for the IPv4 loopback address (SDK endpoints say
/// `http://localhost:7474`, and IPv4 loopback is what they reach first).
pub(super) fn parse_bind(text: &str) -> Result<IpAddr, String> {
    if text.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    text.parse().map_err(|_| {
        format!("`{text}` is not an IP address or `localhost` (like 127.0.0.1, ::1 or 0.0.0.0)")
    })
}

/// A positive whole number of MiB.
pub(super) fn parse_mib(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(mib) if mib > 0 => Ok(mib),
        _ => Err("expected a positive whole number of MiB, like 64".into()),
    }
}

/// A count of at least 1 (a limit of 0 would refuse everything).
pub(super) fn parse_count(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{text}` is not a whole number of at least 1")),
    }
}

/// A positive duration: a number with the unit `ms`, `s` or `m` (a bare number is seconds).
pub(super) fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1_000)
    };
    let bad = || "expected a positive whole number with `ms`, `s` or `m`, like `10s`".to_owned();
    let n: u64 = number.parse().map_err(|_| bad())?;
    match n.checked_mul(unit_ms) {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(bad()),
    }
}

/// A cassette name as `record --name` takes it: what `is_valid_cassette_name` allows, so the
/// file it names stays inside the cassette directory.
pub(super) fn parse_cassette_name(name: &str) -> Result<String, String> {
    if ivs_vcr::__private::is_valid_cassette_name(name) {
        Ok(name.to_owned())
    } else {
        Err("use letters, digits, `-`, `_`, `.`, and `/` between names, without `..`".into())
    }
}

/// An AWS region name (`us-west-2`): record builds the upstream host from it.
pub(super) fn parse_region(region: &str) -> Result<String, String> {
    if normalize::is_valid_region(region) {
        Ok(region.to_owned())
    } else {
        Err("not an AWS region name (like `us-west-2`)".into())
    }
}

/// A 12-digit AWS account id.
pub(super) fn parse_account(account: &str) -> Result<String, String> {
    if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) {
        Ok(account.to_owned())
    } else {
        Err(format!("`{account}` is not a 12-digit AWS account id"))
    }
}

/// `KEY=ACCOUNT`: an access key id and the 12-digit account its requests act in.
pub(super) fn parse_account_for(text: &str) -> Result<(String, String), String> {
    let Some((key, account)) = text.split_once('=') else {
        return Err(
            "expected KEY=ACCOUNT: an access key id, `=`, a 12-digit account id".to_owned(),
        );
    };
    let key = key.trim();
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the access key id must be 1 to 128 visible ASCII characters".to_owned());
    }
    Ok((key.to_owned(), parse_account(account.trim())?))
}

/// An origin as browsers send it in `Origin`: `http(s)://host[:port]`, or `null`.
pub(super) fn parse_origin(origin: &str) -> Result<String, String> {
    ivs_vcr::__private::normalize_origin(origin).ok_or_else(|| {
        "expected an origin as browsers send it: `http://host[:port]` or `https://host[:port]`, \
         with no path (like https://app.test:8443), or `null`"
            .into()
    })
}

/// `FUNCTION_ARN=URL`: a Lambda function's ARN and the `http://` endpoint standing for it.
pub(super) fn parse_review_handler(text: &str) -> Result<(String, String), String> {
    let Some((arn, url)) = text.split_once('=') else {
        return Err(format!(
            "`{text}` is not FUNCTION_ARN=URL (arn:aws:lambda:<region>:<account>:function:<name>=http://127.0.0.1:<port>/)"
        ));
    };
    if !arn.starts_with("arn:aws:lambda:") || !arn.contains(":function:") {
        return Err(format!(
            "`{arn}` is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"
        ));
    }
    match url.parse::<http::Uri>() {
        Ok(uri) if uri.scheme_str() == Some("http") && uri.host().is_some() => {
            Ok((arn.to_owned(), url.to_owned()))
        }
        _ => Err(format!(
            "`{url}` is not an http:// URL (the review endpoint is local; https is not spoken)"
        )),
    }
}

/// An absolute `http://` URL that EventBridge events are posted to.
pub(super) fn parse_events_url(url: &str) -> Result<String, String> {
    ivs_vcr::__private::check_events_url(url).map(|()| url.to_owned())
}

/// A fault rule as `--fault` takes it: `key=value` pairs separated by commas.
pub(super) fn parse_fault(rule: &str) -> Result<FaultRule, String> {
    FaultRule::from_cli(rule).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks a parser against a table: `Some(value)` where the text is taken, `None` where it is
    /// refused.
    fn check<T: PartialEq + std::fmt::Debug>(
        parse: fn(&str) -> Result<T, String>,
        cases: &[(&str, Option<T>)],
    ) {
        for (text, expected) in cases {
            assert_eq!(&parse(text).ok(), expected, "input `{text}`");
        }
    }

    #[test]
    fn bind_takes_addresses_and_localhost() {
        assert_eq!(parse_bind("localhost"), Ok(IpAddr::from([127, 0, 0, 1])));
        assert_eq!(parse_bind("::1"), Ok("::1".parse().unwrap()));
        assert_eq!(parse_bind("0.0.0.0"), Ok(IpAddr::from([0, 0, 0, 0])));
        assert!(parse_bind("example.com")
            .unwrap_err()
            .contains("not an IP address or `localhost`"));
    }

    #[test]
    fn durations() {
        check(
            parse_duration,
            &[
                ("250ms", Some(Duration::from_millis(250))),
                ("10s", Some(Duration::from_secs(10))),
                ("2m", Some(Duration::from_secs(120))),
                ("30", Some(Duration::from_secs(30))),
                ("0s", None),
                ("-1s", None),
                ("1.5s", None),
                ("10h", None),
                ("", None),
            ],
        );
    }

    #[test]
    fn durations_that_overflow_are_refused_not_wrapped() {
        assert_eq!(
            parse_duration(&format!("{}m", u64::MAX)),
            Err("expected a positive whole number with `ms`, `s` or `m`, like `10s`".to_owned())
        );
    }

    #[test]
    fn mib_and_counts_are_at_least_one() {
        check(
            parse_mib,
            &[
                ("64", Some(64)),
                ("1", Some(1)),
                ("0", None),
                ("-1", None),
                ("1.5", None),
                ("", None),
            ],
        );
        check(
            parse_count,
            &[
                ("1", Some(1)),
                ("50000", Some(50_000)),
                ("0", None),
                ("-3", None),
                ("x", None),
            ],
        );
        assert_eq!(
            parse_count("0"),
            Err("`0` is not a whole number of at least 1".to_owned())
        );
    }

    #[test]
    fn accounts_are_twelve_digits() {
        check(
            parse_account,
            &[
                ("123456789012", Some("123456789012".to_owned())),
                ("000000000000", Some("000000000000".to_owned())),
                ("12345678901", None),
                ("1234567890123", None),
                ("12345678901a", None),
                ("", None),
            ],
        );
        assert_eq!(
            parse_account("12"),
            Err("`12` is not a 12-digit AWS account id".to_owned())
        );
    }

    #[test]
    fn account_for_pairs_a_key_with_an_account() {
        let pair = |key: &str, account: &str| Some((key.to_owned(), account.to_owned()));
        check(
            parse_account_for,
            &[
                (
                    "AKIAWORKER1=111111111111",
                    pair("AKIAWORKER1", "111111111111"),
                ),
                (
                    " AKIAWORKER1 = 111111111111 ",
                    pair("AKIAWORKER1", "111111111111"),
                ),
                ("AKIAWORKER1", None),
                ("=111111111111", None),
                ("AKIA WORKER=111111111111", None),
                ("AKIAWORKER1=1111", None),
            ],
        );
        assert_eq!(
            parse_account_for(&format!("{}=111111111111", "K".repeat(129))),
            Err("the access key id must be 1 to 128 visible ASCII characters".to_owned())
        );
    }

    #[test]
    fn regions_are_aws_region_names() {
        let taken = |r: &str| Some(r.to_owned());
        check(
            parse_region,
            &[
                ("us-west-2", taken("us-west-2")),
                ("ap-northeast-1", taken("ap-northeast-1")),
                ("us-gov-west-1", taken("us-gov-west-1")),
                ("mars", None),
                ("US-WEST-2", None),
                ("us-west-2.evil.example", None),
                ("", None),
            ],
        );
    }

    #[test]
    fn cassette_names_stay_inside_the_directory() {
        let taken = |n: &str| Some(n.to_owned());
        check(
            parse_cassette_name,
            &[
                ("default", taken("default")),
                ("channels/create-1.v2", taken("channels/create-1.v2")),
                ("../x", None),
                ("a/../b", None),
                ("/abs", None),
                ("a//b", None),
                (".hidden", None),
                ("with space", None),
                ("", None),
            ],
        );
    }

    #[test]
    fn origins_are_scheme_host_and_port() {
        assert_eq!(parse_origin("null"), Ok("null".to_owned()));
        assert!(parse_origin("https://app.test:8443").is_ok());
        assert!(parse_origin("http://127.0.0.1:3000").is_ok());
        for refused in ["http://a/b", "ftp://a", "app.test", ""] {
            assert!(
                parse_origin(refused)
                    .unwrap_err()
                    .starts_with("expected an origin as browsers send it"),
                "{refused}"
            );
        }
    }

    #[test]
    fn review_handlers_pair_a_lambda_arn_with_an_http_url() {
        let arn = "arn:aws:lambda:us-west-2:123456789012:function:review";
        assert_eq!(
            parse_review_handler(&format!("{arn}=http://127.0.0.1:9000/")),
            Ok((arn.to_owned(), "http://127.0.0.1:9000/".to_owned()))
        );
        let refused = |text: &str| parse_review_handler(text).unwrap_err();
        assert!(refused(arn).contains("is not FUNCTION_ARN=URL"));
        assert!(refused("arn:aws:s3:::bucket=http://127.0.0.1/")
            .contains("is not a Lambda function ARN"));
        assert!(refused(&format!("{arn}=https://127.0.0.1/")).contains("is not an http:// URL"));
        assert!(refused(&format!("{arn}=not a url")).contains("is not an http:// URL"));
    }

    #[test]
    fn events_urls_are_absolute_http() {
        assert_eq!(
            parse_events_url("http://127.0.0.1:9000/events"),
            Ok("http://127.0.0.1:9000/events".to_owned())
        );
        assert!(parse_events_url("ftp://x")
            .unwrap_err()
            .contains("is not an http:// URL"));
    }

    #[test]
    fn faults_are_key_value_rules() {
        assert!(parse_fault("operation=GetChannel,error=ThrottlingException,times=2").is_ok());
        assert!(parse_fault("operation").is_err());
        assert!(parse_fault("operation=GetChannel,operation=ListChannels").is_err());
    }
}
