//! A real OpenLDAP `slapd` for one test: its own config, database, certificates (a test CA made
//! with `openssl`) and free ports on 127.0.0.1, loaded with people and groups, stopped when
//! dropped. Its stats log (`-d 256`) records every BIND, so tests can count what reached it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BASE: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PASSWORD: &str = "directory admin secret";

/// People in the directory: (uid, ou, cn, mail, phone, password).
pub const PEOPLE: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("alice", "people", "Alice Archer", "alice@example.org", "+1 202 555 0101", "alice's long secret"),
    ("bob", "people", "Bob Baker", "bob@example.org", "", "bob's long secret"),
    ("admin", "people", "Directory Admin User", "diradmin@example.org", "", "admin's long secret"),
    ("twin", "people", "Twin One", "twin1@example.org", "", "twin's long secret"),
    ("twin", "contractors", "Twin Two", "twin2@example.org", "", "twin's long secret"),
    ("nomail", "people", "No Mail", "", "", "nomail's long secret"),
];

pub struct Slapd {
    child: Child,
    pub dir: PathBuf,
    pub ldap_url: String,
    pub ldaps_url: String,
    /// The CA that signed the server's certificate.
    pub ca_file: PathBuf,
    /// A CA that did not.
    pub other_ca_file: PathBuf,
    log: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

pub(crate) fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Whether slapd is installed; under `CI=true` its absence fails the test, otherwise the test
/// is skipped loudly.
pub fn slapd_available() -> bool {
    if Path::new("/usr/sbin/slapd").exists() && Path::new("/usr/sbin/slapadd").exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("slapd is not installed (apt-get install -y slapd); CI requires it");
    }
    eprintln!("\n!!! SKIPPING an LDAP test: slapd is not installed (apt-get install -y slapd) !!!\n");
    false
}

fn make_ca(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (key, pem) = (dir.join(format!("{name}.key")), dir.join(format!("{name}.pem")));
    run(Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
        .arg(format!("/CN=Kith test {name}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem));
    (key, pem)
}

/// A test PKI in `dir`: a CA, a server certificate it signed for 127.0.0.1 and localhost, and a
/// second CA that signed nothing.
pub struct TestCerts {
    pub ca_file: PathBuf,
    pub other_ca_file: PathBuf,
    pub server_key: PathBuf,
    pub server_pem: PathBuf,
}

pub fn test_certificates(dir: &Path) -> TestCerts {
    let (ca_key, ca_file) = make_ca(dir, "ca");
    let (_, other_ca_file) = make_ca(dir, "other-ca");
    let (server_key, server_csr, server_pem) = (dir.join("server.key"), dir.join("server.csr"), dir.join("server.pem"));
    run(Command::new("openssl")
        .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout"])
        .arg(&server_key)
        .arg("-out")
        .arg(&server_csr));
    let ext = dir.join("san.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n").expect("ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(&server_csr)
        .arg("-CA")
        .arg(&ca_file)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&server_pem));
    TestCerts { ca_file, other_ca_file, server_key, server_pem }
}

impl Slapd {
    pub fn start() -> Slapd {
        let dir = std::env::temp_dir().join(format!("kith-slapd-{}", crate::random_suffix()));
        std::fs::create_dir_all(dir.join("db")).expect("slapd dir");
        let TestCerts { ca_file, other_ca_file, .. } = test_certificates(&dir);

        let d = dir.display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
# accept unauthenticated binds (a DN with an empty password), as many servers do: Kith must
# never send one
allow bind_anon_dn
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
database mdb
maxsize 10485760
suffix \"{BASE}\"
rootdn \"{ADMIN_DN}\"
rootpw \"{ADMIN_PASSWORD}\"
directory {d}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by users read by * none
"
        );
        let conf_path = dir.join("slapd.conf");
        std::fs::write(&conf_path, conf).expect("slapd.conf");
        let ldif_path = dir.join("data.ldif");
        std::fs::write(&ldif_path, ldif()).expect("ldif");
        run(Command::new("/usr/sbin/slapadd").arg("-f").arg(&conf_path).arg("-l").arg(&ldif_path));

        let (port, tls_port) = (free_port(), free_port());
        let ldap_url = format!("ldap://127.0.0.1:{port}");
        let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
        let log = dir.join("slapd.log");
        let child = Command::new("/usr/sbin/slapd")
            .arg("-f")
            .arg(&conf_path)
            .arg("-h")
            .arg(format!("{ldap_url}/ {ldaps_url}/"))
            .args(["-d", "256"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("slapd starts");
        let server = Slapd { child, dir, ldap_url, ldaps_url, ca_file, other_ca_file, log };
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not start: {}", server.log_text());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many simple BINDs with this exact DN (any case) reached the server.
    pub fn binds_as(&self, dn: &str) -> usize {
        let needle = format!("bind dn=\"{}\" method=", dn.to_lowercase());
        self.log_text().lines().filter(|l| l.to_lowercase().contains(&needle)).count()
    }

    /// Every BIND line, for messages.
    pub fn binds(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter(|l| l.contains("BIND dn=") && l.contains("method="))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn person_dn(uid: &str, ou: &str) -> String {
    format!("uid={uid},ou={ou},{BASE}")
}

fn ldif() -> String {
    let mut out = format!(
        "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=contractors,{BASE}\nobjectClass: organizationalUnit\nou: contractors\n\n\
         dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"
    );
    for (uid, ou, cn, mail, phone, password) in PEOPLE {
        let sn = cn.rsplit(' ').next().unwrap_or(cn);
        out.push_str(&format!(
            "dn: {}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {sn}\nuserPassword: {password}\n",
            person_dn(uid, ou)
        ));
        if !mail.is_empty() {
            out.push_str(&format!("mail: {mail}\n"));
        }
        if !phone.is_empty() {
            out.push_str(&format!("telephoneNumber: {phone}\n"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        // groupOfNames needs a member: the service account stays when alice leaves
        "dn: cn=helpdesk,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: helpdesk\nmember: {ADMIN_DN}\nmember: {}\n\n",
        person_dn("alice", "people")
    ));
    out.push_str(&format!(
        "dn: cn=everyone,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: everyone\nmember: {}\nmember: {}\n\n",
        person_dn("alice", "people"),
        person_dn("bob", "people")
    ));
    out
}
