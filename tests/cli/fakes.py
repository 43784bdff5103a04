"""A tiny real HTTP server standing in for the studio, and canned job objects."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes

    def form(self) -> dict[str, list]:
        """The multipart/form-data fields: name -> [str value | (filename, bytes)]."""
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(head + self.body)
        fields: dict[str, list] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            value = (part.get_filename(), payload) if part.get_filename() else payload.decode()
            fields.setdefault(name, []).append(value)
        return fields


class FakeStudio:
    """Canned answers per (method, path); a list of answers is served in turn, the last one repeating."""

    def __init__(self):
        self.routes: dict[tuple[str, str], list[tuple[int, bytes, str]]] = {}
        self.requests: list[Recorded] = []
        studio = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                studio.requests.append(Recorded(self.command, parts.path, parse_qs(parts.query),
                                                dict(self.headers.items()), body))
                answers = studio.routes.get((self.command, parts.path))
                if not answers:
                    status, payload, ctype = 404, b"<h1>Not Found</h1>", "text/html"
                else:
                    status, payload, ctype = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, *bodies, status: int = 200, raw: bytes | None = None,
               content_type: str = "application/json") -> None:
        answers = self.routes.setdefault((method, "/api/v1" + path), [])
        if raw is not None:
            answers.append((status, raw, content_type))
        for body in bodies:
            answers.append((status, json.dumps(body).encode(), content_type))

    def made(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == "/api/v1" + path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def job(name: str = "happy_cat_1", status: str = "Queued", **fields) -> dict:
    return {"name": name, "display_name": name, "type": "command", "status": status, "compute": "serverless",
            "created_at": "2025-01-01T10:00:00Z", "started_at": None, "ended_at": None, "exit_code": None,
            "error": "", "pending_reason": "", "queue_position": None, "estimated_start_at": None,
            "instance_type": "Standard_D2as_v4", "instance_count": 1, "tier": "Standard", **fields}


def family(name: str, limit: int, *, cap: int | None = None, used: int = 0, ws_used: int = 0) -> dict:
    return {"family": name, "display_name": f"{name} vCPUs", "subscription_limit": limit, "workspace_limit": cap,
            "subscription_in_use": used, "workspace_in_use": ws_used}


def quotas(*families: dict, spot_limit: int = 10, spot_used: int = 0, workspace: str | None = "ws-1") -> dict:
    return {"subscription": "sub-1", "workspace": workspace, "families": list(families),
            "spot": {"limit": spot_limit, "in_use": spot_used}}


def compute(name: str = "cpu-cluster", **fields) -> dict:
    return {"name": name, "type": "amlcompute", "size": "Standard_DS3_v2", "min_instances": 0, "max_instances": 4,
            "idle_time_before_scale_down": 120, "allocated_nodes": 0, "busy_nodes": 0, "state": "steady",
            "scaling_down_until": None, "created_at": "2025-01-01T10:00:00Z", **fields}
