#!/usr/bin/env python3
"""Rewrites a DevTools HAR as another exporter lists the same traffic, for testing how corscope
reads exports that do not mark every failure (README, "HAR flavours").

    tools/proxy_har.py DEVTOOLS.har[.gz] [--as proxy|firefox] > OUT.har

--as proxy (default): what a recording proxy (Charles, mitmproxy, Fiddler, ZAP) lists: every
  request that reached the wire, preflights included, with the answer the server sent; no
  failure text (the proxy never sees the browser's check), no `_`-fields, and no entry for a
  request the browser never sent (a DevTools entry with no answer: status 0).
--as firefox: creator and browser Firefox, the same entries without `_`-fields or failure
  text, the unsent ones kept with status 0 (a browser lists the request its failed preflight
  stopped), as Firefox's own export marks nothing (`tools/firefox_har.py` builds a real one).
--as stripped: the DevTools export itself, creator kept, with every `_`-field removed (what a
  HAR cleaner or a viewer's re-export leaves).
"""
import argparse
import gzip
import json
import sys


def load(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def strip_private(obj):
    """Drops every `_`-field (DevTools' own: `_error`, `_resourceType`, `_initiator`, ...)."""
    if isinstance(obj, dict):
        return {k: strip_private(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [strip_private(v) for v in obj]
    return obj


def rewrite(har, kind):
    """`har` (a DevTools HAR's JSON) as `kind` ("proxy", "firefox", "stripped") lists it, in place."""
    log = har["log"]
    entries = []
    for e in log.get("entries", []):
        unsent = (e.get("response") or {}).get("status", 0) in (0, -1)
        if unsent and kind == "proxy":
            continue
        e = strip_private(e)
        if unsent:
            e["response"].update(status=0, statusText="", headers=[])
        entries.append(e)
    log["entries"] = entries
    if kind == "stripped":
        return har
    if kind == "proxy":
        log["creator"] = {"name": "Charles Proxy", "version": "4.6.8"}
        log.pop("browser", None)
    else:
        log["creator"] = {"name": "Firefox", "version": "153.0"}
        log["browser"] = {"name": "Firefox", "version": "153.0"}
    return har


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("har")
    ap.add_argument("--as", dest="kind", choices=["proxy", "firefox", "stripped"], default="proxy")
    a = ap.parse_args()
    json.dump(rewrite(load(a.har), a.kind), sys.stdout)


if __name__ == "__main__":
    main()
