"""A local webhook receiver: a real HTTP server on 127.0.0.1 in a thread, answering each
request with the next status of a script and recording what arrived and when. Given a TLS
context it speaks https, records the server name each client asked for (SNI), and its URL
names `host` (which the test makes resolve to 127.0.0.1)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    started: float
    finished: float


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI of each TLS handshake
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else 200


@contextmanager
def webhook_receiver(
    statuses: list[int] | None = None,
    delay: float = 0.0,
    *,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> Iterator[Receiver]:
    state = Receiver(url="", statuses=list(statuses or []), delay_seconds=delay)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            started = time.monotonic()
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(state.delay_seconds)
            status = state.next_status()
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()
            with state.lock:
                state.received.append(
                    Received(
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        started,
                        time.monotonic(),
                    )
                )

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if tls is not None:

        def remember(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
            with state.lock:
                state.server_names.append(name)

        tls.sni_callback = remember  # type: ignore[assignment]
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    state.url = f"{scheme}://{host}:{server.server_address[1]}/hooks/tributary"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
