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

    /// A self-signed certificate made the way most guides make one, by the real
    /// `openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext
    /// subjectAltName=IP:127.0.0.1`: it is marked `CA:TRUE`, so a strict client sees a CA used
    /// as a server's certificate. Its files are written into `dir`.
    pub fn from_openssl_req(dir: &Path) -> std::io::Result<TestCertificate> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject as _;
        let (cert, key) = (dir.join("openssl-cert.pem"), dir.join("openssl-key.pem"));
        let made = std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdin(std::process::Stdio::null())
            .output()?;
        if !made.status.success() {
            return Err(std::io::Error::other(format!(
                "openssl req failed: {}",
                String::from_utf8_lossy(&made.stderr)
            )));
        }
        let chain_pem = std::fs::read_to_string(&cert)?;
        let der = CertificateDer::from_pem_slice(chain_pem.as_bytes())
            .map_err(|e| std::io::Error::other(e.to_string()))?
            .to_vec();
        Ok(TestCertificate {
            der,
            chain_pem,
            key_pem: std::fs::read_to_string(&key)?,
            ca_pem: None,
        })
    }

    /// Writes `cert.pem` (the chain) and `key.pem` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.chain_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}
