#!/usr/bin/env python3
"""Regenerates the *.tshark.txt files: every HTTP/2 request and response head tshark decodes
in a capture, one line per stream: `client_port stream_id method path status` (`-` where
absent), sorted by client port then stream id. Usage:
    tshark_expected.py CAPTURE [KEYLOG] > CAPTURE.tshark.txt
"""
import json
import subprocess
import sys

cap = sys.argv[1]
cmd = ["tshark", "-r", cap, "-Y", "http2.type == 1", "-T", "json", "--no-duplicate-keys", "-J", "tcp http2"]
if len(sys.argv) > 2:
    cmd[1:1] = ["-o", "tls.keylog_file:" + sys.argv[2]]
packets = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
streams = {}


def as_list(x):
    return x if isinstance(x, list) else [x]


for p in packets:
    layers = p["_source"]["layers"]
    tcp = layers["tcp"]
    for h2 in as_list(layers.get("http2", [])):
        for st in as_list(h2.get("http2.stream", [])):
            if st.get("http2.type") != "1":
                continue
            hdrs = {}
            for h in as_list(st.get("http2.header", [])):
                hdrs.setdefault(h.get("http2.header.name"), h.get("http2.header.value"))
            sid = int(st["http2.streamid"])
            if ":method" in hdrs:
                port = int(tcp["tcp.srcport"])
                streams.setdefault((port, sid), ["-", "-", "-"])[:2] = [hdrs[":method"], hdrs[":path"]]
            elif ":status" in hdrs and not hdrs[":status"].startswith("1"):
                port = int(tcp["tcp.dstport"])
                s = streams.setdefault((port, sid), ["-", "-", "-"])
                if s[2] == "-":
                    s[2] = hdrs[":status"]
for (port, sid), (m, path, status) in sorted(streams.items()):
    print(port, sid, m, path, status)
