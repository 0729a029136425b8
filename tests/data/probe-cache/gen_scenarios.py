#!/usr/bin/env python3
"""Writes the probe input of this recording: gen_scenarios.py > scenarios.json"""
import json, sys
P, P2, A = "http://app.test:8870", "http://app2.test:8872", "http://api.test:8871"
routes, sc = {}, []
ACAO_O = ["Access-Control-Allow-Origin", "{origin}"]; VARY = ["Vary", "Origin"]
ACAC = ["Access-Control-Allow-Credentials", "true"]

def pf(maxage, methods="PUT", headers="x-a", cred=False):
    h = [ACAO_O, ["Access-Control-Allow-Methods", methods], ["Access-Control-Allow-Headers", headers], VARY]
    if maxage is not None: h.append(["Access-Control-Max-Age", maxage])
    if cred: h.append(ACAC)
    return {"status": 204, "headers": h}

OK = {"status": 200, "headers": [ACAO_O, VARY]}
OKC = {"status": 200, "headers": [ACAO_O, ACAC, VARY]}

def route(name, actual=OK, preflight=None):
    routes[name + "/r"] = {"actual": actual, "preflight": preflight} if preflight else {"actual": actual}

def scen(id, srv, **kw):
    d = {"id": id, "page": "page", "kind": "fetch", "url": f"{A}/s/{srv}/r", "method": "PUT", "mode": "cors",
         "credentials": "same-origin", "request_headers": [["X-A", "1"]], "body": "{}"}
    d.update(kw); sc.append(d)

for name, age, wait in [("k-age5-hit", "5", 500), ("k-age1-expired", "1", 1600), ("k-age-neg", "-1", 300),
                        ("k-age-garbage", "abc", 300), ("k-age-absent", None, 300), ("k-age-plus", "+5", 300),
                        ("k-age-space", " 5", 300), ("k-age-huge", "999999999999", 300)]:
    route(name, OK, pf(age))
    scen(f"{name}-1", name); scen(f"{name}-2", name, wait_before_ms=wait)
# a second header the cached entry does not cover
route("k-superset", OK, pf("60"))
scen("k-superset-1", "k-superset"); scen("k-superset-2", "k-superset", request_headers=[["X-A", "1"], ["X-B", "1"]])
# the entry of a credentialed preflight, then an uncredentialed request, and the other way round
route("k-cred-first", OKC, pf("60", cred=True))
scen("k-cred-first-1", "k-cred-first", credentials="include"); scen("k-cred-first-2", "k-cred-first", credentials="omit")
route("k-uncred-first", OKC, pf("60", cred=True))
scen("k-uncred-first-1", "k-uncred-first", credentials="omit"); scen("k-uncred-first-2", "k-uncred-first", credentials="include")
# another page origin, another query
route("k-page2", OK, pf("60"))
scen("k-page2-1", "k-page2"); scen("k-page2-2", "k-page2", page="page2")
route("k-query", OK, pf("60"))
scen("k-query-1", "k-query"); scen("k-query-2", "k-query", url=f"{A}/s/k-query/r?b=2")
# a method the entry does not cover, on a wildcard-less preflight
route("k-method", OK, pf("60", methods="PUT, PATCH"))
scen("k-method-1", "k-method"); scen("k-method-2", "k-method", method="DELETE")
# a request started while the first one's preflight is answered, and one after
route("k-group", OK, {**pf("60"), "delay_ms": 200})
scen("k-group-1", "k-group", group="g1"); scen("k-group-2", "k-group", group="g1", start_delay_ms=500)
json.dump({"set": "probe3", "origins": {"page": P, "page2": P2, "api": A},
           "pages": {"main": {}, "second": {}}, "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
