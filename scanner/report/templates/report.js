/* orgscan report: findings filters. Data comes from the JSON block #orgscan-data and is only
   ever written with textContent, never as markup (names may carry HTML). No network use. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("orgscan-data").textContent);
  var findings = data.findings;
  var PAGE = 250;
  var limit = PAGE;
  var matching = 0;
  var $ = function (id) { return document.getElementById(id); };
  var ui = {
    ou: $("f-ou"), sev: $("f-sev"), status: $("f-status"), rule: $("f-rule"),
    control: $("f-control"), q: $("f-q"), count: $("f-count"), body: $("findings-body"),
    more: $("findings-more"), reset: $("f-reset")
  };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function addOptions(select, values, labels) {
    values.forEach(function (v, i) {
      var o = el("option", null, labels ? labels[i] : v);
      o.value = v;
      select.appendChild(o);
    });
  }
  addOptions(ui.ou, data.ous);
  addOptions(ui.rule, data.rules);
  addOptions(ui.control, data.controls);

  function matches(f, q) {
    if (ui.ou.value && !(f.ou === ui.ou.value || f.ou.indexOf(ui.ou.value + "/") === 0)) { return false; }
    if (ui.sev.value && f.sev !== ui.sev.value) { return false; }
    if (ui.status.value === "OPEN") {
      if (f.status === "PASS" || f.status === "NOT_APPLICABLE") { return false; }
    } else if (ui.status.value && f.status !== ui.status.value) { return false; }
    if (ui.rule.value && f.rule !== ui.rule.value) { return false; }
    if (ui.control.value && f.comp.indexOf(ui.control.value) < 0) { return false; }
    if (q) {
      var hay = (f.acct + " " + f.name + " " + f.res + " " + f.msg + " " + f.title).toLowerCase();
      if (hay.indexOf(q) < 0) { return false; }
    }
    return true;
  }

  function kv(grid, key, value, cls) {
    if (value === undefined || value === null || value === "") { return; }
    grid.appendChild(el("div", "k", key));
    grid.appendChild(el("div", "v" + (cls ? " " + cls : ""), value));
  }

  function detail(f, cols) {
    var tr = el("tr", "detail");
    var td = el("td");
    td.colSpan = cols;
    var grid = el("div", "detail-grid");
    kv(grid, "Message", f.msg);
    kv(grid, "Account", f.name + " (" + f.acct + ")");
    kv(grid, "OU", f.ou);
    kv(grid, "Resource", f.res, "mono");
    kv(grid, "Region", f.region);
    kv(grid, "Rule", f.rule + ": " + f.title);
    kv(grid, "Compliance", f.comp.join("; "));
    kv(grid, "Remediation", f.rem);
    kv(grid, "Muted by", f.muted);
    grid.appendChild(el("div", "k", "Evidence"));
    var box = el("div", "v");
    var det = el("details", "ev");
    det.appendChild(el("summary", null, "Show the fact values this verdict read"));
    det.addEventListener("toggle", function () {
      if (det.open && !det.querySelector("pre")) {
        det.appendChild(el("pre", "evidence", JSON.stringify(f.ev, null, 2)));
      }
    });
    box.appendChild(det);
    grid.appendChild(box);
    td.appendChild(grid);
    tr.appendChild(td);
    return tr;
  }

  function row(f) {
    var tr = el("tr", "finding");
    tr.dataset.status = f.status;
    var st = el("td"); st.appendChild(el("span", "pill st-" + f.status, f.status));
    var sev = el("td"); sev.appendChild(el("span", "sev sev-" + f.sev, f.sev));
    var acct = el("td");
    acct.appendChild(el("div", "acct", f.name));
    acct.appendChild(el("div", "acct-id", f.acct));
    tr.appendChild(st);
    tr.appendChild(sev);
    tr.appendChild(acct);
    tr.appendChild(el("td", "path", f.ou));
    var rule = el("td"); rule.appendChild(el("div", "mono", f.rule));
    tr.appendChild(rule);
    tr.appendChild(el("td", "msg", f.msg.length > 300 ? f.msg.slice(0, 299) + "\u2026" : f.msg));
    tr.addEventListener("click", function () {
      var next = tr.nextSibling;
      if (next && next.classList && next.classList.contains("detail")) {
        next.remove(); tr.classList.remove("open");
      } else {
        tr.parentNode.insertBefore(detail(f, tr.children.length), tr.nextSibling);
        tr.classList.add("open");
      }
    });
    return tr;
  }

  function render() {
    var q = ui.q.value.trim().toLowerCase();
    var hits = findings.filter(function (f) { return matches(f, q); });
    var body = ui.body;
    while (body.firstChild) { body.removeChild(body.firstChild); }
    var frag = document.createDocumentFragment();
    /* Every matching row is in the document (print shows them all); rows past the limit are
       hidden on screen only, and "Show more" reveals the next page of them. */
    hits.forEach(function (f, i) {
      var tr = row(f);
      if (i >= limit) { tr.classList.add("beyond"); }
      frag.appendChild(tr);
    });
    body.appendChild(frag);
    if (!hits.length) {
      var tr = el("tr"); var td = el("td", "empty", "No finding matches these filters.");
      td.colSpan = 6; tr.appendChild(td); body.appendChild(tr);
    }
    matching = hits.length;
    showCount();
  }

  function showCount() {
    ui.count.textContent = "Showing " + Math.min(limit, matching) + " of " + matching +
      " matching (" + findings.length + " findings in all; printing shows every match)";
    ui.more.hidden = matching <= limit;
  }

  function refilter() { limit = PAGE; render(); }
  [ui.ou, ui.sev, ui.status, ui.rule, ui.control].forEach(function (s) {
    s.addEventListener("change", refilter);
  });
  ui.q.addEventListener("input", refilter);
  ui.more.querySelector("button").addEventListener("click", function () {
    limit += PAGE * 4;
    var hidden = ui.body.querySelectorAll("tr.finding.beyond");
    for (var i = 0; i < hidden.length && i < PAGE * 4; i++) { hidden[i].classList.remove("beyond"); }
    showCount();
  });
  ui.reset.addEventListener("click", function () {
    [ui.ou, ui.sev, ui.status, ui.rule, ui.control].forEach(function (s) { s.value = ""; });
    ui.q.value = ""; refilter();
  });

  /* Links from the tree, the OU table and the framework summary set a filter. */
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest ? ev.target.closest("[data-filter]") : null;
    if (!t) { return; }
    ev.preventDefault();
    var which = t.getAttribute("data-filter");
    var select = { ou: ui.ou, rule: ui.rule, control: ui.control, status: ui.status }[which];
    if (!select) { return; }
    select.value = t.getAttribute("data-value");
    if (which !== "status" && ui.status.value === "") { ui.status.value = "OPEN"; }
    refilter();
    $("findings").scrollIntoView({ behavior: "auto", block: "start" });
  });

  render();
  document.documentElement.setAttribute("data-ready", "1");
})();
