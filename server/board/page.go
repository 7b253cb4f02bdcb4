package board

// pageHTML is the board's page: the script fills it.
const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Lintel floor board</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f1f4f8;color:#0f172a}
main{padding:2vw 3vw}
h1{font-size:clamp(1.5rem,3vw,3rem);margin:0 0 1.5vw}
.offline{background:#0f172a;color:#fff;border-radius:.5rem;padding:.5rem 1rem;display:inline-block;margin-bottom:1rem}
ul{list-style:none;margin:0;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(18rem,1fr));gap:1rem}
li{background:#fff;border-radius:.75rem;padding:1rem 1.25rem;border-left:1rem solid #94a3b8}
li.free{border-color:#15803d}li.soon,li.checkin{border-color:#d97706}li.busy{border-color:#b91c1c}
.name{font-size:1.5rem;font-weight:700}.seats{color:#475569;font-weight:400;font-size:1rem}
.status{font-size:1.25rem;font-weight:600;margin-top:.25rem}.title{color:#334155;margin-top:.25rem}
.code{font-size:clamp(3rem,10vw,8rem);font-weight:800;letter-spacing:.05em;margin:2vw 0}
</style></head>
<body><main id="main"><p>Loading…</p></main><script src="/board/board.js"></script></body></html>
`

// scriptJS pairs the board and shows its floor. It builds the page from
// text nodes only: names and titles never become markup.
const scriptJS = `(function () {
  'use strict';
  var key = 'lintel-board-credential';
  var main = document.getElementById('main');
  var words = {free: 'Free', soon: 'Starting soon', busy: 'Busy', checkin: 'Check in', unknown: 'Unknown'};
  var last = null, lastAt = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(nodes) { main.replaceChildren.apply(main, nodes); }
  function clock(iso, tz) {
    return new Date(iso).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit', timeZone: tz});
  }
  function pair() {
    localStorage.removeItem(key);
    var code = el('p', 'code', '…');
    code.id = 'code';
    show([el('h1', null, 'Pair this board'),
      el('p', null, 'An administrator approves this code on the "Pair a panel" page, with a room of the floor to show.'), code]);
    var es = new EventSource('/board/pair');
    es.addEventListener('code', function (e) { code.textContent = JSON.parse(e.data).code; });
    es.addEventListener('refused', function (e) { code.textContent = JSON.parse(e.data).message; });
    es.addEventListener('credential', function (e) {
      localStorage.setItem(key, JSON.parse(e.data).token);
      es.close();
      floor();
    });
  }
  function render(f, offline) {
    var nodes = [el('h1', null, (f.building ? f.building + ' · ' : '') + (f.floor ? 'Floor ' + f.floor : 'Rooms'))];
    if (offline) {
      var o = el('p', 'offline', 'Offline: as of ' + lastAt.toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'}));
      o.id = 'offline';
      nodes.push(o);
    }
    var ul = el('ul');
    f.rooms.forEach(function (r) {
      var li = el('li', 'room ' + (offline ? 'unknown' : r.status));
      li.id = 'room-' + r.id;
      var name = el('div', 'name', r.name + ' ');
      if (r.capacity) name.appendChild(el('span', 'seats', r.capacity + ' seats'));
      li.appendChild(name);
      var status = offline ? words.unknown : words[r.status] || words.unknown;
      if (!offline && r.until) status += ' until ' + clock(r.until, f.tz);
      li.appendChild(el('div', 'status', status));
      if (r.title && !offline) li.appendChild(el('div', 'title', r.title));
      ul.appendChild(li);
    });
    nodes.push(ul);
    show(nodes);
  }
  function again(seconds) { setTimeout(floor, seconds * 1000); }
  function floor() {
    var token = localStorage.getItem(key);
    if (!token) { pair(); return; }
    fetch('/board/floor', {headers: {Authorization: 'Bearer ' + token}}).then(function (r) {
      if (r.status === 401) { pair(); return; }
      if (!r.ok) throw new Error('status ' + r.status);
      return r.json().then(function (f) {
        last = f; lastAt = new Date();
        render(f, false);
        again(f.refresh_seconds || 10);
      });
    }).catch(function () {
      if (last) render(last, true);
      again(last ? last.refresh_seconds : 10);
    });
  }
  floor();
})();
`
