#!/usr/bin/env python3
"""webkit_har.py EVENTS.jsonl [--tab page] > safari.har

The HAR Safari's Web Inspector exports ("Export HAR"), built from a probe recording's WebKit
inspector events (`inspector-events-webkit.jsonl`) the way Web Inspector builds it
(WebKit Source/WebInspectorUI: NetworkManager folds a request's redirects into one Resource,
Resource.updateWithMetrics takes the headers as sent, HARBuilder writes the entry). What that
gives, and what a DevTools export does not:
- one entry per request: a redirect chain is one entry with the last URL, request and
  response (the hops before it are not listed);
- no preflights (the inspector does not show them);
- a request WebKit refused has no response (status 0, no headers) and `_error`, WebKit's
  console text ("Origin … is not allowed by Access-Control-Allow-Origin. Status code: 200");
- headers as one value per name; `creator.name` "WebKit Web Inspector".
Only the named tab's requests are exported (Web Inspector exports one page).

Where it departs from the real export (recorded since round 38 by
`tools/webkit_inspector_har.sh`, `tests/data/*/webkit-inspector*.har.gz`): the Network tab
exports only the requests that finished (`NetworkTableContentView._HARResources`), so a
request WebKit refused is not in the real file at all; this one lists it, as `HARBuilder` would
write it (status 0, `_error`): what `HARBuilder` gives for every resource, not what the
button saves."""
import argparse
import datetime
import json
import sys


def iso(walltime):
    if not walltime:
        return ""
    d = datetime.datetime.fromtimestamp(walltime, tz=datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def protocol_name(p):
    return {"http/1.0": "HTTP/1.0", "http/1.1": "HTTP/1.1", "h2": "HTTP/2", "h3": "HTTP/3"}.get(p or "", "")


def headers(h):
    return [{"name": k, "value": v} for k, v in (h or {}).items()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--tab", default="page")
    a = ap.parse_args()
    res, order = {}, []
    for line in open(a.events, encoding="utf-8"):
        ev = json.loads(line)
        if ev.get("tab", a.tab) != a.tab:
            continue
        m, p = ev.get("method", ""), ev.get("params", {})
        rid = p.get("requestId")
        if m == "Network.requestWillBeSent":
            req = p["request"]
            r = res.get(rid)
            if r is None:
                r = res[rid] = {"start": p.get("walltime"), "response": None, "error": None, "metrics": {}}
                order.append(rid)
            # A redirect: the same Resource now stands for the new request.
            r.update(url=req["url"], method=req["method"], req_headers=req.get("headers", {}),
                     post=req.get("postData"), response=None)
        elif rid in res and m == "Network.responseReceived":
            res[rid]["response"] = p["response"]
        elif rid in res and m == "Network.loadingFinished":
            res[rid]["metrics"] = p.get("metrics") or {}
        elif rid in res and m == "Network.loadingFailed":
            res[rid]["error"] = p.get("errorText") or ""
    entries = []
    for rid in order:
        r = res[rid]
        mt = r["metrics"]
        resp = r["response"] or {}
        proto = protocol_name(mt.get("protocol"))
        req_headers = mt.get("requestHeaders") or r["req_headers"]
        request = {"method": r["method"], "url": r["url"], "httpVersion": proto, "cookies": [],
                   "headers": headers(req_headers), "queryString": [],
                   "headersSize": mt.get("requestHeaderBytesSent", -1),
                   "bodySize": mt.get("requestBodyBytesSent", -1)}
        if r["post"] is not None:
            ct = next((v for k, v in req_headers.items() if k.lower() == "content-type"), "")
            request["postData"] = {"mimeType": ct, "text": r["post"], "params": []}
        resp_headers = resp.get("headers") or {}
        response = {"status": resp.get("status", 0), "statusText": resp.get("statusText", ""),
                    "httpVersion": proto, "cookies": [], "headers": headers(resp_headers),
                    "content": {"size": mt.get("responseBodyDecodedSize", 0), "compression": 0,
                                "mimeType": resp.get("mimeType") or "x-unknown"},
                    "redirectURL": next((v for k, v in resp_headers.items() if k.lower() == "location"), ""),
                    "headersSize": mt.get("responseHeaderBytesReceived", -1),
                    "bodySize": mt.get("responseBodyBytesReceived", -1)}
        if r["error"]:
            response["_error"] = r["error"]
        entry = {"pageref": "page_0", "startedDateTime": iso(r["start"]), "time": 0,
                 "request": request, "response": response, "cache": {},
                 "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 0, "receive": 0}}
        if mt.get("remoteAddress"):
            entry["serverIPAddress"] = mt["remoteAddress"].rsplit(":", 1)[0]
        if mt.get("connectionIdentifier"):
            entry["connection"] = str(mt["connectionIdentifier"])
        if resp.get("source") == "network":
            entry["_fetchType"] = "Network Load"
        elif resp.get("source") in ("memory-cache", "disk-cache"):
            entry["_fetchType"] = "Memory Cache" if resp["source"] == "memory-cache" else "Disk Cache"
        entries.append(entry)
    first = entries[0]["startedDateTime"] if entries else ""
    har = {"log": {"version": "1.2", "creator": {"name": "WebKit Web Inspector", "version": "1.0"},
                   "pages": [{"startedDateTime": first, "id": "page_0", "title": "", "pageTimings": {}}],
                   "entries": entries}}
    json.dump(har, sys.stdout, indent=2)


if __name__ == "__main__":
    main()
