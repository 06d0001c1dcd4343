/* Pantau service worker, written by the build. Version {{ version }}.
 * Precaches the files listed below (by content hash, so an update downloads only what
 * changed), answers from the network when it can and from the cache when it cannot, and
 * shows the offline page for a page that was never cached. */
"use strict";
const VERSION = "{{ version }}";
const CACHE = "pantau";
const BASE = new URL("./", self.location).href;
const OFFLINE = BASE + "{{ offline_page }}";
const PRECACHE = {{ precache | tojson }};
const EVERYTHING = {{ everything | tojson }};
const NETWORK_TIMEOUT = 4000;

async function digest(buffer) {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(bytes.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function store(cache, url, response, hash) {
  const body = await response.arrayBuffer();
  const headers = new Headers(response.headers);
  headers.set("x-pantau-hash", hash || (await digest(body)));
  await cache.put(url, new Response(body, { status: 200, headers }));
}

async function precache() {
  const cache = await caches.open(CACHE);
  const queue = PRECACHE.slice();
  async function worker() {
    while (queue.length) {
      const [path, hash] = queue.shift();
      const url = BASE + path;
      const have = await cache.match(url);
      if (have && have.headers.get("x-pantau-hash") === hash) continue;
      const response = await fetch(url, { cache: "no-cache" });
      if (!response.ok) throw new Error(`precache ${path}: ${response.status}`);
      await store(cache, url, response, hash);
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function forgetRemoved() {
  if (!EVERYTHING) return;
  const keep = new Set(PRECACHE.map(([path]) => BASE + path));
  const cache = await caches.open(CACHE);
  for (const request of await cache.keys()) {
    if (!keep.has(request.url)) await cache.delete(request);
  }
}

self.addEventListener("install", (event) => event.waitUntil(precache()));
self.addEventListener("activate", (event) =>
  event.waitUntil(forgetRemoved().then(() => self.clients.claim()))
);
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
  if (event.data === "version" && event.source) event.source.postMessage({ version: VERSION });
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); }
    );
  });
}

async function respond(request) {
  let url = request.url.split("#")[0].split("?")[0];
  if (url.endsWith("/")) url += "index.html";
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT);
    if (response.ok && response.type === "basic") {
      store(cache, url, response.clone()).catch(() => {});
    }
    return response;
  } catch (error) {
    const cached = await cache.match(url);
    if (cached) return cached;
    if (request.mode === "navigate") {
      const offline = await cache.match(OFFLINE);
      if (offline) return offline;
    }
    return Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(BASE)) return;
  event.respondWith(respond(request));
});
