#!/usr/bin/env python3
"""Generates the QPACK test vectors of src/capture/h3/qpack.rs with a real encoder (ls-qpack,
through pylsqpack): per scenario, the decoder's SETTINGS_QPACK_MAX_TABLE_CAPACITY and a list of
(encoder-stream bytes sent before the block, header block, fields). A pylsqpack Decoder
plays the peer and its decoder-stream bytes are fed back, as on a real connection, so the
encoder keeps using the dynamic table. Prints Rust source to paste into the tests (then
`cargo fmt`). Its place in corscope: tools/qpack_vectors.py.

    python3 tools/qpack_vectors.py > /tmp/vectors.rs
"""
import json

import pylsqpack

UA = (b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      b"Chrome/124.0.0.0 Safari/537.36")


def request(method, path, extra=()):
    return [
        (b":method", method),
        (b":authority", b"api.example.com"),
        (b":scheme", b"https"),
        (b":path", path),
        (b"sec-ch-ua", b'"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'),
        (b"sec-ch-ua-mobile", b"?0"),
        (b"user-agent", UA),
        (b"sec-ch-ua-platform", b'"Linux"'),
        (b"accept", b"application/json, text/plain, */*"),
        (b"origin", b"https://app.example.com"),
        (b"sec-fetch-site", b"same-site"),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-dest", b"empty"),
        (b"referer", b"https://app.example.com/"),
        (b"accept-encoding", b"gzip, deflate, br, zstd"),
        (b"accept-language", b"en-US,en;q=0.9"),
        (b"priority", b"u=1, i"),
        *extra,
    ]


def response(status, extra=()):
    return [
        (b":status", status),
        (b"date", b"Tue, 14 May 2024 10:21:07 GMT"),
        (b"content-type", b"application/json; charset=utf-8"),
        (b"access-control-allow-origin", b"https://app.example.com"),
        (b"access-control-allow-credentials", b"true"),
        (b"vary", b"Origin, Accept-Encoding"),
        (b"server", b"envoy"),
        *extra,
    ]


REQUESTS = [
    request(b"OPTIONS", b"/v1/users/42", [
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", b"authorization,content-type,x-request-id"),
    ]),
    request(b"PUT", b"/v1/users/42", [
        (b"authorization", b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"),
        (b"content-type", b"application/json"),
        (b"x-request-id", b"7f3c2a10-9b1e-4c55-8f0e-2d4b6a8c9e01"),
        (b"cookie", b"session=abc123; theme=dark"),
    ]),
    request(b"GET", b"/v1/users/42/avatar?size=64"),
    request(b"GET", b"/v1/users/43", [(b"cookie", b"session=abc123; theme=dark")]),
    request(b"GET", b"/v1/users/44", [(b"cookie", b"session=abc123; theme=light")]),
    request(b"POST", b"/v1/events", [
        (b"content-type", b"text/plain;charset=UTF-8"),
        (b"cookie", b"session=abc123; theme=light"),
    ]),
]

RESPONSES = [
    response(b"204", [
        (b"access-control-allow-methods", b"GET, PUT, POST, DELETE"),
        (b"access-control-allow-headers", b"authorization, content-type, x-request-id"),
        (b"access-control-max-age", b"600"),
    ]),
    response(b"200", [(b"content-length", b"311"), (b"etag", b'W/"137-abc"')]),
    response(b"304", [(b"etag", b'W/"137-abc"')]),
    response(b"200", [(b"content-length", b"298"), (b"set-cookie", b"theme=light; Path=/; Secure")]),
    response(b"404", [(b"content-length", b"0")]),
    response(b"200", [(b"content-length", b"2"), (b"x-envoy-upstream-service-time", b"12")]),
]


def scenario(name, capacity, lists):
    enc = pylsqpack.Encoder()
    dec = pylsqpack.Decoder(max_table_capacity=capacity, blocked_streams=16)
    pending = enc.apply_settings(max_table_capacity=capacity, blocked_streams=16)
    out = []
    for i, fields in enumerate(lists):
        stream = 4 * i
        ins, block = enc.encode(stream, fields)
        ins = pending + ins
        pending = b""
        dec.feed_encoder(ins)
        ack, got = dec.feed_header(stream, block)
        assert got == fields, (got, fields)
        enc.feed_decoder(ack)
        out.append((ins, block, fields))
    print(f"/// {name}: decoder's max table capacity {capacity}.")
    print(f"const {name}: (u64, &[Vector]) = ({capacity}, &[")
    for ins, block, fields in out:
        print(f'    ("{ins.hex()}", "{block.hex()}", &[')
        for n, v in fields:
            print(f"        ({json.dumps(n.decode())}, {json.dumps(v.decode())}),")
        print("    ]),")
    print("]);")


scenario("LSQPACK_REQUESTS", 4096, REQUESTS)
scenario("LSQPACK_RESPONSES", 4096, RESPONSES)
# A small table: entries are evicted as the requests go on.
scenario("LSQPACK_SMALL_TABLE", 300, REQUESTS)
