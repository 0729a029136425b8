#!/usr/bin/env python3
"""Writes the probe input of this recording: gen_scenarios.py > scenarios.json"""
import json, sys
P, A, B, S = "http://app.test:8890", "http://api.test:8891", "http://api2.test:8893", "http://api.app.test:8892"
routes, sc = {}, []
ACAO_O = ["Access-Control-Allow-Origin", "{origin}"]; STAR = ["Access-Control-Allow-Origin", "*"]
VARY = ["Vary", "Origin"]; ACAC = ["Access-Control-Allow-Credentials", "true"]; NO_CACHE = ["Access-Control-Max-Age", "0"]
JS = "(window.__probeScripts = window.__probeScripts || []).push(document.currentScript.src)"

def route(name, actual=None, preflight=None):
    r = {"actual": actual if actual is not None else {"status": 200, "headers": []}}
    if preflight is not None:
        r["preflight"] = preflight
    routes[name + "/r"] = r

def scen(id, url, **kw):
    d = {"id": id, "page": "page", "kind": "fetch", "url": url, "method": "GET", "mode": "cors",
         "credentials": "same-origin", "request_headers": [], "body": None}
    d.update(kw); sc.append(d)

def js(headers): return {"status": 200, "headers": headers, "body": JS, "content_type": "text/javascript"}
def css(headers): return {"status": 200, "headers": headers, "body": "body{color:red}", "content_type": "text/css"}

# elements with crossorigin
for name, resp, kw in [
    ("e-script-anon-no-acao", js([]), dict(kind="script", crossorigin="anonymous")),
    ("e-script-anon-star", js([STAR]), dict(kind="script", crossorigin="anonymous")),
    ("e-script-cred-star", js([STAR]), dict(kind="script", crossorigin="use-credentials")),
    ("e-script-cred-ok", js([ACAO_O, ACAC, VARY]), dict(kind="script", crossorigin="use-credentials")),
    ("e-script-nocors", js([]), dict(kind="script", crossorigin=None)),
    ("e-css-anon-no-acao", css([]), dict(kind="css", crossorigin="anonymous")),
    ("e-css-anon-reflect", css([ACAO_O, VARY]), dict(kind="css", crossorigin="anonymous")),
]:
    route(name, resp); scen(name, f"{A}/s/{name}/r", **kw)
# EventSource
for name, headers, cred in [("es-no-acao", [], "same-origin"), ("es-star", [STAR], "same-origin"),
                            ("es-cred-ok", [ACAO_O, ACAC, VARY], "include")]:
    route(name, {"status": 200, "headers": headers, "body": "data: x\n\n", "content_type": "text/event-stream"})
    scen(name, f"{A}/s/{name}/r", kind="eventsource", credentials=cred)
# redirects
route("r-post-302", {"status": 302, "headers": [STAR], "location": f"{B}/s/r-post-302-b/r"})
route("r-post-302-b", {"status": 200, "headers": [STAR]})
scen("r-post-302", f"{A}/s/r-post-302/r", method="POST", body="x", request_headers=[["Content-Type", "text/plain"]])
route("r-302-no-acao", {"status": 302, "headers": [], "location": f"{B}/s/r-302-no-acao-b/r"})
route("r-302-no-acao-b", {"status": 200, "headers": [STAR]})
scen("r-302-no-acao", f"{A}/s/r-302-no-acao/r")
route("r-307-put", {"status": 307, "headers": [ACAO_O, VARY], "location": f"{B}/s/r-307-put-b/r"},
      {"status": 204, "headers": [ACAO_O, ["Access-Control-Allow-Methods", "PUT"], NO_CACHE, VARY]})
route("r-307-put-b", {"status": 200, "headers": [STAR]},
      {"status": 204, "headers": [STAR, ["Access-Control-Allow-Methods", "PUT"], NO_CACHE]})
scen("r-307-put", f"{A}/s/r-307-put/r", method="PUT", body="{}")
route("r-chain", {"status": 302, "headers": [STAR], "location": f"{B}/s/r-chain-b/r"})
route("r-chain-b", {"status": 302, "headers": [STAR], "location": f"{A}/s/r-chain-c/r"})
route("r-chain-c", {"status": 200, "headers": [STAR]})
scen("r-chain", f"{A}/s/r-chain/r")
route("r-chain-null", {"status": 302, "headers": [ACAO_O, VARY], "location": f"{B}/s/r-chain-null-b/r"})
route("r-chain-null-b", {"status": 200, "headers": [ACAO_O, VARY]})
scen("r-chain-null", f"{A}/s/r-chain-null/r")
# response formats
for name, resp in [
    ("f-gzip", {"status": 200, "headers": [ACAO_O, VARY], "gzip": True, "body_size": 5000}),
    ("f-chunked-no-acao", {"status": 200, "headers": [], "chunked": 3}),
    ("f-chunked-ok", {"status": 200, "headers": [ACAO_O, VARY], "chunked": 3}),
    ("f-split-head", {"status": 200, "headers": [ACAO_O, VARY], "split_head": True}),
    ("f-large", {"status": 200, "headers": [ACAO_O, VARY], "body_size": 300000}),
    ("f-204", {"status": 204, "headers": [ACAO_O, VARY]}),
    ("f-500-no-acao", {"status": 500, "headers": []}),
    ("f-raw-acac-twice", {"status": 200, "headers": [ACAO_O, VARY], "raw_headers": ["Access-Control-Allow-Credentials: true", "Access-Control-Allow-Credentials: true"]}),
]:
    route(name, resp)
    cred = "include" if name == "f-raw-acac-twice" else "same-origin"
    scen(name, f"{S if cred == 'include' else A}/s/{name}/r", credentials=cred)
# credentials to the same-site API (the page's cookie goes with `include`)
for name, headers, cred in [
    ("c-site-ok", [ACAO_O, ACAC, VARY], "include"), ("c-site-no-acac", [ACAO_O, VARY], "include"),
    ("c-site-star", [STAR], "include"), ("c-site-so-star", [STAR], "same-origin"),
    ("c-site-omit-reflect", [ACAO_O, VARY], "omit")]:
    route(name, {"status": 200, "headers": headers}); scen(name, f"{S}/s/{name}/r", credentials=cred)
# forms and HEAD
route("fm-form-star", {"status": 200, "headers": [STAR]}); scen("fm-form-star", f"{A}/s/fm-form-star/r", method="POST", form=[["a", "1"], ["b", "2"]])
route("fm-form-no-acao"); scen("fm-form-no-acao", f"{A}/s/fm-form-no-acao/r", method="POST", form=[["a", "1"]])
route("h-head-star", {"status": 200, "headers": [STAR]}); scen("h-head-star", f"{A}/s/h-head-star/r", method="HEAD")
json.dump({"set": "probe2", "origins": {"page": P, "api": A, "api2": B, "site": S},
           "pages": {"main": {"set_cookie": "sid=2; Domain=app.test; Path=/; SameSite=Lax"}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
