//! Writing certificates with their domain and expiry indexes, finding them by domain or
//! expiry, and deleting one together with every proxy's reference to it.

use redis::ScriptInvocation;

use crate::error::Result;
use crate::keys::KeySpace;
use crate::model::{self, Certificate, Fence, ProxyTarget};

/// Writes `cert` (validated, encoded as `json`) with its domain and expiry index entries.
/// `previous` is what it replaces (`None` for a create); `fence`, if given, must be the
/// newest token of its lock. Reply: [`WriteOutcome`], whose conflict owner reads
/// `{domain position}:{owner}` (see [`certificate_conflict`]).
pub fn put_certificate(
    keys: &KeySpace,
    cert: &Certificate,
    json: &str,
    previous: Option<(&[u8], &Certificate)>,
    fence: Option<&Fence>,
) -> ScriptInvocation<'static> {
    let name = &cert.cert_name;
    let mut call = lua_script!("put_certificate").prepare_invoke();
    call.key(keys.cert(name))
        .key(keys.cert_index())
        .key(keys.cert_expiry())
        .key(fence.map_or_else(|| keys.cert(name), |f| keys.fence(&f.lock)));
    for domain in &cert.domains {
        call.key(keys.cert_domain(domain));
    }
    let dropped = previous
        .iter()
        .flat_map(|(_, old)| old.domains.iter())
        .filter(|domain| !cert.domains.contains(domain));
    for domain in dropped {
        call.key(keys.cert_domain(domain));
    }
    match previous {
        None => call.arg("absent").arg(""),
        Some((raw, _)) => call.arg("exact").arg(raw),
    };
    let expiry = cert
        .expires_at
        .as_ref()
        .map(|t| t.instant().timestamp().to_string())
        .unwrap_or_default();
    call.arg(json)
        .arg(name)
        .arg(expiry)
        .arg(cert.domains.len())
        .arg(fence.map(|f| f.token.to_string()).unwrap_or_default())
        .arg(keys.cert_record_prefix());
    call
}

/// The domain and owner named by a certificate write's conflict reply.
pub fn certificate_conflict(cert: &Certificate, reply_owner: &str) -> (String, String) {
    let (position, owner) = reply_owner.split_once(':').unwrap_or(("1", reply_owner));
    let domain = position
        .parse::<usize>()
        .ok()
        .and_then(|i| cert.domains.get(i.wrapping_sub(1)))
        .cloned()
        .unwrap_or_default();
    (domain, owner.to_owned())
}

/// A proxy to rewrite in the same script as a certificate's deletion.
pub struct ProxyRewrite {
    /// The proxy's hostname.
    pub hostname: String,
    /// Its record as read.
    pub expected: Vec<u8>,
    /// Its record without the certificate.
    pub json: String,
}

/// The proxies among `proxies` (key, stored value) that refer to `cert_name`, rewritten
/// without it. Corrupt proxy records are skipped: they cannot be rewritten safely.
pub fn proxy_rewrites(
    cert_name: &str,
    proxies: Vec<(String, Vec<u8>)>,
) -> Result<Vec<ProxyRewrite>> {
    let mut rewrites = Vec::new();
    for (key, raw) in proxies {
        let Ok(mut proxy) = model::decode::<ProxyTarget>(&key, &raw) else {
            continue;
        };
        if proxy.cert_name.as_deref() == Some(cert_name) {
            proxy.cert_name = None;
            let json = model::encode(&mut proxy)?;
            rewrites.push(ProxyRewrite {
                hostname: proxy.proxy_hostname,
                expected: raw,
                json,
            });
        }
    }
    Ok(rewrites)
}

/// Removes the certificate stored as `raw` (decoded as `decoded`, or `None` if corrupt, in
/// which case its domain keys cannot be named), and rewrites the proxies that refer to it.
/// Reply: [`WriteOutcome`].
pub fn delete_certificate(
    keys: &KeySpace,
    name: &str,
    raw: &[u8],
    decoded: Option<&Certificate>,
    rewrites: &[ProxyRewrite],
) -> ScriptInvocation<'static> {
    let domains = decoded.map(|c| c.domains.as_slice()).unwrap_or_default();
    let mut call = lua_script!("delete_certificate").prepare_invoke();
    call.key(keys.cert(name))
        .key(keys.cert_index())
        .key(keys.cert_expiry())
        .key(keys.proxy_index());
    for domain in domains {
        call.key(keys.cert_domain(domain));
    }
    for rewrite in rewrites {
        call.key(keys.proxy(&rewrite.hostname));
    }
    call.arg(raw)
        .arg(name)
        .arg(domains.len())
        .arg(keys.proxy(""));
    for rewrite in rewrites {
        call.arg(&rewrite.hostname)
            .arg(&rewrite.expected)
            .arg(&rewrite.json);
    }
    call
}

/// The certificate that owns `domain`, in one round trip. Reply: `[name, record]` or empty.
pub fn certificate_by_domain(keys: &KeySpace, domain: &str) -> ScriptInvocation<'static> {
    let mut call = lua_script!("get_by_owner").prepare_invoke();
    call.key(keys.cert_domain(domain))
        .arg(keys.cert_record_prefix());
    call
}

/// The certificates expiring at or before `until` (Unix seconds), soonest first, in one
/// round trip. Reply: decode with [`listed_records`].
pub fn expiring_certificates(keys: &KeySpace, until: i64) -> ScriptInvocation<'static> {
    let mut call = lua_script!("list_records").prepare_invoke();
    call.key(keys.cert_expiry())
        .arg(keys.cert_record_prefix())
        .arg(until);
    call
}
