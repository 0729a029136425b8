import json, sys
P, A, B = "http://app.test:8870", "http://api.test:8871", "http://api2.test:8872"
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*")
VARY = H("Vary", "Origin"); ACAC = H("Access-Control-Allow-Credentials", "true")
def acam(v): return H("Access-Control-Allow-Methods", v)
def acah(v): return H("Access-Control-Allow-Headers", v)
def add(id, route, url=None, method="GET", kind="fetch", cred="same-origin", hdrs=(), body=None, desc="", **kw):
    routes.update(route)
    srv = next(iter(route)) if route else None
    s = {"id": id, "description": desc, "page": "page", "kind": kind,
         "url": url or f"{A}/s/{srv}", "method": method, "mode": "cors", "credentials": cred,
         "request_headers": [list(h) for h in hdrs], "body": body}
    s.update(kw); sc.append(s)
JSON = [("Content-Type", "application/json")]
PF_OK = lambda m="PUT", h="Content-Type", extra=(): {"status": 204, "headers": [ACAO, acam(m), acah(h), VARY, *extra]}
# --- redirects ---
add("r-307-put-cross-origin-star", {"r307a/r": {"preflight": PF_OK(), "actual": {"status": 307, "headers": [ACAO, VARY], "location": f"{B}/s/r307b/r"}},
    "r307b/r": {"preflight": {"status": 204, "headers": [STAR, acam("PUT"), acah("Content-Type")]}, "actual": {"status": 200, "headers": [STAR]}}},
    method="PUT", hdrs=JSON, body='{"a":1}', desc="preflighted PUT 307 to another origin; both allow *")
add("r-307-put-cross-origin-reflect", {"r307c/r": {"preflight": PF_OK(), "actual": {"status": 307, "headers": [ACAO, VARY], "location": f"{B}/s/r307d/r"}},
    "r307d/r": {"preflight": {"status": 204, "headers": [ACAO, acam("PUT"), acah("Content-Type"), VARY]}, "actual": {"status": 200, "headers": [ACAO, VARY]}}},
    method="PUT", hdrs=JSON, body='{"a":1}', desc="preflighted PUT 307 to another origin which reflects Origin (null)")
add("r-303-post-to-get", {"r303a/r": {"actual": {"status": 303, "headers": [ACAO, VARY], "location": f"{A}/s/r303b/r"}},
    "r303b/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}},
    method="POST", hdrs=[("Content-Type", "text/plain")], body="x", desc="simple POST answered 303, GET follows on the same origin")
add("r-302-back-to-page", {"r302p/r": {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{P}/s/r302q/r"}},
    "r302q/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}},
    desc="cross-origin GET redirected back to the page origin, which reflects Origin (null)")
add("r-302-back-to-page-no-acao", {"r302r/r": {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{P}/s/r302s/r"}},
    "r302s/r": {"actual": {"status": 200, "headers": []}}},
    desc="cross-origin GET redirected back to the page origin, which sends no ACAO")
add("r-302-no-location", {"r302n/r": {"actual": {"status": 302, "headers": [ACAO, VARY]}}},
    desc="GET answered 302 without Location, with ACAO")
add("r-302-no-location-no-acao", {"r302m/r": {"actual": {"status": 302, "headers": []}}},
    desc="GET answered 302 without Location, no ACAO")
add("r-301-hop-star-credentials", {"r301c/r": {"actual": {"status": 301, "headers": [STAR], "location": f"{A}/s/r301d/r"}},
    "r301d/r": {"actual": {"status": 200, "headers": [ACAO, ACAC, VARY]}}},
    cred="include", desc="credentialed GET whose redirect hop has ACAO *")
add("r-308-relative", {"r308a/r": {"actual": {"status": 308, "headers": [ACAO, VARY], "location": "/s/r308b/r"}},
    "r308b/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}},
    desc="GET 308 with a relative Location within the API")
add("r-xhr-cross-to-cross", {"rx1/r": {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{B}/s/rx2/r"}},
    "rx2/r": {"actual": {"status": 200, "headers": [STAR]}}},
    kind="xhr", desc="XHR GET redirected to a second API that answers *")
# --- preflight status variants ---
for st in (200, 206, 299, 300, 304, 400):
    add(f"pf-status-{st}", {f"pfs{st}/r": {"preflight": {"status": st, "headers": [ACAO, acam("DELETE"), VARY]}, "actual": {"status": 200, "headers": [ACAO, VARY]}}},
        method="DELETE", desc=f"DELETE, preflight answered {st} with full CORS headers")
# --- ACAO / ACAC variants ---
def simple(id, hdrs, desc, cred="same-origin", kind="fetch", raw=None):
    r = {"status": 200, "headers": hdrs}
    if raw: r["raw_headers"] = raw
    add(id, {f"{id}/r": {"actual": r}}, cred=cred, kind=kind, desc=desc)
simple("o-upper-scheme", [H("Access-Control-Allow-Origin", "HTTP://app.test:8870")], "ACAO with an upper-case scheme")
simple("o-upper-host", [H("Access-Control-Allow-Origin", "http://APP.test:8870")], "ACAO with an upper-case host")
simple("o-star-padded", [], "ACAO ' * ' padded", raw=["Access-Control-Allow-Origin:  *  "])
simple("o-empty", [H("Access-Control-Allow-Origin", "")], "ACAO present but empty")
simple("o-star-and-origin", [STAR, ACAO], "two ACAO lines: * and the origin")
simple("o-tab", [], "ACAO origin after a tab", raw=["Access-Control-Allow-Origin:\thttp://app.test:8870"])
simple("o-star-xhr", [STAR], "XHR, ACAO *", kind="xhr")
simple("c-true-trailing-space", [ACAO, VARY], "ACAC 'true ' (trailing space)", cred="include", raw=["Access-Control-Allow-Credentials: true "])
simple("c-true-twice", [ACAO, VARY, ACAC, ACAC], "ACAC sent twice", cred="include")
simple("c-true-list", [ACAO, VARY, H("Access-Control-Allow-Credentials", "true, true")], "ACAC 'true, true'", cred="include")
simple("c-empty", [ACAO, VARY, H("Access-Control-Allow-Credentials", "")], "ACAC empty", cred="include")
simple("c-xhr-no-acac", [ACAO, VARY], "XHR withCredentials, no ACAC", cred="include", kind="xhr")
# --- ACAM / ACAH written oddly ---
def pf(id, pfh, method="PUT", hdrs=JSON, body='{"a":1}', desc="", cred="same-origin", kind="fetch"):
    add(id, {f"{id}/r": {"preflight": {"status": 204, "headers": pfh}, "actual": {"status": 200, "headers": [ACAO, VARY] + ([ACAC] if cred == "include" else [])}}},
        method=method, hdrs=hdrs, body=body, cred=cred, kind=kind, desc=desc)
pf("m-trailing-comma", [ACAO, acam("PUT,"), acah("Content-Type"), VARY], desc="ACAM 'PUT,'")
pf("m-empty-element", [ACAO, acam("GET,,PUT"), acah("Content-Type"), VARY], desc="ACAM 'GET,,PUT'")
pf("m-spaces", [ACAO, acam(" GET ,  PUT "), acah("Content-Type"), VARY], desc="ACAM ' GET ,  PUT '")
pf("m-star-and-put-cred", [ACAO, ACAC, acam("*, PUT"), acah("Content-Type"), VARY], cred="include", desc="ACAM '*, PUT' with credentials")
pf("h-star-auth-listed", [ACAO, acam("GET"), acah("*, Authorization"), VARY], method="GET", hdrs=[("Authorization", "Bearer x")], body=None, desc="ACAH '*, Authorization'")
pf("h-empty-value", [ACAO, acam("GET"), acah(""), VARY], method="GET", hdrs=[("X-Api-Key", "k")], body=None, desc="ACAH empty, custom header")
pf("h-trailing-comma", [ACAO, acam("GET"), acah("x-api-key,"), VARY], method="GET", hdrs=[("X-Api-Key", "k")], body=None, desc="ACAH 'x-api-key,'")
pf("h-xhr-missing", [ACAO, acam("GET"), acah("X-Other"), VARY], method="GET", hdrs=[("X-Api-Key", "k")], body=None, kind="xhr", desc="XHR, ACAH lacks the header")
# --- methods ---
pf("x-options-method", [ACAO, acam("OPTIONS"), VARY], method="OPTIONS", hdrs=(), body=None, desc="fetch with method OPTIONS: preflight then an OPTIONS request")
pf("x-options-method-denied", [ACAO, acam("GET"), VARY], method="OPTIONS", hdrs=(), body=None, desc="fetch with method OPTIONS, ACAM lacks it")
add("x-trace-forbidden", {"xtr/r": {"actual": {"status": 200, "headers": [STAR]}}}, method="TRACE", desc="TRACE is forbidden: nothing sent")
pf("x-head-custom", [ACAO, acam("HEAD"), acah("X-Api-Key"), VARY], method="HEAD", hdrs=[("X-Api-Key", "k")], body=None, desc="HEAD + X-Api-Key, preflight allows")
pf("x-keepalive-put", [ACAO, acam("PUT"), acah("Content-Type"), VARY], kind="fetch-keepalive", desc="keepalive PUT JSON, preflight allows")
# --- statuses of the actual response ---
simple("s-204-acao", [ACAO, VARY], "GET answered 204 with ACAO")
routes["s-204-acao/r"]["actual"]["status"] = 204
simple("s-401-no-acao", [], "GET answered 401 without ACAO")
routes["s-401-no-acao/r"]["actual"]["status"] = 401
json.dump({"set": "probe6", "origins": {"page": P, "api": A, "api2": B}, "pages": {"main": {}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
