//! Creating, deciding and polling device authorizations.

use std::time::Duration;

use redis::Pipeline;

use crate::commands::ScriptCall;

use crate::error::{Error, Result};
use crate::keys::KeySpace;
use crate::model::oauth::device::{DeviceDecision, DevicePoll};
use crate::model::oauth::secrets::secret_hash;

/// Creates a device authorization record.
pub fn create_device(
    keys: &KeySpace,
    device_hash: &str,
    user_code: &str,
    client_id: &str,
    scope: &str,
    interval: Duration,
    lifetime: Duration,
) -> Pipeline {
    let key = keys.device_code(device_hash);
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset_multiple(
            &key,
            &[
                ("client_id", client_id),
                ("scope", scope),
                ("user_code", user_code),
                ("status", "pending"),
                ("user", ""),
                ("last_poll", "0"),
            ],
        )
        .ignore()
        .hset(&key, "interval", interval.as_secs().max(1))
        .ignore()
        .cmd("EXPIRE")
        .arg(&key)
        .arg(lifetime.as_secs().max(1))
        .ignore();
    pipe
}

/// Approves (with the user) or denies the device authorization stored under `device_hash`.
pub fn decide_device(keys: &KeySpace, device_hash: &str, approved_by: Option<&str>) -> ScriptCall {
    let mut call = lua_script!("device_decide");
    call.key(keys.device_code(device_hash))
        .arg(if approved_by.is_some() {
            "approved"
        } else {
            "denied"
        })
        .arg(approved_by.unwrap_or_default());
    call
}

/// The poll script call for a device code.
pub fn poll_device(keys: &KeySpace, device_code: &str, client_id: &str, now_ms: i64) -> ScriptCall {
    let mut call = lua_script!("device_poll");
    call.key(keys.device_code(&secret_hash(device_code)))
        .arg(client_id)
        .arg(now_ms);
    call
}

/// Decodes the decide script's reply.
pub fn device_decision(reply: String, key: &str) -> Result<DeviceDecision> {
    Ok(match reply.as_str() {
        "ok" => DeviceDecision::Recorded,
        "unknown" => DeviceDecision::Unknown,
        "corrupt" => return Err(corrupt_device(key)),
        _ => DeviceDecision::AlreadyDecided(reply),
    })
}

fn corrupt_device(key: &str) -> Error {
    Error::corrupt(key, "is not a device authorization record; left as it is")
}

/// Decodes the poll script's reply.
pub fn device_poll(reply: Vec<String>, key: &str) -> Result<DevicePoll> {
    let mut parts = reply.into_iter();
    let status = parts.next().unwrap_or_default();
    Ok(match status.as_str() {
        "pending" => DevicePoll::Pending,
        "slow_down" => DevicePoll::SlowDown {
            interval: Duration::from_secs(parts.next().and_then(|s| s.parse().ok()).unwrap_or(5)),
        },
        "denied" => DevicePoll::Denied,
        "approved" => DevicePoll::Approved {
            user: parts.next().unwrap_or_default(),
            scope: parts.next().unwrap_or_default(),
        },
        "redeemed" => DevicePoll::AlreadyRedeemed,
        "expired" => DevicePoll::Expired,
        "wrong_client" => DevicePoll::WrongClient,
        "corrupt" => return Err(corrupt_device(key)),
        other => {
            return Err(Error::Protocol {
                reason: format!("unexpected device poll reply `{other}`"),
            })
        }
    })
}
