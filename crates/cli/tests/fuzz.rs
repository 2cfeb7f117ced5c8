//! Mutation fuzzing of every reader, on mutants of the real files
//! (`$RCT_SHARED_DATA`; seeds and mutator in `fuzz_support`).
//!
//! - `in_process_*`: proptest, a few cases per reader, calling the library
//!   readers directly: a panic fails the test with its seed.
//! - `child_processes_fixed_seed`: the CI run: a few mutants per format, each
//!   read by the built `rct` binary in a child process with a 10 s wall limit
//!   and a 1 GiB address-space cap (RLIMIT_AS); any panic (exit 101), abort
//!   or signal, timeout or unexpected exit fails the test.
//! - `child_processes_full` (ignored): the same with 10,000 mutants per format
//!   (`tools/fuzz/run.sh` sets the count, binary, jobs and seed;
//!   `RCT_FUZZ_KEEP_ALL=1` keeps every mutant in `RCT_FUZZ_KEEP`).
//!
//! The RLF reader has no command of its own, so its mutants are read by this
//! test binary re-run as a child (`child_reader`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Wall-clock limits are the point of a fuzz harness.
#![allow(clippy::disallowed_methods)]

mod fuzz_support;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fuzz_support::{fit_crc, mutant_seed, mutate, rct, seeds, unzip, zip_parts, Format, Rng, ALL};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const WALL_LIMIT: Duration = Duration::from_secs(10);
const MEMORY_LIMIT: u64 = 1 << 30;
/// Mutants per format in CI, and the fixed seed.
const CI_MUTANTS: usize = 60;
const CI_SEED: u64 = 0x5eed_2026_0015;
/// Proptest cases per reader in process.
const CASES: u32 = 24;

fn shared() -> Option<PathBuf> {
    rct_testdata::shared_data("")
}

fn rct_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rct"))
}

// ---------------------------------------------------------------- in process

/// Reads `bytes` as `format` with the library readers, as the command would.
fn read_in_process(format: Format, bytes: &[u8]) -> Result<(), String> {
    use rct_exercise::{compliance, cpet, read_csv, read_fit, Alignment, SessionTemplate};
    let text = || String::from_utf8_lossy(bytes).into_owned();
    let e = |e: &dyn std::fmt::Display| e.to_string();
    match format {
        Format::Fit | Format::HrCsv => {
            let rec = if format == Format::Fit {
                read_fit(bytes, "m.fit").map_err(|x| e(&x))?
            } else {
                read_csv(&text(), "m.csv", None, None).map_err(|x| e(&x))?
            };
            let t = SessionTemplate::lupex();
            let r = compliance(&rec, &t, 185.0, Alignment::Auto, 5.0).map_err(|x| e(&x))?;
            rct_exercise::plot::session_svg(&rec, &t, &r);
        }
        Format::CpetXlsx | Format::CpetCsv => {
            let name = if format == Format::CpetXlsx {
                "m.xlsx"
            } else {
                "m.csv"
            };
            let b = cpet::read_cpet(bytes, name).map_err(|x| e(&x))?;
            for m in [cpet::Method::Rolling, cpet::Method::Block] {
                cpet::vo2max(&b, 70.0, 40.0, 30.0, m).map_err(|x| e(&x))?;
            }
        }
        Format::Rcc => {
            let r = rct_omics::parse_rcc(&text(), "m.RCC").map_err(|x| e(&x))?;
            rct_omics::qc_lane(&r, &rct_omics::QcThresholds::default());
        }
        Format::Rlf => {
            rct_omics::parse_rlf(&text(), "m.rlf").map_err(|x| e(&x))?;
        }
        Format::Toml => {
            rct_core::protocol::parse(&text(), "m.toml").map_err(|x| e(&x))?;
        }
        Format::Odm => {
            rct_interop::odm::import(
                &text(),
                "m.xml",
                rct_record::TrialSecrets::insecure_for_tests(1),
            )
            .map_err(|x| e(&x))?;
        }
        Format::Redcap => {
            rct_interop::redcap::import_dictionary(&text(), "m.csv").map_err(|x| e(&x))?;
        }
        Format::Ctgov => {
            rct_interop::ctgov::import_study(&text(), "m.json").map_err(|x| e(&x))?;
        }
        Format::Events => {
            let snapshot = rct_store::dump::parse_lines(&text(), "m.jsonl").map_err(|x| e(&x))?;
            for (trial, rows) in &snapshot {
                rct_record::verify_chain(trial, rows).map_err(|b| b.detail)?;
            }
        }
    }
    Ok(())
}

/// Proptest over mutants of the real files: the reader returns, never panics.
fn in_process(format: Format) {
    let Some(shared) = shared() else { return };
    let seeds = seeds(format, &shared, &rct_bin());
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner
        .run(&any::<u64>(), |s| {
            let mut r = Rng::new(s);
            let seed = &seeds[r.below(seeds.len())];
            let m = mutate(format, seed, &mut r);
            let _ = read_in_process(format, &m);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{}: {e}", format.name()));
}

#[test]
fn in_process_fit() {
    in_process(Format::Fit);
}
#[test]
fn in_process_hr_csv() {
    in_process(Format::HrCsv);
}
#[test]
fn in_process_cpet_xlsx() {
    in_process(Format::CpetXlsx);
}
#[test]
fn in_process_cpet_csv() {
    in_process(Format::CpetCsv);
}
#[test]
fn in_process_rcc() {
    in_process(Format::Rcc);
}
#[test]
fn in_process_rlf() {
    in_process(Format::Rlf);
}
#[test]
fn in_process_protocol_toml() {
    in_process(Format::Toml);
}
#[test]
fn in_process_odm() {
    in_process(Format::Odm);
}
#[test]
fn in_process_redcap() {
    in_process(Format::Redcap);
}
#[test]
fn in_process_ctgov() {
    in_process(Format::Ctgov);
}
#[test]
fn in_process_events() {
    in_process(Format::Events);
}

// ------------------------------------------------------------ child processes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Clean,
    Panic,
    Signal(i32),
    Timeout,
    Other(i32),
}

#[derive(Debug, Default, Clone)]
struct Tally {
    mutants: usize,
    ok: usize,
    clean: usize,
    panic: usize,
    signal: usize,
    timeout: usize,
    other: usize,
    wall: Duration,
    failures: Vec<String>,
}

impl Tally {
    fn bad(&self) -> usize {
        self.panic + self.signal + self.timeout + self.other
    }
}

/// The command reading `file` (outputs under `out`) for mutant `i`.
fn command(format: Format, bin: &Path, file: &Path, out: &Path, i: usize) -> Command {
    let o = |name: &str| out.join(name);
    if format == Format::Rlf {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args(["child_reader", "--exact", "--ignored", "--nocapture", "-q"])
            .args(["--test-threads", "1"])
            .env(
                "RCT_FUZZ_CHILD",
                format!("{}\n{}", format.name(), file.display()),
            );
        return c;
    }
    let mut c = rct(bin);
    match format {
        Format::Fit | Format::HrCsv => {
            c.args(["hr", "compliance"])
                .arg(file)
                .args(["--hrmax", "185", "--align", "auto", "--json", "--plot"])
                .arg(o("s.svg"));
        }
        Format::CpetXlsx | Format::CpetCsv => {
            c.args(["cpet", "vo2max"]).arg(file).args([
                "--weight",
                "70",
                "--age",
                "40",
                "--json",
                "--method",
                if i % 2 == 0 { "rolling" } else { "block" },
            ]);
        }
        Format::Rcc => {
            c.args(["nanostring", "qc"])
                .arg(file)
                .arg("--json")
                .arg("--plot")
                .arg(o("qc.svg"));
        }
        Format::Toml => {
            c.args(["protocol", "show"]).arg(file).arg("--json");
        }
        Format::Odm => {
            c.args(["import", "odm"])
                .arg(file)
                .arg("--events-out")
                .arg(o("e.jsonl"))
                .arg("--protocol-out")
                .arg(o("p.toml"))
                .arg("--json");
        }
        Format::Redcap => {
            c.args(["import", "redcap-dictionary"])
                .arg(file)
                .arg("--out")
                .arg(o("f.toml"))
                .arg("--json");
        }
        Format::Ctgov => {
            c.args(["protocol", "import-ctgov"])
                .arg(file)
                .arg("--out")
                .arg(o("p.toml"))
                .arg("--json");
        }
        Format::Events => {
            c.arg("restore")
                .arg("--db")
                .arg(format!("sqlite:{}", o("r.sqlite").display()))
                .arg(file)
                .arg("--json");
        }
        Format::Rlf => unreachable!(),
    }
    c
}

/// Runs one mutant in a child with the wall and memory limits.
fn run_child(mut c: Command, dir: &Path, wall: Duration) -> (Outcome, String) {
    let err_path = dir.join("stderr");
    let err_file = std::fs::File::create(&err_path).unwrap();
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .current_dir(dir);
    // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let cap = libc::rlimit {
                rlim_cur: MEMORY_LIMIT as libc::rlim_t,
                rlim_max: MEMORY_LIMIT as libc::rlim_t,
            };
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &cap) != 0
                || libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > wall {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let outcome = match status {
        None => Outcome::Timeout,
        Some(s) => match (s.code(), s.signal()) {
            (Some(0), _) => Outcome::Ok,
            (Some(101), _) => Outcome::Panic,
            (Some(_), _) if stderr.contains("panicked at") => Outcome::Panic,
            (Some(1 | 2), _) if !stderr.trim().is_empty() => Outcome::Clean,
            (Some(c), _) => Outcome::Other(c),
            (None, sig) => Outcome::Signal(sig.unwrap_or(0)),
        },
    };
    (outcome, stderr)
}

/// `n` mutants of each format, `jobs` at a time; failing mutants are kept in
/// `keep` for reproduction.
fn fuzz(
    formats: &[Format],
    n: usize,
    jobs: usize,
    bin: &Path,
    base: u64,
    keep: &Path,
) -> Vec<(Format, Tally)> {
    let Some(shared) = shared() else {
        return vec![];
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    for &format in formats {
        let seeds = seeds(format, &shared, &rct_bin());
        let tally = Mutex::new(Tally::default());
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..jobs.max(1) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let mut r = Rng::new(mutant_seed(base, format, i));
                    let seed = &seeds[r.below(seeds.len())];
                    let m = mutate(format, seed, &mut r);
                    let dir = tmp.path().join(format!("{}-{i}", format.name()));
                    std::fs::create_dir_all(&dir).unwrap();
                    let file = dir.join(format!("m.{}", format.ext()));
                    std::fs::write(&file, &m).unwrap();
                    let (outcome, stderr) =
                        run_child(command(format, bin, &file, &dir, i), &dir, WALL_LIMIT);
                    let _ = std::fs::remove_dir_all(&dir);
                    let mut t = tally.lock().unwrap();
                    t.mutants += 1;
                    match outcome {
                        Outcome::Ok => t.ok += 1,
                        Outcome::Clean => t.clean += 1,
                        Outcome::Panic => t.panic += 1,
                        Outcome::Signal(_) => t.signal += 1,
                        Outcome::Timeout => t.timeout += 1,
                        Outcome::Other(_) => t.other += 1,
                    }
                    if std::env::var_os("RCT_FUZZ_KEEP_ALL").is_some() {
                        std::fs::create_dir_all(keep).unwrap();
                        let name = format!("all-{}-{i}.{}", format.name(), format.ext());
                        std::fs::write(keep.join(name), &m).unwrap();
                    }
                    if !matches!(outcome, Outcome::Ok | Outcome::Clean) {
                        std::fs::create_dir_all(keep).unwrap();
                        let kept = keep.join(format!("{}-{i}.{}", format.name(), format.ext()));
                        std::fs::write(&kept, &m).unwrap();
                        let tail: String =
                            stderr.lines().take(6).collect::<Vec<_>>().join("\n    ");
                        t.failures
                            .push(format!("{outcome:?}: {}\n    {tail}", kept.display()));
                    }
                });
            }
        });
        let mut t = tally.into_inner().unwrap();
        t.wall = started.elapsed();
        eprintln!("{}", row(format.name(), &t));
        out.push((format, t));
    }
    out
}

fn row(name: &str, t: &Tally) -> String {
    format!(
        "| {name:<13} | {:>7} | {:>6} | {:>11} | {:>5} | {:>12} | {:>7} | {:>5} | {:>8.1} |",
        t.mutants,
        t.ok,
        t.clean,
        t.panic,
        t.signal,
        t.timeout,
        t.other,
        t.wall.as_secs_f64()
    )
}

fn report(results: &[(Format, Tally)], base: u64) -> String {
    let mut s = format!(
        "seed {base:#x}, {} s wall limit, {} MiB address space\n| format        | mutants |     ok | clean error | panic | abort/signal | timeout | other |   wall s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        WALL_LIMIT.as_secs(),
        MEMORY_LIMIT >> 20
    );
    for (f, t) in results {
        s.push_str(&row(f.name(), t));
        s.push('\n');
    }
    for (f, t) in results {
        for x in &t.failures {
            s.push_str(&format!("{}: {x}\n", f.name()));
        }
    }
    s
}

fn keep_dir() -> PathBuf {
    std::env::var_os("RCT_FUZZ_KEEP").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures"),
        PathBuf::from,
    )
}

#[test]
fn the_harness_classifies_outcomes_and_caps_memory() {
    let dir = tempfile::tempdir().unwrap();
    let sh = |script: &str| {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        run_child(c, dir.path(), Duration::from_secs(1)).0
    };
    assert_eq!(sh("exit 0"), Outcome::Ok);
    assert_eq!(sh("echo 'error: bad' >&2; exit 1"), Outcome::Clean);
    assert_eq!(sh("echo 'error: bad' >&2; exit 2"), Outcome::Clean);
    assert_eq!(sh("exit 1"), Outcome::Other(1));
    assert_eq!(sh("exit 101"), Outcome::Panic);
    assert_eq!(
        sh("echo \"thread 'main' panicked at x\" >&2; exit 1"),
        Outcome::Panic
    );
    assert_eq!(sh("kill -ABRT $$"), Outcome::Signal(libc::SIGABRT));
    assert_eq!(sh("kill -SEGV $$"), Outcome::Signal(libc::SIGSEGV));
    assert_eq!(sh("sleep 5"), Outcome::Timeout);
    // The address-space cap, as the child sees it (KiB).
    let (_, err) = {
        let mut c = Command::new("sh");
        c.args(["-c", "ulimit -v >&2; ulimit -c >&2"]);
        run_child(c, dir.path(), Duration::from_secs(5))
    };
    assert_eq!(err.split_whitespace().collect::<Vec<_>>(), ["1048576", "0"]);
}

// ----------------------------------------------- the shapes that broke `rct`

/// A FIT activity with one heart-rate record at each of `timestamps` (FIT
/// seconds since 1989-12-31), written here byte by byte.
fn fit_with_records(timestamps: &[u32]) -> Vec<u8> {
    // Definition of local message 0 = global `record` (20): timestamp (253,
    // uint32) and heart_rate (3, uint8), little endian.
    let mut data = vec![0x40, 0, 0, 20, 0, 2, 253, 4, 0x86, 3, 1, 0x02];
    for (k, t) in timestamps.iter().enumerate() {
        data.push(0x00);
        data.extend_from_slice(&t.to_le_bytes());
        data.push(120 + k as u8 % 40);
    }
    let mut b = vec![14, 0x10, 0x2d, 0x08];
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(b".FIT");
    let c = fit_crc(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b.extend_from_slice(&data);
    let c = fit_crc(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

/// Runs `rct args... FILE` on `bytes` in a capped child: (outcome, stderr).
fn rct_on(bytes: &[u8], ext: &str, args: &[&str]) -> (Outcome, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("gen.{ext}"));
    std::fs::write(&file, bytes).unwrap();
    let mut c = rct(&rct_bin());
    c.args(&args[..2]).arg(&file).args(&args[2..]);
    run_child(c, dir.path(), WALL_LIMIT)
}

#[test]
fn far_timestamps_are_clean_errors_in_the_command() {
    let hr = ["hr", "compliance", "--hrmax", "185", "--align", "auto"];
    // 1e300 ran forever; 100000000000 aborted asking for 1.6 TB.
    for (last, quoted) in [("1e300", "`1e300`"), ("100000000000", "`100000000000`")] {
        let mut csv = String::from("time,hr\n");
        for i in 0..600 {
            csv.push_str(&format!("{i},{}\n", 120 + i % 50));
        }
        csv.push_str(&format!("{last},150\n"));
        let (o, err) = rct_on(csv.as_bytes(), "csv", &hr);
        assert_eq!(o, Outcome::Clean, "{last}: {err}");
        assert!(
            err.contains("gen.csv:602: time ") && err.contains(quoted),
            "{err}"
        );
    }
    // A FIT file whose records are 3e9 s apart asked for tens of GB.
    let base = 1_000_000_000;
    let mut ts: Vec<u32> = (0..600).map(|i| base + i).collect();
    ts.push(base + 3_000_000_000);
    let (o, err) = rct_on(&fit_with_records(&ts), "fit", &hr);
    assert_eq!(o, Outcome::Clean, "{err}");
    assert!(
        err.contains("gen.fit: the record timestamps span 3000000000 s"),
        "{err}"
    );
    // The same file without the far record is read.
    ts.pop();
    let (o, err) = rct_on(&fit_with_records(&ts), "fit", &hr);
    assert_eq!(o, Outcome::Ok, "{err}");
}

#[test]
fn a_far_cell_in_a_real_xlsx_is_a_clean_error_in_the_command() {
    let Some(dir) = rct_testdata::shared_data("cpet") else {
        return;
    };
    let real = std::fs::read(dir.join("example_cosmed.xlsx")).unwrap();
    for (far, what) in [
        (
            r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
            "used range",
        ),
        (
            r#"<row r="7"><c r="A99999999999"><v>1</v></c></row>"#,
            "A99999999999",
        ),
    ] {
        let mut parts = unzip(&real).unwrap();
        let sheet = parts
            .iter_mut()
            .find(|(n, _)| n.starts_with("xl/worksheets/"))
            .unwrap();
        let xml = String::from_utf8(sheet.1.clone()).unwrap();
        sheet.1 = xml
            .replacen("</sheetData>", &format!("{far}</sheetData>"), 1)
            .into_bytes();
        let bytes = zip_parts(&parts).unwrap();
        let (o, err) = rct_on(
            &bytes,
            "xlsx",
            &["cpet", "vo2max", "--weight", "70", "--age", "40"],
        );
        assert_eq!(o, Outcome::Clean, "{err}");
        assert!(err.contains("gen.xlsx: ") && err.contains(what), "{err}");
    }
}

#[test]
fn child_processes_fixed_seed() {
    let results = fuzz(&ALL, CI_MUTANTS, 2, &rct_bin(), CI_SEED, &keep_dir());
    let text = report(&results, CI_SEED);
    println!("{text}");
    let bad: usize = results.iter().map(|(_, t)| t.bad()).sum();
    assert_eq!(bad, 0, "{text}");
}

#[test]
#[ignore = "10,000 mutants per format: run by tools/fuzz/run.sh"]
fn child_processes_full() {
    let var = |k: &str| std::env::var(k).ok();
    let n = var("RCT_FUZZ_MUTANTS").map_or(10_000, |v| v.parse().unwrap());
    let jobs = var("RCT_FUZZ_JOBS").map_or(2, |v| v.parse().unwrap());
    let base = var("RCT_FUZZ_SEED").map_or(CI_SEED, |v| v.parse().unwrap());
    let bin = var("RCT_FUZZ_BIN").map_or_else(rct_bin, PathBuf::from);
    let formats: Vec<Format> = var("RCT_FUZZ_FORMATS").map_or(ALL.to_vec(), |v| {
        v.split(',')
            .map(|f| Format::parse(f.trim()).unwrap_or_else(|| panic!("unknown format {f}")))
            .collect()
    });
    let results = fuzz(&formats, n, jobs, &bin, base, &keep_dir());
    let text = report(&results, base);
    println!("binary {}\n{text}", bin.display());
    let bad: usize = results.iter().map(|(_, t)| t.bad()).sum();
    assert_eq!(bad, 0, "{text}");
}

/// Re-run as a child by the harness for readers without a command: reads
/// the file named in `RCT_FUZZ_CHILD` ("format\npath") and exits 0 (read) or
/// 1 (clean error); a panic fails the test (exit 101).
#[test]
#[ignore = "run by the fuzz harness as a child process"]
fn child_reader() {
    let Ok(spec) = std::env::var("RCT_FUZZ_CHILD") else {
        return;
    };
    let (format, path) = spec.split_once('\n').unwrap();
    let format = Format::parse(format).unwrap();
    let bytes = std::fs::read(path).unwrap();
    match read_in_process(format, &bytes) {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1)
        }
    }
}
