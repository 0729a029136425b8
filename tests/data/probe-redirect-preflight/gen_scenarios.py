import json, sys
https = len(sys.argv) > 1 and sys.argv[1] == "https"
sch = "https" if https else "http"
P, A, B = f"{sch}://app.test:8895", f"{sch}://api.test:8896", f"{sch}://api2.test:8897"
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*")
VARY = H("Vary", "Origin")
def acam(v): return H("Access-Control-Allow-Methods", v)
def acah(v): return H("Access-Control-Allow-Headers", v)
JSON = [("Content-Type", "application/json")]
PF = {"status": 204, "headers": [ACAO, acam("GET, POST, PUT, DELETE, PATCH"), acah("Content-Type, X-A"), VARY]}
def chain(id, st, method, hdrs, body, to, target_pf, desc, first_pf=True, cred="same-origin"):
    r1 = {"actual": {"status": st, "headers": [ACAO, VARY], "location": f"{to}/s/{id}-b/r"}}
    if first_pf: r1["preflight"] = PF
    r2 = {"actual": {"status": 200, "headers": [ACAO, VARY]}}
    if target_pf: r2["preflight"] = PF
    routes[f"{id}-a/r"] = r1; routes[f"{id}-b/r"] = r2
    sc.append({"id": id, "description": desc, "page": "page", "kind": "fetch", "url": f"{A}/s/{id}-a/r",
               "method": method, "mode": "cors", "credentials": cred, "request_headers": [list(h) for h in hdrs], "body": body})
for tpf, suf in ((True, "pf"), (False, "nopf")):
    w = "answers preflights" if tpf else "has no OPTIONS handler"
    chain(f"rp-delete-303-{suf}", 303, "DELETE", [], None, A, tpf, f"DELETE answered 303: GET follows within the API, which {w}")
    chain(f"rp-post-json-303-{suf}", 303, "POST", JSON, '{"a":1}', A, tpf, f"POST JSON answered 303: GET follows within the API, which {w}")
    chain(f"rp-post-json-307-{suf}", 307, "POST", JSON, '{"a":1}', A, tpf, f"POST JSON answered 307: POST again within the API, which {w}")
    chain(f"rp-put-xa-302-{suf}", 302, "PUT", [("X-A", "1")], "x", A, tpf, f"PUT + X-A answered 302: PUT again within the API, which {w}")
    chain(f"rp-post-json-302-api2-{suf}", 302, "POST", JSON, '{"a":1}', B, tpf, f"POST JSON answered 302: GET follows to a second API, which {w}")
    chain(f"rp-post-text-301-{suf}", 301, "POST", [("Content-Type", "text/plain")], "x", A, tpf, f"simple POST text/plain answered 301: GET follows within the API, which {w}", first_pf=False)
    chain(f"rp-get-xa-302-{suf}", 302, "GET", [("X-A", "1")], None, A, tpf, f"GET + X-A answered 302 within the API, which {w}")
ACAC = H("Access-Control-Allow-Credentials", "true")
def chain2(id, st, method, hdrs, body, to, target_pf, desc, cred="same-origin", first_pf=PF, hop_extra=(), final=None, kind="fetch"):
    r1 = {"actual": {"status": st, "headers": [ACAO, VARY, *hop_extra], "location": f"{to}/s/{id}-b/r"}}
    if first_pf: r1["preflight"] = first_pf
    r2 = {"actual": final or {"status": 200, "headers": [ACAO, VARY]}}
    if target_pf: r2["preflight"] = target_pf
    routes[f"{id}-a/r"] = r1; routes[f"{id}-b/r"] = r2
    sc.append({"id": id, "description": desc, "page": "page", "kind": kind, "url": f"{A}/s/{id}-a/r",
               "method": method, "mode": "cors", "credentials": cred, "request_headers": [list(h) for h in hdrs], "body": body})
GET_ONLY = {"status": 204, "headers": [ACAO, acam("GET"), VARY]}
chain2("rq-post-json-303-no-acah", 303, "POST", JSON, '{"a":1}', A, GET_ONLY, "POST JSON answered 303; the target's preflight allows GET but lists no headers")
chain2("rq-post-json-303-acah-ct", 303, "POST", JSON, '{"a":1}', A, {"status": 204, "headers": [ACAO, acah("Content-Type"), VARY]}, "POST JSON answered 303; the target's preflight lists Content-Type")
chain2("rq-delete-303-no-acao-pf", 303, "DELETE", [], None, A, {"status": 204, "headers": [acam("GET")]}, "DELETE answered 303; the target's preflight has no ACAO")
chain2("rq-delete-303-star-pf", 303, "DELETE", [], None, A, {"status": 204, "headers": [STAR]}, "DELETE answered 303; the target's preflight answers ACAO * only", final={"status": 200, "headers": [STAR]})
chain2("rq-post-form-pf-303", 303, "POST", [("Content-Type", "application/x-www-form-urlencoded"), ("X-A", "1")], "a=1", A, GET_ONLY,
      "POST form + X-A answered 303: the GET keeps X-A; target preflight allows GET only")
chain2("rq-cred-delete-303", 303, "DELETE", [], None, A, {"status": 204, "headers": [ACAO, ACAC, VARY]}, "credentialed DELETE answered 303; target preflight with ACAC",
      cred="include", first_pf={"status": 204, "headers": [ACAO, ACAC, acam("DELETE"), VARY]}, hop_extra=[ACAC], final={"status": 200, "headers": [ACAO, ACAC, VARY]})
chain2("rq-cred-delete-303-no-acac", 303, "DELETE", [], None, A, {"status": 204, "headers": [ACAO, VARY]}, "credentialed DELETE answered 303; target preflight without ACAC",
      cred="include", first_pf={"status": 204, "headers": [ACAO, ACAC, acam("DELETE"), VARY]}, hop_extra=[ACAC], final={"status": 200, "headers": [ACAO, ACAC, VARY]})
chain2("rq-xhr-delete-303-nopf", 303, "DELETE", [], None, A, None, "XHR DELETE answered 303; the target has no OPTIONS handler", kind="xhr")
chain2("rq-delete-303-page", 303, "DELETE", [], None, P, None, "DELETE answered 303 to the page's origin, which has no OPTIONS handler (tainted: Origin null)")
chain2("rq-delete-303-cached", 303, "DELETE", [], None, A, {"status": 204, "headers": [ACAO, acam("GET"), H("Access-Control-Max-Age", "600"), VARY]}, "DELETE answered 303; the target's preflight is cached for 600 s (first)")
sc.append(dict(sc[-1], id="rq-delete-303-cached-2", description="the same again: the target's preflight from the cache"))
chain2("rq-put-307-api2-nopf", 307, "PUT", JSON, '{"a":1}', B, None, "PUT JSON answered 307 to a second API without an OPTIONS handler")
d = {"set": "probe-redirect-preflight" + ("-https" if https else ""), "origins": {"page": P, "api": A, "api2": B},
     "pages": {"main": {}}, "routes": routes, "scenarios": sc}
json.dump(d, sys.stdout, indent=1)
