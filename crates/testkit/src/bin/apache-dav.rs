//! The test kit's private Apache mod_dav as a process, for the benchmarks:
//! `apache-dav [--tls] FOLDER...` copies each FOLDER into the served folder under its own name,
//! adds an empty `uploads/`, prints five lines (the WebDAV URL, the served folder, the Basic-auth
//! user and password, and with `--tls` the PEM file of the home CA that issued the server's
//! certificate, else `-`), then serves until its standard input closes. Over TLS, Apache offers
//! HTTP/2 by ALPN.

use std::path::Path;

use tidesync_testkit::TestCertificate;
use tidesync_testkit::apache::{APACHE_PASSWORD, APACHE_USER, ApacheServer};

/// Copies the tree at `from` to `to`, following links (the benchmark's datasets are linked).
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if std::fs::metadata(entry.path())?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    let usage = "usage: apache-dav [--tls] FOLDER...";
    let mut tls = false;
    let mut folders = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--tls" => tls = true,
            flag if flag.starts_with('-') => panic!("{usage}"),
            folder => folders.push(std::path::PathBuf::from(folder)),
        }
    }
    let certificate = tls.then(TestCertificate::from_home_ca);
    let server = match &certificate {
        Some(certificate) => ApacheServer::start_tls(certificate).await,
        None => ApacheServer::start().await,
    }
    .expect("Apache starts (scripts/bootstrap installs it)");
    let root = server.root();
    for folder in &folders {
        let name = folder.file_name().expect(usage);
        copy_tree(folder, &root.join(name)).expect("the folder is copied");
    }
    std::fs::create_dir_all(root.join("uploads")).expect("uploads/ is made");
    server
        .adopt()
        .expect("the served files are handed to Apache");
    // The CA file lives beside the served folder and goes with the server.
    let ca = match certificate.and_then(|c| c.ca_pem) {
        Some(pem) => {
            let path = root.with_file_name("ca.pem");
            std::fs::write(&path, pem).expect("the CA file is written");
            path.display().to_string()
        }
        None => "-".to_owned(),
    };
    println!("{}", server.url());
    println!("{}", root.display());
    println!("{APACHE_USER}");
    println!("{APACHE_PASSWORD}");
    println!("{ca}");
    let _ = tokio::task::spawn_blocking(|| {
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())
    })
    .await;
}
