//! A real Active Directory: Samba's AD domain controller (`samba-tool domain provision`, Debian
//! packages `samba`, `samba-ad-dc`), serving LDAP and LDAPS on 127.0.0.1 with a certificate
//! from the test CA. Samba has no setting for its LDAP ports (389, 636), so one test at a time
//! holds a machine-wide lock while it runs one. The domain is provisioned once (about 15 s) into
//! the temp folder and reused; each test starts its own `samba` process and stops it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::slapd::{TestCerts, run, test_certificates};

/// The DNS domain (the realm in lower case), the NetBIOS domain and the base DN.
pub const DNS_DOMAIN: &str = "kith.test";
pub const NETBIOS: &str = "KITH";
pub const BASE: &str = "DC=kith,DC=test";

/// People in the domain: (sAMAccountName, given name, surname, password, groups).
pub const PEOPLE: &[(&str, &str, &str, &str, &[&str])] = &[
    ("alice", "Alice", "Liddell", "Al1ce-long-secret", &["helpdesk"]),
    ("bob", "Bob", "Builder", "B0b-long-secret", &[]),
];

/// Bump when the provisioned domain changes, so an old one in the temp folder is not reused.
const VERSION: u32 = 1;

pub struct SambaAd {
    child: Child,
    pub dir: PathBuf,
    pub ldap_url: String,
    pub ldaps_url: String,
    /// The CA that signed the domain controller's certificate.
    pub ca_file: PathBuf,
    log: PathBuf,
    /// Held while this domain controller runs (the ports are the machine's).
    _lock: File,
}

/// Whether Samba's AD DC is installed; under `CI=true` its absence fails the test.
pub fn samba_available() -> bool {
    if Path::new("/usr/sbin/samba").exists() && Path::new("/usr/bin/samba-tool").exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("Samba's AD DC is not installed (apt-get install -y samba samba-ad-dc); CI requires it");
    }
    eprintln!(
        "\n!!! SKIPPING an Active Directory test: Samba is not installed (apt-get install -y samba samba-ad-dc) !!!\n"
    );
    false
}

fn samba_tool(dir: &Path, args: &[&str]) {
    let conf = dir.join("etc/smb.conf");
    let sam = dir.join("private/sam.ldb");
    run(Command::new("samba-tool").args(args).arg("-s").arg(&conf).arg("-H").arg(&sam));
}

/// Provisions the test domain into `dir` (once; `ready` marks a finished one).
fn provision(dir: &Path) {
    if dir.join("ready").exists() {
        return;
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("samba dir");
    let TestCerts { ca_file, server_key, server_pem, .. } = test_certificates(dir);
    let d = dir.display();
    let options = [
        "interfaces = lo".to_string(),
        "bind interfaces only = yes".to_string(),
        // only the directory: no file sharing, DNS, Kerberos or RPC listeners
        "server services = ldap".to_string(),
        "tls enabled = yes".to_string(),
        format!("tls keyfile = {}", server_key.display()),
        format!("tls certfile = {}", server_pem.display()),
        format!("tls cafile = {}", ca_file.display()),
        format!("log file = {d}/log.%m"),
        // its own pid file, not the system's /run/samba
        format!("pid directory = {d}"),
    ];
    let mut cmd = Command::new("samba-tool");
    cmd.args(["domain", "provision", "--server-role=dc", "--dns-backend=NONE", "--host-name=dc1"])
        .arg(format!("--realm={}", DNS_DOMAIN.to_uppercase()))
        .arg(format!("--domain={NETBIOS}"))
        .arg("--adminpass=Adm1n-long-secret")
        .arg(format!("--targetdir={d}"));
    for o in &options {
        cmd.arg(format!("--option={o}"));
    }
    run(&mut cmd);
    samba_tool(dir, &["group", "add", "helpdesk"]);
    for (name, given, surname, password, groups) in PEOPLE {
        samba_tool(
            dir,
            &[
                "user",
                "add",
                name,
                password,
                &format!("--given-name={given}"),
                &format!("--surname={surname}"),
                &format!("--mail-address={name}@{DNS_DOMAIN}"),
            ],
        );
        for g in *groups {
            samba_tool(dir, &["group", "addmembers", g, name]);
        }
    }
    std::fs::write(dir.join("ready"), "").expect("ready");
}

impl SambaAd {
    /// Takes the machine-wide lock, provisions the domain if needed and starts Samba.
    pub fn start() -> SambaAd {
        let root = std::env::temp_dir();
        let lock = File::create(root.join("kith-samba-ad.lock")).expect("lock file");
        lock.lock().expect("lock");
        let dir = root.join(format!("kith-samba-ad-v{VERSION}"));
        provision(&dir);
        // the provisioned domain is kept between runs, but its certificates last two days:
        // fresh ones at every start, at the paths smb.conf names
        test_certificates(&dir);
        let log = dir.join("samba.log");
        let out = File::create(&log).expect("samba log");
        #[allow(clippy::zombie_processes)] // waited for in Drop
        let child = Command::new("samba")
            .args(["-i", "-M", "single", "--debug-stdout", "-d", "1", "-s"])
            .arg(dir.join("etc/smb.conf"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start samba");
        let mut server = SambaAd {
            child,
            ca_file: dir.join("ca.pem"),
            ldap_url: "ldap://127.0.0.1:389".into(),
            ldaps_url: "ldaps://127.0.0.1:636".into(),
            dir,
            log,
            _lock: lock,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let up = std::net::TcpStream::connect("127.0.0.1:636").is_ok()
                && std::net::TcpStream::connect("127.0.0.1:389").is_ok();
            if up {
                return server;
            }
            if Instant::now() > deadline || server.child.try_wait().ok().flatten().is_some() {
                panic!("samba did not start: {}", server.log_text());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SambaAd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
