#!/usr/bin/env python3
"""Rewrites an Ethernet pcap (little-endian, microseconds) with 802.1Q tags: every frame gets
tag VLAN 100, and with --qinq an outer 802.1ad tag VLAN 7 as well.
Usage: vlan.py IN OUT [--qinq]"""
import struct, sys

src, dst = sys.argv[1], sys.argv[2]
qinq = "--qinq" in sys.argv
data = open(src, "rb").read()
hdr, rest = data[:24], data[24:]
assert struct.unpack("<I", hdr[:4])[0] == 0xA1B2C3D4 and struct.unpack("<I", hdr[20:24])[0] == 1
out = [hdr]
while rest:
    ts, us, cap, orig = struct.unpack("<IIII", rest[:16])
    frame, rest = rest[16:16 + cap], rest[16 + cap:]
    tags = b""
    if qinq:
        tags += b"\x88\xa8" + struct.pack(">H", 7)
    tags += b"\x81\x00" + struct.pack(">H", (3 << 13) | 100)
    frame = frame[:12] + tags + frame[12:]
    out.append(struct.pack("<IIII", ts, us, len(frame), orig + len(tags)) + frame)
open(dst, "wb").write(b"".join(out))
