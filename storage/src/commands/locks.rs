//! Taking, renewing and releasing renewal locks (see `model::locks` for the protocol).

use std::time::Duration;

use crate::commands::ScriptCall;

use super::ttl_millis;
use crate::keys::KeySpace;

/// Takes lock `name` for `holder` if free. Reply: the fencing token, or nil if held.
pub fn lock_acquire(keys: &KeySpace, name: &str, holder: &str, ttl: Duration) -> ScriptCall {
    let mut call = lua_script!("lock_acquire");
    call.key(keys.lock(name))
        .key(keys.fence(name))
        .arg(holder)
        .arg(ttl_millis(ttl));
    call
}

/// Extends the lease of the holder whose lock value is `value`. Reply: 1, or 0 if lost.
pub fn lock_renew(keys: &KeySpace, name: &str, value: &str, ttl: Duration) -> ScriptCall {
    let mut call = lua_script!("lock_renew");
    call.key(keys.lock(name)).arg(value).arg(ttl_millis(ttl));
    call
}

/// Releases the lock if `value` still holds it. Reply: 1, or 0 if it was no longer held.
pub fn lock_release(keys: &KeySpace, name: &str, value: &str) -> ScriptCall {
    let mut call = lua_script!("lock_release");
    call.key(keys.lock(name)).arg(value);
    call
}
