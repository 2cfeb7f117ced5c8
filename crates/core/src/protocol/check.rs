//! The protocol checker: every semantic mistake, each at its line and column.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::str::FromStr;

use toml::Spanned;

use super::diag::{Diagnostic, LineIndex};
use super::model::*;
use crate::rules;

/// Named scores that rules may call (provided by the scores crate).
pub const SCORE_FUNCTIONS: &[&str] = &[
    "sledai2k",
    "eular_acr_2019",
    "slicc_2012",
    "acr_1997",
    "fss",
];

struct Checker<'a> {
    file: &'a str,
    src: &'a str,
    idx: LineIndex<'a>,
    out: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn at(&mut self, span: Range<usize>, message: String, help: Option<&str>) {
        let (line, column) = self.idx.position(span.start);
        self.out.push(Diagnostic {
            file: self.file.to_string(),
            line,
            column,
            message,
            help: help.map(str::to_string),
        });
    }

    /// Records ids, reporting duplicates at the second occurrence.
    fn unique<'b, I>(&mut self, what: &str, ids: I) -> BTreeSet<String>
    where
        I: IntoIterator<Item = &'b Spanned<String>>,
    {
        let mut seen = BTreeMap::<String, usize>::new();
        for id in ids {
            let (first_line, _) = self.idx.position(id.span().start);
            if let Some(prev) = seen.get(id.get_ref()) {
                self.at(
                    id.span(),
                    format!(
                        "duplicate {what} id `{}` (first defined on line {prev})",
                        id.get_ref()
                    ),
                    Some("give each one a distinct id"),
                );
            } else if id.get_ref().trim().is_empty() {
                self.at(
                    id.span(),
                    format!("empty {what} id"),
                    Some("write an id such as `a1`"),
                );
            } else {
                seen.insert(id.get_ref().clone(), first_line);
            }
        }
        seen.into_keys().collect()
    }

    fn reference(&mut self, r: &Spanned<String>, what: &str, known: &BTreeSet<String>, from: &str) {
        if !known.contains(r.get_ref()) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            self.at(
                r.span(),
                format!("{from} names undefined {what} `{}`", r.get_ref()),
                Some(&if list.is_empty() {
                    format!("define the {what} first (none are defined)")
                } else {
                    format!("expected one of: {}", list.join(", "))
                }),
            );
        }
    }

    /// Byte offset in the file of byte `off` of the rule text held in `s`.
    fn rule_offset(&self, s: &Spanned<String>, off: usize) -> usize {
        let span = s.span();
        let raw = self.src.get(span.clone()).unwrap_or("");
        match raw.find(s.get_ref().as_str()) {
            Some(k) => span.start + k + off,
            None => span.start,
        }
    }

    /// Parses a rule and checks its names, functions and units.
    fn rule(
        &mut self,
        s: &Spanned<String>,
        what: &str,
        names: &BTreeSet<String>,
        units: &BTreeSet<String>,
    ) -> Option<rules::Expr> {
        let expr = match rules::parse(s.get_ref()) {
            Ok(e) => e,
            Err(e) => {
                let at = self.rule_offset(s, e.offset);
                self.at(
                    at..at,
                    format!("in {what}: rule does not parse: {e}"),
                    Some("see docs/rules.md for the rule language"),
                );
                return None;
            }
        };
        for e in rules::units::check_units(&expr, s.get_ref(), units) {
            let at = self.rule_offset(s, e.offset);
            self.at(
                at..at,
                format!("in {what}: expected {}, found {}", e.expected, e.found),
                Some(
                    "declare the unit in `units = [...]` or write the quantity in a declared unit",
                ),
            );
        }
        let mut bad: Vec<(String, usize)> = Vec::new();
        expr.walk(&mut |e| match &e.kind {
            rules::ExprKind::Name { name, .. }
                if name != rules::SCREENING_DATE && !names.contains(name) =>
            {
                bad.push((
                    format!("names undefined fact or field `{name}`"),
                    e.span.start,
                ));
            }
            rules::ExprKind::Call { name, .. }
                if !rules::is_builtin(name) && !SCORE_FUNCTIONS.contains(&name.as_str()) =>
            {
                let builtins: Vec<&str> = rules::BUILTINS.iter().map(|b| b.0).collect();
                bad.push((
                    format!(
                        "calls unknown function `{name}` (built-ins: {}; scores: {})",
                        builtins.join(", "),
                        SCORE_FUNCTIONS.join(", ")
                    ),
                    e.span.start,
                ));
            }
            _ => {}
        });
        for implicit in expr.implicit_facts() {
            if !names.contains(&implicit) {
                bad.push((
                    format!(
                        "uses age_at(), which reads fact `{implicit}`, but no such fact is defined"
                    ),
                    0,
                ));
            }
        }
        for (msg, off) in bad {
            let at = self.rule_offset(s, off);
            self.at(
                at..at,
                format!("in {what}: rule {msg}"),
                Some("define it under [[facts]] or a form's fields, or correct the name"),
            );
        }
        Some(expr)
    }

    fn range(&mut self, r: &Spanned<[f64; 2]>, what: &str) {
        let [lo, hi] = *r.get_ref();
        if !(lo.is_finite() && hi.is_finite()) || lo > hi {
            self.at(
                r.span(),
                format!("{what} [{lo}, {hi}] is impossible: expected [low, high] with low <= high"),
                Some("swap the two numbers or correct them"),
            );
        }
    }
}

/// Checks a parsed protocol; `src` is the file's text, `file` its name.
pub fn check(p: &Protocol, src: &str, file: &str) -> Vec<Diagnostic> {
    let mut c = Checker {
        file,
        src,
        idx: LineIndex::new(src),
        out: Vec::new(),
    };

    // Trial.
    if *p.trial.target_enrolment.get_ref() == 0 {
        c.at(
            p.trial.target_enrolment.span(),
            "target_enrolment is 0: expected the number of participants to enrol".into(),
            None,
        );
    }

    // Arms.
    let arms = c.unique("arm", p.arms.iter().map(|a| &a.id));
    if p.arms.len() < 2 {
        let span = p.arms.first().map_or(0..0, |a| a.id.span());
        c.at(
            span,
            format!(
                "a randomised trial needs at least 2 arms, found {}",
                p.arms.len()
            ),
            Some("add an [[arms]] table for each arm"),
        );
    }
    for a in &p.arms {
        if *a.weight.get_ref() == 0 {
            c.at(
                a.weight.span(),
                format!(
                    "arm `{}` has allocation weight 0: expected a whole number >= 1",
                    a.id.get_ref()
                ),
                Some("remove the arm or give it a weight such as 1"),
            );
        }
    }
    if p.arms.iter().filter(|a| a.control).count() > 1 {
        let span = p
            .arms
            .iter()
            .filter(|a| a.control)
            .nth(1)
            .map_or(0..0, |a| a.id.span());
        c.at(
            span,
            "more than one arm is marked `control = true`".into(),
            Some("mark one"),
        );
    }

    // Consent form versions.
    c.unique("consent version", p.consent.versions.iter());

    // Emergency unblinding.
    c.unique("unblinding category", p.unblinding.categories.iter());
    for cat in &p.unblinding.categories {
        if cat.get_ref().trim().is_empty() {
            c.at(
                cat.span(),
                "an [unblinding] category is empty: expected a name such as `serious adverse event`".into(),
                Some("remove it or name the category"),
            );
        }
    }
    if let Some(h) = &p.unblinding.explain_within_hours {
        if *h.get_ref() == 0 {
            c.at(
                h.span(),
                "[unblinding] explain_within_hours is 0: expected the hours allowed for the written explanation, e.g. 24".into(),
                Some("give a whole number of hours >= 1"),
            );
        }
    }

    // Roles and masking.
    let roles = c.unique("role", p.roles.iter().map(|r| &r.id));
    for r in &p.roles {
        if !KNOWN_ROLES.contains(&r.id.get_ref().as_str()) {
            c.at(
                r.id.span(),
                format!(
                    "unknown role `{}`: expected one of {}",
                    r.id.get_ref(),
                    KNOWN_ROLES.join(", ")
                ),
                None,
            );
        }
    }
    if p.masking.kit_codes && !p.roles.iter().any(|r| r.sees_kits) {
        let span = p.roles.first().map_or(0..0, |r| r.id.span());
        c.at(
            span,
            "masking.kit_codes is true but no role has `sees_kits = true`".into(),
            Some("let the pharmacist role see kits, or the kit-to-arm map is lost"),
        );
    }
    if p.is_blinded() {
        for r in &p.roles {
            let blinded_party = match r.id.get_ref().as_str() {
                "investigator" => Some(MaskedParty::Investigator),
                "outcome_assessor" => Some(MaskedParty::OutcomeAssessor),
                "intervention_staff" => Some(MaskedParty::CareProvider),
                _ => None,
            };
            // Roles the record keeps blind in every masked trial (the
            // statistician sees arms once the trial is unblinded).
            if r.sees_arms
                && matches!(
                    r.id.get_ref().as_str(),
                    "data_manager" | "statistician" | "administrator"
                )
            {
                c.at(
                    r.id.span(),
                    format!(
                        "role `{}` sees arms, but the record keeps it blind in a masked trial (ICH E9 2.3.1: those who manage and analyse data stay blind until the trial is unblinded)",
                        r.id.get_ref()
                    ),
                    Some("set `sees_arms = false`; the statistician sees arms after the two-person unblinding"),
                );
            }
            // A role entering an arm-specific form learns the arm from it.
            if !r.sees_arms {
                if let Some(f) = p.forms.iter().find(|f| {
                    f.arm.is_some()
                        && f.entered_by
                            .as_ref()
                            .is_some_and(|e| e.get_ref() == r.id.get_ref())
                }) {
                    c.at(
                        r.id.span(),
                        format!(
                            "role `{}` does not see arms, but enters the arm-specific form `{}`, whose existence reveals the arm",
                            r.id.get_ref(),
                            f.id.get_ref()
                        ),
                        Some("set `sees_arms = true` for this role, or let an unblinded role enter the form"),
                    );
                }
            }
            if let Some(party) = blinded_party {
                if r.sees_arms && p.masking.blinded.iter().any(|b| *b.get_ref() == party) {
                    c.at(
                        r.id.span(),
                        format!(
                            "role `{}` sees arms, but masking says the {:?} is blinded",
                            r.id.get_ref(),
                            party
                        ),
                        Some("set `sees_arms = false` or remove the party from masking.blinded"),
                    );
                }
            }
        }
    }

    // Sites, strata, randomisation.
    let sites = c.unique("site", p.sites.iter().map(|s| &s.id));
    let factors = c.unique("stratification factor", p.strata.iter().map(|f| &f.id));
    let facts = c.unique("fact", p.facts.iter().map(|f| &f.id));
    for f in &p.strata {
        let levels = c.unique("level", f.levels.iter());
        let is_site = f.fact_id() == "site";
        if levels.is_empty() && !is_site {
            c.at(
                f.id.span(),
                format!("stratification factor `{}` has no levels", f.id.get_ref()),
                Some("list its levels, e.g. levels = [\"female\", \"male\"]"),
            );
        }
        if is_site {
            for l in &f.levels {
                c.reference(l, "site", &sites, "stratification level");
            }
        } else if let Some(fact) = &f.fact {
            c.reference(fact, "fact", &facts, "stratification factor");
        } else if !facts.contains(f.id.get_ref()) {
            c.at(
                f.id.span(),
                format!(
                    "stratification factor `{}` is not a fact: expected a [[facts]] entry with that id, or `fact = \"...\"`",
                    f.id.get_ref()
                ),
                None,
            );
        }
    }
    for s in p
        .randomisation
        .stratify_by
        .iter()
        .chain(&p.randomisation.minimise_on)
    {
        c.reference(s, "stratification factor", &factors, "randomisation");
    }
    match rct_random::DesignSpec::from_str(p.randomisation.design.get_ref()) {
        Ok(spec) => {
            if let Err(e) = spec.check_ratio(&p.ratio()) {
                c.at(
                    p.randomisation.design.span(),
                    e.to_string(),
                    Some("choose a design that supports this ratio, or change the arms' weights"),
                );
            }
        }
        Err(e) => c.at(
            p.randomisation.design.span(),
            e.to_string(),
            Some("designs: cr, rar, pbr:4, rpbr:4,6, bsd:3, mp:3, ebc:0.667, chen:3,0.667, urn:0,1, psm:range:0.8"),
        ),
    }

    // Units and code lists.
    let mut units: BTreeSet<String> = BTreeSet::new();
    for u in &p.units {
        if u.get_ref().trim().is_empty() {
            c.at(u.span(), "empty unit".into(), None);
        }
        units.insert(u.get_ref().clone());
    }
    let lists = c.unique("code list", p.code_lists.iter().map(|l| &l.id));
    for l in &p.code_lists {
        c.unique("code", l.items.iter().map(|i| &i.code));
        if l.items.is_empty() {
            c.at(
                l.id.span(),
                format!("code list `{}` has no items", l.id.get_ref()),
                None,
            );
        }
    }
    let unit_ok = |c: &mut Checker, u: &Option<Spanned<String>>| {
        if let Some(u) = u {
            if !units.contains(u.get_ref()) {
                c.reference(u, "unit", &units, "this value");
            }
        }
    };
    let type_ok = |c: &mut Checker,
                   kind: ValueType,
                   code_list: &Option<Spanned<String>>,
                   id: &Spanned<String>| {
        match (kind, code_list) {
            (ValueType::Choice, None) => c.at(
                id.span(),
                format!("`{}` is a choice but names no code list", id.get_ref()),
                Some("add code_list = \"...\""),
            ),
            (ValueType::Choice, Some(l)) => c.reference(l, "code list", &lists, "this choice"),
            (_, Some(l)) => c.at(
                l.span(),
                format!(
                    "`{}` has a code list but is not of type \"choice\"",
                    id.get_ref()
                ),
                None,
            ),
            _ => {}
        }
    };

    // Facts, sub-studies, criteria.
    for f in &p.facts {
        unit_ok(&mut c, &f.unit);
        type_ok(&mut c, f.kind, &f.code_list, &f.id);
    }
    let substudies = c.unique("sub-study", p.substudies.iter().map(|s| &s.id));
    for s in &p.substudies {
        c.reference(&s.opt_in, "fact", &facts, "sub-study opt_in");
        if let Some(f) = p.fact(s.opt_in.get_ref()) {
            if f.kind != ValueType::Boolean {
                c.at(
                    s.opt_in.span(),
                    format!("opt-in fact `{}` must be boolean", s.opt_in.get_ref()),
                    None,
                );
            }
        }
    }
    c.unique("criterion", p.criteria.iter().map(|k| &k.id));
    for k in &p.criteria {
        if k.text.trim().is_empty() {
            c.at(
                k.id.span(),
                format!("criterion `{}` has no text", k.id.get_ref()),
                Some("copy the criterion verbatim from the protocol"),
            );
        }
        c.rule(
            &k.rule,
            &format!("criterion {}", k.id.get_ref()),
            &facts,
            &units,
        );
        if let Some(pop) = &k.population {
            c.reference(pop, "sub-study", &substudies, "criterion population");
        }
    }

    // Forms.
    let forms = c.unique("form", p.forms.iter().map(|f| &f.id));
    let mut all_fields: BTreeSet<String> = facts.clone();
    for f in &p.forms {
        for fl in &f.fields {
            all_fields.insert(format!("{}.{}", f.id.get_ref(), fl.id.get_ref()));
        }
    }
    for f in &p.forms {
        let local = c.unique("field", f.fields.iter().map(|x| &x.id));
        if let Some(r) = &f.entered_by {
            c.reference(r, "role", &roles, "form entered_by");
        }
        if let Some(a) = &f.arm {
            c.reference(a, "arm", &arms, "form arm");
        }
        let mut names = all_fields.clone();
        names.extend(local.iter().cloned());
        for fl in &f.fields {
            unit_ok(&mut c, &fl.unit);
            type_ok(&mut c, fl.kind, &fl.code_list, &fl.id);
            if let Some(h) = &fl.hard {
                c.range(h, "hard range");
            }
            if let Some(s) = &fl.soft {
                c.range(s, "soft range");
                if let Some(h) = &fl.hard {
                    let ([hl, hh], [sl, sh]) = (*h.get_ref(), *s.get_ref());
                    if sl < hl || sh > hh {
                        c.at(
                            s.span(),
                            format!("soft range [{sl}, {sh}] of `{}` lies outside its hard range [{hl}, {hh}]", fl.id.get_ref()),
                            Some("a soft range warns inside the hard range: narrow it"),
                        );
                    }
                }
            }
            if (fl.hard.is_some() || fl.soft.is_some())
                && !matches!(fl.kind, ValueType::Number | ValueType::Integer)
            {
                c.at(
                    fl.id.span(),
                    format!("`{}` has a range but is not a number", fl.id.get_ref()),
                    None,
                );
            }
            if let Some(d) = &fl.decimals {
                if !matches!(fl.kind, ValueType::Number) || *d.get_ref() > 9 {
                    c.at(
                        d.span(),
                        format!(
                            "`decimals = {}` on `{}`: decimals apply to number fields, 0 to 9",
                            d.get_ref(),
                            fl.id.get_ref()
                        ),
                        Some("give decimals only on a field of type \"number\""),
                    );
                }
            }
            if let Some(d) = &fl.derived {
                let mut own = names.clone();
                own.remove(fl.id.get_ref());
                c.rule(
                    d,
                    &format!("derived field {}.{}", f.id.get_ref(), fl.id.get_ref()),
                    &own,
                    &units,
                );
            }
        }
    }

    // Visits.
    let visits = c.unique("visit", p.visits.iter().map(|v| &v.id));
    for v in &p.visits {
        let [lo, hi] = *v.window.get_ref();
        let day = *v.day.get_ref();
        if lo > hi {
            c.at(
                v.window.span(),
                format!(
                    "visit `{}` window [{lo}, {hi}] starts after it ends",
                    v.id.get_ref()
                ),
                Some("write [earliest, latest]"),
            );
        } else if day < lo || day > hi {
            c.at(
                v.day.span(),
                format!(
                    "visit `{}` day {day} lies outside its window [{lo}, {hi}]",
                    v.id.get_ref()
                ),
                None,
            );
        }
        for f in &v.forms {
            c.reference(f, "form", &forms, &format!("visit `{}`", v.id.get_ref()));
        }
    }

    // Sessions.
    c.unique("session", p.sessions.iter().map(|s| &s.id));
    for s in &p.sessions {
        c.reference(&s.arm, "arm", &arms, "session");
        let phases = c.unique("phase", s.phases.iter().map(|x| &x.id));
        if *s.per_week.get_ref() == 0 || *s.weeks.get_ref() == 0 {
            c.at(
                s.per_week.span(),
                "sessions per week and weeks must be at least 1".into(),
                None,
            );
        }
        for ph in &s.phases {
            let [lo, hi] = *ph.zone.get_ref();
            if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo > hi {
                c.at(
                    ph.zone.span(),
                    format!("phase `{}` zone [{lo}, {hi}]: expected fractions of HRmax with 0 <= low <= high <= 1", ph.id.get_ref()),
                    Some("write 85 % as 0.85"),
                );
            }
            if *ph.minutes.get_ref() <= 0.0
                || ph.max_minutes.is_some_and(|m| m < *ph.minutes.get_ref())
            {
                c.at(
                    ph.minutes.span(),
                    format!("phase `{}` has an impossible duration", ph.id.get_ref()),
                    None,
                );
            }
            if let Some(b) = &ph.between {
                c.reference(b, "phase", &phases, "phase `between`");
            }
        }
        if let Some(k) = &s.compliance {
            for (v, what) in [
                (&k.threshold, "threshold"),
                (&k.min_fraction, "min_fraction"),
            ] {
                if !(0.0..=1.0).contains(v.get_ref()) {
                    c.at(
                        v.span(),
                        format!(
                            "compliance {what} {} is not a fraction between 0 and 1",
                            v.get_ref()
                        ),
                        None,
                    );
                }
            }
        }
    }

    // Outcomes.
    let outcomes = c.unique("outcome", p.outcomes.iter().map(|o| &o.id));
    let form_fields: BTreeSet<String> = all_fields
        .iter()
        .filter(|f| f.contains('.'))
        .cloned()
        .collect();
    for o in &p.outcomes {
        c.reference(&o.measure, "form field", &form_fields, "outcome measure");
        for t in &o.timepoints {
            c.reference(t, "visit", &visits, "outcome timepoint");
        }
    }
    if !p.outcomes.iter().any(|o| o.kind == OutcomeKind::Primary) && !p.outcomes.is_empty() {
        c.at(
            p.outcomes[0].id.span(),
            "no outcome is primary".into(),
            Some("mark one kind = \"primary\""),
        );
    }

    // Analysis.
    let vars = c.unique(
        "analysis variable",
        p.analysis.variables.iter().map(|v| &v.id),
    );
    let mut sources = all_fields.clone();
    sources.extend(TRIAL_VARIABLES.iter().map(|s| s.to_string()));
    for v in &p.analysis.variables {
        c.reference(
            &v.from,
            "form field, fact or trial variable",
            &sources,
            "analysis variable",
        );
        if let Some(vis) = &v.visit {
            c.reference(vis, "visit", &visits, "analysis variable");
        } else if v.from.get_ref().contains('.') {
            c.at(
                v.from.span(),
                format!(
                    "variable `{}` reads a form field but names no visit",
                    v.id.get_ref()
                ),
                Some("add visit = \"...\""),
            );
        }
    }
    let pops = c.unique("population", p.analysis.populations.iter().map(|x| &x.id));
    let mut pop_names: BTreeSet<String> = TRIAL_VARIABLES.iter().map(|s| s.to_string()).collect();
    pop_names.extend(vars.iter().cloned());
    pop_names.extend(facts.iter().cloned());
    for pop in &p.analysis.populations {
        c.rule(
            &pop.rule,
            &format!("population {}", pop.id.get_ref()),
            &pop_names,
            &units,
        );
    }
    c.unique("model", p.analysis.models.iter().map(|m| &m.id));

    // Estimands.
    c.unique("estimand", p.estimands.iter().map(|e| &e.id));
    for (span, message, help) in super::estimand::check(p) {
        c.at(span, message, help.as_deref());
    }
    let mut formula_names: BTreeSet<String> = vars.clone();
    formula_names.insert("arm".into());
    formula_names.extend(factors.iter().cloned());
    for m in &p.analysis.models {
        c.reference(&m.outcome, "outcome", &outcomes, "model");
        for pop in &m.populations {
            c.reference(pop, "population", &pops, "model");
        }
        // A repeated-measures model's formula also names its response (the
        // outcome at each visit) and `visit`.
        let mut model_names = formula_names.clone();
        if let Some(r) = &m.repeated {
            model_names.insert("visit".into());
            if let Some((lhs, _)) = m.formula.get_ref().split_once('~') {
                model_names.insert(lhs.trim().to_string());
            }
            check_repeated(&mut c, m, r, &vars);
        }
        match formula_names_of(m.formula.get_ref()) {
            Ok(names) => {
                for (n, off) in names {
                    if !model_names.contains(&n) {
                        let at = c.rule_offset(&m.formula, off);
                        c.at(
                            at..at,
                            format!("model `{}` formula names undefined variable `{n}`", m.id.get_ref()),
                            Some("define it under [[analysis.variables]]; `arm` and stratification factors are always available"),
                        );
                    }
                }
            }
            Err(msg) => c.at(
                m.formula.span(),
                format!("model `{}` formula: {msg}", m.id.get_ref()),
                Some("write it as `y ~ arm + x`"),
            ),
        }
        if let Some(f) = &m.family {
            if !["gaussian", "binomial", "poisson"].contains(&f.get_ref().as_str()) {
                c.at(
                    f.span(),
                    format!(
                        "model `{}` family `{}` is not known",
                        m.id.get_ref(),
                        f.get_ref()
                    ),
                    Some("use gaussian (linear model), binomial (0/1 outcome) or poisson (counts)"),
                );
            }
        }
        if let Some(v) = &m.cmh {
            if !formula_names.contains(v.get_ref()) {
                c.at(
                    v.span(),
                    format!(
                        "model `{}` cmh names undefined variable `{}`",
                        m.id.get_ref(),
                        v.get_ref()
                    ),
                    Some("name a stratification factor or an analysis variable, e.g. site"),
                );
            }
            if m.family.as_ref().map(|f| f.get_ref().as_str()) != Some("binomial") {
                c.at(
                    v.span(),
                    format!(
                        "model `{}`: cmh needs family = \"binomial\"",
                        m.id.get_ref()
                    ),
                    Some("the Cochran-Mantel-Haenszel check is for 0/1 outcomes"),
                );
            }
        }
    }
    c.out.sort_by_key(|d| (d.line, d.column));
    c.out
}

/// The `repeated` table of model `m`: at least two visit variables, each an
/// analysis variable, once; a known covariance and df method.
fn check_repeated(c: &mut Checker<'_>, m: &Model, r: &RepeatedPlan, vars: &BTreeSet<String>) {
    let id = m.id.get_ref();
    if r.visits.len() < 2 {
        c.at(
            m.formula.span(),
            format!("model `{id}`: repeated needs at least two visit variables"),
            Some("list the outcome's variable at each post-baseline visit, e.g. visits = [\"fss_w6\", \"fss_w12\"]"),
        );
    }
    let mut seen = BTreeSet::new();
    for v in &r.visits {
        if !vars.contains(v.get_ref()) {
            c.at(
                v.span(),
                format!(
                    "model `{id}` repeated visit names undefined variable `{}`",
                    v.get_ref()
                ),
                Some("define it under [[analysis.variables]] with the visit it reads"),
            );
        } else if !seen.insert(v.get_ref().clone()) {
            c.at(
                v.span(),
                format!("model `{id}` repeated lists `{}` twice", v.get_ref()),
                Some("list each visit variable once, in time order"),
            );
        }
    }
    if let Some(cv) = &r.covariance {
        if !["us", "cs", "ar1", "toep"].contains(&cv.get_ref().as_str()) {
            c.at(
                cv.span(),
                format!("model `{id}` covariance `{}` is not known", cv.get_ref()),
                Some("use us (unstructured), cs (compound symmetry), ar1 or toep (Toeplitz)"),
            );
        }
    }
    if let Some(df) = &r.df {
        if !["kenward-roger", "satterthwaite"].contains(&df.get_ref().as_str()) {
            c.at(
                df.span(),
                format!("model `{id}` df `{}` is not known", df.get_ref()),
                Some("use kenward-roger or satterthwaite"),
            );
        }
    }
    if m.family.as_ref().is_some_and(|f| f.get_ref() != "gaussian") {
        c.at(
            m.formula.span(),
            format!("model `{id}`: repeated is a linear mixed model; it takes no family"),
            Some("remove family, or fit the binary outcome at one visit"),
        );
    }
}

/// Variable names in an R-style formula with their byte offsets; function
/// names (followed by `(`) are skipped.
pub fn formula_names_of(f: &str) -> Result<Vec<(String, usize)>, String> {
    let tilde = f
        .find('~')
        .ok_or("expected `outcome ~ terms`, found no `~`")?;
    if f[tilde + 1..].contains('~') {
        return Err("more than one `~`".into());
    }
    if f[..tilde].trim().is_empty() || f[tilde + 1..].trim().is_empty() {
        return Err("expected a name on each side of `~`".into());
    }
    let b = f.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_alphabetic() || ch == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                i += 1;
            }
            let mut j = i;
            while j < b.len() && b[j] == b' ' {
                j += 1;
            }
            if b.get(j) != Some(&b'(') {
                out.push((f[start..i].to_string(), start));
            }
        } else if ch.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
        } else if "~+-*:/^() ".contains(ch as char) {
            i += 1;
        } else {
            return Err(format!(
                "unexpected character `{}` at column {}",
                ch as char,
                i + 1
            ));
        }
    }
    Ok(out)
}
