#!/usr/bin/python3
"""The service of demos/http_server.c on gevent's StreamServer (one greenlet per connection,
blocking-style recv/sendall): the "gevent" column of scripts/bench-io. Same requests
understood, same replies byte for byte, one sendall per batch of pipelined requests,
TCP_NODELAY on every connection. Runs with Debian's python3-gevent (/usr/bin/python3).

usage: gevent_http_server.py [-p PORT] [-a ADDRESS] [-b BACKLOG]   (prints "listening on PORT")
"""
import argparse
import socket
import sys

from gevent.server import StreamServer

IN_BUFFER = 4096
REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n"
REPLY_CLOSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
               b"Connection: close\r\n\r\nHello, World!\n")


def parse_request(buf, start):
    """The same parser as demos/http_server.c, over buf[start:]: (length, keep_alive) for a
    complete request, None when more bytes are needed, (-1, False) when it can never fit."""
    end = buf.find(b"\r\n\r\n", start)
    if end < 0:
        return (-1, False) if len(buf) - start >= IN_BUFFER else None
    head = end + 4 - start
    line_end = buf.find(b"\r", start, end + 1)
    keep = buf[start:line_end].endswith(b"HTTP/1.1")
    body = 0
    for line in buf[line_end + 2:end].split(b"\r\n"):
        name, _, value = line.partition(b":")
        name = name.lower()
        if name == b"connection":
            if b"close" in value or b"Close" in value:
                keep = False
            elif b"eep-alive" in value:
                keep = True
        elif name == b"content-length":
            body = int(value.strip() or 0)
    if head + body > IN_BUFFER:
        return -1, False
    if len(buf) - start < head + body:
        return None
    return head + body, keep


def serve_connection(sock, _address):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    is_open = True
    try:
        while is_open:
            data = sock.recv(IN_BUFFER - len(buf))
            if not data:
                break
            buf += data
            used, out = 0, []
            while is_open:
                got = parse_request(buf, used)
                if got is None:
                    break
                length, keep = got
                if length < 0:
                    is_open = False
                    break
                out.append(REPLY if keep else REPLY_CLOSE)
                used += length
                is_open = keep
            if out:
                sock.sendall(b"".join(out))
            buf = buf[used:]
    except OSError:
        pass
    finally:
        sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-p", "--port", type=int, default=8080)
    ap.add_argument("-a", "--address", default="127.0.0.1")
    ap.add_argument("-b", "--backlog", type=int, default=4096)
    opts = ap.parse_args()
    server = StreamServer((opts.address, opts.port), serve_connection, backlog=opts.backlog)
    server.init_socket()
    print(f"listening on {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
