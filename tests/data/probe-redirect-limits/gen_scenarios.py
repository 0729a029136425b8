import json, sys
https = len(sys.argv) > 1 and sys.argv[1] == "https"
sch = "https" if https else "http"
P, A, B = f"{sch}://app.test:8920", f"{sch}://api.test:8921", f"{sch}://api2.test:8922"
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*"); VARY = H("Vary", "Origin")
def scen(id, srv, desc, method="GET", hdrs=(), body=None, kind="fetch", cred="same-origin", base=A):
    sc.append({"id": id, "description": desc, "page": "page", "kind": kind, "url": f"{base}/s/{srv}", "method": method,
               "mode": "cors", "credentials": cred, "request_headers": [list(h) for h in hdrs], "body": body})
def chain(prefix, n, final_headers):
    for k in range(n):
        routes[f"{prefix}{k}/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{A}/s/{prefix}{k+1}/r"}}
    routes[f"{prefix}{n}/r"] = {"actual": {"status": 200, "headers": final_headers}}
chain("rl20-", 20, [ACAO, VARY]); scen("rl-20-redirects", "rl20-0/r", "20 redirects within the API, then 200 (every hop reflects)")
chain("rl21-", 21, [ACAO, VARY]); scen("rl-21-redirects", "rl21-0/r", "21 redirects within the API, then 200 (every hop reflects)")
routes["rdata/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "location": "data:text/plain,hi"}}
scen("rx-to-data", "rdata/r", "GET redirected to a data: URL")
routes["rempty/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "raw_headers": ["Location: "]}}
scen("rx-empty-location", "rempty/r", "GET answered 302 with an empty Location")
routes["rbad/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "location": "http://[bad"}}
scen("rx-bad-location", "rbad/r", "GET answered 302 with an unparsable Location")
routes["rself/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{A}/s/rself/r"}}
scen("rx-self-loop", "rself/r", "GET redirected to itself (a loop)")
routes["rport/r"] = {"actual": {"status": 302, "headers": [ACAO, VARY], "location": f"{sch}://api.test:8922/s/rport2/r"}}
routes["rport2/r"] = {"actual": {"status": 200, "headers": [STAR]}}
scen("rx-other-port", "rport/r", "GET redirected to the same host on another port, which answers *")
routes["rpost307/r"] = {"actual": {"status": 307, "headers": [ACAO, VARY], "location": f"{B}/s/rpost307b/r"}}
routes["rpost307b/r"] = {"actual": {"status": 200, "headers": [STAR]}}
scen("rx-post-307-api2", "rpost307/r", "simple POST text/plain 307 to a second API answering *", method="POST", hdrs=[("Content-Type", "text/plain")], body="x")
routes["rcred307/r"] = {"actual": {"status": 307, "headers": [ACAO, VARY, H("Access-Control-Allow-Credentials", "true")], "location": f"{B}/s/rcred307b/r"}}
routes["rcred307b/r"] = {"actual": {"status": 200, "headers": [ACAO, VARY, H("Access-Control-Allow-Credentials", "true")]}}
scen("rx-cred-307-api2-reflect", "rcred307/r", "credentialed GET 307 to a second API that reflects (null) + ACAC", cred="include")
d = {"set": "probe13" + ("-https" if https else ""), "origins": {"page": P, "api": A, "api2": B},
     "pages": {"main": {}}, "routes": routes, "scenarios": sc}
json.dump(d, sys.stdout, indent=1)
