//! scim2-server (the Python reference implementation from ../shared/peers) run as a target.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The installed scim2-server, or None when the peers are not installed, which the README's test
/// command (PROVISIO_REQUIRE_PEERS) does not allow.
pub fn scim2_server_exe() -> Option<PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/peers-venv/bin/scim2-server");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("PROVISIO_REQUIRE_PEERS").is_none(),
        "scim2-server is not installed (scripts/install-tools.sh test)"
    );
    eprintln!("skipping the scim2-server part: the peers are not installed");
    None
}

/// A running scim2-server, stopped when dropped.
pub struct Scim2Server {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Scim2Server {
    pub fn start() -> Option<Scim2Server> {
        let exe = scim2_server_exe()?;
        let port = free_port();
        let token = "s3cret".to_string();
        let child = Command::new(exe)
            .args([
                "--hostname",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--bearer-token",
                &token,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready once it accepts connections.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(Scim2Server {
            child,
            url: format!("http://127.0.0.1:{port}/v2"),
            token,
        })
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
