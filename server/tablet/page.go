package tablet

import (
	"html/template"
	"net/http"
	"time"

	"github.com/lintelhq/lintel/panel/i18n"
)

// pageData is what the page is made with: the words it shows itself (when
// the server cannot be reached), in the tablet's language.
type pageData struct {
	Lang          string
	OfflineSince  string // "Offline since %s"
	OfflineNotice string
	GraceMillis   int64
}

func (t *Tablets) page(w http.ResponseWriter, r *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	lang := i18n.Resolve(locale(r))
	page.Execute(w, pageData{
		Lang:          lang.Tag,
		OfflineSince:  lang.W.OfflineSince,
		OfflineNotice: lang.W.OfflineNotice,
		GraceMillis:   t.opts.OfflineGrace.Milliseconds(),
	})
}

func (t *Tablets) script(w http.ResponseWriter, r *http.Request) {
	headers(w)
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Write([]byte(scriptJS))
}

// DefaultOfflineGrace is how long the page may be cut from the server
// before it says so: a blip (a server restart, a Wi-Fi roam) shows nothing.
const DefaultOfflineGrace = 30 * time.Second

// page is the tablet's page: a frame filling the screen, the frame's
// buttons over it (for screen readers, and for taps), and the offline
// banner.
var page = template.Must(template.New("tablet").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no">
<meta name="robots" content="noindex">
<meta name="mobile-web-app-capable" content="yes">
<title>Lintel</title>
<style>
html,body{margin:0;height:100%;background:#000;overflow:hidden;touch-action:none;user-select:none;-webkit-user-select:none}
#panel{position:fixed;inset:0}
#frame{width:100%;height:100%;display:block}
#targets button{position:absolute;background:transparent;border:0;padding:0;margin:0;color:transparent;font-size:1px}
#panel.offline #frame{opacity:.35;filter:grayscale(1)}
#offline{position:absolute;left:0;right:0;bottom:0;background:#0f172a;color:#fff;font:600 clamp(1rem,3.2vw,2.2rem)/1.3 system-ui,sans-serif;padding:.6em 1em}
#offline p{margin:0}#offline p+p{font-weight:400;font-size:.75em;margin-top:.2em}
</style></head>
<body data-offline-since="{{.OfflineSince}}" data-offline-notice="{{.OfflineNotice}}" data-grace-ms="{{.GraceMillis}}">
<div id="panel"><img id="frame" alt=""><div id="targets"></div>
<div id="offline" role="status" hidden><p id="offline-since"></p><p>{{.OfflineNotice}}</p></div></div>
<script src="/tablet/tablet.js"></script></body></html>
`))

// scriptJS connects the page to its panel on the server: frames in, taps
// out, the credential kept in the browser's storage. Labels become
// attributes only, never markup.
const scriptJS = `(function () {
  'use strict';
  var key = 'lintel-tablet-credential';
  var body = document.body, lang = document.documentElement.lang;
  var root = document.getElementById('panel'), img = document.getElementById('frame');
  var targets = document.getElementById('targets'), banner = document.getElementById('offline');
  var grace = Number(body.dataset.graceMs) || 30000;
  var ws = null, frame = null, pending = null, url = null, size = null;
  var backoff = 1000, online = false, lostAt = null, graceTimer = null;
  // heard: the server's clock at its last message; silent: closes a
  // connection that went quiet without closing (a server gone, a network
  // cut) after three missed heartbeats.
  var heard = '', silent = null, frames = 0;
  function listen() {
    clearTimeout(silent);
    silent = setTimeout(function () { if (ws) ws.close(); }, 45000);
  }

  function clamp(v) { return Math.max(240, Math.min(2048, Math.round(v))); }
  function wanted() {
    var w = clamp(window.innerWidth), h = clamp(window.innerHeight);
    var scale = Math.min(1, Math.sqrt(1920 * 1200 / (w * h)));
    return {w: Math.floor(w * scale), h: Math.floor(h * scale)};
  }
  function connect() {
    size = wanted();
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/tablet/ws');
    ws.binaryType = 'blob';
    ws.onopen = function () {
      listen();
      ws.send(JSON.stringify({token: localStorage.getItem(key) || '', width: size.w, height: size.h, locale: lang}));
    };
    ws.onmessage = function (e) {
      listen();
      if (typeof e.data !== 'string') { show(e.data); return; }
      var m = JSON.parse(e.data);
      if (m.clock) heard = m.clock;
      if (m.frame) pending = m.frame;
      if (m.credential) localStorage.setItem(key, m.credential);
      if (m.forget) localStorage.removeItem(key);
      if (m.error) console.warn('lintel tablet: ' + m.error);
    };
    ws.onclose = function () {
      clearTimeout(silent);
      ws = null;
      lost();
      var wait = backoff * (0.5 + Math.random() / 2);
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(connect, wait);
    };
  }
  function show(blob) {
    var old = url;
    url = URL.createObjectURL(blob);
    img.src = url;
    if (old) URL.revokeObjectURL(old);
    frame = pending;
    body.dataset.frames = ++frames;
    place();
    backoff = 1000;
    found();
  }
  function place() {
    var buttons = [];
    (frame ? frame.targets : []).forEach(function (t) {
      var b = document.createElement('button');
      b.type = 'button';
      b.style.left = (100 * t.x / frame.width) + '%';
      b.style.top = (100 * t.y / frame.height) + '%';
      b.style.width = (100 * t.w / frame.width) + '%';
      b.style.height = (100 * t.h / frame.height) + '%';
      b.setAttribute('aria-label', t.label || t.action);
      b.dataset.action = t.action;
      if (t.disabled) b.setAttribute('aria-disabled', 'true');
      buttons.push(b);
    });
    targets.replaceChildren.apply(targets, buttons);
  }
  function found() {
    online = true;
    lostAt = null;
    clearTimeout(graceTimer);
    root.classList.remove('offline');
    banner.hidden = true;
  }
  function lost() {
    if (!online && lostAt) return;
    online = false;
    lostAt = lostAt || new Date();
    var since = heard; // the server's time when it was last heard
    clearTimeout(graceTimer);
    graceTimer = setTimeout(function () {
      var at = since || lostAt.toLocaleTimeString(lang, {hour: '2-digit', minute: '2-digit'});
      document.getElementById('offline-since').textContent = body.dataset.offlineSince.replace('%s', at);
      root.classList.add('offline');
      banner.hidden = false;
    }, grace);
  }
  root.addEventListener('pointerdown', function (e) {
    e.preventDefault();
    if (!online || !frame || !ws || ws.readyState !== 1) return;
    var r = img.getBoundingClientRect();
    var x = Math.floor((e.clientX - r.left) * frame.width / r.width);
    var y = Math.floor((e.clientY - r.top) * frame.height / r.height);
    if (x < 0 || y < 0 || x >= frame.width || y >= frame.height) return;
    ws.send(JSON.stringify({tap: [x, y]}));
  });
  var resized = null;
  window.addEventListener('resize', function () {
    clearTimeout(resized);
    resized = setTimeout(function () {
      var w = wanted();
      if (ws && size && (w.w !== size.w || w.h !== size.h)) {
        backoff = 250;
        ws.close(); // a new panel at the new size (portrait, landscape)
      }
    }, 300);
  });
  connect();
})();
`
