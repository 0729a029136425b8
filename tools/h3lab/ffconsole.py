"""ffconsole.py PORT URL OUT.ndjson: minimal WebDriver BiDi client (stdlib only) for Firefox's
remote agent. Subscribes to log.entryAdded, navigates the first tab to URL, and writes every
console/javascript log entry as one JSON line to OUT.ndjson (also a readable line on stdout).
Runs until killed."""
import base64, json, os, socket, struct, sys, time

port, url, outp = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def connect():
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            time.sleep(0.1)
    sys.exit("ffconsole: no remote agent on port %d" % port)

s = connect()
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /session HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
           % (port, key)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        sys.exit("ffconsole: handshake closed")
    buf += d
head, buf = buf.split(b"\r\n\r\n", 1)
if b" 101 " not in head.split(b"\r\n")[0]:
    sys.exit("ffconsole: handshake failed: %r" % head)
s.settimeout(None)

def send(obj):
    p = json.dumps(obj).encode()
    mask = os.urandom(4)
    n = len(p)
    h = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                         bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                         bytes([0x80 | 127]) + struct.pack(">Q", n))
    s.sendall(h + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(p)))

def need(n):
    global buf
    while len(buf) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError
        buf += d
    r, buf = buf[:n], buf[n:]
    return r

def recv():
    msg = b""
    while True:
        b0, b1 = need(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", need(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", need(8))[0]
        p = need(n)
        op = b0 & 0x0F
        if op == 8:
            raise EOFError
        if op in (9, 10):
            continue
        msg += p
        if b0 & 0x80:
            return json.loads(msg)

ids = iter(range(1, 1 << 30))
def cmd(method, params):
    i = next(ids)
    send({"id": i, "method": method, "params": params})
    while True:
        m = recv()
        if m.get("id") == i:
            if m.get("type") == "error":
                sys.exit("ffconsole: %s failed: %s" % (method, m))
            return m.get("result", {})
        handle(m)

out = open(outp, "w")
def handle(m):
    if m.get("method") == "log.entryAdded":
        p = m["params"]
        out.write(json.dumps(p) + "\n"); out.flush()
        print("[%s/%s] %s" % (p.get("type"), p.get("level"), p.get("text")), flush=True)

cmd("session.new", {"capabilities": {}})
cmd("session.subscribe", {"events": ["log.entryAdded"]})
ctx = cmd("browsingContext.getTree", {})["contexts"][0]["context"]
cmd("browsingContext.navigate", {"context": ctx, "url": url, "wait": "none"})
try:
    while True:
        handle(recv())
except EOFError:
    pass
