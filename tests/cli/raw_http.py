"""A raw HTTP server for the failures a real studio cannot produce on demand: it answers every
request with the same bytes and hangs up. It knows nothing of the studio's API."""

from __future__ import annotations

import socket
import socketserver
import threading


class RawServer:
    def __init__(self, response: bytes):
        self.response = response
        self.requests = 0
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                received = b""
                while b"\r\n\r\n" not in received:
                    piece = self.request.recv(65536)
                    if not piece:
                        return
                    received += piece
                server.requests += 1
                self.request.sendall(server.response)
                self.request.shutdown(socket.SHUT_RDWR)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def response(status: str, body: bytes, *, content_type: str = "text/html", length: int | None = None) -> bytes:
    """An HTTP/1.1 answer; ``length`` larger than the body makes a connection that drops mid-answer."""
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\nConnection: close\r\n\r\n")
    return head.encode() + body
