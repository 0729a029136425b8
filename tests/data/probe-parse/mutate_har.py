#!/usr/bin/env python3
"""Mutated copies of devtools.har.gz for the HAR tests (issue 19 item 2); run from this folder.

devtools-reversed.har.gz       entries in reverse order (the headersSize baseline is per file)
devtools-spaced-names.har.gz   the responses that had a `Name : value` line lose their headersSize
                               and list that header with its name as `"Name "` (as an exporter that
                               keeps raw names would): the evidence is then the name itself
"""
import gzip, json

SPACED = {"p-sp-colon": "access-control-allow-origin", "p-tab-colon": "access-control-allow-origin",
          "p-dup-one-bad": "access-control-allow-origin", "p-acac-sp-colon": "access-control-allow-credentials"}

har = json.load(gzip.open("devtools.har.gz"))
rev = json.loads(json.dumps(har))
rev["log"]["entries"].reverse()
with gzip.open("devtools-reversed.har.gz", "wt") as f:
    json.dump(rev, f)

for e in har["log"]["entries"]:
    r = e["response"]
    route = e["request"]["url"].split("/s/")[-1].split("/")[0]
    name = SPACED.get(route)
    if route == "p-pf-sp-colon" and e["request"]["method"] == "OPTIONS":
        name = "access-control-allow-origin"
    if name:
        r["headersSize"] = -1
        last = [h for h in r["headers"] if h["name"].lower() == name][-1]
        last["name"] += " "
with gzip.open("devtools-spaced-names.har.gz", "wt") as f:
    json.dump(har, f)
