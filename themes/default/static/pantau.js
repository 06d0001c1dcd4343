/* Pantau: offline reading and the "new content" banner. The site works without this file. */
(function () {
  "use strict";
  var root = document.documentElement.getAttribute("data-root") || "./";

  function listCachedPages(list) {
    if (!list || !window.caches) return;
    caches.open("pantau").then(function (cache) {
      return cache.keys().then(function (requests) {
        var pages = requests.map(function (r) { return r.url; }).filter(function (url) {
          return /\.html$/.test(url) && url.indexOf("/offline/") === -1 && !/\/404\.html$/.test(url);
        }).slice(0, 300);
        return Promise.all(pages.map(function (url) {
          return cache.match(url).then(function (response) { return response.text(); }).then(function (html) {
            var match = /<title>([^<]*)<\/title>/.exec(html);
            return { url: url, title: match ? match[1].replace(/ · .*$/, "") : url };
          });
        }));
      });
    }).then(function (pages) {
      if (!pages || !pages.length) return;
      list.textContent = "";
      pages.sort(function (a, b) { return a.title.localeCompare(b.title, "id"); });
      pages.forEach(function (page) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = page.url;
        link.textContent = page.title;
        item.appendChild(link);
        list.appendChild(item);
      });
    }).catch(function () {});
  }

  listCachedPages(document.getElementById("tersedia"));

  // A share link names the page it was tapped on (the address is only known here when the
  // site has no base_url); nothing is requested before the tap.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-share]");
    if (!link || location.protocol === "file:" || link.href.indexOf("%2F%2F") !== -1) return;
    var text = document.title.replace(/ · .*$/, "") + " " + location.href.split("#")[0];
    link.href = "https://wa.me/?text=" + encodeURIComponent(text);
  });

  if (!("serviceWorker" in navigator) || location.protocol === "file:") return;

  var banner = document.getElementById("pembaruan");
  var wanted = false;

  function offer(worker) {
    if (!banner) return;
    banner.hidden = false;
    document.getElementById("muat-ulang").onclick = function () {
      wanted = true;
      worker.postMessage("skip-waiting");
    };
  }

  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (wanted) location.reload();
  });

  navigator.serviceWorker.register(root + "sw.js").then(function (registration) {
    if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
    registration.addEventListener("updatefound", function () {
      var worker = registration.installing;
      if (!worker) return;
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
      });
    });
    function check() {
      if (navigator.onLine) registration.update().catch(function () {});
    }
    window.addEventListener("online", check);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) check();
    });
    setInterval(check, 5 * 60 * 1000);
  }).catch(function () {});
})();
