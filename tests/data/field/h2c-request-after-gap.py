#!/usr/bin/env python3
"""Writes h2c-request-after-gap.pcap (argument: the path): cleartext HTTP/2 with prior knowledge
between a Chromium page at http://app.test:8080 and api.app.test:8083 (headers as in
`dev/capture.pcap`). The preflight of a PUT is answered without Access-Control-Allow-Credentials;
the server segment after it (a PING) is not in the capture, so decoding stops at the gap; the
client then sends the uncredentialed PUT, which the server allows. Only the preflight is read."""
import struct
def hp_int(v, prefix):
    mx=(1<<prefix)-1
    if v<mx: return bytes([v])
    out=[mx]; v-=mx
    while v>=128: out.append((v&127)|128); v>>=7
    out.append(v); return bytes(out)
def lit(n,v):
    n=n.encode(); v=v.encode()
    return b'\x00'+hp_int(len(n),7)+n+hp_int(len(v),7)+v
def frame(kind,flags,stream,payload):
    return struct.pack('>I',len(payload))[1:]+bytes([kind,flags])+struct.pack('>I',stream)+payload
PREFACE=b'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
UA='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36'
AUTH='api.app.test:8083'; ORIGIN='http://app.test:8080'; PATH='/s/h2c-pf-after-gap/r'
def req(method, extra):
    hs=[(':method',method),(':authority',AUTH),(':scheme','http'),(':path',PATH)]+extra
    return b''.join(lit(n,v) for n,v in hs)
pf=req('OPTIONS',[('accept','*/*'),('access-control-request-method','PUT'),('access-control-request-headers','content-type'),('origin',ORIGIN),('user-agent',UA),('sec-fetch-mode','cors'),('sec-fetch-site','same-site'),('sec-fetch-dest','empty'),('referer',ORIGIN+'/'),('accept-encoding','gzip, deflate'),('accept-language','en-US,en;q=0.9')])
put=req('PUT',[('content-length','7'),('user-agent',UA),('content-type','application/json'),('accept','*/*'),('origin',ORIGIN),('sec-fetch-site','same-site'),('sec-fetch-mode','cors'),('sec-fetch-dest','empty'),('referer',ORIGIN+'/'),('accept-encoding','gzip, deflate'),('accept-language','en-US,en;q=0.9')])
def resp(status, extra):
    return b''.join(lit(n,v) for n,v in [(':status',status),('server','cors-oracle/1'),('date','Tue, 24 Nov 2026 19:46:50 GMT')]+extra)
pf_resp=resp('204',[('access-control-allow-origin',ORIGIN),('access-control-allow-methods','PUT'),('access-control-allow-headers','content-type'),('vary','Origin'),('cache-control','no-store')])
put_resp=resp('200',[('access-control-allow-origin',ORIGIN),('vary','Origin'),('content-type','application/json'),('content-length','2')])
C=(bytes([127,0,0,1]),51234); S=(bytes([127,0,0,1]),8083)
frames=[]; t=[1795636010_000000]
def pkt(src,dst,seq,ack,flags,payload,keep=True):
    t[0]+=700
    tcp=struct.pack('>HHIIBBHHH',src[1],dst[1],seq,ack,5<<4,flags,65535,0,0)
    ip=struct.pack('>BBHHHBBH4s4s',0x45,0,20+len(tcp)+len(payload),0,0x4000,64,6,0,src[0],dst[0])
    eth=b'\0'*12+b'\x08\x00'
    if keep: frames.append((t[0],eth+ip+tcp+payload))
cs,ss=1000,9000
SYN,ACK,PSH,FIN=2,16,8,1
pkt(C,S,cs,0,SYN,b''); pkt(S,C,ss,cs+1,SYN|ACK,b''); cs+=1; ss+=1; pkt(C,S,cs,ss,ACK,b'')
def cl(data,keep=True):
    global cs; pkt(C,S,cs,ss,PSH|ACK,data,keep); cs+=len(data)
def sv(data,keep=True):
    global ss; pkt(S,C,ss,cs,PSH|ACK,data,keep); ss+=len(data)
cl(PREFACE+frame(4,0,0,struct.pack('>HI',3,100))+frame(8,0,0,struct.pack('>I',15663105)))
sv(frame(4,0,0,struct.pack('>HI',3,128)))
cl(frame(4,1,0,b'')+frame(1,5,1,pf))
sv(frame(4,1,0,b'')+frame(1,5,1,pf_resp))
t[0]+=20000
# The server's next segment (a PING) is not in the capture: the client's acknowledgement shows the gap.
sv(frame(6,0,0,b'\0'*8), keep=False)
t[0]+=40000
cl(frame(6,1,0,b'\0'*8)+frame(1,4,3,put)+frame(0,1,3,b'{"a":1}'))
sv(frame(1,4,3,put_resp)+frame(0,1,3,b'{}'))
pkt(C,S,cs,ss,ACK,b'')
pkt(C,S,cs,ss,FIN|ACK,b''); pkt(S,C,ss,cs+1,FIN|ACK,b''); pkt(C,S,cs+1,ss+1,ACK,b'')
out=struct.pack('<IHHiIII',0xA1B2C3D4,2,4,0,0,262144,1)
for ts,d in frames: out+=struct.pack('<IIII',ts//1000000,ts%1000000,len(d),len(d))+d
import sys
open(sys.argv[1],'wb').write(out)
