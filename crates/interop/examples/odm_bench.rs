#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ODM export benchmark: generates a trial of PARTICIPANTS x FORMS (the same
//! protocol shape as `gen_trial`), then times `odm::export` alone, blinded
//! and unblinded, and writes the unblinded file to OUT. Peak memory of the
//! whole process: run it under `/usr/bin/time -v` (bench/interop/odm_export.sh).
//!
//! cargo run --release -p rct-interop --example odm_bench -- 1000 40 OUT.xml

use std::fmt::Write as _;

#[allow(clippy::disallowed_methods)]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let forms: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let out = args.get(3).cloned().unwrap_or_else(|| "/dev/null".into());
    let mut t = String::from(
        "units = [\"kg\", \"mmHg\"]\n[trial]\nid = \"bench\"\ntitle = \"Benchmark trial\"\nsponsor = \"rct\"\nphase = \"3\"\nstatus = \"recruiting\"\ntarget_enrolment = 1000\n\
         [[arms]]\nid = \"active\"\nlabel = \"Active\"\nkind = \"experimental\"\nweight = 1\n\
         [[arms]]\nid = \"placebo\"\nlabel = \"Placébo\"\nkind = \"placebo\"\nweight = 1\ncontrol = true\n\
         [masking]\nblinded = [\"participant\", \"investigator\"]\n\
         [[sites]]\nid = \"s1\"\nname = \"Site One\"\n[[sites]]\nid = \"s2\"\nname = \"Site Deux – Zürich\"\n[randomisation]\ndesign = \"pbr:4\"\n\
         [[code_lists]]\nid = \"grade\"\nitems = [{ code = \"0\", label = \"none\" }, { code = \"1\", label = \"mild\" }, { code = \"2\", label = \"severe\" }]\n",
    );
    for f in 0..forms {
        let _ = write!(
            t,
            "[[forms]]\nid = \"f{f:02}\"\nlabel = \"Form {f}\"\nfields = [\n  {{ id = \"weight\", label = \"Weight\", type = \"number\", unit = \"kg\", hard = [30, 250], soft = [40, 150], required = true }},\n  {{ id = \"sbp\", label = \"Systolic\", type = \"integer\", unit = \"mmHg\", hard = [60, 250] }},\n  {{ id = \"dbp\", label = \"Diastolic\", type = \"integer\", unit = \"mmHg\", hard = [30, 150] }},\n  {{ id = \"grade\", label = \"Grade\", type = \"choice\", code_list = \"grade\" }},\n  {{ id = \"done\", label = \"Done\", type = \"boolean\" }},\n  {{ id = \"date\", label = \"Date\", type = \"date\" }},\n  {{ id = \"note\", label = \"Note\", type = \"text\" }},\n  {{ id = \"x1\", label = \"X1\", type = \"number\" }},\n  {{ id = \"x2\", label = \"X2\", type = \"number\" }},\n  {{ id = \"pp\", label = \"Pulse pressure\", type = \"number\", derived = \"sbp - dbp\" }},\n]\n"
        );
    }
    for v in 0..forms.div_ceil(8) {
        let list: Vec<String> = (v * 8..((v + 1) * 8).min(forms))
            .map(|f| format!("\"f{f:02}\""))
            .collect();
        let day = v as i32 * 28;
        let _ = write!(t, "[[visits]]\nid = \"v{v}\"\nlabel = \"Visit {v}\"\nday = {day}\nwindow = [{}, {}]\nforms = [{}]\n", day - 3, day + 3, list.join(", "));
    }
    let p = rct_core::protocol::parse(&t, "bench.toml").unwrap_or_else(|d| panic!("{d}"));
    let t0 = std::time::Instant::now();
    let events = rct_interop::synth::generate(&p, n, 42, "2025-01-06T08:00:00Z".parse().unwrap());
    let gen = t0.elapsed();
    // Optional: the events as JSON lines and the protocol, for `rct
    // restore` and `rct export odm --db` (bench/interop/odm_export.sh).
    if let (Some(lines), Some(protocol)) = (args.get(4), args.get(5)) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(lines).unwrap());
        for e in &events {
            use std::io::Write as _;
            writeln!(f, "{}", e.to_json_line(true)).unwrap();
        }
        std::fs::write(protocol, &t).unwrap();
    }
    let mut opts = rct_interop::odm::ExportOptions {
        unblinded: false,
        source_version: "bench".into(),
    };
    let t1 = std::time::Instant::now();
    let (blind, _) = rct_interop::odm::export(&p, &events, &opts).unwrap();
    let tb = t1.elapsed();
    let blind_len = blind.len();
    drop(blind);
    opts.unblinded = true;
    let t2 = std::time::Instant::now();
    let (xml, s) = rct_interop::odm::export(&p, &events, &opts).unwrap();
    let tu = t2.elapsed();
    std::fs::write(&out, &xml).unwrap();
    println!(
        "{n} participants x {forms} forms: {} events generated and sealed in {:.2} s",
        events.len(),
        gen.as_secs_f64()
    );
    println!(
        "export blinded:   {:.3} s, {:.1} MB",
        tb.as_secs_f64(),
        blind_len as f64 / 1e6
    );
    println!(
        "export unblinded: {:.3} s, {:.1} MB, {} ItemData, {} allocations",
        tu.as_secs_f64(),
        xml.len() as f64 / 1e6,
        s.item_data,
        s.allocations
    );
}
