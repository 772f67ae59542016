//! The records the gateway keeps, as plain serde types with validation and no I/O, one file
//! per family (named as in `commands/` and `shared/`), and the decoding every read shares.

mod acme;
mod auth_configs;
mod backoff;
mod backup;
mod certificates;
pub(crate) mod family;
pub(crate) mod history;
mod listing;
mod live;
pub(crate) mod locks;
mod migration;
pub(crate) mod oauth;
#[cfg(test)]
mod properties;
mod proxies;
mod record;
mod routes;
mod secret;
pub(crate) mod snapshot_file;
mod stats;
mod timestamp;
pub(crate) mod validate;
pub(crate) mod watch;

pub use acme::Challenge;
pub(crate) use acme::{account_key_owner, check_challenge_token, check_provider};
pub use auth_configs::{AuthConfig, DEFAULT_AUTH_PRIORITY};
pub(crate) use backoff::Backoff;
pub(crate) use backup::{check_restorable, restorable};
pub use backup::{Backup, Restored, StoredFamily, StoredRecord};
pub(crate) use certificates::{canonical_domain, canonical_email, check_cert_name};
pub use certificates::{Certificate, MAX_DOMAINS};
pub use history::{
    Action, Actor, FieldChange, HistoryEntry, HistoryQuery, RecordDelta, RollbackPlan,
    RollbackScope, RollbackStep, SkippedRecord,
};
pub use live::ConfigSnapshot;
pub use locks::Fence;
pub use migration::{FamilyCounts, MigrationPhase, MigrationStatus};
pub use proxies::{AuthMode, ProxyTarget, RouteMode};
pub use routes::{Route, RouteScope, TargetType, TargetValue, MAX_PRIORITY};
#[cfg(test)]
pub(crate) use routes::{MAX_REGEX_LEN, MAX_REGEX_PROGRAM};
pub use secret::{Secret, SECRET_FIELDS};
pub use stats::{Health, LiveHealth, StaleFile, Stats};
pub use timestamp::Timestamp;
pub use watch::{Change, ChangeFamily, ChangeOp, WatchEvent};

pub use listing::{CorruptRecord, Listing};
pub(crate) use record::{
    decode, decode_as_stored, edit, encode, json_reason, shaped_like, Record, Shape,
};
pub(crate) use validate::{hostname_key, id_key, route_id_key};
