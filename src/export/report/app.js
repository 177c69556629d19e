// dcinv report page: reads the inline JSON data, draws the Leaflet map of every facility and
// the Observable Plot charts. Nothing is fetched; OSM tiles load only when the reader ticks
// the box (online). Each chart container gets data-rendered="1" once drawn.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("dcinv-data").textContent);
  var colours = {};
  (D.colours || []).forEach(function (c) { colours[c[0]] = c[1]; });
  var typologies = (D.colours || []).map(function (c) { return c[0]; });
  var colourOf = function (t) { return colours[t] || "#000000"; };
  var fmt = function (v, digits) {
    if (v === null || v === undefined || isNaN(v)) return "–";
    return Number(v).toLocaleString("en-GB", { maximumFractionDigits: digits === undefined ? 1 : digits });
  };
  var rangeText = function (r, digits) {
    return r ? fmt(r[0], digits) + " · " + fmt(r[1], digits) + " · " + fmt(r[2], digits) : "–";
  };
  var esc = function (s) {
    return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  var el = function (id) { return document.getElementById(id); };

  // ---- header ----
  el("run-meta").textContent = "Run " + String(D.run.run_id).slice(0, 12) + " · " + D.run.generated_at +
    " · " + D.run.fetch_mode + " · dcinv " + D.run.tool_version;
  el("facility-count").textContent = fmt(D.facility_count, 0);
  el("facility-count").setAttribute("data-count", String(D.facility_count));
  el("record-count").textContent = fmt(D.record_count, 0);
  if (D.totals) {
    el("it-total").textContent = rangeText([D.totals.it_mw_low, D.totals.it_mw_central, D.totals.it_mw_high], 0);
    el("energy-total").textContent = rangeText([D.totals.energy_gwh_low, D.totals.energy_gwh_central, D.totals.energy_gwh_high], 0);
  }
  el("legend").innerHTML = typologies.map(function (t) {
    return '<i style="background:' + colourOf(t) + '"></i>' + esc(t);
  }).join("");

  // ---- map ----
  function drawMap() {
    var map = L.map("map", { zoomSnap: 0.25 });
    map.attributionControl.addAttribution("Boundaries © IGN Admin Express (Licence Ouverte) · data: see ATTRIBUTION.md");
    var outlines = D.outlines || {};
    var deps = L.geoJSON(outlines.departements, {
      interactive: false,
      style: { color: "#9a9a9a", weight: 0.6, fillColor: "#f6f4ee", fillOpacity: 1 }
    }).addTo(map);
    var regs = L.geoJSON(outlines.regions, {
      interactive: false,
      style: { color: "#3d3d3d", weight: 1.6, fill: false }
    }).addTo(map);
    var tiles = null;
    el("toggle-tiles").addEventListener("change", function (e) {
      if (e.target.checked) {
        tiles = tiles || L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
          maxZoom: 19,
          attribution: "© <a href=\"https://www.openstreetmap.org/copyright\">OpenStreetMap</a> contributors"
        });
        tiles.addTo(map);
        tiles.bringToBack();
        deps.setStyle({ fillOpacity: 0 });
      } else if (tiles) {
        map.removeLayer(tiles);
        deps.setStyle({ fillOpacity: 1 });
      }
    });
    el("toggle-regions").addEventListener("change", function (e) {
      if (e.target.checked) regs.addTo(map); else map.removeLayer(regs);
    });
    el("toggle-departements").addEventListener("change", function (e) {
      if (e.target.checked) deps.addTo(map); else map.removeLayer(deps);
    });
    var located = D.facilities.filter(function (f) { return f.lon !== null && f.lat !== null; });
    // Big markers first so that small ones stay clickable on top.
    located.sort(function (a, b) { return b.it[1] - a.it[1]; });
    var markers = L.featureGroup();
    located.forEach(function (f) {
      var radius = Math.min(24, 3 + 2.2 * Math.sqrt(Math.max(0, f.it[1])));
      var m = L.circleMarker([f.lat, f.lon], {
        radius: radius, color: "#ffffff", weight: 0.8,
        fillColor: colourOf(f.typology), fillOpacity: f.excluded ? 0.35 : 0.85
      });
      m.bindTooltip(esc(f.name || f.id) + " · " + fmt(f.it[1]) + " MW");
      m.on("click", function () { showFacility(f); });
      m.addTo(markers);
    });
    markers.addTo(map);
    var metro = located.filter(function (f) { return f.lon > -6 && f.lon < 10 && f.lat > 41 && f.lat < 52; });
    var pts = (metro.length ? metro : located).map(function (f) { return [f.lat, f.lon]; });
    if (pts.length) map.fitBounds(L.latLngBounds(pts).pad(0.05)); else map.setView([46.6, 2.4], 5.5);
    el("map").setAttribute("data-markers", String(located.length));
  }

  function row(k, v) { return "<tr><td>" + esc(k) + "</td><td>" + v + "</td></tr>"; }

  function showFacility(f) {
    var h = "<h2>" + esc(f.name || f.id) + "</h2><table>";
    h += row("facility_id", esc(f.id));
    h += row("operator", esc(f.operator));
    h += row("typology", '<i style="display:inline-block;width:9px;height:9px;border-radius:50%;background:' +
      colourOf(f.typology) + '"></i> ' + esc(f.typology) + " <small>(" + esc(f.typology_rule) + ")</small>" +
      (f.excluded ? " · excluded from totals" : "") + (f.ai_hpc ? " · AI/HPC" : ""));
    h += row("status", esc(f.status));
    h += row("place", esc([f.address, f.commune, f.dep_name && (f.dep_name + " (" + f.dep + ")"), f.region].filter(Boolean).join(", ")));
    h += row("point", f.lat === null ? "none" : fmt(f.lat, 5) + ", " + fmt(f.lon, 5) + " (" + esc(f.precision) + ")");
    h += row("campus", esc(f.campus));
    h += row("match confidence", fmt(f.confidence, 2));
    h += row("IT MW", rangeText(f.it, 2) + " <small>low · central · high</small>");
    h += row("method", esc(f.method) + (f.observed ? " (observed)" : " (estimated)"));
    h += row("energy GWh/yr", rangeText(f.energy, 2) +
      (f.energy_observed ? "<br>measured " + fmt(f.energy_observed[1], 2) + " GWh in " + f.energy_observed[0] : ""));
    h += row("CO2e operational t/yr", rangeText(f.co2e_op, 0));
    h += row("water m³/yr", rangeText(f.water, 0));
    h += row("sources", esc((f.sources || []).join(", ")));
    h += "</table><h3>Chain of evidence</h3><div class=\"chain\">" + esc(f.chain) + "</div>";
    if (f.evidence_record) h += "<p>Evidence record: <code>" + esc(f.evidence_record) + "</code></p>";
    if (f.parameters && f.parameters.length) h += "<p>Parameters: " + esc(f.parameters.join(", ")) + "</p>";
    h += "<h3>Source records (" + f.members.length + ")</h3><table>";
    f.members.forEach(function (m) { h += row(m[1] || "?", esc(m[2] || "") + "<br><code>" + esc(m[0]) + "</code>"); });
    h += "</table>";
    el("panel").innerHTML = h;
  }

  // ---- charts ----
  var colour = { legend: true, domain: typologies, range: typologies.map(colourOf) };
  function put(id, node) {
    var c = el(id);
    c.innerHTML = "";
    c.appendChild(node);
    c.setAttribute("data-rendered", "1");
  }
  function message(id, text) {
    var c = el(id);
    c.innerHTML = '<p class="note">' + esc(text) + "</p>";
    c.setAttribute("data-rendered", "empty");
  }
  function table(id, head, rows) {
    var h = '<table class="data"><tr>' + head.map(function (x) { return "<th>" + esc(x) + "</th>"; }).join("") + "</tr>";
    rows.forEach(function (r) {
      h += "<tr>" + r.map(function (x) {
        return typeof x === "number" ? '<td class="n">' + fmt(x, 2) + "</td>" : "<td>" + esc(x) + "</td>";
      }).join("") + "</tr>";
    });
    el(id).innerHTML = h + "</table>";
  }
  var width = 560;

  function regionCharts() {
    var rows = D.by_region_typology || [];
    if (!rows.length) return message("chart-region-facilities", "No facility.");
    var regions = Array.from(new Set(rows.map(function (r) { return r.region; })));
    var total = {};
    rows.forEach(function (r) { total[r.region] = (total[r.region] || 0) + r.facilities; });
    regions.sort(function (a, b) { return total[b] - total[a]; });
    put("chart-region-facilities", Plot.plot({
      width: width, marginLeft: 170, height: 40 + 22 * regions.length, color: colour,
      x: { label: "facilities", grid: true }, y: { label: null, domain: regions },
      marks: [Plot.barX(rows, { x: "facilities", y: "region", fill: "typology", title: function (d) { return d.region + ", " + d.typology + ": " + d.facilities; } }), Plot.ruleX([0])]
    }));
    var keyed = rows.map(function (r) {
      return { key: r.region + " · " + r.typology, region: r.region, typology: r.typology, low: r.it_mw[0], central: r.it_mw[1], high: r.it_mw[2] };
    });
    keyed.sort(function (a, b) { return regions.indexOf(a.region) - regions.indexOf(b.region) || b.central - a.central; });
    put("chart-region-itmw", Plot.plot({
      width: width, marginLeft: 230, height: 40 + 16 * keyed.length, color: colour,
      x: { label: "IT MW", grid: true }, y: { label: null, domain: keyed.map(function (d) { return d.key; }) },
      marks: [
        Plot.ruleY(keyed, { y: "key", x1: "low", x2: "high", stroke: "typology", strokeWidth: 2 }),
        Plot.dot(keyed, { y: "key", x: "central", fill: "typology", r: 3.5, title: function (d) { return d.key + ": " + fmt(d.low) + " · " + fmt(d.central) + " · " + fmt(d.high) + " MW"; } })
      ]
    }));
  }

  function methodChart() {
    var rows = D.by_method || [];
    if (!rows.length) return message("chart-methods", "No estimate.");
    put("chart-methods", Plot.plot({
      width: width, marginLeft: 170, height: 60 + 24 * rows.length,
      color: { legend: true, domain: ["observed", "estimated"], range: ["#1b7837", "#b2abd2"] },
      x: { label: "facilities", grid: true }, y: { label: null },
      marks: [Plot.barX(rows, { x: "facilities", y: "method", fill: "kind", sort: { y: "-x" }, title: function (d) { return d.method + ": " + d.facilities + " facilities, " + fmt(d.it_mw_central) + " IT MW central"; } }), Plot.ruleX([0])]
    }));
  }

  function benchmarkChart() {
    var b = D.benchmarks;
    if (!b || !b.length) {
      el("benchmarks-note").textContent = "stats.json has no benchmarks block in this build: no published figure to compare with.";
      return message("chart-benchmarks", "No published figures.");
    }
    var rows = b.filter(function (x) { return x.published_value; }).map(function (x) {
      var p = x.published_value;
      return { label: x.label + " (" + x.year + ")", low: x.inventory_low === null ? null : x.inventory_low / p,
        central: x.inventory_central === null ? null : x.inventory_central / p, high: x.inventory_high === null ? null : x.inventory_high / p };
    });
    put("chart-benchmarks", Plot.plot({
      width: width, marginLeft: 230, height: 50 + 26 * rows.length,
      x: { label: "inventory ÷ published", grid: true }, y: { label: null },
      marks: [Plot.ruleX([1], { stroke: "#999", strokeDasharray: "4 3" }),
        Plot.ruleY(rows.filter(function (r) { return r.low !== null && r.high !== null; }), { y: "label", x1: "low", x2: "high", strokeWidth: 2 }),
        Plot.dot(rows.filter(function (r) { return r.central !== null; }), { y: "label", x: "central", fill: "currentColor", r: 3.5 })]
    }));
    table("benchmarks-table", ["figure", "published", "unit", "inventory (low · central · high)", "scope", "source"],
      b.map(function (x) {
        return [x.label + " (" + x.area + ", " + x.year + ")", x.published_value, x.unit,
          rangeText([x.inventory_low, x.inventory_central, x.inventory_high], 1), x.inventory_scope || "", x.source || ""];
      }));
  }

  function sourceCharts() {
    var src = D.sources || [];
    var long = [];
    src.forEach(function (s) {
      long.push({ source: s.source, kind: "kept", n: s.kept });
      long.push({ source: s.source, kind: "dropped", n: s.dropped });
    });
    put("chart-sources", Plot.plot({
      width: width, marginLeft: 190, height: 60 + 22 * src.length,
      color: { legend: true, domain: ["kept", "dropped"], range: ["#4e79a7", "#e15759"] },
      x: { label: "records", grid: true }, y: { label: null },
      marks: [Plot.barX(long, { x: "n", y: "source", fill: "kind", sort: { y: "-x" } }), Plot.ruleX([0])]
    }));
    table("sources-table", ["source", "kept", "dropped", "state"], src.map(function (s) {
      return [s.source, s.kept, s.dropped, s.error ? "failed: " + s.error : (s.stale && s.stale.length ? "stale: " + s.stale.join("; ") : "fresh")];
    }));
    var issues = D.issues || [];
    if (!issues.length) return message("chart-issues", "No data issue in this build.");
    put("chart-issues", Plot.plot({
      width: width, marginLeft: 190, height: 70 + 20 * new Set(issues.map(function (i) { return i.code; })).size,
      color: { legend: true }, x: { label: "issues", grid: true }, y: { label: null },
      marks: [Plot.barX(issues, { x: "count", y: "code", fill: "source", sort: { y: "-x" } }), Plot.ruleX([0])]
    }));
  }

  function changeChart() {
    var c = D.changes;
    if (!c) { el("changes-note").textContent = "No changes.json in the output folder."; return message("chart-changes", "No change record."); }
    el("changes-note").textContent = c.previous_run
      ? "From run " + String(c.previous_run).slice(0, 12) + " to run " + String(c.current_run || "").slice(0, 12) + "."
      : "First build in this folder: every facility is new.";
    var counts = [
      { kind: "added", n: (c.added || []).length }, { kind: "removed", n: (c.removed || []).length },
      { kind: "moved > 100 m", n: (c.moved || []).length }, { kind: "field changes", n: (c.changed || []).length }
    ];
    put("chart-changes", Plot.plot({
      width: width, marginLeft: 120, height: 150, x: { label: "count", grid: true }, y: { label: null, domain: counts.map(function (d) { return d.kind; }) },
      marks: [Plot.barX(counts, { x: "n", y: "kind", fill: "#59a14f" }), Plot.text(counts, { x: "n", y: "kind", text: function (d) { return String(d.n); }, dx: 12 }), Plot.ruleX([0])]
    }));
    var items = [];
    (c.removed || []).slice(0, 20).forEach(function (x) { items.push(["removed", x.facility_id, x.name || ""]); });
    (c.moved || []).slice(0, 20).forEach(function (x) { items.push(["moved " + fmt(x.distance_m, 0) + " m", x.facility_id, x.name || ""]); });
    (c.changed || []).slice(0, 40).forEach(function (x) { items.push([x.field, x.facility_id, (x.before || "∅") + " → " + (x.after || "∅")]); });
    if (c.previous_run) table("changes-list", ["change", "facility", "detail"], items);
  }

  function trajectoryChart() {
    var t = D.trajectory || [];
    if (!t.length) return message("chart-trajectory", "No trajectory.");
    var rows = t.map(function (r) { return { year: r.year, low: r.it_mw[0], central: r.it_mw[1], high: r.it_mw[2] }; });
    put("chart-trajectory", Plot.plot({
      width: width, height: 280, marginLeft: 60,
      x: { label: "year", tickFormat: "d" }, y: { label: "installed IT MW", grid: true, zero: true },
      marks: [Plot.areaY(rows, { x: "year", y1: "low", y2: "high", fill: "#4e79a7", fillOpacity: 0.2 }),
        Plot.lineY(rows, { x: "year", y: "central", stroke: "#4e79a7", strokeWidth: 2 }),
        Plot.dot(rows, { x: "year", y: "central", fill: "#4e79a7", r: 2.5, title: function (d) { return d.year + ": " + fmt(d.low) + " · " + fmt(d.central) + " · " + fmt(d.high) + " MW"; } })]
    }));
  }

  [drawMap, regionCharts, methodChart, benchmarkChart, sourceCharts, changeChart, trajectoryChart].forEach(function (f) {
    try { f(); } catch (e) { console.error("dcinv report: " + (f.name || "part") + ": " + (e && e.stack || e)); }
  });
  var charts = document.querySelectorAll('.chart[data-rendered="1"]').length;
  document.body.setAttribute("data-charts", String(charts));
  var errors = el("errors");
  errors.setAttribute("data-errors", String(window.__dcinvErrors.length));
  if (window.__dcinvErrors.length) errors.textContent = "Errors: " + window.__dcinvErrors.join(" | ");
})();
