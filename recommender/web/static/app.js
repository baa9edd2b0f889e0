/* sistercity web app: city suggestions and live re-ranking. No libraries, no network
   beyond this app's own routes. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var t = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(t);
      t = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  }

  /* ---- city search with suggestions ---- */
  function setupSuggest(input) {
    var list = document.getElementById(input.getAttribute("aria-controls"));
    if (!list) return;
    var items = [], active = -1, seq = 0;
    function close() { list.hidden = true; active = -1; }
    function choose(item) {
      input.value = item.name;
      input.setAttribute("data-city-id", item.city_id);
      close();
      var form = input.form;
      var params = new URLSearchParams(form ? new FormData(form) : undefined);
      params.set("city", String(item.city_id));
      window.location.href = "/shortlist?" + params.toString();
    }
    function render() {
      list.innerHTML = "";
      items.forEach(function (it, i) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("data-city", it.city_id);
        li.textContent = it.name;
        var d = document.createElement("span");
        d.className = "detail";
        d.textContent = [it.admin1_name, it.country_code].filter(Boolean).join(", ");
        li.appendChild(d);
        if (i === active) li.setAttribute("aria-selected", "true");
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(it); });
        list.appendChild(li);
      });
      list.hidden = items.length === 0;
    }
    var fetchSuggestions = debounce(function () {
      var q = input.value.trim();
      var mine = ++seq;
      if (q.length < 2) { items = []; render(); return; }
      fetch(input.getAttribute("data-suggest") + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) {
          if (mine !== seq) return;
          items = data.results || []; active = items.length ? 0 : -1; render();
        })
        .catch(function () { items = []; render(); });
    }, 150);
    input.addEventListener("input", fetchSuggestions);
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown") { active = Math.min(items.length - 1, active + 1); render(); e.preventDefault(); }
      else if (e.key === "ArrowUp") { active = Math.max(0, active - 1); render(); e.preventDefault(); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(items[active]); }
      else if (e.key === "Escape") { close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest]"), setupSuggest);

  /* ---- live re-ranking on the shortlist page ---- */
  var form = document.getElementById("controls");
  var results = document.getElementById("results");
  if (!form || !results) return;
  var city = document.getElementById("city");

  function params(dropWeights) {
    var p = new URLSearchParams(new FormData(form));
    if (city && city.getAttribute("data-city-id")) p.set("city", city.getAttribute("data-city-id"));
    if (dropWeights) {
      Array.from(p.keys()).forEach(function (k) { if (k.indexOf("w_") === 0) p.delete(k); });
    }
    Array.from(p.entries()).forEach(function (kv) { if (kv[1] === "") p.delete(kv[0]); });
    return p;
  }

  var seq = 0;
  function refresh() {
    var p = params(false);
    var url = "/shortlist?" + p.toString();
    var mine = ++seq;
    document.body.classList.add("loading");
    fetch(url + "&_fragment=1", { headers: { "Accept": "text/html" } })
      .then(function (r) { return r.text().then(function (t) { return { ok: r.ok, text: t }; }); })
      .then(function (res) {
        if (mine !== seq) return;
        document.body.classList.remove("loading");
        if (res.ok) {
          results.innerHTML = res.text;
          history.replaceState(null, "", url);
          document.body.setAttribute("data-updated", String(mine));
        } else {
          var doc = new DOMParser().parseFromString(res.text, "text/html");
          var msg = doc.querySelector(".error");
          results.innerHTML = '<p class="error" role="alert"></p>';
          results.firstChild.textContent = msg ? msg.textContent : "Error";
        }
      })
      .catch(function () { document.body.classList.remove("loading"); });
  }
  var refreshSoon = debounce(refresh, 200);

  Array.prototype.forEach.call(form.querySelectorAll("input[type=range]"), function (r) {
    var out = document.getElementById("o_" + r.name.slice(2));
    r.addEventListener("input", function () {
      if (out) out.textContent = Number(r.value).toFixed(2).replace(".", document.documentElement.lang === "id" ? "," : ".");
      refreshSoon();
    });
  });
  form.addEventListener("change", function (e) {
    var t = e.target;
    if (t.type === "range" || t.id === "city") return;
    if (t.id === "scenario") {  /* a new scenario brings its own weights */
      window.location.href = "/shortlist?" + params(true).toString();
      return;
    }
    refreshSoon();
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  var reset = document.getElementById("reset-weights");
  if (reset) reset.addEventListener("click", function () {
    window.location.href = "/shortlist?" + params(true).toString();
  });
})();

/* On a phone the answer comes first: fold the controls to one line. */
(function () {
  "use strict";
  var box = document.querySelector(".controls-box");
  if (box && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) {
    box.removeAttribute("open");
  }
})();
