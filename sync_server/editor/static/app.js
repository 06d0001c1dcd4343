// Ruang redaksi: the browser editor. It works only through the server's API, signed in by
// the session cookie; every change sends the session's CSRF key. Everything shown is put in
// the page as text (textContent, value), never as HTML, so no field can run a script here.

const main = document.getElementById("isi");
const status = document.getElementById("status");
let session = null;

// --- the API -----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super(body.error || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, { method = "GET", body, raw, headers = {} } = {}) {
  // The server's sentences (field errors too) in Indonesian, as `pantau check --lang id`.
  const sent = { method, headers: { Accept: "application/json", "Accept-Language": "id", ...headers } };
  if (method !== "GET" && session && session.csrf) sent.headers["X-CSRF-Token"] = session.csrf;
  if (body !== undefined) {
    sent.headers["Content-Type"] = "application/json";
    sent.body = JSON.stringify(body);
  } else if (raw !== undefined) {
    sent.headers["Content-Type"] = raw.type;
    sent.body = raw;
  }
  const response = await fetch(path, sent);
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    answer = {};
  }
  if (response.status === 401) {
    location.assign("/redaksi/masuk");
    throw new ApiError(401, answer);
  }
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

// --- changes waiting on this device (IndexedDB) --------------------------------------------
// A change is kept here before it is sent, and stays until the server took it: a closed tab,
// a restart or a lost connection loses nothing. Each waits with the revision it was based on.

const opened = new Promise((resolve, reject) => {
  const request = indexedDB.open("redaksi", 1);
  request.onupgradeneeded = () => request.result.createObjectStore("antrean", { keyPath: "id", autoIncrement: true });
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});

async function inQueue(mode, work) {
  const db = await opened;
  return new Promise((resolve, reject) => {
    const tx = db.transaction("antrean", mode);
    const request = work(tx.objectStore("antrean"));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
  });
}

const queued = () => inQueue("readonly", (s) => s.getAll());
const enqueue = (change) => inQueue("readwrite", (s) => s.put(change));
const dequeue = (id) => inQueue("readwrite", (s) => s.delete(id));
const mine = async () => (await queued()).filter((c) => c.author === session.name);

function recordUrl(collection, slug) {
  return `/api/records/${collection}/${encodeURIComponent(slug)}`;
}

let flushing = false;

async function flush() {
  // Send the waiting changes in the order they were made; stop at the first that needs the
  // member (a field changed on both sides, a problem) or when the connection drops again.
  if (flushing) return;
  if (!navigator.onLine) return showWaiting();
  flushing = true;
  try {
    for (const change of await mine()) {
      if (change.conflict || change.problem || change.done) continue;
      if (!(await send(change))) break;
    }
  } finally {
    flushing = false;
    await showWaiting();
  }
}

async function send(change) {
  // One waiting change to the server; true when it is settled (sent, or waiting for the
  // member), false when the connection is gone.
  const url = recordUrl(change.collection, change.slug);
  const headers = change.base ? { "If-Match": `"${change.base}"` } : { "If-None-Match": "*" };
  try {
    try {
      await api(url, { method: "PUT", headers, body: change.body });
    } catch (error) {
      if (error.status !== 409 || !change.base) throw error;
      const merged = await api(`${url}/merge`, { method: "POST", body: { base: change.base, ...change.body } });
      if (merged.conflicts.length) {
        await enqueue({ ...change, conflict: merged });
        return true;
      }
      await api(url, { method: "PUT", headers: { "If-Match": `"${merged.revision}"` }, body: { fields: merged.merged } });
      if (change.body.text !== undefined) {
        // Merged field by field, a raw text loses its comments and layout: the text as typed
        // stays on screen until the member dismisses it.
        await enqueue({ ...change, done: true, unchosen: change.body.text, note: "raw" });
        return true;
      }
    }
    await dequeue(change.id);
    return true;
  } catch (error) {
    if (error.status === undefined) return false;
    if (error.status === 409 && change.base) return true; // changed again meanwhile: merged next time
    const details = ((error.body && error.body.details) || []).map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
    await enqueue({ ...change, problem: [error.message, ...details].join("\n") });
    return true;
  }
}

async function showWaiting() {
  const count = (await mine()).filter((c) => !c.done).length;
  const link = document.getElementById("antrean");
  if (link) link.textContent = count ? `Menunggu dikirim (${count})` : "Menunggu dikirim";
  const online = navigator.onLine ? "" : "Tidak tersambung: perubahan disimpan di perangkat ini. ";
  if (count || online) say(`${online}${count ? `${count} perubahan menunggu dikirim.` : ""}`);
}

// --- small DOM helpers (text only) ---------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && name !== "list") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function say(message) {
  status.textContent = message;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
  main.focus();
}

function failure(error) {
  const box = el("div", { className: "error", role: "alert" }, el("p", { text: error.message }));
  for (const detail of (error.body && error.body.details) || []) {
    box.append(el("p", { text: typeof detail === "string" ? detail : detail.message }));
  }
  return box;
}

let uid = 0;
const fresh = (prefix) => `${prefix}-${++uid}`;

// --- views ---------------------------------------------------------------------------------

async function start() {
  try {
    session = await api("/api/session");
  } catch (error) {
    if (error.status !== 401) show(failure(error));
    return;
  }
  document.getElementById("who").textContent = `${session.name} (${session.role})`;
  const signOut = document.getElementById("keluar");
  signOut.querySelector('input[name="csrf"]').value = session.csrf || "";
  signOut.addEventListener("submit", async (event) => {
    // On a shared computer nothing of this session stays readable: the cached records go.
    event.preventDefault();
    if ("caches" in window) {
      for (const key of await caches.keys()) if (key.startsWith("redaksi-")) await caches.delete(key);
    }
    signOut.submit();
  });
  const nav = document.getElementById("koleksi");
  nav.replaceChildren(collectionLinks(), el("p", {}, el("a", { id: "antrean", href: "#/antrean", text: "Menunggu dikirim" })));
  addEventListener("hashchange", route);
  addEventListener("online", flush);
  addEventListener("offline", showWaiting);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/redaksi/sw.js", { scope: "/redaksi/" });
  route();
  flush();
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  say("");
  const [collection, slug, extra] = parts;
  if (!collection) return home();
  if (collection === "antrean") return queueView();
  if (!session.collections.includes(collection)) {
    const what = session.labels[collection] || collection;
    return show(el("p", { className: "error", role: "alert", text: `Peran ${session.role} tidak boleh mengubah ${what}.` }));
  }
  if (!slug) return listView(collection);
  if (slug === "+baru") return newView(collection);
  if (extra === "riwayat") return historyView(collection, slug);
  return editView(collection, slug);
}

function collectionLinks() {
  return el("ul", {}, session.collections.map((c) => el("li", {}, el("a", { href: `#/${c}`, text: session.labels[c] }))));
}

function home() {
  show(el("h1", { text: "Ruang redaksi" }), el("p", { text: "Pilih koleksi yang akan diubah." }), collectionLinks());
}

function titleOf(fields, slug) {
  return fields.title || fields.name || slug;
}

const PAGE = 50;

async function listView(collection) {
  // A page of records at a time, searched on the server: a collection of thousands stays a
  // small download.
  const searchId = fresh("cari");
  const search = el("input", { id: searchId, type: "search", autocomplete: "off" });
  const stateId = fresh("keadaan");
  const state = el(
    "select",
    { id: stateId, onchange: () => load(true) },
    el("option", { value: "", text: "Semua" }),
    el("option", { value: "1", text: "Draf" }),
    el("option", { value: "0", text: "Terbit" }),
  );
  const body = el("tbody");
  const count = el("p", { role: "status" });
  const more = el("button", { type: "button", text: "Tampilkan lebih banyak", hidden: true });
  let shown = 0;
  let asked = 0;
  const load = async (restart) => {
    const ask = ++asked;
    if (restart) shown = 0;
    const query = new URLSearchParams({ brief: "1", limit: String(PAGE), offset: String(shown), q: search.value.trim() });
    if (state.value) query.set("draft", state.value);
    let page;
    try {
      page = await api(`/api/records/${collection}?${query}`);
    } catch (error) {
      count.replaceChildren(failure(error));
      return;
    }
    if (ask !== asked) return; // a newer search answered first
    const rows = page.records.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, el("a", { href: `#/${collection}/${encodeURIComponent(r.slug)}`, text: r.title || r.slug })),
        el("td", { text: r.slug }),
        el("td", { text: r.draft ? "draf" : "terbit" }),
        el("td", { text: String(r.revision) }),
      ),
    );
    if (restart) body.replaceChildren(...rows);
    else body.append(...rows);
    shown += rows.length;
    count.textContent = shown < page.total ? `${shown} dari ${page.total} rekaman` : `${page.total} rekaman`;
    more.hidden = shown >= page.total;
  };
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => load(true), 250);
  });
  more.addEventListener("click", () => load(false));
  show(
    el("h1", { text: session.labels[collection] }),
    el("p", {}, el("a", { href: `#/${collection}/+baru`, className: "button", text: "Rekaman baru" })),
    el("label", { htmlFor: searchId, text: "Cari judul atau slug" }),
    search,
    el("label", { htmlFor: stateId, text: "Keadaan" }),
    state,
    count,
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Judul", "Slug", "Keadaan", "Revisi"].map((h) => el("th", { scope: "col", text: h })))),
      body,
    ),
    more,
  );
  await load(true);
}

function newView(collection) {
  const id = fresh("slug");
  const input = el("input", { id, required: true, pattern: "[a-z0-9]+(-[a-z0-9]+)*", maxLength: 80, autocomplete: "off" });
  const form = el(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        location.hash = `#/${collection}/${encodeURIComponent(input.value)}`;
      },
    },
    el("label", { htmlFor: id, text: "Slug (huruf kecil, angka, tanda hubung)" }),
    input,
    el("button", { type: "submit", text: "Lanjut" }),
  );
  show(el("h1", { text: `Rekaman baru: ${session.labels[collection]}` }), form);
}

// --- the form ------------------------------------------------------------------------------

function witaLocal(value) {
  // A stored moment as the value of a datetime-local input, in WITA (UTC+8).
  if (!value) return "";
  const moment = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}+08:00`);
  if (Number.isNaN(moment.getTime())) return "";
  return new Date(moment.getTime() + 8 * 3600e3).toISOString().slice(0, 16);
}

function labelled(field, id, control, errors) {
  const help = field.help ? el("p", { className: "help", id: `${id}-help`, text: field.help }) : null;
  if (help) control.setAttribute("aria-describedby", `${id}-help ${id}-error`);
  const error = el("p", { className: "field-error", id: `${id}-error`, role: "alert" });
  errors.set(field.name, error);
  return el(
    "div",
    { className: `field field-${field.kind}` },
    el("label", { htmlFor: id, text: field.label + (field.required ? " *" : "") }),
    help,
    control,
    error,
  );
}

function input(field, value, errors) {
  // One field: its element, and a function giving its value (undefined: leave it out).
  const id = fresh(field.name);
  const kind = field.kind;
  if (kind === "checkbox") {
    const box = el("input", { id, type: "checkbox", checked: Boolean(value) });
    return [labelled(field, id, box, errors), () => (box.checked ? true : undefined)];
  }
  if (field.search) return searched(field, value, errors, id);
  if (kind === "select") {
    const choice = el("select", { id, required: field.required }, el("option", { value: "", text: "—" }));
    const offered = [...(field.options || [])];
    if (value && !offered.some(([o]) => o === value)) offered.push([value, value]);
    for (const [optionValue, label] of offered) {
      choice.append(el("option", { value: optionValue, text: label === optionValue ? label : `${label} (${optionValue})` }));
    }
    choice.value = value ?? "";
    return [labelled(field, id, choice, errors), () => choice.value || undefined];
  }
  if (kind === "choices") {
    const chosen = new Set(Array.isArray(value) ? value : []);
    // A value the choices do not offer (a region since removed) stays, to be unticked by hand.
    const offered = field.options || [];
    const unknown = [...chosen].filter((v) => !offered.some(([o]) => o === v)).map((v) => [v, v]);
    const boxes = [...offered, ...unknown].map(([optionValue, label]) => {
      const boxId = fresh(field.name);
      const box = el("input", { id: boxId, type: "checkbox", value: optionValue, checked: chosen.has(optionValue) });
      return [box, el("div", { className: "choice" }, box, el("label", { htmlFor: boxId, text: label }))];
    });
    const group = fieldset(field, errors, boxes.map(([, row]) => row));
    group.id = id;
    return [group, () => {
      const picked = boxes.filter(([box]) => box.checked).map(([box]) => box.value);
      return picked.length ? picked : undefined;
    }];
  }
  if (kind === "lines") {
    const area = el("textarea", { id, rows: 3, value: Array.isArray(value) ? value.join("\n") : "" });
    return [labelled(field, id, area, errors), () => {
      const lines = area.value.split("\n").map((l) => l.trim()).filter(Boolean);
      return lines.length ? lines : undefined;
    }];
  }
  if (kind === "markdown") {
    const area = el("textarea", { id, rows: 14, value: value ?? "", className: "body" });
    return [labelled(field, id, area, errors), () => (area.value.trim() ? area.value : undefined)];
  }
  if (kind === "group" && field.name === "image") return poster(field, value, errors);
  if (kind === "group") return group(field, value, errors);
  if (kind === "rows") return rowsOf(field, value, errors);
  if (kind === "raw") {
    const note = el("p", { className: "help", text: "Ubah bidang ini di tampilan teks mentah." });
    const shown = el("pre", { text: value === undefined ? "—" : JSON.stringify(value, null, 2) });
    return [el("div", { className: "field" }, el("p", { className: "label", text: field.label }), note, shown), () => value];
  }
  const types = { date: "date", datetime: "datetime-local", number: "number" };
  const box = el("input", {
    id,
    type: types[kind] || "text",
    required: field.required,
    value: kind === "datetime" ? witaLocal(value) : value ?? "",
  });
  return [labelled(field, id, box, errors), () => {
    if (box.value === "") return undefined;
    if (kind === "number") return Number(box.value);
    if (kind === "datetime" && box.value === witaLocal(value)) return value;
    return box.value;
  }];
}

function searched(field, value, errors, id) {
  // A reference to a large collection: its records are looked up as the member types (a
  // list of thousands is not sent with the form).
  const many = field.kind === "choices";
  const listId = fresh("pilihan");
  const options = el("datalist", { id: listId });
  const box = el("input", { id, type: "text", autocomplete: "off", spellcheck: false, value: many ? "" : value ?? "" });
  box.setAttribute("list", listId);
  let typing;
  box.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(async () => {
      const query = new URLSearchParams({ brief: "1", limit: "20", q: box.value.trim() });
      try {
        const found = await api(`/api/records/${field.search}?${query}`);
        options.replaceChildren(...found.records.map((r) => el("option", { value: r.slug, label: r.title || r.slug })));
      } catch {
        // offline: the member types the slug
      }
    }, 250);
  });
  const node = labelled(field, id, box, errors);
  box.after(options);
  if (!many) return [node, () => box.value.trim() || undefined];
  const chosen = el("div", {});
  const addChoice = (slug) => {
    const boxId = fresh(field.name);
    chosen.append(el("div", { className: "choice" }, el("input", { id: boxId, type: "checkbox", value: slug, checked: true }), el("label", { htmlFor: boxId, text: slug })));
  };
  for (const slug of Array.isArray(value) ? value : []) addChoice(slug);
  const add = el("button", {
    type: "button",
    text: `Tambah ${field.label.toLowerCase()}`,
    onclick: () => {
      if (box.value.trim()) addChoice(box.value.trim());
      box.value = "";
    },
  });
  box.before(chosen);
  options.after(add);
  return [node, () => {
    const picked = [...chosen.querySelectorAll("input:checked")].map((b) => b.value);
    return picked.length ? picked : undefined;
  }];
}

function fieldset(field, errors, content) {
  // A field made of several inputs: its label as a legend, its help, and its error below.
  const error = el("p", { className: "field-error", role: "alert" });
  errors.set(field.name, error);
  return el(
    "fieldset",
    { className: `field field-${field.kind}` },
    el("legend", { text: field.label + (field.required ? " *" : "") }),
    field.help ? el("p", { className: "help", text: field.help }) : null,
    content,
    error,
  );
}

function group(field, value, errors) {
  const current = value && typeof value === "object" ? value : {};
  const parts = field.fields.map((sub) => [sub.name, ...input(sub, current[sub.name], errors)]);
  const set = fieldset(field, errors, parts.map(([, node]) => node));
  return [set, () => {
    const found = {};
    for (const [name, , read] of parts) {
      const got = read();
      if (got !== undefined) found[name] = got;
    }
    return Object.keys(found).length ? found : undefined;
  }];
}

function poster(field, value, errors) {
  // The image group, with an upload: the server checks the file by decoding it and names it.
  const [set, read] = group(field, value, errors);
  const [src] = set.querySelectorAll("input");
  const id = fresh("poster");
  const file = el("input", { id, type: "file", accept: "image/png,image/jpeg,image/webp" });
  const note = el("p", { className: "help", role: "status" });
  file.addEventListener("change", async () => {
    const chosen = file.files[0];
    if (!chosen) return;
    note.textContent = "Mengunggah…";
    try {
      const stored = await api("/api/assets", { method: "POST", raw: chosen });
      src.value = stored.src;
      note.textContent = `Terunggah sebagai ${stored.src}. Isi juga teks alternatifnya.`;
    } catch (error) {
      note.textContent = error.message;
    }
  });
  set.insertBefore(el("div", {}, el("label", { htmlFor: id, text: "Unggah poster (PNG, JPEG atau WebP)" }), file, note), set.children[2] || null);
  return [set, read];
}

function rowsOf(field, value, errors) {
  const list = el("div", { className: "rows" });
  const readers = [];
  const dummy = new Map();
  const add = (item) => {
    const [node, read] = group({ ...field, label: `${field.label} ${readers.length + 1}`, help: "" }, item, dummy);
    const entry = { read };
    const remove = el("button", {
      type: "button",
      text: "Hapus",
      onclick: () => {
        readers.splice(readers.indexOf(entry), 1);
        node.remove();
      },
    });
    node.append(remove);
    readers.push(entry);
    list.append(node);
  };
  for (const item of Array.isArray(value) ? value : []) add(item);
  const more = el("button", { type: "button", text: `Tambah ${field.label.toLowerCase()}`, onclick: () => add({}) });
  const set = fieldset(field, errors, [list, more]);
  return [set, () => {
    const items = readers.map((r) => r.read()).filter((x) => x !== undefined);
    return items.length ? items : undefined;
  }];
}

async function editView(collection, slug) {
  show(el("p", { text: "Memuat…" }));
  let shape;
  let record = null;
  try {
    shape = await api(`/api/forms/${collection}`);
    record = await api(`/api/records/${collection}/${encodeURIComponent(slug)}`);
  } catch (error) {
    if (error.status !== 404 || !shape) return show(failure(error));
  }
  // A change of this record still waiting on this device is what the member last typed.
  const pending = (await mine()).find((c) => c.collection === collection && c.slug === slug && !c.done);
  // A new record starts from the skeleton `pantau new` writes (a draft, with placeholders).
  let data = record ? record.data : shape.skeleton.data;
  if (pending && pending.body.fields) data = pending.body.fields;
  const errors = new Map();
  // Whether it is a draft is decided by the button pressed, not by a box to tick.
  const shownFields = shape.fields.filter((field) => field.name !== "draft");
  const parts = shownFields.map((field) => [field.name, ...input(field, data[field.name], errors)]);
  const summary = el("div", { role: "alert", className: "summary" });
  const rawText = pending && pending.body.text !== undefined ? pending.body.text : record ? record.text : shape.skeleton.text;
  const raw = el("textarea", { id: fresh("mentah"), rows: 24, value: rawText, className: "body" });
  // A waiting change typed as raw text opens in the raw view, where it was typed.
  let useRaw = Boolean(pending && pending.body.text !== undefined);
  const formBox = el("div", { hidden: useRaw }, parts.map(([, node]) => node));
  const rawBox = el("div", { hidden: !useRaw }, el("label", { htmlFor: raw.id, text: "Teks berkas (YAML dan Markdown)" }), raw);
  const toggle = el("button", {
    type: "button",
    text: useRaw ? "Tampilan formulir" : "Tampilan teks mentah",
    onclick: () => {
      useRaw = !useRaw;
      formBox.hidden = useRaw;
      rawBox.hidden = !useRaw;
      toggle.textContent = useRaw ? "Tampilan formulir" : "Tampilan teks mentah";
    },
  });

  const fields = (draft) => {
    const found = {};
    for (const [key, value] of Object.entries(data)) if (!shownFields.some((f) => f.name === key)) found[key] = value;
    for (const [name, , read] of parts) {
      const value = read();
      if (value !== undefined) found[name] = value;
    }
    if (draft) found.draft = true;
    else delete found.draft;
    return found;
  };

  let waiting = pending;
  const save = async (draft) => {
    summary.replaceChildren();
    for (const error of errors.values()) error.textContent = "";
    const body = useRaw ? { text: raw.value } : { fields: fields(draft) };
    // Based on the revision the member opened (or that a waiting change was based on).
    const base = waiting ? waiting.base : record ? record.revision : 0;
    const change = {
      ...(waiting ? { id: waiting.id } : {}),
      author: session.name,
      collection,
      slug,
      title: (body.fields && (body.fields.title || body.fields.name)) || slug,
      base,
      body,
      time: new Date().toISOString(),
    };
    const keepIt = async (why) => {
      change.id = await enqueue(change);
      waiting = change;
      summary.replaceChildren(el("p", { text: why }), el("p", {}, el("a", { href: "#/antrean", text: "Lihat perubahan yang menunggu" })));
      await showWaiting();
    };
    if (!navigator.onLine) return keepIt("Tidak tersambung: perubahan disimpan di perangkat ini dan dikirim begitu tersambung lagi.");
    const headers = base ? { "If-Match": `"${base}"` } : { "If-None-Match": "*" };
    say("Menyimpan…");
    try {
      const saved = await api(recordUrl(collection, slug), { method: "PUT", headers, body });
      if (waiting) await dequeue(waiting.id);
      waiting = null;
      const build = saved.build && saved.build.id ? ` Build #${saved.build.id} akan menerbitkannya.` : "";
      say(`Tersimpan sebagai revisi ${saved.revision}.${build}`);
      record = await api(`/api/records/${collection}/${encodeURIComponent(slug)}`);
      raw.value = record.text;
      const path = shape.url ? `/${shape.url}/${slug}/` : `/${slug}/`;
      const progress = el("p", { role: "status" });
      summary.replaceChildren(el("p", { text: `Tersimpan sebagai revisi ${saved.revision}.${build}` }), progress);
      if (record.data.draft) progress.textContent = "Rekaman ini masih draf: tidak tampil di situs.";
      else if (saved.build && saved.build.id) followBuild(saved.build.id, progress, path);
      else progress.append(el("a", { href: path, text: "Lihat halamannya di situs" }));
    } catch (error) {
      say("");
      if (error.status === undefined) {
        await keepIt("Koneksi terputus: perubahan disimpan di perangkat ini dan dikirim begitu tersambung lagi.");
      } else if (error.status === 409 && base) {
        // Changed on the server meanwhile: merged field by field; a field changed on both
        // sides waits for the member's choice.
        await keepIt("Rekaman ini sudah diubah orang lain sejak Anda membukanya; perubahan Anda digabungkan.");
        await flush();
        const left = (await mine()).find((c) => c.id === change.id);
        if (left) {
          location.hash = "#/antrean";
        } else {
          // The form shows the merged record, so a next save starts from both changes.
          await editView(collection, slug);
          say("Perubahan Anda sudah digabungkan dengan versi terbaru dan tersimpan.");
        }
      } else if (error.status === 422) {
        summary.append(el("p", { text: "Periksa isian yang ditandai:" }));
        for (const detail of error.body.details || []) {
          const name = String(detail.field || "").split(/[.[]/)[0];
          const where = errors.get(name);
          if (where && !useRaw) where.textContent = detail.message;
          summary.append(el("p", { text: detail.field ? `${detail.field}: ${detail.message}` : detail.message }));
        }
      } else if (error.status === 409) {
        await keepIt("Rekaman dengan slug ini sudah dibuat orang lain. Perubahan Anda disimpan di perangkat ini; pilih slug lain atau buang perubahan itu.");
      } else {
        summary.append(failure(error));
      }
      summary.focus();
    }
  };

  const preview = () => {
    // A form post into a tab of its own: the page the builder makes of what is typed now.
    const post = el(
      "form",
      { method: "post", action: `/redaksi/pratinjau/${collection}/${encodeURIComponent(slug)}`, target: "_blank", hidden: true },
      el("input", { type: "hidden", name: "csrf", value: session.csrf }),
      useRaw
        ? el("input", { type: "hidden", name: "text", value: raw.value })
        : el("input", { type: "hidden", name: "fields", value: JSON.stringify(fields(false)) }),
    );
    document.body.append(post);
    post.submit();
    post.remove();
  };

  show(
    el("p", {}, el("a", { href: `#/${collection}`, text: `← ${shape.label}` })),
    el("h1", { text: record ? titleOf(record.fields, slug) : `Rekaman baru: ${slug}` }),
    el("p", { text: `Keadaan: ${data.draft ? "draf (belum tampil di situs)" : "terbit"}` }),
    pending ? el("p", { className: "summary", text: "Yang tampil adalah perubahan Anda yang masih menunggu dikirim." }) : null,
    el("p", {}, record ? `Revisi ${record.revision}. ` : "", record ? el("a", { href: `#/${collection}/${encodeURIComponent(slug)}/riwayat`, text: "Riwayat" }) : null),
    summary,
    el(
      "form",
      { onsubmit: (event) => event.preventDefault(), noValidate: true },
      toggle,
      formBox,
      rawBox,
      el(
        "div",
        { className: "actions" },
        el("button", { type: "button", text: "Pratinjau", onclick: preview }),
        el("button", { type: "button", text: "Simpan sebagai draf", onclick: () => save(true) }),
        el("button", { type: "button", className: "primary", text: "Terbitkan", onclick: () => save(false) }),
      ),
    ),
  );
  summary.tabIndex = -1;
}

const wita = new Intl.DateTimeFormat("id-ID", { timeZone: "Asia/Makassar", dateStyle: "long", timeStyle: "short" });
const when = (iso) => `${wita.format(new Date(iso))} WITA`;

async function labelsOf(collection) {
  // Field names in the member's words, from the collection's form (cached for offline use).
  try {
    const shape = await api(`/api/forms/${collection}`);
    return Object.fromEntries(shape.fields.map((f) => [f.name, f.label]));
  } catch {
    return {};
  }
}

function shown(value) {
  if (value === undefined || value === null || value === "") return "(kosong)";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

async function queueView() {
  await flush();
  const changes = await mine();
  const labels = {};
  for (const change of changes) labels[change.collection] ??= await labelsOf(change.collection);
  const items = changes.map((change) => {
    const where = `${session.labels[change.collection] || change.collection} · ${change.slug}`;
    const item = el("li", { className: "waiting" }, el("h2", { text: change.title }), el("p", { text: `${where} · ${when(change.time)}` }));
    const discard = el("button", {
      type: "button",
      text: change.done ? "Tutup" : "Buang perubahan ini",
      onclick: async () => {
        if (!change.done && !confirm("Buang perubahan ini? Isian Anda akan hilang dari perangkat ini.")) return;
        await dequeue(change.id);
        queueView();
      },
    });
    if (change.done) {
      const what = change.note === "raw"
        ? "Terkirim, digabungkan per kolom dengan versi terbaru. Teks yang Anda ketik (komentar dan tata letaknya tidak ikut tersimpan):"
        : "Terkirim. Nilai Anda yang tidak dipilih:";
      item.append(el("p", { text: what }), el("pre", { text: shown(change.unchosen) }), discard);
    } else if (change.conflict) {
      item.append(conflictForm(change, labels[change.collection]), discard);
    } else if (change.problem) {
      item.append(
        el("p", { className: "error", text: "Server menolak perubahan ini:" }),
        el("pre", { text: change.problem }),
        el("p", {}, el("a", { href: `#/${change.collection}/${encodeURIComponent(change.slug)}`, text: "Buka dan perbaiki" })),
        discard,
      );
    } else {
      item.append(el("p", { text: navigator.onLine ? "Sedang dikirim…" : "Menunggu koneksi." }), discard);
    }
    return item;
  });
  show(
    el("h1", { text: "Menunggu dikirim" }),
    items.length ? el("ol", { className: "queue" }, items) : el("p", { text: "Tidak ada perubahan yang menunggu." }),
  );
}

function conflictForm(change, labels) {
  // Fields changed on both sides: both values side by side; the member chooses each.
  const { revision, merged, conflicts } = change.conflict;
  const choices = conflicts.map((conflict) => {
    const name = `pilih-${change.id}-${conflict.field}`;
    const option = (side, label, value) => {
      const id = fresh(name);
      return el(
        "div",
        { className: "side" },
        el("input", { type: "radio", name, id, value: side, required: true }),
        el("label", { htmlFor: id, text: label }),
        el("pre", { text: shown(value) }),
      );
    };
    return el(
      "fieldset",
      { className: "conflict" },
      el("legend", { text: `${labels[conflict.field] || conflict.field}: diubah di dua tempat` }),
      el("div", { className: "sides" }, option("server", "Versi server", conflict.server), option("local", "Versi Anda", conflict.local)),
    );
  });
  const note = el("p", { role: "alert", className: "field-error" });
  const form = el(
    "form",
    {
      onsubmit: async (event) => {
        event.preventDefault();
        const fields = { ...merged };
        const unchosen = {};
        for (const conflict of conflicts) {
          const picked = form.querySelector(`input[name="pilih-${change.id}-${conflict.field}"]:checked`);
          if (!picked) {
            note.textContent = `Pilih salah satu versi untuk ${labels[conflict.field] || conflict.field}.`;
            return;
          }
          const [keep, other] = picked.value === "server" ? ["server", "local"] : ["local", "server"];
          if (conflict[keep] === undefined || conflict[keep] === null) delete fields[conflict.field];
          else fields[conflict.field] = conflict[keep];
          if (other === "local") unchosen[conflict.field] = conflict.local;
        }
        try {
          const url = recordUrl(change.collection, change.slug);
          await api(url, { method: "PUT", headers: { "If-Match": `"${revision}"` }, body: { fields } });
          // What the member typed and did not choose stays on screen until dismissed.
          if (Object.keys(unchosen).length) await enqueue({ ...change, conflict: null, done: true, unchosen });
          else await dequeue(change.id);
        } catch (error) {
          if (error.status === 409) {
            await enqueue({ ...change, base: change.base, conflict: null });
          } else if (error.status !== undefined) {
            note.textContent = error.message;
            return;
          }
        }
        queueView();
      },
    },
    choices,
    note,
    el("button", { type: "submit", className: "primary", text: "Kirim pilihan" }),
  );
  return form;
}

async function followBuild(id, where, path) {
  // The build that publishes a change, until its page is live (or the build fails).
  for (let tries = 0; tries < 120; tries += 1) {
    let answer;
    try {
      answer = await api("/api/builds");
    } catch {
      answer = null;
    }
    const row = answer && answer.builds.find((b) => b.id === id);
    if (answer && answer.live !== null && answer.live >= id) {
      where.replaceChildren(`Build #${id} sudah terbit. `, el("a", { href: path, text: "Lihat halamannya di situs" }));
      return;
    }
    if (row && row.status === "failed") {
      where.textContent = `Build #${id} gagal, situs tetap seperti sebelumnya: ${row.error || ""}`;
      return;
    }
    if (answer && answer.pinned) {
      where.textContent = `Build #${id} selesai, tetapi admin sedang menahan penerbitan: ${answer.pinned.message}`;
      return;
    }
    where.textContent = `Build #${id} ${row && row.status === "running" ? "sedang berjalan" : "menunggu giliran"}…`;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function historyView(collection, slug) {
  show(el("p", { text: "Memuat…" }));
  let history;
  try {
    history = await api(`/api/records/${collection}/${encodeURIComponent(slug)}/history`);
  } catch (error) {
    return show(failure(error));
  }
  const revisions = (history.revisions || []).slice().reverse();
  const items = revisions.map((r) => {
    const revert = session.role === "admin" && r.revision !== revisions[0].revision
      ? el("button", {
        type: "button",
        text: `Kembalikan ke revisi ${r.revision}`,
        onclick: async () => {
          try {
            const done = await api(`/api/records/${collection}/${encodeURIComponent(slug)}/revert`, {
              method: "POST",
              body: { revision: r.revision },
            });
            say(`Dikembalikan: revisi ${done.revision} sama dengan revisi ${r.revision}.`);
            historyView(collection, slug);
          } catch (error) {
            say(error.message);
          }
        },
      })
      : null;
    return el(
      "li",
      {},
      el("p", { text: `Revisi ${r.revision} · ${r.author} (${r.role}) · ${when(r.time)}${r.deleted ? " · dihapus" : ""}` }),
      el("details", {}, el("summary", { text: "Teks" }), el("pre", { text: r.text })),
      revert,
    );
  });
  show(
    el("p", {}, el("a", { href: `#/${collection}/${encodeURIComponent(slug)}`, text: `← ${slug}` })),
    el("h1", { text: `Riwayat ${slug}` }),
    el("ul", { className: "history" }, items),
  );
}

start();
