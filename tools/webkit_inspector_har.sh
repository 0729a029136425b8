#!/usr/bin/env bash
# Records WebKit's own Web Inspector HAR export (Network tab, "Export") of a probe scenario set:
#   tools/webkit_inspector_har.sh SCENARIOS.json OUTDIR [PROBE_DIR]
# Runs the project's browser probe (PROBE_DIR, default ../shared/tools/probe) in WebKit only,
# from a patched copy. WebKitGTK's remote inspector serves the Web Inspector itself (the same
# WebInspectorUI code as Safari's) to other browsers, but lets one front end at a time connect
# to a page; so here the front end is that one: for each page's tab the driver opens the
# inspector's Main.html in a headless Chromium, shows the Network tab (as a developer does
# before reproducing a bug; the page itself loaded before, as when the inspector opens late),
# and sends its own commands through the front end's socket (ids of its own, its replies kept
# from the front end). After the tab's last scenario it calls what the Network tab's "Export"
# calls (`NetworkTableContentView._exportHAR`: `_HARResources()`, `WI.HARBuilder.buildArchive`,
# `JSON.stringify(har, null, 2)`) and writes the string to OUTDIR/webkit-inspector-<page>.har
# (`main`, `second`). Everything else the probe writes for WebKit (truth-webkit.json,
# capture-webkit.pcap, ...) is there too. The export is WebKit's own bytes; only the file
# dialog is skipped. (`tests/data` keeps them gzipped: webkit-inspector.har.gz for `main`,
# webkit-inspector-page2.har.gz for `second`.)
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,3p "$0" >&2; exit 2; }
SPEC=$(realpath "$1")
OUT=$(realpath -m "$2")
PROBE=${3:-$(dirname "$0")/../../shared/tools/probe}
WORK=$(mktemp -d /tmp/webkit-inspector.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$PROBE"/. "$WORK"/
chmod -R u+w "$WORK"
python3 - "$WORK/webkit-driver.mjs" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()

def swap(old, new):
    global s
    assert s.count(old) == 1, f"webkit-driver.mjs changed: {old!r}"
    s = s.replace(old, new)

# The driver's socket becomes the front end's: a headless Chromium page runs Main.html, whose
# WebSocket is wrapped so that every message reaches the driver too, and the driver's replies
# (ids from 1e9 up, outer and inner) never reach the front end.
swap("import WebSocket from 'ws';", r"""import { chromium as feChromium } from 'playwright-core';
let feBrowser = null;
class FrontEndSocket {
  constructor(url) {
    this.handlers = { message: [], open: [], error: [], close: [] };
    this.ready = (async () => {
      feBrowser ??= await feChromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
      this.page = await feBrowser.newPage({ viewport: { width: 1400, height: 900 } });
      this.page.on('pageerror', (e) => console.error(`front end: ${e}`));
      await this.page.exposeFunction('__probeMessage', (m) => { for (const f of this.handlers.message) f(m); });
      await this.page.exposeFunction('__probeOpen', () => { for (const f of this.handlers.open) f(); });
      await this.page.addInitScript(() => {
        const Native = window.WebSocket;
        const ours = (text) => {
          try {
            const m = JSON.parse(text);
            if (m.id >= 1e9) return true;
            if (m.method === 'Target.dispatchMessageFromTarget') return JSON.parse(m.params.message).id >= 1e9;
          } catch (e) { /* not JSON: the front end's */ }
          return false;
        };
        window.WebSocket = class extends EventTarget {
          constructor(u, protocols) {
            super();
            const ws = new Native(u, protocols);
            window.__probeSocket = ws;
            this.readyState = 0;
            this.onopen = this.onmessage = this.onclose = this.onerror = null;
            const fire = (ev) => { this.dispatchEvent(ev); const h = this['on' + ev.type]; if (h) h.call(this, ev); };
            ws.onopen = () => { this.readyState = 1; fire(new Event('open')); window.__probeOpen(); };
            ws.onerror = () => fire(new Event('error'));
            ws.onclose = (e) => { this.readyState = 3; fire(new CloseEvent('close', { code: e.code, reason: e.reason, wasClean: e.wasClean })); };
            ws.onmessage = (e) => {
              const text = String(e.data);
              window.__probeMessage(text);
              if (!ours(text)) fire(new MessageEvent('message', { data: e.data }));
            };
          }
          send(d) { window.__probeSocket.send(d); }
          close(...a) { window.__probeSocket.close(...a); }
        };
        Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
      });
      const where = new URL(url);
      await this.page.goto(`http://${where.host}/Main.html?ws=${where.host}${where.pathname}`);
      await this.page.waitForFunction(() => window.WI && WI.mainTarget && WI.showNetworkTab, null, { timeout: 30000 });
      await this.page.evaluate(() => WI.showNetworkTab());
    })().catch((e) => { for (const f of this.handlers.error) f(e); });
  }
  on(ev, f) { this.handlers[ev].push(f); }
  send(text) { this.ready.then(() => this.page.evaluate((t) => window.__probeSocket.send(t), text)); }
  // The Network tab's export, as its "Export" button runs it, minus the save dialog.
  async exportHar() {
    return await this.page.evaluate(async () => {
      const view = WI.tabBrowser.selectedTabContentView._networkTableContentView;
      const resources = view._HARResources();
      const har = await WI.HARBuilder.buildArchive(resources);
      return JSON.stringify(har, null, 2);
    });
  }
  close() { this.ready.then(() => this.page.close()).catch(() => {}); }
}""")
swap("const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}${socketPath}`);",
     "const ws = new FrontEndSocket(`ws://127.0.0.1:${inspectorPort}${socketPath}`);")
swap("outer: 0, inner: 0,", "outer: 1e9, inner: 1e9,")
swap("""  c.done = true;
  c.ws.close();""", """  c.done = true;
  await sleep(500);
  const pageName = pageKey === 'page' ? 'main' : 'second';
  fs.writeFileSync(path.join(outDir, `webkit-inspector-${pageName}.har`), await c.ws.exportHar());
  c.ws.close();""")
swap("// ---------- shut down ----------", "// ---------- shut down ----------\nif (feBrowser) await feBrowser.close();")
open(p, "w").write(s)
PY
mkdir -p "$OUT"
bash "$WORK/run.sh" "$SPEC" "$OUT" --browsers webkit
ls "$OUT"/webkit-inspector-*.har
