#!/bin/sh
# Makes the own-*.pcap* captures in tests/data/captures/ (see README.md there). Needs root,
# tcpdump, dumpcap, editcap, curl and python3. All traffic stays on the loopback interface:
# the test server binds 127.0.0.1 and ::1 only.
set -eu
cd "$(dirname "$0")/.."
P4=18080
P6=18081
python3 tools/server.py 127.0.0.1 $P4 & S4=$!
python3 tools/server.py ::1 $P6 & S6=$!
sleep 1

# The same client session each time: keep-alive GETs (Content-Length, chunked with an
# extension and a trailer, 204), a preflight, HEAD, POST, PUT with Expect: 100-continue,
# and a read-until-close response.
session() {
  host=$1
  curl -s -o /dev/null -o /dev/null -o /dev/null \
    "http://$host/a" "http://$host/chunked" "http://$host/empty"
  curl -s -o /dev/null -X OPTIONS -H "Origin: http://app.test" \
    -H "Access-Control-Request-Method: PUT" -H "Access-Control-Request-Headers: x-test" \
    "http://$host/api"
  curl -s -o /dev/null -I "http://$host/head"
  curl -s -o /dev/null -H "Origin: http://app.test" -d 'k=v&x=y' "http://$host/post"
  head -c 3000 /dev/zero | tr '\0' 'p' > /tmp/corscope-body
  curl -s -o /dev/null -X PUT -H "Expect: 100-continue" --data-binary @/tmp/corscope-body \
    "http://$host/put"
  curl -s -o /dev/null "http://$host/close"
}

capture() { # capture OUTFILE TOOL-ARGS...
  out=$1; shift
  "$@" & C=$!
  sleep 1
  session "$HOSTPORT"
  sleep 1
  kill -INT $C; wait $C || true
}

HOSTPORT=127.0.0.1:$P4
capture own-lo-ipv4.pcap tcpdump -q -U -i lo -w own-lo-ipv4.pcap "tcp port $P4"
capture own-any-sll.pcap tcpdump -q -U -i any -y LINUX_SLL -w own-any-sll.pcap "tcp port $P4"
capture own-any-sll2.pcap tcpdump -q -U -i any -y LINUX_SLL2 -w own-any-sll2.pcap "tcp port $P4"
# pcapng from dumpcap, two interfaces of different link types (loopback Ethernet-style and
# Linux "any" cooked): every packet appears twice, once per interface.
capture own-dumpcap-2if.pcapng dumpcap -q -i lo -i any -f "tcp port $P4" -w own-dumpcap-2if.pcapng
HOSTPORT="[::1]:$P6"
capture own-lo-ipv6.pcap tcpdump -q -U -i lo -w own-lo-ipv6.pcap "tcp port $P6"

kill $S4 $S6 2>/dev/null || true

# Derived files.
python3 tools/vlan.py own-lo-ipv4.pcap own-vlan.pcap
python3 tools/vlan.py own-lo-ipv4.pcap own-qinq.pcap --qinq
python3 tools/reorder.py own-lo-ipv4.pcap own-reordered.pcap
editcap -s 200 own-lo-ipv4.pcap own-snaplen200.pcap
# Cut in the middle of a record: the reader must report it after the packets before it.
size=$(stat -c %s own-lo-ipv4.pcap)
head -c $((size * 2 / 3)) own-lo-ipv4.pcap > own-cut.pcap
gzip -9 -n -c own-any-sll2.pcap > own-any-sll2.pcap.gz
rm -f own-any-sll2.pcap
