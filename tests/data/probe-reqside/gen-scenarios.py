import json, sys
PAGE = "http://app.req.test:8780"
API = "http://api.req.test:8781"
routes, scen = {}, []
NOPF = {"actual": {"status": 200, "headers": [["Access-Control-Allow-Origin", "{origin}"], ["Vary", "Origin"]]}}

def add(id, method, headers, body=None, desc=""):
    routes[f"{id}/r"] = NOPF
    scen.append({"id": id, "description": desc, "url": f"{API}/s/{id}/r", "method": method,
                 "request_headers": headers, "body": body})

ct = {
 "ct-plain": "text/plain", "ct-trailing-semi": "text/plain;", "ct-param-novalue": "text/plain; charset",
 "ct-param-empty": "text/plain;charset=", "ct-junk-nosemi": "text/plain x",
 "ct-junk-then-param": "text/plain x;charset=utf-8", "ct-comma-param": "text/plain;a=b,c",
 "ct-two-types": "text/plain,text/html", "ct-upper": "TEXT/PLAIN", "ct-space-semi": "text/plain ; charset=utf-8",
 "ct-tab-param": "text/plain;\tcharset=utf-8", "ct-mp-boundary": "multipart/form-data; boundary=----x",
 "ct-mp-noboundary": "multipart/form-data", "ct-mp-empty-boundary": "multipart/form-data; boundary=",
 "ct-latin1-param": "text/plain; charset=\u00e9", "ct-latin1-subtype": "text/plain\u00e9",
 "ct-double-semi": "text/plain;;", "ct-empty-name": "text/plain;=x", "ct-dup-param": "text/plain;a=b;a=c",
 "ct-quoted": "text/plain; charset=\"utf-8\"", "ct-ad-auction": "message/ad-auction-trusted-signals-request",
 "ct-slash-subtype": "text/plain/x", "ct-form-charset": "application/x-www-form-urlencoded;charset=UTF-8",
 "ct-trailing-semi-param": "text/plain;charset=utf-8;", "ct-param-space-value": "text/plain; a=b c",
 "ct-space-in-subtype": "text/pla in", "ct-param-trailing-junk": "text/plain;charset=utf-8 x",
 "ct-empty": "", "ct-128": "text/plain;a=" + "b" * (128 - 13), "ct-129": "text/plain;a=" + "b" * (129 - 13),
 "ct-param-noeq": "text/plain;a", "ct-json": "application/json", "ct-space-before-slash": "text /plain",
 "ct-param-eq-only": "text/plain;=", "ct-comma-only-param": "text/plain;,", "ct-comma-end": "text/plain,",
 "ct-mp-comma-boundary": "multipart/form-data; boundary=a,b", "ct-star": "text/*",
 "ct-form-upper": "Application/X-WWW-Form-Urlencoded", "ct-param-tab-value": "text/plain;a=b\tc",
 "ct-mp-long-boundary": "multipart/form-data; boundary=" + "-" * 60 + "WebKitFormBoundaryAbc",
 "ct-del-param": "text/plain;a=\u007f",
}
for k, v in ct.items():
    add(k, "POST", [["Content-Type", v]], "x", f"Content-Type: {v!r}")

acc = {"acc-json": "application/json", "acc-128": "a" * 128, "acc-129": "a" * 129, "acc-paren": "text/(x)",
       "acc-colon": "a:b", "acc-latin1": "text/\u00e9", "acc-tab": "text/html,\tapplication/json", "acc-empty": "",
       "acc-space": "text/html, application/json;q=0.9", "acc-brace": "a{b", "acc-del": "a\u007fb", "acc-quote": "a\"b",
       "acc-vtab": "a\u000bb"}
for k, v in acc.items():
    add(k, "GET", [["Accept", v]], None, f"Accept: {v!r}")
for hn, pre in (("Accept-Language", "al"), ("Content-Language", "cl")):
    vals = {"ok": "en-US,en;q=0.9", "underscore": "en_US", "empty": "", "slash": "en/US", "latin1": "\u00e9",
            "128": "a" * 128, "129": "a" * 129, "star": "*", "tab": "en,\tde", "plus": "en+US", "colon": "de:DE"}
    for k, v in vals.items():
        add(f"{pre}-{k}", "GET", [[hn, v]], None, f"{hn}: {v!r}")
rg = {"rg-ok": "bytes=0-99", "rg-open": "bytes=100-", "rg-suffix": "bytes=-500", "rg-multi": "bytes=0-9,20-29",
      "rg-reversed": "bytes=10-5", "rg-upper": "Bytes=0-1", "rg-allupper": "BYTES=0-1", "rg-space-eq": "bytes = 0-1",
      "rg-space-after-eq": "bytes= 0-1", "rg-space-dash": "bytes=0 - 1", "rg-leading-zero": "bytes=00-01",
      "rg-overflow-start": "bytes=99999999999999999999-", "rg-overflow-end": "bytes=0-99999999999999999999",
      "rg-equal": "bytes=5-5", "rg-empty": "", "rg-trailing-comma": "bytes=0-1,", "rg-i64max": "bytes=9223372036854775807-",
      "rg-u64max": "bytes=18446744073709551615-", "rg-i64max-end": "bytes=0-9223372036854775807",
      "rg-u64max-end": "bytes=0-18446744073709551615", "rg-other-unit": "items=0-1", "rg-plus": "bytes=+1-2",
      "rg-128": "bytes=0-" + "1" * 120, "rg-tab": "bytes=0-1\t2"}
for k, v in rg.items():
    add(k, "GET", [["Range", v]], None, f"Range: {v!r}")
ch = {"ch-intervention": [["Intervention", "<https://x.test/>; level=\"warning\""]],
      "ch-rtt": [["RTT", "50"]], "ch-downlink": [["Downlink", "1.5"]], "ch-ect": [["ECT", "4g"]],
      "ch-ect-bad": [["ECT", "5g"]], "ch-dpr-frac": [["DPR", "1.5"]], "ch-device-memory": [["Device-Memory", "8"]],
      "ch-savedata-upper": [["Save-Data", "ON"]], "ch-width-frac": [["Width", "1.5"]],
      "ch-dpr-exp": [["DPR", "1e2"]], "ch-dpr-dot": [["DPR", "2."]]}
d120 = "1" * 120
ch["sum-over-1024"] = [["Accept", "a" * 120], ["Accept-Language", "a" * 120], ["Content-Language", "a" * 120],
                       ["Intervention", "a" * 120], ["Width", d120], ["Viewport-Width", d120], ["RTT", d120],
                       ["Downlink", d120], ["DPR", d120]]
ch["sum-1024"] = [["Accept", "a" * 128], ["Accept-Language", "a" * 128], ["Content-Language", "a" * 128],
                  ["Intervention", "a" * 128], ["Width", "1" * 128], ["Viewport-Width", "1" * 128],
                  ["RTT", "1" * 128], ["Downlink", "1" * 128]]
ch["sum-1025"] = ch["sum-1024"] + [["ECT", "4g"]]
ch["sum-1025"][0] = ["Accept", "a" * 127]
pass
# 127+7*128 = 1023 + len("slow-2g")=7 -> 1030? adjust below
for k, v in ch.items():
    add(k, "GET", v, None, f"headers {[h[0] for h in v]}")

more = {"rg-i64max-1": "bytes=9223372036854775806-", "rg-i64max-1-end": "bytes=0-9223372036854775806",
        "rg-2p53": "bytes=9007199254740993-", "rg-2p32": "bytes=4294967296-", "rg-plus-end": "bytes=0-+1",
        "rg-upper-plus": "Bytes=+1-2", "rg-mixed": "bYtEs=0-1"}
for k, v in more.items():
    add(k, "GET", [["Range", v]], None, f"Range: {v!r}")
add("acc-latin1-100", "GET", [["Accept", "\u00e9" * 100]], None, "Accept: 100 x e-acute")
# Counterfactual evidence: the same endpoint answers a preflight every browser sends first.
PASS = {"preflight": {"status": 204, "headers": [["Access-Control-Allow-Origin", "{origin}"],
        ["Access-Control-Allow-Methods", "GET, POST"], ["Access-Control-Allow-Headers", "x-probe, content-type, range"],
        ["Access-Control-Max-Age", "0"], ["Vary", "Origin"]]}, "actual": NOPF["actual"]}
for ev, route in (("ev-fail", NOPF), ("ev-pass", PASS)):
    routes[f"{ev}/r"] = route
    u = f"{API}/s/{ev}/r"
    scen.append({"id": f"{ev}-probe", "description": "X-Probe: every browser preflights", "url": u, "method": "POST",
                 "request_headers": [["X-Probe", "1"]], "body": "x"})
    scen.append({"id": f"{ev}-comma", "description": "Content-Type with a comma: only Firefox preflights", "url": u,
                 "method": "POST", "request_headers": [["Content-Type", "text/plain;a=b,c"]], "body": "x"})
    scen.append({"id": f"{ev}-range", "description": "Range: Bytes=0-1: only WebKit does not preflight", "url": u,
                 "method": "GET", "request_headers": [["Range", "Bytes=0-1"]], "body": None})
    scen.append({"id": f"{ev}-hint", "description": "DPR: 2: only Chromium does not preflight", "url": u,
                 "method": "GET", "request_headers": [["DPR", "2"]], "body": None})
out = {"set": "probe-reqside", "origins": {"page": PAGE, "api": API}, "routes": routes, "scenarios": scen}
json.dump(out, open(sys.argv[1], "w"), indent=1, ensure_ascii=False)
print(len(scen))
