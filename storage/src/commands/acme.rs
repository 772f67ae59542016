//! ACME writes that a lock's fence guards.

use crate::commands::ScriptCall;

use crate::keys::KeySpace;
use crate::model::Fence;

/// `SET key value`, refused unless `fence` is still its lock's newest token. Reply:
/// [`WriteOutcome`].
pub fn fenced_set(keys: &KeySpace, key: &str, value: &str, fence: &Fence) -> ScriptCall {
    let mut call = lua_script!("fenced_set");
    call.key(key)
        .key(keys.fence(&fence.lock))
        .arg(fence.token)
        .arg(value);
    call
}
