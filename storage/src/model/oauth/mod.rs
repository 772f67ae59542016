//! The OAuth authorization server's records and rules, without I/O, one file per flow.
//!
//! Secrets rest only as hashes ([`secrets`]). Codes, tokens, families, devices and states
//! carry their own id as hash tag (see `KeySpace::spread_prefix`), so they spread over a
//! cluster; every script touches keys of one of those tags only.

pub(crate) mod access_tokens;
pub(crate) mod clients;
pub(crate) mod codes;
pub(crate) mod device;
pub(crate) mod refresh;
pub(crate) mod secrets;
pub(crate) mod state;

pub use access_tokens::AccessToken;
pub use clients::{ClientRegistration, OAuthClient, RegisteredClient};
pub use codes::{CodeGrant, CodeRedemption};
pub use device::{DeviceDecision, DevicePoll, DeviceStart};
pub use refresh::{IssuedRefresh, RefreshGrant, RefreshOutcome};

use crate::error::{Error, Result};
use crate::model::Timestamp;

/// Now, in Unix milliseconds: the clock grant indexes and rotation windows use.
pub(crate) fn now_ms() -> i64 {
    Timestamp::now().instant().timestamp_millis()
}

pub(crate) fn non_empty(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}
