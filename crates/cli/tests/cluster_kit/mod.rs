//! Shared by the multi-process serving tests: `rct serve` processes (the
//! built binary), a minimal HTTP/1.1 client over `std::net` (one request
//! per connection), logins, and a bounded enrolment and data-entry load
//! that records every write the server acknowledged.
// Tests are an edge: the load runs for a wall-clock time.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The trial the load runs on (the demo's IL-2 trial: three sites, kit
/// codes, stratified by site).
pub const TRIAL: &str = "il2-sle";

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `rct serve` process.
pub struct Server {
    pub port: u16,
    pub child: Child,
    /// The public checkpoint key it printed.
    pub public_key: String,
    /// Standard output after the `listening on` line, read by a thread.
    pub rest: Arc<Mutex<Vec<String>>>,
    pub stderr_file: PathBuf,
}

/// Starts `rct serve` on `db` at `port` with the given extra arguments and
/// waits until it listens (at most 120 s: the demo's seeding hashes
/// passwords at production cost in a debug build).
pub fn start(db: &str, port: u16, key: &Path, extra: &[&str], log_dir: &Path) -> Server {
    let stderr_file = unique(log_dir.join(format!("serve-{port}.log")));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_rct"))
        .env_remove("RCT_SIGNING_KEY")
        .args(["serve", "--db", db, "--addr", &format!("127.0.0.1:{port}")])
        .arg("--key")
        .arg(key)
        .args(["--log-format", "text"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_file).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut public_key = String::new();
    let started = Instant::now();
    loop {
        let Some(Ok(line)) = lines.next() else {
            let log = std::fs::read_to_string(&stderr_file).unwrap_or_default();
            panic!("rct serve on port {port} ended before listening: {log}");
        };
        if let Some(rest) = line.strip_prefix("checkpoint key ") {
            public_key = rest.split_whitespace().next().unwrap().to_string();
        }
        if line.starts_with("listening on ") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "slow start");
    }
    let rest = Arc::new(Mutex::new(Vec::new()));
    let sink = rest.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    Server {
        port,
        child,
        public_key,
        rest,
        stderr_file,
    }
}

fn unique(path: PathBuf) -> PathBuf {
    let mut p = path.clone();
    let mut n = 0;
    while p.exists() {
        n += 1;
        p = path.with_extension(format!("{n}.log"));
    }
    p
}

impl Server {
    /// Sends a signal to the process.
    pub fn signal(&self, sig: i32) {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on a child process id we spawned and still own.
        let rc = unsafe { libc::kill(pid, sig) };
        assert_eq!(rc, 0, "kill({pid}, {sig})");
    }

    /// Its log (standard error) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }
}

/// An answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` header gives `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                let (k, v) = v.split(';').next()?.split_once('=')?;
                (k == name && !v.is_empty()).then(|| v.to_string())
            })
    }
}

/// One request on its own connection (`Connection: close`); an error when
/// the server cannot be reached or the connection breaks (no answer: the
/// write is not acknowledged).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<Reply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers (connection cut)"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body).ok_or_else(|| bad("bad chunked body (connection cut)"))?;
    } else if let Some(n) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        if body.len() != n {
            return Err(bad("short body (connection cut)"));
        }
    }
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..line_end]).ok()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
    }
}

/// A logged-in session: its cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub cookie: String,
    pub csrf: String,
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Logs `user` in on the server at `port` (the demo password).
pub fn login(port: u16, user: &str) -> Session {
    let page = request(port, "GET", "/login", &[], b"").unwrap();
    let login_cookie = page.cookie("rct_login").unwrap();
    let body = form(&[
        ("csrf", &login_cookie),
        ("user", user),
        ("password", &format!("{user}-demo-pw")),
    ]);
    let cookie_header = format!("rct_login={login_cookie}");
    let ans = request(
        port,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &cookie_header),
        ],
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(ans.status, 303, "login of {user}: {}", ans.body);
    let cookie = format!("rct_session={}", ans.cookie("rct_session").unwrap());
    let home = request(port, "GET", "/", &[("Cookie", &cookie)], b"").unwrap();
    let marker = "name=\"csrf-token\" content=\"";
    let i = home
        .body
        .find(marker)
        .expect("a csrf token on the home page");
    let csrf = home.body[i + marker.len()..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    Session {
        user: user.into(),
        cookie,
        csrf,
    }
}

impl Session {
    /// `GET /api/me` on `port`: the status (200 when the session is live there).
    pub fn me(&self, port: u16) -> std::io::Result<u16> {
        request(port, "GET", "/api/me", &[("Cookie", &self.cookie)], b"").map(|r| r.status)
    }

    pub fn post_form(
        &self,
        port: u16,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> std::io::Result<Reply> {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        request(
            port,
            "POST",
            path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Cookie", &self.cookie),
            ],
            form(&all).as_bytes(),
        )
    }

    pub fn post_json(&self, port: u16, path: &str, json: &str) -> std::io::Result<Reply> {
        request(
            port,
            "POST",
            path,
            &[
                ("Content-Type", "application/json"),
                ("Cookie", &self.cookie),
                ("X-CSRF-Token", &self.csrf),
            ],
            json.as_bytes(),
        )
    }
}

/// One step's request, given the port to send it to.
type StepRequest<'a> = Box<dyn Fn(u16) -> std::io::Result<Reply> + 'a>;

/// A write the server acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Screened,
    Consented,
    Randomised,
    Entered,
}

/// What a load saw: acknowledged writes by participant, and requests that
/// got no answer (the server was down or went down).
#[derive(Debug, Default)]
pub struct Tally {
    pub acked: BTreeMap<String, Vec<Step>>,
    /// Requests without an answer: refused connections (nobody listening)...
    pub unanswered: usize,
    /// ...of which connections that were made but then cut (reset, closed
    /// before a whole answer).
    pub cut: usize,
    pub refused: Vec<String>,
}

/// One worker: enrols participants `{prefix}{n}` at `site` as `session`,
/// on whichever port `port()` names at each step, until `deadline`. A step
/// without an answer abandons the participant (its fate is unknown, so it
/// is not counted) and the next starts after a short pause.
pub fn enrol_until(
    session: &Session,
    port: &dyn Fn() -> u16,
    prefix: &str,
    site: &str,
    deadline: Instant,
    tally: &Mutex<Tally>,
) {
    let facts = rct_web::demo::il2_facts(true);
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let pid = format!("{prefix}{n:03}");
        let mut screen: Vec<(&str, &str)> = vec![
            ("participant", &pid),
            ("site", site),
            ("screening_date", "2025-03-01"),
        ];
        screen.extend(facts.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let base = format!("/t/{TRIAL}/p/{pid}");
        let steps: [(Step, StepRequest<'_>, u16); 4] = [
            (
                Step::Screened,
                Box::new(|p| session.post_form(p, &format!("/t/{TRIAL}/screen"), &screen)),
                303,
            ),
            (
                Step::Consented,
                Box::new(|p| session.post_form(p, &format!("{base}/consent"), &[])),
                303,
            ),
            (
                Step::Randomised,
                Box::new(|p| session.post_form(p, &format!("{base}/randomise"), &[])),
                200,
            ),
            (
                Step::Entered,
                Box::new(|p| {
                    session.post_json(
                        p,
                        &format!("/api/trials/{TRIAL}/participants/{pid}/visits/baseline/sledai"),
                        r#"{"values": {"total": "12"}}"#,
                    )
                }),
                200,
            ),
        ];
        for (step, send, ok) in &steps {
            match send(port()) {
                Ok(r) if r.status == *ok => {
                    tally
                        .lock()
                        .unwrap()
                        .acked
                        .entry(pid.clone())
                        .or_default()
                        .push(*step);
                }
                Ok(r) => {
                    let mut t = tally.lock().unwrap();
                    t.refused.push(format!(
                        "{pid} {step:?}: {} {}",
                        r.status,
                        first_line(&r.body)
                    ));
                    break;
                }
                Err(e) => {
                    let mut t = tally.lock().unwrap();
                    t.unanswered += 1;
                    if e.kind() != std::io::ErrorKind::ConnectionRefused {
                        t.cut += 1;
                    }
                    drop(t);
                    std::thread::sleep(Duration::from_millis(50));
                    break;
                }
            }
        }
    }
}

fn first_line(body: &str) -> String {
    body.chars().take(300).collect()
}

/// Checks the record against the acknowledged writes: every one present;
/// per stratum the list positions used are exactly 1..=n. Returns the
/// number of acknowledged writes and of allocations.
pub fn check_record(db: &str, tally: &Tally) -> (usize, usize) {
    let store = rct_store::open(db).unwrap();
    let ledger = rct_store::Ledger::new(store);
    let state = ledger.state(TRIAL).unwrap();
    let mut acked = 0;
    for (pid, steps) in &tally.acked {
        let p = state
            .participants
            .get(pid)
            .unwrap_or_else(|| panic!("acknowledged participant {pid} is missing"));
        for step in steps {
            acked += 1;
            let present = match step {
                Step::Screened => p.screening.is_some(),
                Step::Consented => p.consented.is_some(),
                Step::Randomised => p.allocation.is_some(),
                Step::Entered => p.values.contains_key("baseline/sledai/total"),
            };
            assert!(present, "acknowledged {step:?} of {pid} is missing");
        }
    }
    let mut by_stratum: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for p in state.participants.values() {
        if let Some(a) = &p.allocation {
            by_stratum.entry(&a.stratum).or_default().push(a.position);
        }
    }
    let mut allocations = 0;
    for (stratum, positions) in &mut by_stratum {
        positions.sort_unstable();
        let expected: Vec<u64> = (1..=positions.len() as u64).collect();
        assert_eq!(
            *positions, expected,
            "stratum {stratum}: list positions used twice or skipped"
        );
        allocations += positions.len();
    }
    (acked, allocations)
}

/// `rct audit verify` of `db` against `public_key`: its output (it must succeed).
pub fn audit_verify(db: &str, public_key: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rct"))
        .env_remove("RCT_SIGNING_KEY")
        .args(["audit", "verify", "--db", db, "--public-key", public_key])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "rct audit verify failed: {text}");
    text
}
