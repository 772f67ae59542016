//! Field checks shared by the models. Each returns [`Error::Invalid`] naming the field.
//!
//! The rules, and why:
//! - **Hostnames** are RFC 1123 host names: dot-separated labels of 1 to 63 letters, digits
//!   and `-` (not first or last), at most 253 characters, lower-cased. Internationalized names
//!   are taken in their A-label form only (`xn--...`, as IDNA 2008 and UTS #46 produce it):
//!   Unicode is refused rather than converted here, because two processes converting with
//!   different IDNA tables could store one host under two keys.
//! - **Paths** start with `/` and hold no control characters (a NUL or CR/LF in a path ends up
//!   in logs and headers).
//! - **Header names** are RFC 9110 tokens; **header values** hold no CR, LF or NUL (header
//!   injection) and no other control character but tab.
//! - **Redirect URIs** follow OAuth 2.1 and RFC 8252: absolute, no fragment; `https`, or
//!   `http` only to a loopback host; any other scheme only as a private-use scheme in reverse
//!   domain form (`com.example.app:/callback`), and never `javascript`, `data`, `file`,
//!   `vbscript`, `about` or `blob`.
//! - **Strings**: every string in a record is at most [`MAX_STRING_BYTES`] (PEMs
//!   [`MAX_PEM_BYTES`]), and a whole record at most [`MAX_RECORD_BYTES`], so one write cannot
//!   make every listing slow.
//! - **Durations** are at most [`MAX_TTL`]: larger ones overflow date arithmetic.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};

/// The longest string a record field may hold, PEMs aside.
pub const MAX_STRING_BYTES: usize = 16 * 1024;
/// The longest PEM (certificate chain or key) a record may hold.
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// The largest record, encoded.
pub const MAX_RECORD_BYTES: usize = 256 * 1024;
/// The longest lifetime, TTL or wait this crate accepts: ten years.
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 86_400);
/// The longest hostname (RFC 1123).
pub(crate) const MAX_HOSTNAME: usize = 253;
/// The longest path or URL.
pub(crate) const MAX_PATH: usize = 2048;

/// Trims and lower-cases a hostname and checks it is an RFC 1123 host name (see the module
/// documentation for the IDNA policy).
pub(crate) fn hostname(field: &'static str, raw: &str) -> Result<String> {
    let mut host = raw.trim().to_ascii_lowercase();
    // `api.example.com.` (the FQDN form a `Host` header may carry) names `api.example.com`.
    if host.len() > 1 && host.ends_with('.') {
        host.pop();
    }
    if host.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if host.len() > MAX_HOSTNAME {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_HOSTNAME} characters"),
        ));
    }
    if !host.is_ascii() {
        return Err(Error::invalid(
            field,
            "must be ASCII: give an internationalized name in its xn-- (A-label) form",
        ));
    }
    for label in host.split('.') {
        let shaped = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !shaped {
            return Err(Error::invalid(
                field,
                "must be dot-separated labels of 1 to 63 letters, digits and `-` (RFC 1123)",
            ));
        }
    }
    Ok(host)
}

/// An absolute `http` or `https` URL with a host.
pub(crate) fn http_url(field: &'static str, raw: &str) -> Result<()> {
    bounded(field, raw, MAX_PATH)?;
    let url = url::Url::parse(raw).map_err(|e| Error::invalid(field, e))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(field, "scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "must name a host"));
    }
    Ok(())
}

/// A path that starts with `/`, without control characters.
pub(crate) fn path(field: &'static str, raw: &str) -> Result<()> {
    bounded(field, raw, MAX_PATH)?;
    if !raw.starts_with('/') {
        return Err(Error::invalid(field, "must start with `/`"));
    }
    no_controls(field, raw)
}

/// A record id usable as a key segment: letters, digits, `-`, `_`, `.`.
pub(crate) fn record_id(field: &'static str, raw: &str) -> Result<()> {
    if raw.is_empty() || raw.len() > 128 {
        return Err(Error::invalid(field, "must be 1 to 128 characters"));
    }
    if raw
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            "must contain only letters, digits, `-`, `_` and `.`",
        ))
    }
}

/// An HTTP header name (an RFC 9110 token) and value (no CR, LF, NUL or other control
/// character but tab).
pub(crate) fn header(field: &'static str, name: &str, value: &str) -> Result<()> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(Error::invalid(
            field,
            "header names must be RFC 9110 tokens",
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid(
            field,
            "header values must not hold CR, LF, NUL or other control characters",
        ));
    }
    bounded(field, value, MAX_STRING_BYTES)
}

/// A redirect URI a client may register or a code may be bound to (OAuth 2.1, RFC 8252).
pub(crate) fn redirect_uri(field: &'static str, raw: &str) -> Result<()> {
    bounded(field, raw, MAX_PATH)?;
    let url = url::Url::parse(raw).map_err(|e| Error::invalid(field, e))?;
    if url.fragment().is_some() {
        return Err(Error::invalid(field, "must not have a fragment"));
    }
    match url.scheme() {
        "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(ip)) if ip.is_loopback() => Ok(()),
            _ => Err(Error::invalid(
                field,
                "http is allowed only to a loopback host",
            )),
        },
        "https" => Err(Error::invalid(field, "must name a host")),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" => Err(Error::invalid(
            field,
            "this scheme can never be a redirect URI",
        )),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(Error::invalid(
            field,
            "must be https, loopback http, or a private-use scheme in reverse domain form",
        )),
    }
}

/// An email address, lower-cased: one `@`, a local part, and a dotted domain, no spaces or
/// control characters.
pub(crate) fn email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let shaped = match email.split_once('@') {
        Some((local, host)) => {
            !local.is_empty()
                && !host.contains('@')
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && email.len() <= 254
                && !email
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == ':')
        }
        None => false,
    };
    if shaped {
        Ok(email)
    } else {
        Err(Error::invalid("email", "must look like name@example.com"))
    }
}

/// A duration of at most [`MAX_TTL`], and more than zero.
pub(crate) fn duration(field: &'static str, value: Duration) -> Result<()> {
    if value.is_zero() {
        return Err(Error::invalid(field, "must be more than zero"));
    }
    if value > MAX_TTL {
        return Err(Error::invalid(field, "must be at most ten years"));
    }
    Ok(())
}

/// The size limits of an encoded record: every string, and the whole. The error names the
/// top-level field that holds the string.
pub(crate) fn record_size(json: &str) -> Result<()> {
    if json.len() > MAX_RECORD_BYTES {
        return Err(Error::invalid(
            "record",
            format!("must encode to at most {MAX_RECORD_BYTES} bytes"),
        ));
    }
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(json) else {
        return Ok(());
    };
    for (name, value) in &fields {
        let limit = if name.ends_with("_pem") {
            MAX_PEM_BYTES
        } else {
            MAX_STRING_BYTES
        };
        if longest_string(value) > limit {
            return Err(Error::Invalid {
                field: "record",
                reason: format!("field `{name}` holds a string over {limit} bytes"),
            });
        }
    }
    Ok(())
}

fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| key.len().max(longest_string(value)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

fn bounded(field: &'static str, raw: &str, limit: usize) -> Result<()> {
    if raw.len() > limit {
        return Err(Error::invalid(
            field,
            format!("must be at most {limit} bytes"),
        ));
    }
    Ok(())
}

fn no_controls(field: &'static str, raw: &str) -> Result<()> {
    if raw.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not hold control characters"));
    }
    Ok(())
}

/// The canonical form of a hostname used to look a proxy up (lower case, without the dot of
/// an FQDN's `api.example.com.` form); [`Error::Invalid`] naming `proxy_hostname`, as a
/// store does, if it could never be a proxy's.
pub(crate) fn hostname_key(hostname: &str) -> Result<String> {
    self::hostname("proxy_hostname", hostname)
}

/// The canonical form of a route id used to look a route up; [`Error::Invalid`] naming
/// `route_id` if it could never be a route's.
pub(crate) fn route_id_key(route_id: &str) -> Result<&str> {
    id_key("route_id", route_id)
}

/// An id that is part of a key (letters, digits, `-`, `_`, `.`); [`Error::Invalid`] naming
/// `field` otherwise.
pub(crate) fn id_key<'a>(field: &'static str, id: &'a str) -> Result<&'a str> {
    record_id(field, id)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_rfc_1123() {
        for good in [
            "localhost",
            "api.example.com",
            "xn--bcher-kva.example",
            "1.2.3.4",
            "a-b.c",
        ] {
            assert!(hostname("h", good).is_ok(), "{good}");
        }
        let long = "a".repeat(70_000);
        for bad in [
            ".",
            "..",
            "a/b",
            "a@b",
            "a\0b",
            "a\u{200b}b",
            "bücher.example",
            "-a.example",
            "a..b",
            "a_b.example",
            "a.example..",
            &long,
            "a:80",
            "{gw}",
            "*.x",
        ] {
            assert!(hostname("h", bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            hostname("h", "API.example.com.").unwrap(),
            "api.example.com",
            "an FQDN's final dot names the same host"
        );
    }

    #[test]
    fn redirect_uris_follow_oauth_2_1() {
        for good in [
            "https://app.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(redirect_uri("r", good).is_ok(), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,x",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "not a url",
            "/relative",
            "myapp:/cb",
            "file:///etc/passwd",
        ] {
            assert!(redirect_uri("r", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_refuse_injection() {
        assert!(header("h", "X-Env", "prod\tok").is_ok());
        assert!(header("h", "X-Env", "a\r\nSet-Cookie: x").is_err());
        assert!(header("h", "X-Env", "a\0").is_err());
        assert!(header("h", "Bad Name", "v").is_err());
        assert!(header("h", "", "v").is_err());
    }

    #[test]
    fn durations_and_sizes_are_bounded() {
        assert!(duration("d", Duration::from_secs(60)).is_ok());
        assert!(duration("d", Duration::ZERO).is_err());
        assert!(duration("d", Duration::MAX).is_err());
        assert!(record_size(r#"{"a":"b"}"#).is_ok());
        let big = format!(r#"{{"custom":"{}"}}"#, "x".repeat(MAX_STRING_BYTES + 1));
        assert!(matches!(record_size(&big), Err(Error::Invalid { .. })));
        let pem = format!(
            r#"{{"fullchain_pem":"{}"}}"#,
            "x".repeat(MAX_STRING_BYTES + 1)
        );
        assert!(record_size(&pem).is_ok());
        assert!(path("p", "/\0").is_err());
        assert!(email("ops@example.org\0").is_err());
    }
}
