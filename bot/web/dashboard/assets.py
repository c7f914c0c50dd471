"""The dashboard's stylesheet and its one script, served from this server (no CDN)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from bot.web.dashboard.html import SECURITY_HEADERS

CSS: Final = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{display:flex;flex-wrap:wrap;align-items:center;gap:1rem;padding:.6rem 1.2rem;
background:#17324d;color:#fff}
header .brand{font-weight:600;margin-right:auto}
nav{display:flex;flex-wrap:wrap;gap:.2rem;align-items:center}
nav a{color:#dce8f5;text-decoration:none;padding:.3rem .7rem;border-radius:4px}
nav a.active,nav a:hover{background:#2d5780;color:#fff}
nav form{display:inline;margin-left:.6rem}
main{max-width:72rem;margin:0 auto;padding:1rem 1.2rem 3rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.8rem}
table{border-collapse:collapse;background:#fff;width:100%;margin:.4rem 0}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #e1e4ea;vertical-align:top}
th{background:#eef1f5;font-weight:600}
.num{font-variant-numeric:tabular-nums}
.error{color:#a4161a}.ok{color:#1b6e3a}.muted{color:#667}
pre{white-space:pre-wrap;background:#fff;border:1px solid #e1e4ea;padding:.6rem}
textarea{width:100%;min-height:5rem;font:inherit}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}
button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #2d5780;
background:#2d5780;color:#fff;cursor:pointer}
button.secondary{background:#fff;color:#2d5780}
.cards{display:flex;flex-wrap:wrap;gap:1rem}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:6px;padding:.6rem 1rem;
min-width:12rem}
.card b{display:block;font-size:1.6rem}
svg.chart text{font-size:12px;fill:#1d2330}
svg.chart rect{fill:#2d5780}
.pager{display:flex;gap:1rem;margin-top:.6rem}
"""

# Polls the live figures and writes them into the overview's cells. No framework, no inline
# script (the pages' policy forbids it); without JavaScript the page shows the figures as of
# its loading.
LIVE_JS: Final = """
(function () {
  var box = document.getElementById("live");
  if (!box) { return; }
  var src = box.getAttribute("data-src");
  function show(data) {
    var rows = box.querySelectorAll("tbody tr");
    data.fan_outs.forEach(function (f, i) {
      var row = rows[i];
      if (!row) { return; }
      ["sent", "pending", "blocked", "failed", "rate"].forEach(function (k) {
        var cell = row.querySelector('[data-field="' + k + '"]');
        if (cell) { cell.textContent = String(f[k]); }
      });
    });
    if (data.fan_outs.length !== rows.length) { location.reload(); }
  }
  function poll() {
    fetch(src, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) { show(d); } })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
"""

_TYPES: Final = {"dashboard.css": (CSS, "text/css"), "live.js": (LIVE_JS, "text/javascript")}


async def asset(request: web.Request) -> web.StreamResponse:
    """GET /dashboard/assets/{name}: the stylesheet or the script."""
    found = _TYPES.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    body, kind = found
    return web.Response(text=body, content_type=kind, headers=SECURITY_HEADERS)
