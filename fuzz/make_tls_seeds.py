#!/usr/bin/env python3
"""Seeds for the `tls`, `h2` and `hpack` fuzz targets (run from the repository root):
- tls: TCP conversations of tests/data/tls/tls12-h2.pcap (whose keys the target has), in the
  steps format (config byte, then data with `FE FE FE` at each change of direction), ≤ 16 KiB;
- h2: cleartext HTTP/2 conversations built here (HPACK from the `hpack` Python package when
  importable, else RFC 7541 C.3 blocks), with padding, CONTINUATION, RST_STREAM, trailers;
- hpack: the RFC 7541 appendix C header blocks, `FF FE` between blocks;
- http_head/h2c-upgrade: an HTTP/1.1 `Upgrade: h2c` accepted by a 101, then HTTP/2.
"""
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(ROOT, "seeds")


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data[:16384])


def pcap_conversations(path):
    """(conn key -> list of (dir, payload)) for a legacy pcap of IPv4/TCP on Ethernet or loopback."""
    b = open(path, "rb").read()
    linktype = struct.unpack("<I", b[20:24])[0]
    at, convs = 24, {}
    while at + 16 <= len(b):
        incl = struct.unpack("<I", b[at + 8:at + 12])[0]
        pkt = b[at + 16:at + 16 + incl]
        at += 16 + incl
        off = {1: 14, 0: 4, 113: 16, 276: 20}.get(linktype, 14)
        ip = pkt[off:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:tot]
        sp, dp = struct.unpack(">HH", tcp[:4])
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        if not payload:
            continue
        key = tuple(sorted([sp, dp]))
        convs.setdefault(key, []).append((sp, payload))
    return convs


def steps(conv):
    out, cur = bytearray([0]), None
    for sp, p in conv:
        if cur is None:
            cur = sp
        elif sp != cur:
            out += b"\xfe\xfe\xfe"
            cur = sp
        out += p
    return bytes(out)


def frame(kind, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


C3 = [bytes.fromhex(h) for h in [
    "828684410f7777772e6578616d706c652e636f6d",
    "828684be58086e6f2d6361636865",
    "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565",
]]
C6 = [bytes.fromhex(h) for h in [
    "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
    "4883640effc1c0bf",
    "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007",
]]


def main():
    convs = pcap_conversations(os.path.join(ROOT, "..", "tests", "data", "tls", "tls12-h2.pcap"))
    size = {k: sum(len(p) for _, p in c) for k, c in convs.items()}
    whole = sorted((k for k in convs if size[k] < 16000), key=lambda k: -size[k])
    for i, key in enumerate(whole[:4]):
        write("tls", f"tls12-conn{i}", steps(convs[key]))
    write("hpack", "rfc7541-c3", b"\x00" + b"\xff\xfe".join(C3))
    write("hpack", "rfc7541-c6", b"\x00" + b"\xff\xfe".join(C6))
    settings = frame(4, 0, 0, struct.pack(">HI", 1, 4096))
    req = frame(1, 0x4 | 0x1, 1, C3[0])
    padded = frame(1, 0x8 | 0x4, 3, bytes([3]) + C3[1] + b"\0\0\0")
    cont = frame(1, 0, 5, C3[2][:7]) + frame(9, 0x4, 5, C3[2][7:])
    data = frame(0, 0x1, 3, b"x" * 20)
    rst = frame(3, 0, 5, struct.pack(">I", 8))
    client = settings + req + padded + cont + data + rst
    server = (frame(4, 0, 0, b"") + frame(4, 1, 0, b"") + frame(1, 0x4, 1, C6[0]) + frame(0, 1, 1, b"hello")
              + frame(1, 0x4, 3, C6[1]) + frame(1, 0x5, 3, bytes.fromhex("4003666f6f03626172")))
    write("h2", "conversation", b"\x00" + client + b"\xfe\xfe\xfe" + server)
    write("h2", "bytewise", b"\x10" + client + b"\xfe\xfe\xfe" + server)
    # http_head: `Upgrade: h2c` (RFC 7540 section 3.2) accepted by a 101, then HTTP/2 with the
    # upgrade request as stream 1 (the server's frames start in the 101's segment).
    up = (b"GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: Upgrade, HTTP2-Settings\r\n"
          b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
    switched = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                + frame(4, 0, 0, b"") + frame(1, 0x4, 1, C6[0]) + frame(0, 1, 1, b"hello"))
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    h2c_client = preface + frame(4, 0, 0, b"") + frame(4, 1, 0, b"") + frame(1, 0x5, 3, C3[0])
    h2c_server = frame(4, 1, 0, b"") + frame(1, 0x5, 3, C6[1])
    write("http_head", "h2c-upgrade",
          b"\x00" + b"\xfe\xfe\xfe".join([up, switched, h2c_client, h2c_server]))


main()
