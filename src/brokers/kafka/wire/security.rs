//! How the wire path reaches a cluster's listeners: TLS through rustls (trusting `ssl.ca.location`
//! or `ssl.ca.pem`, else the web PKI roots) and SASL PLAIN or SCRAM-SHA-256/512 — read from the
//! same `[clusters.properties]` librdkafka reads, so one configuration drives both paths.

use std::collections::BTreeMap;

use tokio_rustls::TlsConnector;

use super::scram::ScramHash;
use crate::brokers::tls;

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
    let setting = "ssl.ca.location";
    let pem = match (property(properties, "ssl.ca.pem"), property(properties, setting)) {
        (Some(pem), _) => Some(pem.as_bytes().to_vec()),
        (None, Some(path)) if path != "probe" => Some(tls::read_ca_file(path, setting)?),
        _ => None,
    };
    tls::connector(pem.as_deref(), setting)
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
}
