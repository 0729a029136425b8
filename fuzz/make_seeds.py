#!/usr/bin/env python3
"""Builds the committed seed corpora in fuzz/seeds/<target>/ from the project's test data
(samples/, tests/data/) and, when SEED_CORPUS=DIR is set, a larger recording corpus laid out as
DIR/public/zeek/*.pcap* and DIR/chromium/dev/*.har. Only small files: every seed is
at most MAX_SEED bytes. Needs tshark for the HTTP stream seeds (skipped without it).

Run from the repository root: python3 fuzz/make_seeds.py
"""

import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile

MAX_SEED = 16 * 1024
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
# An optional larger corpus kept outside the repository (see the docstring).
EXTRA = os.environ.get("SEED_CORPUS")


def extra(pattern):
    return sorted(glob.glob(os.path.join(EXTRA, pattern))) if EXTRA else []


def put(target, name, data):
    if not data or len(data) > MAX_SEED:
        return False
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    return True


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if path.endswith(".gz") else data


def captures():
    paths = sorted(glob.glob(os.path.join(ROOT, "tests/data/captures/*.pcap*")))
    paths += extra("public/zeek/*.pcap*")
    seen = set()
    for p in paths:
        data = read(p)
        h = hashlib.sha1(data).hexdigest()
        if h in seen:
            continue
        seen.add(h)
        yield os.path.basename(p).removesuffix(".gz"), p, data


def hars():
    paths = sorted(glob.glob(os.path.join(ROOT, "samples/*.har")))
    paths += sorted(glob.glob(os.path.join(ROOT, "tests/data/chromium/*.har")))
    paths += extra("chromium/dev/*.har")
    seen = set()
    for p in paths:
        data = read(p)
        h = hashlib.sha1(data).hexdigest()
        if h not in seen:
            seen.add(h)
            yield os.path.basename(p), json.loads(data)


def shrink_entry(e):
    """An entry without its bulky parts (bodies, initiator stacks, cookies, timings detail)."""
    e = json.loads(json.dumps(e))
    resp = e.get("response") or {}
    content = resp.get("content")
    if isinstance(content, dict) and "text" in content:
        content["text"] = content["text"][:32]
    init = e.get("_initiator")
    if isinstance(init, dict):
        init.pop("stack", None)
    for part in (e.get("request") or {}, resp):
        part.pop("cookies", None)
    return e


def har_seeds():
    n = 0
    for name, doc in hars():
        log = doc.get("log", {})
        entries = log.get("entries", [])
        base = {k: v for k, v in log.items() if k != "entries"}
        # Small windows of consecutive entries keep preflight/request pairs together.
        step = max(1, len(entries) // 12)
        for i in range(0, len(entries), step):
            window = [shrink_entry(e) for e in entries[i : i + 3]]
            small = {"log": dict(base, entries=window)}
            text = json.dumps(small, separators=(",", ":")).encode()
            stem = name.removesuffix(".har")
            if put("har", f"{stem}-{i:04d}.har", text):
                put("analyze", f"{stem}-{i:04d}.har", text)
                n += 1
        if put("har", name, json.dumps(doc).encode()):
            n += 1
    # Shapes the real files do not show.
    extra = {
        "empty-entries.har": b'{"log":{"entries":[]}}',
        "bom-ws.har": b'\xef\xbb\xbf \n{"log":{"creator":{"name":"x"},"entries":[{}]}}',
        "escapes.har": b'{"log":{"entries":[{"request":{"method":"G\\u0045T","url":"http://a/\\"\\\\"}}]}}',
        "scalars.har": b'{"log":{"entries":[1,"x",null,true,{"request":{}}],"pages":[{"id":1}]}}',
        "nested.har": b'{"log":{"entries":[{"request":{"x":[[[[[[[[[[]]]]]]]]]]}}]}}',
    }
    for k, v in extra.items():
        put("har", k, v)
    # The analyze target's UTF-16 path (`input::utf16`): a small HAR as Windows PowerShell
    # writes it (UTF-16LE with a BOM), and big-endian without one.
    small = os.path.join(SEEDS, "analyze", "browsers-disagree-0001.har")
    if os.path.exists(small):
        text = open(small, "rb").read().decode("utf-8")
        utf16 = "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")
        put("analyze", "utf16le-bom.har", utf16)
        put("analyze", "utf16be.har", text.encode("utf-16-be"))
        # Its gzip path with a HAR behind it, alone and with UTF-16 under it.
        put("analyze", "har.har.gz", gzip.compress(text.encode("utf-8"), 9, mtime=0))
        put("analyze", "utf16le-bom.har.gz", gzip.compress(utf16, 9, mtime=0))
        # Its zip path (`input::zip`): the HAR zipped by Python (sizes in the local headers),
        # and Playwright's own zipped HAR (data descriptors); `zip_har` takes a mode byte
        # (streaming or seeking writer, deflated or stored, whole or cut) and the HAR.
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zipfile.ZipInfo("site.har", (2026, 1, 1, 0, 0, 0)), text)
        put("analyze", "har.zip", buf.getvalue())
        for mode in (0x0F, 0x0E, 0x0C, 0x83, 0x47):
            put("zip_har", f"mode-{mode:02x}.har", bytes([mode]) + text.encode("utf-8"))
    put("analyze", "playwright.har.zip", read(os.path.join(ROOT, "tests/data/chromium/playwright.har.zip")))
    return n


def pcap_head(data, records):
    """A pcap file's header and its first `records` records (little-endian, 16-byte headers)."""
    at = 24
    for _ in range(records):
        at += 16 + int.from_bytes(data[at + 8:at + 12], "little")
    return data[:at]


def pcapng_head(data, blocks):
    """A pcapng file's first `blocks` blocks (little-endian)."""
    at = 0
    for _ in range(blocks):
        at += int.from_bytes(data[at + 4:at + 8], "little")
    return data[:at]


def joined_seed():
    """Capture files joined end to end, as `cat` joins them: the heads of a pcap, a pcapng and
    a pcap file (the reader reads on past each file header), and the same parts in reverse
    order (each then starts a few seconds before the one before it ends, within the clock lag
    the reader allows)."""
    cap = lambda name: read(os.path.join(ROOT, "tests/data/captures", name))
    v4, ng, v6 = cap("own-lo-ipv4.pcap"), cap("own-dumpcap-2if.pcapng"), cap("own-lo-ipv6.pcap")
    parts = [pcap_head(v4, 12), pcapng_head(ng, 14), pcap_head(v6, 12)]
    put("capture", "joined-pcap-pcapng-pcap.pcap", b"".join(parts))
    put("capture", "joined-reversed.pcap", b"".join(reversed(parts)))
    # As `mergecap -a` joins files: one header, the later recording's records first, so the
    # times jump back an hour and stay back.
    head = pcap_head(v4, 24)
    later = bytearray(head[24:])
    at = 0
    while at + 16 <= len(later):
        secs = int.from_bytes(later[at:at + 4], "little") + 3600
        later[at:at + 4] = secs.to_bytes(4, "little")
        at += 16 + int.from_bytes(later[at + 8:at + 12], "little")
    put("capture", "jump-mergecap-a.pcap", head[:24] + bytes(later) + head[24:])


def capture_seeds():
    n = 0
    joined_seed()
    for name, _, data in captures():
        if put("capture", name, data):
            put("analyze", name, data)
            n += 1
    # One gzip'd capture for the analyze target's gzip path (gzip'd HARs: `har_seeds`).
    for name, _, data in captures():
        gz = gzip.compress(data, 9)
        if len(data) < 4096 and put("analyze", name + ".gz", gz):
            break
    # gzip_capture, zstd_capture and lz4_capture: the first byte is the mode (see
    # fuzz_targets/gzip_capture.rs): captures compressed and cut, with a flipped trailer
    # byte, with trailing garbage, on 1 and 2 workers.
    k = 0
    for name, _, data in captures():
        if len(data) > 8192 or k >= 8:
            continue
        k += 1
        for mode in (0x01, 0x03, 0x05, 0x0B, 0x8D, 0x83):
            for target in ("gzip_capture", "zstd_capture", "lz4_capture"):
                put(target, "%02x-%s" % (mode, name), bytes([mode]) + data)
    return n


def tcp_streams(path):
    """Every TCP stream of a capture as a list of (node, bytes) in capture order (tshark)."""
    try:
        out = subprocess.run(
            ["tshark", "-r", path, "-T", "fields", "-e", "tcp.stream"],
            capture_output=True, check=True, text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return
    ids = sorted({int(x) for x in out.split() if x.strip().isdigit()})
    for sid in ids[:8]:
        out = subprocess.run(
            ["tshark", "-r", path, "-q", "-z", f"follow,tcp,raw,{sid}"],
            capture_output=True, text=True,
        ).stdout
        parts = []
        for line in out.splitlines():
            if not line or line.startswith(("=", "Follow", "Filter", "Node")):
                continue
            node = 1 if line.startswith("\t") else 0
            try:
                parts.append((node, bytes.fromhex(line.strip())))
            except ValueError:
                continue
        if parts:
            yield parts


SWITCH = b"\xfe\xfe\xfe"


def conversation(parts, limit):
    """A `steps.rs` conversation: runs of one direction separated by direction switches."""
    out = bytearray()
    cur = 0
    for node, data in parts:
        if node != cur:
            out += SWITCH
            cur = node
        out += data[: max(0, limit - len(out))]
        if len(out) >= limit:
            break
    return bytes(out)


def http_seeds():
    if shutil.which("tshark") is None:
        print("tshark not found: no http_head/chunked seeds", file=sys.stderr)
        return 0
    n = 0
    for name, path, data in captures():
        if path.endswith(".gz") or len(data) > 200_000:
            continue
        for k, parts in enumerate(tcp_streams(path)):
            # The client speaks first on every stream tshark follows from its start.
            conv = conversation(parts, 4096)
            if b"HTTP/1." not in conv:
                continue
            # Config byte 0: client is direction 0, whole packets, default limits.
            if put("http_head", f"{name}-{k}", b"\x00" + conv):
                n += 1
            # Chunked bodies: the bytes after a chunked response head.
            resp = b"".join(d for node, d in parts if node == 1)
            at = resp.lower().find(b"transfer-encoding: chunked")
            if at >= 0:
                end = resp.find(b"\r\n\r\n", at)
                if end >= 0:
                    body = resp[end + 4 : end + 4 + 4096]
                    put("chunked", f"{name}-{k}", b"\x01" + body)
    synthetic = {
        "ext-trailers": b"\x00" + b"5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
        "bare-lf": b"\x01" + b"3\nabc\n0\n\n",
        "bytewise": b"\x10" + b"1a\r\n" + b"x" * 26 + b"\r\n0\r\n\r\n",
        "overflow": b"\x01" + b"10000000000000000\r\n",
        "zeros": b"\x00" + b"0000000000000000000005\r\nhello\r\n0\r\n\r\n",
        "gap": b"\x01" + b"5\r\nhe\xfe\xfe\xfd\x03\r\n0\r\n\r\n",
        "small-limits": b"\x09" + b"5;" + b"x" * 40 + b"\r\nhello\r\n0\r\n\r\n",
    }
    for k, v in synthetic.items():
        put("chunked", k, v)
    heads = {
        "pipelined": b"\x00GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        + SWITCH + b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 204 No Content\r\n\r\n",
        "continue-upgrade": b"\x00POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab"
        + SWITCH + b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching\r\nUpgrade: x\r\n\r\n",
        "folded-lf": b"\x30GET / HTTP/1.0\nHost: h\n\n" + SWITCH
        + b"HTTP/1.0 200 OK\nX: a\n b\nBad Header\n\nbody",
        "mid-stream": b"\x04tail of a body\r\nGET /x HTTP/1.1\r\n\r\n" + SWITCH + b"HTTP/1.1 200 OK\r\n\r\n",
        "gap-fin": b"\x0bGET /g HTTP/1.1\r\nContent-Length: 50\r\n\r\nab\xfe\xfe\xfc\x01"
        + b"\xfe\xfe\xfd\x05" + SWITCH + b"HTTP/1.1 200\r\n\r\n\xfe\xfe\xfb",
        "connect": b"\x03CONNECT a:443 HTTP/1.1\r\n\r\n" + SWITCH + b"HTTP/1.1 200 OK\r\n\r\n\x16\x03\x01",
    }
    for k, v in heads.items():
        put("http_head", k, v)
    return n


def cors_seeds():
    n = 0
    for name, doc in hars():
        for i, e in enumerate(doc.get("log", {}).get("entries", [])):
            req = e.get("request") or {}
            resp = e.get("response") or {}
            hdr = lambda hs: {h.get("name", ""): h.get("value", "") for h in hs or []}
            rq, rs = hdr(req.get("headers")), hdr(resp.get("headers"))
            origin = next((v for k, v in rq.items() if k.lower() == "origin"), None)
            if origin is None:
                continue
            lines = [origin] + [f"{k}: {v}" for k, v in list(rs.items()) + list(rq.items())
                                if not k.startswith(":")]
            text = "\n".join(lines).encode("utf-8", "surrogateescape")
            stem = name.removesuffix(".har")
            if put("cors_headers", f"{stem}-{i:04d}", text):
                n += 1
            if n >= 150:
                return n
    return n


def main():
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    counts = {
        "har": har_seeds(),
        "capture": capture_seeds(),
        "http": http_seeds(),
        "cors_headers": cors_seeds(),
    }
    for t in sorted(os.listdir(SEEDS)):
        files = os.listdir(os.path.join(SEEDS, t))
        size = sum(os.path.getsize(os.path.join(SEEDS, t, f)) for f in files)
        print(f"{t}: {len(files)} seeds, {size} bytes")
    return counts


if __name__ == "__main__":
    main()
