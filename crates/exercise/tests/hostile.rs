//! Hostile shapes that once hung or aborted the readers, generated here, and
//! the readers' limits: each must be a clear error (or a quick answer), never
//! a panic, an abort or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timing a test is the point here: a hang is the bug.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use rct_exercise::{
    compliance, read_csv, read_fit, Alignment, ExerciseError, Recording, Sample, SessionTemplate,
    MAX_CSV_BYTES, MAX_FIT_BYTES, MAX_SPAN_SECONDS,
};

/// A 1 Hz heart-rate CSV of `n` rows, then one row at `last` seconds.
fn csv_with_last_time(n: usize, last: &str) -> String {
    let mut s = String::from("time,hr\n");
    for i in 0..n {
        s.push_str(&format!("{i},{}\n", 100 + i % 80));
    }
    s.push_str(&format!("{last},150\n"));
    s
}

#[test]
fn far_timestamps_in_a_csv_are_refused_with_the_line() {
    // 1e300 made `hr compliance --align auto` run forever; 1e11 asked for
    // 1.6 TB (the per-second grid of the alignment search).
    for last in [
        "1e300",
        "100000000000",
        "-1e300",
        "1e10",
        "604801",
        "00:00:1e300",
    ] {
        let text = csv_with_last_time(100, last);
        let started = Instant::now();
        let e = read_csv(&text, "h.csv", None, None).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        let msg = e.to_string();
        assert!(msg.starts_with("h.csv:102:"), "{last}: {msg}");
        assert!(
            msg.contains("out of range") || msg.contains("7 days") || msg.contains("seconds"),
            "{last}: {msg}"
        );
    }
    // A week is still read.
    let rec = read_csv(&csv_with_last_time(10, "604800"), "h.csv", None, None).unwrap();
    assert_eq!(rec.samples.last().unwrap().t, MAX_SPAN_SECONDS);
}

#[test]
fn a_csv_spanning_more_than_a_week_either_side_of_its_first_row_is_refused() {
    // Each row is within 7 days of the first, but the sorted span is 8 days.
    let text = "time,hr\n0,100\n-345600,100\n345600,100\n";
    let e = read_csv(text, "s.csv", None, None).unwrap_err().to_string();
    assert!(e.starts_with("s.csv: the times span 691200 s"), "{e}");
}

#[test]
fn auto_alignment_costs_samples_not_time_span() {
    // A recording built by hand (no reader): a week long, 2,000 samples, the
    // last one at the far end. The search must answer at once.
    let mut samples: Vec<Sample> = (0..2000)
        .map(|i| Sample {
            t: f64::from(i),
            hr: Some(175.0),
        })
        .collect();
    samples.push(Sample {
        t: MAX_SPAN_SECONDS,
        hr: Some(175.0),
    });
    let rec = Recording {
        start_unix: None,
        samples,
        laps: vec![],
        notes: vec![],
    };
    let started = Instant::now();
    let r = compliance(&rec, &SessionTemplate::lupex(), 200.0, Alignment::Auto, 5.0).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.bouts, 4);
    // A hand-built recording beyond the limits is an error, not a hang.
    let mut far = rec.clone();
    far.samples.last_mut().unwrap().t = 1e300;
    let e = compliance(&far, &SessionTemplate::lupex(), 200.0, Alignment::Auto, 5.0);
    assert!(matches!(e, Err(ExerciseError::Invalid(_))), "{e:?}");
    let mut unsorted = rec;
    unsorted.samples.swap(0, 5);
    let e = compliance(
        &unsorted,
        &SessionTemplate::lupex(),
        200.0,
        Alignment::Auto,
        5.0,
    );
    assert!(matches!(e, Err(ExerciseError::Invalid(_))), "{e:?}");
}

#[test]
fn oversized_inputs_are_refused_before_decoding() {
    let big = vec![b'0'; MAX_FIT_BYTES + 1];
    let e = read_fit(&big, "big.fit").unwrap_err().to_string();
    assert!(
        e.starts_with("big.fit: the file is 16777217 bytes, over the 16777216-byte limit"),
        "{e}"
    );
    let text = "time,hr\n".to_string() + &"1,100\n".repeat(MAX_CSV_BYTES / 6 + 1);
    let e = read_csv(&text, "big.csv", None, None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("big.csv: the file is"), "{e}");
}

/// A minimal xlsx workbook whose first sheet's XML is `sheet`, plus `extra`
/// parts (name, bytes), deflated.
fn xlsx(sheet: &str, extra: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let parts: [(&str, &str); 5] = [
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", sheet),
    ];
    for (name, text) in parts {
        z.start_file(name, opts).unwrap();
        z.write_all(text.as_bytes()).unwrap();
    }
    for (name, bytes) in extra {
        z.start_file(*name, opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// A sheet with a CPET header, two breaths, and `more` cells (raw XML).
fn sheet(more: &str) -> String {
    let cell = |r: &str, v: &str| format!(r#"<c r="{r}" t="inlineStr"><is><t>{v}</t></is></c>"#);
    let num = |r: &str, v: f64| format!(r#"<c r="{r}"><v>{v}</v></c>"#);
    format!(
        r#"<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">{}{}</row><row r="2">{}{}</row><row r="3">{}{}</row>{more}</sheetData></worksheet>"#,
        cell("A1", "t"),
        cell("B1", "VO2"),
        num("A2", 10.0),
        num("B2", 1500.0),
        num("A3", 40.0),
        num("B3", 1600.0),
    )
}

#[test]
fn a_generated_workbook_reads() {
    let b = rct_exercise::cpet::read_cpet(&xlsx(&sheet(""), &[]), "ok.xlsx").unwrap();
    assert_eq!(b.breaths.len(), 2);
    assert_eq!(b.breaths[1].vo2, 1600.0);
}

#[test]
fn a_huge_row_number_in_an_xlsx_is_refused_before_the_grid_is_laid_out() {
    // One far cell made the xlsx reader lay out a dense 1,048,576 x 16,384
    // grid (hundreds of GB) and abort.
    for (far, what) in [
        (
            r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#,
            "used range",
        ),
        (
            r#"<row r="1000000"><c r="C1000000"><v>1</v></c></row>"#,
            "used range",
        ),
        (
            r#"<row r="4"><c r="A99999999999"><v>1</v></c></row>"#,
            "`A99999999999`",
        ),
        (
            r#"<row r="4"><c r="ZZZZZZZZ4"><v>1</v></c></row>"#,
            "`ZZZZZZZZ4`",
        ),
        (
            r#"<row r="99999999999"><c><v>1</v></c></row>"#,
            "`99999999999`",
        ),
    ] {
        let e = rct_exercise::cpet::read_cpet(&xlsx(&sheet(far), &[]), "far.xlsx")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("far.xlsx: ") && e.contains(what),
            "{far}: {e}"
        );
    }
    let dim = sheet("").replace("<sheetData>", r#"<dimension ref="B5:A1"/><sheetData>"#);
    let e = rct_exercise::cpet::read_cpet(&xlsx(&dim, &[]), "dim.xlsx")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`B5:A1`"), "{e}");
}

#[test]
fn an_xlsx_that_unpacks_to_too_much_is_refused() {
    // 129 MiB of spaces deflate to about 130 kB.
    let spaces = vec![b' '; (rct_exercise::MAX_UNZIPPED_BYTES + (1 << 20)) as usize];
    let bytes = xlsx(&sheet(""), &[("xl/sharedStrings.xml", &spaces)]);
    assert!(bytes.len() < 1 << 20);
    let e = rct_exercise::cpet::read_cpet(&bytes, "bomb.xlsx")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bomb.xlsx: the xlsx archive unpacks to more than"),
        "{e}"
    );
}

#[test]
fn cpet_times_far_out_and_tiny_windows_end_quickly() {
    use rct_exercise::cpet::{read_cpet, vo2max, Method};
    // A breath at 1e300 s made the block method lay out 1e300 / 30 bins.
    let text = "t,VO2\n0,1000\n30,1200\n60,1300\n1e300,1400\n";
    let b = read_cpet(text.as_bytes(), "far.csv").unwrap();
    for m in [Method::Block, Method::Rolling] {
        let r = vo2max(&b, 70.0, 40.0, 30.0, m).unwrap();
        assert!(r.vo2max_ml_min >= 1000.0);
        // A window far below the clock's resolution at 1e300.
        let _ = vo2max(&b, 70.0, 40.0, 1e-300, m);
    }
}

#[test]
fn protocol_counts_do_not_size_allocations() {
    use rct_exercise::{adherence, PhaseSpec};
    // `repeat = 4294967295` laid out four billion phases.
    let spec = PhaseSpec {
        id: "bout".into(),
        label: "Bout".into(),
        minutes: 4.0,
        zone: [0.85, 1.0],
        repeat: u32::MAX,
        between: None,
        bout: true,
    };
    let e = SessionTemplate::from_specs(&[spec], 0.85, 0.5).unwrap_err();
    assert!(e.to_string().contains("more than 1000 phases"), "{e}");
    // `weeks = 4294967295` asked for a 16 GB weekly table and overflowed
    // sessions x weeks.
    let r = adherence(&[], u32::MAX, u32::MAX, 3, 0.7);
    assert_eq!(
        r.per_week.len(),
        rct_exercise::adherence::MAX_WEEKS as usize
    );
    assert_eq!(r.planned, u32::MAX);
}

/// CORTEX's Excel 2003 XML (`wild/cpet/spiro-cortex_test.xml`) cut at every
/// 97th byte and with bytes overwritten: each a result, never a panic, and
/// quick.
#[test]
fn damaged_spreadsheetml_is_an_error_never_a_panic() {
    let Some(dir) = rct_testdata::shared_data("wild/cpet") else {
        return;
    };
    let good = std::fs::read(dir.join("spiro-cortex_test.xml")).unwrap();
    let started = Instant::now();
    for cut in (0..good.len()).step_by(97) {
        let _ = rct_exercise::cpet::read_cpet(&good[..cut], "cut.xml");
    }
    for (k, at) in (0..good.len()).step_by(131).enumerate() {
        let mut bad = good.clone();
        bad[at] = [b'<', b'"', b'9', 0xff, b'>'][k % 5];
        let _ = rct_exercise::cpet::read_cpet(&bad, "bad.xml");
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
