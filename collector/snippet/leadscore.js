/* leadscore browser snippet: page views with visible dwell time, video milestones,
   downloads, identify, consent. Plain JS, no dependencies. Loaded async by loader.js,
   whose queue stub (window.leadscore = [[method, ...args], ...]) it replays. */
(function (w, d) {
  "use strict";
  var stub = w.leadscore || [];
  if (stub.loaded) return;
  var cfg = stub.config || {};
  var host = (cfg.host || "").replace(/\/$/, "");
  var key = cfg.writeKey;
  var BATCH_MS = 2000, BATCH_MAX = 20, QUEUE_MAX = 1000, BACKOFF_MAX = 60000;
  var Q = "ls_q", AID = "ls_aid", LID = "ls_lid", CONSENT = "ls_consent";
  var MILESTONES = [10, 25, 50, 75, 100];
  var ASSET = /\.(pdf|docx?|pptx?|xlsx?|zip)(\?|#|$)/i;

  function store(k, v) {
    try {
      if (v === null) localStorage.removeItem(k); else localStorage.setItem(k, v);
    } catch (e) { /* storage off (private mode): keep working in memory */ }
  }
  function load(k) { try { return localStorage.getItem(k); } catch (e) { return null; } }
  function cookie(k, v, maxAge) {
    if (v === undefined) {
      var m = d.cookie.match(new RegExp("(?:^|; )" + k + "=([^;]*)"));
      return m ? decodeURIComponent(m[1]) : null;
    }
    d.cookie = k + "=" + encodeURIComponent(v) + "; path=/; max-age=" + maxAge +
      "; SameSite=Lax" + (cfg.cookieDomain ? "; domain=" + cfg.cookieDomain : "") +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* Consent: an explicit choice wins; otherwise DNT/GPC (if configured) and opt-in mode. */
  function allowed() {
    var c = load(CONSENT);
    if (c === "1") return true;
    if (c === "0") return false;
    var n = w.navigator;
    if (cfg.respectDnt && (n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl)) return false;
    return !cfg.optIn;
  }

  function anonId() {
    var id = cookie(AID) || load(AID) || uuid();
    cookie(AID, id, 63072000); /* two years, refreshed on every page */
    store(AID, id);
    return id;
  }

  var queue = [];
  try { queue = JSON.parse(load(Q) || "[]"); } catch (e) { queue = []; }
  var inFlight = 0, attempt = 0, timer = null;

  function persist() {
    if (queue.length > QUEUE_MAX) queue = queue.slice(queue.length - QUEUE_MAX);
    store(Q, queue.length ? JSON.stringify(queue) : null);
  }

  function send(type, properties, extra) {
    if (!allowed()) return;
    var ev = {
      event_id: uuid(), type: type, anonymous_id: anonId(),
      occurred_at: new Date().toISOString(), properties: properties || {},
      context: { page: { url: location.href, title: d.title, referrer: d.referrer } }
    };
    var lead = load(LID);
    if (lead) ev.lead_id = lead;
    for (var k in extra || {}) ev[k] = extra[k];
    queue.push(ev);
    persist();
    schedule(queue.length >= BATCH_MAX ? 0 : BATCH_MS);
  }

  function schedule(ms) {
    if (timer !== null) { if (ms > 0) return; clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; flush(); }, ms);
  }

  function url() { return host + "/v1/batch?writeKey=" + encodeURIComponent(key); }
  function body(batch) { return JSON.stringify({ batch: batch, sentAt: new Date().toISOString() }); }
  function drop(batch) {
    var ids = {};
    batch.forEach(function (e) { ids[e.event_id] = 1; });
    queue = queue.filter(function (e) { return !ids[e.event_id]; });
    persist();
  }

  /* One batch in flight; the same events (same event_id) go again until answered. */
  function flush() {
    if (inFlight || !queue.length) return;
    var batch = queue.slice(0, BATCH_MAX);
    inFlight = 1;
    /* text/plain keeps it a simple request: no CORS preflight per batch. */
    fetch(url(), { method: "POST", body: body(batch), keepalive: true, credentials: "omit",
      headers: { "Content-Type": "text/plain" } }).then(function (r) {
      inFlight = 0;
      if (r.ok || (r.status >= 400 && r.status < 500 && r.status !== 429 && r.status !== 408)) {
        drop(batch); /* done, or a client error no retry can fix */
        attempt = 0;
        if (queue.length) schedule(0);
      } else retry();
    }, function () { inFlight = 0; retry(); });
  }

  function retry() {
    attempt++;
    var base = Math.min(BACKOFF_MAX, 1000 * Math.pow(2, attempt - 1));
    schedule(base / 2 + Math.random() * base / 2); /* jitter: tabs do not retry in step */
  }

  /* On pagehide the page may be gone before fetch answers: hand everything to the browser.
     A beacon's fate is unknown, so only while the collector is answering (no batch in
     flight, no retry pending); otherwise the queue stays in localStorage for the next page. */
  function beaconAll() {
    if (!w.navigator.sendBeacon || inFlight || attempt) return;
    while (queue.length) {
      var batch = queue.slice(0, BATCH_MAX);
      if (!navigator.sendBeacon(url(), new Blob([body(batch)], { type: "text/plain" }))) break;
      drop(batch);
    }
  }

  /* Page view with dwell = visible time, sent when the page is left. */
  var pv = null;
  function startPage() {
    pv = { visible: 0, since: d.visibilityState === "visible" ? Date.now() : null };
  }
  function endPage() {
    if (!pv) return;
    if (pv.since !== null) pv.visible += Date.now() - pv.since;
    send("page_view", { url: location.href, path: location.pathname, title: d.title,
      referrer: d.referrer, dwell_ms: pv.visible });
    pv = null;
  }
  d.addEventListener("visibilitychange", function () {
    if (!pv) return;
    if (d.visibilityState === "hidden" && pv.since !== null) { pv.visible += Date.now() - pv.since; pv.since = null; }
    else if (d.visibilityState === "visible" && pv.since === null) pv.since = Date.now();
  });
  w.addEventListener("pagehide", function () { endPage(); beaconAll(); });
  w.addEventListener("pageshow", function (e) { if (e.persisted && cfg.autoPage !== false) startPage(); });

  /* Video: milestones per watch; a watch ends at "ended", the next play is a replay. */
  function videoState(v) {
    if (!v._ls) v._ls = { fired: {}, watch: 1 };
    return v._ls;
  }
  function videoId(v) { return v.getAttribute("data-leadscore-video") || v.id || v.currentSrc || "video"; }
  function milestone(v, m) {
    var s = videoState(v);
    if (s.fired[m]) return;
    s.fired[m] = 1;
    send("video_progress", { video_id: videoId(v), percent: m, watch: s.watch, replay: s.watch > 1 });
  }
  d.addEventListener("timeupdate", function (e) {
    var v = e.target;
    if (v.tagName !== "VIDEO" || !v.duration || !isFinite(v.duration)) return;
    var pct = v.currentTime / v.duration * 100;
    MILESTONES.forEach(function (m) { if (m < 100 && pct >= m) milestone(v, m); });
  }, true);
  d.addEventListener("ended", function (e) {
    var v = e.target;
    if (v.tagName !== "VIDEO") return;
    MILESTONES.forEach(function (m) { milestone(v, m); });
    var s = videoState(v);
    s.fired = {};
    s.watch++;
  }, true);

  /* Downloads: links to documents, or anything marked data-leadscore-asset. */
  d.addEventListener("click", function (e) {
    var el = e.target && e.target.closest && e.target.closest("[data-leadscore-asset],a[href]");
    if (!el) return;
    var marked = el.getAttribute("data-leadscore-asset");
    var href = el.href || "";
    var m = href.match(ASSET);
    if (marked === null && !m) return;
    send("download", { asset_id: marked || href, asset_type: m ? m[1].toLowerCase() : undefined, url: href || undefined });
  }, true);

  /* Forms marked data-leadscore-identify: a form_submit and an identify with its fields. */
  d.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f || !f.hasAttribute || !f.hasAttribute("data-leadscore-identify")) return;
    var traits = {};
    Array.prototype.forEach.call(f.elements, function (el) {
      if (!el.name || /^(password|hidden|file|submit|button)$/i.test(el.type)) return;
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      traits[el.name] = el.value;
    });
    var formId = f.id || f.getAttribute("name") || "form";
    send("form_submit", { form_id: formId });
    api.identify(traits);
  }, true);

  var api = {
    loaded: true,
    page: function () { endPage(); startPage(); },
    identify: function (leadId, traits) {
      if (typeof leadId === "object" && leadId !== null) { traits = leadId; leadId = null; }
      if (leadId) store(LID, String(leadId));
      send("identify", {}, { traits: traits || {} });
    },
    track: function (name, properties) {
      var p = properties || {};
      p.name = name;
      send("custom", p);
    },
    consent: function (granted) {
      store(CONSENT, granted ? "1" : "0");
      if (granted) { if (!pv && cfg.autoPage !== false) startPage(); return; }
      /* Withdrawn: forget the identifiers and everything not yet sent. */
      queue = []; persist(); pv = null;
      store(AID, null); store(LID, null); cookie(AID, "", 0);
    },
    flush: flush,
    anonymousId: function () { return allowed() ? anonId() : null; }
  };

  w.leadscore = api;
  if (cfg.autoPage !== false && allowed()) startPage();
  for (var i = 0; i < stub.length; i++) {
    var call = stub[i];
    if (api[call[0]]) api[call[0]].apply(api, call.slice(1));
  }
  if (queue.length) schedule(0); /* events a reload or an outage left behind */
})(window, document);
