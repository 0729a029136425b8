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
d = {"set": "probe9" + ("-https" if https else ""), "origins": {"page": P, "api": A, "api2": B},
     "pages": {"main": {}}, "routes": routes, "scenarios": sc}
json.dump(d, sys.stdout, indent=1)
