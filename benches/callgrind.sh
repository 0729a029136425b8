#!/usr/bin/env bash
# Instruction counts per packet (README "Performance"): machine-independent figures beside
# the wall times of benches/compare.sh.
#   benches/callgrind.sh [WORKDIR]      (default WORKDIR: target/compare, files are reused)
# Generates a ~20 MB plain-HTTP capture, the same size of HTTP/2 over TLS 1.3 and of HTTP/3 over
# QUIC (`--quic-keylog`), and a plain one
# whose requests are 90 % no-cors subresource loads (`--non-cors-percent 90`, as most production
# traffic is not cross-origin), all seed 1, runs
# `corscope analyze --format ndjson --jobs 1` on each under `valgrind --tool=callgrind`, and
# prints a markdown table (instructions in total, per packet, per byte, per output record) and the
# top functions by their own instructions (callgrind_annotate, inlined code folded into its
# function). Needs valgrind (apt-get install -y valgrind). TOP: functions listed (default 12).
# Under valgrind the CPU has no SHA extensions and no VAES (its CPUID hides them), so TLS key
# derivation runs ring's SHA-256 without them and AES-GCM its AES-NI code: the TLS figures
# overstate the handshake's and the decryption's share on a CPU with them.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-target/compare}
TOP=${TOP:-12}
command -v valgrind > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind > /dev/null
cargo build --profile release-lto --quiet
BIN=${CARGO_TARGET_DIR:-target}/release-lto/corscope
mkdir -p "$W"
[ -s "$W/cap20.pcap" ] || "$BIN" generate-pcap "$W/cap20.pcap" --bytes 20000000 --seed 1
[ -s "$W/tls20.pcap" ] || "$BIN" generate-pcap "$W/tls20.pcap" --bytes 20000000 --seed 1 --tls-keylog "$W/tls20.keys"
[ -s "$W/noncors20.pcap" ] || "$BIN" generate-pcap "$W/noncors20.pcap" --bytes 20000000 --seed 1 --non-cors-percent 90
[ -s "$W/h320.pcap" ] || "$BIN" generate-pcap "$W/h320.pcap" --bytes 20000000 --seed 1 --quic-keylog "$W/h320.keys"

# Folds callgrind_annotate's per-file lines into functions: "share name" of the TOP largest.
fold() {
  python3 -c '
import collections, re, sys
agg, total = collections.Counter(), 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if not m:
        continue
    n, rest = int(m.group(1).replace(",", "")), m.group(2)
    if "PROGRAM TOTALS" in rest:
        total = n
        continue
    name = rest.split(":", 1)[1] if ":" in rest else rest
    agg[re.sub(r" \[.*\]$", "", name)] += n
for name, n in agg.most_common(int(sys.argv[1])):
    print(f"| {100 * n / total:.1f} % | `{name[:110]}` |")
' "$TOP"
}

echo "| capture | packets | records | instructions | per packet | per byte | per record |"
echo "|---|---|---|---|---|---|---|"
for kind in plain tls noncors quic; do
  case $kind in
    plain) f="$W/cap20.pcap" keys=() ;;
    tls) f="$W/tls20.pcap" keys=(--keylog "$W/tls20.keys") ;;
    noncors) f="$W/noncors20.pcap" keys=() ;;
    quic) f="$W/h320.pcap" keys=(--keylog "$W/h320.keys") ;;
  esac
  valgrind --tool=callgrind --callgrind-out-file="$W/cg.$kind.out" "$BIN" analyze "$f" "${keys[@]}" \
    --format ndjson --jobs 1 > "$W/cg.$kind.ndjson" 2> "$W/cg.$kind.err" || true # exit 1: findings
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$W/cg.$kind.err")
  python3 - "$f" "$ir" "$(wc -l < "$W/cg.$kind.ndjson")" "$kind" <<'EOF'
import os, struct, sys
path, ir, records, kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
packets = 0
with open(path, "rb") as f:
    f.read(24)
    while len(h := f.read(16)) == 16:
        f.seek(struct.unpack("<I", h[8:12])[0], 1)
        packets += 1
size = os.path.getsize(path)
print(f"| {kind} ({size / 1e6:.0f} MB) | {packets:,} | {records:,} | {ir / 1e6:,.0f} M | {ir / packets:,.0f}"
      f" | {ir / size:.1f} | {ir / records:,.0f} |")
EOF
done
for kind in plain tls noncors quic; do
  echo
  echo "Top functions by own instructions, $kind:"
  echo
  echo "| share | function |"
  echo "|---|---|"
  callgrind_annotate --auto=no "$W/cg.$kind.out" | fold
done
