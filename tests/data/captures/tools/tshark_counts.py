#!/usr/bin/env python3
"""Counts HTTP requests per capture with tshark, for expected.json (see README.md).

For each file: the server ports are the destination ports of TCP payloads that begin with an
HTTP method token and a space; each one not among tshark's default HTTP ports is decoded as
HTTP with `-d tcp.port==P,http`. Prints one JSON object: file -> {tshark, command}.
Usage: python3 tshark_counts.py FILE...
"""
import json, re, subprocess, sys, os

# Ports the payload heuristic cannot see (the request head arrives byte by byte).
EXTRA_PORTS = {"zeek-tcp-http-with-padding.pcap": [27272]}
DEFAULT_HTTP = {80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710}
METHOD = re.compile(rb"^[A-Za-z]{3,12} ")

def server_ports(path):
    out = subprocess.run(["tshark", "-r", path, "-Y", "tcp.len>0", "-T", "fields",
                          "-e", "tcp.dstport", "-e", "tcp.payload"],
                         capture_output=True, text=True).stdout
    ports = set()
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1]:
            continue
        try:
            payload = bytes.fromhex(parts[1].replace(":", "")[:64])
        except ValueError:
            continue
        if METHOD.match(payload):
            ports.add(int(parts[0].split(",")[0]))
    return sorted(p for p in ports if p not in DEFAULT_HTTP)

def main():
    res = {}
    for path in sys.argv[1:]:
        cmd = ["tshark", "-r", os.path.basename(path), "-Y", "http.request", "-T", "fields", "-e", "frame.number"]
        for p in sorted(set(server_ports(path)) | set(EXTRA_PORTS.get(os.path.basename(path), []))):
            cmd += ["-d", f"tcp.port=={p},http"]
        run = list(cmd)
        run[2] = path
        out = subprocess.run(run, capture_output=True, text=True).stdout
        n = sum(1 for l in out.splitlines() if l.strip())
        res[os.path.basename(path)] = {"tshark": n, "command": " ".join(cmd) + " | wc -l"}
    json.dump(res, sys.stdout, indent=1, sort_keys=True)

main()
