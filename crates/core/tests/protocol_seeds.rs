//! Every eligibility criterion in the seed documents (shared/seeds) appears,
//! verbatim, in the seed protocols, with a machine rule; and the protocols
//! carry the design facts the seeds state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_core::protocol::{parse, ArmKind, CriterionKind, OutcomeKind, Protocol};

fn load(name: &str) -> Protocol {
    let path = format!("{}/../../protocols/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    parse(&src, &path).unwrap_or_else(|e| panic!("{e}"))
}

/// (kind, population, verbatim text) of every criterion in seeds/000_* (LUPEX registry record).
const LUPEX_SEED: &[(CriterionKind, Option<&str>, &str)] = &[
    (CriterionKind::Inclusion, None, "Age ≥ 18 years by inclusion."),
    (CriterionKind::Inclusion, None, "Able to provide informed consent."),
    (CriterionKind::Inclusion, None, "Diagnosed SLE and fulfilling the classification criteria for SLE based on the American College of Rheumatology/EULAR criteria (SLICC)"),
    (CriterionKind::Exclusion, None, "Health conditions that prevent participating in the exercise intervention determined by the Research Coordinator these include but are not limited to"),
    (CriterionKind::Exclusion, None, "Major bone fracture at inclusion"),
    (CriterionKind::Exclusion, None, "Significant myalgias exacerbated by physical exercise"),
    (CriterionKind::Exclusion, None, "Active infectious disease such as Covid-19"),
    (CriterionKind::Exclusion, None, "Severe symptomatic pleuritis or pericarditis"),
    (CriterionKind::Exclusion, None, "Corticosteroid use > 10mg/day at baseline"),
    (CriterionKind::Exclusion, None, "Diagnosed with diabetes mellitus by physician"),
    (CriterionKind::Exclusion, None, "Pregnancy"),
    (CriterionKind::Exclusion, None, "SLEDAI-2k (with the SELENA modifications to Proteinuria changes so as to not exclude patients with chronic proteinuria) > 10"),
    (CriterionKind::Exclusion, Some("pet"), "Contraindications to 82Rb-PET with adenosine stress (according to local guidelines at the Dept. of Clinical Physiology, Nuclear Medicine and PET, Rigshospitalet, which are in accordance with the recommendations of the European Association of Nuclear Medicine)"),
    (CriterionKind::Exclusion, Some("pet"), "Fever, myocarditis or endocarditis"),
    (CriterionKind::Exclusion, Some("pet"), "Previous heart transplantation"),
    (CriterionKind::Exclusion, Some("pet"), "Dysregulated atrial or ventricular tachyarrhythmias"),
    (CriterionKind::Exclusion, Some("pet"), "Severe chronic obstructive pulmonary disease with a FEV1 of less than 50% of predicted"),
    (CriterionKind::Exclusion, Some("pet"), "Second or third degree sinoatrial or atrioventricular block"),
    (CriterionKind::Exclusion, Some("pet"), "Active bronchospasm at the time of the scan"),
    (CriterionKind::Exclusion, Some("pet"), "Systolic blood pressure <90 or >200 mmHg at the time of the scan"),
    (CriterionKind::Exclusion, Some("pet"), "Treatment with theophyllin within 7 days of the scan"),
];

/// Every criterion in seeds/001_* (low-dose IL-2 record).
const IL2_SEED: &[(CriterionKind, &str)] = &[
    (CriterionKind::Inclusion, "Meet the 1997 revised classification criteria of the American College of Rheumatology"),
    (CriterionKind::Inclusion, "SLE disease activity index(SLEDAI) ≥ 8"),
    (CriterionKind::Inclusion, "age:18 to 75 years, weight 45-80Kg"),
    (CriterionKind::Inclusion, "Patients had an inadequate response to standard treatment for ≥ 3 months."),
    (CriterionKind::Inclusion, "Negative urine pregnancy test"),
    (CriterionKind::Inclusion, "Written informed consent form"),
    (CriterionKind::Exclusion, "allergic to IL-2, corticosteroids, hydroxychloroquine, cyclophosphamide or mycophenolate mofetil"),
    (CriterionKind::Exclusion, "active severe neuropsychiatric manifestations of SLE"),
    (CriterionKind::Exclusion, "hepatic insufficiency (alanine aminotransferase or aspartate aminotransferase ≥ 2 times of the upper limit of the normal range)"),
    (CriterionKind::Exclusion, "pregnancy or lactation in females."),
    (CriterionKind::Exclusion, "Cancer or history of cancer cured for less than five years (except in situ carcinoma of the cervix or Basocellular carcinoma)"),
    (CriterionKind::Exclusion, "Serious infection such as bacteremia, sepsis;history of chronic infection"),
    (CriterionKind::Exclusion, "active infection (hepatitis B or C virus, Epstein-Barr virus, human immunodeficiency virus or Mycobacterium tuberculosis)"),
    (CriterionKind::Exclusion, "history vision and visual field disorders, cataract"),
    (CriterionKind::Exclusion, "severe comorbidities including heart failure (≥ grade III NYHA)"),
    (CriterionKind::Exclusion, "active peptic ulcers"),
    (CriterionKind::Exclusion, "complicated with other autoimmune diseases"),
    (CriterionKind::Exclusion, "History of administration of rituximab or other biologics within 6 months"),
    (CriterionKind::Exclusion, "therapy with other immunosuppressors"),
    (CriterionKind::Exclusion, "participate in other clinical trial within 4 weeks"),
];

#[test]
fn every_lupex_seed_criterion_is_encoded_verbatim_with_a_rule() {
    let p = load("lupex.toml");
    for (kind, population, text) in LUPEX_SEED {
        let c = p
            .criteria
            .iter()
            .find(|c| c.text == *text)
            .unwrap_or_else(|| panic!("LUPEX seed criterion missing: {text}"));
        assert_eq!(c.kind, *kind, "{text}");
        assert_eq!(
            c.population.as_ref().map(|x| x.get_ref().as_str()),
            *population,
            "{text}"
        );
        assert!(!c.rule.get_ref().trim().is_empty(), "{text}");
    }
    assert_eq!(
        p.criteria.len(),
        LUPEX_SEED.len(),
        "no criterion beyond the seeds"
    );
}

#[test]
fn every_il2_seed_criterion_is_encoded_verbatim_with_a_rule() {
    let p = load("il2-sle.toml");
    for (kind, text) in IL2_SEED {
        let c = p
            .criteria
            .iter()
            .find(|c| c.text.starts_with(text))
            .unwrap_or_else(|| panic!("IL-2 seed criterion missing: {text}"));
        assert_eq!(c.kind, *kind, "{text}");
        assert!(c.population.is_none());
    }
    assert_eq!(p.criteria.len(), IL2_SEED.len());
    // Six inclusion and fourteen exclusion criteria, as the record numbers them.
    let exclusions = p
        .criteria
        .iter()
        .filter(|c| c.kind == CriterionKind::Exclusion)
        .count();
    assert_eq!(exclusions, 14);
}

#[test]
fn the_seed_protocols_carry_the_designs_the_seeds_state() {
    let lupex = load("lupex.toml");
    assert_eq!(lupex.trial.registry_ids, vec!["NCT05478018".to_string()]);
    assert_eq!(lupex.trial.ethics.as_deref(), Some("H-21039032"));
    assert_eq!(lupex.ratio(), vec![1, 1]);
    assert_eq!(lupex.arms[1].kind, ArmKind::NoIntervention);
    let strat: Vec<&str> = lupex
        .randomisation
        .stratify_by
        .iter()
        .map(|s| s.get_ref().as_str())
        .collect();
    assert_eq!(strat, vec!["sex"]);
    assert!(!lupex.masking.kit_codes);
    let hiit = &lupex.sessions[0];
    assert_eq!((*hiit.per_week.get_ref(), *hiit.weeks.get_ref()), (3, 12));
    let bout = hiit.phases.iter().find(|p| p.bout).unwrap();
    assert_eq!((*bout.minutes.get_ref(), bout.repeat), (4.0, 4));
    assert_eq!(bout.zone.get_ref()[0], 0.85);
    let k = hiit.compliance.as_ref().unwrap();
    assert_eq!(
        (*k.threshold.get_ref(), *k.min_fraction.get_ref()),
        (0.85, 0.5)
    );
    assert_eq!(lupex.outcomes[0].kind, OutcomeKind::Primary);
    assert_eq!(lupex.outcomes[0].measure.get_ref(), "cpet.vo2max_rel");
    assert_eq!(lupex.outcomes[1].kind, OutcomeKind::CoPrimary);
    assert!(lupex
        .analysis
        .models
        .iter()
        .any(|m| m.formula.get_ref().contains("arm * ifn_score")));
    let pops: Vec<&str> = lupex
        .analysis
        .populations
        .iter()
        .map(|p| p.id.get_ref().as_str())
        .collect();
    assert_eq!(pops, vec!["itt", "pp"]);
    assert!(!lupex.assumptions.is_empty());

    let il2 = load("il2-sle.toml");
    assert_eq!(il2.ratio(), vec![1, 1, 1, 1]);
    assert_eq!(il2.control_arm().unwrap().kind, ArmKind::Placebo);
    assert!(il2.masking.kit_codes);
    let kit_roles: Vec<&str> = il2
        .roles
        .iter()
        .filter(|r| r.sees_kits)
        .map(|r| r.id.get_ref().as_str())
        .collect();
    assert_eq!(kit_roles, vec!["pharmacist"]);

    let third = load("example-3arm.toml");
    assert_eq!(third.ratio(), vec![2, 1, 1]);
    assert_eq!(third.randomisation.stratify_by.len(), 2);
}
