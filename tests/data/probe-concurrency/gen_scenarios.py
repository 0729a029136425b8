#!/usr/bin/env python3
"""Writes the probe input of this recording: gen_scenarios.py FONT.woff2 > scenarios.json

FONT is any valid WOFF2 font (the recording used rustdoc's open-sans-v17 300italic); the
browsers check the font itself, so `allowed` needs a real one.
"""
import base64, json, sys

font = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
P, A, S = "http://app.test:8880", "http://api.test:8881", "http://api.app.test:8882"
routes, sc = {}, []


def route(name, actual=None, preflight=None):
    r = {"actual": actual or {"status": 200, "headers": []}}
    if preflight is not None:
        r["preflight"] = preflight
    routes[name + "/r"] = r


def scen(id, url, **kw):
    d = {"id": id, "page": "page", "kind": "fetch", "url": url, "method": "GET", "mode": "cors",
         "credentials": "same-origin", "request_headers": [], "body": None}
    d.update(kw)
    sc.append(d)


def font_response(headers):
    return {"status": 200, "headers": headers, "body_b64": font, "content_type": "font/woff2"}


ACAO_O = ["Access-Control-Allow-Origin", "{origin}"]
VARY = ["Vary", "Origin"]
ACAC = ["Access-Control-Allow-Credentials", "true"]
NO_CACHE = ["Access-Control-Max-Age", "0"]

# @font-face loads: CORS, credentials same-origin
for name, headers in [("p-font-no-acao", []), ("p-font-star", [["Access-Control-Allow-Origin", "*"]]),
                      ("p-font-reflect", [ACAO_O, VARY]),
                      ("p-font-mismatch", [["Access-Control-Allow-Origin", "http://other.test"]])]:
    route(name, font_response(headers))
    scen(name, f"{A}/s/{name}/r", kind="font")
route("p-font-site-star", font_response([["Access-Control-Allow-Origin", "*"]]))
scen("p-font-site-star", f"{S}/s/p-font-site-star/r", kind="font")

# sendBeacon: a safelisted body is a no-cors request; a JSON Blob is a credentialed CORS one
route("p-beacon-text")
scen("p-beacon-text", f"{A}/s/p-beacon-text/r", kind="beacon", method="POST", body="hello",
     beacon_type="string")
route("p-beacon-blob-plain")
scen("p-beacon-blob-plain", f"{A}/s/p-beacon-blob-plain/r", kind="beacon", method="POST",
     body="hello", beacon_type="blob", content_type="text/plain")
json_beacon = dict(kind="beacon", method="POST", body='{"a":1}', beacon_type="blob",
                   content_type="application/json")
route("p-beacon-json-no-options", {"status": 200, "headers": [ACAO_O, ACAC]})
scen("p-beacon-json-no-options", f"{A}/s/p-beacon-json-no-options/r", **json_beacon)
ok_pf = {"status": 204, "headers": [ACAO_O, ACAC, ["Access-Control-Allow-Methods", "POST"],
                                    ["Access-Control-Allow-Headers", "content-type"], NO_CACHE, VARY]}
route("p-beacon-json-ok", {"status": 200, "headers": [ACAO_O, ACAC, VARY]}, ok_pf)
scen("p-beacon-json-ok", f"{A}/s/p-beacon-json-ok/r", **json_beacon)
route("p-beacon-json-star", {"status": 200, "headers": [["Access-Control-Allow-Origin", "*"]]},
      {"status": 204, "headers": [["Access-Control-Allow-Origin", "*"],
                                  ["Access-Control-Allow-Headers", "content-type"], NO_CACHE]})
scen("p-beacon-json-star", f"{A}/s/p-beacon-json-star/r", **json_beacon)
route("p-beacon-json-site-ok", {"status": 200, "headers": [ACAO_O, ACAC, VARY]}, ok_pf)
scen("p-beacon-json-site-ok", f"{S}/s/p-beacon-json-site-ok/r", **json_beacon)

# Groups: requests the page starts together, most on one URL, preflights held by the server
act_ok = {"status": 200, "headers": [ACAO_O, VARY]}
route("p-g-pf-race", act_ok, {"status": 204, "delay_ms": 250, "headers": [
    ACAO_O, ["Access-Control-Allow-Methods", "PUT, DELETE"],
    ["Access-Control-Allow-Headers", "x-a, x-b"], NO_CACHE, VARY]})
scen("p-g-pf-race-a", f"{A}/s/p-g-pf-race/r", method="PUT", request_headers=[["X-A", "1"]],
     body="{}", group="g1", match={"header": "x-a"})
scen("p-g-pf-race-b", f"{A}/s/p-g-pf-race/r", method="PUT", request_headers=[["X-B", "1"]],
     body="{}", group="g1", start_delay_ms=50, match={"header": "x-b"})
route("p-g-pf-split", act_ok, {"status": 204, "delay_ms": 250, "headers": [
    ACAO_O, ["Access-Control-Allow-Methods", "PUT"], ["Access-Control-Allow-Headers", "x-a"],
    NO_CACHE, VARY]})
scen("p-g-pf-split-a", f"{A}/s/p-g-pf-split/r", method="PUT", request_headers=[["X-A", "1"]],
     body="{}", group="g2", match={"header": "x-a"})
scen("p-g-pf-split-c", f"{A}/s/p-g-pf-split/r", method="PUT", request_headers=[["X-C", "1"]],
     body="{}", group="g2", start_delay_ms=50, match={"header": "x-c"})
route("p-g-methods", act_ok, {"status": 204, "delay_ms": 200, "headers": [
    ACAO_O, ["Access-Control-Allow-Methods", "PUT"], NO_CACHE, VARY]})
scen("p-g-methods-put", f"{A}/s/p-g-methods/r", method="PUT", body="{}", group="g3",
     match={"method": "PUT"})
scen("p-g-methods-delete", f"{A}/s/p-g-methods/r", method="DELETE", group="g3",
     start_delay_ms=30, match={"method": "DELETE"})
route("p-g-twice", {"status": 200, "headers": [], "delay_ms": 150})
scen("p-g-twice-1", f"{A}/s/p-g-twice/r", group="g4")
scen("p-g-twice-2", f"{A}/s/p-g-twice/r", group="g4")
for name in ("p-g-cred-inc", "p-g-cred-omit"):
    route(name, {"status": 200, "headers": [["Access-Control-Allow-Origin", "*"]], "delay_ms": 100})
scen("p-g-cred-inc", f"{S}/s/p-g-cred-inc/r", credentials="include", group="g5")
scen("p-g-cred-omit", f"{S}/s/p-g-cred-omit/r", credentials="omit", group="g5")
route("p-g-cached-race", act_ok, {"status": 204, "delay_ms": 300, "headers": [
    ACAO_O, ["Access-Control-Allow-Methods", "PUT"], ["Access-Control-Max-Age", "60"], VARY]})
scen("p-g-cached-race-1", f"{A}/s/p-g-cached-race/r", method="PUT", body="{}", group="g6")
scen("p-g-cached-race-2", f"{A}/s/p-g-cached-race/r", method="PUT", body="{}", group="g6",
     start_delay_ms=100)
route("p-g-xhr-fetch", {"status": 200, "headers": [ACAO_O, VARY]}, {"status": 204, "headers": [
    ACAO_O, ["Access-Control-Allow-Headers", "x-a"], NO_CACHE]})
scen("p-g-xhr", f"{A}/s/p-g-xhr-fetch/r", kind="xhr", method="POST", body="x",
     request_headers=[["X-A", "1"]], group="g7", match={"method": "POST"})
scen("p-g-fetch", f"{A}/s/p-g-xhr-fetch/r", method="PATCH", body="x",
     request_headers=[["X-A", "1"]], group="g7", start_delay_ms=20, match={"method": "PATCH"})

json.dump({"set": "probe1", "origins": {"page": P, "api": A, "site": S},
           "pages": {"main": {"set_cookie": "sid=1; Domain=app.test; Path=/; SameSite=Lax"}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
