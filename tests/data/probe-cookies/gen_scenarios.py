#!/usr/bin/env python3
"""Writes the probe input of this recording: gen_scenarios.py > scenarios.json"""
import json, sys
P, S = "http://app.test:8850", "http://api.app.test:8852"
routes, sc = {}, []
ACAO_O = ["Access-Control-Allow-Origin", "{origin}"]; VARY = ["Vary", "Origin"]
ACAC = ["Access-Control-Allow-Credentials", "true"]; STAR = ["Access-Control-Allow-Origin", "*"]
def pair(name, cookie):
    routes[f"{name}-set/r"] = {"actual": {"status": 200, "headers": [ACAO_O, ACAC, VARY, ["Set-Cookie", cookie]]}}
    routes[f"{name}-use/r"] = {"actual": {"status": 200, "headers": [STAR]}}
    sc.append({"id": f"{name}-set", "page": "page", "kind": "fetch", "url": f"{S}/s/{name}-set/r", "method": "GET",
               "mode": "cors", "credentials": "include", "request_headers": [], "body": None})
    sc.append({"id": f"{name}-use", "page": "page", "kind": "fetch", "url": f"{S}/s/{name}-use/r", "method": "GET",
               "mode": "cors", "credentials": "include", "request_headers": [], "body": None})
pair("j-none-insecure", "t1=1; Path=/; SameSite=None")
pair("j-secure-on-http", "t2=1; Path=/; Secure")
pair("j-lax", "t3=1; Path=/; SameSite=Lax")
pair("j-strict", "t4=1; Path=/; SameSite=Strict")
pair("j-path", "t5=1; Path=/other")
pair("j-domain-other", "t6=1; Path=/; Domain=other.test")
pair("j-expired", "t7=1; Path=/; Max-Age=0")
pair("j-host-prefix", "__Host-t8=1; Path=/")
json.dump({"set": "probe5", "origins": {"page": P, "site": S}, "pages": {"main": {}},
           "routes": routes, "scenarios": sc}, sys.stdout, indent=1)
