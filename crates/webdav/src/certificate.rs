//! What a server's certificate says, for a person deciding whether to trust it: its SHA-256
//! fingerprint, subject, issuer and validity. [`presented_certificate`] fetches it from a
//! server whose certificate was refused, with a handshake that trusts nothing: the
//! certificate is recorded and the handshake is aborted, so no request (and no password) is
//! ever sent over it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use url::Url;

use crate::error::Error;
use crate::tls::certificate_fingerprint;

/// A server certificate, as a person checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// SHA-256 of the DER certificate, as `AB:CD:…`: what the user compares and what a pin
    /// holds.
    pub sha256: String,
    pub subject: String,
    pub issuer: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
}

impl CertificateInfo {
    /// Reads a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<CertificateInfo, Error> {
        let (_, parsed) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| Error::Tls(format!("the server's certificate cannot be read: {e}")))?;
        let validity = parsed.validity();
        Ok(CertificateInfo {
            sha256: certificate_fingerprint(der),
            subject: parsed.subject().to_string(),
            issuer: parsed.issuer().to_string(),
            not_before: at(validity.not_before.timestamp()),
            not_after: at(validity.not_after.timestamp()),
        })
    }

    /// Whether it names itself as its issuer: nobody vouches for it but itself.
    pub fn is_self_signed(&self) -> bool {
        self.subject == self.issuer
    }
}

fn at(unix: i64) -> SystemTime {
    if unix >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
    }
}

/// The certificate the server at `url` presents, fetched with a handshake that records it and
/// then refuses it. For showing to the user after a refusal, never for trusting.
pub async fn presented_certificate(url: &Url, timeout: Duration) -> Result<CertificateInfo, Error> {
    let tls_error = |message: String| Error::Tls(message);
    let host = url
        .host_str()
        .ok_or_else(|| tls_error(format!("{url} has no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| tls_error(format!("{url} has no port")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        presented: Mutex::new(None),
        provider: provider.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.clone())
        .map_err(|e| tls_error(format!("'{host}' is not a server name: {e}")))?;
    let handshake = async {
        let tcp = TcpStream::connect((host.as_str(), port)).await?;
        // Ends in an error: the recorder refuses every certificate.
        let _ = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await;
        Ok::<_, std::io::Error>(())
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| tls_error(format!("{host}:{port} did not finish a TLS handshake")))?
        .map_err(|e| tls_error(format!("{host}:{port}: {e}")))?;
    let der = recorder
        .presented
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or_else(|| tls_error(format!("{host}:{port} presented no certificate")))?;
    CertificateInfo::from_der(&der)
}

/// Records the server's certificate and refuses it.
#[derive(Debug)]
struct Recorder {
    presented: Mutex<Option<Vec<u8>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self
            .presented
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(end_entity.as_ref().to_vec());
        Err(rustls::Error::General(
            "recorded to be shown, not trusted".into(),
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("never trusted".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("never trusted".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
