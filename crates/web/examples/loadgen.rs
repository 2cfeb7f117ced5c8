//! Load generator for `bench/web/run.sh`: starts the web application on a
//! loopback port over a SQLite file with the demo data plus N randomised
//! participants, logs in, and drives keep-alive HTTP/1.1 connections at the
//! participant list, the participants API and a data-entry save, printing
//! requests per second and latency percentiles. Bounded in requests and
//! time; talks to 127.0.0.1 only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// A benchmark measures wall-clock time: that is its job.
#![allow(clippy::disallowed_methods)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Args {
    participants: usize,
    connections: usize,
    requests: usize,
    db: String,
}

fn args() -> Args {
    let mut a = Args {
        participants: 5000,
        connections: 8,
        requests: 400,
        db: String::new(),
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < argv.len() {
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match argv[i].as_str() {
            "--participants" => a.participants = v.parse().unwrap(),
            "--connections" => a.connections = v.parse().unwrap(),
            "--requests" => a.requests = v.parse().unwrap(),
            "--db" => a.db = v,
            other => panic!("unknown argument {other}; expected --participants N --connections N --requests N --db URL"),
        }
        i += 2;
    }
    a
}

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Conn {
        let s = TcpStream::connect(addr).await.unwrap();
        s.set_nodelay(true).unwrap();
        let (r, w) = s.into_split();
        Conn {
            reader: BufReader::new(r),
            writer: w,
        }
    }

    async fn request(
        &mut self,
        method: &str,
        path: &str,
        cookie: &str,
        body: &str,
        ctype: &str,
    ) -> Reply {
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n");
        if !cookie.is_empty() {
            req.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if method == "POST" {
            req.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.writer.write_all(req.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let (k, v) = l.split_once(':').unwrap();
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                len = v.parse().unwrap();
            }
            assert!(k != "transfer-encoding", "chunked answers are not handled");
            headers.push((k, v));
        }
        let mut body = vec![0u8; len];
        self.reader.read_exact(&mut body).await.unwrap();
        Reply {
            status,
            headers,
            body,
        }
    }
}

fn cookie_of(r: &Reply, name: &str) -> String {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| {
            let first = v.split(';').next()?;
            first
                .starts_with(&format!("{name}="))
                .then(|| first.to_string())
        })
        .unwrap()
}

fn token_in(body: &[u8], marker: &str) -> String {
    let s = String::from_utf8_lossy(body);
    let i = s.find(marker).unwrap() + marker.len();
    s[i..].split('"').next().unwrap().to_string()
}

async fn login(addr: std::net::SocketAddr, user: &str) -> (String, String) {
    let mut c = Conn::open(addr).await;
    let page = c.request("GET", "/login", "", "", "").await;
    let lc = cookie_of(&page, "rct_login");
    let tok = token_in(&page.body, "name=\"csrf\" value=\"");
    let body = format!("csrf={tok}&user={user}&password={user}-demo-pw");
    let r = c
        .request(
            "POST",
            "/login",
            &lc,
            &body,
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(r.status, 303, "login of {user}");
    let sc = cookie_of(&r, "rct_session");
    let home = c.request("GET", "/", &sc, "", "").await;
    let csrf = token_in(&home.body, "name=\"csrf-token\" content=\"");
    (sc, csrf)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type Plan = Arc<dyn Fn(usize) -> (String, String, String, String) + Send + Sync>;

/// Runs `total` requests over `conns` connections; requests/s, p50, p99, bytes per answer.
async fn drive(
    addr: std::net::SocketAddr,
    conns: usize,
    total: usize,
    cookie: &str,
    plan: Plan,
    expect: u16,
) -> (f64, Duration, Duration, usize) {
    let per = total.div_ceil(conns);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..conns {
        let plan = plan.clone();
        let cookie = cookie.to_string();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(addr).await;
            let mut lat = Vec::with_capacity(per);
            let mut bytes = 0;
            for i in 0..per {
                let (method, path, body, ctype) = plan(k * per + i);
                let t = Instant::now();
                let r = c.request(&method, &path, &cookie, &body, &ctype).await;
                lat.push(t.elapsed());
                assert_eq!(
                    r.status,
                    expect,
                    "{method} {path}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                bytes = r.body.len();
            }
            (lat, bytes)
        }));
    }
    let mut all = Vec::new();
    let mut bytes = 0;
    for t in tasks {
        let (lat, b) = t.await.unwrap();
        all.extend(lat);
        bytes = b;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort();
    (
        all.len() as f64 / secs,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        bytes,
    )
}

#[allow(clippy::disallowed_methods)]
fn main() {
    let a = args();
    let db = if a.db.is_empty() {
        let dir = std::env::temp_dir().join(format!("rct-web-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite:{}", dir.join("bench.sqlite").display())
    } else {
        a.db.clone()
    };
    let store = rct_web::open_store(&db).unwrap();
    let app = rct_web::App::new(
        store,
        rct_web::demo::seed_protocols().unwrap(),
        rct_web::Passwords::new(rct_web::auth::ARGON_KIB),
        rct_web::wall_clock(),
    );
    let t = Instant::now();
    rct_web::demo::seed(&app, a.participants).unwrap();
    let n = app.ledger.state("il2-sle").unwrap().participants.len();
    println!(
        "seeded {n} IL-2 participants ({} events) into {db} in {:.1} s",
        app.ledger.state("il2-sle").unwrap().seq,
        t.elapsed().as_secs_f64()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = rct_web::router(rct_web::AppState(Arc::new(app)));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let (monitor, _) = login(addr, "monitor").await;
        let (inv, csrf) = login(addr, "investigator").await;
        println!(
            "{:<46} {:>9} {:>9} {:>9} {:>10}",
            "request", "req/s", "p50 ms", "p99 ms", "bytes"
        );
        let show = |name: &str, (rps, p50, p99, bytes): (f64, Duration, Duration, usize)| {
            println!(
                "{name:<46} {rps:>9.1} {:>9.1} {:>9.1} {bytes:>10}",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        };
        let list: Plan = Arc::new(|_| {
            (
                "GET".into(),
                "/t/il2-sle/participants".into(),
                String::new(),
                String::new(),
            )
        });
        show(
            "GET participant list (monitor, all sites)",
            drive(addr, a.connections, a.requests, &monitor, list, 200).await,
        );
        let api: Plan = Arc::new(|_| {
            (
                "GET".into(),
                "/api/trials/il2-sle/participants".into(),
                String::new(),
                String::new(),
            )
        });
        show(
            "GET /api participants (monitor)",
            drive(addr, a.connections, a.requests, &monitor, api, 200).await,
        );
        let paged: Plan = Arc::new(|i| {
            (
                "GET".into(),
                format!("/api/trials/il2-sle/participants?page={}", 1 + i % 50),
                String::new(),
                String::new(),
            )
        });
        show(
            "GET /api participants, pages of 100 (monitor)",
            drive(addr, a.connections, a.requests, &monitor, paged, 200).await,
        );
        let one: Plan = Arc::new(|i| {
            (
                "GET".into(),
                format!("/t/il2-sle/p/B{:05}", 2 * (i % 2000) + 1),
                String::new(),
                String::new(),
            )
        });
        show(
            "GET participant page (investigator)",
            drive(addr, a.connections, a.requests, &inv, one, 200).await,
        );
        // Saves: participants B00001, B00003, ... are at pkuph (the investigator's site).
        let csrf2 = csrf.clone();
        let save: Plan = Arc::new(move |i| {
            let pid = format!("B{:05}", 2 * (i % 2000) + 1);
            let total = 10 + (i / 2000) % 50;
            let body = format!("csrf={csrf2}&f.total={total}&reason=bench");
            (
                "POST".into(),
                format!("/t/il2-sle/p/{pid}/visit/baseline/sledai"),
                body,
                "application/x-www-form-urlencoded".into(),
            )
        });
        show(
            "POST data-entry save (investigator, SQLite)",
            drive(addr, a.connections, a.requests, &inv, save, 200).await,
        );
    });
}
