// The service-worker lab's recorder (tools/sw_lab.py): connects to a running Chromium (remote
// debugging on port 9333), opens URL in a new tab, attaches to its targets and their workers
// (as DevTools does: the page's Network panel lists the worker's own requests too), and prints
// every Network event with the session it came from, then the page's text after 7 s, as one
// JSON list. Node 20: run with --experimental-websocket.
const url = process.argv[2];
const ver = await (await fetch('http://127.0.0.1:9333/json/version')).json();
const ws = new WebSocket(ver.webSocketDebuggerUrl);
let id = 0; const pending = new Map(); const events = [];
const send = (method, params = {}, sessionId) => new Promise(r => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params, sessionId })); });
ws.onmessage = async (m) => {
  const d = JSON.parse(m.data);
  if (d.id && pending.has(d.id)) { pending.get(d.id)(d.result); pending.delete(d.id); return; }
  if (d.method === 'Target.attachedToTarget') {
    const s = d.params.sessionId; const t = d.params.targetInfo.type;
    events.push({ attached: t, url: d.params.targetInfo.url, sessionId: s });
    await send('Network.enable', {}, s);
    await send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }, s);
    await send('Runtime.runIfWaitingForDebugger', {}, s);
    return;
  }
  if (d.method && d.method.startsWith('Network.')) events.push({ s: d.sessionId, method: d.method, params: d.params });
};
await new Promise(r => ws.onopen = r);
await send('Target.setDiscoverTargets', { discover: true });
await send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: true });
const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
await new Promise(r => setTimeout(r, 500));
const pageSession = events.find(e => e.attached === 'page')?.sessionId;
await send('Page.navigate', { url }, pageSession);
await new Promise(r => setTimeout(r, 7000));
const res = await send('Runtime.evaluate', { expression: 'document.body.innerText' }, pageSession);
events.push({ body: res?.result?.value });
console.log(JSON.stringify(events));
process.exit(0);
