#!/usr/bin/env bash
# Records mitmproxy's own HAR export (`mitmdump --set hardump=FILE`) of a probe scenario set run
# in a browser through it, as an SRE or developer records a browser's traffic with a proxy:
#   [BROWSER=chromium|firefox|webkit] tools/mitmproxy_har.sh SCENARIOS.json OUTDIR [PROBE_DIR]
# Runs the project's browser probe (PROBE_DIR, default ../shared/tools/probe) in Chromium (or
# Firefox, or WebKitGTK) from a patched copy whose browser uses a mitmdump on 127.0.0.1 as its
# HTTP proxy (Chromium `--proxy-server`, Firefox `network.proxy.*` prefs, WebKitGTK the
# `http_proxy` environment its network session reads; for Firefox and WebKit plain-HTTP
# scenario sets only: they are not told to accept mitmproxy's certificates). mitmdump
# resolves the scenarios' host names itself, so they are added to /etc/hosts for the run (and
# the file restored on exit). When the probe is done, mitmdump is stopped and writes its HAR
# to OUTDIR/mitmproxy.har (mitmproxy-firefox.har, mitmproxy-webkit.har): mitmproxy's bytes, every exchange it relayed (preflights included;
# nothing of what the browser decided). The probe's own outputs (truth.json, capture.pcap: here
# the browser's traffic to the proxy and the proxy's to the servers, ...) are there too.
# Needs mitmproxy (`pip install mitmproxy`; MITMDUMP names the binary, default `mitmdump`).
# (`tests/data` keeps the HAR gzipped as mitmproxy[-firefox|-webkit].har.gz.)
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,5p "$0" >&2; exit 2; }
SPEC=$(realpath "$1")
OUT=$(realpath -m "$2")
PROBE=${3:-$(dirname "$0")/../../shared/tools/probe}
MITMDUMP=${MITMDUMP:-mitmdump}
BROWSER=${BROWSER:-chromium}
case $BROWSER in
  chromium) HAR=$OUT/mitmproxy.har ;;
  firefox) HAR=$OUT/mitmproxy-firefox.har ;;
  webkit) HAR=$OUT/mitmproxy-webkit.har ;;
  *) echo "mitmproxy_har.sh: BROWSER=$BROWSER: chromium, firefox or webkit" >&2; exit 2 ;;
esac
# Firefox and WebKit are given an HTTP proxy only: their HTTPS requests would bypass it.
if [ "$BROWSER" != chromium ] && python3 -c 'import json, sys
sys.exit(not any(o.startswith("https:") for o in json.load(open(sys.argv[1]))["origins"].values()))' "$SPEC"; then
  echo "mitmproxy_har.sh: BROWSER=$BROWSER takes plain-HTTP scenario sets only" >&2
  exit 2
fi
command -v "$MITMDUMP" > /dev/null || { echo "mitmproxy_har.sh: no $MITMDUMP (pip install mitmproxy)" >&2; exit 2; }
WORK=$(mktemp -d /tmp/mitmproxy-har.XXXXXX)
MITM_PID=
cp -p /etc/hosts "$WORK/hosts.orig"
cleanup() {
  # The hosts file first; a mitmdump already gone must not stop the rest (`set -e`).
  cat "$WORK/hosts.orig" > /etc/hosts
  if [ -n "$MITM_PID" ]; then kill "$MITM_PID" 2> /dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/probe" "$OUT"
cp -r "$PROBE"/. "$WORK/probe"/
chmod -R u+w "$WORK/probe"
# A port free now (a random one was once taken: mitmdump exits, Chromium reports
# ERR_PROXY_CONNECTION_FAILED).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$WORK/probe" "$PORT" "$BROWSER" <<'PY'
import sys
d, port, browser = sys.argv[1:]
if browser == "webkit":
    sys.exit(0)  # no patch: the host's network session reads `http_proxy` (below)
if browser == "chromium":
    p = f"{d}/driver.mjs"
    old = "  `--host-resolver-rules=${HOST_RULES}`,"
    new = old + f"\n  '--proxy-server=http://127.0.0.1:{port}', '--proxy-bypass-list=<-loopback>',"
else:
    p = f"{d}/firefox-driver.mjs"
    old = "  'network.proxy.type': 0,"
    new = f"  'network.proxy.type': 1, 'network.proxy.http': '127.0.0.1', 'network.proxy.http_port': {port},"
s = open(p).read()
assert s.count(old) == 1, f"{p} changed: no {old.strip()!r}"
open(p, "w").write(s.replace(old, new))
PY
# Every host name of the spec's origins and URLs, for mitmdump's resolver.
HOSTS=$(python3 - "$SPEC" <<'PY'
import json, re, sys
spec = json.load(open(sys.argv[1]))
text = json.dumps(spec)
print(" ".join(sorted(set(re.findall(r"https?://([a-z0-9.-]+\.test)\b", text)))))
PY
)
printf '# mitmproxy_har.sh (removed on exit)\n127.0.0.1 %s\n' "$HOSTS" >> /etc/hosts
# HTTPS origins: mitmdump decrypts with its own certificates (the browser is told to accept
# them, as the probe's own TLS runs do) and accepts the probe server's self-signed one.
"$MITMDUMP" -q --listen-host 127.0.0.1 --listen-port "$PORT" --set hardump="$HAR" --ssl-insecure \
  > "$OUT/mitmdump.log" 2>&1 &
MITM_PID=$!
listening=
for _ in $(seq 100); do
  (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && { listening=1; break; }
  kill -0 "$MITM_PID" 2> /dev/null || { cat "$OUT/mitmdump.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$listening" ] || { echo "mitmproxy_har.sh: mitmdump not listening on $PORT after 10 s" >&2; exit 1; }
[ "$BROWSER" = webkit ] && export http_proxy=http://127.0.0.1:$PORT/
bash "$WORK/probe/run.sh" "$SPEC" "$OUT" --browsers "$BROWSER"
# mitmdump writes the HAR when it stops.
kill -INT "$MITM_PID"
wait "$MITM_PID" || true
MITM_PID=
ls -la "$HAR"
