import json, sys
P, P2, A = "http://app.test:8880", "http://app.test:8883", "http://api.test:8881"
routes, sc = {}, []
def H(n, v): return [n, v]
ACAO = H("Access-Control-Allow-Origin", "{origin}"); STAR = H("Access-Control-Allow-Origin", "*")
VARY = H("Vary", "Origin"); ACAC = H("Access-Control-Allow-Credentials", "true")
def route(name, actual, preflight=None):
    routes[f"{name}/r"] = {"actual": actual, **({"preflight": preflight} if preflight else {})}
def req(id, srv, page="page", method="GET", cred="same-origin", hdrs=(), mode="cors", desc="", **kw):
    s = {"id": id, "description": desc, "page": page, "kind": "fetch", "url": f"{A}/s/{srv}/r",
         "method": method, "mode": mode, "credentials": cred, "request_headers": [list(h) for h in hdrs], "body": None}
    s.update(kw); sc.append(s)
# revalidation: the browser's own conditional headers are not the page's
route("hcetag", {"status": 200, "headers": [ACAO, VARY, H("ETag", '"v1"')], "cache_control": "no-cache"})
req("hc-etag-1", "hcetag", desc="GET, ETag + no-cache (first)")
req("hc-etag-2", "hcetag", desc="GET again: revalidated with If-None-Match")
route("hclm", {"status": 200, "headers": [ACAO, VARY, H("Last-Modified", "Tue, 01 Dec 2026 10:00:00 GMT")], "cache_control": "no-cache"})
req("hc-lm-1", "hclm", desc="GET, Last-Modified + no-cache (first)")
req("hc-lm-2", "hclm", desc="GET again: revalidated with If-Modified-Since")
route("hcetagnoacao", {"status": 200, "headers": [H("ETag", '"v2"')], "cache_control": "no-cache"})
req("hc-etag-noacao-1", "hcetagnoacao", desc="GET, ETag, no ACAO (first)")
req("hc-etag-noacao-2", "hcetagnoacao", desc="GET again, revalidated, no ACAO")
# fresh responses: the second request never reaches the network
route("hcfresh", {"status": 200, "headers": [STAR], "cache_control": "max-age=600"})
req("hc-fresh-1", "hcfresh", desc="GET, ACAO *, max-age=600 (first)")
req("hc-fresh-2", "hcfresh", desc="GET again: from the HTTP cache")
route("hcnocors", {"status": 200, "headers": [], "cache_control": "max-age=600"})
req("hc-nocors-then-cors-1", "hcnocors", mode="no-cors", desc="no-cors GET, no ACAO, max-age=600")
req("hc-nocors-then-cors-2", "hcnocors", desc="cors GET of the same URL: the cached answer has no ACAO")
route("hccred", {"status": 200, "headers": [ACAO, ACAC, VARY], "cache_control": "max-age=600"})
req("hc-cred-1", "hccred", cred="include", desc="credentialed GET, max-age=600 (first)")
req("hc-cred-2", "hccred", cred="include", desc="credentialed GET again, from cache")
route("hcpf", {"status": 200, "headers": [ACAO, VARY], "cache_control": "max-age=600"},
      {"status": 204, "headers": [ACAO, VARY, H("Access-Control-Allow-Headers", "X-Api-Key"), H("Access-Control-Max-Age", "0")]})
req("hc-preflighted-1", "hcpf", hdrs=[("X-Api-Key", "k")], desc="GET + X-Api-Key, preflight Max-Age 0, response max-age=600 (first)")
req("hc-preflighted-2", "hcpf", hdrs=[("X-Api-Key", "k")], desc="again: preflight sent, response from cache")
# shared cache between two same-site pages (ports differ): Vary decides
route("hcshare", {"status": 200, "headers": [ACAO], "cache_control": "max-age=600"})
route("hcsharevary", {"status": 200, "headers": [ACAO, VARY], "cache_control": "max-age=600"})
req("hc-share-novary-1", "hcshare", desc="reflecting server without Vary, max-age=600, from the page")
req("hc-share-vary-1", "hcsharevary", desc="reflecting server with Vary: Origin, max-age=600, from the page")
req("hc-share-novary-2", "hcshare", page="page2", desc="same URL from a same-site page on another port")
req("hc-share-vary-2", "hcsharevary", page="page2", desc="same URL with Vary from the other page")
# range
route("rg206", {"status": 206, "headers": [ACAO, VARY, H("Content-Range", "bytes 0-9/100")], "body": "0123456789", "content_type": "text/plain"})
req("rg-206-acao", "rg206", hdrs=[("Range", "bytes=0-9")], desc="Range bytes=0-9 answered 206 with ACAO")
route("rg206n", {"status": 206, "headers": [H("Content-Range", "bytes 0-9/100")], "body": "0123456789", "content_type": "text/plain"})
req("rg-206-no-acao", "rg206n", hdrs=[("Range", "bytes=0-9")], desc="Range answered 206 without ACAO")
# FormData body (multipart: safelisted)
route("fd", {"status": 200, "headers": [ACAO, VARY]})
req("fd-multipart", "fd", method="POST", form=[["a", "1"], ["b", "2"]], desc="POST FormData (multipart, no preflight)")
route("fdn", {"status": 200, "headers": []})
req("fd-multipart-no-acao", "fdn", method="POST", form=[["a", "1"]], desc="POST FormData, no ACAO")
json.dump({"set": "probe7", "origins": {"page": P, "page2": P2, "api": A}, "pages": {"main": {}, "second": {}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
