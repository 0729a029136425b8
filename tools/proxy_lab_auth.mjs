// The proxy lab's driver (tools/proxy_lab.py): opens URL in a running Chromium (remote
// debugging on port 9333), gives the proxy's credentials u:p when asked (CDP Fetch.authRequired,
// as a user at the prompt), and prints the page's text after 6 s. Node 20: --experimental-websocket.
const url = process.argv[2];
const ver = await (await fetch('http://127.0.0.1:9333/json/version')).json();
const ws = new WebSocket(ver.webSocketDebuggerUrl);
let id = 0; const pending = new Map(); let page;
const send = (method, params = {}, sessionId) => new Promise(r => { const i = ++id; pending.set(i, r); ws.send(JSON.stringify({ id: i, method, params, sessionId })); });
ws.onmessage = (m) => {
  const d = JSON.parse(m.data);
  if (d.id && pending.has(d.id)) { pending.get(d.id)(d.result ?? d.error); pending.delete(d.id); return; }
  if (d.method === 'Fetch.requestPaused') send('Fetch.continueRequest', { requestId: d.params.requestId }, d.sessionId);
  if (d.method === 'Fetch.authRequired') { console.error('auth', d.params.authChallenge.source, d.params.request.method, d.params.request.url);
    send('Fetch.continueWithAuth', { requestId: d.params.requestId, authChallengeResponse: { response: 'ProvideCredentials', username: 'u', password: 'p' } }, d.sessionId); }
};
await new Promise(r => ws.onopen = r);
const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
await send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*' }] }, sessionId);
await send('Page.navigate', { url }, sessionId);
await new Promise(r => setTimeout(r, 6000));
const res = await send('Runtime.evaluate', { expression: 'document.body.innerText' }, sessionId);
console.log(res?.result?.value);
process.exit(0);
