//! The BILAG-2004 items, by domain, as printed on the BILAG-2004 index form
//! (revision 1 Sep 2009; Isenberg et al., Rheumatology 2005;44:902, revised
//! by Yee et al.). Items 1-77 are recorded on the activity scale
//! ND/0/1/2/3/4; the renal and haematological items are mostly laboratory
//! values and yes/no findings.

use serde::Serialize;

/// The nine organ domains, in the order of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    Constitutional,
    Mucocutaneous,
    Neuropsychiatric,
    Musculoskeletal,
    Cardiorespiratory,
    Gastrointestinal,
    Ophthalmic,
    Renal,
    Haematological,
}

impl Domain {
    pub const ALL: [Domain; 9] = [
        Domain::Constitutional,
        Domain::Mucocutaneous,
        Domain::Neuropsychiatric,
        Domain::Musculoskeletal,
        Domain::Cardiorespiratory,
        Domain::Gastrointestinal,
        Domain::Ophthalmic,
        Domain::Renal,
        Domain::Haematological,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Constitutional => "constitutional",
            Domain::Mucocutaneous => "mucocutaneous",
            Domain::Neuropsychiatric => "neuropsychiatric",
            Domain::Musculoskeletal => "musculoskeletal",
            Domain::Cardiorespiratory => "cardiorespiratory",
            Domain::Gastrointestinal => "gastrointestinal",
            Domain::Ophthalmic => "ophthalmic",
            Domain::Renal => "renal",
            Domain::Haematological => "haematological",
        }
    }

    /// The domain's items, in form order.
    pub fn items(self) -> &'static [ItemDef] {
        ITEMS
            .iter()
            .position(|(d, _)| *d == self)
            .map_or(&[], |i| ITEMS[i].1)
    }

    /// Whether every item of the domain is on the ND/0-4 activity scale
    /// (all but renal and haematological).
    pub fn activity_scale_only(self) -> bool {
        self.items().iter().all(|i| i.kind == ItemKind::Activity)
    }
}

/// How an item is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// `"ND"` (not done), 0 not present, 1 improving, 2 same, 3 worse, 4 new.
    Activity,
    /// `true`/`false` (the form's Y/N).
    YesNo,
    /// A measured value `>= 0` in the unit given.
    Value {
        unit: &'static str,
        max: Option<u32>,
    },
}

/// One item of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemDef {
    pub name: &'static str,
    pub kind: ItemKind,
}

const fn a(name: &'static str) -> ItemDef {
    ItemDef {
        name,
        kind: ItemKind::Activity,
    }
}

const fn yn(name: &'static str) -> ItemDef {
    ItemDef {
        name,
        kind: ItemKind::YesNo,
    }
}

const fn v(name: &'static str, unit: &'static str) -> ItemDef {
    ItemDef {
        name,
        kind: ItemKind::Value { unit, max: None },
    }
}

const CONSTITUTIONAL: &[ItemDef] = &[
    a("pyrexia"),
    a("weight_loss"),
    a("lymphadenopathy_splenomegaly"),
    a("anorexia"),
];

const MUCOCUTANEOUS: &[ItemDef] = &[
    a("skin_eruption_severe"),
    a("skin_eruption_mild"),
    a("angio_oedema_severe"),
    a("angio_oedema_mild"),
    a("mucosal_ulceration_severe"),
    a("mucosal_ulceration_mild"),
    a("panniculitis_bullous_lupus_severe"),
    a("panniculitis_bullous_lupus_mild"),
    a("major_cutaneous_vasculitis_thrombosis"),
    a("digital_infarcts_nodular_vasculitis"),
    a("alopecia_severe"),
    a("alopecia_mild"),
    a("periungual_erythema_chilblains"),
    a("splinter_haemorrhages"),
];

const NEUROPSYCHIATRIC: &[ItemDef] = &[
    a("aseptic_meningitis"),
    a("cerebral_vasculitis"),
    a("demyelinating_syndrome"),
    a("myelopathy"),
    a("acute_confusional_state"),
    a("psychosis"),
    a("acute_inflammatory_demyelinating_polyradiculoneuropathy"),
    a("mononeuropathy"),
    a("cranial_neuropathy"),
    a("plexopathy"),
    a("polyneuropathy"),
    a("seizure_disorder"),
    a("status_epilepticus"),
    a("cerebrovascular_disease"),
    a("cognitive_dysfunction"),
    a("movement_disorder"),
    a("autonomic_disorder"),
    a("cerebellar_ataxia"),
    a("lupus_headache"),
    a("headache_from_ic_hypertension"),
];

const MUSCULOSKELETAL: &[ItemDef] = &[
    a("myositis_severe"),
    a("myositis_mild"),
    a("arthritis_severe"),
    a("arthritis_moderate_tendonitis_tenosynovitis"),
    a("arthritis_mild_arthralgia_myalgia"),
];

const CARDIORESPIRATORY: &[ItemDef] = &[
    a("myocarditis_mild"),
    a("myocarditis_endocarditis_cardiac_failure"),
    a("arrhythmia"),
    a("new_valvular_dysfunction"),
    a("pleurisy_pericarditis"),
    a("cardiac_tamponade"),
    a("pleural_effusion_with_dyspnoea"),
    a("pulmonary_haemorrhage_vasculitis"),
    a("interstitial_alveolitis_pneumonitis"),
    a("shrinking_lung_syndrome"),
    a("aortitis"),
    a("coronary_vasculitis"),
];

const GASTROINTESTINAL: &[ItemDef] = &[
    a("lupus_peritonitis"),
    a("abdominal_serositis_or_ascites"),
    a("lupus_enteritis_colitis"),
    a("malabsorption"),
    a("protein_losing_enteropathy"),
    a("intestinal_pseudo_obstruction"),
    a("lupus_hepatitis"),
    a("acute_lupus_cholecystitis"),
    a("acute_lupus_pancreatitis"),
];

const OPHTHALMIC: &[ItemDef] = &[
    a("orbital_inflammation_myositis_proptosis"),
    a("keratitis_severe"),
    a("keratitis_mild"),
    a("anterior_uveitis"),
    a("posterior_uveitis_retinal_vasculitis_severe"),
    a("posterior_uveitis_retinal_vasculitis_mild"),
    a("episcleritis"),
    a("scleritis_severe"),
    a("scleritis_mild"),
    a("retinal_choroidal_vaso_occlusive_disease"),
    a("isolated_cotton_wool_spots"),
    a("optic_neuritis"),
    a("anterior_ischaemic_optic_neuropathy"),
];

const RENAL: &[ItemDef] = &[
    v("systolic_bp", "mmHg"),
    v("diastolic_bp", "mmHg"),
    yn("accelerated_hypertension"),
    ItemDef {
        name: "urine_dipstick_protein",
        kind: ItemKind::Value {
            unit: "+ (0-3)",
            max: Some(3),
        },
    },
    v("urine_albumin_creatinine_ratio", "mg/mmol"),
    v("urine_protein_creatinine_ratio", "mg/mmol"),
    v("urine_protein_24h", "g/24h"),
    yn("nephrotic_syndrome"),
    v("creatinine", "umol/l"),
    v("gfr", "ml/min/1.73m2"),
    yn("active_urinary_sediment"),
    yn("active_nephritis"),
];

const HAEMATOLOGICAL: &[ItemDef] = &[
    v("haemoglobin", "g/dl"),
    v("white_cell_count", "x10^9/l"),
    v("neutrophils", "x10^9/l"),
    v("lymphocytes", "x10^9/l"),
    v("platelets", "x10^9/l"),
    a("ttp"),
    yn("active_haemolysis"),
    yn("coombs_positive_isolated"),
];

const ITEMS: [(Domain, &[ItemDef]); 9] = [
    (Domain::Constitutional, CONSTITUTIONAL),
    (Domain::Mucocutaneous, MUCOCUTANEOUS),
    (Domain::Neuropsychiatric, NEUROPSYCHIATRIC),
    (Domain::Musculoskeletal, MUSCULOSKELETAL),
    (Domain::Cardiorespiratory, CARDIORESPIRATORY),
    (Domain::Gastrointestinal, GASTROINTESTINAL),
    (Domain::Ophthalmic, OPHTHALMIC),
    (Domain::Renal, RENAL),
    (Domain::Haematological, HAEMATOLOGICAL),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_has_97_items_in_nine_domains() {
        // BILAG-2004 form: constitutional 1-4, mucocutaneous 5-18,
        // neuropsychiatric 19-38, musculoskeletal 39-43, cardiorespiratory
        // 44-55, gastrointestinal 56-64, ophthalmic 65-77, renal 12 items,
        // haematological 8 items.
        let counts: Vec<usize> = Domain::ALL.iter().map(|d| d.items().len()).collect();
        assert_eq!(counts, [4, 14, 20, 5, 12, 9, 13, 12, 8]);
        assert_eq!(counts.iter().sum::<usize>(), 97);
        let activity: usize = Domain::ALL
            .iter()
            .flat_map(|d| d.items())
            .filter(|i| i.kind == ItemKind::Activity)
            .count();
        assert_eq!(activity, 77 + 1); // items 1-77 and TTP
    }

    #[test]
    fn item_names_are_unique() {
        let mut names: Vec<&str> = Domain::ALL
            .iter()
            .flat_map(|d| d.items())
            .map(|i| i.name)
            .collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
