//! A probe's URL as a URL parser reads it: only `http`/`https`, no userinfo, no fragment, no
//! whitespace, control or non-ASCII characters, and a host that is a DNS name or an IPv4
//! address. The host and port it yields are what the capability check compares and what the
//! client connects to.

use url::{Host, Url};

use super::{MAX_URL, ProbeError};
use crate::text;

/// A checked URL and the endpoint it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: Url,
    /// Lowercase DNS name or dotted-quad IPv4 address, as the parser normalised it.
    pub host: String,
    /// The explicit port, or the scheme's (80, 443).
    pub port: u16,
}

impl Endpoint {
    /// `host:port/path?query`, escaped and short, for reports.
    pub fn label(&self) -> String {
        let mut rest = self.url.path().to_string();
        if let Some(query) = self.url.query() {
            rest.push('?');
            rest.push_str(query);
        }
        text::escape(&format!("{}:{}{rest}", self.host, self.port), 256)
    }
}

fn invalid(what: &str, why: impl std::fmt::Display) -> ProbeError {
    ProbeError::Invalid(format!("{what}: {why}"))
}

/// Parses and checks `text`; `what` names it in errors (`the URL`, `the Prometheus address`).
pub fn parse(text: &str, what: &str) -> Result<Endpoint, ProbeError> {
    if text.len() > MAX_URL {
        return Err(invalid(
            what,
            format!("{} bytes, more than {MAX_URL}", text.len()),
        ));
    }
    // The URL standard strips tabs and newlines and percent-encodes the rest silently: refuse
    // them instead, so that the URL checked is the URL written.
    if let Some(c) = text
        .chars()
        .find(|c| !c.is_ascii() || c.is_ascii_control() || *c == ' ')
    {
        return Err(invalid(
            what,
            format!("{:?} is not allowed in a probe's URL", c),
        ));
    }
    let url = Url::parse(text).map_err(|e| {
        invalid(
            what,
            format!("`{}` is not a URL: {e}", text::escape(text, 128)),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(
            what,
            format!(
                "the scheme must be http or https, not {}",
                text::escape(url.scheme(), 32)
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            what,
            "credentials in a URL are refused (the host sends none)",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid(what, "a fragment (#...) is refused"));
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => name.to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(_)) => {
            return Err(invalid(
                what,
                "IPv6 hosts are not supported (no capability can name one)",
            ));
        }
        None => return Err(invalid(what, "the URL names no host")),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| invalid(what, "the URL names no port"))?;
    Ok(Endpoint { url, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_the_endpoint_the_parser_connects_to() {
        let e = parse("http://Web-Canary.Shop:8080/healthz?x=1", "the URL").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("web-canary.shop", 8080));
        assert_eq!(e.label(), "web-canary.shop:8080/healthz?x=1");
        let e = parse("https://prom.monitoring", "the URL").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("prom.monitoring", 443));
        // An IPv4 address in any spelling is the address.
        let e = parse("http://0x7f.1:9090/", "the URL").unwrap();
        assert_eq!((e.host.as_str(), e.port), ("127.0.0.1", 9090));
        let e = parse("http://127.0.0.1:80/", "the URL").unwrap();
        assert_eq!(e.port, 80);
    }

    #[test]
    fn refuses_anything_odd() {
        for (url, why) in [
            ("http://user:pw@web:80/", "credentials"),
            ("http://user@web:80/", "credentials"),
            ("ftp://web/", "scheme must be http or https"),
            ("file:///etc/passwd", "scheme must be http or https"),
            ("http://web/#x", "fragment"),
            ("http://[::1]:80/", "IPv6"),
            ("http://web\n.evil/", "not allowed"),
            ("http://we b/", "not allowed"),
            ("http://wéb/", "not allowed"),
            ("web:80", "scheme must be"),
            ("/healthz", "is not a URL"),
            ("http://web:99999/", "is not a URL"),
        ] {
            let e = parse(url, "the URL").unwrap_err().to_string();
            assert!(e.contains(why), "{url}: {e}");
        }
        let long = format!("http://web/{}", "a".repeat(MAX_URL));
        assert!(
            parse(&long, "the URL")
                .unwrap_err()
                .to_string()
                .contains("more than")
        );
    }
}
