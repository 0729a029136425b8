import json
P="http://app.test:8680"; A="http://api.app.test:8681"
routes={}; scen=[]
def add(id, desc, raw, creds="same-origin", method="GET", preflight=None, body=None):
    r={"actual":{"status":200,"headers":[],"raw_headers":raw}}
    if preflight is not None: r["preflight"]=preflight
    routes[id+"/r"]=r
    scen.append({"id":id,"description":desc,"page":"page","kind":"fetch","url":f"{A}/s/{id}/r","method":method,
      "mode":"cors","credentials":creds,"request_headers":[],"body":body})
O=P
add("p-plain","a plain ACAO line (control)",[f"Access-Control-Allow-Origin: {O}"])
add("p-sp-colon","the only ACAO line has a space before the colon",[f"Access-Control-Allow-Origin : {O}"])
add("p-tab-colon","the only ACAO line has a tab before the colon",[f"Access-Control-Allow-Origin\t: {O}"])
add("p-dup-one-bad","a plain ACAO line and one with a space before the colon",[f"Access-Control-Allow-Origin: {O}",f"Access-Control-Allow-Origin : {O}"])
add("p-acac-sp-colon","credentialed: ACAC with a space before the colon",[f"Access-Control-Allow-Origin: {O}","Access-Control-Allow-Credentials : true"],creds="include")
add("p-acac-dup","credentialed: two ACAC true lines",[f"Access-Control-Allow-Origin: {O}","Access-Control-Allow-Credentials: true","Access-Control-Allow-Credentials: true"],creds="include")
pf={"status":204,"headers":[["Access-Control-Allow-Methods","PUT"],["Access-Control-Max-Age","0"]],"raw_headers":[f"Access-Control-Allow-Origin : {O}"]}
add("p-pf-sp-colon","preflight ACAO with a space before the colon",[f"Access-Control-Allow-Origin: {O}"],method="PUT",preflight=pf,body="x")
add("p-fold-value","ACAO value on an obs-fold continuation line",["Access-Control-Allow-Origin:",f" {O}"])
add("p-fold-extra","ACAO followed by a continuation line",[f"Access-Control-Allow-Origin: {O}"," extra"])
add("p-no-colon","the only ACAO line has no colon",[f"Access-Control-Allow-Origin {O}"])
add("p-nontoken-name","a non-token name line and a line without colon, then a plain ACAO",["X(Bad): 1","Garbage line",f"Access-Control-Allow-Origin: {O}"])
add("p-nul-other","a NUL byte in another header's value, plain ACAO",["X-A: a\u0000b",f"Access-Control-Allow-Origin: {O}"])
add("p-ctl-acao","a 0x01 byte at the end of the ACAO value",[f"Access-Control-Allow-Origin: {O}\u0001"])
for kb in (70,300,400):
    add(f"p-big-{kb}k",f"a {kb} kB header line before a plain ACAO",["X-Big: "+"a"*(kb*1000),f"Access-Control-Allow-Origin: {O}"])
json.dump({"set":"probe-parse","origins":{"page":P,"api":A},
  "pages":{"main":{"set_cookie":"sid=parse-1; Domain=app.test; Path=/; SameSite=Lax"}},
  "routes":routes,"scenarios":scen},open("scenarios-final.json","w"),indent=1)
