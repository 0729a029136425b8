#!/usr/bin/env python3
"""Proxy lab: a forward HTTP proxy that asks for credentials (`407 Proxy Authentication
Required`, Basic) before it passes a request to the API, to record how a browser's requests
through an authenticating proxy (a corporate one) look on the browser's side.

usage (as root, Chromium, node 20 and dumpcap; ports 8482 on 127.0.0.1):

    python3 tools/proxy_lab.py 20 &
    dumpcap -q -i lo -f "tcp port 8482" -w OUT.pcapng -a duration:12 &
    chromium --headless=new --no-sandbox --user-data-dir=$(mktemp -d) --no-first-run \\
        --disable-background-networking --remote-debugging-port=9333 \\
        --proxy-server=http://127.0.0.1:8482 --proxy-bypass-list='<-loopback>' about:blank &
    node --experimental-websocket tools/proxy_lab_auth.mjs http://127.0.0.1:8480/

The proxy serves the page (http://127.0.0.1:8480) itself, and the API's answers
(http://127.0.0.1:8481: `PUT /r`, allowed after its preflight) only to requests carrying
`Proxy-Authorization: Basic` for `u:p`; anything else the browser asks for (its own
background requests, `CONNECT`) is refused (`403`). `tools/proxy_lab_auth.mjs` gives the
credentials through CDP's `Fetch.authRequired`, as a user would at the prompt. Chromium 148:
the preflight got the `407`, was sent again on the same connection with the credentials, then
the `PUT`: the page saw `put 200` (`tests/data/field/chromium-407-proxy-auth-retry.pcapng`,
background `CONNECT`s included); with `TWICE=1` it asked again and was answered again
(`chromium-407-twice-proxy-auth-retry.pcapng`). The proxy logs each request line to
`proxy_lab.log`.

WebKitGTK 2.50 (`LAB_PROXY=http://127.0.0.1:8482 xvfb-run -a /usr/bin/python3
tools/webkit_open.py http://127.0.0.1:8480/ 5`): the preflight got the `407` and WebKit did not
ask for the credentials (it did for its `GET`s through the same proxy): "Preflight response is
not successful. Status code: 407", `Load failed`
(`tests/data/field/webkit-407-preflight-through-proxy.pcapng`). Firefox ESR 140 (proxy prefs
in the profile's `user.js`) waited for the credentials at the preflight's `407`: it does not
read it as the answer either, but headless it cannot be given them, so nothing is recorded.
"""
import base64, os, socket, sys, threading, time
PAGE = b"""<!doctype html><html><body><script>
(async()=>{ let out=[];
 try { let r2 = await fetch('http://127.0.0.1:8481/r',{method:'PUT',credentials:'omit'}); await r2.text(); out.push('put '+r2.status);} catch(e){out.push('put err '+e);}
 document.body.innerHTML='<p id=done>'+out.join(' | ')+'</p>';
})();
</script></body></html>"""
LOG = open("proxy_lab.log", "a")
def log(s): LOG.write(f"{time.time():.3f} {s}\n"); LOG.flush()
def read_msg(sock, buf):
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d: return None, buf
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = 0
    for ln in head.split(b"\r\n")[1:]:
        if ln.lower().startswith(b"content-length:"): n = int(ln.split(b":")[1])
    while len(rest) < n:
        d = sock.recv(65536)
        if not d: break
        rest += d
    return (head, rest[:n]), rest[n:]
def origin_answer(head):
    line = head.split(b"\r\n")[0].decode(); m = line.split()[0]
    origin = next((ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")[1:] if ln.lower().startswith(b"origin:")), b"null")
    path = line.split()[1]
    if "8480" in path:
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(PAGE) + PAGE
    acao = b"Access-Control-Allow-Origin: " + origin + b"\r\n"
    if m == "OPTIONS":
        return b"HTTP/1.1 204 No Content\r\n" + acao + b"Access-Control-Allow-Methods: PUT\r\nAccess-Control-Max-Age: 0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\n" + acao + b"Content-Length: 2\r\n\r\nok"
# `TWICE=1`: the first credentialed preflight gets a `407` too (a second round, as a
# connection-based scheme's handshake has).
TWICE = os.environ.get("TWICE") == "1"
ROUND = 0
WANT = b"Basic " + base64.b64encode(b"u:p")
def handle(c):
    buf = b""; n = 0; cid = id(c) % 10000
    while True:
        msg, buf = read_msg(c, buf)
        if msg is None: c.close(); return
        head, body = msg; n += 1
        line = head.split(b"\r\n")[0].decode()
        auth = next((ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")[1:] if ln.lower().startswith(b"proxy-authorization:")), None)
        log(f"conn#{cid} req{n}: {line} auth={auth is not None}")
        if "127.0.0.1:848" not in line:
            # Anything else the browser asks for (its own background requests): refused.
            c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            c.close(); return
        global ROUND
        twice = TWICE and line.startswith("OPTIONS") and ROUND < 1
        if "8481" in line and (auth != WANT or twice):
            ROUND += auth == WANT
            c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"lab\"\r\nContent-Length: 0\r\nProxy-Connection: keep-alive\r\n\r\n")
            log("  407"); continue
        if line.startswith("GET http://127.0.0.1:8480/favicon"):
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"); continue
        c.sendall(origin_answer(head))
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 8482)); s.listen(16)
def serve():
    while True:
        c, _ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 20)
