//! Page layout, the stylesheet and the few lines of script (pages work
//! without it; the script adds live screening and live derived fields).

use maud::{html, Markup, DOCTYPE};

use crate::CurrentUser;

/// The stylesheet: plain CSS, contrast at least 4.5:1 (WCAG AA) for text.
pub const CSS: &str = r#"
:root { --fg:#1a1a1a; --bg:#ffffff; --muted:#4a4a4a; --line:#c8c8c8; --accent:#0b4f8a; --ok:#176b2c; --bad:#a4161a; --warn:#7a4b00; --unk:#4a4a4a; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #f0a500; outline-offset: 1px; }
header.top { background: #0b2e4f; color: #fff; padding: .5rem 1rem; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
header.top a { color: #fff; }
header.top form { margin-left: auto; }
nav.trial { background: #e8eef5; padding: .4rem 1rem; display: flex; gap: 1rem; flex-wrap: wrap; }
main { padding: 1rem; max-width: 72rem; }
.date { white-space: nowrap; }
dt { font-weight: 600; } dd { margin: 0 0 .4rem 1rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: #fff; color: #000; padding: .3rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; display: block; max-width: 100%; overflow-x: auto; position: relative; }
th, td { border: 1px solid var(--line); padding: .3rem .6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
label { display: block; font-weight: 600; margin-top: .6rem; }
.hint { color: var(--muted); font-size: .9rem; font-weight: 400; }
input, select, textarea { font: inherit; padding: .25rem .4rem; border: 1px solid #6b6b6b; border-radius: 3px; }
button { font: inherit; padding: .35rem .9rem; background: var(--accent); color: #fff; border: 0; border-radius: 3px; cursor: pointer; }
button.secondary { background: #555; }
button.danger { background: var(--bad); }
.fits { color: var(--ok); font-weight: 600; } .excludes { color: var(--bad); font-weight: 700; background: #fdecec; } .unknown, .not_applicable { color: var(--unk); }
#why-excluded { color: var(--bad); font-weight: 600; }
.scroll { max-width: 100%; overflow-x: auto; }
main { overflow-wrap: break-word; }
td, th { overflow-wrap: normal; }
input, select, textarea { max-width: 100%; }
progress { width: 20rem; max-width: 100%; height: 1rem; vertical-align: middle; }
.verdict { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: .4rem 0; z-index: 1; }
.status-not_started { color: var(--unk); } .status-incomplete { color: var(--warn); font-weight: 600; } .status-complete { color: var(--ok); font-weight: 600; }
.status-queried { color: var(--bad); font-weight: 600; } .status-verified { color: #0b4f8a; font-weight: 600; } .status-signed { color: #4b1f7a; font-weight: 700; }
.qmark { color: var(--bad); font-weight: 700; }
td[class^="status-"] a { color: inherit; }
.sig { border: 2px solid #4b1f7a; padding: .5rem 1rem; }
@media print { header.top, nav.trial, form, .noprint { display: none; } main { max-width: none; } }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.alert { border-left: 4px solid var(--bad); background: #fdecec; padding: .5rem 1rem; }
.notice { border-left: 4px solid var(--ok); background: #eaf6ec; padding: .5rem 1rem; }
.warning { border-left: 4px solid var(--warn); background: #fff4e0; padding: .5rem 1rem; }
.overdue { color: var(--bad); font-weight: 600; } .due { color: var(--warn); font-weight: 600; }
fieldset { border: 1px solid var(--line); margin: 1rem 0; min-width: 0; }
"#;

/// The script: live screening and derived fields through the JSON API.
pub const JS: &str = r#"
(function () {
  // A table wider than the screen scrolls in its own box: make that box
  // reachable from the keyboard.
  Array.prototype.forEach.call(document.querySelectorAll('table'), function (t) {
    if (t.scrollWidth > t.clientWidth + 1) { t.setAttribute('tabindex', '0'); }
  });
  // Audit times: also in the time zone of the site's computer, to the second.
  Array.prototype.forEach.call(document.querySelectorAll('table.audit time[datetime]'), function (t) {
    var d = new Date(t.getAttribute('datetime'));
    if (isNaN(d)) return;
    var p = function (n) { return (n < 10 ? '0' : '') + n; };
    var off = -d.getTimezoneOffset();
    var zone = 'UTC' + (off >= 0 ? '+' : '-') + p(Math.floor(Math.abs(off) / 60)) + ':' + p(Math.abs(off) % 60);
    var local = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
    var span = document.createElement('span');
    span.className = 'hint local-time';
    span.textContent = ' (' + local + ' ' + zone + ' here)';
    t.parentNode.appendChild(span);
  });
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute('content') : '';
  function post(url, body, done) {
    fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body) })
      .then(function (r) { return r.json(); }).then(done).catch(function () {});
  }
  function formValues(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.indexOf('f.') !== 0) return;
      if (el.type === 'radio' && !el.checked) return;
      out[el.name.slice(2)] = el.value;
    });
    return out;
  }
  var screen = document.querySelector('form[data-live-screen]');
  if (screen) {
    // A sub-study's facts show once the person opted in.
    Array.prototype.forEach.call(screen.querySelectorAll('fieldset[data-opt-in]'), function (fs) {
      var opt = screen.elements.namedItem('f.' + fs.getAttribute('data-opt-in'));
      if (!opt) return;
      var sync = function () { fs.hidden = opt.value !== 'true'; };
      opt.addEventListener('change', sync); sync();
    });
    var url = screen.getAttribute('data-live-screen');
    var asked = 0;
    var tick = function () {
      var mine = ++asked;
      var uln = {};
      Array.prototype.forEach.call(screen.elements, function (el) {
        if (el.name && el.name.indexOf('u.') === 0) uln[el.name.slice(2)] = el.value;
      });
      var date = screen.elements.namedItem('screening_date');
      var body = { facts: formValues(screen), uln: uln, screening_date: date ? date.value : '' };
      post(url, body, function (res) {
        var v = document.getElementById('verdict');
        if (mine !== asked) return;
        if (!res.criteria) { if (v) v.textContent = res.error ? 'cannot tell: ' + res.error : '\u2014'; return; }
        // Coloured by meaning: an exclusion met or an inclusion not met excludes.
        var why = [];
        res.criteria.forEach(function (c) {
          var cell = document.getElementById('crit-' + c.id);
          if (!cell) return;
          var kind = cell.getAttribute('data-kind');
          var meaning = c.result === 'not_applicable' ? 'not_applicable' : 'unknown';
          if ((kind === 'inclusion' && c.result === 'met') || (kind === 'exclusion' && c.result === 'not_met')) meaning = 'fits';
          if ((kind === 'inclusion' && c.result === 'not_met') || (kind === 'exclusion' && c.result === 'met')) meaning = 'excludes';
          var words = c.result.replace('_', ' ');
          if (meaning === 'fits' || meaning === 'excludes') words += ' (' + meaning + ')';
          cell.textContent = words; cell.className = meaning;
          if (meaning === 'excludes') {
            var t = document.getElementById('crit-text-' + c.id);
            why.push(c.id + ' ' + (kind === 'exclusion' ? '(exclusion met)' : '(inclusion not met)') + ': ' + (t ? t.textContent : ''));
          }
        });
        var whyEl = document.getElementById('why-excluded');
        if (whyEl) whyEl.textContent = why.length ? 'Excluded because: ' + why.join('; ') : '';
        if (v) v.textContent = res.verdict;
        // A message beside each fact that does not read; none once it does.
        var problems = res.problems || {};
        Array.prototype.forEach.call(screen.querySelectorAll('[id^="fact-msg-"]'), function (m) {
          var k = m.id.slice(9);
          var text = problems[k] || '';
          if (m.textContent !== text) m.textContent = text;
          var input = document.getElementById('fact-' + k);
          if (input) {
            if (text) input.setAttribute('aria-invalid', 'true');
            else input.removeAttribute('aria-invalid');
          }
        });
      });
    };
    screen.addEventListener('input', tick); screen.addEventListener('change', tick); tick();
  }
  var entry = document.querySelector('form[data-live-derive]');
  if (entry) {
    var durl = entry.getAttribute('data-live-derive');
    // Answers may arrive out of order: only the latest request's answer is shown.
    var sent = 0;
    var upd = function () {
      var mine = ++sent;
      post(durl, { values: formValues(entry) }, function (res) {
        if (mine !== sent || !res.derived) return;
        Object.keys(res.derived).forEach(function (k) {
          var out = document.getElementById('derived-' + k);
          if (!out) return;
          var shown = res.shown && res.shown[k];
          out.textContent = shown === undefined || shown === null ? '\u2014' : shown;
        });
        // Every field's message: the current one, or none once the value is valid again.
        var msgs = res.messages || {};
        Array.prototype.forEach.call(entry.querySelectorAll('[id^="msg-"]'), function (m) {
          var k = m.id.slice(4);
          var text = msgs[k] || '';
          if (m.textContent !== text) m.textContent = text;
          var input = document.getElementById('field-' + k);
          if (input) {
            if (text && (res.refused || []).indexOf(k) >= 0) input.setAttribute('aria-invalid', 'true');
            else input.removeAttribute('aria-invalid');
          }
        });
      });
    };
    // A change to a saved value needs a reason: say so, and ask for it before sending.
    var reason = document.getElementById('reason');
    var hint = document.getElementById('reason-hint');
    var idle = hint ? hint.textContent : '';
    var needReason = function () {
      if (!reason) return;
      var changed = Array.prototype.some.call(entry.elements, function (el) {
        return el.hasAttribute('data-saved') && el.value.trim() !== el.getAttribute('data-saved');
      });
      reason.required = changed;
      if (hint) hint.textContent = changed ? '(required: a saved value is being changed)' : idle;
    };
    entry.addEventListener('input', function () { upd(); needReason(); });
    entry.addEventListener('change', function () { upd(); needReason(); });
    upd(); needReason();
  }
})();
"#;

/// The trial menu: the pages every role reads, and the pages of actions
/// only for users whose roles may take them (the handlers still refuse the
/// others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialNav<'a> {
    /// Trial id.
    pub trial: &'a str,
    /// Screening (investigators, research nurses).
    pub screen: bool,
    /// Queries: raise, answer or close (monitors, data managers,
    /// investigators, research nurses).
    pub queries: bool,
    /// Database lock (data managers).
    pub lock: bool,
    /// Users, roles and sites (administrators).
    pub admin: bool,
    /// Analysis plan and the trial's unblinding (statistician, sponsor).
    pub governance: bool,
    /// Safety tables by arm (data monitoring committee).
    pub dmc: bool,
}

impl TrialNav<'_> {
    /// The menu's links: path and label.
    pub fn links(&self) -> Vec<(String, &'static str)> {
        let t = self.trial;
        let mut out = vec![
            (format!("/t/{t}"), "Dashboard"),
            (format!("/t/{t}/participants"), "Participants"),
            (format!("/t/{t}/status"), "Record status"),
        ];
        if self.screen {
            out.push((format!("/t/{t}/screen"), "Screen"));
        }
        if self.queries {
            out.push((format!("/t/{t}/queries"), "Queries"));
        }
        if self.lock {
            out.push((format!("/t/{t}/lock"), "Database lock"));
        }
        out.push((format!("/t/{t}/audit"), "Audit trail"));
        if self.admin {
            out.push((format!("/t/{t}/admin"), "Users and roles"));
        }
        if self.governance {
            out.push((format!("/t/{t}/governance"), "Analysis plan and unblinding"));
        }
        if self.dmc {
            out.push((format!("/t/{t}/dmc"), "Committee safety tables"));
        }
        out
    }
}

/// A page with the header for a logged-in user.
pub fn page(
    title: &str,
    user: Option<&CurrentUser>,
    trial_nav: Option<&TrialNav<'_>>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(u) = user { meta name="csrf-token" content=(u.csrf); }
                title { (title) " · rct" }
                link rel="stylesheet" href="/static/app.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a href="/" { strong { "rct" } }
                    @if let Some(u) = user {
                        span { "Signed in as " strong { (u.name) } }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(u.csrf);
                            button.secondary type="submit" { "Log out" }
                        }
                    }
                }
                @if let Some(nav) = trial_nav {
                    nav.trial aria-label="Trial" {
                        @for (href, label) in nav.links() { a href=(href) { (label) } }
                    }
                }
                main id="main" { (body) }
                script src="/static/app.js" {}
            }
        }
    }
}

/// A page without user context (login, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    page(title, None, None, body)
}

/// A hidden CSRF field.
pub fn csrf(user: &CurrentUser) -> Markup {
    html! { input type="hidden" name="csrf" value=(user.csrf); }
}

/// Pretty-prints a JSON value for a table cell.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}
