#!/usr/bin/env python3
"""Builds a DevTools-style HAR from the service-worker lab's CDP events
(`tools/sw_lab_record.mjs`), following DevTools' `front_end/models/har/Log.ts` where the lab
needs it: one entry per request; request headers from `requestWillBeSentExtraInfo` when sent to
the network, else the provisional ones; response status and headers from `responseReceived`,
else `responseReceivedExtraInfo`; `_error` from `loadingFailed`; `response._fetchedViaServiceWorker`
(`response.fromServiceWorker`) and `_serviceWorkerResponseSource`; the page's requests under
`page_1`, the worker's own requests without a page. An emulation, as the corpus's
`devtools.har` is (from the first worker session: the recorder attaches to it twice).

usage: python3 tools/sw_lab_har.py EVENTS.json OUT.har
"""
import json, sys, datetime
ev = json.load(open(sys.argv[1]))
page_s = next(e['sessionId'] for e in ev if e.get('attached') == 'page')
sw_s = next((e['sessionId'] for e in ev if e.get('attached') == 'service_worker'), None)
recs = {}
order = []
for e in ev:
    if 'method' not in e or e['s'] not in (page_s, sw_s) or 'requestId' not in e['params']: continue
    key = (e['s'], e['params']['requestId']); p = e['params']; m = e['method']
    r = recs.get(key)
    if m == 'Network.requestWillBeSent':
        r = recs[key] = dict(sw=e['s'] == sw_s, url=p['request']['url'], method=p['request']['method'], wall=p['wallTime'], ts=p['timestamp'],
                             prov=p['request']['headers'], type=p.get('type', 'Other'), init=p.get('initiator', {}).get('type', 'other'),
                             extra=None, status=0, stext='', rh=None, xrh=None, proto='', err=None, viasw=False, swsrc=None, end=None)
        order.append(key)
    elif r is None: continue
    elif m == 'Network.requestWillBeSentExtraInfo': r['extra'] = p['headers']
    elif m == 'Network.responseReceived':
        x = p['response']; r.update(status=x['status'], stext=x.get('statusText', ''), rh=x['headers'], proto=x.get('protocol', ''), viasw=bool(x.get('fromServiceWorker')), swsrc=x.get('serviceWorkerResponseSource'), rts=p['timestamp'])
    elif m == 'Network.responseReceivedExtraInfo':
        r['xrh'] = p['headers']; r.setdefault('xstatus', p['statusCode'])
    elif m == 'Network.loadingFailed': r['err'] = p['errorText']; r['end'] = p['timestamp']
    elif m == 'Network.loadingFinished': r['end'] = p['timestamp']
H = lambda o: [{'name': k, 'value': v} for k, vs in (o or {}).items() for v in str(vs).split('\n')]
entries = []
for key in order:
    r = recs[key]
    if key not in recs: continue
    status = r['status'] or (r.get('xstatus', 0) if r['err'] else 0)
    rh = r['rh'] if r['rh'] is not None else (r['xrh'] or {})
    if r['rh'] is None and not r['err']: status = r.get('xstatus', 0)
    resp = {'status': status, 'statusText': r['stext'], 'httpVersion': r['proto'] or ('' if not status else 'http/1.1'), 'headers': H(rh), 'cookies': [],
            'content': {'size': 0, 'mimeType': 'x-unknown'}, 'redirectURL': '', 'headersSize': -1, 'bodySize': -1, '_transferSize': 0,
            '_error': r['err'], '_fetchedViaServiceWorker': r['viasw']}
    if r['swsrc']: resp['_serviceWorkerResponseSource'] = r['swsrc']
    t = (r['end'] - r['ts']) * 1000 if r['end'] else 0
    e = {'_initiator': {'type': r['init']}, '_priority': 'High', '_resourceType': r['type'].lower(), 'cache': {},
         'request': {'method': r['method'], 'url': r['url'], 'httpVersion': r['proto'] or 'http/1.1', 'headers': H(r['extra'] or r['prov']), 'queryString': [], 'cookies': [], 'headersSize': -1, 'bodySize': 0},
         'response': resp, 'serverIPAddress': '127.0.0.1', 'startedDateTime': datetime.datetime.fromtimestamp(r['wall'], datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
         'time': t, 'timings': {'blocked': -1, 'dns': -1, 'ssl': -1, 'connect': -1, 'send': 0, 'wait': t, 'receive': 0}}
    if not r['sw']: e['pageref'] = 'page_1'
    entries.append(e)
first = min(recs[k]['wall'] for k in order)
har = {'log': {'version': '1.2', 'creator': {'name': 'WebInspector', 'version': '537.36'},
               'pages': [{'startedDateTime': datetime.datetime.fromtimestamp(first, datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z'), 'id': 'page_1', 'title': 'http://127.0.0.1:8480/', 'pageTimings': {'onContentLoad': -1, 'onLoad': -1}}],
               'entries': entries}}
json.dump(har, open(sys.argv[2], 'w'), indent=1)
