#!/usr/bin/env python3
"""Writes tls-mid-record-port-8441.pcap (arguments: the input, the output): from
tls-webkit-handshake-not-captured.pcap (WebKit, TLS on port 8441, the PURGE's connection
without its handshakes), the PURGE's connection as a capture that starts inside a TLS record
in both directions: the first data segment of each side loses its first 5 bytes (the record
header; the sequence number moves on by as much), as when the capture begins with the second
segment of a record that spans two. Port 8441 does not say HTTPS and no record header starts
a side's bytes, so the connection cannot be told from unreadable HTTP."""
import struct, sys

CUT = 5
src, dst = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
out = bytearray(data[:24])
off = 24
trimmed = set()  # (src port, dst port) of the sides already cut
while off + 16 <= len(data):
    ts_s, ts_u, incl, orig = struct.unpack('<IIII', data[off:off + 16])
    frame = bytearray(data[off + 16:off + 16 + incl])
    off += 16 + incl
    eth, ip = frame[:14], frame[14:]
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    sport, dport = struct.unpack('>HH', tcp[:4])
    thl = (tcp[12] >> 4) * 4
    payload = tcp[thl:]
    side = (sport, dport)
    if 58552 in side and payload and side not in trimmed:
        trimmed.add(side)
        seq = (struct.unpack('>I', tcp[4:8])[0] + CUT) & 0xffffffff
        tcp[4:8] = struct.pack('>I', seq)
        tcp = tcp[:thl] + payload[CUT:]
        ip = ip[:ihl] + tcp
        ip[2:4] = struct.pack('>H', len(ip))
        ip[10:12] = b'\0\0'
        words = struct.unpack('>%dH' % (ihl // 2), bytes(ip[:ihl]))
        s = sum(words)
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        ip[10:12] = struct.pack('>H', ~s & 0xffff)
        frame = eth + ip
    out += struct.pack('<IIII', ts_s, ts_u, len(frame), len(frame)) + frame
open(dst, 'wb').write(out)
