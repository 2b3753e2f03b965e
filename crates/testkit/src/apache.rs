//! A real Apache httpd with mod_dav (Debian `apache2`), as a private instance on a free
//! loopback port: its own config, pid file, lock database and Basic-auth user, never the
//! system service.
//!
//! Started as root, Apache drops to `www-data`: the served folder is made for that user, and
//! files a test puts there directly must be handed over with [`ApacheServer::adopt`].
//! Its traits a client must handle: `PROPFIND Depth: infinity` is refused, a file changed
//! within the last second has a weak ETag, a file path with a trailing slash answers 400.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::certs::TestCertificate;

/// Where Debian keeps the modules.
const MODULES: &str = "/usr/lib/apache2/modules";
/// The account Apache drops to when started as root.
const RUN_AS: &str = "www-data";

/// A running private Apache; stopped (SIGTERM, then SIGKILL) when dropped.
pub struct ApacheServer {
    addr: SocketAddr,
    /// Serving https (with HTTP/2 offered by ALPN) rather than http.
    tls: bool,
    /// Config, pid file, lock database, log and the served folder.
    dir: tempfile::TempDir,
    child: Child,
    /// The uid and gid Apache serves as, when it dropped from root.
    owner: Option<(u32, u32)>,
}

/// The Basic-auth account every instance has.
pub const APACHE_USER: &str = "tidesync";
pub const APACHE_PASSWORD: &str = "apache-secret";

impl ApacheServer {
    /// Starts an instance serving an empty folder under `/dav/`.
    pub async fn start() -> std::io::Result<ApacheServer> {
        Self::start_with(None).await
    }

    /// Like [`ApacheServer::start`], over TLS with `certificate` (mod_ssl), offering HTTP/2
    /// (mod_http2) and HTTP/1.1.
    pub async fn start_tls(certificate: &TestCertificate) -> std::io::Result<ApacheServer> {
        Self::start_with(Some(certificate)).await
    }

    async fn start_with(certificate: Option<&TestCertificate>) -> std::io::Result<ApacheServer> {
        let binary = Path::new("/usr/sbin/apache2");
        if !binary.exists() || !Path::new(MODULES).join("mod_dav_fs.so").exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "Apache with mod_dav is missing: run scripts/bootstrap (Debian apache2)",
            ));
        }
        let dir = tempfile::Builder::new()
            .prefix("tidesync-apache")
            .tempdir()?;
        let root = dir.path().join("root");
        let locks = dir.path().join("locks");
        let run = dir.path().join("run");
        for folder in [&root, &locks, &run] {
            std::fs::create_dir(folder)?;
        }
        let owner = if is_root() {
            Some(account(RUN_AS)?)
        } else {
            None
        };
        if let Some((uid, gid)) = owner {
            // The worker must reach and write its folders; the temp dir itself is 0700.
            set_mode(dir.path(), 0o711)?;
            for folder in [&root, &locks, &run] {
                std::os::unix::fs::chown(folder, Some(uid), Some(gid))?;
            }
        }
        let htpasswd = dir.path().join("htpasswd");
        let status = Command::new("htpasswd")
            .args(["-bcB", "-C", "4"])
            .arg(&htpasswd)
            .args([APACHE_USER, APACHE_PASSWORD])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(std::io::Error::other("htpasswd failed"));
        }
        set_mode(&htpasswd, 0o644)?;
        let addr = StdListener::bind("127.0.0.1:0")?.local_addr()?;
        let mut config_body = config_text(dir.path(), addr, owner.is_some());
        if let Some(certificate) = certificate {
            let (cert, key) = certificate.write(dir.path())?;
            config_body.push_str(&tls_config_text(dir.path(), &cert, &key));
        }
        let config = dir.path().join("httpd.conf");
        std::fs::write(&config, config_body)?;
        let child = Command::new(binary)
            .arg("-f")
            .arg(&config)
            .arg("-DFOREGROUND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut server = ApacheServer {
            addr,
            tls: certificate.is_some(),
            dir,
            child,
            owner,
        };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                let log = std::fs::read_to_string(server.dir.path().join("error.log"))
                    .unwrap_or_default();
                return Err(std::io::Error::other(format!(
                    "apache2 exited early: {status}\n{log}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "apache2 did not start listening within 10 s",
        ))
    }

    /// The WebDAV folder's URL, ending with `/`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/dav/", self.addr)
    }

    /// The folder Apache serves.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// The requests answered so far, oldest first, as `METHOD DEPTH PATH STATUS` (`-` for a
    /// request without a `Depth` header). Apache logs a request once it has answered it.
    pub fn requests(&self) -> std::io::Result<Vec<String>> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log"))?;
        Ok(log.lines().map(str::to_owned).collect())
    }

    /// The requests answered so far once `logged` holds for them, or after 5 s whatever
    /// they are: Apache writes a request's line just after its answer, so a client can be
    /// done before the log is.
    pub async fn requests_once(
        &self,
        logged: impl Fn(&[String]) -> bool,
    ) -> std::io::Result<Vec<String>> {
        once_logged(|| self.requests(), logged).await
    }

    /// For each TLS connection that carried a request answered so far, in the order of their
    /// first answered request: whether its session was new (`Initial`) or `Resumed`.
    pub fn tls_sessions(&self) -> std::io::Result<Vec<String>> {
        let log = std::fs::read_to_string(self.dir.path().join("tls.log"))?;
        let mut seen = std::collections::HashSet::new();
        Ok(log
            .lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(port, _)| seen.insert(port.to_owned()))
            .map(|(_, session)| session.to_owned())
            .collect())
    }

    /// [`tls_sessions`](Self::tls_sessions) once `logged` holds for them, or after 5 s
    /// whatever they are (see [`requests_once`](Self::requests_once)).
    pub async fn tls_sessions_once(
        &self,
        logged: impl Fn(&[String]) -> bool,
    ) -> std::io::Result<Vec<String>> {
        once_logged(|| self.tls_sessions(), logged).await
    }

    /// Hands everything below the served folder to the account Apache serves as, after a
    /// test wrote there directly (as root, its files would be read-only to Apache).
    pub fn adopt(&self) -> std::io::Result<()> {
        let Some((uid, gid)) = self.owner else {
            return Ok(());
        };
        let mut stack = vec![self.root()];
        while let Some(path) = stack.pop() {
            std::os::unix::fs::lchown(&path, Some(uid), Some(gid))?;
            if path.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    stack.push(entry?.path());
                }
            }
        }
        Ok(())
    }
}

impl Drop for ApacheServer {
    fn drop(&mut self) {
        // SIGTERM lets the parent stop its workers; a SIGKILL would leave them running.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config_text(dir: &Path, addr: SocketAddr, drop_root: bool) -> String {
    let d = dir.display();
    let modules = [
        ("mpm_event_module", "mod_mpm_event.so"),
        ("authz_core_module", "mod_authz_core.so"),
        ("authz_user_module", "mod_authz_user.so"),
        ("authn_core_module", "mod_authn_core.so"),
        ("authn_file_module", "mod_authn_file.so"),
        ("auth_basic_module", "mod_auth_basic.so"),
        ("alias_module", "mod_alias.so"),
        ("dav_module", "mod_dav.so"),
        ("dav_fs_module", "mod_dav_fs.so"),
    ]
    .iter()
    .map(|(name, file)| format!("LoadModule {name} {MODULES}/{file}\n"))
    .collect::<String>();
    let user = if drop_root {
        format!("User {RUN_AS}\nGroup {RUN_AS}\n")
    } else {
        String::new()
    };
    format!(
        "ServerRoot /etc/apache2\n\
         ServerName 127.0.0.1\n\
         Listen {addr}\n\
         PidFile {d}/run/httpd.pid\n\
         DefaultRuntimeDir {d}/run\n\
         ErrorLog {d}/error.log\n\
         LogLevel warn\n\
         CustomLog {d}/access.log \"%m %{{Depth}}i %U %>s\"\n\
         {user}\
         {modules}\
         StartServers 1\n\
         ServerLimit 2\n\
         ThreadsPerChild 16\n\
         MaxRequestWorkers 32\n\
         DAVLockDB {d}/locks/lockdb\n\
         Alias /dav {d}/root\n\
         <Directory {d}/root>\n\
         \x20 Dav On\n\
         \x20 AuthType Basic\n\
         \x20 AuthName tidesync\n\
         \x20 AuthUserFile {d}/htpasswd\n\
         \x20 Require valid-user\n\
         </Directory>\n"
    )
}

/// What `read` returns from one of Apache's logs once `logged` holds for it, or after 5 s
/// whatever it is: Apache writes a request's lines just after its answer.
async fn once_logged(
    read: impl Fn() -> std::io::Result<Vec<String>>,
    logged: impl Fn(&[String]) -> bool,
) -> std::io::Result<Vec<String>> {
    for _ in 0..100 {
        let lines = read()?;
        if logged(&lines) {
            return Ok(lines);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    read()
}

/// mod_ssl on the one listener, and HTTP/2 offered first. Each request's client port and
/// whether its connection's TLS session was resumed go to `tls.log` (see
/// [`ApacheServer::tls_sessions`]); TLS 1.3 resumes by session tickets, without a cache.
fn tls_config_text(dir: &Path, cert: &Path, key: &Path) -> String {
    format!(
        "LoadModule ssl_module {MODULES}/mod_ssl.so\n\
         LoadModule http2_module {MODULES}/mod_http2.so\n\
         SSLEngine on\n\
         SSLCertificateFile {}\n\
         SSLCertificateKeyFile {}\n\
         SSLSessionCache none\n\
         Protocols h2 http/1.1\n\
         CustomLog {}/tls.log \"%{{remote}}p %{{SSL_SESSION_RESUMED}}x\"\n",
        cert.display(),
        key.display(),
        dir.display()
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The uid and gid of `name`, from `id`.
fn account(name: &str) -> std::io::Result<(u32, u32)> {
    let number = |flag: &str| -> std::io::Result<u32> {
        let out = Command::new("id").args([flag, name]).output()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| std::io::Error::other(format!("no account {name} for Apache to run as")))
    };
    Ok((number("-u")?, number("-g")?))
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}
