//! SigV4 for record mode: the operator's credentials, and re-signing each upstream request.
//!
//! A downstream client signs for `Host: 127.0.0.1:PORT` with whatever keys its test setup has, so
//! its signature is useless upstream (CLIENTS.md). `record` therefore drops the client's
//! `Authorization`, `X-Amz-Date`, `X-Amz-Security-Token` and `X-Amz-Content-Sha256` and signs
//! again here, with the operator's credentials, for the upstream host.
//!
//! This is the only module that touches credentials. They come from the standard AWS chain
//! through aws-config ([`default_credentials`]: environment, profiles, SSO, web identity,
//! container and instance metadata), or from a provider a test hands to the record builder.
//! `Signer` caches them until five minutes before they expire, so the chain is not asked on
//! every request. Credentials are never logged: only their provider's name is, by callers that
//! want it.
//!
//! The path is signed exactly as it will be sent. aws-sigv4's default
//! [`PercentEncodingMode::Double`] encodes it a second time for the canonical request, which is
//! what IVS expects for the `/tags/{arn}` routes (`%3A` becomes `%253A`).

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
};
use aws_sigv4::sign::v4;
use tokio::sync::Mutex;

/// How long before their expiry cached credentials are refreshed.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Errors of finding credentials and signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The credential chain found nothing.
    #[error("no AWS credentials found: set `AWS_PROFILE`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, or run `aws sso login`")]
    NoCredentials,
    /// The credential provider failed.
    #[error("cannot load AWS credentials")]
    Credentials(#[source] aws_credential_types::provider::error::CredentialsError),
    /// A downstream `Authorization` header whose credential scope is not
    /// `<key>/<yyyymmdd>/<region>/<service>/aws4_request`.
    #[error("the SigV4 credential scope of the request is malformed: {reason}")]
    BadScope {
        /// What is wrong, without repeating the header.
        reason: &'static str,
    },
    /// The request could not be signed.
    #[error("cannot sign the `{operation}` request")]
    Sign {
        /// The IVS operation.
        operation: String,
        /// What aws-sigv4 said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The credentials of the standard AWS chain (aws-config), or `None` when it has no provider.
///
/// The chain's region (for STS and SSO) comes from the environment or the profile, else
/// `us-east-1`: never from instance metadata, which off EC2 only stalls and warns. Credentials
/// themselves still come from every source of the chain, instance metadata included.
pub async fn default_credentials() -> Option<SharedCredentialsProvider> {
    let region = aws_config::meta::region::RegionProviderChain::first_try(
        aws_config::environment::EnvironmentVariableRegionProvider::new(),
    )
    .or_else(aws_config::profile::ProfileFileRegionProvider::builder().build())
    .or_else(aws_config::Region::new("us-east-1"));
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(region)
        .load()
        .await
        .credentials_provider()
}

/// The region of a downstream `Authorization` header's credential scope
/// (`Credential=AKID/20261126/us-west-2/ivs/aws4_request`).
///
/// Stricter than [`crate::normalize::region_from_authorization`], which replay uses to match:
/// record builds the upstream host from the region, so a scope of any other shape (an extra `/`
/// smuggled into the region, a missing part) is refused rather than read generously. The region
/// itself is checked by the caller with `normalize::is_valid_region`.
pub fn scope_region(authorization: &str) -> Result<&str, SignError> {
    let bad = |reason| SignError::BadScope { reason };
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| bad("not `AWS4-HMAC-SHA256`"))?;
    let scope = rest
        .split(',')
        .map(str::trim)
        .find_map(|part| part.strip_prefix("Credential="))
        .ok_or_else(|| bad("no `Credential=`"))?;
    let parts: Vec<&str> = scope.split('/').collect();
    let [key, date, region, service, terminator] = parts[..] else {
        return Err(bad("it does not have five `/`-separated parts"));
    };
    if key.is_empty() || service.is_empty() || terminator != "aws4_request" {
        return Err(bad("it does not end in `<service>/aws4_request`"));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("its date is not `yyyymmdd`"));
    }
    Ok(region)
}

/// Signs upstream requests with cached operator credentials.
#[derive(Debug)]
pub(crate) struct Signer {
    provider: SharedCredentialsProvider,
    /// The last credentials the provider gave, reused until close to their expiry.
    cached: Mutex<Option<Credentials>>,
}

impl Signer {
    /// A signer drawing credentials from `provider`.
    pub fn new(provider: SharedCredentialsProvider) -> Signer {
        Signer {
            provider,
            cached: Mutex::new(None),
        }
    }

    /// Loads credentials once, so that a missing or broken chain is reported at start.
    pub async fn check(&self) -> Result<(), SignError> {
        self.credentials().await.map(drop)
    }

    /// Current credentials: the cached ones, or fresh ones when they are missing or about to expire.
    async fn credentials(&self) -> Result<Credentials, SignError> {
        let mut cached = self.cached.lock().await;
        if let Some(creds) = cached.as_ref() {
            let fresh = match creds.expiry() {
                None => true,
                Some(expiry) => expiry > SystemTime::now() + REFRESH_MARGIN,
            };
            if fresh {
                return Ok(creds.clone());
            }
        }
        let creds = self
            .provider
            .provide_credentials()
            .await
            .map_err(|err| match err {
                aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(
                    _,
                ) => SignError::NoCredentials,
                // The chain ends with instance metadata, which off EC2 (or with IMDS disabled)
                // fails rather than finding nothing: for the operator, that is still "no
                // credentials", and the friendly message says what to set.
                other if crate::http::error_chain(&other).contains("IMDS") => {
                    SignError::NoCredentials
                }
                other => SignError::Credentials(other),
            })?;
        *cached = Some(creds.clone());
        Ok(creds)
    }

    /// Signs `request` for `region` at `time`, adding `X-Amz-Date`, `Authorization` and, with a
    /// session token, `X-Amz-Security-Token`.
    ///
    /// Runs after `forward` has built the upstream request (URI with the raw path and query, `Host`
    /// of the upstream, the headers to send) and before it is sent. Every header of the request is
    /// signed, so the caller must have removed the downstream client's signing headers already.
    pub async fn sign(
        &self,
        request: &mut http::Request<bytes::Bytes>,
        (signing_name, region): (&str, &str),
        operation: &str,
        time: SystemTime,
    ) -> Result<(), SignError> {
        let creds = self.credentials().await?;
        sign_with(request, &creds, (signing_name, region), time).map_err(|source| SignError::Sign {
            operation: operation.to_owned(),
            source,
        })
    }
}

/// Signs `request` with `creds`: the pure part of [`Signer::sign`].
fn sign_with(
    request: &mut http::Request<bytes::Bytes>,
    creds: &Credentials,
    (signing_name, region): (&str, &str),
    time: SystemTime,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Double;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(signing_name)
        .time(time)
        .settings(settings)
        .build()?
        .into();
    let uri = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers,
        SignableBody::Bytes(request.body()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_scopes() {
        let check = |auth: &str, expected: Result<&str, &str>| {
            let got = scope_region(auth).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_owned), "{auth}");
        };
        let auth = |scope: &str| {
            format!(
                "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, Signature=00"
            )
        };
        check(
            &auth("AKID/20261126/eu-west-1/ivs/aws4_request"),
            Ok("eu-west-1"),
        );
        check(&auth("AKID/20261126/a#b/ivs/aws4_request"), Ok("a#b"));
        check(
            &auth("AKID/20261126/us-west-2/../x/ivs/aws4_request"),
            Err("the SigV4 credential scope of the request is malformed: it does not have five `/`-separated parts"),
        );
        check(
            &auth("AKID/2026/us-west-2/ivs/aws4_request"),
            Err("the SigV4 credential scope of the request is malformed: its date is not `yyyymmdd`"),
        );
        check(
            "Bearer x",
            Err("the SigV4 credential scope of the request is malformed: not `AWS4-HMAC-SHA256`"),
        );
    }

    /// A fixed time and key always give the same signature, the session token is signed, and the
    /// tag route's ARN is signed as sent (double-encoded in the canonical request).
    #[test]
    fn tags_path_is_double_encoded_in_the_canonical_request() {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("FQoGZXIvYXdzEXAMPLETOKEN//+==".into()),
            None,
            "test",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        let sign_path = |path: &str| {
            let mut req = http::Request::builder()
                .method("GET")
                .uri(format!("https://ivs.us-west-2.amazonaws.com{path}"))
                .header("host", "ivs.us-west-2.amazonaws.com")
                .body(bytes::Bytes::new())
                .unwrap();
            sign_with(&mut req, &creds, ("ivs", "us-west-2"), time).unwrap();
            req
        };
        let encoded = sign_path("/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2Fx");
        let auth = encoded.headers()["authorization"].to_str().unwrap();
        // Pinned: the fake upstream of tests/it/record.rs verifies the same computation independently.
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/us-west-2/ivs/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-security-token, \
             Signature=27271d082df734f8fccde19536fd61e62fa04dbf524ec1092940d523e9311d3e"
        );
        assert_eq!(
            encoded.headers()["x-amz-security-token"],
            "FQoGZXIvYXdzEXAMPLETOKEN//+=="
        );
        // The same ARN sent decoded is a different request, so it gets a different signature.
        let decoded = sign_path("/tags/arn:aws:ivs:us-west-2:123456789012:channel%2Fx");
        assert_ne!(
            encoded.headers()["authorization"],
            decoded.headers()["authorization"]
        );
    }
}
