#!/usr/bin/env python3
"""Field audit: run corscope on MUTATED copies of the scored corpus and compare per-scenario verdicts.

usage: field_mutate.py --bin PATH [--corpus DIR] [--only SUBSTR] [--keep DIR] [--seeds N] [--first-seed K] [--combos] [-v]

`--combos` runs two faults at once instead (`HAR_COMBOS`, `CAP_COMBOS`; `PROXY_COMBOS` on backend
captures, `TLS_COMBOS` on decrypted ones; joined by `&`, applied
in order: a capture that lost packets and had others swapped, an export shuffled with entries
missing their start), as real inputs carry them; the merges are not rerun.

Each mutation writes a changed copy of a recording (HAR: entries duplicated, dropped, cut,
failed, header case, proxy headers, time zones, pages removed, shuffled, a DevTools export
rewritten as a recording proxy or Firefox lists it (`as-proxy`, `as-firefox`) or with its
`_`-fields stripped (`stripped`); capture: packets
duplicated, reordered, dropped, cut, split in two files joined with `cat`, begun late, coalesced (TSO/GRO), snapped short, pcapng,
VLAN / Linux SLL encapsulation, IPv6, merged with a shifted copy, timestamps shifted; behind a proxy (`px-*`, backend captures): the
request heads rewritten as another proxy or balancer would; key logs (`kl-*`, captures given
`--keylog`; `dsb+kl-*`, a key log given beside embedded secrets; `dsb-drop-sessions`): sessions
or lines missing, shuffled, CRLF, comments, other captures' secrets, the wrong log; decrypted TLS
(`h2-cut`, `tls-no-handshake`, `tls-mid-record`): a segment lost inside a connection, handshakes
not captured, the capture beginning inside a record) and scores it with the corpus scorer
(score.py -v, which takes an absolute FILE). A scenario that was not WRONG on the original
input and is WRONG on the mutated one is a finding (the mutated input either still decides the
scenario, so the verdict must not change, or no longer does, so it must become `unknown`); so are a
panic, a non-0/1 exit, a timeout, and a lost record on a mutation that loses nothing. Findings
are printed as `FINDING ...` lines; the exit status is 1 when there is one.

Merged inputs (`MERGES`: two browsers' captures merged by time, a copy from a moved client, two
captures joined as `mergecap -a` joins them, newest first or in time order, a HAR's second
session) are checked part by part: each part's records keep their verdicts in the merge.

The scorer matches records to scenarios by route and, for routes hit twice, by order: a mutation
that duplicates or drops a hit of such a route can move that alignment, which the script reports
as `ALIGN?` rather than as a finding (check those by hand: `merge-shifted` puts the copy's first
hit between the original's two, an artefact; a wrong verdict on the right hit is a finding).
"""
import argparse, copy, json, os, random, re, struct, subprocess, sys, tempfile
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import proxy_har  # noqa: E402  (the exporters' rewrites, shared with its command line)
SCORE = "/work/shared/tools/score.py"
ROW = re.compile(r"^(WRONG|UNKNOWN|MISSING|REASON)\s+(\S+)\s+want (\S+) got (\S+)")
ROUTE = re.compile(r"/s/([^/?#]+)/")


# ---------------------------------------------------------------- HAR mutations

def har_load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def entries(h):
    return h["log"]["entries"]


def is_options(e):
    return e["request"]["method"].upper() == "OPTIONS"


def m_dup_adjacent(h, rng):
    es = entries(h)
    out = []
    for e in es:
        out.append(e)
        if rng.random() < 0.3:
            out.append(copy.deepcopy(e))
    h["log"]["entries"] = out
    return h, False


def m_dup_far(h, rng):
    es = entries(h)
    extra = [copy.deepcopy(e) for e in es if rng.random() < 0.3]
    h["log"]["entries"] = es + extra
    return h, False


def m_drop_preflights(h, rng):
    h["log"]["entries"] = [e for e in entries(h) if not is_options(e)]
    return h, True


def m_drop_after_preflight(h, rng):
    """Keep each preflight, drop the entry of its request (the next entry with its URL)."""
    es = entries(h)
    drop = set()
    for i, e in enumerate(es):
        if is_options(e):
            for j in range(i + 1, len(es)):
                if es[j]["request"]["url"] == e["request"]["url"] and not is_options(es[j]):
                    drop.add(j)
                    break
    h["log"]["entries"] = [e for i, e in enumerate(es) if i not in drop]
    return h, True


def m_drop_random(h, rng):
    h["log"]["entries"] = [e for e in entries(h) if rng.random() >= 0.15]
    return h, True


def m_status0(h, rng):
    """A random tenth of the entries failed at the network level (status 0, _error, no headers)."""
    for e in entries(h):
        if rng.random() < 0.1:
            r = e["response"]
            r["status"] = 0
            r["statusText"] = ""
            r["headers"] = []
            r["_error"] = "net::ERR_CONNECTION_RESET"
    return h, True


def m_error_field(h, rng):
    """`_error` added to entries that otherwise look answered (status and headers kept). An
    entry with its own `_error` keeps it: Chromium reports a CORS failure as ERR_FAILED, never
    ERR_ABORTED, which corscope reads as a request that got past its preflight, so overwriting
    a recorded ERR_FAILED made a flow no browser records. Nor does an entry without an answer
    (status 0 or -1) or with Playwright's own `_failureText` get one: no exporter writes two
    failure texts (seeds 4-5 gave one entry `_failureText: net::ERR_FAILED` and `_error:
    net::ERR_ABORTED`)."""
    for e in entries(h):
        r = e["response"]
        if "_error" in r or "_failureText" in r or r.get("status", 0) <= 0:
            continue
        if rng.random() < 0.1:
            e["response"]["_error"] = "net::ERR_ABORTED"
    return h, True


def _case(h, f):
    for e in entries(h):
        for side in ("request", "response"):
            for hd in e[side].get("headers", []):
                hd["name"] = f(hd["name"])
    return h, False


def m_lower_headers(h, rng):
    return _case(h, str.lower)


def m_upper_headers(h, rng):
    return _case(h, str.upper)


def m_proxy_headers(h, rng):
    for e in entries(h):
        e["request"].setdefault("headers", []).extend([
            {"name": "Via", "value": "1.1 squid"},
            {"name": "X-Forwarded-For", "value": "10.0.0.7"}])
        e["response"].setdefault("headers", []).extend([
            {"name": "Via", "value": "1.1 squid"},
            {"name": "X-Cache", "value": "MISS from squid"}])
    return h, False


def _shift_tz(s, hours):
    # 2026-11-24T19:46:39.964Z -> the same instant written with another offset
    import datetime
    m = re.match(r"^(.*?)(Z|[+-]\d\d:\d\d)$", s)
    if not m:
        return s
    t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    tz = datetime.timezone(datetime.timedelta(hours=hours))
    return t.astimezone(tz).isoformat(timespec="milliseconds")


def m_timezone(h, rng):
    for k, e in enumerate(entries(h)):
        e["startedDateTime"] = _shift_tz(e["startedDateTime"], [5.5, -8, 2][k % 3])
    for p in h["log"].get("pages", []):
        if "startedDateTime" in p:
            p["startedDateTime"] = _shift_tz(p["startedDateTime"], -8)
    return h, False


def m_no_pages(h, rng):
    h["log"].pop("pages", None)
    for e in entries(h):
        e.pop("pageref", None)
    return h, False


def m_shuffle(h, rng):
    rng.shuffle(h["log"]["entries"])
    return h, False


SECRET_HEADERS = {"cookie", "set-cookie", "authorization", "proxy-authorization"}


def m_sanitized(h, rng):
    """What HAR sanitizers (Google's har-sanitizer, the DevTools "export sanitized HAR") do:
    Cookie, Set-Cookie and Authorization values and the cookies arrays removed."""
    for e in entries(h):
        for side in ("request", "response"):
            e[side]["headers"] = [x for x in e[side].get("headers", [])
                                  if x["name"].lower() not in SECRET_HEADERS]
            e[side]["cookies"] = []
    return h, True


def m_sanitized_redacted(h, rng):
    """Sanitized by redacting values instead of removing the headers."""
    for e in entries(h):
        for side in ("request", "response"):
            for x in e[side].get("headers", []):
                if x["name"].lower() in SECRET_HEADERS:
                    x["value"] = "[REDACTED]"
            for c in e[side].get("cookies", []):
                c["value"] = "[REDACTED]"
    return h, True


def m_no_request_headers(h, rng):
    """A tenth of the entries list no request headers (provisional headers not exported)."""
    for e in entries(h):
        if rng.random() < 0.1:
            e["request"]["headers"] = []
    return h, True


def m_no_time(h, rng):
    """A twentieth of the entries without `startedDateTime` (a hand-edited or converted HAR)."""
    for e in entries(h):
        if rng.random() < 0.05:
            e.pop("startedDateTime", None)
    return h, True


def m_as_proxy(h, rng):
    """The same traffic as a recording proxy lists it (tools/proxy_har.py): no failure text,
    no `_`-fields, no entry for a request the browser never sent."""
    return proxy_har.rewrite(h, "proxy"), True


def m_stripped(h, rng):
    """The DevTools export with every `_`-field removed, creator kept (tools/proxy_har.py)."""
    return proxy_har.rewrite(h, "stripped"), True


def m_as_firefox(h, rng):
    """An export naming Firefox that marks no failure (tools/proxy_har.py)."""
    return proxy_har.rewrite(h, "firefox"), True


HAR_MUTATIONS = {
    "as-proxy": m_as_proxy, "as-firefox": m_as_firefox, "stripped": m_stripped,
    "no-time": m_no_time,
    "sanitized": m_sanitized, "sanitized-redacted": m_sanitized_redacted,
    "no-request-headers": m_no_request_headers,
    "dup-adjacent": m_dup_adjacent, "dup-far": m_dup_far, "drop-preflights": m_drop_preflights,
    "drop-after-preflight": m_drop_after_preflight, "drop-random": m_drop_random,
    "status0": m_status0, "error-field": m_error_field, "lower-headers": m_lower_headers,
    "upper-headers": m_upper_headers, "proxy-headers": m_proxy_headers,
    "timezone": m_timezone, "no-pages": m_no_pages, "shuffle": m_shuffle,
}


def har_truncations(raw, rng, n):
    """Cuts of the raw text mid-entry (inside the entries array)."""
    start = raw.find(b'"entries"')
    out = []
    for _ in range(n):
        at = rng.randrange(start + 20, len(raw) - 10)
        out.append(raw[:at])
    return out


# ---------------------------------------------------------------- capture mutations

class Cap:
    """A pcap or pcapng as a list of items: packets (ts in µs, data, orig_len) and other blocks."""

    def __init__(self, path):
        d = open(path, "rb").read()
        self.ng = d[:4] == b"\x0a\x0d\x0d\x0a"
        self.items = []  # ("pkt", ts_us, data, orig_len, ifid) | ("blk", raw)
        if not self.ng:
            magic = struct.unpack("<I", d[:4])[0]
            assert magic == 0xA1B2C3D4, "little-endian µs pcap only"
            self.head = d[:24]
            self.link = struct.unpack("<I", d[20:24])[0]
            o = 24
            while o + 16 <= len(d):
                s, u, il, ol = struct.unpack("<IIII", d[o:o + 16])
                self.items.append(["pkt", s * 1_000_000 + u, d[o + 16:o + 16 + il], ol, 0])
                o += 16 + il
        else:
            o = 0
            self.link = None
            while o + 12 <= len(d):
                bt, bl = struct.unpack("<II", d[o:o + 8])
                raw = d[o:o + bl]
                if bt == 6:
                    ifid, hi, lo, cl, ol = struct.unpack("<IIIII", raw[8:28])
                    ts = (hi << 32) | lo  # default µs resolution assumed
                    self.items.append(["pkt", ts, raw[28:28 + cl], ol, ifid])
                else:
                    if bt == 1 and self.link is None:
                        self.link = struct.unpack("<H", raw[8:10])[0]
                    self.items.append(["blk", raw])
                o += bl

    def pkts(self):
        return [i for i, it in enumerate(self.items) if it[0] == "pkt"]

    def write(self, path, ng=None, link=None):
        ng = self.ng if ng is None else ng
        link = self.link if link is None else link
        out = bytearray()
        if not ng:
            head = bytearray(self.head if not self.ng else struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
            head[20:24] = struct.pack("<I", link)
            out += head
            for it in self.items:
                if it[0] == "join":  # another file joined on with `cat`: its own header
                    out += head
                    continue
                if it[0] != "pkt":
                    continue
                _, ts, data, ol, _ = it
                out += struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(data), ol) + data
        else:
            if not self.ng:
                shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
                idb = struct.pack("<IIHHI", 1, 20, link, 0, 262144) + struct.pack("<I", 20)
                out += shb + idb
                prelude = shb + idb
            else:  # the blocks before the first packet: section header, interfaces, secrets
                first = next((i for i, it in enumerate(self.items) if it[0] == "pkt"), len(self.items))
                prelude = b"".join(it[1] for it in self.items[:first] if it[0] == "blk")
            for it in self.items:
                if it[0] == "join":  # another file joined on with `cat`: its own section
                    out += prelude
                    continue
                if it[0] == "blk":
                    out += it[1]
                    continue
                _, ts, data, ol, ifid = it
                pad = (-len(data)) % 4
                bl = 32 + len(data) + pad
                out += struct.pack("<IIIIIII", 6, bl, ifid, ts >> 32, ts & 0xFFFFFFFF, len(data), ol)
                out += data + b"\0" * pad + struct.pack("<I", bl)
        with open(path, "wb") as f:
            f.write(out)


def tcp_payload_len(data, link=1):
    if link != 1 or len(data) < 34:
        return 0
    et = struct.unpack(">H", data[12:14])[0]
    if et == 0x0800:
        ihl = (data[14] & 15) * 4
        tot = struct.unpack(">H", data[16:18])[0]
        if data[23] != 6:
            return 0
        doff = (data[14 + ihl + 12] >> 4) * 4
        return tot - ihl - doff
    if et == 0x86DD:
        pl = struct.unpack(">H", data[18:20])[0]
        if data[20] != 6:
            return 0
        doff = (data[54 + 12] >> 4) * 4
        return pl - doff
    return 0


def c_dup_retrans(c, rng):
    """Data packets re-sent 1-5 packets later (a retransmission the capture saw both of)."""
    idx = c.pkts()
    its = c.items
    inserts = []
    for k, i in enumerate(idx):
        if tcp_payload_len(its[i][2], c.link) > 0 and rng.random() < 0.2:
            later = idx[min(len(idx) - 1, k + rng.randint(1, 5))]
            inserts.append((later, copy.copy(its[i])))
    for later, it in sorted(inserts, key=lambda x: -x[0]):
        it[1] = its[later][1]  # the copy arrives when its neighbour did
        its.insert(later + 1, it)
    return False


def c_dup_adjacent(c, rng):
    its = []
    for it in c.items:
        its.append(it)
        if it[0] == "pkt" and rng.random() < 0.3:
            its.append(list(it))
    c.items = its
    return False


def _swap_window(c, rng, keep_ts):
    idx = c.pkts()
    k = 0
    while k < len(idx) - 1:
        if rng.random() < 0.2:
            j = min(len(idx) - 1, k + rng.randint(1, 3))
            a, b = c.items[idx[k]], c.items[idx[j]]
            if keep_ts:  # the file's times stay in order: the packets arrived swapped
                a[1], b[1] = b[1], a[1]
            c.items[idx[k]], c.items[idx[j]] = b, a
            k = j + 1
        else:
            k += 1


def c_reorder_arrival(c, rng):
    _swap_window(c, rng, True)
    return False


def c_reorder_file(c, rng):
    _swap_window(c, rng, False)
    return False


def c_drop_data(c, rng):
    """A lost data segment here and there (the capture missed it; TCP recovered unseen)."""
    c.items = [it for it in c.items if not (it[0] == "pkt" and tcp_payload_len(it[2], c.link) > 0
                                             and rng.random() < 0.05)]
    return True


def c_drop_any(c, rng):
    c.items = [it for it in c.items if not (it[0] == "pkt" and rng.random() < 0.05)]
    return True


def c_late_start(c, rng):
    """The capture started late (tcpdump begun while the page was already running): every
    packet before a point 5-40 % into the capture is missing, connections then open are picked
    up mid-stream, and requests whose preflight came before the point are seen alone."""
    pk = [i for i, it in enumerate(c.items) if it[0] == "pkt"]
    if len(pk) < 20:
        return True
    cut = pk[int(len(pk) * rng.uniform(0.05, 0.40))]
    c.items = [it for i, it in enumerate(c.items) if it[0] != "pkt" or i >= cut]
    return True


def c_early_end(c, rng):
    """The capture stopped early, at a packet boundary (a file rotated by size, `tcpdump -c`,
    Ctrl-C): every packet after a point 60-95 % into the capture is missing, so a preflight
    answered just before it may have had its request just after it."""
    pk = [i for i, it in enumerate(c.items) if it[0] == "pkt"]
    if len(pk) < 20:
        return True
    cut = pk[int(len(pk) * rng.uniform(0.60, 0.95))]
    c.items = [it for i, it in enumerate(c.items) if it[0] != "pkt" or i < cut]
    return True


def c_snaplen(c, rng):
    for it in c.items:
        if it[0] == "pkt" and len(it[2]) > 200:
            it[2] = it[2][:200]
    return True


def c_shift_ts(c, rng):
    for it in c.items:
        if it[0] == "pkt":
            it[1] += 400 * 86400 * 1_000_000 + 123456
    return False


def c_pcapng(c, rng):
    c.out_ng = True
    return False


def c_cat_split(c, rng):
    """The capture cut in two files at a random packet and joined again with `cat`: the second
    file's header (pcap) or section (pcapng) where a record would be; lossless."""
    pkts = [i for i, it in enumerate(c.items) if it[0] == "pkt"]
    at = pkts[rng.randrange(len(pkts) // 5, len(pkts) * 4 // 5)]
    c.items.insert(at, ("join",))
    return False


def c_vlan(c, rng):
    for it in c.items:
        if it[0] == "pkt":
            d = it[2]
            it[2] = d[:12] + b"\x81\x00\x00\x64" + d[12:]
            it[3] += 4
    return False


def c_ipv6(c, rng):
    """Every IPv4 packet as IPv6 (addresses fd00::a.b.c.d; the TCP checksum left as it was):
    dual-stack hosts and localhost `::1` captures carry the same traffic over IPv6."""
    if c.link != 1:
        return False
    for it in c.items:
        d = it[2] if it[0] == "pkt" else b""
        if len(d) < 34 or struct.unpack(">H", d[12:14])[0] != 0x0800:
            continue
        ihl = (d[14] & 15) * 4
        tot = struct.unpack(">H", d[16:18])[0]
        body = d[14 + ihl:14 + tot]
        addr = lambda a: b"\xfd" + b"\0" * 11 + a
        ip6 = struct.pack(">IHBB", 6 << 28, len(body), d[23], d[22]) + addr(d[26:30]) + addr(d[30:34])
        it[2] = d[:12] + b"\x86\xdd" + ip6 + body
        it[3] = len(it[2]) + max(0, it[3] - len(d))
    return False


def c_sll(c, rng):
    """Linux cooked capture v1 (tcpdump -i any): 16-byte SLL head instead of Ethernet."""
    for it in c.items:
        if it[0] == "pkt":
            d = it[2]
            sll = struct.pack(">HHH", 0, 772, 6) + d[6:12] + b"\0\0" + d[12:14]
            it[2] = sll + d[14:]
            it[3] += 2
        elif it[1][:4] == b"\x01\0\0\0":  # pcapng interface block: its link type
            it[1] = it[1][:8] + struct.pack("<H", 113) + it[1][10:]
    c.out_link = 113
    return False


def c_merge_shifted(c, rng):
    """The capture merged (by time) with a copy of itself whose client moved to 127.0.0.2,
    shifted by 0.25 s so the two interleave."""
    extra = []
    for it in c.items:
        if it[0] != "pkt" or c.link != 1:
            continue
        d = bytearray(it[2])
        if struct.unpack(">H", d[12:14])[0] == 0x0800:
            # move the client: whichever side is not a server port
            ihl = (d[14] & 15) * 4
            sp, dp = struct.unpack(">HH", d[14 + ihl:14 + ihl + 4])
            off = 26 if sp > dp else 30  # the higher port is the client's (ephemeral)
            d[off:off + 4] = bytes([127, 0, 0, 2])
            # IP checksum: recompute
            d[24:26] = b"\0\0"
            s = sum(struct.unpack(">10H", bytes(d[14:34])))
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            d[24:26] = struct.pack(">H", ~s & 0xFFFF)
        extra.append(["pkt", it[1] + 250_000, bytes(d), it[3], it[4]])
    pk = [it for it in c.items if it[0] == "pkt"] + extra
    pk.sort(key=lambda it: it[1])
    c.items = [it for it in c.items if it[0] == "blk"] + pk
    return False


def _ip_checksum(d):
    d[24:26] = b"\0\0"
    s = sum(struct.unpack(">10H", bytes(d[14:34])))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    d[24:26] = struct.pack(">H", ~s & 0xFFFF)


def c_resegment(c, rng):
    """Every data segment sent as two (another MSS, TSO off): the same bytes, more packets.
    The TCP checksum is left as it was (captures on loopback and with offload carry wrong ones
    anyway)."""
    out = []
    for it in c.items:
        if it[0] != "pkt" or c.link != 1 or tcp_payload_len(it[2], c.link) < 2:
            out.append(it)
            continue
        d = it[2]
        if struct.unpack(">H", d[12:14])[0] != 0x0800 or len(d) < 14 + struct.unpack(">H", d[16:18])[0]:
            out.append(it)
            continue
        ihl = (d[14] & 15) * 4
        doff = (d[14 + ihl + 12] >> 4) * 4
        head, payload = d[:14 + ihl + doff], d[14 + ihl + doff:14 + struct.unpack(">H", d[16:18])[0]]
        cut = rng.randint(1, len(payload) - 1)
        seq = struct.unpack(">I", head[14 + ihl + 4:14 + ihl + 8])[0]
        for k, (part, sq) in enumerate(((payload[:cut], seq), (payload[cut:], (seq + cut) & 0xFFFFFFFF))):
            p = bytearray(head) + part
            p[16:18] = struct.pack(">H", ihl + doff + len(part))
            p[14 + ihl + 4:14 + ihl + 8] = struct.pack(">I", sq)
            if k == 0:
                p[14 + ihl + 13] &= ~0x09 & 0xFF  # FIN and PSH only on the second half
            _ip_checksum(p)
            out.append(["pkt", it[1] + k, bytes(p), len(p), it[4]])
    c.items = out
    return False


def c_coalesce(c, rng):
    """Consecutive data segments of one side of a connection, in sequence and with only bare
    ACKs between them in the capture, as one (a capture on the sending host with TSO/GRO:
    segments far over the MTU)."""
    if c.link != 1:
        return False
    out = []
    last = {}  # (src, sport, dst, dport) -> index in out of that side's last data segment
    for it in c.items:
        t = _tcp4(it[2], c.link) if it[0] == "pkt" else None
        if t is None or not t[9]:
            out.append(it)
            continue
        side = (t[2], t[3], t[4], t[5])
        j = last.get(side)
        pt = _tcp4(out[j][2], c.link) if j is not None else None
        between = out[j + 1:] if j is not None else []
        if (pt and t[6] == (pt[6] + len(pt[9])) & 0xFFFFFFFF and not (pt[8] & 0x05)
                and len(pt[9]) + len(t[9]) < 60000
                and all(b[0] == "pkt" and (_tcp4(b[2], c.link) or (0,) * 10)[9] == b"" for b in between)):
            ihl, doff = pt[0], pt[1]
            d = bytearray(out[j][2][:14 + ihl + doff]) + pt[9] + t[9]
            d[16:18] = struct.pack(">H", ihl + doff + len(pt[9]) + len(t[9]))
            d[14 + ihl + 13] = pt[8] | (t[8] & 0x09)  # the later one's PSH and FIN
            _ip_checksum(d)
            out[j] = ["pkt", out[j][1], bytes(d), len(d), out[j][4]]
            continue
        last[side] = len(out)
        out.append(it)
    c.items = out
    return False


def c_eth_trailer(c, rng):
    """Every frame padded to Ethernet's 60-byte minimum and given 4 FCS bytes after the IP
    packet (NICs that capture the FCS; short frames padded): the IP length says where the
    packet ends."""
    for it in c.items:
        if it[0] == "pkt" and c.link == 1:
            d = it[2] + b"\0" * max(0, 60 - len(it[2]))
            it[2] = d + bytes(rng.randrange(256) for _ in range(4))
            it[3] = len(it[2])
    return False


# ------------------------------------------ behind a proxy: the requests' heads rewritten

HTTP_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"HEAD ", b"PATCH ", b"PURGE ")


def _tcp4(d, link):
    """(ihl, doff, src ip, sport, dst ip, dport, seq, ack, flags, payload) of an Ethernet IPv4
    TCP frame, else None."""
    if link != 1 or len(d) < 54 or struct.unpack(">H", d[12:14])[0] != 0x0800 or d[23] != 6:
        return None
    ihl = (d[14] & 15) * 4
    t = 14 + ihl
    sp, dp, seq, ack = struct.unpack(">HHII", d[t:t + 12])
    doff = (d[t + 12] >> 4) * 4
    tot = struct.unpack(">H", d[16:18])[0]
    return ihl, doff, bytes(d[26:30]), sp, bytes(d[30:34]), dp, seq, ack, d[t + 13], d[t + doff:14 + tot]


def _rewrite_requests(c, fn):
    """Each client-to-server segment that holds a whole HTTP/1.x request head is given the head
    `fn(head, conn_no)` returns (None: unchanged); sequence and acknowledgement numbers after it
    move by the change, in both directions, so the streams stay whole (a retransmitted copy is
    rewritten alike). The TCP checksum is left as it was (loopback captures carry wrong ones)."""
    ins = {}    # (src, sp, dst, dp) -> {orig seq of a rewritten segment: length change}
    new = {}    # item index -> new payload
    conns = {}  # (src, sp, dst, dp) -> connection number, in order of first request
    for i, it in enumerate(c.items):
        if it[0] != "pkt":
            continue
        t = _tcp4(it[2], c.link)
        if not t or not t[9].startswith(HTTP_METHODS) or b"\r\n\r\n" not in t[9]:
            continue
        key = t[2:6]
        k = conns.setdefault(key, len(conns))
        head, rest = t[9].split(b"\r\n\r\n", 1)
        h = fn(head, k)
        if h is None:
            continue
        new[i] = h + b"\r\n\r\n" + rest
        ins.setdefault(key, {})[t[6]] = len(new[i]) - len(t[9])

    def moved(key, x):
        return (x + sum(dl for s, dl in ins.get(key, {}).items() if (x - s) & 0xFFFFFFFF < 0x80000000 and x != s)) & 0xFFFFFFFF

    for i, it in enumerate(c.items):
        if it[0] != "pkt":
            continue
        t = _tcp4(it[2], c.link)
        if not t:
            continue
        ihl, doff, src, sp, dst, dp, seq, ack, flags, payload = t
        key, rev = (src, sp, dst, dp), (dst, dp, src, sp)
        if key not in ins and rev not in ins:
            continue
        d = bytearray(it[2][:14 + ihl + doff]) + new.get(i, payload)
        o = 14 + ihl
        d[o + 4:o + 8] = struct.pack(">I", moved(key, seq))
        if flags & 0x10:
            d[o + 8:o + 12] = struct.pack(">I", moved(rev, ack))
        d[16:18] = struct.pack(">H", len(d) - 14)
        _ip_checksum(d)
        it[2] = bytes(d)
        it[3] = len(d)


def _headers(head):
    lines = head.split(b"\r\n")
    return lines[0], [ln.split(b":", 1) for ln in lines[1:] if b":" in ln]


def _join(start, hs):
    return b"\r\n".join([start] + [n + b":" + v for n, v in hs])


def _get(hs, name):
    return next((v.strip() for n, v in hs if n.lower() == name), None)


def c_px_via(c, rng):
    """A second proxy on the way (a load balancer before the TLS terminator): `Via`,
    `X-Forwarded-Host`/`-Port`, a request id, and the balancer's address appended to
    `X-Forwarded-For`."""
    def f(head, k):
        start, hs = _headers(head)
        host = _get(hs, b"host") or b""
        hs = [(n, v + b", 10.20.0.3") if n.lower() == b"x-forwarded-for" else (n, v) for n, v in hs]
        hs += [(b"Via", b" 1.1 lb-7 (envoy)"), (b"X-Forwarded-Host", b" " + host),
               (b"X-Forwarded-Port", b" 443"), (b"X-Request-Id", b" %08x" % rng.getrandbits(32))]
        return _join(start, hs)
    _rewrite_requests(c, f)
    return False


def c_px_host_xfh(c, rng):
    """The proxy rewrote `Host` to the backend's name and kept the browser's in
    `X-Forwarded-Host` (nginx `proxy_set_header Host $proxy_host`, the usual balancer)."""
    def f(head, k):
        start, hs = _headers(head)
        host = _get(hs, b"host")
        if host is None:
            return None
        hs = [(n, b" backend-%d.internal:9000" % (k % 3)) if n.lower() == b"host" else (n, v) for n, v in hs]
        return _join(start, hs + [(b"X-Forwarded-Host", b" " + host)])
    _rewrite_requests(c, f)
    return False


def c_px_host_lost(c, rng):
    """`Host` rewritten to the backend's name and the browser's host name nowhere: the URL's
    origin is no longer in the capture (lossy: what needs it must become unknown)."""
    def f(head, k):
        start, hs = _headers(head)
        return _join(start, [(n, b" backend-%d.internal:9000" % (k % 3)) if n.lower() == b"host" else (n, v)
                             for n, v in hs])
    _rewrite_requests(c, f)
    return True


def c_px_forwarded(c, rng):
    """RFC 7239 `Forwarded` instead of `X-Forwarded-For` / `-Proto` (HAProxy `option
    forwarded`, Envoy)."""
    def f(head, k):
        start, hs = _headers(head)
        xff, proto, host = _get(hs, b"x-forwarded-for"), _get(hs, b"x-forwarded-proto"), _get(hs, b"host")
        if xff is None:
            return None
        hs = [(n, v) for n, v in hs if n.lower() not in (b"x-forwarded-for", b"x-forwarded-proto")]
        fwd = b' for="%s";proto=%s;host="%s"' % (xff, proto or b"http", host or b"")
        return _join(start, hs + [(b"Forwarded", fwd)])
    _rewrite_requests(c, f)
    return False


def c_px_clients(c, rng):
    """One keep-alive pool carrying several browsers: each scenario's route is given one of
    three client addresses in `X-Forwarded-For`, so consecutive requests on one backend
    connection come from different clients."""
    def f(head, k):
        start, hs = _headers(head)
        m = ROUTE.search(start.decode("latin-1"))
        if not m or _get(hs, b"x-forwarded-for") is None:
            return None
        ip = b" 198.51.100.%d" % (1 + sum(m.group(1).encode()) % 3)
        return _join(start, [(n, ip) if n.lower() == b"x-forwarded-for" else (n, v) for n, v in hs])
    _rewrite_requests(c, f)
    return False


def c_px_backends(c, rng):
    """Several backends behind the balancer: each backend connection's server moved to one of
    three addresses (a scenario's preflight and request may reach different ones)."""
    conns = {}
    for it in c.items:
        t = it[0] == "pkt" and _tcp4(it[2], c.link)
        if not t:
            continue
        src, sp, dst, dp = t[2:6]
        client_side = sp > dp
        key = (src, sp, dst, dp) if client_side else (dst, dp, src, sp)
        k = conns.setdefault(key, len(conns))
        d = bytearray(it[2])
        off = 30 if client_side else 26  # the server's address
        d[off:off + 4] = bytes([10, 30, 0, 1 + k % 3])
        _ip_checksum(d)
        it[2] = bytes(d)
    return False


PROXY_MUTATIONS = {
    "px-via": c_px_via, "px-host-xfh": c_px_host_xfh, "px-host-lost": c_px_host_lost,
    "px-forwarded": c_px_forwarded, "px-clients": c_px_clients, "px-backends": c_px_backends,
}


# ------------------------------------------------- key logs as they arrive in the field

def kl_sessions(lines):
    """The key log's lines grouped by ClientHello random, in first-seen order."""
    out = {}
    for ln in lines:
        f = ln.split()
        if len(f) == 3 and not ln.startswith("#"):
            out.setdefault(f[1], []).append(ln)
    return out


def kl_drop_sessions(lines, rng, others):
    """A third of the sessions missing (the browser restarted without the variable, a second
    profile, a rotated log file)."""
    drop = {r for r in kl_sessions(lines) if rng.random() < 0.33}
    return [ln for ln in lines if len(ln.split()) != 3 or ln.split()[1] not in drop], True


def kl_drop_lines(lines, rng, others):
    """A random fifth of the lines missing: sessions with only some of their secrets (one
    direction, or the handshake without the traffic secrets)."""
    return [ln for ln in lines if rng.random() >= 0.2], True


def kl_shuffle(lines, rng, others):
    lines = list(lines)
    rng.shuffle(lines)
    return lines, False


def kl_comments(lines, rng, others):
    """Comments, blank lines, labels we do not use, stray spaces and a broken line between the
    secrets (hand-merged logs, other TLS libraries)."""
    out = ["# SSL/TLS secrets log file, generated by NSS", ""]
    for ln in lines:
        out.append(ln + (" " if rng.random() < 0.1 else ""))
        r = rng.random()
        if r < 0.1:
            out.append("# " + ln[:40])
        elif r < 0.2:
            out.append("EXPORTER_SECRET %064x %096x" % (rng.getrandbits(256), rng.getrandbits(384)))
        elif r < 0.25:
            out.append("CLIENT_RANDOM nothex zz")
    return out, False


def kl_foreign(lines, rng, others):
    """The secrets of other captures (other browsers, other runs) mixed in."""
    out = list(lines)
    for ln in others:
        out.insert(rng.randrange(len(out) + 1), ln)
    return out, False


def kl_crlf(lines, rng, others):
    """Windows line ends (a key log copied through a Windows machine)."""
    return [ln + "\r" for ln in lines], False


def kl_other(lines, rng, others):
    """The wrong key log: another capture's secrets only (nothing here decrypts)."""
    return list(others), True


KEYLOG_MUTATIONS = {
    "kl-drop-sessions": kl_drop_sessions, "kl-drop-lines": kl_drop_lines, "kl-shuffle": kl_shuffle,
    "kl-crlf": kl_crlf, "kl-comments": kl_comments, "kl-foreign": kl_foreign, "kl-other": kl_other,
}
# With the secrets embedded (pcapng DSB) a key log is also given: part of the same secrets,
# someone else's, or both.
DSB_KEYLOG_MUTATIONS = ("kl-drop-sessions", "kl-drop-lines", "kl-foreign", "kl-other")
KEYLOGS = ("tls-dev/keylog.txt", "tls-dev/keylog-firefox.txt", "tls-dev/keylog-webkit.txt",
           "tls12-dev/keylog.txt")


def dsb_keylog(c):
    """The key log lines of a pcapng's Decryption Secrets Blocks."""
    out = []
    for it in c.items:
        if it[0] == "blk" and struct.unpack("<I", it[1][:4])[0] == 10:
            n = struct.unpack("<I", it[1][12:16])[0]
            out += it[1][16:16 + n].decode("latin-1").splitlines()
    return out


def c_dsb_drop_sessions(c, rng):
    """The embedded secrets missing a third of the sessions (`editcap --inject-secrets` given a
    partial key log)."""
    lines, _ = kl_drop_sessions(dsb_keylog(c), rng, [])
    body = ("\n".join(lines) + "\n").encode()
    pad = (-len(body)) % 4
    bl = 20 + len(body) + pad
    blk = struct.pack("<IIII", 10, bl, 0x544C534B, len(body)) + body + b"\0" * pad + struct.pack("<I", bl)
    c.items = [blk_ if not (blk_[0] == "blk" and struct.unpack("<I", blk_[1][:4])[0] == 10) else ["blk", blk]
               for blk_ in c.items]
    return True


def _tls_conns(c):
    """The TLS connections of an Ethernet IPv4 capture: {connection: [(item index, from the
    client, payload)]} in capture order, the client being the side that sent the SYN."""
    conns, client = {}, {}
    for i, it in enumerate(c.items):
        t = _tcp4(it[2], c.link) if it[0] == "pkt" else None
        if t is None:
            continue
        _, _, src, sp, dst, dp, _, _, fl, pl = t
        k = tuple(sorted([(src, sp), (dst, dp)]))
        if fl & 0x12 == 0x02:
            client[k] = (src, sp)
        conns.setdefault(k, []).append((i, client.get(k) == (src, sp), pl))
    return {k: v for k, v in conns.items() if any(p[:2] == b"\x16\x03" for _, _, p in v)}


def c_h2_cut(c, rng):
    """Inside a third of the TLS connections (HTTP/2 or HTTP/1.1 in them), one server data
    segment after the handshake is not in the capture: decoding stops there, and what the
    client sends after it is never read."""
    drop = set()
    for pkts in _tls_conns(c).values():
        later = [i for i, cl, p in pkts if not cl and p[:1] == b"\x17"][2:]
        if later and rng.random() < 0.33:
            drop.add(rng.choice(later))
    c.items = [it for i, it in enumerate(c.items) if i not in drop]
    return True


def _tls_late_starts(c, rng):
    """A third of the TLS connections (never the first), each with where its capture now
    starts: its fifth to ninth data packet (as for connections opened before the capture
    started). [(the connection's packets, index of that packet)]."""
    out = []
    for pkts in list(_tls_conns(c).values())[1:]:
        data = [i for i, _, p in pkts if p]
        if len(data) > 9 and rng.random() < 0.33:
            out.append((pkts, data[rng.randint(4, 8)]))
    return out


def c_tls_no_handshake(c, rng):
    """A third of the TLS connections (never the first) without their first packets, up to
    their fifth to ninth data packet (`_tls_late_starts`): their handshake is not in the
    capture, so nothing on them is decrypted."""
    drop = {i for pkts, cut in _tls_late_starts(c, rng) for i, _, _ in pkts if i < cut}
    c.items = [it for i, it in enumerate(c.items) if i not in drop]
    return True


def c_tls_mid_record(c, rng):
    """As `tls-no-handshake`, and each side's first data segment left then starts inside a
    TLS record (its first 5 bytes, a record header, cut off; the sequence number moves on by
    as much), as when a record spanned two segments and the capture began with the second."""
    drop, trim = set(), set()
    for pkts, cut in _tls_late_starts(c, rng):
        drop.update(i for i, _, _ in pkts if i < cut)
        for side in (True, False):
            first = next((i for i, cl, p in pkts if i >= cut and cl == side and len(p) > 5), None)
            if first is not None:
                trim.add(first)
    out = []
    for i, it in enumerate(c.items):
        if i in drop:
            continue
        if i in trim:
            d = bytearray(it[2])
            ihl = (d[14] & 15) * 4
            doff = (d[14 + ihl + 12] >> 4) * 4
            tot = struct.unpack(">H", d[16:18])[0]
            start = 14 + ihl + doff
            d = d[:start] + d[start + 5:14 + tot]
            seq = (struct.unpack(">I", d[14 + ihl + 4:14 + ihl + 8])[0] + 5) & 0xFFFFFFFF
            d[14 + ihl + 4:14 + ihl + 8] = struct.pack(">I", seq)
            d[16:18] = struct.pack(">H", tot - 5)
            _ip_checksum(d)
            it = ["pkt", it[1], bytes(d), len(d), it[4]]
        out.append(it)
    c.items = out
    return True


CAP_MUTATIONS = {
    "eth-trailer": c_eth_trailer,
    "resegment": c_resegment, "coalesce": c_coalesce,
    "dup-retrans": c_dup_retrans, "dup-adjacent": c_dup_adjacent,
    "reorder-arrival": c_reorder_arrival, "reorder-file": c_reorder_file,
    "drop-data": c_drop_data, "drop-any": c_drop_any, "late-start": c_late_start,
    "early-end": c_early_end,
    "snaplen200": c_snaplen,
    "shift-ts": c_shift_ts, "to-pcapng": c_pcapng, "vlan": c_vlan, "sll": c_sll, "ipv6": c_ipv6,
    "merge-shifted": c_merge_shifted, "cat-split": c_cat_split,
    "dsb-drop-sessions": c_dsb_drop_sessions,
}

# Captures whose TLS is decrypted (`--keylog`, or embedded secrets).
TLS_MUTATIONS = {
    "h2-cut": c_h2_cut,
    "tls-no-handshake": c_tls_no_handshake,
    "tls-mid-record": c_tls_mid_record,
}


# Two faults at once (`--combos`): what a messy real input does, in the order it happens (the
# capture loses or reorders packets, then the file is rewritten). Joined by `&`, applied left to
# right with one random stream.
HAR_COMBOS = (
    "shuffle&dup-far", "drop-random&shuffle", "dup-adjacent&drop-preflights", "no-time&shuffle",
    "status0&shuffle", "as-firefox&drop-random", "stripped&dup-far", "sanitized&no-time",
    "error-field&dup-adjacent", "timezone&shuffle", "drop-after-preflight&dup-far",
    "as-proxy&shuffle", "no-request-headers&drop-random",
    # Round 32.
    "dup-adjacent&shuffle", "drop-preflights&shuffle", "no-pages&drop-random",
    "status0&drop-after-preflight", "proxy-headers&dup-far", "timezone&no-time",
)
CAP_COMBOS = (
    "drop-any&reorder-arrival", "drop-data&dup-retrans", "resegment&reorder-arrival",
    "resegment&drop-any", "coalesce&drop-data", "dup-adjacent&drop-any",
    "late-start&reorder-arrival", "dup-retrans&reorder-file", "drop-data&resegment&dup-retrans",
    "coalesce&reorder-arrival", "late-start&drop-data", "drop-any&to-pcapng",
    # Round 32.
    "cat-split&reorder-arrival", "dup-adjacent&reorder-arrival", "late-start&resegment",
    "snaplen200&drop-data",
)
# Behind the proxy (backend captures): the balancer's rewrites with the capture's faults.
PROXY_COMBOS = ("px-clients&drop-any", "px-backends&reorder-arrival", "px-host-lost&dup-retrans")
# Decrypted TLS (a key log or embedded secrets): handshakes not captured, segments lost.
TLS_COMBOS = ("tls-no-handshake&drop-any", "h2-cut&reorder-arrival", "tls-mid-record&dup-retrans")


def cap_truncations(path, rng, n):
    d = open(path, "rb").read()
    return [d[:rng.randrange(100, len(d) - 1)] for _ in range(n)]


# ---------------------------------------------------------------- scoring

CORPUS = None  # set from --corpus: the scorer reads SET/truth*.json there


def score(bin_, set_, path, browser, extra):
    cmd = ["python3", SCORE, set_, path, "-v", "--bin", bin_]
    if CORPUS:
        cmd += ["--corpus", CORPUS]
    if browser != "chromium":
        cmd += ["--browser", browser]
    if extra:
        cmd += ["--extra", extra]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
    except subprocess.TimeoutExpired:
        return None, {}, "TIMEOUT"
    rows = {}
    summary = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    for line in p.stdout.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(2)] = (m.group(1), m.group(3), m.group(4))
    err = None
    if "corscope exited" in p.stdout or "panicked" in p.stderr or "not NDJSON" in p.stdout:
        err = (p.stdout + p.stderr)[-800:]
    return summary, rows, err


def run_direct(bin_, path, extra):
    cmd = [bin_, "analyze", path, "--format", "ndjson", "--all"] + extra
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=200)
    except subprocess.TimeoutExpired:
        return None, "TIMEOUT", []
    recs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return p.returncode, p.stderr, recs


def wrapper(bin_, out):
    w = os.path.join(out, "corscope-exit2-as-1.sh")
    if not os.path.exists(w):
        with open(w, "w") as f:
            f.write(f'#!/bin/sh\n"{bin_}" "$@"; rc=$?; [ $rc = 2 ] && exit 1; exit $rc\n')
        os.chmod(w, 0o755)
    return w


TARGETS = [
    # set, file, browsers, extra
    ("dev", "devtools.har", ["chromium", "firefox", "safari"], ""),
    ("dev", "playwright.har", ["chromium"], ""),
    ("dev", "chrome-har.har", ["chromium"], ""),
    ("dev", "capture.pcap", ["chromium"], ""),
    ("dev", "capture-firefox.pcap", ["firefox"], ""),
    ("dev", "capture-webkit.pcap", ["safari"], ""),
    ("tls-dev", "capture-dsb.pcapng", ["chromium"], ""),
    ("tls-dev", "capture.pcap", ["chromium"], "--keylog {dir}/keylog.txt"),
    # HTTP/2 HARs (pseudo-headers, `h2`).
    ("tls-dev", "devtools.har", ["chromium", "firefox", "safari"], ""),
    ("tls-dev", "playwright.har", ["chromium"], ""),
    # Behind the TLS terminator: nginx's keep-alive pool, the browser in X-Forwarded-For.
    ("tls-dev", "capture-backend.pcap", ["chromium"], ""),
    ("tls-dev", "capture-backend-firefox.pcap", ["firefox"], ""),
    ("tls-dev", "capture-backend-webkit.pcap", ["safari"], ""),
    # The other engines' TLS, and TLS 1.2 (CLIENT_RANDOM, resumed sessions).
    ("tls-dev", "capture-firefox.pcap", ["firefox"], "--keylog {dir}/keylog-firefox.txt"),
    ("tls-dev", "capture-webkit.pcap", ["safari"], "--keylog {dir}/keylog-webkit.txt"),
    ("tls12-dev", "capture.pcap", ["chromium"], "--keylog {dir}/keylog.txt"),
    ("tls12-dev", "capture-dsb.pcapng", ["chromium"], ""),
]


def mutations_of(fname, extra, is_har):
    """The mutations that apply to a target: a capture's packets; a backend capture's request
    heads (`PROXY_MUTATIONS`); the key log given with `--keylog`, or, beside embedded secrets, a
    key log given too (`dsb+` mutations)."""
    if is_har:
        # Rewritten as another exporter only from a DevTools export, the one that lists every
        # request's full headers and its real status (chrome-har's provisional headers and
        # Playwright's -1 for every failure are no proxy's record).
        exporters = ("as-proxy", "as-firefox", "stripped")
        return [m for m in HAR_MUTATIONS if "devtools" in fname or m not in exporters] + ["truncate"]
    muts = [m for m in CAP_MUTATIONS if m != "dsb-drop-sessions" or "dsb" in fname]
    if "backend" in fname:
        muts += list(PROXY_MUTATIONS)
    if "--keylog" in extra:
        muts += list(KEYLOG_MUTATIONS)
    if "--keylog" in extra or "dsb" in fname:
        muts += list(TLS_MUTATIONS)
    if "dsb" in fname:
        muts += ["dsb+" + m for m in DSB_KEYLOG_MUTATIONS]
    return muts + ["truncate"]


def combos_of(fname, extra, is_har):
    """The two-fault mutations that apply to a target (`--combos`)."""
    if is_har:
        return [m for m in HAR_COMBOS
                if "devtools" in fname or not any(x in m for x in ("as-proxy", "as-firefox", "stripped"))]
    combos = list(CAP_COMBOS)
    if "backend" in fname:
        combos += PROXY_COMBOS
    if "--keylog" in extra or "dsb" in fname:
        combos += TLS_COMBOS
    return combos


def keylog_variant(a, set_, fname, extra, mut, rng, path):
    """Writes the mutated key log for `mut` to `path`; returns (corscope arguments, scorer
    --extra, lossy)."""
    if mut.startswith("dsb+"):
        lines = dsb_keylog(Cap(os.path.join(a.corpus, set_, fname)))
        mut = mut[4:]
    else:
        own = extra.split()[1].replace("{dir}", os.path.join(a.corpus, set_))
        lines = open(own, encoding="latin-1").read().splitlines()
    own_set = {ln.split()[1] for ln in lines if len(ln.split()) == 3}
    others = []
    for k in KEYLOGS:  # every other capture's secrets (none of this capture's sessions)
        for ln in open(os.path.join(a.corpus, k), encoding="latin-1").read().splitlines():
            if len(ln.split()) == 3 and ln.split()[1] not in own_set:
                others.append(ln)
    out, lossy = KEYLOG_MUTATIONS[mut](lines, rng, others)
    with open(path, "w", encoding="latin-1", newline="") as f:
        f.write("\n".join(out) + "\n")
    return ["--keylog", path], f"--keylog {path}", lossy


def multi_routes(corpus, set_):
    truth = json.load(open(os.path.join(corpus, set_, "truth.json")))
    c = Counter()
    for t in truth:
        m = ROUTE.search(t["url"])
        c[(m.group(1), t["page_origin"])] += 1
    return {t["id"] for t in truth if c[(ROUTE.search(t["url"]).group(1), t["page_origin"])] > 1}


# ---------------------------------------------------------------- merged inputs

def rfc_time(r):
    import datetime
    return datetime.datetime.fromisoformat(r["time"].replace("Z", "+00:00")).timestamp()


VERDICT_FIELDS = ("verdict", "reason", "firefox_verdict", "firefox_reason", "safari_verdict",
                  "safari_reason")


def consistency(bin_, parts, merged, extra):
    """Each part's records (src, time shift in seconds) must be in the merged input's records,
    at the shifted time, with the same verdicts: the merge adds traffic, it decides nothing.
    Returns the differences."""
    rc, err, got = run_direct(bin_, merged, extra)
    if rc not in (0, 1) or "panicked" in str(err):
        return [f"exit {rc}: {str(err)[-300:]}"]
    diffs, used = [], set()
    for src, shift in parts:
        _, _, want = run_direct(bin_, src, extra)
        for r in want:
            c = [i for i, x in enumerate(got) if i not in used and x["url"] == r["url"]
                 and x["method"] == r["method"] and abs(rfc_time(x) - rfc_time(r) - shift) < 0.003]
            vs = {tuple(got[i].get(f) for f in VERDICT_FIELDS) for i in c}
            want_v = tuple(r.get(f) for f in VERDICT_FIELDS)
            if vs != {want_v}:
                diffs.append(f"{os.path.basename(src)} {r['method']} {r['url']} at {r['time']}: "
                             f"want {want_v}, got {sorted(vs, key=str)}")
            elif c:
                used.add(c[0])
    return diffs


def merge_captures(a, b, out, gap_us):
    """`b` shifted to start `gap_us` after `a` starts, merged with it by time."""
    ca, cb = Cap(a), Cap(b)
    t0 = lambda c: min(it[1] for it in c.items if it[0] == "pkt")
    shift = t0(ca) - t0(cb) + gap_us
    for it in cb.items:
        if it[0] == "pkt":
            it[1] += shift
    pk = sorted([it for it in ca.items + cb.items if it[0] == "pkt"], key=lambda it: it[1])
    ca.items = [it for it in ca.items if it[0] == "blk"] + pk
    ca.write(out)
    return shift / 1e6


def concat_captures(a, b, out):
    """`b`'s packets (and secrets blocks) after `a`'s under `a`'s header, times kept, as
    `mergecap -a` joins files: one section, no header where `b` begins (both on interface 0)."""
    ca, cb = Cap(a), Cap(b)
    dsb = lambda it: it[0] == "blk" and struct.unpack("<I", it[1][:4])[0] == 0x0A
    ca.items += [it for it in cb.items if it[0] == "pkt" or dsb(it)]
    ca.write(out)


def concat_har(src, out, shift_s):
    """The HAR's entries followed by a copy of them `shift_s` seconds later (a second session
    appended, e.g. two exports merged)."""
    import datetime
    h = har_load(src)
    extra = copy.deepcopy(entries(h))
    for e in extra:
        t = datetime.datetime.fromisoformat(e["startedDateTime"].replace("Z", "+00:00"))
        e["startedDateTime"] = (t + datetime.timedelta(seconds=shift_s)).isoformat(timespec="milliseconds")
    h["log"]["entries"] = entries(h) + extra
    json.dump(h, open(out, "w"))
    return shift_s


MERGES = [
    # (name, how, sources relative to the corpus, extra)
    ("merge-chromium-firefox", "cap", ("dev/capture.pcap", "dev/capture-firefox.pcap"), ""),
    ("merge-chromium-webkit", "cap", ("dev/capture.pcap", "dev/capture-webkit.pcap"), ""),
    ("merge-firefox-webkit", "cap", ("dev/capture-firefox.pcap", "dev/capture-webkit.pcap"), ""),
    # A copy of the capture whose client moved to 127.0.0.2, 0.25 s later (`c_merge_shifted`).
    # (A copy from the same client is the same TCP stream twice: read once, as retransmissions.)
    ("merge-moved-client", "moved", ("dev/capture.pcap",), ""),
    ("merge-moved-client-firefox", "moved", ("dev/capture-firefox.pcap",), ""),
    ("merge-moved-client-dsb", "moved", ("tls-dev/capture-dsb.pcapng",), ""),
    # As `mergecap -a` joins files: newest first (times jump back where the second begins), and
    # in time order.
    ("mergecap-a-firefox-chromium", "concat", ("dev/capture-firefox.pcap", "dev/capture.pcap"), ""),
    ("mergecap-a-webkit-firefox", "concat", ("dev/capture-webkit.pcap", "dev/capture-firefox.pcap"), ""),
    ("mergecap-a-chromium-firefox", "concat", ("dev/capture.pcap", "dev/capture-firefox.pcap"), ""),
    ("mergecap-a-dsb-firefox-chromium", "concat",
     ("tls-dev/capture-dsb-firefox.pcapng", "tls-dev/capture-dsb.pcapng"), ""),
    ("har-second-session", "har", ("dev/devtools.har",), ""),
    ("har-second-session-playwright", "har", ("dev/playwright.har",), ""),
    ("har-second-session-chrome-har", "har", ("dev/chrome-har.har",), ""),
]


def selected(a, name):
    """Whether `--only` (comma-separated substrings, any of them) selects `name`."""
    return not a.only or any(o in name for o in a.only.split(","))


def run_merges(a, out):
    findings = 0
    for name, how, srcs, extra in MERGES:
        if not selected(a, name):
            continue
        srcs = [os.path.join(a.corpus, x) for x in srcs]
        if not all(os.path.exists(x) for x in srcs):
            continue  # a corpus without these sets (a probe recording given as --corpus)
        if how == "moved":
            c = Cap(srcs[0])
            c_merge_shifted(c, None)
            merged = os.path.join(out, f"{name}.{'pcapng' if c.ng else 'pcap'}")
            c.write(merged)
            parts = [(srcs[0], 0.0), (srcs[0], 0.25)]
        elif how == "concat":
            ext = "pcapng" if srcs[0].endswith("pcapng") else "pcap"
            merged = os.path.join(out, f"{name}.{ext}")
            concat_captures(srcs[0], srcs[1], merged)
            parts = [(srcs[0], 0.0), (srcs[1], 0.0)]
        elif how == "cap":
            ext = "pcapng" if srcs[0].endswith("pcapng") else "pcap"
            merged = os.path.join(out, f"{name}.{ext}")
            gap = 300_000 if srcs[0] == srcs[1] else 2_000_000
            shift = merge_captures(srcs[0], srcs[1], merged, gap)
            parts = [(srcs[0], 0.0), (srcs[1], shift)]
        else:
            merged = os.path.join(out, f"{name}.har")
            parts = [(srcs[0], 0.0), (srcs[0], concat_har(srcs[0], merged, 3600.0))]
        diffs = consistency(a.bin, parts, merged, extra.split())
        print(f"{name} ({os.path.basename(merged)}): {len(diffs)} difference(s)")
        for d in diffs:
            findings += 1
            print(f"FINDING {name}: {d}")
    return findings


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", default="/work/shared/corpus/chromium")
    ap.add_argument("--only", default="",
                    help="run targets/mutations whose 'file:mutation' contains this (several: comma-separated, any)")
    ap.add_argument("--keep", default="", help="folder for the mutated files (default: a temp folder)")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="seeds run are K .. K+N-1 (a later run can try seeds an earlier one did not)")
    ap.add_argument("--combos", action="store_true",
                    help="run two faults at once (HAR_COMBOS, CAP_COMBOS) instead of one at a time")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    global CORPUS
    CORPUS = a.corpus
    out = a.keep or tempfile.mkdtemp(prefix="fieldmut-")
    os.makedirs(out, exist_ok=True)
    findings = 0
    for set_, fname, browsers, extra in TARGETS:
        src = os.path.join(a.corpus, set_, fname)
        if not os.path.exists(src):
            continue
        multi = multi_routes(a.corpus, set_)
        base = {b: score(a.bin, set_, src, b, extra) for b in browsers}
        ex = extra.replace("{dir}", os.path.join(a.corpus, set_)).split()
        base_rc, _, base_recs = run_direct(a.bin, src, ex)
        is_har = fname.endswith(".har")
        muts = combos_of(fname, extra, is_har) if a.combos else mutations_of(fname, extra, is_har)
        for mut in muts:
            if not selected(a, f"{set_}/{fname}:{mut}"):
                continue
            for seed in range(a.first_seed, a.first_seed + (a.seeds if mut not in ("lower-headers", "upper-headers", "proxy-headers",
                                                     "timezone", "no-pages", "drop-preflights", "sanitized",
                                                     "sanitized-redacted",
                                                     "drop-after-preflight", "snaplen200", "shift-ts",
                                                     "to-pcapng", "vlan", "sll", "resegment",
                                                     "eth-trailer", "kl-crlf", "kl-other",
                                                     "dsb+kl-other")
                          and not mut.startswith("px-") else 1)):
                rng = random.Random(f"{fname}:{mut}:{seed}")
                variants = []  # (path, lossy[, corscope arguments, scorer --extra])
                stem = f"{set_}-{fname.rsplit('.', 1)[0]}-{mut}-{seed}"
                ext = fname.rsplit(".", 1)[1]
                if mut == "truncate":
                    raws = har_truncations(open(src, "rb").read(), rng, 3) if is_har else cap_truncations(src, rng, 3)
                    for k, raw in enumerate(raws):
                        p = os.path.join(out, f"{stem}{k}.{ext}")
                        open(p, "wb").write(raw)
                        variants.append((p, True))
                elif mut.startswith(("kl-", "dsb+")):
                    kl = os.path.join(out, f"{stem}.keylog.txt")
                    args, sextra, lossy = keylog_variant(a, set_, fname, extra, mut, rng, kl)
                    if mut.startswith("dsb+"):  # the embedded secrets stay: extra is empty
                        args, sextra = args + ex, f"{sextra} {extra}".strip()
                    variants.append((src, lossy, args, sextra))
                elif is_har:
                    h, lossy = har_load(src), False
                    for m in mut.split("&"):
                        h, lm = HAR_MUTATIONS[m](h, rng)
                        lossy = lossy or lm
                    p = os.path.join(out, f"{stem}.{ext}")
                    json.dump(h, open(p, "w"))
                    variants.append((p, lossy))
                else:
                    c = Cap(src)
                    c.out_ng = None
                    c.out_link = None
                    table = {**CAP_MUTATIONS, **PROXY_MUTATIONS, **TLS_MUTATIONS}
                    lossy = False
                    for m in mut.split("&"):
                        lossy = table[m](c, rng) or lossy
                    ng = c.out_ng if c.out_ng is not None else c.ng
                    p = os.path.join(out, f"{stem}.{'pcapng' if ng else 'pcap'}")
                    c.write(p, ng=ng, link=c.out_link)
                    variants.append((p, lossy))
                for p, lossy, *given in variants:
                    vex, vextra = given if given else (ex, extra)
                    rc, err, recs = run_direct(a.bin, p, vex)
                    tag = f"{set_}/{fname} {mut}#{seed} ({os.path.basename(p if not given else vex[1])})"
                    if rc is None or rc not in (0, 1) and not (mut == "truncate" and rc == 2 and "panicked" not in err):
                        findings += 1
                        print(f"FINDING {tag}: exit {rc}: {str(err)[-400:]}")
                    elif "panicked" in err:
                        findings += 1
                        print(f"FINDING {tag}: panic: {err[-400:]}")
                    if not lossy and rc in (0, 1) and len(recs) < len(base_recs):
                        findings += 1
                        print(f"FINDING {tag}: {len(recs)} records, original {len(base_recs)} (lossless mutation)")
                    # A cut input ends with exit 2 and the records read before the cut: score those
                    # (through a wrapper that turns that exit into 1, which the scorer accepts).
                    bin_ = wrapper(a.bin, out) if mut == "truncate" else a.bin
                    for b in browsers:
                        summ, rows, serr = score(bin_, set_, p, b, vextra)
                        print(f"{tag} [{b}]\n  before: {base[b][0]}\n  after:  {summ}")
                        if serr and mut != "truncate":
                            print(f"  scorer error: {serr[-300:]}")
                        for sid, (kind, want, got) in rows.items():
                            was = base[b][1].get(sid, ("OK",))[0]
                            if kind == "WRONG" and was != "WRONG":
                                label = "ALIGN?" if sid in multi else "FINDING"
                                if label == "FINDING":
                                    findings += 1
                                print(f"{label} {tag} [{b}] {sid}: was {was}, now WRONG: want {want} got {got}")
                            elif a.v and kind != was:
                                print(f"  {sid}: {was} -> {kind} (want {want} got {got})")
    if not a.combos:  # the merges are the same with or without
        findings += run_merges(a, out)
    print(f"{findings} finding(s); mutated files in {out}")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
