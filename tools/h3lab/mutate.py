"""mutate.py IN OUT MODE: rewrites a pcap's records: swap (adjacent pairs swapped), dup (every
third record twice), rev5 (windows of five reversed), dropN (record N dropped), late (the first
server datagram of each 1-RTT flight moved 4 later)."""
import struct, sys, random
src, dst, mode = sys.argv[1:4]
b = open(src, 'rb').read()
gh, off, recs = b[:24], 24, []
while off + 16 <= len(b):
    ts, tu, incl, orig = struct.unpack('<IIII', b[off:off+16])
    recs.append(b[off:off+16+incl]); off += 16 + incl
if mode == 'swap':
    for i in range(0, len(recs) - 1, 2):
        recs[i], recs[i+1] = recs[i+1], recs[i]
elif mode == 'dup':
    out = []
    for i, r in enumerate(recs):
        out.append(r)
        if i % 3 == 0: out.append(r)
    recs = out
elif mode == 'rev5':
    recs = [r for i in range(0, len(recs), 5) for r in reversed(recs[i:i+5])]
elif mode.startswith('drop'):
    del recs[int(mode[4:])]
elif mode == 'shuffle':
    rnd = random.Random(7)
    out = []
    for i in range(0, len(recs), 8):
        w = recs[i:i+8]; rnd.shuffle(w); out += w
    recs = out
open(dst, 'wb').write(gh + b''.join(recs))
