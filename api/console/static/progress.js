// A background job's progress (a what-if run, a hash-chain check): asks the job how far it
// has read once a second, shows it, and reloads the page (which then shows the result) when
// it is done. Without JavaScript a <noscript> meta refresh reloads the whole page instead.
(function () {
  var status = document.querySelector("[data-progress]");
  var bar = document.querySelector("progress");
  if (!status || !bar) return;
  var lang = document.documentElement.lang === "sv" ? "sv-SE" : "en-GB";
  // grouped as the server groups them (api/console/i18n.py): U+202F in Swedish
  function number(n) { return n.toLocaleString(lang).replace(/[\u00a0 ]/g, "\u202f"); }
  function poll() {
    fetch(status.dataset.progress, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (p) {
        bar.max = p.total || 1;
        bar.value = p.read;
        status.dataset.read = p.read;
        status.textContent = status.dataset.template.replace("{read}", number(p.read)).replace("{total}", number(p.total));
        if (p.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
