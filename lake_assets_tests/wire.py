"""Faults on the real wire: a TCP proxy between the code under test and a real server.

Production loses connections in the network, not inside our code: an Aurora failover or a
restarted proxy resets a connection in the middle of a result, a NAT table forgets it and it
goes silent, a link slows to a trickle, a server refuses connections while it restarts. The
proxy does each of these to real traffic, at a chosen byte of what the server sends, so that a
test exercises pymysql's, the socket's and our own handling of it end to end.

Faults are counted in the server's bytes over all connections (`down_bytes`), so that a test
can first measure a clean run through the proxy, then cut a second run at any fraction of it:
the handshake, a snapshot's first queries, the middle of a day's rows, a day opened ahead.
A fault fires once, on the connection that carries that byte, and then the proxy is clean.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["reset", "stall", "hold"]


@dataclass
class _Link:
    """One client connection and its upstream twin."""

    client: socket.socket
    server: socket.socket
    thread_id: int | None = None  # the server's connection id, read from its handshake
    stalled: bool = False  # silent both ways, until the client gives up
    closed: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        """Close both ends with RST (SO_LINGER 0), as a failover or a dead proxy does."""
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def close(self) -> None:
        """Close both ends. A socket another thread is blocked reading is only released when
        that read returns: SHUT_RD wakes it first, so that the close (and an RST) happens now."""
        if self.closed.is_set():
            return
        self.closed.set()
        for s in (self.client, self.server):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RD)
            with contextlib.suppress(OSError):
                s.close()


class WireProxy:
    """Listens on 127.0.0.1 (`port`) and forwards to `upstream`, breaking it on request."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.down_bytes = 0  # bytes the server sent, over all connections
        self.connections = 0  # connections accepted (refused ones included)
        self.links: list[_Link] = []
        self._fault: tuple[int, Fault] | None = None
        self._again: tuple[int, int] = (0, 0)  # (bytes, times): the fault re-armed after firing
        self._refuse = 0
        self._trickle: float | None = None  # seconds per 4 KiB, when trickling
        self.cuts = 0  # how many times the armed fault has fired
        self.fired = threading.Event()  # the armed fault has happened
        self.fired_link: _Link | None = None
        self._release = threading.Event()
        self._stopping = False
        threading.Thread(target=self._accept, daemon=True, name="wire-accept").start()

    # -- what a test asks for -------------------------------------------------------------

    def cut_at(self, down_bytes: int, how: Fault = "reset", times: int = 1) -> None:
        """When the server's bytes reach `down_bytes` (counted from now), the connection
        carrying that byte is reset (`reset`), goes silent in both directions while staying
        open (`stall`), or waits for `release()` before going on (`hold`, to act meanwhile,
        e.g. KILL the connection from the server's side). With `times` > 1 the fault comes
        back every `down_bytes` bytes after that, as a link that keeps failing does."""
        with self._lock:
            self._fault = (self.down_bytes + down_bytes, how)
            self._again = (down_bytes, times - 1)
            self.cuts = 0
            self.fired.clear()
            self.fired_link = None
            self._release.clear()

    def refuse(self, connections: int) -> None:
        """The next `connections` connections are reset as soon as they are accepted."""
        with self._lock:
            self._refuse = connections

    def trickle(self, seconds_per_4k: float | None) -> None:
        """The server's bytes reach the client 4 KiB at a time, `seconds_per_4k` apart."""
        self._trickle = seconds_per_4k

    def release(self) -> None:
        self._release.set()

    def reset_all(self) -> None:
        for link in list(self.links):
            link.reset()

    def close(self) -> None:
        self._stopping = True
        self._release.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        for link in list(self.links):
            link.close()

    # -- the pumps ----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                refuse = self._refuse > 0
                self._refuse -= refuse
            if refuse:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            link = _Link(client, server)
            self.links.append(link)
            threading.Thread(target=self._up, args=(link,), daemon=True).start()
            threading.Thread(target=self._down, args=(link,), daemon=True).start()

    def _up(self, link: _Link) -> None:
        """Client to server, untouched."""
        try:
            while data := link.client.recv(65536):
                if not link.stalled:
                    link.server.sendall(data)
        except OSError:
            pass
        link.close()

    def _down(self, link: _Link) -> None:
        """Server to client, where the faults are."""
        first = True
        try:
            while data := link.server.recv(65536):
                if first and len(data) > 4:
                    link.thread_id = _handshake_thread_id(data)
                    first = False
                data = self._through_fault(link, data)
                if data is None:
                    return
                self._send(link, data)
        except OSError:
            pass
        link.close()

    def _through_fault(self, link: _Link, data: bytes) -> bytes | None:
        """What of `data` goes on now; None when the connection is done for."""
        with self._lock:
            start = self.down_bytes
            self.down_bytes += len(data)
            fault = self._fault
            hit = fault is not None and start < fault[0] <= self.down_bytes
            if hit:
                self.cuts += 1
                step, left = self._again
                self._fault = (self.down_bytes + step, fault[1]) if left > 0 else None
                self._again = (step, left - 1)
        if not hit:
            return data
        assert fault is not None
        at, how = fault
        before, after = data[: at - start], data[at - start :]
        self._send(link, before)
        self.fired_link = link
        self.fired.set()
        if how == "reset":
            link.reset()
            return None
        if how == "stall":  # nothing more either way; the client gives up on its own
            link.stalled = True
            link.closed.wait()
            return None
        self._release.wait()  # hold
        return after

    def _send(self, link: _Link, data: bytes) -> None:
        if self._trickle is None:
            link.client.sendall(data)
            return
        for i in range(0, len(data), 4096):
            time.sleep(self._trickle)
            link.client.sendall(data[i : i + 4096])


def _handshake_thread_id(data: bytes) -> int | None:
    """The connection id in the server's first packet (protocol 10): after the 4-byte header,
    the protocol version and the NUL-terminated server version."""
    if data[4] != 10:
        return None
    end = data.index(b"\0", 5)
    return int.from_bytes(data[end + 1 : end + 5], "little")


# -- HTTP: an AWS endpoint that throttles, fails and drops ----------------------------------

_S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
    "<Message>{message}</Message><RequestId>wire-proxy</RequestId></Error>"
)
# what each kind of fault answers, for S3 (XML) and for the JSON services (Glue)
_HTTP_FAULTS = {
    "throttle": (503, "SlowDown", 400, "ThrottlingException", "Rate exceeded"),
    "internal": (500, "InternalError", 500, "InternalServiceException", "Internal failure"),
}


class HttpFaultProxy:
    """An HTTP proxy in front of an AWS endpoint (moto's server) that answers every
    `every`-th request with a fault instead of forwarding it, in turn: throttling (S3's
    `SlowDown`, Glue's `ThrottlingException`), an internal error (500), and a connection
    dropped without a reply. The schedule is counted, not random, so a run sees the same
    faults each time; `faults` counts what was done. `every=0`: no scheduled faults.

    `lose_reply(method, path, headers)`: a request it matches is forwarded, and applied
    upstream, but its reply is lost (the connection dropped), at most `lose_times` times; the
    client only sees a connection gone, as when a reply is lost on its way back."""

    KINDS = ("throttle", "internal", "drop")

    def __init__(
        self,
        upstream: str,
        every: int = 5,
        lose_reply: Callable[[str, str, Mapping[str, str]], bool] | None = None,
        lose_times: int = 1,
    ) -> None:
        import http.client
        import http.server
        import urllib.parse

        target = urllib.parse.urlsplit(upstream)
        proxy = self
        self.every = every
        self._lose_reply, self._lose_times = lose_reply, lose_times
        self.requests = 0
        self.faults = {kind: 0 for kind in self.KINDS}
        self.lost_replies = 0
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _any(self) -> None:
                body = self._body()
                kind = proxy._next_fault()
                if kind == "drop":  # as a load balancer that drops a connection does
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if kind is not None:
                    self._fault(kind)
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("transfer-encoding", "content-length", "connection")
                }
                headers["Content-Length"] = str(len(body))
                upstream_conn = http.client.HTTPConnection(target.hostname, target.port)
                try:
                    upstream_conn.request(self.command, self.path, body=body, headers=headers)
                    response = upstream_conn.getresponse()
                    data = response.read()
                finally:
                    upstream_conn.close()
                if proxy._lose(self.command, self.path, self.headers):  # applied; reply lost
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                for k, v in response.getheaders():
                    if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _fault(self, kind: str) -> None:
                s3_status, s3_code, json_status, json_code, message = _HTTP_FAULTS[kind]
                target_header = self.headers.get("X-Amz-Target", "")
                if target_header:  # a JSON protocol service: Glue, Athena
                    status = json_status
                    data = json.dumps({"__type": json_code, "message": message}).encode()
                    ctype = "application/x-amz-json-1.1"
                else:
                    status = s3_status
                    data = _S3_ERROR.format(code=s3_code, message=message).encode()
                    ctype = "application/xml"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if target_header:
                    self.send_header("x-amzn-ErrorType", json_code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _lose(self, method: str, path: str, headers: Mapping[str, str]) -> bool:
        with self._lock:
            if self._lose_reply is None or self.lost_replies >= self._lose_times:
                return False
            if not self._lose_reply(method, path, headers):
                return False
            self.lost_replies += 1
            return True

    def _next_fault(self) -> str | None:
        with self._lock:
            self.requests += 1
            n = self.requests
            if not self.every or n % self.every:
                return None
            kind = self.KINDS[(n // self.every) % len(self.KINDS)]
            self.faults[kind] += 1
            return kind

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
