#!/usr/bin/env python3
"""firefox_har.py EVENTS.jsonl [--tab N] > firefox.har

The HAR Firefox's Network Monitor exports ("Save All As HAR"), built from a probe recording's
WebDriver BiDi network events (`bidi-events-firefox.jsonl`) by the rules of Firefox's own HAR
builder (`devtools/client/netmonitor/src/har/har-builder.js` and `har-builder-utils.js` of
Firefox 153 ESR, read from `/usr/lib/firefox-esr/browser/omni.ja`). BiDi and the Network
Monitor take their events from the same network observer, so they list the same requests:
- one entry per request and redirect hop, preflights included (`OPTIONS`, as listed);
- no failure field at all: a request Firefox blocked is listed with the status and headers it
  received, or with status 0 and no headers where nothing came back (a request its failed
  preflight stopped);
- `creator` and `browser` both `{name: "Firefox", version}`, `_securityState`, one page whose
  title is the tab's URL, times with the local offset (`+00:00` here).
Only the requests of the tab numbered N (0: the probe's first page) are exported, as the
Network Monitor shows one tab.

Firefox's real export can now be recorded (`tools/firefox_netmonitor.sh`, round 37); set
against it, this one differs: it joins duplicate header lines with `, ` (the real one lists
them one by one), writes BiDi's fractional timings with a preflighted request's `time` covering
the wait for its preflight (the real one: whole milliseconds, the request's own exchange only,
sometimes all 0), always lists the page's document, and leaves out `_priority`, `connection`
and response bodies. Kept for the recordings made before it."""
import argparse
import datetime
import json
import sys
from urllib.parse import parse_qsl, urlsplit


def har_time(ms):
    d = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+00:00"


def pairs(hs):
    out = []
    for h in hs or []:
        v = h.get("value")
        if isinstance(v, dict):
            v = v.get("value", "")
        out.append({"name": h["name"], "value": v if isinstance(v, str) else ""})
    return out


def http_version(protocol):
    return {"http/1.0": "HTTP/1.0", "http/1.1": "HTTP/1.1", "h2": "HTTP/2", "h3": "HTTP/3"}.get(
        (protocol or "").lower(), (protocol or "").upper())


def entry_timings(tm, start, answered):
    """HAR timings from the channel's (BiDi's `timings`, epoch ms; 0 where a phase did not
    happen), as the Network Monitor's: `blocked` runs from the channel's opening to its first
    network step, so a request's entry spans the preflight it waited for; `time` is their sum."""
    def span(a, b):
        a, b = tm.get(a) or 0, tm.get(b) or 0
        return round(b - a, 3) if a and b and b >= a else -1
    first = next((tm[k] for k in ("dnsStart", "connectStart", "requestStart") if tm.get(k)), 0)
    t = {
        "blocked": round(first - start, 3) if first and first >= start else -1,
        "dns": span("dnsStart", "dnsEnd"),
        "connect": span("connectStart", "connectEnd"),
        "ssl": span("tlsStart", "tlsEnd") if tm.get("tlsStart") else -1,
        "send": 0,
        "wait": span("requestStart", "responseStart") if answered else -1,
        "receive": span("responseStart", "responseEnd") if answered else -1,
    }
    total = round(sum(v for k, v in t.items() if k != "ssl" and v > 0), 3)
    return t, total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--tab", type=int, default=0)
    ap.add_argument("--version", default="153.0")
    a = ap.parse_args()
    contexts, hops, order = [], {}, []
    for line in open(a.events, encoding="utf-8"):
        ev = json.loads(line)
        m, p = ev.get("method", ""), ev.get("params", {})
        if m == "browsingContext.contextCreated" and p.get("parent") is None:
            contexts.append(p["context"])
            continue
        if not m.startswith("network.") or not isinstance(p.get("request"), dict):
            continue
        if a.tab >= len(contexts) or p.get("context") != contexts[a.tab]:
            continue
        req = p["request"]
        key = (req["request"], p.get("redirectCount", 0))
        h = hops.get(key)
        if h is None:
            t = (req.get("timings") or {}).get("requestTime") or ev.get("t")
            h = hops[key] = {"start": t, "request": req, "response": None}
            order.append(key)
        # The latest view of the request (its headers as sent, its size) and of the answer.
        h["request"] = req
        if p.get("response"):
            h["response"] = p["response"]
    entries, page_url, first = [], None, None
    for key in order:
        h = hops[key]
        req, resp = h["request"], h["response"]
        if first is None:
            first = h["start"]
            page_url = req["url"]
        rh = pairs(req.get("headers"))
        q = urlsplit(req["url"]).query
        status = int(resp.get("status") or 0) if resp else 0
        headers = pairs(resp.get("headers")) if resp else []
        location = next((x["value"] for x in headers if x["name"].lower() == "location"), "")
        # Nothing came back: the builder finds no event timings (`timings: {}`, `time` 0).
        timings, total = entry_timings(req.get("timings") or {}, h["start"], True) if resp else ({}, 0)
        entries.append({
            "startedDateTime": har_time(h["start"]),
            "request": {
                "bodySize": req.get("bodySize") or 0,
                "method": req["method"],
                "url": req["url"],
                "httpVersion": http_version(resp.get("protocol")) if resp else "",
                "headers": rh,
                "cookies": [],
                "queryString": [{"name": k, "value": v} for k, v in parse_qsl(q, keep_blank_values=True)],
                "headersSize": req.get("headersSize") or 0,
            },
            "response": {
                "status": status,
                "statusText": (resp or {}).get("statusText", ""),
                "httpVersion": http_version(resp.get("protocol")) if resp else "",
                "headers": headers,
                "cookies": [],
                "content": {"mimeType": (resp or {}).get("mimeType", ""), "size": -1},
                "redirectURL": location,
                "headersSize": (resp or {}).get("headersSize", -1) if resp else -1,
                "bodySize": (resp or {}).get("bodySize", -1) if resp else -1,
            },
            "cache": {},
            "timings": timings,
            "time": total,
            "_securityState": "secure" if req["url"].startswith("https:") else "insecure",
            "serverIPAddress": "127.0.0.1",
            "pageref": "page_1",
        })
    app = {"name": "Firefox", "version": a.version}
    har = {"log": {
        "version": "1.2", "creator": app, "browser": dict(app),
        "pages": [{"id": "page_1", "pageTimings": {"onContentLoad": -1, "onLoad": -1},
                   "startedDateTime": har_time(first or 0), "title": page_url or ""}],
        "entries": entries,
    }}
    json.dump(har, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
