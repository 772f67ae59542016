//! OAuth `state` parameters: a payload kept for the round trip through the login.

use crate::error::{Error, Result};

/// The shortest state accepted: it is stored under its hash, so it must be unguessable.
const MIN_STATE_LENGTH: usize = 16;

/// Checks a state value before it is stored.
pub(crate) fn check(state: &str) -> Result<()> {
    if state.len() < MIN_STATE_LENGTH {
        return Err(Error::invalid(
            "state",
            format!("must be at least {MIN_STATE_LENGTH} characters"),
        ));
    }
    Ok(())
}
