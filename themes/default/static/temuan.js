/* Pantau: filters on the findings page (temuan/), applied on the device with what the page
   already holds: no request, so they work offline too. Without this file the page lists every
   finding, grouped by status. The chosen filters are kept in the address (?wilayah=...), so a
   filtered list can be shared or bookmarked. */
(function () {
  "use strict";
  var form = document.querySelector("[data-finding-filters]");
  if (!form) return;
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-finding]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-finding-group]"));
  var selects = Array.prototype.slice.call(form.querySelectorAll("select"));
  var summary = document.getElementById("temuan-jumlah");
  var empty = document.getElementById("temuan-kosong");

  function matches(item, wanted) {
    var regions = (item.getAttribute("data-regions") || "").split(" ");
    return (!wanted.wilayah || regions.indexOf(wanted.wilayah) !== -1) &&
      (!wanted.tahapan || item.getAttribute("data-stage") === wanted.tahapan) &&
      (!wanted.kategori || item.getAttribute("data-category") === wanted.kategori) &&
      (!wanted.status || item.getAttribute("data-status") === wanted.status);
  }

  function remember(wanted) {
    var query = selects.filter(function (select) { return wanted[select.name]; })
      .map(function (select) {
        return encodeURIComponent(select.name) + "=" + encodeURIComponent(wanted[select.name]);
      }).join("&");
    try {
      history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
    } catch (error) { /* a copy opened from file:// may refuse: the filters still work */ }
  }

  function apply() {
    var wanted = {};
    selects.forEach(function (select) { wanted[select.name] = select.value; });
    var shown = 0;
    items.forEach(function (item) {
      item.hidden = !matches(item, wanted);
      if (!item.hidden) shown += 1;
    });
    groups.forEach(function (group) {
      var visible = group.querySelectorAll("[data-finding]:not([hidden])").length;
      group.hidden = visible === 0;
      var count = group.querySelector("[data-group-count]");
      if (count) count.textContent = String(visible);
    });
    summary.textContent = shown === items.length
      ? "Menampilkan semua " + items.length + " temuan."
      : "Menampilkan " + shown + " dari " + items.length + " temuan.";
    if (empty) empty.hidden = shown !== 0;
    remember(wanted);
  }

  var params = new URLSearchParams(location.search);
  selects.forEach(function (select) {
    var value = params.get(select.name);
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (value && known) select.value = value;
  });
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  form.addEventListener("reset", function () { setTimeout(apply, 0); });
  form.hidden = false;
  apply();
})();
