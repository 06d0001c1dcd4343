/* Pantau search: runs on the device from search/index.js, online, offline or from file://. */
(function () {
  "use strict";
  var root = document.documentElement.getAttribute("data-root") || "./";
  var form = document.getElementById("search");
  var input = document.getElementById("q");
  var list = document.getElementById("hasil");
  var status = document.getElementById("search-status");
  if (!form || !input || !list) return;

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^0-9a-z]+/g, " ").trim();
  }

  var items = (window.PANTAU_SEARCH || []).map(function (row) {
    return { title: row[0], url: row[1], kind: row[2], snippet: row[3],
             titleWords: fold(row[0]).split(" "), words: row[4].split(" ") };
  });

  function hits(words, term) {
    for (var i = 0; i < words.length; i++) if (words[i].indexOf(term) === 0) return true;
    return false;
  }

  function search(query) {
    var terms = fold(query).split(" ").filter(Boolean);
    if (!terms.length) return [];
    var found = [];
    items.forEach(function (item) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        var inTitle = hits(item.titleWords, terms[i]);
        if (!inTitle && !hits(item.words, terms[i])) return;
        score += inTitle ? 3 : 1;
      }
      found.push({ item: item, score: score });
    });
    found.sort(function (a, b) {
      return b.score - a.score || a.item.title.localeCompare(b.item.title, "id");
    });
    return found.map(function (f) { return f.item; });
  }

  var everything = document.getElementById("semua");

  function show(query) {
    var results = search(query);
    if (everything) everything.hidden = Boolean(query.trim());
    list.textContent = "";
    results.slice(0, 50).forEach(function (item) {
      var li = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + item.url;
      link.textContent = item.title;
      var kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = item.kind;
      var snippet = document.createElement("p");
      snippet.textContent = item.snippet;
      li.appendChild(kind);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(link);
      li.appendChild(snippet);
      list.appendChild(li);
    });
    if (!query.trim()) status.textContent = "";
    else if (!results.length) status.textContent = "Tidak ada hasil untuk “" + query + "”.";
    else status.textContent = results.length + " hasil untuk “" + query + "”.";
  }

  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { show(input.value); }, 120);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && list.querySelector("a")) {
      event.preventDefault();
      list.querySelector("a").focus();
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    show(input.value);
    if (location.protocol !== "file:") {
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
    }
  });
  var initial = new URLSearchParams(location.search).get("q");
  if (initial) {
    input.value = initial;
    show(initial);
  }
})();
