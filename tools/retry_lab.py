#!/usr/bin/env python3
"""Retry lab: a page and an API server that ends connections without answering, to record how
a real browser resends a request (its preflight too) when a keep-alive connection dies.

usage (as root, Chromium and dumpcap installed; ports 8480/8481 on 127.0.0.1):

    MODE=second python3 tools/retry_lab.py 15 &          # or MODE=fresh, MODE=408; TLS=1
    dumpcap -q -i lo -f "tcp port 8480 or tcp port 8481" -w OUT.pcapng -a duration:10 &
    chromium --headless=new --no-sandbox --user-data-dir=$(mktemp -d) \\
        --virtual-time-budget=5000 --dump-dom 'http://127.0.0.1:8480/'      # ?nowarm for fresh

The page (origin http://127.0.0.1:8480) fetches `GET /warm` from the API origin
(http://127.0.0.1:8481, `credentials: 'omit'`), then `PUT /r`, which needs a preflight, and
prints what the page saw. The API server answers CORS-allowed, except:

- `MODE=second`: it resets (RST, `SO_LINGER` 0) every connection at its second request, before
  answering it. Chromium 148 sent the preflight on the warm connection, got the RST, sent the
  preflight again on a new connection, then the PUT on that one, got the RST, and sent the PUT
  again on a third: the page saw `put 200` (`tests/data/field/chromium-stale-keep-alive-retries.pcapng`).
- `MODE=fresh` (with `?nowarm`, no warm request): it resets the first connection whose first
  request is a preflight. Chromium did not send it again (a connection's first request is not
  resent): the page saw `TypeError: Failed to fetch`
  (`tests/data/field/chromium-reset-preflight-first-on-connection.pcapng`).

- `MODE=408`: at every connection's second request it sends `408 Request Timeout` with
  `Connection: close` and closes (an idle keep-alive connection's notice, as nginx, Apache or
  Node.js send one). Chromium took it for the connection's end, not an answer: it sent the
  preflight again, then the `PUT`, each on a new connection, and the page saw `put 200`
  (`tests/data/field/chromium-408-on-reused-connection-retries.pcapng`).

- `TLS=1` (any mode): HTTPS with HTTP/1.1 (ALPN) and a self-signed certificate (Chromium with
  `--ignore-certificate-errors`, `SSLKEYLOGFILE=KEYLOG`, the page at `https://`). `MODE=second`:
  the same retries, over TLS (`tests/data/field/chromium-tls-stale-keep-alive-retries.pcapng`,
  `.keylog`).

Firefox (ESR 140.10, `firefox-esr --headless --no-remote -profile $(mktemp -d) --screenshot
shot.png --window-size=800,200 http://127.0.0.1:8480/`; the page's `/hold` image holds its
load event two seconds while the fetches run, and the screenshot shows what the page printed):
`MODE=second`, Firefox resent the reset preflight and `PUT` on new connections too, `put 200`
(`tests/data/field/firefox-stale-keep-alive-retries.pcapng`); `MODE=408`, Firefox took the
`408` for the preflight's answer and the fetch failed, `NetworkError`
(`tests/data/field/firefox-408-on-reused-connection.pcapng`).

- `MODE=preconnect` (with `?nowarm&preconnect`, optionally `&idle=MS`, default 1500): the page
  adds `<link rel=preconnect crossorigin>` to the API and waits before the `PUT`; the server
  resets a connection at its first request when it sat idle more than 0.2 s (a preconnected
  socket its idle timeout closes as the request goes out). Chromium 148 and Firefox ESR 140
  sent the preflight again on a new connection, `put 200` (also at `idle=500`); WebKitGTK
  2.50 did not, `Load failed` (`tests/data/field/*-preconnect-idle-socket-reset.pcapng`;
  Chromium over TLS too, `TLS=1`: `chromium-tls-preconnect-idle-socket-reset.pcapng`).
- `MODE=421`: the first preflight gets `421 Misdirected Request` (a CDN's answer on a
  connection it will not serve that host on), the connection kept. Chromium 148 and Firefox
  ESR 140 sent it again on a new connection, WebKitGTK 2.50 on the same one; `put 200` in all
  three (`tests/data/field/{chromium,firefox,webkit}-421-misdirected-retry.pcapng`).

WebKitGTK 2.50 (`xvfb-run -a /usr/bin/python3 tools/webkit_open.py http://127.0.0.1:8480/ 5`;
`LAB_TLS=1` for `TLS=1`): `MODE=second` resent as Chromium does, `put 200`, in clear and over
TLS (`tests/data/field/webkit-stale-keep-alive-retries.pcapng`, `webkit-tls-*`); `MODE=fresh`
not resent, `Load failed` (`webkit-reset-preflight-first-on-connection.pcapng`); `MODE=408`
read as the preflight's answer, as Firefox does: "Preflight response is not successful. Status
code: 408" (`webkit-408-on-reused-connection.pcapng`).

The server logs each request (time, port, connection, request line) to `retry_lab.log`.
"""
import os
import socket
import struct
import sys
import threading
import time

PAGE = b"""<!doctype html><html><body><script>
(async()=>{ let out=[];
 const pre = location.search.includes('preconnect');
 if (pre) { let l=document.createElement('link'); l.rel='preconnect'; l.crossOrigin='anonymous'; l.href=location.protocol+'//127.0.0.1:8481'; document.head.appendChild(l); }
 if (!location.search.includes('nowarm')) try { let r1 = await fetch(location.protocol+'//127.0.0.1:8481/warm',{credentials:'omit'}); await r1.text(); out.push('warm '+r1.status);} catch(e){out.push('warm err '+e);}
 const idle = +(new URLSearchParams(location.search).get('idle') || 1500);
 await new Promise(r=>setTimeout(r,pre?idle:300));
 try { let r2 = await fetch(location.protocol+'//127.0.0.1:8481/r',{method:'PUT',credentials:'omit'}); await r2.text(); out.push('put '+r2.status);} catch(e){out.push('put err '+e);}
 document.body.innerHTML='<p id=done>'+out.join(' | ')+'</p>';
})();
</script><img src="/hold"></body></html>"""

MODE = os.environ.get("MODE", "second")
LOG = open("retry_lab.log", "a")
RESET_ONCE = threading.Event()


def reset_now(n, line):
    """Whether to reset the connection at its `n`th request, whose request line is `line`."""
    if MODE == "second":
        return n == 2
    if MODE == "fresh" and n == 1 and line.startswith("OPTIONS") and not RESET_ONCE.is_set():
        RESET_ONCE.set()
        return True
    return False


def answer(method, origin):
    """The API's answer, allowing the page's `origin` (the request's `Origin`)."""
    acao = b"Access-Control-Allow-Origin: " + origin + b"\r\n"
    if method == "OPTIONS":
        return (b"HTTP/1.1 204 No Content\r\n" + acao +
                b"Access-Control-Allow-Methods: PUT\r\nAccess-Control-Max-Age: 0\r\n"
                b"Connection: keep-alive\r\n\r\n")
    return (b"HTTP/1.1 200 OK\r\n" + acao +
            b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\nok")


def handle(conn, port):
    n, buf = 0, b""
    accepted = time.time()
    while True:
        try:
            d = conn.recv(65536)
        except OSError as e:
            LOG.write(f"{port} recv error {e}\n")
            LOG.flush()
            return
        if not d:
            conn.close()
            return
        buf += d
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            line = head.split(b"\r\n")[0].decode()
            n += 1
            LOG.write(f"{time.time():.3f} {port} conn#{id(conn) % 10000} req{n}: {line}\n")
            LOG.flush()
            if port == 8480 and line.startswith("GET /hold"):
                # Holds the page's load event while its fetches run: `firefox --screenshot`
                # waits for it, then shoots what the page printed.
                time.sleep(2)
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            if port == 8480:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
                             % len(PAGE) + PAGE)
                continue
            if MODE == "408" and n == 2:
                # An idle keep-alive connection's timeout answer (nginx, Node.js, Apache send
                # one), crossing the request, then the close.
                conn.sendall(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                             b"Content-Length: 0\r\n\r\n")
                LOG.write("  408\n")
                LOG.flush()
                conn.close()
                return
            if MODE == "421" and line.startswith("OPTIONS") and not RESET_ONCE.is_set():
                # `421 Misdirected Request` to the first preflight (a CDN's answer on a
                # connection it will not serve that host on), keeping the connection.
                RESET_ONCE.set()
                conn.sendall(b"HTTP/1.1 421 Misdirected Request\r\nContent-Length: 0\r\n"
                             b"Connection: keep-alive\r\n\r\n")
                LOG.write("  421\n")
                LOG.flush()
                continue
            if MODE == "preconnect" and n == 1 and time.time() - accepted > 0.2:
                # A connection that sat idle (a preconnected one) reset at its first request,
                # as when the server's idle timeout closes it while the request is on its way.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                LOG.write("  RST (idle first request)\n")
                LOG.flush()
                conn.close()
                return
            if reset_now(n, line):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                LOG.write("  RST\n")
                LOG.flush()
                conn.close()
                return
            origin = next((ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n")[1:]
                           if ln.lower().startswith(b"origin:")), b"null")
            conn.sendall(answer(line.split()[0], origin))


def tls_context():
    """`TLS=1`: HTTPS with HTTP/1.1 (ALPN), a self-signed certificate for 127.0.0.1 made with
    openssl in a temporary folder."""
    import ssl
    import subprocess
    import tempfile
    d = tempfile.mkdtemp()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "30", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


TLS = tls_context() if os.environ.get("TLS") == "1" else None


def serve(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        if TLS is not None:
            try:
                c = TLS.wrap_socket(c, server_side=True)
            except OSError as e:
                LOG.write(f"{port} TLS error {e}\n")
                continue
        threading.Thread(target=handle, args=(c, port), daemon=True).start()


if __name__ == "__main__":
    for p in (8480, 8481):
        threading.Thread(target=serve, args=(p,), daemon=True).start()
    time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 30)
