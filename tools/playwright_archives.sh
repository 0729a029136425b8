#!/usr/bin/env bash
# Records Playwright's archives of a probe scenario file in Chromium (the fixtures
# tests/data/chromium/playwright-trace.zip and playwright.har.zip):
#   tools/playwright_archives.sh SCENARIOS.json OUTDIR
# Runs the shared probe (../shared/tools/probe/run.sh) twice from a private copy whose driver
# is changed in two places: the first run also traces the context
# (`context.tracing.start({ snapshots: true })`, Playwright's network log is only recorded with
# snapshots, as Playwright Test's `trace: 'on'` does) and writes OUTDIR/trace/trace.zip; the
# second records the HAR to a `.zip` path (OUTDIR/harzip/playwright.har.zip).
set -euo pipefail
SPEC=$(realpath "$1")
OUT=$(realpath -m "$2")
PROBE=$(cd "$(dirname "$0")/../../shared/tools/probe" && pwd -P)
COPY=$(mktemp -d)
trap 'rm -rf "$COPY"' EXIT
cp -p "$PROBE"/* "$COPY"/
python3 - "$COPY/driver.mjs" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
har = "recordHar: { path: path.join(outDir, 'playwright.har'), content: 'embed', mode: 'full' },"
close = "await context.close(); // flushes playwright.har"
start = "// Chromium runs in its own process group"
for old in (har, close, start):
    assert old in s, old
s = s.replace(har, "recordHar: { path: path.join(outDir, process.env.PW_HAR_ZIP ? 'playwright.har.zip' : 'playwright.har'), content: 'embed', mode: 'full' },")
s = s.replace(close, "if (process.env.PW_TRACE) await context.tracing.stop({ path: path.join(outDir, 'trace.zip') });\n" + close)
s = s.replace(start, "if (process.env.PW_TRACE) await context.tracing.start({ screenshots: false, snapshots: true });\n" + start, 1)
open(p, 'w').write(s)
PY
PROBE_COPY=1 PW_TRACE=1 bash "$COPY/run.sh" "$SPEC" "$OUT/trace"
PROBE_COPY=1 PW_HAR_ZIP=1 bash "$COPY/run.sh" "$SPEC" "$OUT/harzip"
