(function () {
  "use strict";
  const form = document.getElementById("assessment");
  const error = document.getElementById("error");
  const iceTotal = document.getElementById("ice-total");
  const mode = form.dataset.mode;

  function read(el) {
    const kind = el.dataset.kind;
    if (kind === "int" || kind === "number") { return Number(el.value); }
    if (kind === "bool") { return el.value === "yes"; }
    return el.value;
  }

  function assessedAt() {
    const el = document.getElementById("assessed-at");
    if (!el || !el.value) return null;
    const at = new Date(el.value);
    return isNaN(at.getTime()) ? el.value : at.toISOString();
  }

  function localNow() {
    const now = new Date();
    now.setSeconds(0, 0);
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }

  function collect() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.value === "" || el.name === "assessed_at" || el.matches(":disabled")) continue;
      const value = read(el);
      const parts = el.name.split(".");
      if (parts.length === 2) { (data[parts[0]] = data[parts[0]] || {})[parts[1]] = value; }
      else { data[el.name] = value; }
    }
    const at = assessedAt();
    if (at && data.date_of_birth) { data.assessed_at = at; }
    return data;
  }

  function clearErrors() {
    error.textContent = "";
    for (const el of form.querySelectorAll("[data-error-for]")) { el.textContent = ""; }
  }

  function showProblem(body) {
    const detail = (body && body.detail) || "the request failed";
    error.textContent = detail;
    const name = String((body && body.field) || "").replace(/^data\./, "");
    const slot = form.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
    if (slot) {
      const expected = body.expected ? " Expected: " + body.expected + "." : "";
      slot.textContent = detail + expected;
    }
  }

  function shown(r) {
    if (r.grade !== null) return String(r.grade);
    if (r.floor === null || r.ceiling === null) return "n/a";
    return r.floor === r.ceiling ? String(r.floor) : r.floor + "–" + r.ceiling;
  }

  function showIce(derived) {
    if (!iceTotal || !derived) return;
    const t = derived.ice_total;
    if (!t) { iceTotal.textContent = "not assessed"; return; }
    iceTotal.textContent = t.low === t.high ? t.low + " / 10"
      : t.low + "–" + t.high + " / 10 (not assessed: " + t.not_assessed.join(", ") + ")";
  }

  let latest = 0;
  async function refresh() {
    const ticket = ++latest;
    const response = await fetch("/api/v1/grade?derived=true", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(collect())
    });
    const body = await response.json();
    if (ticket !== latest) { return; }
    clearErrors();
    if (!response.ok) { showProblem(body); return; }
    showIce(body.derived);
    for (const row of document.querySelectorAll("#result-rows tr")) {
      const r = body[row.dataset.scale];
      if (!r) continue;
      const cells = row.children;
      const open = r.grade === null;
      cells[1].textContent = shown(r);
      cells[1].className = "grade " + (open ? "open" : "g" + r.grade);
      cells[2].textContent = (r.drivers || []).concat(r.reasons || []).join("; ");
      cells[3].textContent = (r.missing || []).join(", ");
    }
  }

  function text(tag, content, cls) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  }

  function showRecommendation(rec) {
    const box = document.getElementById("recommendation");
    box.replaceChildren(text("h3", "Current recommendation"));
    const r = rec.recommendation || {};
    const list = document.createElement("ul");
    for (const action of r.actions || []) {
      const item = text("li", action.level + ": " + action.text);
      const dose = action.dose;
      if (dose) {
        const value = dose.value === null ? "dose not computed (" + (dose.missing || []).join(", ") + ")"
          : dose.drug + " " + dose.value + " " + dose.unit + (dose.route ? ", " + dose.route : "")
            + (dose.frequency ? ", " + dose.frequency : "");
        item.append(document.createElement("br"), text("span", "Dose: " + value, "dose"));
        if (dose.reason) item.append(text("small", " (" + dose.reason + ")"));
      }
      list.append(item);
    }
    if (!list.children.length) list.append(text("li", "No action recommended at these grades."));
    box.append(list);
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const ref = form.dataset.patient;
    const base = "/api/v1/patients/" + encodeURIComponent(ref);
    const response = await fetch(base + "/assessments", {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf},
      body: JSON.stringify({assessed_at: assessedAt(), data: collect()})
    });
    const body = await response.json();
    if (!response.ok) { showProblem(body); return; }
    const grades = body.grades || {};
    const stored = [];
    for (const row of document.querySelectorAll("#result-rows tr")) {
      const r = grades[row.dataset.scale];
      if (r) stored.push(row.children[0].textContent + " " + shown(r));
    }
    document.getElementById("stored-grades").textContent = stored.join(" · ");
    document.getElementById("scales-link").href =
      "/patients/" + encodeURIComponent(ref) + "/assessments/" + body.id + "/scales";
    const rec = await fetch(base + "/recommendations");
    if (rec.ok) { showRecommendation(await rec.json()); }
    else { showProblem(await rec.json()); }
    document.getElementById("saved").hidden = false;
  }

  const when = document.getElementById("assessed-at");
  if (when) { when.value = localNow(); }
  form.addEventListener("input", refresh);
  form.addEventListener("submit", mode === "assess" ? save : (event) => event.preventDefault());
  refresh();
})();
