#!/usr/bin/env python3
"""HTTP/2 retry lab: a page and an API over TLS + HTTP/2 whose server refuses a stream, to
record how a real browser sends a refused request again.

usage (as root, Chromium, dumpcap, openssl and `pip install h2`; ports 8490/8491 on 127.0.0.1):

    MODE=refuse python3 tools/h2_retry_lab.py 13 &        # or MODE=goaway
    dumpcap -q -i lo -f "tcp port 8490 or tcp port 8491" -w OUT.pcapng -a duration:9 &
    SSLKEYLOGFILE=KEYLOG chromium --headless=new --no-sandbox --ignore-certificate-errors \\
        --user-data-dir=$(mktemp -d) --virtual-time-budget=5000 --dump-dom https://127.0.0.1:8490/

The page (https://127.0.0.1:8490) fetches `GET /warm` from the API (https://127.0.0.1:8491,
`credentials: 'omit'`), then `PUT /r`, which needs a preflight, and prints what it saw. The API
answers CORS-allowed, except the first preflight:

- `MODE=refuse`: `RST_STREAM(REFUSED_STREAM)` on its stream. Chromium 148 sent the preflight
  again at once on the same connection (the next stream), then the `PUT`: the page saw `put 200`
  (`tests/data/field/chromium-h2-refuse-retry.pcapng`, `.keylog`).
- `MODE=goaway`: `GOAWAY` whose last stream is the one before, and the connection closed.
  Chromium sent the preflight again on a new connection, then the `PUT`: `put 200`
  (`tests/data/field/chromium-h2-goaway-retry.pcapng`, `.keylog`).

Firefox ESR 140 accepts no self-signed server certificate, so give the lab a CA's: make a CA
and a leaf for IP 127.0.0.1 signed by it (`cert.pem` = leaf + CA, `key.pem`) in a folder
named by `LAB_CERTS`, import the CA into a fresh profile (`certutil -N -d sql:PROFILE
--empty-password; certutil -A -n labca -t CT,, -i ca.pem -d sql:PROFILE`, package
libnss3-tools), and run `SSLKEYLOGFILE=KEYLOG firefox-esr --headless --no-remote -profile
PROFILE --screenshot shot.png --window-size=800,200 https://127.0.0.1:8490/` (the page's
`/hold` image holds its load event two seconds). Firefox resent the same way in both modes,
`put 200` (`tests/data/field/firefox-h2-{refuse,goaway}-retry.pcapng`, `.keylog`).

WebKitGTK 2.50 (`LAB_TLS=1 SSLKEYLOGFILE=KEYLOG xvfb-run -a /usr/bin/python3
tools/webkit_open.py https://127.0.0.1:8490/ 5`) resent the same way in both modes, `put 200`
(`tests/data/field/webkit-h2-{refuse,goaway}-retry.pcapng`, `.keylog`).

- `MODE=421`: `:status 421` (Misdirected Request) to the first preflight. Chromium sent it
  again on the same connection, Firefox and WebKit on a new one: `put 200` in all three
  (`tests/data/field/{chromium,firefox,webkit}-h2-421-retry.pcapng`, `.keylog`).

- `MODE=goaway11`: `GOAWAY(HTTP_1_1_REQUIRED)` naming the preflight's stream as the last, and
  the connection closed. Chromium 148 sent the preflight again over HTTP/1.1: `put 200`
  (`tests/data/field/chromium-h2-goaway-http11-required-retry.pcapng`, `.keylog`); with the
  preflight the connection's first stream (`?nowarm`) too
  (`chromium-h2-goaway-first-stream-http11-required-retry.pcapng`).
- `MODE=fresh` (page at `?nowarm`, no warm-up request): a TCP reset at the connection's first
  stream, the preflight. Chromium 148 did not send it again: `Failed to fetch`
  (`tests/data/field/chromium-h2-reset-first-stream.pcapng`, `.keylog`).
- `MODE=http11`: `RST_STREAM(HTTP_1_1_REQUIRED)` on the first preflight, the server offering
  HTTP/1.1 too (ALPN). Chromium 148, Firefox ESR 140 and WebKitGTK 2.50 sent it again on a new
  HTTP/1.1 connection (Firefox and WebKit then the `PUT` on the HTTP/2 one): `put 200`
  (`tests/data/field/*-h2-http11-required-retry.pcapng`, `.keylog`).

A self-signed certificate for 127.0.0.1 is made with openssl in a temporary folder. The server
logs each stream (time, port, stream, method, path) to `h2lab.log`.
"""
import subprocess
import tempfile
import os, socket, ssl, struct, sys, threading, time
import h2.config, h2.connection, h2.events, h2.errors

MODE = os.environ.get("MODE", "refuse")
LOG = open("h2lab.log", "a")
PAGE = b"""<!doctype html><html><body><script>
(async()=>{ let out=[];
 if (!location.search.includes('nowarm')) try { let r1 = await fetch('https://127.0.0.1:8491/warm',{credentials:'omit'}); await r1.text(); out.push('warm '+r1.status);} catch(e){out.push('warm err '+e);}
 await new Promise(r=>setTimeout(r,300));
 try { let r2 = await fetch('https://127.0.0.1:8491/r',{method:'PUT',credentials:'omit'}); await r2.text(); out.push('put '+r2.status);} catch(e){out.push('put err '+e);}
 document.body.innerHTML='<p id=done>'+out.join(' | ')+'</p>';
})();
</script><img src="/hold"></body></html>"""
done = {"refused": False}
lock = threading.Lock()

def log(m):
    LOG.write(f"{time.time():.3f} {m}\n"); LOG.flush()

def handle(sock, port):
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    heads = {}
    while True:
        try:
            data = sock.recv(65536)
        except Exception as e:
            log(f"{port} recv err {e}"); return
        if not data:
            return
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.RequestReceived):
                h = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v for k, v in ev.headers}
                heads[ev.stream_id] = h
                log(f"{port} stream {ev.stream_id}: {h.get(':method')} {h.get(':path')}")
                if ev.stream_ended:
                    h["_done"] = False
                    respond(conn, sock, ev.stream_id, h, port)
            elif isinstance(ev, h2.events.StreamEnded):
                h = heads.get(ev.stream_id)
                if h and not h.get("_done"):
                    respond(conn, sock, ev.stream_id, h, port)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if getattr(conn, "_closing", False):
            time.sleep(0.05); sock.close(); return
        if getattr(conn, "_reset", False):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close(); return

def goaway_below(conn, sid):
    conn.close_connection(error_code=h2.errors.ErrorCodes.NO_ERROR, last_stream_id=sid - 2)
    conn._closing = True


def goaway_http11(conn, sid):
    conn.close_connection(error_code=h2.errors.ErrorCodes.HTTP_1_1_REQUIRED, last_stream_id=sid)
    conn._closing = True


def tcp_reset(conn, sid):
    conn._reset = True


# What the server does to the first preflight's stream, by MODE (the others are answered).
FIRST_PREFLIGHT = {
    "refuse": lambda c, sid: c.reset_stream(sid, error_code=h2.errors.ErrorCodes.REFUSED_STREAM),
    "http11": lambda c, sid: c.reset_stream(sid, error_code=h2.errors.ErrorCodes.HTTP_1_1_REQUIRED),
    "421": lambda c, sid: c.send_headers(sid, [(":status", "421"), ("content-length", "0")],
                                          end_stream=True),
    "goaway": goaway_below,
    "fresh": tcp_reset,
    "goaway11": goaway_http11,
}


def respond(conn, sock, sid, h, port):
    h["_done"] = True
    m = h.get(":method")
    if port == 8490 and h.get(":path") == "/hold":
        # Holds the page's load event while the fetches run (Firefox's --screenshot waits for it).
        time.sleep(2)
        conn.send_headers(sid, [(":status", "404"), ("content-length", "0")], end_stream=True)
        return
    if port == 8490:
        conn.send_headers(sid, [(":status", "200"), ("content-type", "text/html"), ("content-length", str(len(PAGE)))])
        conn.send_data(sid, PAGE, end_stream=True)
        return
    if m == "OPTIONS":
        with lock:
            first = not done["refused"]
            done["refused"] = True
        action = FIRST_PREFLIGHT.get(MODE) if first else None
        if action:
            log(f"  {MODE} at stream {sid}")
            action(conn, sid)
            return
        conn.send_headers(sid, [(":status", "204"), ("access-control-allow-origin", "https://127.0.0.1:8490"),
                                ("access-control-allow-methods", "PUT"), ("access-control-max-age", "0")], end_stream=True)
        return
    if m == "PUT" and h.get("access-control-request-method") is None:
        pass
    conn.send_headers(sid, [(":status", "200"), ("access-control-allow-origin", "https://127.0.0.1:8490"), ("content-length", "2")])
    conn.send_data(sid, b"ok", end_stream=True)

def handle_http11(sock, port):
    """The same answers over HTTP/1.1 (keep-alive, no request bodies in the lab)."""
    buf = b""
    while True:
        try:
            d = sock.recv(65536)
        except OSError:
            return
        if not d:
            return
        buf += d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            m, path = lines[0].split()[:2]
            log(f"{port} http/1.1: {m} {path}")
            if port == 8490:
                body = PAGE if path == "/" else b""
                sock.sendall(b"HTTP/1.1 %s\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                             % (b"200 OK" if body else b"404 Not Found", len(body)) + body)
            elif m == "OPTIONS":
                sock.sendall(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://127.0.0.1:8490\r\n"
                             b"Access-Control-Allow-Methods: PUT\r\nAccess-Control-Max-Age: 0\r\n\r\n")
            else:
                sock.sendall(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://127.0.0.1:8490\r\n"
                             b"Content-Length: 2\r\n\r\nok")

def serve(port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    # `MODE=http11` also offers HTTP/1.1, where the browser sends a request the server asked
    # to have over it (`HTTP_1_1_REQUIRED`).
    ctx.set_alpn_protocols(["h2", "http/1.1"] if MODE in ("http11", "goaway11") else ["h2"])
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port)); s.listen(16)
    while True:
        c, _ = s.accept()
        try:
            t = ctx.wrap_socket(c, server_side=True)
        except Exception as e:
            log(f"{port} tls err {e}"); continue
        target = handle_http11 if t.selected_alpn_protocol() == "http/1.1" else handle
        threading.Thread(target=target, args=(t, port), daemon=True).start()

CERTS = os.environ.get("LAB_CERTS") or tempfile.mkdtemp()
CERT, KEY = os.path.join(CERTS, "cert.pem"), os.path.join(CERTS, "key.pem")
if not os.path.exists(CERT):
  subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY,
                "-out", CERT, "-days", "30", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
for p in (8490, 8491):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 20)
