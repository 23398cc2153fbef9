//! A byte stream to a broker over plain TCP or rustls — the connector (a CA file's certificates,
//! else the web PKI roots), the server name and the handshake — shared by the Kafka wire path and
//! RabbitMQ's AMQP canary.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A CA bundle larger than this is not a CA bundle.
const MAX_CA_BYTES: u64 = 1 << 20;

/// A byte stream to a broker: plain TCP or TLS over it.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A TLS client trusting `pem`'s certificates, or the web PKI roots without one; `setting` names
/// where the certificates came from in errors.
pub fn connector(pem: Option<&[u8]>, setting: &str) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    match pem {
        Some(pem) => {
            for certificate in CertificateDer::pem_slice_iter(pem) {
                let certificate =
                    certificate.map_err(|e| format!("{setting}: not PEM certificates: {e}"))?;
                roots
                    .add(certificate)
                    .map_err(|e| format!("{setting}: an unusable certificate: {e}"))?;
            }
            if roots.is_empty() {
                return Err(format!("{setting}: no certificate in the file"));
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

/// A CA file's bytes, refused past [`MAX_CA_BYTES`].
pub fn read_ca_file(path: &str, setting: &str) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{setting}: {path}: {e}"))?;
    let mut pem = Vec::new();
    file.take(MAX_CA_BYTES + 1)
        .read_to_end(&mut pem)
        .map_err(|e| format!("{setting}: {path}: {e}"))?;
    if pem.len() as u64 > MAX_CA_BYTES {
        return Err(format!("{setting}: {path} is larger than {MAX_CA_BYTES} bytes"));
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

/// Connects to `addr` (`host:port`), through TLS when `tls` is given; each step within `timeout`.
pub async fn connect(
    addr: &str,
    timeout: Duration,
    tls: Option<&TlsConnector>,
) -> Result<Box<dyn Stream>, String> {
    let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connect to {addr}: timed out"))?
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| format!("set TCP_NODELAY: {e}"))?;
    let Some(tls) = tls else { return Ok(Box::new(tcp)) };
    let name = server_name(addr)?;
    let stream = tokio::time::timeout(timeout, tls.connect(name, tcp))
        .await
        .map_err(|_| format!("TLS handshake with {addr}: timed out"))?
        .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
    Ok(Box::new(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_come_from_the_broker_address() {
        assert_eq!(server_name("127.0.0.1:9093").unwrap().to_str(), "127.0.0.1");
        assert_eq!(
            server_name("broker-1.example.com:9093").unwrap().to_str(),
            "broker-1.example.com"
        );
        assert_eq!(server_name("[::1]:9093").unwrap().to_str(), "::1");
    }

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let error = connector(Some(b"not a certificate"), "tls_ca_file").err().unwrap();
        assert_eq!(error, "tls_ca_file: no certificate in the file");
        assert!(connector(None, "tls_ca_file").is_ok(), "the web PKI roots");
    }
}
