#!/usr/bin/env python3
"""Writes the probe input of this recording: gen_scenarios.py > scenarios.json"""
import json, sys
P, A = "http://app.test:8860", "http://api.test:8861"
routes, sc = {}, []
ACAO_O = ["Access-Control-Allow-Origin", "{origin}"]; VARY = ["Vary", "Origin"]
OK = {"status": 200, "headers": [ACAO_O, VARY]}
def pf(extra, raw=None):
    r = {"status": 204, "headers": [ACAO_O, VARY, ["Access-Control-Max-Age", "0"]] + extra}
    if raw: r["raw_headers"] = raw
    return r
def add(name, preflight, method="PUT", headers=(("X-A", "1"),), actual=OK, cred="same-origin"):
    routes[name + "/r"] = {"actual": actual, "preflight": preflight}
    sc.append({"id": name, "page": "page", "kind": "fetch", "url": f"{A}/s/{name}/r", "method": method,
               "mode": "cors", "credentials": cred, "request_headers": [list(h) for h in headers], "body": "{}"})
M = "Access-Control-Allow-Methods"; H = "Access-Control-Allow-Headers"
add("l-acah-trailing-comma", pf([[M, "PUT"], [H, "x-a,"]]))
add("l-acah-leading-comma", pf([[M, "PUT"], [H, ",x-a"]]))
add("l-acah-double-comma", pf([[M, "PUT"], [H, "x-b,,x-a"]]))
add("l-acah-empty", pf([[M, "PUT"], [H, ""]]))
add("l-acah-two-lines", pf([[M, "PUT"], [H, "x-b"], [H, "x-a"]]))
add("l-acah-spaces", pf([[M, "PUT"], [H, "  x-b ,   x-a  "]]))
add("l-acah-quoted", pf([[M, "PUT"], [H, '"x-a"']]))
add("l-acam-trailing-comma", pf([[M, "PUT,"], [H, "x-a"]]))
add("l-acam-semicolon", pf([[M, "GET; PUT"], [H, "x-a"]]))
add("l-acam-space-sep", pf([[M, "GET PUT"], [H, "x-a"]]))
add("l-acam-empty", pf([[M, ""], [H, "x-a"]]))
add("l-acam-star-cred", pf([[M, "*"], [H, "x-a"], ["Access-Control-Allow-Credentials", "true"]]),
    actual={"status": 200, "headers": [ACAO_O, VARY, ["Access-Control-Allow-Credentials", "true"]]}, cred="include")
add("l-acac-space", pf([[M, "PUT"], [H, "x-a"]], raw=["Access-Control-Allow-Credentials:  true "]),
    actual={"status": 200, "headers": [ACAO_O, VARY], "raw_headers": ["Access-Control-Allow-Credentials: true"]}, cred="include")
add("l-acah-star-quoted", pf([[M, "PUT"], [H, '"*"']]))
add("l-acah-unicode", pf([[M, "PUT"], [H, "x-a, x-\u00e9"]]))
add("l-acam-lower-put", pf([[M, "put"], [H, "x-a"]]))
add("l-acam-patch-upper", pf([[M, "PATCH"], [H, "x-a"]]), method="patch")
json.dump({"set": "probe4", "origins": {"page": P, "api": A}, "pages": {"main": {}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
