#!/usr/bin/env python3
"""Generators for tests/hostile.sh (written to stdout, streaming).

flood-har N   a DevTools-style HAR with N requests to one URL at one timestamp, every other one a
              preflight
long-strings M  a HAR whose every string (keys included) is M MB: 12 strings in log.version,
              log.creator and two entries
open-heads N  a pcap with N TCP connections, all live at once, each sending 64 KB of a request
              head that never ends
slow-cors N   a pcap of N cross-origin exchanges a minute apart (capture time), written slowly:
              one exchange per 0.2 s, then the pipe is held open for N seconds more (a live
              `tcpdump -U -w -` stand-in)
zero-records N  a pcap of N zero-length records (every one a warning)
"""
import time
import struct
import sys


def flood_har(n):
    out = sys.stdout
    out.write('{"log":{"creator":{"name":"WebInspector"},"entries":[')
    h = '"startedDateTime":"2026-01-01T00:00:00.000Z","request":{'
    pf = ('{' + h + '"method":"OPTIONS","url":"http://b.test/x","headers":['
          '{"name":"Origin","value":"http://a.test"},'
          '{"name":"Access-Control-Request-Method","value":"PUT"}]},'
          '"response":{"status":204,"headers":['
          '{"name":"Access-Control-Allow-Origin","value":"http://a.test"},'
          '{"name":"Access-Control-Allow-Methods","value":"PUT"}]}}')
    rq = ('{' + h + '"method":"PUT","url":"http://b.test/x","headers":['
          '{"name":"Origin","value":"http://a.test"}]},"response":{"status":200,"headers":[]}}')
    for i in range(n):
        if i:
            out.write(',')
        out.write(pf if i % 2 == 0 else rq)
    out.write(']}}')


def long_strings(mb):
    out = sys.stdout.buffer
    chunk = b'a' * (1 << 20)

    def s():
        out.write(b'"')
        for _ in range(mb):
            out.write(chunk)
        out.write(b'"')

    out.write(b'{"log":{"version":'); s()
    out.write(b',"creator":{"name":'); s(); out.write(b'}')
    out.write(b',"entries":[{"startedDateTime":'); s()
    out.write(b',"request":{"method":'); s(); out.write(b',"url":'); s()
    out.write(b',"headers":[{"name":'); s(); out.write(b',"value":'); s(); out.write(b'}]}')
    out.write(b',"response":{"status":200,"headers":[{'); s(); out.write(b':'); s()
    out.write(b'}],"content":{"text":'); s(); out.write(b'}}}')
    out.write(b',{'); s(); out.write(b':'); s(); out.write(b'}]}}')


def open_heads(n):
    out = sys.stdout.buffer
    out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))

    def frame(src, sport, dst, dport, seq, ack, flags, payload=b''):
        tcp = struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0,
                         bytes(src), bytes(dst))
        data = b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\0' + ip + tcp + payload
        out.write(struct.pack('<IIII', 1600000000, 0, len(data), len(data)) + data)

    srv = [10, 0, 0, 2]

    def cli(i):
        return [10, 1 + i // 60000, (i // 250) % 240, 1 + i % 250], 1024 + i % 60000

    for i in range(n):
        c, p = cli(i)
        frame(c, p, srv, 80, 1000, 0, 2)
        frame(srv, 80, c, p, 5000, 1001, 18)
        frame(c, p, srv, 80, 1001, 5001, 16)
    head = b'GET / HTTP/1.1\r\nX: ' + b'a' * 1441
    for k in range(44):
        for i in range(n):
            c, p = cli(i)
            frame(c, p, srv, 80, 1001 + k * 1460, 5001, 24, head if k == 0 else b'a' * 1460)


def pcap_header(out):
    out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))


def eth_frame(out, ts, src, sport, dst, dport, seq, ack, flags, payload=b''):
    tcp = struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0,
                     bytes(src), bytes(dst))
    data = b'\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\0' + ip + tcp + payload
    out.write(struct.pack('<IIII', ts, 0, len(data), len(data)) + data)


def slow_cors(n):
    out = sys.stdout.buffer
    pcap_header(out)
    out.flush()
    cli, srv = [10, 0, 0, 1], [10, 0, 0, 2]
    for i in range(n):
        t, p = 1600000000 + 60 * i, 40000 + i
        req = ('GET /%d HTTP/1.1\r\nHost: api.test\r\nOrigin: http://app.test\r\n\r\n' % i).encode()
        resp = b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'
        eth_frame(out, t, cli, p, srv, 80, 1000, 0, 2)
        eth_frame(out, t, srv, 80, cli, p, 5000, 1001, 18)
        eth_frame(out, t, cli, p, srv, 80, 1001, 5001, 16)
        eth_frame(out, t, cli, p, srv, 80, 1001, 5001, 24, req)
        eth_frame(out, t, srv, 80, cli, p, 5001, 1001 + len(req), 24, resp)
        out.flush()
        time.sleep(0.2)
    time.sleep(n)


def zero_records(n):
    out = sys.stdout.buffer
    pcap_header(out)
    rec = b''.join(struct.pack('<IIII', 1600000000 + i // 1000, i % 1000, 0, 0) for i in range(65536))
    for _ in range(n // 65536):
        out.write(rec)


if __name__ == '__main__':
    {'flood-har': flood_har, 'long-strings': long_strings, 'open-heads': open_heads,
     'slow-cors': slow_cors, 'zero-records': zero_records}[sys.argv[1]](int(sys.argv[2]))
