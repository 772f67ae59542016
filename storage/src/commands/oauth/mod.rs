//! The OAuth server's commands and script calls, one file per flow; clients and states need
//! only the generic ones in [`super`].

pub(crate) mod access_tokens;
pub(crate) mod codes;
pub(crate) mod device;
pub(crate) mod refresh;
