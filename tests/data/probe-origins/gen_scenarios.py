import json, sys
https = len(sys.argv) > 1 and sys.argv[1] == "https"
sch = "https" if https else "http"
P, A, B, Q, S2 = (f"{sch}://app.test:8910", f"{sch}://api.test:8911", f"{sch}://api2.test:8912",
                  f"{sch}://page2.test:8913", f"{sch}://api.app.test:8914")
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*")
VARY = H("Vary", "Origin"); ACAC = H("Access-Control-Allow-Credentials", "true")
STATIC = H("Access-Control-Allow-Origin", P)
def acam(v): return H("Access-Control-Allow-Methods", v)
def acah(v): return H("Access-Control-Allow-Headers", v)
JSON = [("Content-Type", "application/json")]
def add(id, route, method="GET", kind="fetch", cred="same-origin", hdrs=(), body=None, desc="", page="page", base=A, mode="cors"):
    routes.update(route)
    srv = next(iter(route))
    sc.append({"id": id, "description": desc, "page": page, "kind": kind, "url": f"{base}/s/{srv}", "method": method,
               "mode": mode, "credentials": cred, "request_headers": [list(h) for h in hdrs], "body": body})
AL = [P]
def al(extra=()): return {"status": 200, "headers": list(extra), "allow_origins": AL}
for page in ("page", "page2"):
    sfx = "" if page == "page" else "-p2"
    w = "the page" if page == "page" else "the second page"
    add(f"og-allowlist-cred{sfx}", {f"ogalc{sfx}/r": {"actual": al([ACAC])}}, cred="include", page=page, desc=f"credentialed GET from {w}, allow-list + ACAC")
    add(f"og-reflect-cred-no-acac{sfx}", {f"ogrcn{sfx}/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, cred="include", page=page, desc=f"credentialed GET from {w}, reflect, no ACAC")
    add(f"og-static-cred{sfx}", {f"ogsc{sfx}/r": {"actual": {"status": 200, "headers": [STATIC, ACAC]}}}, cred="include", page=page, desc=f"credentialed GET from {w}, static page origin + ACAC")
    add(f"og-allowlist-pf-cred{sfx}", {f"ogapc{sfx}/r": {"preflight": {"status": 204, "headers": [acam("PUT"), acah("Content-Type"), ACAC], "allow_origins": AL}, "actual": al([ACAC])}},
        method="PUT", hdrs=JSON, body='{"a":1}', cred="include", page=page, desc=f"credentialed PUT JSON from {w}, allow-list on preflight and response")
    add(f"og-static-pf-star-actual{sfx}", {f"ogspa{sfx}/r": {"preflight": {"status": 204, "headers": [STATIC, acam("DELETE")]}, "actual": {"status": 200, "headers": [STAR]}}},
        method="DELETE", page=page, desc=f"DELETE from {w}, static preflight ACAO, actual *")
    add(f"og-allowlist-redirect{sfx}", {f"ogard{sfx}/r": {"actual": {"status": 302, "headers": [], "allow_origins": AL, "location": f"{A}/s/ogard2{sfx}/r"}},
        f"ogard2{sfx}/r": {"actual": al()}}, page=page, desc=f"GET from {w}, allow-listing redirect within the API, allow-list final")
    add(f"og-xhr-allowlist{sfx}", {f"ogxa{sfx}/r": {"actual": al()}}, kind="xhr", page=page, desc=f"XHR GET from {w}, allow-list")
    add(f"og-head-allowlist{sfx}", {f"ogha{sfx}/r": {"actual": al()}}, method="HEAD", page=page, desc=f"HEAD from {w}, allow-list")
    add(f"og-site-cred-reflect{sfx}", {f"ogscr{sfx}/r": {"actual": {"status": 200, "headers": [ACAO, ACAC, VARY]}}}, cred="include", page=page, base=S2,
        desc=f"credentialed GET from {w} to the API on the first page's site, reflect + ACAC")
    add(f"og-site-pf-allowlist{sfx}", {f"ogspl{sfx}/r": {"preflight": {"status": 204, "headers": [acam("PATCH")], "allow_origins": AL}, "actual": al()}},
        method="PATCH", body="x", page=page, base=S2, desc=f"PATCH from {w} to the API on the first page's site, allow-list")
    add(f"og-page-origin-target{sfx}", {f"ogpt{sfx}/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, page=page, base=P, desc=f"GET from {w} to the first page's origin, reflect")
    add(f"og-page2-target{sfx}", {f"ogp2t{sfx}/r": {"actual": {"status": 200, "headers": [STATIC]}}}, page=page, base=Q, desc=f"GET from {w} to the second page's origin, static first page origin")
d = {"set": "probe12" + ("-https" if https else ""), "origins": {"page": P, "api": A, "api2": B, "page2": Q, "apisite": S2},
     "pages": {"main": {"set_cookie": "sid=p12; Domain=app.test; Path=/; SameSite=Lax"}, "second": {"set_cookie": "sid2=p12; Path=/"}}, "routes": routes, "scenarios": sc}
json.dump(d, sys.stdout, indent=1)
