//! Certificates a test makes for its loopback servers: self-signed, or issued by a home CA
//! the test also makes. Valid for `localhost` and `127.0.0.1`.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const NAMES: [&str; 2] = ["localhost", "127.0.0.1"];

/// A server certificate and its key.
pub struct TestCertificate {
    /// The server's own certificate, DER.
    pub der: Vec<u8>,
    /// The server's chain, PEM: its certificate, then the CA's when there is one.
    pub chain_pem: String,
    pub key_pem: String,
    /// The home CA that issued it, PEM, when it is not self-signed.
    pub ca_pem: Option<String>,
}

impl TestCertificate {
    /// A certificate that vouches for itself, as a home server's often does.
    pub fn self_signed() -> TestCertificate {
        let key = KeyPair::generate().expect("a key pair");
        let cert = CertificateParams::new(NAMES.map(String::from).to_vec())
            .expect("valid names")
            .self_signed(&key)
            .expect("a self-signed certificate");
        TestCertificate {
            der: cert.der().to_vec(),
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            ca_pem: None,
        }
    }

    /// A certificate issued by a CA made for it, as a company's or a home lab's CA would.
    pub fn from_home_ca() -> TestCertificate {
        let ca_key = KeyPair::generate().expect("a key pair");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("no names");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).expect("a CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().expect("a key pair");
        let cert = CertificateParams::new(NAMES.map(String::from).to_vec())
            .expect("valid names")
            .signed_by(&key, &issuer)
            .expect("an issued certificate");
        TestCertificate {
            der: cert.der().to_vec(),
            chain_pem: format!("{}{}", cert.pem(), ca.pem()),
            key_pem: key.serialize_pem(),
            ca_pem: Some(ca.pem()),
        }
    }

    /// Writes `cert.pem` (the chain) and `key.pem` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.chain_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}
