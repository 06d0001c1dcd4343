// The editor's service worker: the editor opens without a connection after one visit, and
// the records and forms it has shown are read from the cache while offline. Nothing is
// sent from here: changes wait in the page's IndexedDB until the connection returns.
const CACHE = "redaksi-__VERSION__";
const SHELL = ["/redaksi/", "/redaksi/aset/app.js", "/redaksi/aset/app.css", "/redaksi/aset/manifest.webmanifest"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("redaksi-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const editor = url.pathname.startsWith("/redaksi/") && !url.pathname.startsWith("/redaksi/masuk");
  const data = url.pathname.startsWith("/api/") && url.pathname !== "/api/health";
  if (editor || data) event.respondWith(networkFirst(request));
});

async function networkFirst(request) {
  // The network when it answers (what the server says now, a sign-in page included);
  // otherwise the last answer kept. A page's address is always the editor's one page.
  const cache = await caches.open(CACHE);
  const key = request.mode === "navigate" ? "/redaksi/" : request;
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}
