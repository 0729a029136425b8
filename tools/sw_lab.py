#!/usr/bin/env python3
"""Service-worker lab: a page whose service worker answers its cross-origin fetches, to record
what reaches the page and how DevTools lists it.

usage (as root, Chromium; ports 8480/8481 on 127.0.0.1):

    python3 tools/sw_lab.py 25 &
    chromium --headless=new --no-sandbox --user-data-dir=$(mktemp -d) \\
        --remote-debugging-port=9333 about:blank &
    node --experimental-websocket tools/sw_lab_record.mjs http://127.0.0.1:8480/ > events.json
    python3 tools/sw_lab_har.py events.json OUT.har

The page (http://127.0.0.1:8480) registers `/sw.js`, waits until it controls the page, then
fetches four URLs of the API origin (http://127.0.0.1:8481, `credentials: 'omit'`, cors mode)
and prints what it got. The worker answers `/synth` with a response it builds (no CORS
header), `/cached-opaque` with its own no-cors fetch (an opaque response), and the others
with `fetch(event.request)`. The API sends `Access-Control-Allow-Origin: *` on `/pass-acao`
only. Chromium 148 (`tests/data/field/chromium-service-worker.har`, built from the CDP events
beside it): `synth 200 basic synth-body | pass-noacao err TypeError: Failed to fetch |
pass-acao 200 cors | cached-opaque err TypeError: Failed to fetch`. The worker's response is
not CORS-checked (only an opaque one fails a cors request); the worker's own fetch is, and
CDP reports its `MissingAllowOriginHeader` in the worker's session. The server logs each
request (time, port, path, `Origin`, `Sec-Fetch-Mode`) to `sw.log`.
"""
import http.server, socketserver, threading, sys, time
PAGE=b"""<!doctype html><html><body><script>
(async()=>{ let out=[];
 if (!navigator.serviceWorker.controller) { await navigator.serviceWorker.register('/sw.js'); await navigator.serviceWorker.ready; if (!navigator.serviceWorker.controller) await new Promise(r=>navigator.serviceWorker.addEventListener('controllerchange', r)); }
 for (const p of ['synth','pass-noacao','pass-acao','cached-opaque']) {
   try { let r = await fetch('http://127.0.0.1:8481/'+p,{credentials:'omit', headers: p=='pass-acao'?{}:{}}); let t=await r.text(); out.push(p+' '+r.status+' '+r.type+' '+t);} catch(e){out.push(p+' err '+e);} }
 document.body.innerHTML='<p id=done>'+out.join(' | ')+'</p>';
})();
</script><img src="/hold"></body></html>"""
SW=b"""
self.addEventListener('install', e => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  const u = new URL(e.request.url);
  if (u.port !== '8481') return;
  if (u.pathname === '/synth') e.respondWith(new Response('synth-body', {status: 200, headers: {'Content-Type': 'text/plain', 'X-From': 'sw'}}));
  else if (u.pathname === '/cached-opaque') e.respondWith(fetch(e.request.url, {mode: 'no-cors'}));
  else e.respondWith(fetch(e.request));
});
"""
class H(http.server.BaseHTTPRequestHandler):
    protocol_version="HTTP/1.1"
    def do_GET(self):
        port=self.server.server_address[1]
        open('sw.log','a').write(f"{time.time():.3f} {port} {self.command} {self.path} origin={self.headers.get('Origin')} mode={self.headers.get('Sec-Fetch-Mode')}\n")
        if port==8480 and self.path=='/hold': time.sleep(3)
        if port==8480:
            body = SW if self.path=='/sw.js' else PAGE
            ct = 'text/javascript' if self.path=='/sw.js' else 'text/html'
            self.send_response(200); self.send_header('Content-Type',ct)
        else:
            body=b'api-'+self.path.encode()
            self.send_response(200); self.send_header('Content-Type','text/plain')
            if self.path=='/pass-acao': self.send_header('Access-Control-Allow-Origin','*')
        self.send_header('Content-Length',str(len(body))); self.send_header('Cache-Control','no-store'); self.end_headers(); self.wfile.write(body)
    def log_message(self,*a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads=True; allow_reuse_address=True
for p in (8480,8481):
    s=S(('127.0.0.1',p),H); threading.Thread(target=s.serve_forever,daemon=True).start()
time.sleep(float(sys.argv[1]))
