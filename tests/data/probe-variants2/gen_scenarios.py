import json, sys
https = len(sys.argv) > 1 and sys.argv[1] == "https"
sch = "https" if https else "http"
P, A, B, Q, S2 = (f"{sch}://app.test:8890", f"{sch}://api.test:8891", f"{sch}://api2.test:8892",
                  f"{sch}://page2.test:8893", f"{sch}://api.app.test:8894")
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*")
VARY = H("Vary", "Origin"); ACAC = H("Access-Control-Allow-Credentials", "true")
def acam(v): return H("Access-Control-Allow-Methods", v)
def acah(v): return H("Access-Control-Allow-Headers", v)
def add(id, route, url=None, method="GET", kind="fetch", cred="same-origin", hdrs=(), body=None, desc="", mode="cors", page="page", base=A, **kw):
    routes.update(route)
    srv = next(iter(route)) if route else None
    s = {"id": id, "description": desc, "page": page, "kind": kind,
         "url": url or f"{base}/s/{srv}", "method": method, "mode": mode, "credentials": cred,
         "request_headers": [list(h) for h in hdrs], "body": body}
    s.update(kw); sc.append(s)
JSON = [("Content-Type", "application/json")]
def simple(id, hdrs, desc, cred="same-origin", kind="fetch", raw=None, rh=(), method="GET", body=None, mode="cors", page="page", base=A, status=200):
    r = {"status": status, "headers": hdrs}
    if raw: r["raw_headers"] = raw
    add(id, {f"{id}/r": {"actual": r}}, cred=cred, kind=kind, desc=desc, hdrs=rh, method=method, body=body, mode=mode, page=page, base=base)
def pf(id, pfr, act, method="PUT", hdrs=JSON, body='{"a":1}', desc="", cred="same-origin", kind="fetch", page="page", base=A):
    route = {"actual": act}
    if pfr is not None: route["preflight"] = pfr
    add(id, {f"{id}/r": route}, method=method, hdrs=hdrs, body=body, desc=desc, cred=cred, kind=kind, page=page, base=base)
OK = {"status": 200, "headers": [ACAO, VARY]}
OKC = {"status": 200, "headers": [ACAO, ACAC, VARY]}
# --- safelisted request headers ---
simple("sl-accept-128", [ACAO, VARY], "Accept of exactly 128 bytes stays simple (server has no OPTIONS handler)", rh=[("Accept", "a/" + "b" * 126)])
simple("sl-accept-129", [ACAO, VARY], "Accept of 129 bytes needs a preflight (no OPTIONS handler)", rh=[("Accept", "a/" + "b" * 127)])
simple("sl-ct-upper", [ACAO, VARY], "POST Content-Type Text/Plain (MIME type case) stays simple", rh=[("Content-Type", "Text/Plain")], method="POST", body="x")
simple("sl-ct-form-charset", [ACAO, VARY], "POST form-urlencoded;charset=UTF-8 stays simple", rh=[("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")], method="POST", body="a=1")
simple("sl-ct-empty", [ACAO, VARY], "POST with an empty Content-Type needs a preflight (no OPTIONS handler)", rh=[("Content-Type", "")], method="POST", body="x")
simple("sl-ct-multipart-noboundary", [ACAO, VARY], "POST multipart/form-data without boundary stays simple", rh=[("Content-Type", "multipart/form-data")], method="POST", body="x")
simple("sl-ct-two-types", [ACAO, VARY], "POST Content-Type 'text/plain, application/json' (no OPTIONS handler)", rh=[("Content-Type", "text/plain, application/json")], method="POST", body="x")
simple("sl-range-open", [ACAO, VARY], "GET Range bytes=100- stays simple", rh=[("Range", "bytes=100-")])
simple("sl-range-suffix", [ACAO, VARY], "GET Range bytes=-100 (suffix) needs a preflight (no OPTIONS handler)", rh=[("Range", "bytes=-100")])
simple("sl-range-space", [ACAO, VARY], "GET Range 'bytes=0- 99' (whitespace) needs a preflight (no OPTIONS handler)", rh=[("Range", "bytes=0- 99")])
simple("sl-accept-lang-q", [ACAO, VARY], "Accept-Language en-US,en;q=0.9 stays simple", rh=[("Accept-Language", "en-US,en;q=0.9")])
simple("sl-content-lang-underscore", [ACAO, VARY], "Content-Language en_US needs a preflight (no OPTIONS handler)", rh=[("Content-Language", "en_US")])
pf("sl-custom-plus-safelisted", {"status": 204, "headers": [ACAO, acah("X-A"), VARY]}, OK, method="GET", hdrs=[("X-A", "1"), ("Accept", "text/csv"), ("Content-Language", "de")], body=None,
   desc="GET + X-A + Accept + Content-Language; ACAH lists X-A only")
pf("sl-ct-json-charset", {"status": 204, "headers": [ACAO, acah("content-type"), VARY]}, OK, method="POST", hdrs=[("Content-Type", "application/json; charset=utf-8")],
   desc="POST application/json; charset=utf-8, ACAH content-type")
# --- credentials ---
simple("c-acac-capital-true", [ACAO, H("Access-Control-Allow-Credentials", "True"), VARY], "credentialed GET, ACAC 'True'", cred="include")
simple("c-site-acac-true", [ACAO, ACAC, VARY], "credentialed GET to the same-site API, reflect + ACAC", cred="include", base=S2)
simple("c-site-acac-missing", [ACAO, VARY], "credentialed GET to the same-site API (cookie sent), no ACAC", cred="include", base=S2)
simple("c-xhr-cred-reflect", [ACAO, ACAC, VARY], "XHR withCredentials, reflect + ACAC", cred="include", kind="xhr")
pf("c-pf-cred-acah-star-and-name", {"status": 204, "headers": [ACAO, ACAC, acam("PUT"), acah("*, Content-Type"), VARY]}, OKC, cred="include",
   desc="credentialed PUT JSON, ACAH '*, Content-Type' lists it by name")
pf("c-pf-cred-actual-star", {"status": 204, "headers": [ACAO, ACAC, acam("PUT"), acah("Content-Type"), VARY]}, {"status": 200, "headers": [STAR, ACAC]}, cred="include",
   desc="credentialed PUT, preflight ok, actual ACAO * + ACAC")
# --- preflights ---
pf("pf-star-then-reflect", {"status": 204, "headers": [STAR, acam("PUT"), acah("Content-Type")]}, OK, desc="PUT JSON, preflight ACAO *, actual reflects")
pf("pf-post-json-no-acam", {"status": 204, "headers": [ACAO, acah("Content-Type"), VARY]}, OK, method="POST", desc="POST JSON, preflight without ACAM (POST needs none)")
pf("pf-acah-star-and-auth", {"status": 204, "headers": [ACAO, acah("*, Authorization"), VARY]}, OK, method="GET", hdrs=[("Authorization", "Bearer x")], body=None,
   desc="GET + Authorization, ACAH '*, Authorization'")
pf("pf-acah-order-case", {"status": 204, "headers": [ACAO, acah("X-C, x-a, X-B"), VARY]}, OK, method="GET", hdrs=[("X-A", "1"), ("X-B", "2"), ("X-C", "3")], body=None,
   desc="GET + three headers, ACAH lists them in another order and case")
pf("pf-delete-with-body", {"status": 204, "headers": [ACAO, acam("DELETE"), VARY]}, OK, method="DELETE", hdrs=[], body="x",
   desc="DELETE with a text body, ACAM DELETE")
pf("pf-body-200", {"status": 200, "headers": [ACAO, acam("PUT"), acah("Content-Type"), VARY], "body": "ok", "content_type": "text/plain"}, OK,
   desc="PUT JSON, preflight 200 with a body")
pf("pf-split-head", {"status": 204, "headers": [ACAO, acam("PUT"), acah("Content-Type"), VARY], "split_head": True}, OK, desc="PUT JSON, preflight head written in two pieces")
pf("pf-raw-lower-nospace", {"status": 204, "headers": [], "raw_headers": ["access-control-allow-origin:" + P, "access-control-allow-methods:PUT", "access-control-allow-headers:content-type"]}, OK,
   desc="PUT JSON, preflight headers lower-case without a space after the colon")
pf("pf-acah-obs-fold", {"status": 204, "headers": [ACAO, VARY], "raw_headers": ["Access-Control-Allow-Headers: X-A,", " X-B"]}, OK, method="GET", hdrs=[("X-A", "1"), ("X-B", "2")], body=None,
   desc="GET + X-A + X-B, ACAH folded over two lines (obs-fold)")
pf("pf-acao-path", {"status": 204, "headers": [H("Access-Control-Allow-Origin", P + "/page/main"), acam("PUT"), acah("Content-Type")]}, OK,
   desc="PUT JSON, preflight ACAO is the page URL (with a path)")
pf("pf-acao-trailing-comma", {"status": 204, "headers": [H("Access-Control-Allow-Origin", P + ","), acam("PUT"), acah("Content-Type")]}, OK,
   desc="PUT JSON, preflight ACAO is the origin with a trailing comma")
pf("pf-xhr-acam-missing", {"status": 204, "headers": [ACAO, acam("GET, POST"), VARY]}, OK, method="PATCH", hdrs=[], body="x", kind="xhr",
   desc="XHR PATCH, ACAM GET, POST")
# --- redirects ---
add("r-302-cred-to-api2-star", {"r2cs/r": {"actual": {"status": 302, "headers": [ACAO, ACAC, VARY], "location": f"{B}/s/r2cs2/r"}},
    "r2cs2/r": {"actual": {"status": 200, "headers": [STAR, ACAC]}}}, cred="include", desc="credentialed GET 302 to a second API answering * + ACAC")
add("r-301-post-json", {"r301pj/r": {"preflight": {"status": 204, "headers": [ACAO, acah("Content-Type"), VARY]}, "actual": {"status": 301, "headers": [ACAO, VARY], "location": f"{A}/s/r301pj2/r"}},
    "r301pj2/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, method="POST", hdrs=JSON, body='{"a":1}',
    desc="preflighted POST JSON answered 301: GET follows within the API")
add("r-302-hop-star", {"r2hs/r": {"actual": {"status": 302, "headers": [STAR], "location": f"{A}/s/r2hs2/r"}},
    "r2hs2/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, desc="GET whose redirect hop has ACAO *, final reflects")
add("r-302-hop-mismatch", {"r2hm/r": {"actual": {"status": 302, "headers": [H("Access-Control-Allow-Origin", "http://other.test:8890")], "location": f"{A}/s/r2hm2/r"}},
    "r2hm2/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, desc="GET whose redirect hop names another origin")
add("r-302-fragment", {"r2fr/r": {"actual": {"status": 302, "headers": [ACAO, VARY], "location": "/s/r2fr2/r#frag"}},
    "r2fr2/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, desc="GET 302 to a relative Location with a fragment")
add("r-xhr-302-to-api2-no-acao", {"rx3/r": {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{B}/s/rx4/r"}},
    "rx4/r": {"actual": {"status": 200, "headers": []}}}, kind="xhr", desc="XHR GET redirected to a second API without ACAO")
# --- no-cors, same-origin mode ---
simple("n-post-json-dropped", [], "no-cors POST with Content-Type application/json (the header is dropped)", mode="no-cors", method="POST", body='{"a":1}', rh=JSON)
simple("n-head", [], "no-cors HEAD", mode="no-cors", method="HEAD")
simple("n-cred-include", [], "no-cors GET with credentials include", mode="no-cors", cred="include")
add("n-redirect-cross", {"nrc/r": {"actual": {"status": 302, "headers": [], "location": f"{B}/s/nrc2/r"}},
    "nrc2/r": {"actual": {"status": 200, "headers": []}}}, mode="no-cors", desc="no-cors GET redirected to another origin")
simple("n-delete", [], "no-cors DELETE: rejected before anything is sent", mode="no-cors", method="DELETE")
add("so-redirect-to-cross", {"sorc/r": {"actual": {"status": 302, "headers": [], "location": f"{A}/s/sorc2/r"}},
    "sorc2/r": {"actual": {"status": 200, "headers": [ACAO, VARY]}}}, url=f"{P}/s/sorc/r", mode="same-origin", desc="mode same-origin GET of the page origin redirected to the API")
add("sa-redirect-to-cross", {"sarc/r": {"actual": {"status": 302, "headers": [], "location": f"{A}/s/sarc2/r"}},
    "sarc2/r": {"actual": {"status": 200, "headers": []}}}, url=f"{P}/s/sarc/r", desc="same-origin GET redirected to the API, which sends no ACAO")
# --- second page ---
simple("pg2-cred-reflect", [ACAO, ACAC, VARY], "from the second page (another site): credentialed GET, reflect + ACAC", cred="include", page="page2")
pf("pg2-static-preflight", {"status": 204, "headers": [H("Access-Control-Allow-Origin", P), acam("PUT"), acah("Content-Type")]}, {"status": 200, "headers": [H("Access-Control-Allow-Origin", P)]},
   page="page2", desc="from the second page: PUT JSON, preflight ACAO = the first page origin")
simple("pg2-star", [STAR], "from the second page: GET, ACAO *", page="page2")
# --- responses ---
simple("rs-acao-long-garbage", [H("Access-Control-Allow-Origin", "x" * 2000)], "GET, ACAO is 2000 bytes of garbage")
simple("rs-many-headers", [ACAO, VARY] + [H(f"X-Filler-{i}", "v" * 40) for i in range(120)], "GET, reflect among 120 other headers")
simple("rs-302-no-location-star", [STAR], "GET answered 302 without Location, ACAO *", status=302)
d = {"set": "probe8" + ("-https" if https else ""), "origins": {"page": P, "api": A, "api2": B, "page2": Q, "apisite": S2},
     "pages": {"main": {"set_cookie": "sid=p8; Domain=app.test; Path=/; SameSite=Lax"}, "second": {}}, "routes": routes, "scenarios": sc}
json.dump(d, sys.stdout, indent=1)
