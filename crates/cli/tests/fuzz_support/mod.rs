//! What the fuzz tests share: the formats, their seed files (the real files
//! in `$RCT_SHARED_DATA`, the repository's protocols, and files derived from
//! them here: heart-rate CSVs from FIT records, CPET CSVs from the xlsx
//! exports, events from a small trial), and a seeded mutator.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One input format and the command that reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Fit,
    HrCsv,
    CpetXlsx,
    CpetCsv,
    Rcc,
    Rlf,
    Toml,
    Odm,
    Redcap,
    Ctgov,
    Events,
}

pub const ALL: [Format; 11] = [
    Format::Fit,
    Format::HrCsv,
    Format::CpetXlsx,
    Format::CpetCsv,
    Format::Rcc,
    Format::Rlf,
    Format::Toml,
    Format::Odm,
    Format::Redcap,
    Format::Ctgov,
    Format::Events,
];

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Fit => "fit",
            Format::HrCsv => "hr-csv",
            Format::CpetXlsx => "cpet-xlsx",
            Format::CpetCsv => "cpet-csv",
            Format::Rcc => "rcc",
            Format::Rlf => "rlf",
            Format::Toml => "protocol-toml",
            Format::Odm => "odm",
            Format::Redcap => "redcap-csv",
            Format::Ctgov => "ctgov-json",
            Format::Events => "events-jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        ALL.into_iter().find(|f| f.name() == s)
    }

    /// File extension of a mutant (the readers choose by it).
    pub fn ext(self) -> &'static str {
        match self {
            Format::Fit => "fit",
            Format::HrCsv | Format::CpetCsv | Format::Redcap => "csv",
            Format::CpetXlsx => "xlsx",
            Format::Rcc => "RCC",
            Format::Rlf => "rlf",
            Format::Toml => "toml",
            Format::Odm => "xml",
            Format::Ctgov => "json",
            Format::Events => "jsonl",
        }
    }

    fn binary(self) -> bool {
        matches!(self, Format::Fit | Format::CpetXlsx)
    }
}

/// SplitMix64: a small, fixed, portable stream for reproducible mutants.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The seed of mutant `i` of `format` under the run's base seed.
pub fn mutant_seed(base: u64, format: Format, i: usize) -> u64 {
    let mut r = Rng::new(base ^ (format as u64).wrapping_mul(0x1000_0000_01b3) ^ (i as u64) << 20);
    r.next()
}

/// Numbers and references that once broke readers, spliced over numbers.
const TOKENS: [&str; 18] = [
    "1e300",
    "-1e300",
    "100000000000",
    "-1",
    "0",
    "-0",
    "NaN",
    "inf",
    "4294967295",
    "18446744073709551615",
    "99999999999999999999",
    "1e-300",
    "1048577",
    "XFD1048576",
    "A99999999999",
    "65535",
    "2147483648",
    "9999999",
];
const BYTES: [u8; 8] = [0, 0xff, 0x7f, 0x80, b'\n', b',', b'"', b'<'];
const WORDS: [u32; 6] = [0, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 0xffff, 1];

/// One random edit of `b`: bit flip, byte set, insertion, deletion, chunk
/// duplication, a number replaced by a token, or (binary) a 16/32-bit word.
fn edit(b: &mut Vec<u8>, r: &mut Rng, binary: bool) {
    let len = b.len();
    let pos = r.below(len + 1);
    match r.below(if binary { 8 } else { 7 }) {
        0 if len > 0 => b[pos.min(len - 1)] ^= 1 << r.below(8),
        1 if len > 0 => b[pos.min(len - 1)] = BYTES[r.below(BYTES.len())],
        2 => {
            let n = 1 + r.below(8);
            let ins: Vec<u8> = (0..n).map(|_| r.next() as u8).collect();
            b.splice(pos..pos, ins);
        }
        3 if len > 0 => {
            let n = 1 + r.below(64.min(len));
            let from = r.below(len - n + 1);
            b.drain(from..from + n);
        }
        4 if len > 0 => {
            let n = 1 + r.below(256.min(len));
            let from = r.below(len - n + 1);
            let chunk = b[from..from + n].to_vec();
            b.splice(pos..pos, chunk);
        }
        5 => {
            // The number at or after `pos` (or an insertion when none).
            let tok = TOKENS[r.below(TOKENS.len())].as_bytes().to_vec();
            match (pos..len).find(|&k| b[k].is_ascii_digit()) {
                Some(start) => {
                    let end = (start..len)
                        .find(|&k| !(b[k].is_ascii_digit() || b[k] == b'.'))
                        .unwrap_or(len);
                    b.splice(start..end, tok);
                }
                None => {
                    b.splice(pos..pos, tok);
                }
            }
        }
        6 if len > 0 => {
            // A whole line (or 40 bytes) repeated.
            let start = b[..pos.min(len)]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |k| k + 1);
            let end = (start..len).find(|&k| b[k] == b'\n').map_or(len, |k| k + 1);
            let line = b[start..end.min(start + 4096)].to_vec();
            let times = 1 + r.below(3);
            for _ in 0..times {
                b.splice(end..end, line.clone());
            }
        }
        7 if len >= 4 => {
            let w = WORDS[r.below(WORDS.len())].to_le_bytes();
            let at = pos.min(len - 4);
            let n = if r.below(2) == 0 { 2 } else { 4 };
            b[at..at + n].copy_from_slice(&w[..n]);
        }
        _ => b.push(r.next() as u8),
    }
}

/// A mutant of `seed`: one to four edits; for xlsx, half of them edit the
/// unpacked parts (mostly the sheet) and pack them again.
pub fn mutate(format: Format, seed: &[u8], r: &mut Rng) -> Vec<u8> {
    if format == Format::CpetXlsx && r.below(2) == 0 {
        if let Some(m) = mutate_xlsx_part(seed, r) {
            return m;
        }
    }
    let mut b = seed.to_vec();
    for _ in 0..1 + r.below(4) {
        edit(&mut b, r, format.binary());
    }
    // Most FIT mutants would stop at the file's CRC; half get their sizes
    // and CRCs made right again, so the decoder and the commands behind it
    // see the damage.
    if format == Format::Fit && r.below(2) == 0 {
        fit_fix(&mut b);
    }
    b
}

const FIT_CRC: [u16; 16] = [
    0x0000, 0xCC01, 0xD801, 0x1400, 0xF001, 0x3C00, 0x2800, 0xE401, 0xA001, 0x6C00, 0x7800, 0xB401,
    0x5000, 0x9C01, 0x8801, 0x4400,
];

/// The FIT CRC-16 of `bytes` (FIT SDK, `FitCRC_Get16`).
pub fn fit_crc(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |mut crc, &b| {
        for nibble in [b & 0xF, b >> 4] {
            let t = FIT_CRC[usize::from(crc & 0xF)];
            crc = ((crc >> 4) & 0x0FFF) ^ t ^ FIT_CRC[usize::from(nibble)];
        }
        crc
    })
}

/// Sets a single-file FIT's data size to what follows the header, and its
/// header and file CRCs to match.
fn fit_fix(b: &mut [u8]) {
    let hs = usize::from(*b.first().unwrap_or(&0));
    if !(12..=14).contains(&hs) || b.len() < hs + 2 {
        return;
    }
    let data = (b.len() - hs - 2) as u32;
    b[4..8].copy_from_slice(&data.to_le_bytes());
    if hs == 14 {
        let c = fit_crc(&b[..12]);
        b[12..14].copy_from_slice(&c.to_le_bytes());
    }
    let end = b.len() - 2;
    let c = fit_crc(&b[..end]);
    b[end..].copy_from_slice(&c.to_le_bytes());
}

/// The parts of a zip archive (xlsx), in order.
pub fn unzip(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut parts = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).ok()?;
        let mut b = Vec::new();
        f.read_to_end(&mut b).ok()?;
        parts.push((f.name().to_string(), b));
    }
    Some(parts)
}

/// Parts packed into a zip archive, deflated.
pub fn zip_parts(parts: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        w.start_file(name.as_str(), opts).ok()?;
        w.write_all(bytes).ok()?;
    }
    Some(w.finish().ok()?.into_inner())
}

fn mutate_xlsx_part(seed: &[u8], r: &mut Rng) -> Option<Vec<u8>> {
    let mut parts = unzip(seed)?;
    let sheets: Vec<usize> = (0..parts.len())
        .filter(|&i| parts[i].0.starts_with("xl/worksheets/"))
        .collect();
    let target = if !sheets.is_empty() && r.below(10) < 7 {
        sheets[r.below(sheets.len())]
    } else {
        r.below(parts.len())
    };
    for _ in 0..1 + r.below(4) {
        edit(&mut parts[target].1, r, false);
    }
    zip_parts(&parts)
}

fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files(&p, exts));
        } else if p
            .extension()
            .is_some_and(|x| exts.iter().any(|e| x.eq_ignore_ascii_case(e)))
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn read_all(paths: &[PathBuf]) -> Vec<Vec<u8>> {
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A heart-rate CSV (seconds, bpm) of a real FIT recording.
fn hr_csv_of(fit: &[u8]) -> Option<Vec<u8>> {
    let rec = rct_exercise::read_fit(fit, "seed.fit").ok()?;
    let mut s = String::from("time,heart_rate\n");
    for x in &rec.samples {
        let hr = x.hr.map_or(String::new(), |h| format!("{h}"));
        s.push_str(&format!("{},{hr}\n", x.t));
    }
    Some(s.into_bytes())
}

/// The real records CSV with its date column cut to the clock time.
fn hr_csv_of_records(text: &str) -> Vec<u8> {
    let mut s = String::from("time,heart_rate\n");
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if let (Some(date), Some(hr)) = (cols.first(), cols.get(1)) {
            let clock = date.split_whitespace().nth(3).unwrap_or("");
            s.push_str(&format!("{clock},{hr}\n"));
        }
    }
    s.into_bytes()
}

/// The breaths of a real xlsx export as a CORTEX-style (semicolons, comma
/// decimals, clock times, L/min) or COSMED-style (commas, seconds) CSV.
fn cpet_csvs_of(xlsx: &[u8]) -> Vec<Vec<u8>> {
    let Ok(b) = rct_exercise::cpet::read_cpet(xlsx, "seed.xlsx") else {
        return vec![];
    };
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let mut cortex = String::from("t;V'O2 (STPD);V'CO2;R;HF\nhh:mm:ss.z;l/min;l/min;;1/min\n");
    let mut cosmed = String::from("t,VO2,VCO2,R,HR,Load1\ns,ml/min,ml/min,---,bpm,Watt\n");
    for x in &b.breaths {
        let t = x.t.max(0.0);
        let clock = format!(
            "{:02}:{:02}:{:04.1}",
            (t / 3600.0) as u64,
            ((t % 3600.0) / 60.0) as u64,
            t % 60.0
        );
        let comma = |s: String| s.replace('.', ",");
        cortex.push_str(&format!(
            "{};{};{};{};{}\n",
            comma(clock),
            comma(format!("{}", x.vo2 / 1000.0)),
            comma(opt(x.vco2.map(|v| v / 1000.0))),
            comma(opt(x.rer)),
            opt(x.hr)
        ));
        cosmed.push_str(&format!(
            "{},{},{},{},{},{}\n",
            x.t,
            x.vo2,
            opt(x.vco2),
            opt(x.rer),
            opt(x.hr),
            opt(x.work)
        ));
    }
    vec![cortex.into_bytes(), cosmed.into_bytes()]
}

/// `rct` with the environment cleared of trial defaults.
pub fn rct(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    for v in [
        "RCT_DB",
        "RCT_TRIAL",
        "RCT_USER",
        "RCT_ROLE",
        "RCT_TOKEN_FILE",
    ] {
        c.env_remove(v);
    }
    c.env("RUST_BACKTRACE", "0");
    c
}

/// [`run_ok`] with `input` on standard input.
fn run_ok_with_stdin(mut c: Command, input: &str) -> Vec<u8> {
    use std::io::Write;
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("{c:?}: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn run_ok(mut c: Command) -> Vec<u8> {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Events as `rct export events` writes them, of a small LUPEX trial (two
/// participants randomised), and of two real ODM files imported (their
/// registration events).
fn events_seeds(bin: &Path, shared: &Path) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("seed.sqlite").display().to_string();
    let protocol = repo("protocols/lupex.toml").display().to_string();
    // Each user acts logged in (`rct login`), with a token file of their own;
    // `create` and `grant` read the new account's password from stdin.
    let token = |user: &str| dir.path().join(format!("{user}.token"));
    let password = |user: &str| format!("{user}-fuzz-password\n");
    let command = |user: &str| {
        let mut c = rct(bin);
        c.env("RCT_DB", &db).env("RCT_TOKEN_FILE", token(user));
        c
    };
    let trial = |user: &str, role: &str, args: &[&str]| {
        let mut c = command(user);
        c.env("RCT_USER", user)
            .env("RCT_ROLE", role)
            .arg("trial")
            .args(args);
        run_ok(c);
    };
    let login = |user: &str| {
        let mut c = command(user);
        c.args(["login", "--user", user, "--password-stdin"]);
        run_ok_with_stdin(c, &password(user));
    };
    let mut c = command("ada");
    c.env("RCT_USER", "ada").env("RCT_ROLE", "admin").args([
        "trial",
        "create",
        "--protocol",
        &protocol,
        "--seed",
        "7",
        "--password-stdin",
    ]);
    run_ok_with_stdin(c, &password("ada"));
    login("ada");
    let mut c = command("ada");
    c.env("RCT_USER", "ada").env("RCT_ROLE", "admin").args([
        "trial",
        "grant",
        "--to",
        "nina",
        "--as",
        "research_nurse",
        "--sites",
        "all",
        "--password-stdin",
    ]);
    run_ok_with_stdin(c, &password("nina"));
    login("nina");
    for (i, sex) in [(0, "female"), (1, "male")] {
        let id = format!("P{i:02}");
        let facts = dir.path().join(format!("p{i}.json"));
        let json = format!(
            r#"{{"id": "{id}", "screening_date": "2025-03-01", "facts": {{"birth_date": "1985-06-15", "sex": "{sex}", "able_to_consent": true, "sle_diagnosed": true, "eular_acr_2019_classified": true, "exercise_contraindicated": false, "major_bone_fracture": false, "exercise_exacerbated_myalgia": false, "active_infection": false, "severe_pleuritis_pericarditis": false, "prednisolone_dose": 5, "diabetes_diagnosed": false, "sledai_2k_selena": 4, "pet_substudy": false, "pregnant": false}}}}"#
        );
        std::fs::write(&facts, json).unwrap_or_else(|e| panic!("{e}"));
        let f = facts.display().to_string();
        trial(
            "nina",
            "research_nurse",
            &[
                "screen",
                "--participant",
                &id,
                "--site",
                "rh",
                "--facts",
                &f,
            ],
        );
        trial("nina", "research_nurse", &["consent", "--participant", &id]);
        trial(
            "nina",
            "research_nurse",
            &[
                "randomise",
                "--participant",
                &id,
                "--strata",
                &format!("sex={sex}"),
            ],
        );
    }
    let mut c = rct(bin);
    c.args(["export", "events", "--db", &db]);
    let mut out = vec![run_ok(c)];
    for name in [
        "redcapr-simple-project.xml",
        "redcapr-checkboxes-1-project.xml",
    ] {
        let events = dir.path().join(format!("{name}.jsonl"));
        let mut c = rct(bin);
        c.args(["import", "odm"])
            .arg(shared.join("wild/odm").join(name))
            .arg("--events-out")
            .arg(&events)
            .arg("--protocol-out")
            .arg(dir.path().join("p.toml"))
            // REDCap snapshots carry no audit records: imported as a migration.
            .args([
                "--attribute-to",
                "fuzz",
                "--reason",
                "fuzz seed",
                "--allow-skips",
            ]);
        run_ok(c);
        out.push(std::fs::read(&events).unwrap_or_else(|e| panic!("{e}")));
    }
    out
}

/// The seed files of `format`, from `shared` (the shared data folder); `bin`
/// is the `rct` binary that builds the events seeds.
pub fn seeds(format: Format, shared: &Path, bin: &Path) -> Vec<Vec<u8>> {
    let fits = || {
        let mut v = files(&shared.join("fit"), &["fit"]);
        v.extend(files(&shared.join("wild/fit"), &["fit"]));
        read_all(&v)
    };
    let xlsx = || {
        let mut v = files(&shared.join("cpet"), &["xlsx"]);
        v.extend(files(&shared.join("wild/cpet"), &["xlsx"]));
        read_all(&v)
    };
    let seeds = match format {
        Format::Fit => fits(),
        Format::HrCsv => {
            let mut v: Vec<Vec<u8>> = fits().iter().filter_map(|f| hr_csv_of(f)).collect();
            let records = shared.join("fit/garmin-fenix-5-run-records.csv");
            let text = std::fs::read_to_string(&records)
                .unwrap_or_else(|e| panic!("{}: {e}", records.display()));
            v.push(hr_csv_of_records(&text));
            v
        }
        Format::CpetXlsx => xlsx(),
        Format::CpetCsv => {
            let mut v: Vec<Vec<u8>> = xlsx().iter().flat_map(|x| cpet_csvs_of(x)).collect();
            v.extend(read_all(&[
                shared.join("wild/cpet/spiro-vyntus_test.txt"),
                shared.join("wild/cpet/spiro-zan_ramp"),
            ]));
            v
        }
        Format::Rcc => {
            let mut v = files(&shared.join("nanostring"), &["rcc"]);
            v.extend(files(&shared.join("wild/nanostring"), &["rcc"]));
            read_all(&v)
        }
        Format::Rlf => {
            let mut v = files(&shared.join("nanostring"), &["rlf"]);
            v.extend(files(&shared.join("wild/nanostring"), &["rlf"]));
            read_all(&v)
        }
        Format::Toml => read_all(&files(&repo("protocols"), &["toml"])),
        Format::Odm => read_all(&files(&shared.join("wild/odm"), &["xml"])),
        Format::Redcap => {
            let mut v = files(&shared.join("wild/redcap"), &["csv"]);
            v.push(repo("crates/interop/tests/fixtures/redcap_all_types.csv"));
            read_all(&v)
        }
        Format::Ctgov => {
            let mut v = files(&shared.join("wild/ctgov"), &["json"]);
            v.push(repo("crates/interop/tests/fixtures/ctgov_lupex_v2.json"));
            read_all(&v)
        }
        Format::Events => events_seeds(bin, shared),
    };
    assert!(!seeds.is_empty(), "no seed files for {}", format.name());
    seeds
}

#[test]
fn fit_fix_keeps_a_real_file_readable() {
    // The CRC and size fix-up leaves an unmutated file byte for byte as it was.
    let Some(dir) = rct_testdata::shared_data("fit") else {
        return;
    };
    let real = std::fs::read(dir.join("garmin-fenix-5-run.fit")).unwrap_or_else(|e| panic!("{e}"));
    let mut fixed = real.clone();
    fit_fix(&mut fixed);
    assert_eq!(fixed, real);
}
