#!/usr/bin/env python3
"""A tiny HTTP/1.1 test server for making captures (binds to loopback only).

Usage: server.py HOST PORT
Routes: /json (Content-Length), /chunked (chunked with an extension and a trailer),
/close (no length, Connection: close), /empty (204), OPTIONS on any path (a CORS preflight
answer), anything else: 200 with a short body. Stops after 60 seconds.
"""
import sys, threading, socketserver
from http.server import BaseHTTPRequestHandler, HTTPServer
import socket

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)

    def do_OPTIONS(self):
        self._body()
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
        self.send_header("Access-Control-Allow-Methods", "GET, PUT, POST")
        self.send_header("Access-Control-Allow-Headers", "x-test")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "1234")
        self.end_headers()

    def do_GET(self):
        self._body()
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Check")
            self.end_headers()
            self.wfile.write(b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Check: ok\r\n\r\n")
        elif self.path.startswith("/close"):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"read until close" * 20)
            self.close_connection = True
        elif self.path.startswith("/empty"):
            self.send_response(204)
            self.end_headers()
        else:
            body = (b'{"path": "%s"}' % self.path.encode()) + b" " * 300
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    do_POST = do_GET
    do_PUT = do_GET
    do_DELETE = do_GET

class V6(HTTPServer):
    address_family = socket.AF_INET6

host, port = sys.argv[1], int(sys.argv[2])
cls = V6 if ":" in host else HTTPServer
srv = cls((host, port), H)
threading.Timer(60, srv.shutdown).start()
srv.serve_forever()
