//! Several hosts on one machine, for tests of servers on several hosts: each host is a
//! network namespace with one interface on a shared switch (a bridge in a namespace of its
//! own), and this test process reaches every host through a link of its own to the switch.
//! [`Lan::cut`] takes a host's link down, as a pulled cable would. Needs root (CI runs the
//! tests as root); [`Lan::new`] says so when it cannot make namespaces.
//!
//! Each LAN gets its own /24 (`10.200.<k>.0/24`, the test process at `.254`), so LANs of
//! concurrent tests never share addresses. Namespaces and links are removed on drop, and
//! those of earlier test processes that are gone at the next [`Lan::new`].

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// LANs made by this process so far.
static LANS: AtomicU32 = AtomicU32::new(0);

/// Hosts joined by a switch.
#[derive(Debug)]
pub struct Lan {
    /// `tf<pid>x<n>`: the prefix of every namespace and link name of this LAN.
    id: String,
    subnet: u8,
    hosts: usize,
}

impl Lan {
    /// Makes `hosts` hosts (`10.200.<k>.1` …) on a switch, and this process's link to it.
    pub fn new(hosts: usize) -> Result<Lan, String> {
        remove_stale();
        let n = LANS.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let lan = Lan {
            id: format!("tf{pid}x{n}"),
            subnet: u8::try_from((pid + n) % 250).unwrap_or(0),
            hosts,
        };
        let sw = lan.switch();
        ip(&["netns", "add", &sw])?;
        ip(&["-n", &sw, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &sw, "link", "set", "br0", "up"])?;
        // This process's own link: `<id>r` here, `<id>R` on the switch.
        let (here, there) = (format!("{}r", lan.id), format!("{}R", lan.id));
        ip(&["link", "add", &here, "type", "veth", "peer", "name", &there])?;
        ip(&["link", "set", &there, "netns", &sw])?;
        ip(&["-n", &sw, "link", "set", &there, "master", "br0", "up"])?;
        ip(&[
            "addr",
            "add",
            &format!("10.200.{}.254/24", lan.subnet),
            "dev",
            &here,
        ])?;
        ip(&["link", "set", &here, "up"])?;
        for h in 0..hosts {
            let ns = lan.host(h);
            let (inside, port) = (format!("{}h{h}", lan.id), format!("{}s{h}", lan.id));
            ip(&["netns", "add", &ns])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "link", "add", &inside, "type", "veth", "peer", "name", &port,
            ])?;
            ip(&["link", "set", &inside, "netns", &ns])?;
            ip(&["link", "set", &port, "netns", &sw])?;
            ip(&["-n", &sw, "link", "set", &port, "master", "br0", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", lan.addr(h)),
                "dev",
                &inside,
            ])?;
            ip(&["-n", &ns, "link", "set", &inside, "up"])?;
        }
        Ok(lan)
    }

    /// The namespace of host `h`, for `ip netns exec`.
    pub fn host(&self, h: usize) -> String {
        format!("{}n{h}", self.id)
    }

    /// The address of host `h`.
    pub fn addr(&self, h: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            10,
            200,
            self.subnet,
            u8::try_from(h + 1).unwrap_or(1),
        ))
    }

    /// A command that runs `program` on host `h`.
    pub fn command(&self, h: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.host(h)]).arg(program);
        cmd
    }

    /// Takes host `h`'s link to the switch down: it reaches nobody and nobody reaches it.
    pub fn cut(&self, h: usize) -> Result<(), String> {
        self.set_link(h, "down")
    }

    /// Puts host `h`'s link back up.
    pub fn mend(&self, h: usize) -> Result<(), String> {
        self.set_link(h, "up")
    }

    /// Sets the switch's end of host `h`'s link `up` or `down`.
    fn set_link(&self, h: usize, state: &str) -> Result<(), String> {
        let port = format!("{}s{h}", self.id);
        ip(&["-n", &self.switch(), "link", "set", &port, state])
    }

    fn switch(&self) -> String {
        format!("{}sw", self.id)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Deleting a namespace deletes the links in it, and a veth goes with its peer.
        for h in 0..self.hosts {
            let _ = ip(&["netns", "del", &self.host(h)]);
        }
        let _ = ip(&["netns", "del", &self.switch()]);
        let _ = ip(&["link", "del", &format!("{}r", self.id)]);
    }
}

/// Runs `ip args…`; an error carries its stderr.
fn ip(args: &[&str]) -> Result<(), String> {
    let out: Output = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run ip (iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {} (making network namespaces needs root)",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Deletes namespaces and links of test processes that are gone.
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        if left_behind(name) {
            let _ = ip(&["netns", "del", name]);
        }
    }
    let Ok(out) = Command::new("ip")
        .args(["-o", "link", "show", "type", "veth"])
        .output()
    else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split(": ").nth(1).and_then(|n| n.split('@').next()) else {
            continue;
        };
        if left_behind(name) {
            let _ = ip(&["link", "del", name]);
        }
    }
}

/// Whether `name` (`tf<pid>x…`) belongs to a test process that is gone.
fn left_behind(name: &str) -> bool {
    name.strip_prefix("tf")
        .and_then(|r| r.split('x').next())
        .is_some_and(|pid| {
            pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists()
        })
}

/// PostgreSQL on one host answers the other host and this process until the other host's
/// link is cut, and again once it is mended; the server's host keeps answering this process
/// throughout. `pg_isready` runs on the other host.
#[tokio::test]
async fn hosts_reach_postgres_on_another_host_until_their_link_is_cut() {
    let lan = Lan::new(2).expect("a LAN of two hosts");
    let pg = trifecta::store::pg::testing::Cluster::start_in(&lan.host(0), lan.addr(0))
        .expect("PostgreSQL on host 0");
    let ready_from = |h: usize| {
        lan.command(h, "pg_isready")
            .args(["-h", &lan.addr(0).to_string(), "-p", "5432", "-t", "2"])
            .stdout(Stdio::null())
            .status()
            .expect("pg_isready")
            .success()
    };
    assert!(ready_from(1), "host 1 reaches PostgreSQL on host 0");
    let (client, conn) = tokio_postgres::connect(&pg.url("postgres"), tokio_postgres::NoTls)
        .await
        .expect("this process reaches PostgreSQL on host 0");
    tokio::spawn(conn);
    lan.cut(1).expect("cut host 1");
    assert!(
        !ready_from(1),
        "host 1 still reaches PostgreSQL after its link was cut"
    );
    let one: i32 = client
        .query_one("SELECT 1", &[])
        .await
        .expect("query")
        .get(0);
    assert_eq!(
        one, 1,
        "host 0 answers this process while host 1 is cut off"
    );
    lan.mend(1).expect("mend host 1");
    assert!(ready_from(1), "host 1 reaches PostgreSQL again");
}
