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
    pub(crate) fn apply(&self, builder: ClientBuilder) -> Result<ClientBuilder, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let trust = if let Some(pin) = self.pinned_sha256 {
            Trust::Pinned(pin)
        } else if self.extra_ca_pem.is_empty() {
            return Ok(builder);
        } else {
            let extra = extra_certificates(&self.extra_ca_pem)?;
            let mut roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let (_, refused) = roots.add_parsable_certificates(extra.iter().cloned());
            if refused == extra.len() {
                return Err(Error::Tls(
                    "no certificate in the extra CA file can be used as a CA".into(),
                ));
            }
            let web_pki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots.into(),
                provider.clone(),
            )
            .build()
            .map_err(|e| Error::Tls(e.to_string()))?;
            Trust::CaOrOwn {
                web_pki,
                own: extra,
            }
        };
        let verifier = Verifier {
            trust,
            provider: provider.clone(),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(builder.use_preconfigured_tls(config))
    }
}

/// The certificates of a PEM file.
fn extra_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    use rustls::pki_types::pem::PemObject as _;
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Tls(format!("the extra CA certificates are not valid PEM: {e}")))?;
    if certificates.is_empty() {
        return Err(Error::Tls("the extra CA file holds no certificate".into()));
    }
    Ok(certificates)
}

/// Which server certificates a [`Verifier`] accepts beyond the default web PKI.
#[derive(Debug)]
enum Trust {
    /// Exactly one certificate, by its SHA-256, whoever signed it: the way to trust a
    /// self-signed server after seeing its fingerprint.
    Pinned([u8; 32]),
    /// The web PKI plus the user's CAs — and, as curl and rclone accept it, a server whose own
    /// certificate is one of the certificates the user gave. `openssl req -x509` makes a
    /// self-signed certificate marked `CA:TRUE`; given as a CA it is also the server's leaf,
    /// which the web PKI refuses (a CA used as an end entity). Such a certificate is accepted
    /// only when it is byte for byte one the user gave, valid now and for the host name asked.
    CaOrOwn {
        web_pki: Arc<rustls::client::WebPkiServerVerifier>,
        own: Vec<CertificateDer<'static>>,
    },
}

/// The client's certificate check when the user added trust; either way the handshake's
/// signatures are checked, so the server must hold the accepted certificate's private key.
#[derive(Debug)]
struct Verifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.trust {
            Trust::Pinned(pin) => {
                let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
                if digest.as_ref() == pin {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::General(format!(
                        "the server's certificate ({}) is not the pinned one ({})",
                        certificate_fingerprint(end_entity.as_ref()),
                        fingerprint_hex(pin)
                    )))
                }
            }
            Trust::CaOrOwn { web_pki, own } => {
                let refused = match web_pki.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                ) {
                    Ok(verified) => return Ok(verified),
                    Err(refused) => refused,
                };
                if !own.iter().any(|own| own.as_ref() == end_entity.as_ref()) {
                    return Err(refused);
                }
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                valid_at(end_entity, now)?;
                Ok(ServerCertVerified::assertion())
            }
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

/// Refuses a certificate outside its validity period at `now`.
fn valid_at(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    use rustls::CertificateError;
    let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let validity = certificate.validity();
    let now = now.as_secs() as i64;
    if now < validity.not_before.timestamp() {
        Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ))
    } else if now > validity.not_after.timestamp() {
        Err(rustls::Error::InvalidCertificate(CertificateError::Expired))
    } else {
        Ok(())
    }
}

/// Why a certificate was refused, in words a person can act on; never the library's debug
/// text (`Other(OtherError(CaUsedAsEndEntity))`).
pub(crate) fn refusal_in_words(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(refusal) = error else {
        return match error {
            rustls::Error::General(message) => message.clone(),
            _ => "the secure connection could not be set up".into(),
        };
    };
    match refusal {
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "it is not valid yet (is this device's clock right?)".into()
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "it is made out to another host name than the address".into()
        }
        C::UnknownIssuer => "it was issued by an authority this device does not trust (add \
                             that CA's certificate, or trust this certificate)"
            .into(),
        C::Revoked => "it has been revoked".into(),
        C::BadSignature => "its signature is not valid".into(),
        C::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            "the server presents a CA certificate as its own (give that certificate as the \
             server's CA, or trust this certificate)"
                .into()
        }
        _ => "it could not be verified".into(),
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
