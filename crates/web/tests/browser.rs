#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Browser tests: builds `rct`, starts `rct serve --demo` on a free loopback
//! port with a database in a temporary folder, and runs `node e2e/run.mjs`
//! (Playwright driving Debian's Chromium) against it. The scenarios are in
//! e2e/run.mjs; screenshots go to `target/e2e-screenshots/`.
//!
//! Needs `node`, `/usr/bin/chromium` (or `RCT_CHROMIUM`) and `npm ci` run in
//! e2e/ (`.ci/run` installs all three). Without them the test is skipped with
//! a note, except when `CI` is set: then it fails. `RCT_BIN` names an `rct`
//! binary to use instead of building one.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What is missing to run the browser tests here, if anything.
fn missing_prerequisites(root: &Path, chromium: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        out.push("node (apt-get install nodejs npm)".to_string());
    }
    if !chromium.exists() {
        out.push(format!("{} (apt-get install chromium)", chromium.display()));
    }
    if !root.join("e2e/node_modules/playwright-core").is_dir() {
        out.push("e2e/node_modules/playwright-core (run `npm ci` in e2e/)".to_string());
    }
    out
}

/// The `rct` binary of the profile this test was built in (or `RCT_BIN`).
///
/// It is brought up to date by `cargo test --workspace --no-run` rather than
/// `cargo build -p rct`: under the README's `cargo test --workspace` every
/// artefact, `rct` included, is then already fresh (same units, same
/// features), so this costs a second; `cargo build -p rct` would resolve
/// features differently and rebuild half the dependency tree.
fn rct_binary(root: &Path) -> PathBuf {
    if let Some(bin) = std::env::var_os("RCT_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/browser-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let target_dir = profile_dir.parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = Command::new(cargo);
    build
        .args(["test", "--workspace", "--no-run", "--quiet"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(root);
    // Variables cargo set for this test binary are not the caller's settings.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "OUT_DIR",
            ]
            .contains(&k.as_ref())
        {
            build.env_remove(k.as_ref());
        }
    }
    if release {
        build.arg("--release");
    }
    let status = build.status().expect("running cargo to build rct");
    assert!(
        status.success(),
        "building rct (cargo test --workspace --no-run) failed"
    );
    let bin = profile_dir.join(format!("rct{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "no rct binary at {}", bin.display());
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn browser_scenarios_pass_in_chromium() {
    let root = repo_root();
    let chromium = PathBuf::from(
        std::env::var("RCT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_string()),
    );
    let missing = missing_prerequisites(&root, &chromium);
    if !missing.is_empty() {
        let note = format!("browser tests need: {}", missing.join("; "));
        if std::env::var_os("CI").is_some() {
            panic!("{note}");
        }
        eprintln!("skipping the browser tests: {note}");
        return;
    }

    let rct = rct_binary(&root);
    let tmp = std::env::temp_dir().join(format!("rct-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let db = format!("sqlite:{}", tmp.join("e2e.sqlite").display());
    // Output goes to files: a pipe nobody reads would block or break the server.
    let (out_path, err_path) = (tmp.join("serve.out"), tmp.join("serve.err"));
    let child = Command::new(&rct)
        .args(["serve", "--demo", "--json", "--db", &db, "--addr", &addr])
        .current_dir(&tmp)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("starting rct serve");
    let mut server = Server(child);
    let stderr_of = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();

    // The first line is the startup summary with the demo logins; then it listens.
    let mut tries = 0;
    let first = loop {
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some((line, _)) = out.split_once('\n') {
            if TcpStream::connect(&addr).is_ok() {
                break line.to_string();
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "rct serve exited with {status}; stderr:\n{}",
                stderr_of(&err_path)
            );
        }
        assert!(
            tries < 600,
            "rct serve did not start on {addr} within 60 s; stderr:\n{}",
            stderr_of(&err_path)
        );
        tries += 1;
        std::thread::sleep(Duration::from_millis(100));
    };
    let summary: serde_json::Value = serde_json::from_str(first.trim())
        .unwrap_or_else(|e| panic!("rct serve --json summary is not JSON ({e}): {first}"));
    let url = summary["url"].as_str().unwrap().to_string();
    let logins = summary["logins"].to_string();

    let screenshots = root.join("target/e2e-screenshots");
    let out = Command::new("node")
        .arg(root.join("e2e/run.mjs"))
        .arg(&url)
        .env("RCT_E2E_URL", &url)
        .env("RCT_E2E_LOGINS", &logins)
        .env("RCT_E2E_SCREENSHOTS", &screenshots)
        .env("RCT_CHROMIUM", &chromium)
        .current_dir(&root)
        .output()
        .expect("running node e2e/run.mjs");
    drop(server);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        println!("rct serve stderr:\n{}", stderr_of(&err_path));
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{report}");
    assert!(
        out.status.success(),
        "browser scenarios failed (exit {:?}):\n{report}",
        out.status.code()
    );
    assert!(report.contains("7 passed, 0 failed"), "{report}");
}
