"""HTTP/3 CORS lab server (aioquic): serves the page on app.test and the scenarios on api.test,
both on UDP 4433, and writes what the page reports to results.json."""
import asyncio, json, sys
from aioquic.asyncio import serve, QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import HeadersReceived, DataReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import ProtocolNegotiated

PAGE_ORIGIN = "https://app.test:4433"
SCEN = json.load(open(sys.argv[1]))
OUT = sys.argv[2]
DONE = asyncio.Event() if False else None

def page():
    js = """
const scen = %s;
async function run() {
  const res = {};
  for (const s of scen) {
    const init = Object.assign({}, s.init || {});
    if (s.body_len) init.body = 'x'.repeat(s.body_len);
    try {
      const r = await fetch('https://api.test:4433/s/' + s.id + '/r', init);
      await r.text();
      res[s.id] = (init.mode === 'no-cors') ? 'opaque' : 'allowed';
    } catch (e) { res[s.id] = 'blocked'; }
  }
  await fetch('/done', {method: 'POST', body: JSON.stringify(res)});
}
run();
""" % json.dumps([{"id": s["id"], "init": s.get("init"), "body_len": s.get("body_len")} for s in SCEN])
    return ("<!doctype html><title>h3 lab</title><script>" + js + "</script>").encode()

def api(method, path, headers):
    sid = path.split("/")[2] if path.startswith("/s/") else ""
    s = next((x for x in SCEN if x["id"] == sid), None)
    if s is None:
        return 404, [], b"no such scenario"
    if method == "OPTIONS":
        return s.get("pf_status", 204), s.get("preflight", []), b""
    return s.get("status", 200), s.get("response", []), (b"{\"ok\":true}" * s.get("resp_repeat", 1))

class H3(QuicConnectionProtocol):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.h3 = None
        self.bodies = {}
        self.heads = {}

    def quic_event_received(self, ev):
        if isinstance(ev, ProtocolNegotiated):
            self.h3 = H3Connection(self._quic)
        if self.h3 is None:
            return
        for e in self.h3.handle_event(ev):
            if isinstance(e, HeadersReceived):
                self.heads[e.stream_id] = dict((k.decode(), v.decode()) for k, v in e.headers)
                self.bodies[e.stream_id] = b""
                if e.stream_ended:
                    self.answer(e.stream_id)
            elif isinstance(e, DataReceived):
                self.bodies[e.stream_id] = self.bodies.get(e.stream_id, b"") + e.data
                if e.stream_ended:
                    self.answer(e.stream_id)

    def answer(self, sid):
        h = self.heads.pop(sid)
        body = self.bodies.pop(sid, b"")
        host, path, method = h.get(":authority", ""), h.get(":path", "/"), h.get(":method")
        if host.startswith("app.test"):
            if path == "/done":
                open(OUT, "w").write(body.decode())
                status, extra, payload = 204, [], b""
            elif path == "/":
                status, extra, payload = 200, [("content-type", "text/html")], page()
            else:
                status, extra, payload = 404, [], b""
        else:
            status, extra, payload = api(method, path, h)
        hdrs = [(b":status", str(status).encode()), (b"server", b"h3lab")]
        hdrs += [(k.encode(), v.encode()) for k, v in extra]
        self.h3.send_headers(sid, hdrs, end_stream=not payload)
        if payload:
            self.h3.send_data(sid, payload, end_stream=True)
        self.transmit()

async def main():
    cfg = QuicConfiguration(is_client=False, alpn_protocols=H3_ALPN, max_datagram_frame_size=65536)
    cfg.load_cert_chain("cert.pem", "key.pem")
    import os
    from aioquic.tls import CipherSuite
    if os.environ.get("H3LAB_CIPHER"):
        cfg.cipher_suites = [CipherSuite[os.environ["H3LAB_CIPHER"]]]
    retry = bool(os.environ.get("H3LAB_RETRY"))
    cfg.secrets_log_file = open("server-keylog.txt", "a")
    await serve("127.0.0.1", 4433, configuration=cfg, create_protocol=H3, retry=retry)
    await asyncio.Future()

asyncio.run(main())
