"""The page frame and small HTML helpers; every value is escaped here or by the caller."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

STYLE = """
:root{--fg:#1d2430;--muted:#667085;--bg:#f6f7f9;--card:#fff;--line:#d0d5dd;--won:#2e9e5b;
--missed:#d64545;--accent:#3559c7}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:var(--fg);
background:var(--bg)}header{background:#1d2430;color:#fff;padding:.5rem 1rem;display:flex;
flex-wrap:wrap;gap:1rem;align-items:center}header a{color:#fff;text-decoration:none}
header .brand{font-weight:700}nav a{margin-right:1rem}
main{max-width:1100px;margin:0 auto;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
a{color:var(--accent)}.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));
gap:.6rem}.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:.6rem .8rem}.tile b{display:block;font-size:1.4rem}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;background:var(--card)}th,td{text-align:left;
padding:.35rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
td.num,th.num{text-align:right}.muted{color:var(--muted)}.bad{color:var(--missed);font-weight:600}
.ok{color:var(--won)}.wrap{white-space:normal;display:inline-block;min-width:12rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.chart{margin:.5rem 0;background:var(--card);border:1px solid var(--line);border-radius:8px;
padding:.5rem}.chart svg{width:100%;height:auto}
.chart text{font-size:13px;fill:var(--muted)}.axis{stroke:var(--line)}.won{fill:var(--won);
color:var(--won)}.missed{fill:var(--missed);color:var(--missed)}.line{stroke:var(--accent);
stroke-width:2}.legend{margin:.2rem 0;font-size:.85rem}.periods a{margin-right:.6rem}
footer{color:var(--muted);font-size:.8rem;padding:1rem;text-align:center}
@media (max-width:600px){body{font-size:14px}main{padding:.5rem}th,td{padding:.3rem}}
"""

# Live update: fetch this same page again and swap <main>; without JavaScript the page is whole.
SCRIPT = """
(function(){var m=document.getElementById('main');if(!m||!window.fetch)return;
var s=parseInt(m.getAttribute('data-refresh')||'0',10);if(!s)return;
function tick(){fetch(location.href,{headers:{'X-Cosmos-Live':'1'},credentials:'same-origin'})
.then(function(r){return r.ok?r.text():null}).then(function(t){if(!t)return;
var d=new DOMParser().parseFromString(t,'text/html');var n=d.getElementById('main');
if(n){m.innerHTML=n.innerHTML;var f=document.getElementById('live');
if(f)f.textContent='updated '+new Date().toLocaleTimeString();}}).catch(function(){
var f=document.getElementById('live');if(f)f.textContent='not reachable, retrying';})
.then(function(){setTimeout(tick,s*1000)});}setTimeout(tick,s*1000);})();
"""

NAV = (("/", "Dashboard"), ("/rewards", "Rewards"), ("/alerts", "Alerts"))


def esc(value: object) -> str:
    return escape(str(value))


def link(path: str, *parts: str, text: str | None = None) -> str:
    """``<a>`` to ``path`` with each part URL-quoted (farm ids, names and addresses)."""
    href = path + "/".join(quote(p, safe="") for p in parts)
    return f'<a href="{esc(href)}">{esc(text if text is not None else parts[-1])}</a>'


def figure(name: str, value: object) -> str:
    """A number the browser tests compare with the database (``data-figure``)."""
    return f'<span data-figure="{esc(name)}">{esc(value)}</span>'


def tiles(items: Iterable[tuple[str, str]]) -> str:
    return (
        '<div class="tiles">'
        + "".join(f'<div class="tile">{label}<b>{value}</b></div>' for label, value in items)
        + "</div>"
    )


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, empty: str = "None.") -> str:
    """Cells are HTML already; a header ending in '#' is a right-aligned number column."""
    body = [list(r) for r in rows]
    if not body:
        return f'<p class="muted">{esc(empty)}</p>'
    numeric = [h.endswith("#") for h in headers]
    head = "".join(
        f'<th class="num">{esc(h[:-1].strip())}</th>' if n else f"<th>{esc(h)}</th>"
        for h, n in zip(headers, numeric, strict=True)
    )
    lines = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{c}</td>' if n else f"<td>{c}</td>"
            for c, n in zip(r, numeric, strict=True)
        )
        + "</tr>"
        for r in body
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{lines}</tbody></table></div>"
    )


def definitions(items: Iterable[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def page(title: str, body: str, *, refresh_seconds: float, generated: str) -> str:
    nav = "".join(f'<a href="{href}">{esc(text)}</a>' for href, text in NAV)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)} · cosmos</title><style>{STYLE}</style></head><body>"
        f'<header><a class="brand" href="/">cosmos</a><nav>{nav}</nav></header>'
        f'<main id="main" data-refresh="{int(refresh_seconds)}"><h1>{esc(title)}</h1>{body}'
        f'<footer>as of {esc(generated)} · <span id="live">updates every '
        f"{int(refresh_seconds)} s with JavaScript on</span></footer></main>"
        f"<script>{SCRIPT}</script></body></html>"
    )


def login_page(next_path: str, failed: bool) -> str:
    note = '<p class="bad">That token is not right.</p>' if failed else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>Log in · cosmos</title><style>{STYLE}</style>'
        '</head><body><header><span class="brand">cosmos</span></header><main>'
        f'<h1>Log in</h1>{note}<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{esc(next_path)}">'
        '<p><label>Token (COSMOS_WEB__TOKEN)<br><input type="password" name="token" '
        'autocomplete="current-password" required size="40"></label></p>'
        '<p><button type="submit">Log in</button></p></form></main></body></html>'
    )
