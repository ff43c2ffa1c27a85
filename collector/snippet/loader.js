/* Paste into every page, replacing WRITE_KEY and the host. Calls made before the snippet
   arrives are queued in window.leadscore and replayed by it, in order. */
(function (w, d, host, writeKey) {
  var ls = w.leadscore = w.leadscore || [];
  if (ls.loaded || ls.config) return;
  ls.config = { host: host, writeKey: writeKey, optIn: false, respectDnt: true };
  ["page", "identify", "track", "consent", "flush"].forEach(function (m) {
    ls[m] = function () { ls.push([m].concat([].slice.call(arguments))); };
  });
  var s = d.createElement("script");
  s.async = true;
  s.src = host + "/v1/snippet.js";
  d.head.appendChild(s);
})(window, document, "https://collect.example.com", "WRITE_KEY");
