#!/usr/bin/env bash
# Records Firefox's own Network Monitor HAR export ("Save All As HAR") of a probe scenario set:
#   tools/firefox_netmonitor.sh SCENARIOS.json OUTDIR [PROBE_DIR]
# Runs the project's browser probe (PROBE_DIR, default ../shared/tools/probe) in Firefox from a
# patched copy: on each page's tab, after the page has loaded and before its scenarios run, the
# driver opens the DevTools toolbox on the Network Monitor (as a developer does before
# reproducing a bug), and after the tab's last scenario it calls the exporter the panel's
# "Save All As HAR" calls (`HarExporter.fetchHarData` with the displayed requests, as
# `HarMenuUtils.saveAllAsHar` does) and writes its string as is to
# OUTDIR/firefox-netmonitor-<page>.har (`main`, `second`). With OPEN=before-load the toolbox is
# opened on the new tab before the page is loaded into it (a developer who opens DevTools and
# reloads): the export then lists the page's own document and what it set, cookies included.
# Everything else the probe writes (truth-firefox.json, capture-firefox.pcap,
# bidi-events-firefox.jsonl, ...) is there too.
# The export is Firefox's own bytes; only the file dialog is skipped. (`tests/data` keeps them
# gzipped: OPEN=before-load's as firefox-netmonitor.har.gz for `main`, -page2.har.gz for
# `second`; the default's as firefox-netmonitor-opened-late[-page2].har.gz.)
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,3p "$0" >&2; exit 2; }
SPEC=$(realpath "$1")
OUT=$(realpath -m "$2")
PROBE=${3:-$(dirname "$0")/../../shared/tools/probe}
WORK=$(mktemp -d /tmp/firefox-netmonitor.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp -r "$PROBE"/. "$WORK"/
chmod -R u+w "$WORK"
python3 - "$WORK/firefox-driver.mjs" "${OPEN:-after-load}" <<'PY'
import sys
p, when = sys.argv[1], sys.argv[2]
assert when in ("after-load", "before-load"), f"OPEN={when}: after-load or before-load"
def opener(find_tab):
    return '''  const netmonitor = await chromeEval(`(async () => {
    const { require } = ChromeUtils.importESModule("resource://devtools/shared/loader/Loader.sys.mjs");
    require("resource://devtools/client/framework/devtools-browser.js");
    const { gDevTools } = require("resource://devtools/client/framework/devtools.js");
    const win = Services.wm.getMostRecentWindow("navigator:browser");
    const tab = %s;
    if (!tab) return "no tab for ${pageUrl}";
    win.gBrowser.selectedTab = tab;
    globalThis.__netmonitorToolbox = await gDevTools.showToolboxForTab(tab, { toolId: "netmonitor" });
    return "ok";
  })()`);
  if (netmonitor !== 'ok') throw new Error(`netmonitor: ${netmonitor}`);
  await sleep(1000);
''' % find_tab
s = open(p).read()
def patch(anchor, text, before):
    global s
    assert s.count(anchor) == 1, f"probe changed: anchor not found once: {anchor[:60]!r}"
    s = s.replace(anchor, text + anchor if before else anchor + text)
if when == "after-load":
    # Open the Network Monitor once the page has loaded, before its first scenario.
    patch("""  // consecutive scenarios with the same `group` start together and share a window""",
          opener("[...win.gBrowser.tabs].find((t) => t.linkedBrowser.currentURI.spec === ${JSON.stringify(pageUrl)})"), True)
else:
    # Open it on the tab BiDi just made or was given (the selected one), then load the page.
    patch("""  try {
    await send('browsingContext.navigate', { context: ctx, url: pageUrl, wait: 'complete' });""",
          opener("win.gBrowser.selectedTab"), True)
# After the tab's last scenario: the string "Save All As HAR" writes.
patch("""    u.forEach((s, i) => windows.push({ id: s.id, from, to, t0, t1, result: results[i] }));
  }
""", """  await sleep(1000);
  const har = await chromeEval(`(async () => {
    const { require } = ChromeUtils.importESModule("resource://devtools/shared/loader/Loader.sys.mjs");
    const { HarExporter } = require("resource://devtools/client/netmonitor/src/har/har-exporter.js");
    const { getDisplayedRequests } = require("resource://devtools/client/netmonitor/src/selectors/index.js");
    const api = globalThis.__netmonitorToolbox.getPanel("netmonitor").panelWin.Netmonitor.api;
    const items = getDisplayedRequests(api.store.getState());
    return (await HarExporter.fetchHarData({ connector: api.connector, items })) || "";
  })()`);
  fs.writeFileSync(path.join(outDir, `firefox-netmonitor-${pageName}.har`), har);
""", False)
open(p, "w").write(s)
PY
bash "$WORK/run.sh" "$SPEC" "$OUT" --browsers firefox
ls -l "$OUT"/firefox-netmonitor-*.har
