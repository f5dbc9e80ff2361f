//! The deployment files: `deploy/trifecta.service` has the hardening the README promises
//! and passes `systemd-analyze verify` (where systemd is installed) without a warning.

use std::process::Command;

use crate::helpers::bin;

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit_path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/trifecta.service");
    let unit = std::fs::read_to_string(unit_path).expect("deploy/trifecta.service");
    for line in [
        "ExecStart=/usr/local/bin/trifecta serve",
        "User=trifecta",
        "StateDirectory=trifecta",
        "Environment=TRIFECTA_STORAGE=/var/lib/trifecta",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        // Ports 80 and 443 (HTTPS by itself) without running as root.
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
    ] {
        assert!(unit.lines().any(|l| l == line), "missing {line:?}");
    }
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        return;
    }
    // verify checks that ExecStart exists, so it points at the binary under test.
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("trifecta.service");
    std::fs::write(
        &copy,
        unit.replace("/usr/local/bin/trifecta", &bin().display().to_string()),
    )
    .expect("write unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.trim().is_empty(), "warnings: {stderr}");
}
