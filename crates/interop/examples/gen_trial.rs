#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Writes a generated trial for the ODM benchmark: `protocol.toml` with
//! FORMS forms of ten fields spread over visits (eight forms a visit), and
//! `events.jsonl` with PARTICIPANTS participants filling every form.
//!
//! cargo run --release -p rct-interop --example gen_trial -- 1000 40 DIR

use std::fmt::Write as _;
use std::io::Write as _;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let forms: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(40);
    let dir =
        std::path::PathBuf::from(args.get(3).cloned().unwrap_or_else(|| "bench-trial".into()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut t = String::from(
        "units = [\"kg\", \"mmHg\"]\n[trial]\nid = \"bench\"\ntitle = \"Benchmark trial\"\nsponsor = \"rct\"\nphase = \"3\"\nstatus = \"recruiting\"\ntarget_enrolment = 1000\n\
         [[arms]]\nid = \"active\"\nlabel = \"Active\"\nkind = \"experimental\"\nweight = 1\n\
         [[arms]]\nid = \"placebo\"\nlabel = \"Placébo\"\nkind = \"placebo\"\nweight = 1\ncontrol = true\n\
         [masking]\nblinded = [\"participant\", \"investigator\"]\n[[roles]]\nid = \"investigator\"\n[[roles]]\nid = \"pharmacist\"\nsees_arms = true\n\
         [[sites]]\nid = \"s1\"\nname = \"Site One\"\n[[sites]]\nid = \"s2\"\nname = \"Site Deux – Zürich\"\n[randomisation]\ndesign = \"pbr:4\"\n\
         [[code_lists]]\nid = \"grade\"\nitems = [{ code = \"0\", label = \"none\" }, { code = \"1\", label = \"mild\" }, { code = \"2\", label = \"severe\" }]\n",
    );
    for f in 0..forms {
        let _ = write!(
            t,
            "[[forms]]\nid = \"f{f:02}\"\nlabel = \"Form {f}\"\nfields = [\n  {{ id = \"weight\", label = \"Weight\", type = \"number\", unit = \"kg\", hard = [30, 250], soft = [40, 150], required = true }},\n  {{ id = \"sbp\", label = \"Systolic\", type = \"integer\", unit = \"mmHg\", hard = [60, 250] }},\n  {{ id = \"dbp\", label = \"Diastolic\", type = \"integer\", unit = \"mmHg\", hard = [30, 150] }},\n  {{ id = \"grade\", label = \"Grade\", type = \"choice\", code_list = \"grade\" }},\n  {{ id = \"done\", label = \"Done\", type = \"boolean\" }},\n  {{ id = \"date\", label = \"Date\", type = \"date\" }},\n  {{ id = \"note\", label = \"Note\", type = \"text\" }},\n  {{ id = \"x1\", label = \"X1\", type = \"number\" }},\n  {{ id = \"x2\", label = \"X2\", type = \"number\" }},\n  {{ id = \"pp\", label = \"Pulse pressure\", type = \"number\", derived = \"sbp - dbp\" }},\n]\n"
        );
    }
    let visits = forms.div_ceil(8);
    for v in 0..visits {
        let list: Vec<String> = (v * 8..((v + 1) * 8).min(forms))
            .map(|f| format!("\"f{f:02}\""))
            .collect();
        let day = v as i32 * 28;
        let _ = write!(t, "[[visits]]\nid = \"v{v}\"\nlabel = \"Visit {v}\"\nday = {day}\nwindow = [{}, {}]\nforms = [{}]\n", day - 3, day + 3, list.join(", "));
    }
    std::fs::write(dir.join("protocol.toml"), &t).unwrap();
    let p = rct_core::protocol::parse(&t, "protocol.toml").unwrap_or_else(|d| panic!("{d}"));
    let events = rct_interop::synth::generate(&p, n, 42, "2025-01-06T08:00:00Z".parse().unwrap());
    let mut w = std::io::BufWriter::new(std::fs::File::create(dir.join("events.jsonl")).unwrap());
    for e in &events {
        w.write_all(e.to_json_line().as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
    }
    w.flush().unwrap();
    println!(
        "{}: {} events, {} participants x {} forms",
        dir.display(),
        events.len(),
        n,
        forms
    );
}
