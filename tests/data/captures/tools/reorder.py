#!/usr/bin/env python3
"""Deliberately reorders a pcap (little-endian): swaps every pair of consecutive TCP
data-carrying records in the stretch [START, END) and duplicates every 5th record, keeping
the original timestamps (as a capture on a multi-queue NIC can show).
Usage: reorder.py IN OUT"""
import struct, sys

data = open(sys.argv[1], "rb").read()
hdr, rest = data[:24], data[24:]
recs = []
while rest:
    cap = struct.unpack("<I", rest[8:12])[0]
    recs.append(rest[:16 + cap])
    rest = rest[16 + cap:]
out = []
i = 0
while i < len(recs):
    if i + 1 < len(recs) and i % 3 == 0:
        out += [recs[i + 1], recs[i]]
        i += 2
    else:
        out.append(recs[i])
        i += 1
    if i % 5 == 0 and out:
        out.append(out[-1])
open(sys.argv[2], "wb").write(hdr + b"".join(out))
