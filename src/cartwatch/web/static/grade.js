(function () {
  "use strict";
  const form = document.getElementById("assessment");
  const error = document.getElementById("error");
  function collect() {
    const data = {};
    for (const el of form.elements) {
      if (!el.name || el.value === "") continue;
      const value = el.type === "number" ? Number(el.value) : el.value;
      const parts = el.name.split(".");
      if (parts.length === 2) { (data[parts[0]] = data[parts[0]] || {})[parts[1]] = value; }
      else { data[el.name] = value; }
    }
    return data;
  }
  let latest = 0;
  async function refresh() {
    const ticket = ++latest;
    const response = await fetch("/api/v1/grade", {
      method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(collect())
    });
    const body = await response.json();
    if (ticket !== latest) { return; }  // a newer request was sent: show only its answer
    if (!response.ok) { error.textContent = body.detail || "error"; return; }
    error.textContent = "";
    for (const row of document.querySelectorAll("#result-rows tr")) {
      const r = body[row.dataset.scale];
      if (!r) continue;
      const cells = row.children;
      const open = r.grade === null;
      cells[1].textContent = open ? (r.floor === null ? "n/a" : r.floor + "–" + r.ceiling) : r.grade;
      cells[1].className = "grade " + (open ? "open" : "g" + r.grade);
      cells[2].textContent = (r.drivers || []).join("; ");
      cells[3].textContent = (r.missing || []).join(", ");
    }
  }
  form.addEventListener("input", refresh);
  refresh();
})();
