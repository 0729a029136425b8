#!/bin/bash
# run-firefox.sh OUTDIR: records the scenarios in headless Firefox ESR over HTTP/3 (aioquic), with the key log.
# Same flow as run.sh (Chromium): server, tcpdump on lo, browser with SSLKEYLOGFILE, wait for results.json.
set -u
OUT=$(realpath -m "$1"); mkdir -p "$OUT"; cd "$(dirname "$0")"
rm -f "$OUT"/results.json "$OUT"/keylog.txt "$OUT"/capture.pcap server-keylog.txt

# --- fresh profile -----------------------------------------------------------
PROF=$(mktemp -d /tmp/h3lab-ffprof.XXXXXX)
certutil -N -d sql:"$PROF" --empty-password
certutil -A -n lab -t "CT,," -i cert.pem -d sql:"$PROF"
# The lab cert is self-signed with CA:TRUE; mozilla::pkix refuses a CA cert as the server's
# end-entity cert even when it is a trusted root (MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY),
# so also add a certificate exception (cert_override.txt) for both origins.
FP=$(openssl x509 -in cert.pem -noout -fingerprint -sha256 | cut -d= -f2)
{ echo "# PSM Certificate Override Settings file"
  echo "# This is a generated file!  Do not edit."
  printf 'app.test:4433:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n' "$FP"
  printf 'api.test:4433:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n' "$FP"
} > "$PROF/cert_override.txt"
cat > "$PROF/user.js" <<'EOF'
// HTTP/3 straight to the lab server (no TCP listener, so no Alt-Svc discovery)
user_pref("network.http.http3.enable", true);
user_pref("network.http.http3.alt-svc-mapping-for-testing", "app.test;h3=:4433,api.test;h3=:4433");
user_pref("network.http.http3.force-use-alt-svc-mapping-for-testing", true);
// the lab root is a "third-party root": without this Firefox turns HTTP/3 off
user_pref("network.http.http3.disable_when_third_party_roots_found", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("network.http.http3.enable_0rtt", false);
// name resolution: app.test/api.test -> localhost; IPv4 only (server listens on 127.0.0.1)
user_pref("network.dns.localDomains", "app.test,api.test");
user_pref("network.dns.disableIPv6", true);
user_pref("network.trr.mode", 5);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.predictor.enabled", false);
user_pref("network.proxy.type", 0);
// console messages to stdout
user_pref("devtools.console.stdout.content", true);
user_pref("devtools.console.stdout.chrome", true);
user_pref("browser.dom.window.dump.enabled", true);
// noise off: first run, updates, telemetry, safebrowsing, captive portal, ...
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.startup.firstrunSkipsHomepage", true);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.newtabpage.activity-stream.feeds.system.topstories", false);
user_pref("browser.newtabpage.activity-stream.feeds.snippets", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.policy.firstRunURL", "");
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.server", "");
user_pref("app.update.enabled", false);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.safebrowsing.provider.google4.updateURL", "");
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("captivedetect.canonicalURL", "");
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("media.gmp-manager.url", "");
user_pref("browser.region.network.url", "");
user_pref("browser.ping-centre.telemetry", false);
user_pref("network.http.http3.enable_qlog", false);
EOF
# Firefox sends QUIC with UDP GSO: on lo, tcpdump sees the unsplit super-datagram (several
# short-header packets glued together, e.g. one 12.5 kB "packet"), which no dissector can split.
# So send one QUIC packet per datagram, unless FF_GSO=1 (keep Firefox's default).
if [ "${FF_GSO:-0}" != 1 ]; then
  echo 'user_pref("network.http.http3.max_gso_segments", 1);' >> "$PROF/user.js"
fi

# --- server, capture, browser -------------------------------------------------
python3 server.py scen.json "$OUT"/results.json > "$OUT"/server.log 2>&1 &
SP=$!
tcpdump -i lo -w "$OUT"/capture.pcap -U 'udp port 4433 or tcp port 4433' > "$OUT"/tcpdump.log 2>&1 &
TP=$!
sleep 1.5
# Console messages: devtools.console.stdout.content only prints console.* API calls, not the
# CORS errors Firefox reports through the console service, so (unless FF_BIDI=0) start Firefox
# with its WebDriver BiDi remote agent on about:blank; ffconsole.py subscribes to log.entryAdded
# and then navigates the tab to the lab page (console entries -> OUT/console.ndjson).
URL=https://app.test:4433/
BIDI_PORT=${BIDI_PORT:-9229}
if [ "${FF_BIDI:-1}" = 1 ]; then START=about:blank; RA="--remote-debugging-port $BIDI_PORT"; else START=$URL; RA=; fi
SSLKEYLOGFILE="$OUT"/keylog.txt MOZ_CRASHREPORTER_DISABLE=1 \
  timeout 45 firefox-esr --headless --no-remote --profile "$PROF" $RA $START \
  > "$OUT"/firefox.log 2>&1 &
FP=$!
if [ "${FF_BIDI:-1}" = 1 ]; then
  python3 ffconsole.py $BIDI_PORT $URL "$OUT"/console.ndjson > "$OUT"/console.txt 2>&1 &
  BP=$!
fi
for i in $(seq 1 80); do [ -s "$OUT"/results.json ] && break; sleep 0.5; done
sleep 1
# stop Firefox (the timeout wrapper forwards TERM to firefox-esr), then capture and server
kill $FP 2>/dev/null
for i in $(seq 1 20); do kill -0 $FP 2>/dev/null || break; sleep 0.25; done
kill -9 $FP 2>/dev/null
sleep 0.5
kill $TP $SP ${BP:-} 2>/dev/null; wait 2>/dev/null
cp server-keylog.txt "$OUT"/server-keylog.txt 2>/dev/null
cp "$PROF"/user.js "$OUT"/user.js
echo "profile: $PROF"
cat "$OUT"/results.json 2>/dev/null || echo "NO results.json"; echo
ls -la "$OUT"
