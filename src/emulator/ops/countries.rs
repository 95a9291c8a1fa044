//! The country codes a playback restriction policy may allow: "Allowed values are the officially
//! assigned ISO 3166-1 alpha-2 codes" (the model's `allowedCountries`). The list is tzdata's
//! `iso3166.tab` (the 249 codes officially assigned as of ISO/TC 46 N1108, 2023-04-05), written
//! upper case as ISO writes them; a lower-case code is refused too (inferred: the reference names
//! the codes only in ISO's form).

use serde_json::Value;

use crate::emulator::ApiError;

/// The officially assigned ISO 3166-1 alpha-2 codes, sorted.
const ASSIGNED: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Whether `code` is an officially assigned ISO 3166-1 alpha-2 code.
fn is_assigned(code: &str) -> bool {
    ASSIGNED.binary_search(&code).is_ok()
}

/// An input's `allowedCountries`, if any, holds assigned codes only: a ValidationException names
/// the first that is not.
pub(super) fn check_allowed(input: &Value) -> Result<(), ApiError> {
    let codes = input
        .get("allowedCountries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for (i, code) in codes.enumerate() {
        let code = code.as_str().unwrap_or_default();
        if !is_assigned(code) {
            let upper = code.to_ascii_uppercase();
            let hint = if is_assigned(&upper) {
                format!("write it upper case: `{upper}`")
            } else {
                "use an officially assigned ISO 3166-1 alpha-2 code, such as US or DE".to_owned()
            };
            return Err(ApiError::validation(format!(
                "allowedCountries.{i}: `{}` is not an officially assigned ISO 3166-1 alpha-2 code; {hint}",
                crate::redact::printable(code)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_without_duplicates() {
        assert!(ASSIGNED.windows(2).all(|w| w[0] < w[1]));
        assert!(ASSIGNED
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn assigned_codes_pass_and_others_are_refused_with_a_hint() {
        assert!(
            check_allowed(&serde_json::json!({"allowedCountries": ["US", "DE", "AX", "ZW"]}))
                .is_ok()
        );
        assert!(check_allowed(&serde_json::json!({})).is_ok());
        // UK and EU are reserved, not assigned; XK is a user-assigned code.
        for code in ["UK", "EU", "XK", "ZZ"] {
            let err =
                check_allowed(&serde_json::json!({"allowedCountries": ["US", code]})).unwrap_err();
            assert!(
                err.message.contains("allowedCountries.1"),
                "{}",
                err.message
            );
            assert!(err.message.contains("such as US"), "{}", err.message);
        }
        let err = check_allowed(&serde_json::json!({"allowedCountries": ["gb"]})).unwrap_err();
        assert!(err.message.contains("`GB`"), "{}", err.message);
    }
}
