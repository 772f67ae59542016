//! The record families, each declared once.
//!
//! A family is a kind of record kept under `{prefix}{marker}{id}` and named by its id in an
//! index set. Its declaration here says everything the rest of the crate derives from it:
//! the record keys ([`crate::KeySpace`]), the index set a listing reads, the name its
//! changes carry in the change feed, and whether processes of the old layer write it too
//! (then listings, the migration scan and `doctor` look for records the index set lacks).
//! A family's type ties itself to its declaration with [`Record::FAMILY`](super::Record),
//! which also says the order its listings come in.

use super::{ChangeFamily, FamilyCounts};

/// One family of records; see the module docs.
#[derive(Debug)]
pub(crate) struct Family {
    /// What people call the records, in reports (`doctor`, `migrate status`).
    pub(crate) name: &'static str,
    /// What precedes the id in a record's key (`proxy:` for `proxy:{hostname}`). A record's
    /// id never contains `:`, so the family's other keys (`cert:domain:…`) are told apart.
    pub(crate) marker: &'static str,
    /// The index set naming every record's id, under the prefix. Index names hold a `:`
    /// after their first word, so they cannot collide with a record's key.
    pub(crate) index: &'static str,
    /// How the change feed carries the family's changes, if it does.
    pub(crate) feed: Option<Feed>,
    /// For a family processes of the old layer write too (without the index sets), where
    /// its migration counts go; `None` for a family only this crate writes.
    pub(crate) legacy: Option<fn(&mut FamilyCounts) -> &mut usize>,
}

/// A family's place in the change feed.
#[derive(Debug)]
pub(crate) struct Feed {
    /// The public name of the family in [`Change`](super::Change)s.
    pub(crate) change: ChangeFamily,
    /// The name stored in each feed entry.
    pub(crate) name: &'static str,
}

/// Proxy targets, by hostname.
pub(crate) static PROXIES: Family = Family {
    name: "proxies",
    marker: "proxy:",
    index: "index:proxies",
    feed: Some(Feed {
        change: ChangeFamily::Proxy,
        name: "proxy",
    }),
    legacy: Some(|counts| &mut counts.proxies),
};

/// Routes, by route id (the old layer's `route:priority:…` and `route:unique:…` keys are
/// the family's other keys).
pub(crate) static ROUTES: Family = Family {
    name: "routes",
    marker: "route:",
    index: "index:routes",
    feed: Some(Feed {
        change: ChangeFamily::Route,
        name: "route",
    }),
    legacy: Some(|counts| &mut counts.routes),
};

/// Certificates, by name (with `cert:domain:…` keys beside them).
pub(crate) static CERTIFICATES: Family = Family {
    name: "certificates",
    marker: "cert:",
    index: "index:certs",
    feed: Some(Feed {
        change: ChangeFamily::Certificate,
        name: "certificate",
    }),
    legacy: Some(|counts| &mut counts.certificates),
};

/// Auth configs, by id; `auth:config:index` is the existing deployment's own index.
pub(crate) static AUTH_CONFIGS: Family = Family {
    name: "auth configs",
    marker: "auth:config:pattern:",
    index: "auth:config:index",
    feed: Some(Feed {
        change: ChangeFamily::AuthConfig,
        name: "auth_config",
    }),
    legacy: Some(|counts| &mut counts.auth_configs),
};

/// Registered OAuth clients, by client id: only this crate writes them, and the change
/// feed does not carry them.
pub(crate) static OAUTH_CLIENTS: Family = Family {
    name: "OAuth clients",
    marker: "oauth:client:",
    index: "index:oauth-clients",
    feed: None,
    legacy: None,
};

/// Every family, in the order counts and reports list them.
pub(crate) static ALL: [&Family; 5] = [
    &PROXIES,
    &ROUTES,
    &CERTIFICATES,
    &AUTH_CONFIGS,
    &OAUTH_CLIENTS,
];

/// The families the old layer writes too.
pub(crate) fn legacy() -> impl Iterator<Item = &'static Family> {
    ALL.iter().copied().filter(|family| family.legacy.is_some())
}

/// The feed declaration of each family the change feed carries.
pub(crate) fn feeds() -> impl Iterator<Item = &'static Feed> {
    ALL.iter().filter_map(|family| family.feed.as_ref())
}

/// The family the feed calls `change`.
pub(crate) fn of_change(change: ChangeFamily) -> &'static Family {
    ALL.iter()
        .copied()
        .find(|family| {
            family
                .feed
                .as_ref()
                .is_some_and(|feed| feed.change == change)
        })
        .unwrap_or(&PROXIES)
}

impl Family {
    /// Whether this is `other` (each family is one static).
    pub(crate) fn is(&self, other: &Family) -> bool {
        std::ptr::eq(self, other)
    }

    /// The family's name in the change feed, if the feed carries it.
    pub(crate) fn feed_name(&self) -> Option<&'static str> {
        self.feed.as_ref().map(|feed| feed.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_feed_names_and_indexes_are_each_unique() {
        for (n, a) in ALL.iter().enumerate() {
            for b in &ALL[n + 1..] {
                assert!(!a.marker.starts_with(b.marker) && !b.marker.starts_with(a.marker));
                assert_ne!(a.index, b.index);
                assert!(a.feed_name().is_none() || a.feed_name() != b.feed_name());
            }
            assert!(a.index.contains(':') && a.marker.ends_with(':'));
        }
    }

    #[test]
    fn every_legacy_family_has_its_own_count() {
        let mut counts = FamilyCounts::default();
        for (n, family) in legacy().enumerate() {
            *(family.legacy.unwrap())(&mut counts) = n + 1;
        }
        assert_eq!(counts.total(), (1..=legacy().count()).sum::<usize>());
        assert_eq!(
            counts,
            FamilyCounts {
                proxies: 1,
                routes: 2,
                certificates: 3,
                auth_configs: 4
            }
        );
    }
}
