#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Signed checkpoints from the command line: the key file `rct trial create`
//! makes, signatures checked with standard Ed25519 against the documented
//! text and the printed public key, and `rct audit verify` catching what the
//! hash chain alone misses (truncation, a correctly linked forged append, a
//! chain recomputed from an edit onward, a head published elsewhere) and
//! naming a badly linked last event itself.

use std::path::PathBuf;

use assert_cmd::Command;
use rct_record::ed25519_dalek::{Signature, VerifyingKey};
use rct_record::{EventDraft, Payload, Role};
use rct_store::{open, Ledger, Store};

const TRIAL: &str = "lupex";

fn rct() -> Command {
    let mut c = Command::cargo_bin("rct").unwrap();
    c.env_remove("RCT_SIGNING_KEY").env_remove("RCT_DB");
    c
}

struct Setup {
    dir: tempfile::TempDir,
    db: String,
    key_file: PathBuf,
    public: String,
}

impl Setup {
    /// `rct trial create` (which makes the key beside the database and
    /// prints its public half), then six consents each written through a
    /// ledger signing with that key: events 1-9 (registration, the
    /// administrator's account, two sites, six consents), checkpoints of 3 and 4-9.
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite:{}", dir.path().join("trial.sqlite").display());
        let protocol = format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"));
        let out = rct()
            .args(["trial", "create", "--db", &db, "--protocol", &protocol])
            .args(["--seed", "1", "--at", "2026-11-23T09:00:00Z"])
            .args(["--user", "ada", "--password-stdin"])
            .write_stdin("ada-test-password\n")
            .assert()
            .success();
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        let public = err
            .split("public key ")
            .nth(1)
            .unwrap_or_else(|| panic!("no public key printed: {err}"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let key_file = dir.path().join("rct-signing.key");
        let key = rct_store::signing::load_key(&key_file).unwrap();
        let mut ledger = Ledger::new(open(&db).unwrap());
        ledger.set_signer(
            std::sync::Arc::new(rct_store::KeySigner::new(
                key,
                std::sync::Arc::new(|| "2026-11-23T10:00:00Z".parse().unwrap()),
            )),
            1,
        );
        for i in 1..=6 {
            ledger
                .execute(TRIAL, |_| Ok::<_, String>(vec![consent(i)]))
                .unwrap();
        }
        Setup {
            dir,
            db,
            key_file,
            public,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("trial.sqlite")
    }

    fn rows(&self) -> Vec<rct_record::StoredEvent> {
        open(&self.db).unwrap().load(TRIAL, 0).unwrap()
    }

    fn sql(&self, statements: &[String]) {
        let c = rct_store::sqlite::rusqlite::Connection::open(self.path()).unwrap();
        for s in statements {
            c.execute_batch(s).unwrap();
        }
    }

    /// `rct audit verify` with the printed public key: (exit code, stdout).
    fn verify(&self, extra: &[&str]) -> (i32, String) {
        let out = rct()
            .args([
                "audit",
                "verify",
                "--db",
                &self.db,
                "--public-key",
                &self.public,
            ])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    }
}

fn consent(i: usize) -> EventDraft {
    EventDraft {
        software: None,
        trial: TRIAL.into(),
        at: "2026-11-23T09:30:00Z".parse().unwrap(),
        actor: "nina".into(),
        role: Role::ResearchNurse,
        site: None,
        reason: None,
        payload: Payload::Consented {
            participant: format!("P{i:02}"),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    }
}

fn insert(e: &rct_record::Event) -> String {
    format!(
        "INSERT INTO events (trial, seq, body, hash) VALUES ('{TRIAL}', {}, '{}', '{}')",
        e.seq,
        e.canonical_body().replace('\'', "''"),
        e.hash
    )
}

#[test]
fn key_file_is_private_and_signatures_verify_with_the_printed_key() {
    let s = Setup::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&s.key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Every stored checkpoint verifies with plain Ed25519 under the printed
    // key, over the five lines docs/audit.md gives (built here by hand).
    let printed: [u8; 32] = hex::decode(&s.public).unwrap().try_into().unwrap();
    let key = VerifyingKey::from_bytes(&printed).unwrap();
    let cps = open(&s.db).unwrap().checkpoints(TRIAL).unwrap();
    assert_eq!(
        cps.iter().map(|c| c.seq).collect::<Vec<_>>(),
        [3, 4, 5, 6, 7, 8, 9]
    );
    for cp in &cps {
        let text = format!(
            "rct checkpoint v1\ntrial {TRIAL}\nseq {}\nhash {}\nat {}\n",
            cp.seq,
            cp.hash,
            cp.at.format("%Y-%m-%dT%H:%M:%SZ")
        );
        let sig: [u8; 64] = hex::decode(&cp.signature).unwrap().try_into().unwrap();
        key.verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .unwrap();
        assert_eq!(cp.public_key, s.public);
    }
    let (code, out) = s.verify(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("lupex: intact, 9 events, head ") && out.contains("signed through event 9"),
        "{out}"
    );
    // Another key is not trusted.
    let other = hex::encode(
        rct_record::ed25519_dalek::SigningKey::from_bytes(&[3; 32])
            .verifying_key()
            .as_bytes(),
    );
    let out = rct()
        .args(["audit", "verify", "--db", &s.db, "--public-key", &other])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("(untrusted_key)"), "{text}");
    // A key file others may read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&s.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = rct()
            .args(["audit", "checkpoint", "--db", &s.db])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
    }
}

#[test]
fn truncating_the_last_events_is_caught() {
    let s = Setup::new();
    s.sql(&["DELETE FROM events WHERE seq > 7".into()]);
    let (code, out) = s.verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 8 (truncated)")
            && out.contains("events 8-9 were deleted"),
        "{out}"
    );
}

#[test]
fn a_correctly_linked_forged_append_is_caught() {
    let s = Setup::new();
    let rows = s.rows();
    let forged = consent(66).seal(10, &rows[8].hash);
    s.sql(&[insert(&forged)]);
    let (code, out) = s.verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 10 (unsigned_tail)"),
        "{out}"
    );
    let (code, out) = s.verify(&["--allow-unsigned-tail"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("note: events 10-10"), "{out}");
}

#[test]
fn a_chain_recomputed_from_an_edit_onward_is_caught_and_not_signed() {
    let s = Setup::new();
    let rows = s.rows();
    let mut prev = rows[4].hash.clone();
    let mut statements = vec!["DELETE FROM events WHERE seq >= 6".to_string()];
    for (seq, who) in [(6u64, 90usize), (7, 4), (8, 5), (9, 6)] {
        let e = consent(who).seal(seq, &prev);
        prev = e.hash.clone();
        statements.push(insert(&e));
    }
    s.sql(&statements);
    let (code, out) = s.verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 6 (rewritten)"),
        "{out}"
    );
    // Signing the rewritten head is refused.
    let out = rct()
        .args(["audit", "checkpoint", "--db", &s.db])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("lupex: NOT SIGNED"), "{text}");
}

#[test]
fn a_published_head_must_match() {
    let s = Setup::new();
    let rows = s.rows();
    let good = format!("5:{}", rows[4].hash);
    assert_eq!(s.verify(&["--head", &good]).0, 0);
    let wrong = format!("5:{}", rows[3].hash);
    let (code, out) = s.verify(&["--head", &wrong]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 5 (rewritten)"),
        "{out}"
    );
    let past = format!("20:{}", rows[2].hash);
    let (code, out) = s.verify(&["--head", &past]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 10 (truncated)"),
        "{out}"
    );
    let out = rct()
        .args(["audit", "verify", "--db", &s.db, "--head", "4:xyz"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_badly_linked_append_names_itself() {
    let s = Setup::new();
    let forged = consent(66).seal(10, &"ab".repeat(32));
    s.sql(&[insert(&forged)]);
    let (code, out) = s.verify(&[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("lupex: BROKEN at event 10 (inserted)"),
        "{out}"
    );
}

#[test]
fn restore_of_a_backup_keeps_its_checkpoints() {
    let s = Setup::new();
    let file = s.dir.path().join("backup.sqlite");
    rct()
        .args(["backup", "--db", &s.db])
        .arg(&file)
        .assert()
        .success();
    let target = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", target.path().join("r.sqlite").display());
    rct()
        .args(["restore", "--db", &url])
        .arg(&file)
        .assert()
        .success();
    rct()
        .args(["audit", "verify", "--db", &url, "--public-key", &s.public])
        .assert()
        .success();
}

#[cfg(unix)]
#[test]
fn serve_prints_its_key_signs_what_it_writes_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("s.sqlite").display());
    let port = 20_000 + (std::process::id() % 20_000);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("rct"))
        .env_remove("RCT_SIGNING_KEY")
        .args(["serve", "--db", &db, "--addr", &format!("127.0.0.1:{port}")])
        .args(["--bootstrap-admin", "ada:a long enough password"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let public = loop {
        let line = lines
            .next()
            .expect("serve ended before printing its key")
            .unwrap();
        if let Some(rest) = line.strip_prefix("checkpoint key ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // SIGTERM stops it cleanly once it listens.
    loop {
        let line = lines.next().expect("serve ended before listening").unwrap();
        if line.starts_with("listening on ") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.wait().unwrap();
    assert!(
        code.success(),
        "serve did not stop cleanly on SIGTERM: {code}"
    );
    let key_file = dir.path().join("rct-signing.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let key = rct_store::signing::load_key(&key_file).unwrap();
    assert_eq!(hex::encode(key.verifying_key().as_bytes()), public);
    // The registrations it wrote are signed: the record verifies against
    // the printed key with no unsigned tail.
    let out = rct()
        .args(["audit", "verify", "--db", &db, "--public-key", &public])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("signed through event"), "{text}");
}
