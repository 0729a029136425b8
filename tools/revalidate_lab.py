#!/usr/bin/env python3
"""Revalidation lab: a cross-origin response the browser's HTTP cache stores, revalidated with a
`304` that carries no `Access-Control-Allow-Origin` (as some CDNs and object stores answer), to
record what the CORS check reads then.

usage (as root, Chromium and dumpcap; ports 8480/8481 on 127.0.0.1):

    python3 tools/revalidate_lab.py 12 &
    dumpcap -q -i lo -f "tcp port 8480 or tcp port 8481" -w OUT.pcapng -a duration:8 &
    chromium --headless=new --no-sandbox --user-data-dir=$(mktemp -d) \\
        --virtual-time-budget=5000 --dump-dom http://127.0.0.1:8480/

The page (http://127.0.0.1:8480) fetches `GET /c` from the API (http://127.0.0.1:8481,
`credentials: 'omit'`, header `X-A`, so preflighted) twice, the second with `cache: 'no-cache'`.
The API answers `200` with `Access-Control-Allow-Origin`, `ETag` and `max-age=0`, and the
revalidation (`If-None-Match`) `304` with no CORS header (`MODE=304noacao`, the default; any
other mode puts `Access-Control-Allow-Origin` on it). Chromium 148: the page read `200 v1`
both times: the check read the stored response updated with the `304`
(`tests/data/field/chromium-304-revalidation-without-acao.pcapng`). Firefox ESR 140 (run as
`tools/retry_lab.py` says; the page's `/hold` image holds its load event) read `200 v1` both
times too (`tests/data/field/firefox-304-revalidation-without-acao.pcapng`), and so did
WebKitGTK 2.50 (`tools/webkit_open.py`; `webkit-304-revalidation-without-acao.pcapng`). The server logs
each request
line with its `Origin` and validators to `rv.log`.
"""
import socket, threading, time, sys, os
PAGE = b"""<!doctype html><html><body><script>
(async()=>{ let out=[];
 for (let i=0;i<2;i++) { try { let r = await fetch('http://127.0.0.1:8481/c',{credentials:'omit', cache: i? 'no-cache':'default', headers: {'X-A': '1'}}); let t=await r.text(); out.push('c'+i+' '+r.status+' '+t);} catch(e){out.push('c'+i+' err '+e);} await new Promise(r=>setTimeout(r,200)); }
 document.body.innerHTML='<p id=done>'+out.join(' | ')+'</p>';
})();
</script><img src="/hold"></body></html>"""
MODE=os.environ.get('MODE','304noacao')
LOG=open('rv.log','a')
def handle(conn, port):
    buf=b''
    while True:
        d=conn.recv(65536)
        if not d: conn.close(); return
        buf+=d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n",1)
            line=head.split(b"\r\n")[0].decode()
            hs=[l for l in head.split(b'\r\n') if l.lower().startswith((b'if-',b'origin'))]
            LOG.write(f"{time.time():.3f} {port} {line} | {hs}\n"); LOG.flush()
            if port==8480 and line.startswith('GET /hold'):
                # Holds the load event while the fetches run (`firefox --screenshot`).
                time.sleep(2)
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"); continue
            if port==8480:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"%len(PAGE)+PAGE); continue
            if line.startswith('OPTIONS'):
                conn.sendall(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: http://127.0.0.1:8480\r\nAccess-Control-Allow-Headers: x-a\r\nAccess-Control-Max-Age: 0\r\n\r\n")
            elif b"if-none-match" in head.lower():
                acao = b"" if MODE=='304noacao' else b"Access-Control-Allow-Origin: http://127.0.0.1:8480\r\n"
                conn.sendall(b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nCache-Control: max-age=0\r\n"+acao+b"\r\n")
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://127.0.0.1:8480\r\nETag: \"v1\"\r\nCache-Control: max-age=0\r\nContent-Length: 2\r\n\r\nv1")
def serve(port):
    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",port)); s.listen(16)
    while True:
        c,_=s.accept(); threading.Thread(target=handle,args=(c,port),daemon=True).start()
for p in (8480,8481): threading.Thread(target=serve,args=(p,),daemon=True).start()
time.sleep(float(sys.argv[1]))
