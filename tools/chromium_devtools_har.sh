#!/usr/bin/env bash
# Records Chromium's own DevTools HAR export of a probe scenario set:
#   tools/chromium_devtools_har.sh SCENARIOS.json OUTDIR [PROBE_DIR]
# Runs the project's browser probe (PROBE_DIR, default ../shared/tools/probe) in Chromium from a
# patched copy, headful under its own Xvfb with `--auto-open-devtools-for-tabs` (DevTools open on
# every tab before its page loads, as a developer who opens DevTools and reloads). After a tab's
# last scenario the driver evaluates, inside that tab's DevTools front end, what the Network
# panel's "Export HAR" runs: `NetworkLogView.harRequests()`'s requests (the network log's,
# HTTP(S)/WebSocket, finished) through `HAR.Writer.Writer.harStringForRequests`, once with
# sensitive data (`{sanitize: false}`: "Export HAR (with sensitive data)") and once without
# (`{sanitize: true}`, the button's default since Chromium 130: no cookies, no
# `Authorization`). The strings are written as they are to
# OUTDIR/chromium-devtools-<page>.har and OUTDIR/chromium-devtools-sanitized-<page>.har
# (`main`, `second`); only the file dialog is skipped. The probe's own outputs (truth.json,
# capture.pcap, its emulated devtools.har, ...) are there too. (`tests/data` keeps them
# gzipped as chromium-devtools[-sanitized].har.gz for `main`, ...-page2.har.gz for `second`.)
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,3p "$0" >&2; exit 2; }
SPEC=$(realpath "$1")
OUT=$(realpath -m "$2")
PROBE=${3:-$(dirname "$0")/../../shared/tools/probe}
command -v Xvfb > /dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends xvfb > /dev/null; }
WORK=$(mktemp -d /tmp/chromium-devtools.XXXXXX)
XVFB_PID=
trap '[ -n "$XVFB_PID" ] && kill "$XVFB_PID" 2> /dev/null; rm -rf "$WORK"' EXIT
cp -r "$PROBE"/. "$WORK"/
chmod -R u+w "$WORK"
PORT=$((20000 + RANDOM % 20000))
python3 - "$WORK/driver.mjs" "$PORT" <<'PY'
import sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
def patch(anchor, text, how):
    global s
    assert s.count(anchor) == 1, f"probe changed: anchor not found once: {anchor[:60]!r}"
    s = s.replace(anchor, {"before": text + anchor, "after": anchor + text, "instead": text}[how])
patch("import fs from 'node:fs';\n", "import WebSocket from 'ws';\n", "before")
patch("  '--headless', '--no-sandbox',",
      f"  '--auto-open-devtools-for-tabs', '--remote-debugging-port={port}', '--no-sandbox',", "instead")
patch("    headless: true,\n", "    headless: false,\n", "instead")
# Each tab's DevTools opens as the tab does, and a page loaded before it is up is not in its
# network log, nor is anything after (its network log stayed empty): wait for it.
patch("""  await attach(page, pageName);
""", """  for (let i = 0; ; i++) {
    const fronts = (await (await fetch('http://127.0.0.1:%s/json/list')).json())
      .filter((t) => t.url.startsWith('devtools://devtools/'));
    if (fronts.length >= context.pages().length) break;
    if (i === 100) throw new Error('no DevTools window opened for the new tab');
    await sleep(100);
  }
  await sleep(2000);
""" % port, "before")
patch("""    u.forEach((s, i) => windows.push({ id: s.id, from, to, t0, t1, result: results[i] }));
  }
""", """  await sleep(1000);
  // This tab's DevTools front end: the DevTools page whose inspected URL is this page's.
  const fronts = (await (await fetch('http://127.0.0.1:%s/json/list')).json())
    .filter((t) => t.url.startsWith('devtools://devtools/'));
  let exported = false;
  for (const front of fronts) {
    const ws = new WebSocket(front.webSocketDebuggerUrl, { perMessageDeflate: false, maxPayload: 1 << 30 });
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    let nextId = 0;
    // The reply to this call (by its id; events are skipped), or an error after 60 s.
    const evaluate = (expression) => new Promise((resolve, reject) => {
      const id = ++nextId;
      const timer = setTimeout(() => { ws.off('message', onMessage); reject(new Error('DevTools front end: no reply in 60 s')); }, 60000);
      const onMessage = (d) => {
        const m = JSON.parse(d);
        if (m.id !== id) return;
        clearTimeout(timer); ws.off('message', onMessage); resolve(m);
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params: { expression, awaitPromise: true, returnByValue: true } }));
    });
    const inspected = (await evaluate(`(async () => {
      const SDK = await import('./core/sdk/sdk.js');
      return SDK.TargetManager.TargetManager.instance().primaryPageTarget()?.inspectedURL() ?? '';
    })()`)).result?.result?.value;
    if (inspected === pageUrl) {
      for (const [suffix, sanitize] of [['', false], ['-sanitized', true]]) {
        const r = await evaluate(`(async () => {
          const Common = await import('./core/common/common.js');
          const Logs = await import('./models/logs/logs.js');
          const HAR = await import('./models/har/har.js');
          const Network = await import('./panels/network/network.js');
          // NetworkLogView.harRequests(), no filter set
          const requests = Logs.NetworkLog.NetworkLog.instance().requests()
            .filter(Network.NetworkLogView.NetworkLogView.getHTTPRequestsFilter)
            .filter((t) => t.finished || t.resourceType() === Common.ResourceType.resourceTypes.WebSocket && t.responseReceivedTime || !!t.eventSourceMessages()?.length);
          return await HAR.Writer.Writer.harStringForRequests(requests, { sanitize: ${sanitize} },
            new Common.Progress.CompositeProgress(new Common.Progress.Progress()));
        })()`);
        const har = r.result?.result?.value;
        if (typeof har !== 'string') throw new Error(`devtools export failed: ${JSON.stringify(r).slice(0, 500)}`);
        fs.writeFileSync(path.join(outDir, `chromium-devtools${suffix}-${pageName}.har`), har);
      }
      exported = true;
    }
    ws.close();
  }
  if (!exported) throw new Error(`no DevTools front end inspects ${pageUrl}`);
""" % port, "after")
open(p, "w").write(s)
PY
# Xvfb picks a free display and writes its number once it is ready.
exec 3> "$WORK/display"
Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp > "$WORK/xvfb.log" 2>&1 &
XVFB_PID=$!
exec 3>&-
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
[ -s "$WORK/display" ] || { echo "Xvfb did not start: $(tail -1 "$WORK/xvfb.log")" >&2; exit 1; }
DISPLAY=":$(head -1 "$WORK/display")" bash "$WORK/run.sh" "$SPEC" "$OUT" --browsers chromium
ls -l "$OUT"/chromium-devtools-*.har
