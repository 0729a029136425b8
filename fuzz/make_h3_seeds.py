#!/usr/bin/env python3
"""Seeds for the `h3` and `quic_capture` fuzz targets (see their doc comments).

Run from the repository root: `python3 fuzz/make_h3_seeds.py`. Needs tshark (4.0) and
pylsqpack. Writes `fuzz/seeds/h3/*.bin` and `fuzz/seeds/quic_capture/*`.

h3: the STREAM and RESET_STREAM frames of each QUIC connection of the three recordings in
`tests/data/quic` (decrypted by tshark with their key logs), in capture order, in the piece
format of `fuzz_targets/h3.rs`; variants of the smaller connections (disordered, cut into tiny
pieces, retransmitted with overlaps, delivered late, small limits, reset by the server); and
conversations encoded here with pylsqpack (dynamic table inserts on the encoder stream, field
sections that refer to them, some sent before their inserts: blocked).

quic_capture: the three recordings as they are, each connection of each alone (as pcap), and
the first packets of the smallest connections (handshake and first request).
"""

import json
import os
import random
import struct
import subprocess
import sys

import pylsqpack

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(ROOT, "tests", "data", "quic")
H3 = os.path.join(ROOT, "fuzz", "seeds", "h3")
QC = os.path.join(ROOT, "fuzz", "seeds", "quic_capture")

RECORDINGS = [
    # (name, capture, key log file or None: the pcapng carries its own)
    ("plain", "chromium-h3.pcap", "chromium-h3.keylog.txt"),
    ("retry", "chromium-h3-retry-chacha.pcap", "chromium-h3-retry-chacha.keylog.txt"),
    ("dsb", "chromium-h3-aes256-dsb.pcapng", None),
]
SERVER_PORT = 4433

# fuzz_targets/h3.rs
IDS = [0, 4, 8, 2, 3, 6, 7, 10, 11, 12, 16, 14, 15, 1, 5]
IN_ORDER, IN_ORDER_FIN, AT, AT_FIN, OVERLAP, LATE, LATE_FIN, RESET = range(8)


def qvarint(v):
    if v < 1 << 6:
        return bytes([v])
    if v < 1 << 14:
        return struct.pack(">H", v | 0x4000)
    if v < 1 << 30:
        return struct.pack(">I", v | 0x80000000)
    return struct.pack(">Q", v | 0xC000000000000000)


def header(d, sid, mode):
    if sid in IDS:
        return bytes([d << 7 | IDS.index(sid) << 3 | mode])
    return bytes([d << 7 | 15 << 3 | mode]) + qvarint(sid)


def length(n):
    assert n < 1 << 14
    if n < 0xC0:
        return bytes([n])
    return bytes([0xC0 | n >> 8, n & 0xFF])


class Writer:
    """Pieces in the h3 target's format, tracking each stream's end as the target does."""

    def __init__(self, cfg=0):
        self.out = bytearray([cfg])
        self.sent = {}

    def stream(self, d, sid, offset, data, fin, late=False):
        for i in range(0, max(len(data), 1), 0x3FFF):
            chunk = data[i : i + 0x3FFF]
            last = i + 0x3FFF >= len(data)
            self._one(d, sid, offset + i, chunk, fin and last, late)

    def _one(self, d, sid, offset, data, fin, late):
        hist = self.sent.setdefault((sid, d), bytearray())
        end = len(hist)
        if offset == end:
            mode = (LATE_FIN if fin else LATE) if late else (IN_ORDER_FIN if fin else IN_ORDER)
            self.out += header(d, sid, mode) + length(len(data)) + data
        elif (
            not fin
            and offset < end
            and end - offset <= 255
            and bytes(hist[offset:end]) == bytes(data[: end - offset])
        ):
            k = end - offset
            fresh = data[k:]
            self.out += header(d, sid, OVERLAP) + bytes([k]) + length(len(fresh)) + fresh
        else:
            mode = AT_FIN if fin else AT
            self.out += header(d, sid, mode) + qvarint(offset) + length(len(data)) + data
        if offset <= end and offset + len(data) > end:
            hist += data[end - offset :]

    def reset(self, d, sid, final_size):
        end = len(self.sent.setdefault((sid, d), bytearray()))
        extra = max(0, min(255, final_size - end))
        self.out += header(d, sid, RESET) + bytes([extra])

    def bytes(self):
        return bytes(self.out)


def tshark_frames(cap, keylog):
    """Per connection (client port), the STREAM and RESET_STREAM frames in capture order:
    ("s", dir, id, offset, data, fin) or ("r", dir, id, final_size); dir 0: the client."""
    cmd = ["tshark", "-r", os.path.join(DATA, cap), "-T", "json", "--no-duplicate-keys"]
    cmd += ["-J", "udp quic"]
    if keylog:
        cmd[3:3] = ["-o", "tls.keylog_file:" + os.path.join(DATA, keylog)]
    packets = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    conns = {}

    def walk(o, out):
        if isinstance(o, dict):
            if "quic.frame_type" in o:
                out.append(o)
            for v in o.values():
                walk(v, out)
        elif isinstance(o, list):
            for x in o:
                walk(x, out)

    for p in packets:
        layers = p["_source"]["layers"]
        udp = layers.get("udp")
        if not udp or "quic" not in layers:
            continue
        src, dst = int(udp["udp.srcport"]), int(udp["udp.dstport"])
        d = 0 if dst == SERVER_PORT else 1
        client = src if d == 0 else dst
        frames = []
        walk(layers["quic"], frames)
        for f in frames:
            t = int(f["quic.frame_type"], 0)
            if 0x08 <= t <= 0x0F:
                sid = int(f["quic.stream.stream_id"])
                off = int(f.get("quic.stream.offset", "0"))
                hexdata = f.get("quic.stream_data", "")
                data = bytes.fromhex(hexdata.replace(":", "")) if hexdata else b""
                conns.setdefault(client, []).append(("s", d, sid, off, data, bool(t & 1)))
            elif t == 0x04:
                sid = int(f["quic.rsts.stream_id"])
                size = int(f["quic.rsts.final_size"])
                conns.setdefault(client, []).append(("r", d, sid, size))
    return conns


def encode(frames, cfg=0, order=None, late_every=0):
    w = Writer(cfg)
    for i, f in enumerate(frames if order is None else [frames[j] for j in order]):
        if f[0] == "s":
            _, d, sid, off, data, fin = f
            w.stream(d, sid, off, data, fin, late=bool(late_every) and i % late_every == 1)
        else:
            w.reset(f[1], f[2], f[3])
    return w.bytes()


def tiny(frames, size=3):
    """Each frame cut into pieces of `size` bytes."""
    out = []
    for f in frames:
        if f[0] != "s" or len(f[4]) <= size:
            out.append(f)
            continue
        _, d, sid, off, data, fin = f
        for i in range(0, len(data), size):
            out.append(("s", d, sid, off + i, data[i : i + size], fin and i + size >= len(data)))
    return out


def overlapping(frames):
    """Each frame re-sent from up to 5 bytes before its start (a retransmission)."""
    seen = {}
    out = []
    for f in frames:
        if f[0] != "s":
            out.append(f)
            continue
        _, d, sid, off, data, fin = f
        hist = seen.setdefault((sid, d), bytearray())
        k = min(5, off, len(hist)) if off == len(hist) else 0
        out.append(("s", d, sid, off - k, bytes(hist[off - k : off]) + data, fin))
        if off == len(hist):
            hist += data
    return out


def reset_responses(frames):
    """The server resets each request stream after its first response bytes."""
    out = []
    done = set()
    for f in frames:
        out.append(f)
        if f[0] == "s" and f[1] == 1 and f[2] % 4 == 0 and f[2] not in done:
            done.add(f[2])
            out.append(("r", 1, f[2], f[3] + len(f[4])))
    return out


def shrink_bodies(frames, keep=24):
    """The DATA frames of request streams cut to `keep` bytes of payload (their length
    rewritten in a varint of the same size), every piece and final size moved to match: the
    largest connection (a 22 KB upload) as a seed of a few KB."""
    streams = {}
    for f in frames:
        if f[0] == "s" and f[2] % 4 == 0:
            _, d, sid, off, data, _ = f
            buf = streams.setdefault((sid, d), bytearray())
            if len(buf) < off + len(data):
                buf += bytes(off + len(data) - len(buf))
            buf[off : off + len(data)] = data
    # Per stream: each original byte's new value, or None where it is dropped; then the new
    # offset of each original offset.
    new = {}
    for key, buf in streams.items():
        out = list(buf)
        i = 0
        while i < len(buf):
            try:
                t, n1 = varint_at(buf, i)
                ln, n2 = varint_at(buf, i + n1)
            except IndexError:
                break
            start = i + n1 + n2
            if t == 0 and ln > keep:
                out[i + n1 : start] = fixed_varint(keep, n2)
                for j in range(start + keep, min(start + ln, len(buf))):
                    out[j] = None
            i = start + ln
        at = [0]
        for v in out:
            at.append(at[-1] + (v is not None))
        new[key] = (out, at)
    result = []
    for f in frames:
        key = (f[2], f[1])
        if key not in new:
            result.append(f)
            continue
        out, at = new[key]
        if f[0] == "r":
            result.append(("r", f[1], f[2], at[min(f[3], len(out))]))
            continue
        _, d, sid, off, data, fin = f
        kept = bytes(v for v in out[off : off + len(data)] if v is not None)
        if kept or fin or not data:
            result.append(("s", d, sid, at[off], kept, fin))
    return result


def varint_at(b, i):
    first = b[i]
    n = 1 << (first >> 6)
    v = first & 0x3F
    for x in b[i + 1 : i + n]:
        v = v << 8 | x
    if i + n > len(b):
        raise IndexError
    return v, n


def fixed_varint(v, n):
    """`v` as a QUIC varint of exactly `n` bytes (not the shortest: allowed, §16)."""
    bits = {1: 0, 2: 0x40, 4: 0x80, 8: 0xC0}[n]
    raw = v.to_bytes(n, "big")
    return [raw[0] | bits] + list(raw[1:])


# --- HTTP/3 conversations encoded here ----------------------------------------------------


def h3_frame(t, payload):
    return qvarint(t) + qvarint(len(payload)) + payload


def settings(pairs):
    return h3_frame(0x04, b"".join(qvarint(k) + qvarint(v) for k, v in pairs))


def synthetic(blocked_first, cfg=0, table=4096, n=4, huge=False):
    """Control streams, encoder streams and `n` requests with responses, their field
    sections encoded by pylsqpack against the dynamic table. `blocked_first`: each request's
    field section goes out before the encoder-stream bytes it needs."""
    frames = []
    enc = [pylsqpack.Encoder(), pylsqpack.Encoder()]
    ends = {}

    def send(d, sid, data, fin=False):
        off = ends.get((sid, d), 0)
        ends[(sid, d)] = off + len(data)
        frames.append(("s", d, sid, off, data, fin))

    # Control streams: SETTINGS (QPACK_MAX_TABLE_CAPACITY 0x01, QPACK_BLOCKED_STREAMS 0x07,
    # a grease setting); the server's ends with a GOAWAY.
    send(0, 2, b"\x00" + settings([(1, table), (7, 16), (0x21, 1)]))
    send(1, 3, b"\x00" + settings([(1, table), (7, 16)]))
    # A push stream (type 0x01) and a reserved (grease) type: not read.
    send(1, 15, b"\x01\x00" + h3_frame(0x01, b"\x00\x00"))
    send(0, 14, qvarint(0x21) + b"grease", fin=True)
    # Encoder streams: the type byte, then what apply_settings says (Set Dynamic Table
    # Capacity).
    for d, sid in ((0, 6), (1, 7)):
        send(d, sid, b"\x02" + enc[d].apply_settings(table, 16))
    # The decoder streams (not read).
    send(0, 10, b"\x03")
    send(1, 11, b"\x03")
    for i in range(n):
        sid = 4 * i
        path = "/s/h3-%d/r?x=%s" % (i, "y" * (i * (300 if huge and i % 2 else 7)))
        req = [
            (b":method", b"GET" if i % 2 == 0 else b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"api.test:4433"),
            (b":path", path.encode()),
            (b"origin", b"https://app.test:4433"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"),
            (b"x-custom-%d" % i, b"v" * (i + 1)),
            (b"accept", b"*/*"),
        ]
        es, block = enc[0].encode(sid, req)
        body = h3_frame(0x00, b"a=1") if i % 2 == 1 else b""
        if blocked_first:
            send(0, sid, h3_frame(0x01, block) + body, fin=True)
            if es:
                send(0, 6, es)
        else:
            if es:
                send(0, 6, es)
            send(0, sid, h3_frame(0x01, block) + body, fin=True)
        resp = [
            (b":status", b"200" if i != 2 else b"204"),
            (b"access-control-allow-origin", b"https://app.test:4433" if i % 2 else b"*"),
            (b"access-control-allow-credentials", b"true"),
            (b"vary", b"origin"),
            (b"content-type", b"text/plain"),
        ]
        es, block = enc[1].encode(sid, resp)
        if es:
            send(1, 7, es)
        # An unknown frame type before the HEADERS, DATA after it.
        send(1, sid, h3_frame(0x21, b"x") + h3_frame(0x01, block) + h3_frame(0x00, b"ok"), fin=True)
    send(1, 3, h3_frame(0x07, qvarint(4 * n)))
    return encode(frames, cfg)


# --- pcap and pcapng ----------------------------------------------------------------------


def read_capture(path):
    """(linktype, [(ts_sec, ts_usec, data)]) of a pcap (microseconds) or pcapng (one
    interface, default microsecond resolution) file."""
    b = open(path, "rb").read()
    if b[:4] == b"\xd4\xc3\xb2\xa1":
        _, _, _, _, _, link = struct.unpack_from("<HHiIII", b, 4)
        i, out = 24, []
        while i + 16 <= len(b):
            s, us, incl, _ = struct.unpack_from("<IIII", b, i)
            out.append((s, us, b[i + 16 : i + 16 + incl]))
            i += 16 + incl
        return link, out
    assert b[:4] == b"\x0a\x0d\x0d\x0a" and b[8:12] == b"\x4d\x3c\x2b\x1a", path
    i, link, out = 0, None, []
    while i + 12 <= len(b):
        t, n = struct.unpack_from("<II", b, i)
        if t == 1:
            link = struct.unpack_from("<H", b, i + 8)[0]
        elif t == 6:
            _, hi, lo, incl, _ = struct.unpack_from("<IIIII", b, i + 8)
            ts = hi << 32 | lo
            out.append((ts // 1000000, ts % 1000000, b[i + 28 : i + 28 + incl]))
        i += n
    return link, out


def write_pcap(path, link, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, link))
        for s, us, data in packets:
            f.write(struct.pack("<IIII", s, us, len(data), len(data)) + data)


def client_port(frame):
    """The non-4433 UDP port of an Ethernet/IPv4 or IPv6 frame, or None."""
    et = struct.unpack_from(">H", frame, 12)[0]
    if et == 0x0800:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != 17:
            return None
        u = 14 + ihl
    elif et == 0x86DD:
        if frame[20] != 17:
            return None
        u = 54
    else:
        return None
    sp, dp = struct.unpack_from(">HH", frame, u)
    return dp if sp == SERVER_PORT else sp


def main():
    os.makedirs(H3, exist_ok=True)
    os.makedirs(QC, exist_ok=True)
    seeds = {}
    for name, cap, keylog in RECORDINGS:
        conns = tshark_frames(cap, keylog)
        # Smallest connection first: the variants are made of the two smallest.
        by_size = sorted(conns, key=lambda c: sum(len(f[4]) for f in conns[c] if f[0] == "s"))
        for rank, port in enumerate(by_size):
            frames = conns[port]
            if len(encode(frames)) > 16384:
                frames = shrink_bodies(frames)
            seeds["%s-conn%d.bin" % (name, rank)] = encode(frames)
            if rank > 1:
                continue
            rng = random.Random("%s-%d" % (name, rank))
            order = list(range(len(frames)))
            rng.shuffle(order)
            seeds["%s-conn%d-shuffled.bin" % (name, rank)] = encode(frames, order=order)
            seeds["%s-conn%d-reversed.bin" % (name, rank)] = encode(
                frames, order=list(reversed(range(len(frames))))
            )
            seeds["%s-conn%d-tiny.bin" % (name, rank)] = encode(tiny(frames))
            seeds["%s-conn%d-overlap.bin" % (name, rank)] = encode(overlapping(frames))
            seeds["%s-conn%d-late.bin" % (name, rank)] = encode(frames, late_every=3)
            seeds["%s-conn%d-small.bin" % (name, rank)] = encode(frames, cfg=1)
            seeds["%s-conn%d-reset.bin" % (name, rank)] = encode(reset_responses(frames))
        # quic_capture: the recording, each connection alone, the first packets of the
        # two smallest.
        # (Seeds stay within 16 KiB, as fuzz/README.md asks: the recordings themselves are
        # in tests/data/quic, and their largest connection is left out.)
        link, packets = read_capture(os.path.join(DATA, cap))
        for rank, port in enumerate(by_size):
            mine = [p for p in packets if client_port(p[2]) == port]
            if sum(len(p[2]) + 16 for p in mine) + 24 <= 16384:
                write_pcap(os.path.join(QC, "%s-conn%d.pcap" % (name, rank)), link, mine)
            if rank <= 1:
                first = 16 if name == "retry" else 10
                path = os.path.join(QC, "%s-conn%d-first%d.pcap" % (name, rank, first))
                write_pcap(path, link, mine[:first])
    seeds["lsqpack-inorder.bin"] = synthetic(False)
    seeds["lsqpack-blocked.bin"] = synthetic(True)
    seeds["lsqpack-small-table.bin"] = synthetic(False, table=256, n=6)
    seeds["lsqpack-small-limits.bin"] = synthetic(True, cfg=1, huge=True)
    seeds["lsqpack-no-table.bin"] = synthetic(False, table=0, n=3)
    for n, b in sorted(seeds.items()):
        with open(os.path.join(H3, n), "wb") as f:
            f.write(b)
    print("%d h3 seeds, %d quic_capture seeds" % (len(seeds), len(os.listdir(QC))))


if __name__ == "__main__":
    sys.exit(main())
