//! `AuthConfig`: an authentication rule for requests whose path matches a pattern.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::family::{self, Family};
use super::Record;
use super::{validate, Timestamp};
use crate::error::{Error, Result};

/// The priority of an auth config that does not set one.
pub const DEFAULT_AUTH_PRIORITY: i64 = 50;

fn default_priority() -> i64 {
    DEFAULT_AUTH_PRIORITY
}

fn default_enabled() -> bool {
    true
}

/// An auth config, stored at `auth:config:pattern:{id}` and listed in `auth:config:index`.
/// Its rule-specific settings (auth type, scopes, users, ...) are kept as they are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// Its id. It lives in the key (`auth:config:pattern:{id}`), as the old layer keeps it:
    /// read from there when the JSON has none, and never written into the JSON.
    #[serde(default, skip_serializing)]
    pub id: String,
    /// The path pattern it applies to.
    pub path_pattern: String,
    /// Higher priorities are matched first. Default 50.
    #[serde(default = "default_priority")]
    pub priority: i64,
    /// Whether it applies.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<Timestamp>,
    /// Every other field: the rule's settings, written back unchanged.
    #[serde(flatten)]
    pub settings: Map<String, Value>,
}

impl AuthConfig {
    /// An enabled config for `path_pattern` at the default priority, with no settings yet.
    pub fn new(id: impl Into<String>, path_pattern: impl Into<String>) -> Self {
        AuthConfig {
            id: id.into(),
            path_pattern: path_pattern.into(),
            priority: DEFAULT_AUTH_PRIORITY,
            enabled: true,
            description: String::new(),
            created_at: Some(Timestamp::now()),
            settings: Map::new(),
        }
    }

    /// Checks every rule; the error names the first field that breaks one.
    pub fn normalize(&mut self) -> Result<()> {
        validate::record_id("id", &self.id)?;
        if self.path_pattern.trim().is_empty() {
            return Err(Error::invalid("path_pattern", "must not be empty"));
        }
        Ok(())
    }

    /// The listing order: priority descending, then id.
    pub fn listing_order(&self, other: &AuthConfig) -> Ordering {
        other
            .priority
            .cmp(&self.priority)
            .then_with(|| self.id.cmp(&other.id))
    }
}
impl Record for AuthConfig {
    const ID_FIELD: &'static str = "id";
    const FAMILY: Option<&'static Family> = Some(&family::AUTH_CONFIGS);

    fn id(&self) -> &str {
        &self.id
    }

    fn normalize(&mut self) -> Result<()> {
        AuthConfig::normalize(self)
    }

    fn listing_order(a: &Self, b: &Self) -> Ordering {
        AuthConfig::listing_order(a, b)
    }

    fn adopt_id(&mut self, id: &str) {
        id.clone_into(&mut self.id);
    }
}
