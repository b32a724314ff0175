/* assay fairness report: hand-written, dependency-free, offline.
 *
 * Every piece of text that comes from the data is inserted with textContent, attribute
 * values with setAttribute; nothing data-derived ever goes through innerHTML.
 * The script finds its own root (the element that contains it), so several reports can
 * share one page.
 *
 * The script names no metric: what each metric is (name, definition, group, threshold
 * handling), how the metric controls are grouped and which plots exist (x and y metrics,
 * axis labels, table, diagonal) all come from the catalogue, through D.metricsInfo,
 * D.groups and D.plots.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var root = script && script.parentNode;
  if (!root) { return; }
  var dataEl = root.querySelector("script.assay-report-data");
  var D = JSON.parse(dataEl.textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  /* Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
  var COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];
  /* Plots (one metric against another per slice), by page id (e.g. "__calibration__"). */
  var PLOTS = {};
  (D.plots || []).forEach(function (P) { PLOTS[P.id] = P; });
  function isPlot(id) { return Object.prototype.hasOwnProperty.call(PLOTS, id); }
  var HAS_THR = D.thresholds.length > 0;

  /* ------------------------------------------------------------------ DOM helpers */
  function setAttrs(e, a) {
    if (!a) { return; }
    Object.keys(a).forEach(function (k) {
      var v = a[k];
      if (v === null || v === undefined || v === false) { return; }
      if (k === "text") { e.textContent = String(v); }
      else if (k.slice(0, 2) === "on") { e.addEventListener(k.slice(2), v); }
      else { e.setAttribute(k, v === true ? "" : String(v)); }
    });
  }
  function add(e, kids) {
    if (kids === null || kids === undefined || kids === false) { return e; }
    if (!Array.isArray(kids)) { kids = [kids]; }
    kids.forEach(function (k) {
      if (k === null || k === undefined || k === false) { return; }
      if (Array.isArray(k)) { add(e, k); return; }
      if (typeof k === "string" || typeof k === "number") {
        e.appendChild(document.createTextNode(String(k)));
      } else { e.appendChild(k); }
    });
    return e;
  }
  function h(tag, attrs, kids) {
    var e = document.createElement(tag);
    setAttrs(e, attrs);
    return add(e, kids);
  }
  function s(tag, attrs, kids) {
    var e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    return add(e, kids);
  }
  function clear(e) { while (e.firstChild) { e.removeChild(e.firstChild); } }

  /* ------------------------------------------------------------------ formatting */
  function isNum(v) { return typeof v === "number" && isFinite(v); }
  function fmt(v) {
    if (!isNum(v)) { return "–"; }
    if (v < 0) { return "−" + fmt(-v); }
    var a = Math.abs(v);
    if (Number.isInteger(v)) { return v.toLocaleString("en-US"); }
    if (a >= 1000) { return Math.round(v).toLocaleString("en-US"); }
    if (a >= 100) { return v.toFixed(1); }
    if (a >= 10) { return v.toFixed(2); }
    return v.toFixed(3);
  }
  function fmtSigned(v) {
    if (!isNum(v)) { return "–"; }
    return (v > 0 ? "+" : v < 0 ? "−" : "±") + fmt(Math.abs(v));
  }
  function fmtPct(p) {
    if (!isNum(p)) { return "–"; }
    return (p > 0 ? "+" : p < 0 ? "−" : "±") + Math.abs(p).toFixed(1) + "%";
  }
  function fmtCI(lo, hi) {
    if (!isNum(lo) || !isNum(hi)) { return "–"; }
    return "[" + fmt(lo) + ", " + fmt(hi) + "]";
  }
  function truncate(t, n) { return t.length > n ? t.slice(0, n - 1) + "…" : t; }
  /* A slice label that fits: the middle gives way, so the start (feature) and the end
   * (the last value, where crossed slices differ) both stay readable. */
  function shorten(t, n) {
    if (t.length <= n) { return t; }
    var tail = Math.ceil((n - 1) / 2), head = n - 1 - tail;
    return t.slice(0, head) + "…" + t.slice(t.length - tail);
  }
  function metricName(m) { return (D.metricsInfo[m] || { name: m }).name; }
  function metricHelp(m) { return (D.metricsInfo[m] || { help: "" }).help; }
  function metricGroup(m) { return (D.metricsInfo[m] || { group: "Other" }).group; }

  /* ------------------------------------------------------------------ data access */
  D.results.forEach(function (R) {
    R.index = {};
    R.slices.forEach(function (sl, j) { R.index[sl.name] = j; });
    /* Values come as integers at the scale 10^q of their entry (a compact page). */
    Object.keys(R.values).forEach(function (m) {
      Object.keys(R.values[m]).forEach(function (c) {
        Object.keys(R.values[m][c]).forEach(function (k) {
          R.values[m][c][k].forEach(function (e) {
            var sc = Math.pow(10, e.q || 0);
            ["v", "lo", "hi", "dlo", "dhi", "me"].forEach(function (f) {
              var a = e[f];
              if (!a || sc === 1) { return; }
              for (var i = 0; i < a.length; i++) { if (a[i] !== null) { a[i] = a[i] / sc; } }
            });
          });
        });
      });
    });
  });
  /* The paired changes between models (R.changes within a result, D.pair across two). */
  function decodeNested(V) {
    Object.keys(V || {}).forEach(function (m) {
      Object.keys(V[m]).forEach(function (c) {
        Object.keys(V[m][c]).forEach(function (k) {
          V[m][c][k].forEach(function (e) {
            var sc = Math.pow(10, e.q || 0);
            ["v", "lo", "hi"].forEach(function (f) {
              var a = e[f];
              if (!a || sc === 1) { return; }
              for (var i = 0; i < a.length; i++) { if (a[i] !== null) { a[i] = a[i] / sc; } }
            });
          });
        });
      });
    });
  }
  D.results.forEach(function (R) { if (R.changes) { decodeNested(R.changes.values); } });
  if (D.pair && D.pair.values) { decodeNested(D.pair.values); }
  var SLICE = {};
  D.sliceOrder.forEach(function (n) {
    for (var i = 0; i < D.results.length; i++) {
      var R = D.results[i];
      if (R.index[n] !== undefined) { SLICE[n] = R.slices[R.index[n]]; return; }
    }
  });
  var PRIMARY = D.results[D.runs[0].result];
  var allClasses = [];
  D.results.forEach(function (R) {
    R.classes.forEach(function (c) { if (allClasses.indexOf(c) < 0) { allClasses.push(c); } });
  });
  var allMetrics = [];
  D.results.forEach(function (R) {
    R.metrics.forEach(function (m) { if (allMetrics.indexOf(m) < 0) { allMetrics.push(m); } });
  });
  function isFree(m) {
    return D.results.some(function (R) { return R.thresholdFree.indexOf(m) >= 0; });
  }
  /* The metric controls, grouped as the catalogue groups them. */
  var GROUPS = D.groups || [{ title: "Metrics", metrics: allMetrics, plots: [] }];
  /* The chip of a card showing these metrics: the threshold, or "threshold-free" (or,
   * when nothing was evaluated at thresholds, the metrics' group). */
  function chipText(ms) {
    if (!ms.every(isFree)) { return "threshold " + D.thresholds[state.thr]; }
    return HAS_THR ? "threshold-free" : metricGroup(ms[0]);
  }
  function sliceInfo(name) { return SLICE[name] || null; }
  var features = [];
  D.sliceOrder.forEach(function (n) {
    var f = sliceInfo(n).feature;
    if (features.indexOf(f) < 0) { features.push(f); }
  });

  var state = {
    run: 0,
    compare: D.initial.compare,
    cls: allClasses[0],
    thr: D.initial.threshold,
    baseline: PRIMARY.baseline,
    metrics: D.initial.metrics.slice(),
    filter: "",
    features: features.slice(),
    showWithheld: true,
    sort: "default",
    desc: false,
    sigOnly: false,
    minCount: 0,
    top: 0,
    page: 0,
    pageSize: 25,
    detail: null,
    curveN: 3,
    outcome: "all",
    toPerf: null, toGap: null, toSlice: null, toBase: null, baselineSet: false
  };
  var ADJ = { bh: "Benjamini-Hochberg (false discovery rate)", holm: "Holm (family-wise error)", none: "none" };
  function adjName(R) { return ADJ[R.adjustment] || R.adjustment || "none"; }

  /* ------------------------------------------------------------------ URL fragment */
  /* The view (metrics, threshold, baseline, model, filters, sort, page) lives in the
   * fragment, so a link reopens it. */
  var FRAG = [
    ["m", "metrics", "list"], ["t", "thr", "int"], ["b", "baseline", "str"], ["r", "run", "int"],
    ["c", "compare", "int"], ["k", "cls", "str"], ["q", "filter", "str"], ["f", "features", "list"],
    ["w", "showWithheld", "bool"], ["s", "sort", "str"], ["d", "desc", "bool"], ["sig", "sigOnly", "bool"],
    ["min", "minCount", "int"], ["top", "top", "int"], ["p", "page", "int"]
  ];
  function writeFragment() {
    var parts = FRAG.map(function (f) {
      var v = state[f[1]];
      var t = f[2] === "list" ? v.join(",") : f[2] === "bool" ? (v ? "1" : "0") : String(v === null ? "" : v);
      return f[0] + "=" + encodeURIComponent(t);
    });
    try {
      if (history && history.replaceState) { history.replaceState(null, "", "#" + parts.join("&")); }
    } catch (err) { /* a sandboxed frame may refuse; the view then just is not kept */ }
  }
  function readFragment() {
    var hsh = "";
    try { hsh = (location.hash || "").replace(/^#/, ""); } catch (err) { return; }
    if (!hsh) { return; }
    var got = {};
    hsh.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i > 0) { got[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); }
    });
    FRAG.forEach(function (f) {
      if (!Object.prototype.hasOwnProperty.call(got, f[0])) { return; }
      var v = got[f[0]];
      if (f[2] === "list") { state[f[1]] = v ? v.split(",") : []; }
      else if (f[2] === "bool") { state[f[1]] = v === "1"; }
      else if (f[2] === "int") { var x = parseInt(v, 10); if (isFinite(x)) { state[f[1]] = x; } }
      else { state[f[1]] = v; }
    });
    state.metrics = state.metrics.filter(function (m) { return allMetrics.indexOf(m) >= 0 || isPlot(m); });
    state.features = state.features.filter(function (x) { return features.indexOf(x) >= 0; });
    if (!SLICE[state.baseline]) { state.baseline = PRIMARY.baseline; }
    if (!(state.run >= 0 && state.run < D.runs.length)) { state.run = 0; }
    if (!(state.compare >= -1 && state.compare < D.runs.length)) { state.compare = D.initial.compare; }
    if (allClasses.indexOf(state.cls) < 0) { state.cls = allClasses[0]; }
    if (HAS_THR && !(state.thr >= 0 && state.thr < D.thresholds.length)) { state.thr = D.initial.threshold; }
  }

  function shownRuns() {
    var r = [state.run];
    if (state.compare >= 0 && state.compare !== state.run) { r.push(state.compare); }
    return r;
  }
  /* The entry of ``V[model][class][metric]`` (entries per threshold of result R) at the
   * chosen class and threshold. */
  function entryIn(V, model, metric, R) {
    var byCls = V && V[model];
    var entries = byCls && byCls[state.cls] ? byCls[state.cls][metric] : null;
    if (!entries) { return null; }
    if (R.thresholdFree.indexOf(metric) >= 0) { return entries[0]; }
    var t = D.thresholds[state.thr];
    for (var k = 0; k < R.thresholds.length; k++) {
      if (Math.abs(R.thresholds[k] - t) < 1e-9) { return entries[k]; }
    }
    return null;
  }
  function entry(ri, metric) {
    var run = D.runs[ri], R = D.results[run.result];
    return entryIn(R.values, run.model, metric, R);
  }
  function pick(arr, j) { return arr ? arr[j] : null; }
  /* One run's numbers for one slice, with the difference from the chosen baseline. */
  function cell(ri, metric, name) {
    var R = D.results[D.runs[ri].result];
    var j = R.index[name];
    if (j === undefined) { return { missing: true }; }
    var sl = R.slices[j];
    var e = entry(ri, metric);
    var c = { missing: false, slice: sl, v: null, lo: null, hi: null, sig: 0, me: null };
    if (!e) { c.noMetric = true; return c; }
    c.v = pick(e.v, j); c.lo = pick(e.lo, j); c.hi = pick(e.hi, j); c.me = pick(e.me, j);
    var b = R.index[state.baseline];
    c.base = b === undefined ? null : pick(e.v, b);
    c.abs = isNum(c.v) && isNum(c.base) ? c.v - c.base : null;
    c.pct = isNum(c.abs) && c.base !== 0 ? c.abs / Math.abs(c.base) * 100 : null;
    c.note = e.nt && e.nt[j] >= 0 ? R.notes[e.nt[j]] : null;
    if (state.baseline === R.baseline) {
      c.sigKnown = true; c.sigFrom = "evaluation";
      c.significant = e.sig[j] === 1 && name !== state.baseline;
      c.sigAdj = c.significant && !!e.sa && e.sa[j] === 1;
      c.dlo = pick(e.dlo, j); c.dhi = pick(e.dhi, j);
      return c;
    }
    c.sigWhy = whyNoTest(R, e, state.baseline);
    c.sigKnown = c.sigWhy === null;
    c.significant = false; c.sigAdj = false; c.dlo = null; c.dhi = null;
    if (c.sigKnown) {
      var T = testsAgainst(R, metric, e, state.baseline);
      c.sigFrom = "replicates";
      c.significant = T.sig[j] === 1 && name !== state.baseline;
      c.sigAdj = c.significant && T.sa[j] === 1;
      c.dlo = T.dlo[j]; c.dhi = T.dhi[j];
      c.note = c.note || (name !== state.baseline && isNum(c.v) && !isNum(T.p[j]) ? "not tested (zero-width or no interval)" : null);
    }
    return c;
  }

  /* The change from run ri0 to run ri1 in one slice with its paired interval, or why
   * there is none: {v, lo, hi, sig, sa, paired: true} or {paired: false, why}. */
  function changeCell(ri0, ri1, metric, name) {
    var a = D.runs[ri0], b = D.runs[ri1], e = null, sign = 1, R;
    if (a.result === b.result) {
      R = D.results[a.result];
      var CH = R.changes;
      if (!CH || !CH.reference) { return { paired: false, why: "the result holds no paired comparison" }; }
      if (CH.reference === a.model) { e = entryIn(CH.values, b.model, metric, R); }
      else if (CH.reference === b.model) { e = entryIn(CH.values, a.model, metric, R); sign = -1; }
      else { return { paired: false, why: "paired intervals are for changes from the first model (" + CH.reference + ")" }; }
    } else {
      var P = D.pair;
      if (!P) { return { paired: false, why: "no pairing" }; }
      if (P.why) { return { paired: false, why: "the two results cannot be paired: " + P.why }; }
      R = D.results[0];
      var ok = (ri0 === P.runs[0] && ri1 === P.runs[1]) || (ri0 === P.runs[1] && ri1 === P.runs[0]);
      if (!ok) { return { paired: false, why: "paired intervals are for the first model of each result" }; }
      e = entryIn(P.values, P.model, metric, R);
      sign = ri0 === P.runs[0] ? 1 : -1;
    }
    var j = R.index[name];
    if (!e || j === undefined || !isNum(e.v[j])) { return { paired: false, why: "no paired change for this slice and metric" }; }
    var lo = e.lo[j], hi = e.hi[j];
    return { paired: true, v: sign * e.v[j], lo: isNum(lo) ? (sign > 0 ? lo : -hi) : null, hi: isNum(hi) ? (sign > 0 ? hi : -lo) : null,
      sig: e.sig[j] === 1, sa: e.sa[j] === 1 };
  }

  /* ------------------------------------------------------------------ significance vs any baseline */
  /* Differences from a baseline other than the configured one are tested in the page from
   * the replicates the page carries (R.replicates; entries' rp/rq/sc), the way evaluate
   * tests them: a t interval from the replicate differences (jackknife or bootstrap), the
   * MOVER interval where a value's interval is a score interval (Wilson, Jeffreys), clipped
   * to the metric's range, no test where an interval has zero width; then the result's
   * multiple-comparison adjustment across the slices of the entry. */
  function tTwoSided(t, nu) {
    /* P(|T| > t) for integer nu (Abramowitz & Stegun 26.7.3 / 26.7.4). */
    if (!(t >= 0) || !(nu >= 1)) { return NaN; }
    var th = Math.atan(t / Math.sqrt(nu)), c2 = Math.cos(th) * Math.cos(th), sn = Math.sin(th);
    var a, term, sum, k;
    if (nu % 2 === 1) {
      if (nu === 1) { a = 2 * th / Math.PI; }
      else {
        term = 1; sum = 1;
        for (k = 3; k <= nu - 2; k += 2) { term *= (k - 1) / k * c2; sum += term; }
        a = 2 / Math.PI * (th + sn * Math.cos(th) * sum);
      }
    } else {
      term = 1; sum = 1;
      for (k = 2; k <= nu - 2; k += 2) { term *= (k - 1) / k * c2; sum += term; }
      a = sn * sum;
    }
    return Math.min(1, Math.max(0, 1 - a));
  }
  function normTwoSided(z) {
    /* 2 P(Z > z) = erfc(z / sqrt 2): the series of erf near 0, the continued fraction of
     * erfc in the tail. */
    var x = Math.abs(z) / Math.SQRT2;
    if (x < 2) {
      var sum = x, term = x, n = 0;
      while (Math.abs(term) > 1e-17 * Math.abs(sum) && n < 200) { n += 1; term *= -x * x / n; sum += term / (2 * n + 1); }
      return Math.min(1, Math.max(0, 1 - 2 / Math.sqrt(Math.PI) * sum));
    }
    var f = 0;
    for (var k = 60; k >= 1; k--) { f = k / 2 / (x + f); }
    return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f);
  }
  function adjust(p, method) {
    var idx = [];
    for (var i = 0; i < p.length; i++) { if (isNum(p[i])) { idx.push(i); } }
    var out = p.map(function () { return NaN; });
    var m = idx.length;
    if (!m) { return out; }
    if (method !== "bh" && method !== "holm") { idx.forEach(function (i) { out[i] = p[i]; }); return out; }
    idx.sort(function (a, b) { return p[a] - p[b]; });
    var k, run;
    if (method === "bh") {
      run = 1;
      for (k = m - 1; k >= 0; k--) { run = Math.min(run, p[idx[k]] * m / (k + 1)); out[idx[k]] = run; }
    } else {
      run = 0;
      for (k = 0; k < m; k++) { run = Math.max(run, Math.min(1, (m - k) * p[idx[k]])); out[idx[k]] = run; }
    }
    return out;
  }
  function repsOf(e) {
    if (!e.rp) { return null; }
    if (!e._rp) {
      var sc = Math.pow(10, -(e.rq || 0)), a = new Float64Array(e.rp.length);
      for (var i = 0; i < a.length; i++) { a[i] = e.rp[i] === null ? NaN : e.rp[i] * sc; }
      e._rp = a;
    }
    return e._rp;
  }
  /* Why no test against ``baseline`` is possible for this entry (null when it is). */
  function whyNoTest(R, e, baseline) {
    var RP = R.replicates || {};
    if (RP.shipped === null || RP.shipped === undefined) { return RP.why || "the page carries no replicates"; }
    if (!e.rp) {
      if (!e.dlo || !e.dlo.some(isNum)) { return "this metric has no tested difference"; }
      return "the replicates of this metric at this threshold are not in the page (the page carries " +
        RP.shipped + " of " + RP.entries + " entries within its budget of " + Number(RP.budget).toLocaleString("en-US") +
        " numbers; render_html(..., replicate_values=...) ships more)";
    }
    var b = R.index[baseline];
    if (b === undefined) { return "the baseline slice is not in this result"; }
    if (R.slices[b].withheld) { return "the baseline slice is withheld"; }
    return null;
  }
  /* The tests of every slice of entry ``e`` against slice ``baseline``, cached. */
  function testsAgainst(R, metric, e, baseline) {
    e._tests = e._tests || {};
    if (e._tests[baseline]) { return e._tests[baseline]; }
    var RP = R.replicates, n = R.slices.length, nr = RP.n, b = R.index[baseline];
    var reps = repsOf(e);
    var info = D.metricsInfo[metric] || {};
    var span = isNum(info.lower) && isNum(info.upper) ? info.upper - info.lower : null;
    var out = { dlo: new Array(n), dhi: new Array(n), sig: new Array(n), p: new Array(n) };
    var vb = e.v[b], lb = e.lo[b], ub = e.hi[b];
    var degB = !(isNum(lb) && isNum(ub) && ub - lb > 0);
    for (var j = 0; j < n; j++) {
      out.dlo[j] = null; out.dhi[j] = null; out.sig[j] = 0; out.p[j] = NaN;
      var vj = e.v[j];
      if (j === b || !isNum(vj) || !isNum(vb) || R.slices[j].withheld) { continue; }
      var d = vj - vb, lo, hi, p;
      if (e.sc[j] || e.sc[b]) {
        var lj = e.lo[j], uj = e.hi[j];
        lo = d - Math.sqrt(Math.pow(vj - lj, 2) + Math.pow(ub - vb, 2));
        hi = d + Math.sqrt(Math.pow(uj - vj, 2) + Math.pow(vb - lb, 2));
        var se0 = (d > 0 ? d - lo : hi - d) / RP.z;
        p = d === 0 ? 1 : normTwoSided(Math.abs(d) / se0);
      } else {
        var k = 0, mean = 0, i, x;
        var dr = new Float64Array(nr);
        for (i = 0; i < nr; i++) {
          x = (vj + reps[j * nr + i]) - (vb + reps[b * nr + i]);
          dr[i] = x;
          if (isFinite(x)) { k += 1; mean += x; }
        }
        if (k < 2) { continue; }
        mean /= k;
        var ss = 0;
        for (i = 0; i < nr; i++) { if (isFinite(dr[i])) { ss += (dr[i] - mean) * (dr[i] - mean); } }
        var se = RP.method === "jackknife" ? Math.sqrt((k - 1) / k * ss) : Math.sqrt(ss / (k - 1));
        var crit = RP.tcrit[k - 1];
        lo = d - crit * se; hi = d + crit * se;
        p = se > 0 ? tTwoSided(Math.abs(d) / se, k - 1) : NaN;
      }
      if (span !== null) {
        lo = Math.min(Math.max(lo, -span), span); hi = Math.min(Math.max(hi, -span), span);
      }
      var degJ = !(isNum(e.lo[j]) && isNum(e.hi[j]) && e.hi[j] - e.lo[j] > 0);
      var valid = isNum(lo) && isNum(hi) && hi - lo > 0 && !degJ && !degB;
      out.dlo[j] = isNum(lo) ? lo : null; out.dhi[j] = isNum(hi) ? hi : null;
      out.sig[j] = valid && (lo > 0 || hi < 0) ? 1 : 0;
      out.p[j] = valid ? p : NaN;
    }
    var adj = adjust(out.p, R.adjustment);
    var alpha = 1 - (isNum(R.confidence) ? R.confidence : 0.95);
    out.sa = out.sig.map(function (g, j) { return g && adj[j] < alpha ? 1 : 0; });
    e._tests[baseline] = out;
    return out;
  }
  function diffText(c) {
    if (!c || c.missing || !isNum(c.v)) { return ""; }
    if (c.slice.name === state.baseline) { return "baseline"; }
    if (isNum(c.pct)) { return fmtPct(c.pct); }
    if (isNum(c.abs)) { return fmtSigned(c.abs) + " (abs.)"; }
    return "";
  }

  /* ------------------------------------------------------------------ slices shown */
  var POS = {};
  D.sliceOrder.forEach(function (n, i) { POS[n] = i; });
  /* The slices shown for ``metric``, baseline first: filtered (features, withheld, name,
   * minimum rows, significant only), sorted, cut to the top N. */
  var ROWS = {};  /* rowsFor per metric, emptied at every render (state is fixed during one) */
  function rowsFor(metric) {
    var memo = ROWS[metric + "\u0000" + state.run + "\u0000" + state.baseline];
    if (memo) { return memo; }
    memo = rowsForUncached(metric);
    ROWS[metric + "\u0000" + state.run + "\u0000" + state.baseline] = memo;
    return memo;
  }
  function rowsForUncached(metric) {
    var q = state.filter.trim().toLowerCase();
    var minC = state.minCount > 0 ? state.minCount : 0;
    var cells = {};
    function cellOf(n) { if (!cells[n]) { cells[n] = cell(state.run, metric, n); } return cells[n]; }
    var names = D.sliceOrder.filter(function (n) {
      var sl = SLICE[n];
      if (n === state.baseline) { return true; }
      if (state.features.indexOf(sl.feature) < 0) { return false; }
      if (!state.showWithheld && sl.withheld) { return false; }
      if (minC && sl.count < minC) { return false; }
      if (q && n.toLowerCase().indexOf(q) < 0) { return false; }
      if (state.sigOnly) { var c = cellOf(n); if (c.missing || !c.sigAdj) { return false; } }
      return true;
    });
    var key;
    if (state.sort === "value" || state.sort === "diff" || state.sort === "gap") {
      key = function (n) {
        var c = cellOf(n);
        var v = c.missing ? null : state.sort === "value" ? c.v : state.sort === "gap"
          ? (isNum(c.abs) ? Math.abs(c.abs) : null) : c.pct !== null ? c.pct : c.abs;
        return isNum(v) ? v : null;
      };
    } else if (state.sort === "sig") {
      /* adjusted-significant first, then unadjusted, then the rest; within each, the
       * largest absolute gap first (descending flips the whole order). */
      key = function (n) {
        var c = cellOf(n);
        if (c.missing || !isNum(c.abs)) { return null; }
        var rank = c.sigAdj ? 0 : c.significant ? 1 : 2;
        return rank * 1e6 - Math.min(Math.abs(c.abs), 9.99e5);
      };
    } else if (state.sort === "size") {
      key = function (n) { return SLICE[n].count; };
    } else if (state.sort === "name") {
      key = function (n) { return n; };
    } else {
      key = function (n) { return POS[n]; };
    }
    var rest = names.filter(function (n) { return n !== state.baseline; });
    var keys = {};
    rest.forEach(function (n) { keys[n] = key(n); });
    var sign = state.desc ? -1 : 1;
    rest.sort(function (a, b) {
      var ka = keys[a], kb = keys[b];
      if (ka === null && kb === null) { return POS[a] - POS[b]; }
      if (ka === null) { return 1; }
      if (kb === null) { return -1; }
      var r = typeof ka === "string" ? (ka < kb ? -1 : ka > kb ? 1 : 0) : ka - kb;
      return r !== 0 ? sign * r : POS[a] - POS[b];
    });
    if (state.top > 0) { rest = rest.slice(0, state.top); }
    return names.indexOf(state.baseline) >= 0 ? [state.baseline].concat(rest) : rest;
  }
  /* One page of ``rows`` (the baseline stays on every page). */
  function pageCount(rows) {
    var rest = rows.length - (rows[0] === state.baseline ? 1 : 0);
    return Math.max(1, Math.ceil(rest / state.pageSize));
  }
  function pageOf(rows) {
    var hasBase = rows[0] === state.baseline;
    var rest = hasBase ? rows.slice(1) : rows;
    var p = Math.min(Math.max(state.page, 0), pageCount(rows) - 1);
    var out = rest.slice(p * state.pageSize, (p + 1) * state.pageSize);
    return hasBase ? [state.baseline].concat(out) : out;
  }
  function pager(rows) {
    var n = pageCount(rows);
    var p = Math.min(Math.max(state.page, 0), n - 1);
    var rest = rows.length - (rows[0] === state.baseline ? 1 : 0);
    var go = function (k) { return function () { state.page = k; renderMain(); }; };
    return h("div", { class: "pager" }, [
      h("button", { type: "button", class: "pg-prev", disabled: p <= 0, onclick: go(p - 1), text: "‹ previous" }),
      h("span", { class: "pg-info", text: rest ? "slices " + (p * state.pageSize + 1) + "–" + Math.min(rest, (p + 1) * state.pageSize) +
        " of " + rest + " · page " + (p + 1) + " of " + n : "no slice matches" }),
      h("button", { type: "button", class: "pg-next", disabled: p >= n - 1, onclick: go(p + 1), text: "next ›" })
    ]);
  }

  /* ------------------------------------------------------------------ scales */
  function niceStep(raw) {
    if (!(raw > 0)) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(raw)));
    var f = raw / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
  }
  function axis(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    var step = niceStep((hi - lo) / n);
    var a = Math.floor(lo / step + 1e-9) * step;
    var b = Math.ceil(hi / step - 1e-9) * step;
    var ticks = [];
    for (var t = a; t <= b + step / 2; t += step) { ticks.push(Math.abs(t) < step / 1e6 ? 0 : t); }
    var dec = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
    return { lo: a, hi: b, ticks: ticks, label: function (v) { return v.toFixed(dec); } };
  }

  /* ------------------------------------------------------------------ bar chart */
  var W = 900, LABEL_X = 232, X0 = 244, X1 = 612, TEXT_X = 636, TOP = 30;

  /* Labels for ``names`` of at most ``n`` characters that stay distinct: where shortening
   * makes two read the same, those get longer (up to the full name). */
  function uniqueLabels(names, n) {
    var out = {};
    var lim = {};
    names.forEach(function (x) { lim[x] = n; });
    for (var pass = 0; pass < 40; pass++) {
      var seen = {}, clash = false;
      names.forEach(function (x) { var t = shorten(x, lim[x]); out[x] = t; (seen[t] = seen[t] || []).push(x); });
      Object.keys(seen).forEach(function (t) {
        if (seen[t].length > 1) { seen[t].forEach(function (x) { if (lim[x] < x.length) { lim[x] += 6; clash = true; } }); }
      });
      if (!clash) { break; }
    }
    return out;
  }
  function barChart(metric, rows, runs) {
    var LABELS = uniqueLabels(rows, 34);
    var multi = runs.length > 1;
    var rowH = multi ? 36 : 24;
    var barH = multi ? 11 : 14;
    var vals = [0];
    var cells = {};
    rows.forEach(function (n) {
      cells[n] = runs.map(function (ri) {
        var c = cell(ri, metric, n);
        if (!c.missing) { [c.v, c.lo, c.hi].forEach(function (v) { if (isNum(v)) { vals.push(v); } }); }
        return c;
      });
    });
    var ax = axis(Math.min.apply(null, vals), Math.max.apply(null, vals), 6);
    var x = function (v) { return X0 + (v - ax.lo) / (ax.hi - ax.lo) * (X1 - X0); };
    var H = TOP + rows.length * rowH + 10;
    var svg = s("svg", {
      class: "chart", width: W, height: H, viewBox: "0 0 " + W + " " + H,
      role: "img", "aria-label": metricName(metric) + " per slice"
    });
    var grid = s("g", { class: "grid" });
    ax.ticks.forEach(function (t) {
      add(grid, s("line", { x1: x(t), x2: x(t), y1: TOP - 6, y2: H - 6 }));
      add(grid, s("text", { x: x(t), y: TOP - 12, "text-anchor": "middle", class: "tick", text: ax.label(t) }));
    });
    add(svg, grid);
    if (ax.lo < 0 && ax.hi > 0) {
      add(svg, s("line", { class: "zero", x1: x(0), x2: x(0), y1: TOP - 6, y2: H - 6 }));
    }
    add(svg, s("text", { x: TEXT_X, y: TOP - 12, class: "colhead", text: "value · Δ vs baseline" + (multi ? " · (change)" : "") }));
    /* Dashed reference line at the baseline value of the first run, under the rows. */
    var bc = cell(state.run, metric, state.baseline);
    if (!bc.missing && isNum(bc.v)) {
      add(svg, s("line", { class: "baseline-line", x1: x(bc.v), x2: x(bc.v), y1: TOP - 6, y2: H - 6 }));
    }
    rows.forEach(function (n, i) {
      var y = TOP + i * rowH;
      var sl = sliceInfo(n);
      var isBase = n === state.baseline;
      var g = s("g", {
        class: "row" + (isBase ? " is-baseline" : "") + (sl.withheld ? " is-withheld" : ""),
        "data-slice": n, transform: "translate(0," + y + ")", tabindex: 0
      });
      add(g, s("rect", { class: "row-bg", x: 0, y: 0, width: W, height: rowH }));
      var label = s("text", {
        class: "slabel", x: LABEL_X, y: rowH / 2 + 4, "text-anchor": "end",
        text: LABELS[n]
      });
      if (LABELS[n].length > 34) { label.setAttribute("textLength", LABEL_X - 4); label.setAttribute("lengthAdjust", "spacingAndGlyphs"); }
      add(label, s("title", { text: n + " (" + sl.count.toLocaleString("en-US") + " rows)" }));
      add(g, label);
      var open = function () { openDetail(n); };
      g.addEventListener("click", open);
      g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { open(); } });
      var top0 = (rowH - barH * runs.length - (runs.length - 1) * 2) / 2;
      var allWithheld = cells[n].every(function (c) { return !c.missing && c.slice.withheld; });
      if (allWithheld) {
        /* One box for the row: the slice is withheld in every result shown. */
        add(g, s("rect", { class: "withheld-box", x: X0, y: rowH / 2 - 8, width: X1 - X0, height: 16, rx: 2 }));
        add(g, s("text", {
          class: "withheld-text", x: X0 + 6, y: rowH / 2 + 4,
          text: "withheld · " + sl.count.toLocaleString("en-US") + " rows · " + (sl.reason || "")
        }));
        add(g, s("text", { class: "vtext muted", x: TEXT_X, y: rowH / 2 + 4, text: "withheld" }));
        add(svg, g);
        return;
      }
      runs.forEach(function (ri, k) {
        var c = cells[n][k];
        var by = top0 + k * (barH + 2);
        var cy = by + barH / 2;
        var tx = s("text", { class: "vtext", x: TEXT_X, y: cy + 4 });
        if (c.missing) {
          add(tx, "not in " + D.runs[ri].label);
          tx.setAttribute("class", "vtext muted");
        } else if (c.slice.withheld) {
          add(g, s("rect", { class: "withheld-box", x: X0, y: by, width: X1 - X0, height: barH, rx: 2 }));
          add(g, s("text", {
            class: "withheld-text", x: X0 + 6, y: cy + 4,
            text: "withheld · " + c.slice.count.toLocaleString("en-US") + " rows · " + (c.slice.reason || "")
          }));
          add(tx, "withheld");
          tx.setAttribute("class", "vtext muted");
        } else if (!isNum(c.v)) {
          add(tx, undefinedText(c));
          tx.setAttribute("class", "vtext muted");
        } else {
          var xa = x(Math.min(0, c.v)), xb = x(Math.max(0, c.v));
          var bar = s("rect", {
            class: "bar", x: xa, y: by, width: Math.max(xb - xa, 1), height: barH,
            fill: COLORS[ri % COLORS.length], "data-run": ri, "data-value": c.v
          });
          add(bar, s("title", {
            text: D.runs[ri].label + " · " + n + ": " + fmt(c.v) +
              (isNum(c.lo) ? " " + fmtCI(c.lo, c.hi) : "")
          }));
          add(g, bar);
          if (isNum(c.lo) && isNum(c.hi)) {
            var wl = x(c.lo), wh = x(c.hi), cap = barH / 2 + 1;
            /* the interval and its two caps as one path (one element, not three) */
            add(g, s("path", { class: "whisker", fill: "none", "data-lo": c.lo, "data-hi": c.hi,
              d: "M" + wl + " " + cy + "H" + wh + "M" + wl + " " + (cy - cap) + "V" + (cy + cap) + "M" + wh + " " + (cy - cap) + "V" + (cy + cap) }));
          }
          add(tx, s("tspan", { class: "num", "data-run": ri, text: fmt(c.v) }));
          var dt = diffText(c);
          if (dt) {
            add(tx, s("tspan", { class: "diff" + (c.significant ? " sig" : ""), dx: 8, text: dt + (c.significant ? " ✱" : "") }));
          }
          if (k > 0) {
            var a = cells[n][0];
            if (!a.missing && isNum(a.v)) {
              add(tx, s("tspan", { class: "change", dx: 8, text: "(" + fmtSigned(c.v - a.v) + ")" }));
            }
          }
        }
        add(g, tx);
      });
      add(svg, g);
    });
    return svg;
  }

  /* ------------------------------------------------------------------ tables */
  function table(headers, bodyRows, cls) {
    var thead = h("thead", null, h("tr", null, headers.map(function (t) {
      return h("th", { title: t.help || null, class: t.num ? "num" : null, text: t.label });
    })));
    return h("div", { class: "table-wrap" }, h("table", { class: cls || "data" }, [thead, h("tbody", null, bodyRows)]));
  }
  function sliceButton(n) {
    return h("button", {
      type: "button", class: "slice-link", title: "Show details and sample rows for " + n,
      onclick: function () { openDetail(n); }
    }, n);
  }
  function metricTable(metric, rows, runs) {
    var multi = runs.length > 1;
    var headers = [{ label: "Slice" }, { label: "Feature" }, { label: "Rows", num: true }];
    runs.forEach(function (ri) {
      var p = multi ? D.runs[ri].label + " " : "";
      headers.push({ label: p + (multi ? "value" : "Value"), num: true });
      headers.push({ label: p + confLabel() + " CI", num: true });
      headers.push({ label: p + "Δ vs baseline", num: true, help: "(value − baseline) / baseline, computed in the page" });
      if (!multi) {
        headers.push({ label: "Δ (abs.) with " + confLabel() + " CI", num: true, help: "From the evaluation: only for the configured baseline" });
      }
      headers.push({ label: p + "sig.", help: "✱: the " + confLabel() + " CI of the difference from the baseline excludes 0" });
      var R0 = D.results[D.runs[ri].result];
      headers.push({ label: p + "adj. sig.", help: "✱: still significant after the " + adjName(R0) + " adjustment across slices" });
    });
    if (multi) {
      headers.push({ label: D.runs[runs[1]].label + " − " + D.runs[runs[0]].label, num: true,
        help: "the change with its " + confLabel() + " CI from the paired replicates (both models on the same rows), when available" });
      headers.push({ label: "change sig.", help: "✱: the paired interval of the change excludes 0; ✱✱: still after the adjustment across slices" });
      headers.push({ label: "change %", num: true });
    }
    var body = rows.map(function (n) {
      var sl = sliceInfo(n);
      var tds = [h("td", null, sliceButton(n)), h("td", { text: sl.feature }),
        h("td", { class: "num c-count", text: sl.count.toLocaleString("en-US") })];
      var cs = runs.map(function (ri) { return cell(ri, metric, n); });
      cs.forEach(function (c, k) {
        var ri = runs[k];
        var ncols = multi ? 4 : 5;
        if (c.missing) {
          tds.push(h("td", { class: "muted", colspan: ncols, text: "not in " + D.runs[ri].label }));
          return;
        }
        if (c.slice.withheld) {
          tds.push(h("td", { class: "c-value muted", "data-run": ri, text: "withheld" }));
          tds.push(h("td", { class: "muted", colspan: ncols - 1, text: c.slice.reason || "" }));
          return;
        }
        tds.push(h("td", { class: isNum(c.v) ? "num c-value" : "c-value wrap muted", "data-run": ri, text: isNum(c.v) ? fmt(c.v) : undefinedText(c) }));
        var ci = fmtCI(c.lo, c.hi);
        if (isNum(c.me) && c.me > 0) { ci += " ±" + fmt(c.me) + "ᵉ"; }
        tds.push(h("td", { class: "num c-ci", "data-run": ri, text: ci }));
        tds.push(h("td", { class: "num c-diff", "data-run": ri, text: diffText(c) || "–" }));
        if (!multi) {
          var abs = n === state.baseline ? "–" : c.sigKnown
            ? fmtSigned(c.abs) + (isNum(c.dlo) && isNum(c.dhi) ? " " + fmtCI(c.dlo, c.dhi) : "")
            : fmtSigned(c.abs) + " (no CI)";
          tds.push(h("td", { class: "num c-absdiff", text: isNum(c.v) ? abs : "–" }));
        }
        tds.push(h("td", {
          class: "c-sig" + (c.significant ? " sig" : ""), "data-run": ri,
          text: c.significant ? "✱" : c.sigKnown || n === state.baseline ? "" : "n/a",
          "data-sig-from": c.sigFrom || null,
          title: c.sigKnown ? (c.note || (c.sigFrom === "replicates" ? "tested in the page from the replicates" : null)) : "No significance: " + (c.sigWhy || "")
        }));
        tds.push(h("td", {
          class: "c-sigadj" + (c.sigAdj ? " sig" : ""), "data-run": ri,
          text: c.sigAdj ? "✱" : c.sigKnown || n === state.baseline ? "" : "n/a"
        }));
      });
      if (multi) {
        var a = cs[0], b = cs[1];
        var ok = !a.missing && !b.missing && isNum(a.v) && isNum(b.v);
        var pc = ok ? changeCell(runs[0], runs[1], metric, n) : null;
        var chText = !ok ? "–" : pc && pc.paired ? fmtSigned(pc.v) + (isNum(pc.lo) && isNum(pc.hi) ? " " + fmtCI(pc.lo, pc.hi) : "") : fmtSigned(b.v - a.v);
        tds.push(h("td", { class: "num c-change", "data-paired": pc && pc.paired ? "1" : "0",
          title: pc ? (pc.paired ? "paired interval from the replicates both models share" : "no interval: " + pc.why) : null, text: chText }));
        tds.push(h("td", { class: "c-change-sig" + (pc && pc.sig ? " sig" : ""), text: pc && pc.paired ? (pc.sa ? "✱✱" : pc.sig ? "✱" : "") : ok ? "n/a" : "" }));
        tds.push(h("td", { class: "num c-change-pct", text: ok && a.v !== 0 ? fmtPct((b.v - a.v) / Math.abs(a.v) * 100) : "–" }));
      }
      return h("tr", { "data-slice": n, class: n === state.baseline ? "is-baseline" : null }, tds);
    });
    return table(headers, body);
  }
  /* The table under a chart: open at first for small reports; for large ones built only
   * when opened (it repeats the chart's numbers), and kept open across re-renders. */
  var TABLE_OPEN = {};
  var SMALL = D.sliceOrder.length <= 60;
  function lazyTable(id, make) {
    var open = TABLE_OPEN[id] !== undefined ? TABLE_OPEN[id] : SMALL;
    var d = h("details", { class: "table-details", open: open }, [h("summary", { text: "Table" })]);
    var built = false;
    if (open) { add(d, make()); built = true; }
    d.addEventListener("toggle", function () {
      TABLE_OPEN[id] = d.open;
      if (d.open && !built) { add(d, make()); built = true; }
    });
    return d;
  }
  function confLabel() {
    var c = PRIMARY.confidence;
    return isNum(c) ? Math.round(c * 1000) / 10 + "%" : "";
  }

  /* ------------------------------------------------------------------ cards */
  function metricCard(metric, runs) {
    var all = rowsFor(metric);
    var rows = pageOf(all);
    var sub = chipText([metric]);
    var bc = cell(state.run, metric, state.baseline);
    var anyMe = runs.some(function (ri) {
      var e = entry(ri, metric);
      return e && e.me && e.me.some(function (v) { return isNum(v) && v > 0; });
    });
    var card = h("section", { class: "card chart-card", "data-metric": metric }, [
      h("header", { class: "card-head" }, [
        h("h3", { class: "chart-title" }, [metricName(metric), h("span", { class: "metric-id", text: " " + metric })]),
        h("span", { class: "chip", text: sub })
      ]),
      h("p", { class: "help", text: metricHelp(metric) }),
      h("p", { class: "caption" }, [
        "Baseline ", h("b", { text: state.baseline }),
        !bc.missing && isNum(bc.v) ? " = " + fmt(bc.v) : "",
        " · " + (all.length - (all[0] === state.baseline ? 1 : 0)) + " of " + (D.sliceOrder.length - 1) +
          " other slices match. Click a slice for details."
      ]),
      pager(all),
      h("div", { class: "chart-box" }, barChart(metric, rows, runs)),
      anyMe ? h("p", { class: "note", text: "ᵉ Threshold-free metrics come from a " + (PRIMARY.aucBins || "") + "-bin score histogram; ± gives the largest possible error." }) : null,
      lazyTable(metric, function () { return metricTable(metric, rows, runs); })
    ]);
    return card;
  }

  /* A plot of one metric against another per slice (calibration: mean score against mean
   * label), with both intervals, and a table of the plot's metrics under it. */
  function plotCard(P, runs) {
    var allRows = rowsFor(P.y);
    var rows = pageOf(allRows);
    var pts = [];
    var xs = [], ys = [];
    rows.forEach(function (n) {
      runs.forEach(function (ri, k) {
        var cx = cell(ri, P.x, n), cy = cell(ri, P.y, n);
        if (cx.missing || cy.missing || !isNum(cx.v) || !isNum(cy.v)) { return; }
        pts.push({ n: n, ri: ri, k: k, px: cx, py: cy });
        [cx.v, cx.lo, cx.hi].forEach(function (v) { if (isNum(v)) { xs.push(v); } });
        [cy.v, cy.lo, cy.hi].forEach(function (v) { if (isNum(v)) { ys.push(v); } });
      });
    });
    var card = h("section", { class: "card chart-card plot-card " + P.card, "data-metric": P.id, "data-plot": P.plot }, [
      h("header", { class: "card-head" }, [
        h("h3", { class: "chart-title", text: P.title }),
        h("span", { class: "chip", text: chipText([P.y, P.x]) })
      ]),
      h("p", { class: "help", text: P.help }),
      pager(allRows)
    ]);
    if (!pts.length) {
      add(card, h("p", { class: "muted", text: "No slice has both a " + metricName(P.x) + " and a " + metricName(P.y) + " value." }));
      return card;
    }
    /* With a diagonal (y = x) both axes share one scale; otherwise each has its own. */
    var diag = typeof P.diagonal === "string" && P.diagonal.length > 0;
    var both = xs.concat(ys);
    var axX = diag ? axis(Math.min.apply(null, both), Math.max.apply(null, both), 5)
      : axis(Math.min.apply(null, xs), Math.max.apply(null, xs), 5);
    var axY = diag ? axX : axis(Math.min.apply(null, ys), Math.max.apply(null, ys), 5);
    var S = 360, L = 64, T = 16, WW = L + S + 200, HH = T + S + 46;
    var x = function (v) { return L + (v - axX.lo) / (axX.hi - axX.lo) * S; };
    var y = function (v) { return T + S - (v - axY.lo) / (axY.hi - axY.lo) * S; };
    var svg = s("svg", { class: "chart", width: WW, height: HH, viewBox: "0 0 " + WW + " " + HH, role: "img", "aria-label": P.title });
    var grid = s("g", { class: "grid" });
    axX.ticks.forEach(function (t) {
      add(grid, s("line", { x1: x(t), x2: x(t), y1: T, y2: T + S }));
      add(grid, s("text", { class: "tick", x: x(t), y: T + S + 16, "text-anchor": "middle", text: axX.label(t) }));
    });
    axY.ticks.forEach(function (t) {
      add(grid, s("line", { x1: L, x2: L + S, y1: y(t), y2: y(t) }));
      add(grid, s("text", { class: "tick", x: L - 6, y: y(t) + 4, "text-anchor": "end", text: axY.label(t) }));
    });
    add(svg, grid);
    if (diag) {
      add(svg, s("line", { class: "diagonal", x1: x(axX.lo), y1: y(axX.lo), x2: x(axX.hi), y2: y(axX.hi) }));
    }
    add(svg, s("text", { class: "axis-title", x: L + S / 2, y: T + S + 36, "text-anchor": "middle", text: P.xLabel }));
    add(svg, s("text", { class: "axis-title", x: 14, y: T + S / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (T + S / 2) + ")", text: P.yLabel }));
    var labelled = rows.length <= 12;
    var PLAB = uniqueLabels(rows, 28);
    pts.forEach(function (p) {
      var cx = x(p.px.v), cy = y(p.py.v);
      var g = s("g", { class: "point", "data-slice": p.n, "data-run": p.ri, "data-x": p.px.v, "data-y": p.py.v });
      if (isNum(p.px.lo) && isNum(p.px.hi)) { add(g, s("line", { class: "whisker", x1: x(p.px.lo), x2: x(p.px.hi), y1: cy, y2: cy })); }
      if (isNum(p.py.lo) && isNum(p.py.hi)) { add(g, s("line", { class: "whisker", x1: cx, x2: cx, y1: y(p.py.lo), y2: y(p.py.hi) })); }
      var col = COLORS[p.ri % COLORS.length];
      var mark = p.k === 0
        ? s("circle", { cx: cx, cy: cy, r: p.n === state.baseline ? 6 : 4.5, fill: col, class: "dot" })
        : s("rect", { x: cx - 4, y: cy - 4, width: 8, height: 8, fill: col, class: "dot" });
      add(mark, s("title", { text: D.runs[p.ri].label + " · " + p.n + ": " + metricName(P.x) + " " + fmt(p.px.v) + ", " + metricName(P.y) + " " + fmt(p.py.v) }));
      add(g, mark);
      if (labelled && p.k === 0) {
        add(g, s("text", { class: "plabel", x: cx + 8, y: cy - 6, text: PLAB[p.n] }));
      }
      g.addEventListener("click", function () { openDetail(p.n); });
      add(svg, g);
    });
    /* Key, to the right of the plot. */
    var kx = L + S + 28, ky = T + 10;
    runs.forEach(function (ri, k) {
      var col = COLORS[ri % COLORS.length];
      add(svg, k === 0
        ? s("circle", { cx: kx + 5, cy: ky + k * 22, r: 4.5, fill: col })
        : s("rect", { x: kx + 1, y: ky + k * 22 - 4, width: 8, height: 8, fill: col }));
      add(svg, s("text", { class: "plabel", x: kx + 16, y: ky + k * 22 + 4, text: truncate(D.runs[ri].label, 26) }));
    });
    var ky2 = ky + runs.length * 22 + 6;
    add(svg, s("line", { class: "whisker", x1: kx, x2: kx + 10, y1: ky2, y2: ky2 }));
    add(svg, s("text", { class: "plabel", x: kx + 16, y: ky2 + 4, text: confLabel() + " CI of each value" }));
    if (diag) {
      ky2 += 22;
      add(svg, s("line", { class: "diagonal", x1: kx, x2: kx + 10, y1: ky2, y2: ky2 }));
      add(svg, s("text", { class: "plabel", x: kx + 16, y: ky2 + 4, text: truncate(P.diagonal, 30) }));
    }
    add(svg, s("circle", { cx: kx + 5, cy: ky2 + 22, r: 6, fill: "none", stroke: "#59636e" }));
    add(svg, s("text", { class: "plabel", x: kx + 16, y: ky2 + 26, text: "large dot: baseline slice" }));
    add(card, h("div", { class: "chart-box" }, svg));
    var tm = P.table && P.table.length ? P.table : [P.x, P.y];
    var headers = [{ label: "Slice" }, { label: "Rows", num: true }];
    runs.forEach(function (ri) {
      var p = runs.length > 1 ? D.runs[ri].label + " " : "";
      tm.forEach(function (m) { headers.push({ label: p + metricName(m), num: true, help: metricHelp(m) }); });
    });
    var body = rows.map(function (n) {
      var tds = [h("td", null, sliceButton(n)), h("td", { class: "num", text: sliceInfo(n).count.toLocaleString("en-US") })];
      runs.forEach(function (ri) {
        tm.forEach(function (m) {
          var c = cell(ri, m, n);
          var t = c.missing ? "–" : c.slice.withheld ? "withheld" : fmt(c.v) + (isNum(c.lo) ? " " + fmtCI(c.lo, c.hi) : "");
          tds.push(h("td", { class: "num", "data-metric": m, text: t }));
        });
      });
      return h("tr", { "data-slice": n }, tds);
    });
    add(card, lazyTable(P.id, function () { return table(headers, body); }));
    return card;
  }

  function slicesCard() {
    var multi = D.results.length > 1;
    var headers = [{ label: "Feature" }, { label: "Slice" }];
    D.results.forEach(function (R) {
      var p = multi ? R.name + " " : "";
      headers.push({ label: p + "rows", num: true }, { label: p + "weighted", num: true }, { label: p + "status" });
    });
    var np = Math.max(1, Math.ceil(D.sliceOrder.length / state.pageSize));
    var sp = Math.min(Math.max(state.slicePage || 0, 0), np - 1);
    var go = function (k) { return function () { state.slicePage = k; renderMain(); }; };
    var spager = h("div", { class: "pager" }, [
      h("button", { type: "button", class: "pg-prev", disabled: sp <= 0, onclick: go(sp - 1), text: "‹ previous" }),
      h("span", { class: "pg-info", text: "slices " + (sp * state.pageSize + 1) + "–" + Math.min(D.sliceOrder.length, (sp + 1) * state.pageSize) + " of " + D.sliceOrder.length }),
      h("button", { type: "button", class: "pg-next", disabled: sp >= np - 1, onclick: go(sp + 1), text: "next ›" })
    ]);
    var body = D.sliceOrder.slice(sp * state.pageSize, (sp + 1) * state.pageSize).map(function (n) {
      var sl = sliceInfo(n);
      var tds = [h("td", { text: sl.feature }), h("td", null, sliceButton(n))];
      D.results.forEach(function (R) {
        var j = R.index[n];
        if (j === undefined) { tds.push(h("td", { colspan: 3, class: "muted", text: "not evaluated" })); return; }
        var x = R.slices[j];
        tds.push(h("td", { class: "num", text: x.count.toLocaleString("en-US") }));
        tds.push(h("td", { class: "num", text: fmt(x.weighted) }));
        tds.push(h("td", { class: x.withheld ? "status withheld" : "status", text: x.withheld ? "withheld: " + (x.reason || "") : n === R.baseline ? "ok (configured baseline)" : "ok" }));
      });
      return h("tr", { "data-slice": n, class: sl.withheld ? "is-withheld" : null }, tds);
    });
    var nw = D.sliceOrder.filter(function (n) { return sliceInfo(n).withheld; }).length;
    return h("section", { class: "card slices-card" }, [
      h("header", { class: "card-head" }, [h("h3", { text: "Slices" }), h("span", { class: "chip", text: D.sliceOrder.length + " slices · " + nw + " withheld" })]),
      h("p", { class: "help", text: "Every evaluated slice with its size. Withheld slices have too few rows for reliable metrics; their values are not reported." }),
      np > 1 ? spager : null,
      h("details", { class: "table-details", open: true }, [h("summary", { text: "Table" }), table(headers, body)])
    ]);
  }

  /* ------------------------------------------------------------------ drill-down */
  function openDetail(n) {
    state.detail = n;
    renderMain();
    /* The card is a panel fixed at the side of the window: opening it moves nothing. */
    var d = root.querySelector(".detail-card");
    if (d && d.focus) { try { d.focus({ preventScroll: true }); } catch (err) { /* old browsers */ } }
  }
  function detailCard(runs) {
    var n = state.detail;
    var sl = sliceInfo(n);
    if (!sl) { return null; }
    var close = h("button", { type: "button", class: "close", title: "Close", text: "×", onclick: function () { state.detail = null; renderMain(); } });
    var card = h("section", { class: "card detail-card", "data-slice": n, tabindex: -1, role: "dialog", "aria-label": "Slice " + n }, [
      h("header", { class: "card-head" }, [h("h3", null, ["Slice ", h("span", { class: "detail-name", text: n })]), close]),
      h("p", { class: "caption" }, [
        "Feature ", h("b", { text: sl.feature }), " · " + sl.count.toLocaleString("en-US") + " rows",
        sl.withheld ? " · withheld: " + (sl.reason || "") : ""
      ])
    ]);
    var metrics = state.metrics.filter(function (m) { return !isPlot(m); });
    if (metrics.length) {
      var headers = [{ label: "Metric" }];
      runs.forEach(function (ri) {
        var p = runs.length > 1 ? D.runs[ri].label + " " : "";
        headers.push({ label: p + "value", num: true }, { label: p + confLabel() + " CI", num: true }, { label: p + "Δ vs baseline", num: true });
      });
      var body = metrics.map(function (m) {
        var tds = [h("td", { text: metricName(m) + (isFree(m) ? "" : " @ " + D.thresholds[state.thr]) })];
        runs.forEach(function (ri) {
          var c = cell(ri, m, n);
          if (c.missing || c.slice.withheld) { tds.push(h("td", { colspan: 3, class: "muted", text: c.missing ? "not evaluated" : "withheld" })); return; }
          tds.push(h("td", { class: "num", text: fmt(c.v) }), h("td", { class: "num", text: fmtCI(c.lo, c.hi) }),
            h("td", { class: "num" + (c.significant ? " sig" : ""), text: (diffText(c) || "–") + (c.significant ? " ✱" : "") }));
        });
        return h("tr", null, tds);
      });
      add(card, table(headers, body));
    }
    add(card, h("h4", { text: "Sample rows" }));
    var S = D.sample;
    if (!S) {
      add(card, h("p", { class: "muted", text: "No sample table was given. Pass sample= (a table with the slice columns, the label and the scores) to render_html to see example rows here." }));
      return card;
    }
    var bs = S.bySlice[n];
    if (!bs) {
      add(card, h("p", { class: "muted", text: "No sample rows for this slice." }));
      return card;
    }
    if (bs.missing && bs.missing.length) {
      add(card, h("p", { class: "muted", text: "The sample lacks the column(s) " + bs.missing.join(", ") + " that define this slice." }));
      return card;
    }
    if (!bs.rows.length) {
      add(card, h("p", { class: "caption", text: "0 of " + (bs.matched || 0).toLocaleString("en-US") + " sample rows in this slice." }));
      return card;
    }
    /* Outcome of each row at the current threshold for the model shown (TP, FP, TN, FN):
     * positive when its score is above the threshold, as evaluate counts it. */
    var run = D.runs[state.run], RR = D.results[run.result];
    var scoreCol = null;
    var li = S.label !== null && S.label !== undefined ? S.columns.indexOf(S.label) : -1;
    var colsOf = (RR.scoreColumns || {})[run.model];
    if (colsOf && colsOf.length === 1) { scoreCol = S.columns.indexOf(colsOf[0]); }
    var thr = HAS_THR ? D.thresholds[state.thr] : null;
    var outcomeOf = function (k) {
      if (li < 0 || scoreCol === null || scoreCol < 0 || !isNum(thr)) { return null; }
      var y = S.rows[k][li], sc = S.rows[k][scoreCol];
      if (!isNum(sc) || (y !== 0 && y !== 1 && y !== true && y !== false)) { return null; }
      var pos = sc > thr, lab = y === 1 || y === true;
      return lab ? (pos ? "TP" : "FN") : (pos ? "FP" : "TN");
    };
    var outs = bs.rows.map(outcomeOf);
    var known = outs.some(function (o) { return o !== null; });
    var counts = { TP: 0, FP: 0, TN: 0, FN: 0 };
    outs.forEach(function (o) { if (o) { counts[o] += 1; } });
    if (known) {
      var choice = ["all", "TP", "FP", "TN", "FN"].map(function (o) {
        return h("button", { type: "button", class: "outcome-btn" + (state.outcome === o ? " on" : ""), "data-outcome": o,
          "aria-pressed": state.outcome === o ? "true" : "false",
          onclick: function (ev) { if (ev && ev.preventDefault) { ev.preventDefault(); } state.outcome = o; renderMain(); },
          text: o === "all" ? "all (" + outs.length + ")" : o + " (" + counts[o] + ")" });
      });
      add(card, h("div", { class: "outcome-filter", role: "group", "aria-label": "Filter sample rows by outcome" }, choice));
    }
    var keep = bs.rows.filter(function (k, i) { return !known || state.outcome === "all" || outs[i] === state.outcome; });
    add(card, h("p", { class: "caption sample-caption", text: keep.length + " shown of " + bs.rows.length + " drawn of " + (bs.matched || 0).toLocaleString("en-US") +
      " sample rows in this slice (at most " + S.perSlice + ", drawn with a fixed seed" + (isNum(S.stratified) ? ", stratified by outcome at threshold " + S.stratified : "") +
      ", in sample order)" + (known ? "; outcome at threshold " + thr + " for " + run.label : "") + "." }));
    if (!keep.length) { return card; }
    var hdr = [{ label: "outcome" }].filter(function () { return known; }).concat(S.columns.map(function (c) {
      return { label: c, help: (S.features || []).indexOf(c) >= 0 ? "feature column" : null };
    }));
    /* A column with any fractional number shows all its numbers with decimals. */
    var frac = S.columns.map(function (c, i) {
      return bs.rows.some(function (k) { var v = S.rows[k][i]; return typeof v === "number" && !Number.isInteger(v); });
    });
    var rowsEl = keep.map(function (k) {
      var o = outcomeOf(k);
      var tds = S.rows[k].map(function (v, i) {
        var t = v === null ? "null" : typeof v === "number" ? (frac[i] ? v.toFixed(Math.abs(v) >= 100 ? 1 : 3) : String(v)) : String(v);
        return h("td", { class: typeof v === "number" ? "num" : "wrap", text: t });
      });
      if (known) { tds.unshift(h("td", { class: "c-outcome", text: o || "–" })); }
      return h("tr", { class: "sample-row", "data-outcome": o || "" }, tds);
    });
    add(card, table(hdr, rowsEl, "data sample"));
    return card;
  }

  /* ------------------------------------------------------------------ headline */
  /* What the evaluation is about, in words: both slices' values with intervals and the
   * gap with its interval and significance, for every model shown. */
  function headlineCard() {
    var H = D.headline;
    if (!H) { return null; }
    var m = H.metric;
    var items = D.runs.map(function (run, ri) {
      var R = D.results[run.result];
      var e = null;
      var saved = state.baseline;
      state.baseline = H.reference;
      var a = cell(ri, m, H.slice), b = cell(ri, m, H.reference);
      state.baseline = saved;
      e = entry(ri, m);
      var li = h("li", { class: "hl-run", "data-run": ri });
      if (a.missing || b.missing || !e) { add(li, run.label + ": not evaluated for both slices."); return li; }
      if (!isNum(a.v) || !isNum(b.v)) {
        add(li, run.label + ": " + metricName(m) + " is withheld or undefined for " +
          (!isNum(a.v) ? H.slice + " (" + (a.slice.withheld ? a.slice.reason : a.note || "no value") + ")" : H.reference + " (" + (b.slice.withheld ? b.slice.reason : b.note || "no value") + ")") + ".");
        return li;
      }
      var gap = a.v - b.v;
      var known = a.sigKnown && isNum(a.dlo);
      var words = known
        ? (a.sigAdj ? "a significant gap, also after the " + adjName(R) + " adjustment"
          : a.significant ? "significant on its own, but not after the " + adjName(R) + " adjustment across slices"
          : "not significant: its interval includes 0")
        : "its interval is not known: " + (a.sigWhy || "no interval") + "; evaluate(..., baseline=\"" + H.reference + "\") tests it";
      add(li, [h("b", { text: run.label }), ": " + metricName(m) + " is ",
        h("span", { class: "hl-a", text: fmt(a.v) }), " " + fmtCI(a.lo, a.hi) + " for " + H.slice + " and ",
        h("span", { class: "hl-b", text: fmt(b.v) }), " " + fmtCI(b.lo, b.hi) + " for " + H.reference + "; the gap is ",
        h("span", { class: "hl-gap" + (known && a.significant ? " sig" : ""), text: fmtSigned(gap) }),
        known && isNum(a.dlo) ? " " + fmtCI(a.dlo, a.dhi) : "", " (" + words + ")."]);
      return li;
    });
    return h("section", { class: "card headline-card" }, [
      h("header", { class: "card-head" }, [h("h3", { text: "Headline: " + metricName(m) + ", " + H.slice + " vs " + H.reference }),
        h("span", { class: "chip", text: chipText([m]) })]),
      h("p", { class: "help", text: metricHelp(m) }),
      h("ul", { class: "hl-list" }, items),
      h("p", { class: "note", text: "Intervals are " + confLabel() + " confidence intervals; the gap is " + H.slice + " − " + H.reference + "." })
    ]);
  }


  /* ------------------------------------------------------------------ thresholds at a glance */
  /* Metric against threshold, one line per slice with its interval as a band (as Fairness
   * Indicators shows): the baseline, the headline slice and the first slices of the current
   * view (filters and sort apply), for every charted per-threshold metric. */
  function curveSlices(metric) {
    var out = [state.baseline];
    if (D.headline && D.headline.metric === metric) {
      [D.headline.slice, D.headline.reference].forEach(function (n) { if (out.indexOf(n) < 0) { out.push(n); } });
    }
    var rows = rowsFor(metric);
    for (var i = 0; i < rows.length && out.length < state.curveN + 1; i++) {
      var n = rows[i];
      if (out.indexOf(n) < 0 && !SLICE[n].withheld) { out.push(n); }
    }
    return out;
  }
  function curvePanel(metric, slices, ri) {
    var run = D.runs[ri], R = D.results[run.result];
    var byCls = R.values[run.model];
    var entries = byCls && byCls[state.cls] ? byCls[state.cls][metric] : null;
    var PW = 420, PH = 230, L = 52, T = 14, PR = 12, PB = 40;
    var svg = s("svg", { class: "chart curve-chart", width: PW, height: PH, viewBox: "0 0 " + PW + " " + PH, role: "img",
      "aria-label": metricName(metric) + " against threshold, " + run.label, "data-metric": metric, "data-run": ri });
    if (!entries) { add(svg, s("text", { x: L, y: PH / 2, class: "tick", text: "not evaluated for " + run.label })); return svg; }
    var ts = R.thresholds, vals = [];
    var series = slices.map(function (n) {
      var j = R.index[n];
      var pts = ts.map(function (t, k) {
        var e = entries[k];
        if (j === undefined || !e || !isNum(e.v[j])) { return null; }
        [e.v[j], e.lo[j], e.hi[j]].forEach(function (v) { if (isNum(v)) { vals.push(v); } });
        return { t: t, v: e.v[j], lo: e.lo[j], hi: e.hi[j] };
      });
      return { n: n, pts: pts };
    });
    if (!vals.length) { add(svg, s("text", { x: L, y: PH / 2, class: "tick", text: "no values for these slices" })); return svg; }
    var axX = axis(Math.min.apply(null, ts), Math.max.apply(null, ts), 5);
    var axY = axis(Math.min.apply(null, vals), Math.max.apply(null, vals), 4);
    var x = function (v) { return L + (v - axX.lo) / (axX.hi - axX.lo) * (PW - L - PR); };
    var y = function (v) { return T + (PH - T - PB) - (v - axY.lo) / (axY.hi - axY.lo) * (PH - T - PB); };
    var grid = s("g", { class: "grid" });
    axX.ticks.forEach(function (t) {
      add(grid, s("line", { x1: x(t), x2: x(t), y1: T, y2: PH - PB }));
      add(grid, s("text", { class: "tick", x: x(t), y: PH - PB + 14, "text-anchor": "middle", text: axX.label(t) }));
    });
    axY.ticks.forEach(function (t) {
      add(grid, s("line", { x1: L, x2: PW - PR, y1: y(t), y2: y(t) }));
      add(grid, s("text", { class: "tick", x: L - 5, y: y(t) + 4, "text-anchor": "end", text: axY.label(t) }));
    });
    add(svg, grid);
    add(svg, s("text", { class: "axis-title", x: (L + PW - PR) / 2, y: PH - 6, "text-anchor": "middle", text: "threshold" + (ri === state.run ? "" : " · " + truncate(run.label, 30)) }));
    if (HAS_THR && isNum(D.thresholds[state.thr])) {
      add(svg, s("line", { class: "thr-line", x1: x(D.thresholds[state.thr]), x2: x(D.thresholds[state.thr]), y1: T, y2: PH - PB }));
    }
    series.forEach(function (S, k) {
      var col = COLORS[k % COLORS.length];
      var g = s("g", { class: "curve", "data-slice": S.n });
      /* the band: runs of consecutive points that have an interval */
      var seg = [];
      var flush = function () {
        if (seg.length >= 2) {
          var up = seg.map(function (p) { return x(p.t) + "," + y(p.hi); });
          var dn = seg.slice().reverse().map(function (p) { return x(p.t) + "," + y(p.lo); });
          add(g, s("polygon", { class: "band", points: up.concat(dn).join(" "), fill: col }));
        }
        seg = [];
      };
      S.pts.forEach(function (p) { if (p && isNum(p.lo) && isNum(p.hi)) { seg.push(p); } else { flush(); } });
      flush();
      var line = [];
      var flushLine = function () {
        if (line.length >= 2) { add(g, s("polyline", { class: "curve-line", points: line.join(" "), stroke: col })); }
        line = [];
      };
      S.pts.forEach(function (p) { if (p) { line.push(x(p.t) + "," + y(p.v)); } else { flushLine(); } });
      flushLine();
      S.pts.forEach(function (p) {
        if (!p) { return; }
        var dot = s("circle", { class: "curve-dot", cx: x(p.t), cy: y(p.v), r: 2.6, fill: col, "data-threshold": p.t, "data-value": p.v });
        add(dot, s("title", { text: S.n + " @ " + p.t + ": " + fmt(p.v) + " " + fmtCI(p.lo, p.hi) }));
        add(g, dot);
      });
      add(svg, g);
    });
    return svg;
  }
  function curvesCard(runs) {
    var ms = state.metrics.filter(function (m) { return !isPlot(m) && allMetrics.indexOf(m) >= 0 && !isFree(m); });
    if (!HAS_THR || D.thresholds.length < 2 || !ms.length) { return null; }
    var nIn = h("input", { type: "number", class: "ctl-curve-n", min: 0, max: 8, step: 1, "aria-label": "Slices per curve chart" });
    nIn.value = String(state.curveN);
    nIn.addEventListener("change", function () { state.curveN = Math.min(8, Math.max(0, parseInt(nIn.value, 10) || 0)); renderMain(); });
    var card = h("section", { class: "card curves-card" }, [
      h("header", { class: "card-head" }, [h("h3", { text: "Thresholds at a glance" }), h("span", { class: "chip", text: D.thresholds.length + " thresholds" })]),
      h("p", { class: "help", text: "Each charted per-threshold metric against the threshold, one line per slice, with its " + confLabel() +
        " confidence interval as a band; the vertical line is the threshold chosen on the left. Slices: the baseline, the headline's, and the first of the current view (filters and sort apply)." }),
      h("label", { class: "num-label" }, ["slices besides the baseline ", nIn])
    ]);
    ms.forEach(function (m) {
      var slices = curveSlices(m);
      var keyEls = slices.map(function (n, k) {
        return h("span", { class: "lg curve-key", "data-slice": n }, [h("span", { class: "sw", style: "background:" + COLORS[k % COLORS.length] }),
          n + (n === state.baseline ? " (baseline)" : "")]);
      });
      add(card, h("div", { class: "curve-block", "data-metric": m }, [
        h("h4", { text: metricName(m) }),
        h("div", { class: "curve-keys" }, keyEls),
        h("div", { class: "curve-row" }, runs.map(function (ri) { return h("div", { class: "chart-box" }, curvePanel(m, slices, ri)); }))
      ]));
    });
    return card;
  }

  /* ------------------------------------------------------------------ trade-off */
  /* Two or more models: a performance metric of one slice (y) against a gap (x: a slice's
   * difference from the baseline in a metric), one point per model with both intervals. */
  function tradeoffDefaults() {
    if (state.toGap && allMetrics.indexOf(state.toGap) >= 0) { return; }
    var H = D.headline;
    var perf = ["accuracy", "roc_auc", "r2"].filter(function (m) { return allMetrics.indexOf(m) >= 0; });
    state.toPerf = state.toPerf || perf[0] || allMetrics[0];
    if (H) { state.toGap = H.metric; state.toSlice = H.slice; if (!state.baselineSet) { state.toBase = H.reference; } return; }
    var gm = state.metrics.filter(function (m) { return !isPlot(m) && allMetrics.indexOf(m) >= 0 && (D.metricsInfo[m] || {}).gap !== "none" && !(D.metricsInfo[m] || {}).size; });
    state.toGap = gm[0] || allMetrics[0];
    state.toSlice = state.toSlice || D.sliceOrder.filter(function (n) { return n !== PRIMARY.baseline && !SLICE[n].withheld; })[0];
  }
  function tradeoffCard() {
    if (D.runs.length < 2) { return null; }
    tradeoffDefaults();
    var perfSlice = SLICE.overall ? "overall" : PRIMARY.baseline;
    var ref = state.toBase || state.baseline;
    var saved = state.baseline;
    state.baseline = ref;
    var pts = D.runs.map(function (run, ri) {
      var g = cell(ri, state.toGap, state.toSlice), p = cell(ri, state.toPerf, perfSlice);
      return { ri: ri, g: g, p: p };
    });
    state.baseline = saved;
    var ok = pts.filter(function (q) { return !q.g.missing && !q.p.missing && isNum(q.g.abs) && isNum(q.p.v); });
    var opt = function (ms) { return ms.map(function (m) { return [m, metricName(m)]; }); };
    var tm = allMetrics.filter(function (m) { var i = D.metricsInfo[m] || {}; return !i.size && i.gap !== "none"; });
    var sl = D.sliceOrder.filter(function (n) { return !SLICE[n].withheld; });
    var ctl = h("div", { class: "tradeoff-controls" }, [
      h("label", null, ["y: ", select("ctl-to-perf", opt(tm), state.toPerf, function (v) { state.toPerf = v; renderMain(); }), " of " + perfSlice]),
      h("label", null, ["x: gap in ", select("ctl-to-gap", opt(tm), state.toGap, function (v) { state.toGap = v; renderMain(); })]),
      h("label", null, [" of ", slicePicker("ctl-to-slice", sl, state.toSlice, function (v) { state.toSlice = v; renderMain(); })]),
      h("label", null, [" − ", slicePicker("ctl-to-base", sl, ref, function (v) { state.toBase = v; state.baselineSet = true; renderMain(); })])
    ]);
    var card = h("section", { class: "card tradeoff-card" }, [
      h("header", { class: "card-head" }, [h("h3", { text: "Performance against gap" }), h("span", { class: "chip", text: D.runs.length + " models · " + chipText([state.toGap, state.toPerf]) })]),
      h("p", { class: "help", text: "One point per model: " + metricName(state.toPerf) + " of " + perfSlice + " against the gap in " + metricName(state.toGap) +
        " (" + state.toSlice + " − " + ref + "), with " + confLabel() + " confidence intervals of both. Towards 0 on x is a smaller gap." }),
      ctl
    ]);
    if (!ok.length) { add(card, h("p", { class: "muted", text: "No model has both values." })); return card; }
    var xs = [0], ys = [];
    ok.forEach(function (q) {
      [q.g.abs, q.g.dlo, q.g.dhi].forEach(function (v) { if (isNum(v)) { xs.push(v); } });
      [q.p.v, q.p.lo, q.p.hi].forEach(function (v) { if (isNum(v)) { ys.push(v); } });
    });
    var axX = axis(Math.min.apply(null, xs), Math.max.apply(null, xs), 5), axY = axis(Math.min.apply(null, ys), Math.max.apply(null, ys), 5);
    var PW = 640, PH = 320, L = 60, T = 14, PR = 180, PB = 44;
    var x = function (v) { return L + (v - axX.lo) / (axX.hi - axX.lo) * (PW - L - PR); };
    var y = function (v) { return T + (PH - T - PB) - (v - axY.lo) / (axY.hi - axY.lo) * (PH - T - PB); };
    var svg = s("svg", { class: "chart tradeoff-chart", width: PW, height: PH, viewBox: "0 0 " + PW + " " + PH, role: "img", "aria-label": "performance against gap per model" });
    var grid = s("g", { class: "grid" });
    axX.ticks.forEach(function (t) {
      add(grid, s("line", { x1: x(t), x2: x(t), y1: T, y2: PH - PB }));
      add(grid, s("text", { class: "tick", x: x(t), y: PH - PB + 14, "text-anchor": "middle", text: axX.label(t) }));
    });
    axY.ticks.forEach(function (t) {
      add(grid, s("line", { x1: L, x2: PW - PR, y1: y(t), y2: y(t) }));
      add(grid, s("text", { class: "tick", x: L - 5, y: y(t) + 4, "text-anchor": "end", text: axY.label(t) }));
    });
    add(svg, grid);
    add(svg, s("line", { class: "zero", x1: x(0), x2: x(0), y1: T, y2: PH - PB }));
    add(svg, s("text", { class: "axis-title", x: (L + PW - PR) / 2, y: PH - 8, "text-anchor": "middle", text: "gap in " + metricName(state.toGap) }));
    add(svg, s("text", { class: "axis-title", x: 14, y: (T + PH - PB) / 2, "text-anchor": "middle", transform: "rotate(-90 14 " + (T + PH - PB) / 2 + ")", text: metricName(state.toPerf) }));
    var path = ok.map(function (q) { return x(q.g.abs) + "," + y(q.p.v); });
    if (path.length > 1) { add(svg, s("polyline", { class: "tradeoff-path", points: path.join(" ") })); }
    ok.forEach(function (q, k) {
      var cx = x(q.g.abs), cy = y(q.p.v), col = COLORS[q.ri % COLORS.length];
      var g = s("g", { class: "to-point", "data-run": q.ri, "data-x": q.g.abs, "data-y": q.p.v,
        "data-xlo": isNum(q.g.dlo) ? q.g.dlo : "", "data-xhi": isNum(q.g.dhi) ? q.g.dhi : "" });
      if (isNum(q.g.dlo) && isNum(q.g.dhi)) { add(g, s("line", { class: "whisker", x1: x(q.g.dlo), x2: x(q.g.dhi), y1: cy, y2: cy })); }
      if (isNum(q.p.lo) && isNum(q.p.hi)) { add(g, s("line", { class: "whisker", x1: cx, x2: cx, y1: y(q.p.lo), y2: y(q.p.hi) })); }
      var dot = s("circle", { cx: cx, cy: cy, r: 5, fill: col, class: "dot" });
      add(dot, s("title", { text: D.runs[q.ri].label + ": gap " + fmtSigned(q.g.abs) + (isNum(q.g.dlo) ? " " + fmtCI(q.g.dlo, q.g.dhi) : " (no interval: " + (q.g.sigWhy || "none") + ")") +
        (q.g.significant ? " ✱" : "") + ", " + metricName(state.toPerf) + " " + fmt(q.p.v) + " " + fmtCI(q.p.lo, q.p.hi) }));
      add(g, dot);
      add(svg, g);
      add(svg, s("circle", { cx: PW - PR + 20, cy: T + 8 + k * 20, r: 5, fill: col }));
      add(svg, s("text", { class: "plabel", x: PW - PR + 30, y: T + 12 + k * 20, text: truncate(D.runs[q.ri].label, 24) }));
    });
    add(card, h("div", { class: "chart-box" }, svg));
    var headers = [{ label: "Model" }, { label: metricName(state.toPerf) + " (" + perfSlice + ")", num: true }, { label: confLabel() + " CI", num: true },
      { label: "gap", num: true }, { label: "gap " + confLabel() + " CI", num: true }, { label: "sig." }, { label: "adj. sig." }];
    var body = pts.map(function (q) {
      var gk = !q.g.missing && isNum(q.g.abs);
      return h("tr", { "data-run": q.ri }, [h("td", { class: "wrap", text: D.runs[q.ri].label }),
        h("td", { class: "num", text: q.p.missing ? "–" : isNum(q.p.v) ? fmt(q.p.v) : undefinedText(q.p) }), h("td", { class: "num", text: q.p.missing ? "–" : fmtCI(q.p.lo, q.p.hi) }),
        h("td", { class: "num c-gap", text: gk ? fmtSigned(q.g.abs) : "–" }),
        h("td", { class: "num c-gap-ci", text: gk ? (isNum(q.g.dlo) ? fmtCI(q.g.dlo, q.g.dhi) : "no interval: " + (q.g.sigWhy || "not tested")) : "–" }),
        h("td", { class: q.g.significant ? "sig" : null, text: q.g.significant ? "✱" : "" }), h("td", { class: q.g.sigAdj ? "sig" : null, text: q.g.sigAdj ? "✱" : "" })]);
    });
    add(card, table(headers, body));
    return card;
  }
  function undefinedText(c) {
    if (c.slice && c.slice.withheld) { return "withheld: " + (c.slice.reason || "too few rows"); }
    if (c.noMetric) { return "not computed"; }
    return "undefined: " + (c.note || "no value (its denominator is 0 in this slice)");
  }
  /* ------------------------------------------------------------------ legend */
  function legend(runs) {
    var items = runs.map(function (ri) {
      return h("span", { class: "lg" }, [
        h("span", { class: "sw", style: "background:" + COLORS[ri % COLORS.length] }),
        D.runs[ri].label
      ]);
    });
    var whisk = s("svg", { width: 26, height: 12, class: "lg-icon" }, [
      s("line", { class: "whisker", x1: 2, x2: 24, y1: 6, y2: 6 }),
      s("line", { class: "whisker", x1: 2, x2: 2, y1: 1, y2: 11 }),
      s("line", { class: "whisker", x1: 24, x2: 24, y1: 1, y2: 11 })
    ]);
    var dash = s("svg", { width: 14, height: 14, class: "lg-icon" }, [s("line", { class: "baseline-line", x1: 7, x2: 7, y1: 0, y2: 14 })]);
    var hat = s("svg", { width: 22, height: 12, class: "lg-icon" }, [s("rect", { class: "withheld-box", x: 1, y: 1, width: 20, height: 10, rx: 2 })]);
    if (PRIMARY.ci.method) {
      var ci = PRIMARY.ci.method + (isNum(PRIMARY.ci.replicates) ? ", " + PRIMARY.ci.replicates + " replicates" : "");
      items.push(h("span", { class: "lg" }, [whisk, confLabel() + " confidence interval (" + ci + ")"]));
    } else {
      items.push(h("span", { class: "lg muted", text: "no confidence intervals (evaluated with ci=None): nothing can be marked significant" }));
    }
    items.push(h("span", { class: "lg" }, [dash, "baseline value"]));
    if (PRIMARY.ci.method) {
      items.push(h("span", { class: "lg" }, [h("b", { class: "sig", text: "✱" }), " significant difference from the baseline (the " + confLabel() + " CI of the difference excludes 0)"]));
      items.push(h("span", { class: "lg adj-method" }, "adj. sig.: still significant after the " + adjName(PRIMARY) + " adjustment across slices (multiple comparisons: " + PRIMARY.adjustment + ")"));
    }
    items.push(h("span", { class: "lg" }, [hat, "withheld slice (too few rows)"]));
    var box = h("div", { class: "legend card" }, items);
    var notes = [];
    runs.forEach(function (ri) {
      var R = D.results[D.runs[ri].result];
      if (state.baseline === R.baseline || !PRIMARY.ci.method) { return; }
      var ms = state.metrics.filter(function (m) { return !isPlot(m) && allMetrics.indexOf(m) >= 0; });
      var why = null, ok = 0;
      ms.forEach(function (m) {
        var e = entry(ri, m);
        if (!e) { return; }
        var w = whyNoTest(R, e, state.baseline);
        if (w === null) { ok += 1; } else if (why === null && w !== "this metric has no tested difference") { why = metricName(m) + ": " + w; }
      });
      var who = runs.length > 1 ? " for " + D.runs[ri].label : "";
      if (ok) {
        notes.push(h("p", { class: "notice sig-recomputed" }, [
          "Significance against ", h("b", { text: state.baseline }), who,
          " is computed in the page from the evaluation's " + R.ci.method + " replicates (" + R.replicates.n +
          "), adjusted across slices by " + adjName(R) + "; the evaluation itself tested against ", h("b", { text: R.baseline }), ".",
          why ? " Not for every metric: " + why + "." : ""
        ]));
      } else {
        notes.push(h("p", { class: "notice sig-unavailable" }, [
          "No significance against ", h("b", { text: state.baseline }), who, ": " + (why || (R.replicates && R.replicates.why) || "no replicates") +
          ". Differences are computed from the values and shown without significance marks; evaluate(..., baseline=…) tests against that slice."
        ]));
      }
    });
    if (runs.length > 1) {
      var probe = changeCell(runs[0], runs[1], "__probe__", "overall");
      var pairedWhy = probe.paired || probe.why === "no paired change for this slice and metric" ? null : probe.why;
      notes.push(h("p", { class: "note change-note", "data-paired": pairedWhy ? "0" : "1", text: "(change): " + D.runs[runs[1]].label + " − " + D.runs[runs[0]].label +
        (pairedWhy ? ", the difference of the two values, without an interval: " + pairedWhy + "."
          : ", with its " + confLabel() + " confidence interval from the paired replicates (both models scored the same rows), ✱ when it excludes 0, ✱✱ when it still does after the " +
            adjName(PRIMARY) + " adjustment across slices.") +
        " The dashed line is the baseline value of " + D.runs[runs[0]].label + "." }));
    }
    add(box, notes);
    return box;
  }

  /* ------------------------------------------------------------------ controls */
  function select(cls, options, value, onchange) {
    var el = h("select", { class: cls, onchange: function () { onchange(el.value); } }, options.map(function (o) {
      return h("option", { value: o[0], text: o[1] });
    }));
    el.value = String(value);
    return el;
  }
  /* A choice among slices. A <select> for a few; for many, a text field with suggestions
   * from one shared <datalist> built once outside the re-rendered content: a select of a
   * thousand options in a card rebuilt at every interaction costs more than the card. */
  var SLICE_LIST = null;
  function slicePicker(cls, names, value, onchange) {
    if (names.length <= 60) { return select(cls, names.map(function (n) { return [n, n]; }), value, onchange); }
    if (!SLICE_LIST) {
      SLICE_LIST = h("datalist", { id: "assay-slices-" + Math.random().toString(36).slice(2) }, names.map(function (n) { return h("option", { value: n }); }));
      add(root.querySelector(".assay-app"), SLICE_LIST);
    }
    var inp = h("input", { type: "text", class: cls + " slice-pick", list: SLICE_LIST.id, spellcheck: "false", "aria-label": "slice (type to search)" });
    inp.value = value || "";
    inp.addEventListener("change", function () {
      var v = inp.value.trim();
      if (SLICE[v] && names.indexOf(v) >= 0) { inp.removeAttribute("aria-invalid"); onchange(v); }
      else { inp.setAttribute("aria-invalid", "true"); inp.title = "no slice named " + JSON.stringify(v) + " (not withheld)"; }
    });
    return inp;
  }
  function group(title, kids) { return h("div", { class: "ctl-group" }, [h("div", { class: "ctl-title", text: title })].concat(kids)); }
  function checkbox(cls, value, label, checked, onchange, help) {
    var inp = h("input", { type: "checkbox", class: cls, value: value });
    inp.checked = !!checked;
    inp.addEventListener("change", function () { onchange(inp.checked); });
    return h("label", { class: "check", title: help || null }, [inp, " ", label]);
  }
  function buildControls(panel) {
    clear(panel);
    var runOpts = D.runs.map(function (r, i) { return [i, r.label]; });
    if (D.runs.length > 1) {
      add(panel, group("Model", [select("ctl-run", runOpts, state.run, function (v) {
        state.run = +v; if (state.compare === state.run) { state.compare = -1; } buildControls(panel); renderMain();
      })]));
      add(panel, group("Compare with", [select("ctl-compare", [[-1, "none"]].concat(runOpts.filter(function (o) { return o[0] !== state.run; })), state.compare, function (v) {
        state.compare = +v; renderMain();
      })]));
    }
    if (allClasses.length > 1) {
      add(panel, group("Class", [select("ctl-class", allClasses.map(function (c) { return [c, c]; }), state.cls, function (v) { state.cls = v; renderMain(); })]));
    }
    if (HAS_THR) {
      add(panel, group("Threshold", [select("ctl-threshold", D.thresholds.map(function (t, i) { return [i, String(t)]; }), state.thr, function (v) {
        state.thr = +v; renderMain();
      }), h("div", { class: "ctl-help", text: "A row is positive when its score is above the threshold." })]));
    }
    var baseOpts = PRIMARY.slices.filter(function (sl) { return !sl.withheld || sl.name === PRIMARY.baseline; }).map(function (sl) {
      return [sl.name, sl.name + (sl.name === PRIMARY.baseline ? "  (configured)" : "")];
    });
    add(panel, group("Baseline slice", [select("ctl-baseline", baseOpts, state.baseline, function (v) { state.baseline = v; renderMain(); })]));
    var filter = h("input", { type: "search", class: "ctl-filter", placeholder: "Filter slices…", "aria-label": "Filter slices by name" });
    filter.value = state.filter;
    filter.addEventListener("input", function () { state.filter = filter.value; state.page = 0; renderMain(); });
    var feats = features.map(function (f) {
      return checkbox("ctl-feature", f, f, state.features.indexOf(f) >= 0, function (on) {
        state.features = features.filter(function (g) { return g === f ? on : state.features.indexOf(g) >= 0; });
        renderMain();
      });
    });
    add(panel, group("Slices", [filter, h("div", { class: "ctl-features" }, feats),
      checkbox("ctl-withheld", "withheld", "show withheld slices", state.showWithheld, function (on) { state.showWithheld = on; renderMain(); })]));
    var minIn = h("input", { type: "number", class: "ctl-min", min: 0, step: 1, "aria-label": "Minimum rows per slice" });
    minIn.value = state.minCount ? String(state.minCount) : "";
    minIn.addEventListener("input", function () { state.minCount = Math.max(0, parseInt(minIn.value, 10) || 0); state.page = 0; renderMain(); });
    var topIn = h("input", { type: "number", class: "ctl-top", min: 0, step: 1, "aria-label": "Show the top N slices" });
    topIn.value = state.top ? String(state.top) : "";
    topIn.addEventListener("input", function () { state.top = Math.max(0, parseInt(topIn.value, 10) || 0); state.page = 0; renderMain(); });
    add(panel, group("Find gaps", [
      checkbox("ctl-sigonly", "sig", "significant only (after " + adjName(PRIMARY) + " adjustment)", state.sigOnly, function (on) { state.sigOnly = on; state.page = 0; renderMain(); },
        "Slices whose difference from the configured baseline stays significant after the " + adjName(PRIMARY) + " adjustment across slices"),
      h("label", { class: "num-label" }, ["minimum rows ", minIn]),
      h("label", { class: "num-label" }, ["top N (after sorting) ", topIn])
    ]));
    add(panel, group("Sort", [select("ctl-sort", [["default", "as evaluated"], ["gap", "by absolute gap"], ["sig", "by significance"], ["value", "by value"], ["diff", "by difference"], ["size", "by size"], ["name", "by name"]], state.sort, function (v) {
      state.sort = v; state.page = 0; renderMain();
    }), checkbox("ctl-desc", "desc", "descending", state.desc, function (on) { state.desc = on; state.page = 0; renderMain(); })]));
    function toggle(m) {
      return function (on) {
        state.metrics = on ? state.metrics.concat([m]) : state.metrics.filter(function (x) { return x !== m; });
        renderMain();
      };
    }
    var mk = [];
    GROUPS.forEach(function (g) {
      var ms = g.metrics.filter(function (m) { return allMetrics.indexOf(m) >= 0; });
      var ps = g.plots.filter(isPlot);
      if (!ms.length && !ps.length) { return; }
      mk.push(h("div", { class: "ctl-sub", text: g.title }));
      ps.forEach(function (pid) {
        mk.push(checkbox("ctl-metric ctl-plot", pid, PLOTS[pid].title, state.metrics.indexOf(pid) >= 0, toggle(pid), PLOTS[pid].help));
      });
      ms.forEach(function (m) {
        mk.push(checkbox("ctl-metric", m, metricName(m), state.metrics.indexOf(m) >= 0, toggle(m), metricHelp(m)));
      });
    });
    add(panel, group("Metrics", [h("div", { class: "ctl-metrics" }, mk)]));
  }

  /* ------------------------------------------------------------------ page */
  function header() {
    var metaFor = function (R) {
      var bits = [R.rows.toLocaleString("en-US") + " rows"];
      if (R.dropped) { bits.push(R.dropped.toLocaleString("en-US") + " dropped as invalid"); }
      if (R.source) { bits.push("source: " + R.source); }
      if (R.label) { bits.push("label: " + R.label); }
      if (R.weight) { bits.push("weight: " + R.weight); }
      bits.push("models: " + R.models.join(", "));
      bits.push("baseline: " + R.baseline);
      if (isNum(R.minSliceSize)) { bits.push("min slice size: " + R.minSliceSize); }
      return bits.join(" · ");
    };
    return h("header", { class: "page-head" }, [
      h("h1", { class: "title", text: D.title }),
      D.results.map(function (R) {
        return h("p", { class: "meta" }, [D.results.length > 1 ? h("b", { text: R.name + ": " }) : null, metaFor(R)]);
      })
    ]);
  }

  var main;
  /* A card is rebuilt only when what it shows changed: ``key`` names all of it. */
  var CARD_MEMO = {};
  function memoCard(name, key, build) {
    var m = CARD_MEMO[name];
    if (m && m.key === key) { return m.node; }
    var node = build();
    CARD_MEMO[name] = { key: key, node: node };
    return node;
  }
  function renderMain() {
    ROWS = {};
    /* Re-rendering replaces the content: keep the reader where they are (no jump). */
    var sx = window.scrollX || 0, sy = window.scrollY || 0;
    var keepH = main.offsetHeight;
    main.style.minHeight = keepH + "px";
    clear(main);
    var runs = shownRuns();
    add(main, headlineCard());
    add(main, legend(runs));
    if (state.detail !== null) { add(main, detailCard(runs)); }
    if (D.runs.length >= 2) {
      tradeoffDefaults();
      add(main, memoCard("tradeoff", JSON.stringify([state.toPerf, state.toGap, state.toSlice, state.toBase, state.baseline,
        state.cls, state.thr]), tradeoffCard));
    }
    var cms = state.metrics.filter(function (m) { return !isPlot(m) && allMetrics.indexOf(m) >= 0 && !isFree(m); });
    add(main, memoCard("curves", JSON.stringify([cms, cms.map(curveSlices), runs, state.thr, state.cls, state.curveN]),
      function () { return curvesCard(runs); }));
    if (!state.metrics.length) {
      add(main, h("p", { class: "card muted", text: "Choose one or more metrics on the left." }));
    }
    allMetrics.forEach(function (m) {
      if (state.metrics.indexOf(m) >= 0) { add(main, metricCard(m, runs)); }
    });
    (D.plots || []).forEach(function (P) {
      if (state.metrics.indexOf(P.id) >= 0) { add(main, plotCard(P, runs)); }
    });
    add(main, slicesCard());
    add(main, h("footer", { class: "foot", text: "Generated by " + D.generator + ". Self-contained: this file loads nothing from the network." }));
    main.style.minHeight = "";
    if (window.scrollY !== sy || window.scrollX !== sx) { window.scrollTo(sx, sy); }
    writeFragment();
  }

  var app = root.querySelector(".assay-app");
  clear(app);
  add(app, header());
  var panel = h("aside", { class: "controls", "aria-label": "Report controls" });
  main = h("main", { class: "content" });
  add(app, h("div", { class: "layout" }, [panel, main]));
  readFragment();
  buildControls(panel);
  renderMain();
  root.setAttribute("data-ready", "1");
  try { if (window.performance && performance.mark) { performance.mark("assay-report-ready"); } } catch (err) { /* none */ }
})();
