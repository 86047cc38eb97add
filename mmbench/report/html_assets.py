"""The CSS and JavaScript inlined into every leaderboard page (``html_report``): small, no libraries.

The script works on the table the page already holds: sorting reorders the ``<tbody>`` of each
combination (its main row, per-seed rows and config row move together), filtering hides them, and
choosing another reference recomputes Δ and p with the same paired DeLong test as
``mmbench.report.stats.paired_test``, from the run AUCs and covariance in ``#paired-stats``.
"""

PAGE_CSS = """
:root{--fg:#1d232a;--muted:#5b6670;--line:#d8dde3;--accent:#1f6fb2;--ref:#c0392b;--oracle:#2e8b57;--bg:#fff;--band:#f5f7f9}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:16px 24px}
h1{font-size:22px;margin:4px 0 8px}h2{font-size:17px;margin:24px 0 8px}
header p{max-width:1100px}
nav a{color:var(--accent)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.muted{color:var(--muted)}
#controls{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;margin:10px 0;padding:8px 10px;background:var(--band);border:1px solid var(--line);border-radius:6px}
#controls select,#controls input{font:inherit;padding:2px 4px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse}
#board th,#board td,table.plain th,table.plain td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle;white-space:nowrap}
#board th{position:sticky;top:0;background:var(--bg);font-weight:600}
#board th[data-sort]{cursor:pointer;user-select:none}
#board th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
#board th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
table.plain td.wrap{white-space:normal;min-width:260px}
#board td.variant{white-space:normal;min-width:200px;max-width:340px}
#reference{max-width:520px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.main.reference td{background:#fdf1ef}
tr.run td{background:var(--band);font-size:13px}
tr.config td{background:var(--band)}
tr.config pre{margin:6px 0;max-height:320px;overflow:auto;font:12px ui-monospace,Menlo,monospace;white-space:pre}
button{font:inherit;font-size:12px;cursor:pointer;border:1px solid var(--line);background:#fff;border-radius:4px;padding:1px 6px}
button.expand{border:none;background:none;font-size:14px;width:20px}
.badge{display:inline-block;font-size:11px;padding:0 5px;border-radius:8px;background:#e8eef5;color:var(--accent);margin-left:4px}
.badge.selected{background:#fff4dc;color:#8a5a00}
.badge.published{background:#eee;color:#555}
svg.ci,svg.axis{display:block}
.ci-col{min-width:230px}
.ci-text{display:block;font-size:11px;color:var(--muted)}
svg .error-bar,svg .error-cap{stroke:var(--accent);stroke-width:2}
svg .mean-dot{fill:var(--accent)}
svg .mean-dot.ref{fill:var(--ref)}
svg .seed-dot{fill:#000;opacity:.45}
svg .oracle-line{stroke:var(--oracle);stroke-width:1.5;stroke-dasharray:3 2}
svg.axis line{stroke:var(--muted)}
svg.axis text{font-size:10px;fill:var(--muted)}
svg.axis text.oracle-mark{fill:var(--oracle);font-weight:600}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
footer{margin-top:24px;font-size:12px}
"""

PAGE_JS = r"""
(function () {
  "use strict";
  var table = document.getElementById("board");
  if (!table) return;
  var bodies = Array.prototype.slice.call(table.tBodies);
  var stats = JSON.parse(document.getElementById("paired-stats").textContent);
  var shownEl = document.getElementById("shown");

  function runIndices(body) {
    var text = body.getAttribute("data-runs");
    return text ? text.split(" ").map(Number) : null;
  }

  // complementary error function (Numerical Recipes' erfcc; fractional error below 1.2e-7)
  function erfc(x) {
    var z = Math.abs(x), t = 1 / (1 + 0.5 * z);
    var r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
      t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? r : 2 - r;
  }

  // paired DeLong test of mean(AUC of a's seeds) - mean(AUC of b's seeds), as mmbench.report.stats.paired_test
  function pairedTest(a, b) {
    var w = {};
    a.forEach(function (i) { w[i] = (w[i] || 0) + 1 / a.length; });
    b.forEach(function (i) { w[i] = (w[i] || 0) - 1 / b.length; });
    var keys = Object.keys(w).map(Number), diff = 0, v = 0;
    keys.forEach(function (i) {
      diff += w[i] * stats.aucs[i];
      keys.forEach(function (j) { v += w[i] * w[j] * stats.cov[i][j]; });
    });
    var p = v <= 1e-18 ? (Math.abs(diff) < 1e-12 ? 1 : 0) : erfc(Math.abs(diff) / Math.sqrt(v) / Math.SQRT2);
    return [diff, p];
  }

  function setReference(key) {
    var ref = bodies.filter(function (b) { return b.getAttribute("data-key") === key; })[0];
    if (!ref || !stats) return;
    var refIdx = runIndices(ref);
    bodies.forEach(function (b) {
      var main = b.querySelector("tr.main"), dCell = b.querySelector("td.delta"), pCell = b.querySelector("td.p");
      var isRef = b === ref;
      main.classList.toggle("reference", isRef);
      b.querySelector("circle.mean-dot").classList.toggle("ref", isRef);
      var idx = runIndices(b), d = "", p = "";
      if (isRef) {
        dCell.textContent = "\u2605"; pCell.textContent = "";
      } else if (!idx || !refIdx) {
        dCell.textContent = "\u2014"; pCell.textContent = "\u2014";
      } else {
        var r = pairedTest(idx, refIdx); d = r[0]; p = r[1];
        dCell.textContent = (d >= 0 ? "+" : "") + d.toFixed(4);
        pCell.textContent = p < 1e-4 ? "< 1e-4" : p.toFixed(4);
      }
      b.setAttribute("data-delta", d);
      b.setAttribute("data-p", p);
    });
    var label = document.getElementById("reference-label");
    if (label) {
      label.textContent = Array.prototype.filter.call(refSel.options, function (o) {
        return o.value === key; })[0].textContent;
      document.getElementById("reference-reason").textContent = "chosen on this page";
    }
  }

  var refSel = document.getElementById("reference");
  if (refSel) refSel.addEventListener("change", function () { setReference(refSel.value); });

  var headers = Array.prototype.slice.call(table.tHead.querySelectorAll("th[data-sort]"));
  function sortBy(th) {
    var key = "data-" + th.getAttribute("data-sort"), num = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    bodies.slice().sort(function (a, b) {
      var x = a.getAttribute(key) || "", y = b.getAttribute(key) || "", c;
      if (num) {
        x = x === "" ? NaN : Number(x); y = y === "" ? NaN : Number(y);
        if (isNaN(x) || isNaN(y)) c = isNaN(x) ? (isNaN(y) ? 0 : 1) : -1;  // empty cells last
        else c = sign * (x - y);
      } else {
        c = sign * x.localeCompare(y);
      }
      return c || Number(a.getAttribute("data-rank")) - Number(b.getAttribute("data-rank"));
    }).forEach(function (b) { table.appendChild(b); });
  }
  headers.forEach(function (th) {
    th.tabIndex = 0;
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") sortBy(th); });
  });

  var filters = ["encoder", "reducer", "model"].map(function (k) { return [k, document.getElementById("f-" + k)]; });
  var text = document.getElementById("f-text");
  function applyFilters() {
    var q = text.value.trim().toLowerCase(), shown = 0;
    bodies.forEach(function (b) {
      var ok = filters.every(function (f) { return !f[1].value || b.getAttribute("data-" + f[0]) === f[1].value; });
      if (ok && q) ok = b.textContent.toLowerCase().indexOf(q) >= 0;
      b.hidden = !ok;
      if (ok) shown += 1;
    });
    shownEl.textContent = shown + " of " + bodies.length + " combinations shown";
  }
  filters.forEach(function (f) { f[1].addEventListener("change", applyFilters); });
  text.addEventListener("input", applyFilters);
  applyFilters();

  function copy(value, button) {
    function done(ok) {
      button.textContent = ok ? "copied" : "select the text to copy";
      setTimeout(function () { button.textContent = "copy YAML"; }, 1500);
    }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = value; area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area); area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  table.addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button) return;
    var body = button.closest("tbody");
    if (button.classList.contains("expand") || button.classList.contains("show-config")) {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      if (button.classList.contains("expand")) {
        button.textContent = open ? "\u25BE" : "\u25B8";
        body.querySelectorAll("tr.run").forEach(function (tr) { tr.hidden = !open; });
      } else {
        body.querySelector("tr.config").hidden = !open;
      }
    } else if (button.classList.contains("copy")) {
      copy(body.querySelector("tr.config pre").textContent, button);
    }
  });
})();
"""
