#!/usr/bin/env bash
# Reproducible throughput and memory comparison (README "Performance"):
#   benches/compare.sh [WORKDIR]        (default WORKDIR: target/compare, files are reused)
# Generates, with corscope's seeded generators, a ~200 MB capture, ~100 MB, ~1 GB and ~2 GB
# captures (memory check) and a ~500 MB DevTools HAR; then times, on the same files (page
# cache warm, median of RUNS runs, default 3): cat, tshark, corscope --jobs 1 and --jobs 2 on
# the capture; cat, python json.load, jq and corscope on the HAR. Prints a markdown table:
# wall time, MB/s, packets (entries)/s, peak RSS (/usr/bin/time -v), ratios.
# Needs: tshark (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark), jq, python3,
# /usr/bin/time. A busy machine makes the numbers noisy: the load is printed first.
set -euo pipefail
cd "$(dirname "$0")/.."
W=${1:-target/compare}
RUNS=${RUNS:-3}
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/corscope
mkdir -p "$W"

gen() { # kind file bytes
  [ -s "$2" ] || "$BIN" "generate-$1" "$2" --bytes "$3" --seed 1 2>&1 | sed 's/^/  /' >&2
}
gen pcap "$W/cap200.pcap" 200000000
gen pcap "$W/cap100.pcap" 100000000
gen pcap "$W/cap1g.pcap" 1000000000
gen pcap "$W/cap2g.pcap" 2000000000
gen har "$W/har500.har" 500000000

# Packets in a capture / entries in a HAR (counted once, outside the timings).
count_packets() {
  python3 - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    f.read(24); n = 0
    while True:
        h = f.read(16)
        if len(h) < 16: break
        f.seek(struct.unpack('<I', h[8:12])[0], 1); n += 1
print(n)
EOF
}
PKTS=$(count_packets "$W/cap200.pcap")
ENTRIES=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['log']['entries']))" "$W/har500.har")

# median wall seconds and max peak RSS (KB) of RUNS runs of "$@" (stdout discarded)
measure() {
  local times=() rss=0 t r
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$W/.time" "$@" > /dev/null 2> "$W/.stderr" || true
    read -r t r < <(tail -1 "$W/.time")
    times+=("$t")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" "$rss"
}

size_mb() { python3 -c "import os,sys; print(round(os.path.getsize(sys.argv[1]) / 1e6))" "$1"; }
CAP_MB=$(size_mb "$W/cap200.pcap")
HAR_MB=$(size_mb "$W/har500.har")
cat "$W"/*.pcap "$W/har500.har" > /dev/null # warm the page cache

echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/Mem:/{print $2}') GiB;" \
  "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Files: $(basename "$W/cap200.pcap") ${CAP_MB} MB, ${PKTS} packets; $(basename "$W/har500.har") ${HAR_MB} MB, ${ENTRIES} entries"
echo

row() { # label file_mb items items_name time rss base_time base_name
  python3 - "$@" <<'EOF'
import sys
label, mb, items, what, t, rss, base, basename = sys.argv[1:9]
mb, items, t, rss, base = float(mb), float(items), float(t), int(rss), float(base)
t = max(t, 1e-3)
ratio = f"{base / t:.1f}× {basename}" if basename != "-" else ""
print(f"| {label} | {t:.2f} s | {mb / t:,.0f} MB/s | {items / t:,.0f} {what}/s | {rss / 1024:,.0f} MB | {ratio} |")
EOF
}

echo "| command | time | throughput | rate | peak RSS | speed ratio |"
echo "|---|---|---|---|---|---|"
read -r t_cat r_cat < <(measure cat "$W/cap200.pcap")
read -r t_ts r_ts < <(measure tshark -r "$W/cap200.pcap" -Y http.request -T fields -e http.request.method)
read -r t_j1 r_j1 < <(measure "$BIN" analyze "$W/cap200.pcap" --format ndjson --jobs 1)
read -r t_j2 r_j2 < <(measure "$BIN" analyze "$W/cap200.pcap" --format ndjson --jobs 2)
row "\`cat\` (capture)" "$CAP_MB" "$PKTS" packets "$t_cat" "$r_cat" "$t_ts" "tshark"
row "\`tshark -Y http.request -T fields -e http.request.method\`" "$CAP_MB" "$PKTS" packets "$t_ts" "$r_ts" "$t_ts" "tshark"
row "\`corscope --jobs 1\` (capture)" "$CAP_MB" "$PKTS" packets "$t_j1" "$r_j1" "$t_ts" "tshark"
row "\`corscope --jobs 2\` (capture)" "$CAP_MB" "$PKTS" packets "$t_j2" "$r_j2" "$t_ts" "tshark"
read -r t_hcat r_hcat < <(measure cat "$W/har500.har")
read -r t_py r_py < <(measure python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$W/har500.har")
read -r t_jq r_jq < <(measure jq '.log.entries|length' "$W/har500.har")
read -r t_h1 r_h1 < <(measure "$BIN" analyze "$W/har500.har" --format ndjson --jobs 1)
read -r t_h2 r_h2 < <(measure "$BIN" analyze "$W/har500.har" --format ndjson --jobs 2)
row "\`cat\` (HAR)" "$HAR_MB" "$ENTRIES" entries "$t_hcat" "$r_hcat" "$t_py" "python"
row "\`python3 json.load\`" "$HAR_MB" "$ENTRIES" entries "$t_py" "$r_py" "$t_py" "python"
row "\`jq '.log.entries\\|length'\`" "$HAR_MB" "$ENTRIES" entries "$t_jq" "$r_jq" "$t_py" "python"
row "\`corscope --jobs 1\` (HAR)" "$HAR_MB" "$ENTRIES" entries "$t_h1" "$r_h1" "$t_py" "python"
row "\`corscope --jobs 2\` (HAR)" "$HAR_MB" "$ENTRIES" entries "$t_h2" "$r_h2" "$t_py" "python"
echo
python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'Capture: --jobs 2 is {a/max(b,1e-3):.2f}x --jobs 1; HAR: --jobs 2 is', end=' ')" "$t_j1" "$t_j2"
python3 -c "import sys; a,b=map(float,sys.argv[1:]); print(f'{a/max(b,1e-3):.2f}x --jobs 1')" "$t_h1" "$t_h2"

echo
echo "Memory: peak RSS against capture size (same traffic, seed 1)"
echo
echo "| capture | --jobs 1 | --jobs 2 |"
echo "|---|---|---|"
for f in cap100.pcap cap200.pcap cap1g.pcap cap2g.pcap; do
  read -r _ m1 < <(RUNS=1 measure "$BIN" analyze "$W/$f" --format ndjson --jobs 1)
  read -r _ m2 < <(RUNS=1 measure "$BIN" analyze "$W/$f" --format ndjson --jobs 2)
  echo "| $f ($(size_mb "$W/$f") MB) | $((m1 / 1024)) MB | $((m2 / 1024)) MB |"
done
# The outputs of --jobs 1 and --jobs 2 are byte-identical:
"$BIN" analyze "$W/cap200.pcap" --format ndjson --jobs 1 > "$W/j1.ndjson" || true
"$BIN" analyze "$W/cap200.pcap" --format ndjson --jobs 2 > "$W/j2.ndjson" || true
cmp -s "$W/j1.ndjson" "$W/j2.ndjson" && echo && echo "--jobs 1 and --jobs 2 outputs are identical ($(wc -l < "$W/j1.ndjson") records)"
