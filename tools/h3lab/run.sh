#!/bin/bash
# run.sh OUTDIR: records the scenarios in Chromium over HTTP/3 (aioquic), with the key log.
set -u
OUT=$(realpath -m "$1"); mkdir -p "$OUT"; cd "$(dirname "$0")"
rm -f $OUT/results.json $OUT/keylog.txt server-keylog.txt
python3 server.py scen.json $OUT/results.json > $OUT/server.log 2>&1 &
SP=$!
tcpdump -i lo -w $OUT/capture.pcap -U 'udp port 4433' > /dev/null 2>&1 &
TP=$!
sleep 1.5
SSLKEYLOGFILE=$OUT/keylog.txt timeout 40 chromium --headless=new --no-sandbox --disable-gpu \
  --user-data-dir=$(mktemp -d) --enable-quic --origin-to-force-quic-on=app.test:4433,api.test:4433 \
  --host-resolver-rules="MAP app.test 127.0.0.1, MAP api.test 127.0.0.1" \
  --ignore-certificate-errors-spki-list=uvNk+GqEc7RuFJ8FW39N94AldxN2Ylqri0TEJb/kp24= \
  --enable-logging=stderr --v=0 https://app.test:4433/ > $OUT/chromium.log 2>&1 &
CP=$!
for i in $(seq 1 60); do [ -s $OUT/results.json ] && break; sleep 0.5; done
sleep 0.5
kill $CP 2>/dev/null; sleep 0.5; kill $TP $SP 2>/dev/null; wait 2>/dev/null
cp server-keylog.txt $OUT/server-keylog.txt
cat $OUT/results.json; echo; ls -la $OUT
