//! `rct serve`: the web application.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `rct serve`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  rct serve --demo\n  rct serve --db sqlite:trial.sqlite --protocol my-trial.toml --bootstrap-admin alice:'a long password'\n\n\
The demo starts with both seed protocols, one account per role (printed with their passwords) and a few randomised participants."
)]
pub struct ServeArgs {
    /// Database URL: `memory:`, `sqlite:PATH` or `postgres://...` (default:
    /// `sqlite:rct-demo.sqlite` with --demo, else required).
    #[arg(long)]
    pub db: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Load both seed protocols, demo accounts and demo participants.
    #[arg(long)]
    pub demo: bool,
    /// Protocol files to register with --bootstrap-admin (the seed
    /// protocols are always known). A trial the database holds is served
    /// with the protocol its record holds; a file given for it that differs
    /// is refused at start, naming the first line that differs.
    #[arg(long = "protocol", value_name = "FILE")]
    pub protocols: Vec<PathBuf>,
    /// Register every served protocol the database does not hold yet, with
    /// this administrator (`NAME:PASSWORD`; an existing account keeps its password).
    #[arg(long, value_name = "NAME:PASSWORD")]
    pub bootstrap_admin: Option<String>,
    /// Extra randomised IL-2 participants for the demo (benchmarks).
    #[arg(long, default_value_t = 0, hide = true)]
    pub demo_participants: usize,
    /// Send cookies without `Secure` (only for plain-HTTP hosts that are not
    /// loopback; browsers accept `Secure` cookies on loopback).
    #[arg(long)]
    pub insecure_cookies: bool,
    /// Print the startup summary as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub key: super::signing::KeyArgs,
    /// Sign a checkpoint of a trial's head whenever at least N events were
    /// written since its last one (1: with every committed batch); the
    /// heads left unsigned are signed at shutdown.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub checkpoint_every: u64,
    /// Log lines on standard error: `json` (one object per line: request
    /// id, method, route pattern, user, status, latency; login failures,
    /// refusals, store retries) or `text` (docs/deploy.md).
    #[arg(long, value_name = "FORMAT", default_value = "json")]
    pub log_format: rct_web::ops::LogFormat,
}

/// Runs `rct serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    rct_web::ops::init_logging(args.log_format);
    let db = match (&args.db, args.demo) {
        (Some(db), _) => db.clone(),
        (None, true) => "sqlite:rct-demo.sqlite".to_string(),
        (None, false) => anyhow::bail!(
            "give --db URL (memory:, sqlite:PATH or postgres://...), or --demo to try it out"
        ),
    };
    let store = rct_web::open_store(&db).with_context(|| format!("opening {db}"))?;
    let mut protocols = rct_web::demo::seed_protocols()?;
    let mut texts: std::collections::BTreeMap<String, String> = protocols
        .iter()
        .zip(rct_web::demo::SEEDS)
        .map(|(p, (_, text))| (p.trial.id.get_ref().clone(), text.to_string()))
        .collect();
    for path in &args.protocols {
        let src = super::input::read_protocol(path)?;
        let p = rct_core::protocol::parse(&src, &path.display().to_string())
            .map_err(|d| anyhow::anyhow!("{d}"))?;
        protocols.retain(|q| q.trial.id.get_ref() != p.trial.id.get_ref());
        texts.insert(p.trial.id.get_ref().clone(), src);
        protocols.push(p);
    }
    let app = {
        let mut app = rct_web::App::new(
            store,
            protocols,
            rct_web::Passwords::new(rct_web::auth::ARGON_KIB),
            rct_web::wall_clock(),
        );
        // A trial registered by --bootstrap-admin keeps its protocol text in
        // the record, as `rct trial create` does.
        app.protocol_texts = texts;
        app.secure_cookies = !args.insecure_cookies;
        app
    };
    // A file given for a trial the database holds must be its registered
    // text: the record's protocol is served, never the file.
    for path in &args.protocols {
        let given = super::registered::given(Some(path))?;
        if let Some(g) = given {
            let trial = g.protocol.trial.id.get_ref().clone();
            let state = app.ledger.state(&trial)?;
            if state.config.is_some() {
                super::registered::protocol(&state, Some(g))?;
            }
        }
    }
    // The checkpoint key: created on first start (mode 0600); an in-memory
    // database without --key gets a key for this run only.
    let mut app = app;
    let (key, key_file) = match args.key.path(&db) {
        Some(path) => (super::signing::load_or_create(&path)?, Some(path)),
        None => (rct_store::signing::generate_key(), None),
    };
    let public = key.verifying_key();
    app.ledger
        .set_signer(super::signing::signer(key), args.checkpoint_every);
    if let Some(spec) = &args.bootstrap_admin {
        let (name, pw) = spec
            .split_once(':')
            .context("--bootstrap-admin takes NAME:PASSWORD")?;
        let done = rct_web::demo::bootstrap(&app, name, pw)?;
        if !done.is_empty() {
            eprintln!("registered {} with administrator {name}", done.join(", "));
        }
    }
    let users = if args.demo {
        rct_web::demo::seed(&app, args.demo_participants)?
    } else {
        Vec::new()
    };
    let trials = app.trial_ids()?;
    if trials.is_empty() {
        anyhow::bail!(
            "the database holds no trial with a known protocol; start with --bootstrap-admin NAME:PASSWORD to register the protocols, or --demo"
        );
    }
    // Each demo login's trials: its role there and whether it is blinded.
    let login_trials: Vec<String> = users
        .iter()
        .map(|u| {
            rct_web::demo::login_trials(&app, u.user)
                .map(|t| t.join("; "))
                .unwrap_or_else(|e| e.to_string())
        })
        .collect();
    // Announced once the server listens with its signal handlers in place.
    let announce = || {
        let url = format!("http://{}/", args.addr);
        if args.json {
            let logins: Vec<_> = users
                .iter()
                .map(
                    |u| serde_json::json!({"user": u.user, "password": u.password, "role": u.role}),
                )
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "url": url, "db": db, "trials": trials, "logins": logins,
                    "public_key": rct_record::checkpoint::public_key_hex(&public),
                    "key_fingerprint": rct_record::checkpoint::fingerprint(&public),
                    "key_file": key_file.as_ref().map(|p| p.display().to_string()),
                })
            );
        } else {
            println!(
                "rct serve: {url}  (database {db}; trials {})",
                trials.join(", ")
            );
            if !users.is_empty() {
                println!("demo logins (user / password / trial: role, blinded or not):");
                for (u, trials) in users.iter().zip(&login_trials) {
                    println!("  {:<18} {:<28} {}", u.user, u.password, trials);
                }
            }
            println!(
                "checkpoint key {} (fingerprint {}){}",
                rct_record::checkpoint::public_key_hex(&public),
                rct_record::checkpoint::fingerprint(&public),
                match &key_file {
                    Some(p) => format!(", file {}", p.display()),
                    None => ", for this run only (give --key FILE to keep it)".into(),
                }
            );
            println!("Ctrl-C stops the server.");
        }
    };
    let signed = rct_web::serve_blocking_then(app, args.addr, announce)
        .with_context(|| format!("serving on {}", args.addr))?;
    for cp in &signed {
        eprintln!(
            "{}: signed a checkpoint of event {} at shutdown",
            cp.trial, cp.seq
        );
    }
    Ok(ExitCode::SUCCESS)
}
