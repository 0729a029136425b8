#!/usr/bin/env python3
"""Field-condition fixtures for tests/capture.rs (little-endian Ethernet pcaps).

  field.py ts-backwards IN OUT      every packet from the server port (18080) stamped 300 ms
                                    earlier, capture order kept: two capture points whose
                                    clocks disagree, so capture times go backwards
  field.py before-handshake IN OUT  each connection's first data-carrying packet moved before
                                    its SYN: data arrives before the handshake is seen
  field.py websocket OUT            a Chromium WebSocket handshake (101 without CORS headers)
                                    followed by frames that contain HTTP-looking text, and a
                                    CORS GET on a second connection
  field.py backend OUT              what a capture behind nginx sees: one keep-alive pool from
                                    the proxy (10.0.0.9) carrying two browsers' requests with
                                    X-Forwarded-For/-Proto, a preflight without
                                    Access-Control-Request-Headers and its PATCH
"""
import struct, sys

def read(path):
    data = open(path, "rb").read()
    hdr, rest = data[:24], data[24:]
    recs = []
    while rest:
        s, us, cap, orig = struct.unpack("<IIII", rest[:16])
        recs.append([s * 1_000_000 + us, rest[16:16 + cap]])
        rest = rest[16 + cap:]
    return hdr, recs

def write(path, recs, hdr=None):
    if hdr is None:
        hdr = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
    out = [hdr]
    for ts, pkt in recs:
        out.append(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(pkt), len(pkt)))
        out.append(pkt)
    open(path, "wb").write(b"".join(out))

def tcp_of(pkt):
    ip = pkt[14:]
    ihl = (ip[0] & 15) * 4
    t = ip[ihl:]
    sp, dp, seq, ack = struct.unpack(">HHII", t[:12])
    flags = t[13]
    doff = (t[12] >> 4) * 4
    total = struct.unpack(">H", ip[2:4])[0]
    return sp, dp, flags, total - ihl - doff

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack(">HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = bytes(src) + bytes(dst) + struct.pack(">BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack(">H", c) + tcp[18:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack(">H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp + payload

SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08

class Conv:
    """A TCP conversation, frames in order, 1 ms apart."""
    def __init__(self, recs, ts, client, cport, server, sport):
        self.recs, self.ts = recs, ts
        self.c, self.cp, self.s, self.sp = client, cport, server, sport
        self.cseq, self.sseq = 1000, 5000
        self.add(self.c, self.s, self.cp, self.sp, self.cseq, 0, SYN)
        self.add(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, SYN | ACK)
        self.cseq += 1; self.sseq += 1
        self.add(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK)
    def add(self, *a):
        self.ts += 1000
        self.recs.append([self.ts, frame(*a)])
    def client(self, data):
        self.add(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK | PSH, data)
        self.cseq += len(data)
    def server(self, data):
        self.add(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq, ACK | PSH, data)
        self.sseq += len(data)
    def fins(self):
        self.add(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, FIN | ACK)
        self.add(self.s, self.c, self.sp, self.cp, self.sseq, self.cseq + 1, FIN | ACK)
        self.cseq += 1; self.sseq += 1
        self.add(self.c, self.s, self.cp, self.sp, self.cseq, self.sseq, ACK)

CHROME = (b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          b"Chrome/156.0.0.0 Safari/537.36")

def websocket(out):
    recs = []
    c, s = [192, 0, 2, 10], [198, 51, 100, 20]
    ws = Conv(recs, 1_700_000_000_000_000, c, 51000, s, 8081)
    ws.client(b"GET /chat HTTP/1.1\r\nHost: api.test:8081\r\nConnection: Upgrade\r\n"
              b"Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: " + CHROME + b"\r\n"
              b"Upgrade: websocket\r\nOrigin: http://app.test:8080\r\nSec-WebSocket-Version: 13\r\n"
              b"Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
              b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n")
    ws.server(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
    # Frames whose payloads read like HTTP: they must not be parsed as messages.
    text = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    ws.server(bytes([0x81, len(text)]) + text)
    mask = b"\x01\x02\x03\x04"
    body = b"GET /not-a-request HTTP/1.1\r\nHost: x\r\n\r\n"
    ws.client(bytes([0x81, 0x80 | len(body)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(body)))
    ws.server(bytes([0x81, len(body)]) + body)
    ws.fins()
    get = Conv(recs, ws.ts, c, 51002, s, 8081)
    get.client(b"GET /data HTTP/1.1\r\nHost: api.test:8081\r\nConnection: keep-alive\r\nUser-Agent: "
               + CHROME + b"\r\nAccept: */*\r\nOrigin: http://app.test:8080\r\n"
               b"Referer: http://app.test:8080/\r\n\r\n")
    get.server(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: http://app.test:8080\r\n"
               b"Content-Length: 2\r\n\r\nok")
    get.fins()
    write(out, recs)

def backend(out):
    recs = []
    proxy, app = [10, 0, 0, 9], [10, 0, 0, 20]
    pool = Conv(recs, 1_700_000_000_000_000, proxy, 40000, app, 8080)
    def req(method, path, browser, extra=b"", body=b""):
        h = (method + b" " + path + b" HTTP/1.1\r\nHost: api.example\r\nX-Forwarded-For: " + browser
             + b"\r\nX-Forwarded-Proto: https\r\nX-Request-Id: 7f3a\r\nConnection: keep-alive\r\n"
             + b"user-agent: " + CHROME + b"\r\naccept: */*\r\norigin: https://app.example\r\n"
             + b"sec-fetch-mode: cors\r\nreferer: https://app.example/\r\n" + extra)
        if body:
            h += b"content-length: " + str(len(body)).encode() + b"\r\n"
        pool.client(h + b"\r\n" + body)
    # Browser 1: a preflighted PATCH (the preflight announces no headers: the page set none).
    req(b"OPTIONS", b"/items/1", b"203.0.113.5", b"access-control-request-method: PATCH\r\n")
    pool.server(b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                b"Access-Control-Allow-Methods: PATCH\r\n\r\n")
    req(b"PATCH", b"/items/1", b"203.0.113.5", b"content-type: text/plain\r\n", b"x")
    pool.server(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
                b"Content-Length: 2\r\n\r\nok")
    # Browser 2 on the same pool: a simple GET.
    req(b"GET", b"/items", b"198.51.100.77")
    pool.server(b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: 2\r\n\r\n[]")
    pool.fins()
    write(out, recs)

def main():
    cmd = sys.argv[1]
    if cmd == "websocket":
        return websocket(sys.argv[2])
    if cmd == "backend":
        return backend(sys.argv[2])
    hdr, recs = read(sys.argv[2])
    if cmd == "ts-backwards":
        for r in recs:
            if tcp_of(r[1])[0] == 18080:
                r[0] -= 300_000
        write(sys.argv[3], recs, hdr)
    elif cmd == "before-handshake":
        out = list(recs)
        for i, r in enumerate(recs):
            sp, dp, flags, _ = tcp_of(r[1])
            if flags & SYN and not flags & ACK:
                # This connection's first client data packet goes before its SYN.
                for j in range(i + 1, len(recs)):
                    q = tcp_of(recs[j][1])
                    if q[0] == sp and q[1] == dp and q[3] > 0:
                        out.remove(recs[j])
                        out.insert(out.index(r), recs[j])
                        break
        write(sys.argv[3], out, hdr)
    else:
        sys.exit(__doc__)

main()
