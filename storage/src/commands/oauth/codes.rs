//! Redeeming and binding authorization codes.

use std::time::Duration;

use crate::commands::ScriptCall;

use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::json_reason;
use crate::model::oauth::codes::{code_issued_at, CodeRedemption};
use crate::model::oauth::secrets::secret_hash;

/// The consume script call for a code.
pub fn code_consumption(
    keys: &KeySpace,
    code: &str,
    client_id: &str,
    redirect_uri: &str,
) -> ScriptCall {
    let mut call = lua_script!("code_consume");
    call.key(keys.oauth_code(&secret_hash(code)))
        .arg(client_id)
        .arg(redirect_uri);
    call
}

/// Records on a redeemed code which family was issued from it.
pub fn bind_code_family(keys: &KeySpace, code: &str, family: &str) -> ScriptCall {
    let mut call = lua_script!("code_bind_family");
    call.key(keys.oauth_code(&secret_hash(code))).arg(family);
    call
}

/// Decodes the consume script's reply; `code` and `now` tell expired from unknown.
pub fn code_redemption(
    reply: Vec<String>,
    key: &str,
    code: &str,
    now: i64,
    code_ttl: Duration,
) -> Result<CodeRedemption> {
    let mut parts = reply.into_iter();
    Ok(match (parts.next().as_deref(), parts.next()) {
        (Some("redeemed"), Some(record)) => CodeRedemption::Redeemed(
            serde_json::from_str(&record).map_err(|e| Error::corrupt(key, json_reason(&e)))?,
        ),
        (Some("corrupt"), _) => {
            return Err(Error::corrupt(
                key,
                "is not an authorization code record; left as it is",
            ))
        }
        (Some("replayed"), family) => CodeRedemption::Replayed {
            family: family.filter(|f| !f.is_empty()),
        },
        (Some("wrong_client"), _) => CodeRedemption::WrongClient,
        (Some("wrong_redirect_uri"), _) => CodeRedemption::WrongRedirectUri,
        (Some("unknown"), _) => match code_issued_at(code) {
            Some(issued) if issued <= now && now - issued < 86_400 * 366 => {
                let ttl = i64::try_from(code_ttl.as_secs()).unwrap_or(i64::MAX);
                if now - issued >= ttl {
                    CodeRedemption::Expired
                } else {
                    CodeRedemption::Unknown
                }
            }
            _ => CodeRedemption::Unknown,
        },
        (other, _) => {
            return Err(Error::Protocol {
                reason: format!("unexpected code reply {other:?}"),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::oauth::codes::new_code;

    #[test]
    fn expired_and_unknown_codes_differ() {
        let ttl = Duration::from_secs(600);
        let old = new_code(1_000).unwrap();
        let fresh = new_code(2_000).unwrap();
        let unknown = || vec!["unknown".to_owned()];
        assert_eq!(
            code_redemption(unknown(), "k", &old, 2_000, ttl).unwrap(),
            CodeRedemption::Expired
        );
        assert_eq!(
            code_redemption(unknown(), "k", &fresh, 2_010, ttl).unwrap(),
            CodeRedemption::Unknown
        );
        assert_eq!(
            code_redemption(unknown(), "k", "forged", 2_010, ttl).unwrap(),
            CodeRedemption::Unknown
        );
    }
}
