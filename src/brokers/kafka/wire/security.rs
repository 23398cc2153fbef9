//! How the wire path reaches a cluster's listeners: TLS through rustls (trusting `ssl.ca.location`
//! or `ssl.ca.pem`, else the web PKI roots) and SASL PLAIN or SCRAM-SHA-256/512 — read from the
//! same `[clusters.properties]` librdkafka reads, so one configuration drives both paths.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

use super::scram::ScramHash;

/// A CA bundle larger than this is not a CA bundle.
const MAX_CA_BYTES: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramHash),
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(ScramHash::Sha256) => "SCRAM-SHA-256",
            Mechanism::Scram(ScramHash::Sha512) => "SCRAM-SHA-512",
        }
    }
}

#[derive(Clone)]
pub struct SaslLogin {
    pub mechanism: Mechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// TLS and SASL settings of the wire path's connections; the default is plain TCP.
#[derive(Clone, Default)]
pub struct WireSecurity {
    pub tls: Option<TlsConnector>,
    pub sasl: Option<SaslLogin>,
}

impl std::fmt::Debug for WireSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireSecurity")
            .field("tls", &self.tls.is_some())
            .field("sasl", &self.sasl)
            .finish()
    }
}

/// Properties whose presence means a setup the wire path does not reproduce (client
/// certificates, switched-off verification): such clusters are read through librdkafka only.
const LIBRDKAFKA_ONLY: [&str; 6] = [
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.keystore.location",
    "ssl_engine_callback_data",
];

fn property<'a>(properties: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    properties.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

impl WireSecurity {
    /// The wire path's settings for a cluster's librdkafka `properties`. `Ok(None)` when they
    /// ask for something it does not do (GSSAPI or OAUTHBEARER, client certificates, no
    /// certificate verification): that cluster is then read through librdkafka only. An
    /// unreadable CA is an error that names the key.
    pub fn from_properties(
        properties: &BTreeMap<String, String>,
    ) -> Result<Option<WireSecurity>, String> {
        let protocol =
            property(properties, "security.protocol").unwrap_or("plaintext").to_ascii_lowercase();
        let (tls, sasl) = match protocol.as_str() {
            "plaintext" => (false, false),
            "ssl" => (true, false),
            "sasl_plaintext" => (false, true),
            "sasl_ssl" => (true, true),
            _ => return Ok(None),
        };
        if LIBRDKAFKA_ONLY.iter().any(|key| property(properties, key).is_some())
            || property(properties, "enable.ssl.certificate.verification")
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
            || property(properties, "ssl.endpoint.identification.algorithm")
                .is_some_and(|v| v.eq_ignore_ascii_case("none"))
        {
            return Ok(None);
        }
        let sasl = if sasl {
            let mechanism = match property(properties, "sasl.mechanism")
                .or_else(|| property(properties, "sasl.mechanisms"))
                .map(str::to_ascii_uppercase)
                .as_deref()
            {
                Some("PLAIN") => Mechanism::Plain,
                Some("SCRAM-SHA-256") => Mechanism::Scram(ScramHash::Sha256),
                Some("SCRAM-SHA-512") => Mechanism::Scram(ScramHash::Sha512),
                // GSSAPI (librdkafka's default), OAUTHBEARER: librdkafka only.
                _ => return Ok(None),
            };
            let (Some(username), Some(password)) =
                (properties.get("sasl.username"), properties.get("sasl.password"))
            else {
                return Ok(None);
            };
            Some(SaslLogin { mechanism, username: username.clone(), password: password.clone() })
        } else {
            None
        };
        let tls = if tls { Some(connector(properties)?) } else { None };
        Ok(Some(WireSecurity { tls, sasl }))
    }
}

fn connector(properties: &BTreeMap<String, String>) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = match (property(properties, "ssl.ca.pem"), property(properties, "ssl.ca.location")) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(path)) if path != "probe" => Some(read_capped(path)?),
        _ => None,
    };
    match pem {
        Some(pem) => {
            for certificate in CertificateDer::pem_slice_iter(&pem) {
                let certificate = certificate
                    .map_err(|e| format!("ssl.ca.location: not PEM certificates: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("ssl.ca.location: an unusable certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err("ssl.ca.location: no certificate in the file".into());
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

fn read_capped(path: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("ssl.ca.location: {path}: {e}"))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("ssl.ca.location: {path}: {e}"))?;
    if pem.len() as u64 > MAX_CA_BYTES {
        return Err(format!("ssl.ca.location: {path} is larger than {MAX_CA_BYTES} bytes"));
    }
    Ok(pem)
}

/// The name a broker's certificate must carry: its host, or its IP address.
pub fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = match addr.rsplit_once(':') {
        Some((host, _port)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => addr,
    };
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host} is not a TLS server name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn properties(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn plaintext_is_the_default_and_sasl_scram_is_understood() {
        let plain = WireSecurity::from_properties(&BTreeMap::new()).unwrap().unwrap();
        assert!(plain.tls.is_none() && plain.sasl.is_none());
        let scram = WireSecurity::from_properties(&properties(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "scram-sha-512"),
            ("sasl.username", "osprey"),
            ("sasl.password", "secret"),
        ]))
        .unwrap()
        .unwrap();
        let login = scram.sasl.unwrap();
        assert_eq!(login.mechanism, Mechanism::Scram(ScramHash::Sha512));
        assert!(!format!("{login:?}").contains("secret"), "the password never prints");
    }

    #[test]
    fn what_the_wire_path_cannot_do_is_left_to_librdkafka() {
        for pairs in [
            &[("security.protocol", "SASL_SSL")][..],
            &[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "GSSAPI")],
            &[("security.protocol", "SASL_SSL"), ("sasl.mechanism", "OAUTHBEARER")],
            &[("security.protocol", "SSL"), ("ssl.certificate.location", "/c.pem")],
            &[("security.protocol", "SSL"), ("enable.ssl.certificate.verification", "false")],
        ] {
            assert!(
                WireSecurity::from_properties(&properties(pairs)).unwrap().is_none(),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn an_unreadable_ca_names_the_key() {
        let error = WireSecurity::from_properties(&properties(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", "/nonexistent/ca.pem"),
        ]))
        .unwrap_err();
        assert!(error.starts_with("ssl.ca.location: /nonexistent/ca.pem"), "{error}");
        let error = WireSecurity::from_properties(&properties(&[
            ("security.protocol", "SSL"),
            ("ssl.ca.pem", "not a certificate"),
        ]))
        .unwrap_err();
        assert!(error.contains("no certificate"), "{error}");
    }

    #[test]
    fn server_names_come_from_the_broker_address() {
        assert_eq!(server_name("127.0.0.1:9093").unwrap().to_str(), "127.0.0.1");
        assert_eq!(
            server_name("broker-1.example.com:9093").unwrap().to_str(),
            "broker-1.example.com"
        );
        assert_eq!(server_name("[::1]:9093").unwrap().to_str(), "::1");
    }
}
