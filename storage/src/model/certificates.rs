//! `Certificate`: a TLS certificate and its key, as the ACME certificate manager stores them.
//!
//! PEM text is wrapped in [`Secret`], so `Debug` and logs show its length, never the key.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::family::{self, Family};
use super::Record;
use super::{validate, Secret, Timestamp};
use crate::error::{Error, Result};

/// Most domains one certificate may cover.
pub const MAX_DOMAINS: usize = 100;

/// A certificate, stored at `cert:{cert_name}`, each domain indexed at `cert:domain:{domain}`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Its name; part of its key.
    pub cert_name: String,
    /// The domains it covers, lower-cased; each is indexed at `cert:domain:{domain}`.
    pub domains: Vec<String>,
    /// The ACME account email it was ordered with.
    pub email: String,
    /// The ACME directory it was ordered from.
    #[serde(default)]
    pub acme_directory_url: String,
    /// `pending`, `active`, `expired` or `failed`, as the certificate manager sets it.
    #[serde(default)]
    pub status: String,
    /// When it expires; `None` until issued.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// When it was issued; `None` until issued.
    #[serde(default)]
    pub issued_at: Option<Timestamp>,
    /// Its SHA-256 fingerprint; `None` until issued.
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// The certificate chain (PEM); `None` until issued. Prints as its length.
    #[serde(default)]
    pub fullchain_pem: Option<Secret>,
    /// The private key (PEM); `None` until issued. Prints as its length.
    #[serde(default)]
    pub private_key_pem: Option<Secret>,
    /// Who ordered it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Certificate {
    /// A pending certificate for `domains`, with no PEMs yet.
    pub fn new(
        cert_name: impl Into<String>,
        domains: impl IntoIterator<Item = impl Into<String>>,
        email: impl Into<String>,
    ) -> Self {
        Certificate {
            cert_name: cert_name.into(),
            domains: domains.into_iter().map(Into::into).collect(),
            email: email.into(),
            acme_directory_url: "https://acme-v02.api.letsencrypt.org/directory".to_owned(),
            status: "pending".to_owned(),
            expires_at: None,
            issued_at: None,
            fingerprint: None,
            fullchain_pem: None,
            private_key_pem: None,
            created_by: None,
            extra: Map::new(),
        }
    }

    /// Canonical form (domains trimmed and lower-cased, email lower-cased) and every rule;
    /// the error names the first field that breaks one.
    pub fn normalize(&mut self) -> Result<()> {
        check_cert_name(&self.cert_name)?;
        if self.domains.is_empty() || self.domains.len() > MAX_DOMAINS {
            return Err(Error::invalid(
                "domains",
                format!("must list 1 to {MAX_DOMAINS} domains"),
            ));
        }
        let mut seen = BTreeSet::new();
        for domain in &mut self.domains {
            *domain = canonical_domain(domain)?;
            if !seen.insert(domain.clone()) {
                return Err(Error::invalid("domains", "lists a domain twice"));
            }
        }
        self.email = canonical_email(&self.email)?;
        Ok(())
    }
}

/// A certificate name: letters, digits, `-` and `_`.
pub fn check_cert_name(name: &str) -> Result<()> {
    check_base64url_word("cert_name", name, 128)
}

/// 1 to `max` letters, digits, `-` or `_` (the base64url alphabet).
pub(crate) fn check_base64url_word(field: &'static str, value: &str, max: usize) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("must be 1 to {max} letters, digits, `-` or `_`"),
        ))
    }
}

/// A domain, trimmed and lower-cased; a wildcard only as a leading `*.`.
pub fn canonical_domain(raw: &str) -> Result<String> {
    let domain = raw.trim().to_ascii_lowercase();
    let bare = domain.strip_prefix("*.").unwrap_or(&domain);
    let labels_ok = !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if labels_ok {
        Ok(domain)
    } else {
        Err(Error::invalid(
            "domains",
            "must be DNS names; a wildcard only as a leading `*.`",
        ))
    }
}

/// An email address, lower-cased (see `validate::email`).
pub fn canonical_email(raw: &str) -> Result<String> {
    validate::email(raw)
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("cert_name", &self.cert_name)
            .field("domains", &self.domains)
            .field("email", &self.email)
            .field("status", &self.status)
            .field("expires_at", &self.expires_at)
            .field("fullchain_pem", &self.fullchain_pem)
            .field("private_key_pem", &self.private_key_pem)
            .finish_non_exhaustive()
    }
}

impl Record for Certificate {
    const ID_FIELD: &'static str = "cert_name";
    const FAMILY: Option<&'static Family> = Some(&family::CERTIFICATES);

    fn id(&self) -> &str {
        &self.cert_name
    }

    fn normalize(&mut self) -> Result<()> {
        Certificate::normalize(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(mut cert: Certificate) -> &'static str {
        match cert.normalize() {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn normalize_canonicalizes_domains_and_email() {
        let mut cert =
            Certificate::new("c", [" Example.COM ", "*.Example.com"], "Admin@Example.com");
        cert.normalize().unwrap();
        assert_eq!(cert.domains, ["example.com", "*.example.com"]);
        assert_eq!(cert.email, "admin@example.com");
    }

    #[test]
    fn normalize_names_the_bad_field() {
        let ok = Certificate::new("c", ["a.example"], "a@b.example");
        assert_eq!(
            field_of(Certificate {
                cert_name: "a b".into(),
                ..ok.clone()
            }),
            "cert_name"
        );
        assert_eq!(
            field_of(Certificate {
                cert_name: "a:b".into(),
                ..ok.clone()
            }),
            "cert_name"
        );
        assert_eq!(
            field_of(Certificate {
                domains: vec![],
                ..ok.clone()
            }),
            "domains"
        );
        let dup = vec!["a.example".to_owned(), "A.example".to_owned()];
        assert_eq!(
            field_of(Certificate {
                domains: dup,
                ..ok.clone()
            }),
            "domains"
        );
        for bad in [
            "a.*.example",
            "*",
            "a..b",
            "-a.example",
            "a b.example",
            "x:1",
        ] {
            let cert = Certificate {
                domains: vec![bad.into()],
                ..ok.clone()
            };
            assert_eq!(field_of(cert), "domains", "{bad}");
        }
        let many = (0..=MAX_DOMAINS).map(|i| format!("d{i}.example")).collect();
        assert_eq!(
            field_of(Certificate {
                domains: many,
                ..ok.clone()
            }),
            "domains"
        );
        for bad in [
            "nobody",
            "a@b",
            "@b.example",
            "a@@b.example",
            "a b@c.example",
        ] {
            assert_eq!(
                field_of(Certificate {
                    email: bad.into(),
                    ..ok.clone()
                }),
                "email",
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_pem_lengths_only() {
        let mut cert = Certificate::new("c", ["a.example"], "a@b.example");
        cert.private_key_pem = Some(Secret::new("-----BEGIN PRIVATE KEY-----\nMIIEsecret\n"));
        let shown = format!("{cert:?}");
        assert!(!shown.contains("MIIEsecret"), "{shown}");
        assert!(shown.contains("bytes"), "{shown}");
    }
}
