#!/usr/bin/env python3
"""Writes http1-pipelined-request-lost.pcap (argument: the path): an HTTP/1.1 client that
pipelines (two GETs in one segment, answered in one) to api.app.test:8083 from a page at
http://app.test:8080; its next request's segment (GET /s/pl-lost/r) is not in the capture, and
the GET after it (/s/pl-after/r, allowed: its answer carries Access-Control-Allow-Origin) is
sent before the lost one's answer (a 404 without it) comes."""
import struct, sys
UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36'
ORIGIN = 'http://app.test:8080'
def get(route):
    return (f'GET /s/{route}/r HTTP/1.1\r\nHost: api.app.test:8083\r\nConnection: keep-alive\r\n'
            f'User-Agent: {UA}\r\nAccept: */*\r\nOrigin: {ORIGIN}\r\nSec-Fetch-Site: same-site\r\n'
            f'Sec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\nReferer: {ORIGIN}/\r\n'
            'Accept-Encoding: gzip, deflate\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n').encode()
def answer(status, acao):
    h = f'HTTP/1.1 {status}\r\nServer: cors-oracle/1\r\nDate: Tue, 24 Nov 2026 19:46:50 GMT\r\n'
    if acao:
        h += f'Access-Control-Allow-Origin: {ORIGIN}\r\nVary: Origin\r\n'
    return (h + 'Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}').encode()
C = (bytes([127, 0, 0, 1]), 52000); S = (bytes([127, 0, 0, 1]), 8083)
frames = []; t = [1795636020_000000]
def pkt(src, dst, seq, ack, flags, payload, keep=True):
    t[0] += 700
    tcp = struct.pack('>HHIIBBHHH', src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src[0], dst[0])
    if keep:
        frames.append((t[0], b'\0' * 12 + b'\x08\x00' + ip + tcp + payload))
cs, ss = 1000, 9000
SYN, ACK, PSH, FIN = 2, 16, 8, 1
pkt(C, S, cs, 0, SYN, b''); pkt(S, C, ss, cs + 1, SYN | ACK, b''); cs += 1; ss += 1; pkt(C, S, cs, ss, ACK, b'')
def cl(data, keep=True):
    global cs; pkt(C, S, cs, ss, PSH | ACK, data, keep); cs += len(data)
def sv(data, keep=True):
    global ss; pkt(S, C, ss, cs, PSH | ACK, data, keep); ss += len(data)
cl(get('pl-first') + get('pl-second'))
sv(answer('200 OK', True) + answer('200 OK', True))
t[0] += 30000
cl(get('pl-lost'), keep=False)
cl(get('pl-after'))
sv(answer('404 Not Found', False) + answer('200 OK', True))
pkt(C, S, cs, ss, ACK, b'')
pkt(C, S, cs, ss, FIN | ACK, b''); pkt(S, C, ss, cs + 1, FIN | ACK, b''); pkt(C, S, cs + 1, ss + 1, ACK, b'')
out = struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)
for ts, d in frames:
    out += struct.pack('<IIII', ts // 1000000, ts % 1000000, len(d), len(d)) + d
open(sys.argv[1], 'wb').write(out)
