//! OAuth authorization-server state, one file per flow: clients, codes, access tokens,
//! refresh families, the device flow and state parameters. Secrets are stored hashed (see
//! `model::oauth::secrets`).

use super::{maybe, operation, Storage, MODE};

mod access_tokens;
mod clients;
mod codes;
mod device;
mod refresh;
mod state;
