//! TLS trust: the public web PKI by default, plus CA certificates the user adds (a company or
//! home CA), or a pinned certificate for a self-signed server.

use std::fmt;
use std::sync::Arc;

use reqwest::ClientBuilder;
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use crate::error::Error;

/// Which certificates the client trusts beyond the web PKI.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM certificates of extra CAs, trusted in addition to the built-in roots.
    pub extra_ca_pem: Vec<u8>,
    /// SHA-256 of the server's own certificate (DER). When set, exactly that certificate is
    /// accepted, whoever signed it, and no other: the way to trust a self-signed server.
    pub pinned_sha256: Option<[u8; 32]>,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("extra_ca_pem_bytes", &self.extra_ca_pem.len())
            .field(
                "pinned_sha256",
                &self.pinned_sha256.map(|p| fingerprint_hex(&p)),
            )
            .finish()
    }
}

impl TlsOptions {
    pub(crate) fn apply(&self, mut builder: ClientBuilder) -> Result<ClientBuilder, Error> {
        if let Some(pin) = self.pinned_sha256 {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Tls(e.to_string()))?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedCertificate { pin, provider }))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            return Ok(builder.use_preconfigured_tls(config));
        }
        if !self.extra_ca_pem.is_empty() {
            let certificates =
                reqwest::Certificate::from_pem_bundle(&self.extra_ca_pem).map_err(|e| {
                    Error::Tls(format!("the extra CA certificates are not valid PEM: {e}"))
                })?;
            if certificates.is_empty() {
                return Err(Error::Tls("the extra CA file holds no certificate".into()));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        Ok(builder)
    }
}

/// Parses a SHA-256 fingerprint written as 64 hex digits, with or without `:` separators.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], Error> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let invalid = || {
        Error::Tls(format!(
            "'{text}' is not a SHA-256 fingerprint (64 hex digits)"
        ))
    };
    if hex.len() != 64 {
        return Err(invalid());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
    }
    Ok(out)
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:…`.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut pin = [0u8; 32];
    pin.copy_from_slice(digest.as_ref());
    fingerprint_hex(&pin)
}

/// A SHA-256 fingerprint as people compare it: `AB:CD:…`.
pub fn fingerprint_hex(pin: &[u8; 32]) -> String {
    pin.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Accepts exactly one certificate, by its SHA-256, and still checks the handshake signatures
/// so the peer must hold that certificate's private key.
#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        if digest.as_ref() == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate ({}) is not the pinned one ({})",
                certificate_fingerprint(end_entity.as_ref()),
                fingerprint_hex(&self.pin)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_both_spellings() {
        let colons = "AB:".repeat(31) + "CD";
        let pin = parse_fingerprint(&colons).unwrap();
        assert_eq!(pin[0], 0xAB);
        assert_eq!(pin[31], 0xCD);
        assert_eq!(
            parse_fingerprint(&colons.replace(':', "").to_lowercase()).unwrap(),
            pin
        );
        assert!(parse_fingerprint("AB:CD").is_err());
        assert!(parse_fingerprint(&"ZZ".repeat(32)).is_err());
        assert_eq!(fingerprint_hex(&pin), colons);
    }
}
