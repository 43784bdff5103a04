"""A small client of the studio's REST API (``<url>/api/v1``). Every failure is a ``CliError``
whose message is ready to show: the server's own message, its field errors and recommendations."""

from __future__ import annotations

import os
import re
import uuid
from typing import Any, BinaryIO, Iterator, Sequence
from urllib.parse import quote

import requests

from studio.cli.errors import CliError
from studio.cli.output import error_body, error_lines

__all__ = ["CliError", "MultipartBody", "StudioClient", "normalise_url"]

CONNECT_TIMEOUT = 10
READ_TIMEOUT = 300  # an upload is unpacked before the studio answers


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/api/v1"):
        url = url[: -len("/api/v1")]
    if "://" not in url:
        url = "http://" + url
    return url


class MultipartBody:
    """A multipart/form-data body read piece by piece, so uploaded files are never held in
    memory; it has a length, so requests sends a Content-Length rather than chunks."""

    def __init__(self, fields: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, BinaryIO]]):
        self.boundary = uuid.uuid4().hex
        self._parts: list[bytes | BinaryIO] = []
        self._length = 0
        for name, value in fields:
            self._add(self._header(name) + b"\r\n" + value.encode("utf-8") + b"\r\n")
        for name, filename, handle in files:
            self._add(self._header(name, filename) + b"Content-Type: application/gzip\r\n\r\n")
            self._parts.append(handle)
            self._length += os.fstat(handle.fileno()).st_size - handle.tell()
            self._add(b"\r\n")
        self._add(f"--{self.boundary}--\r\n".encode())
        self._index = 0
        self._pos = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _header(self, name: str, filename: str | None = None) -> bytes:
        disposition = f'form-data; name="{_quote(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote(filename)}"'
        return f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\n".encode()

    def _add(self, data: bytes) -> None:
        self._parts.append(data)
        self._length += len(data)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = 1 << 20 if size is None or size < 0 else size
        out: list[bytes] = []
        while size > 0 and self._index < len(self._parts):
            part = self._parts[self._index]
            if isinstance(part, bytes):
                chunk = part[self._pos:self._pos + size]
                self._pos += len(chunk)
                done = self._pos >= len(part)
            else:
                chunk = part.read(size)
                done = not chunk
            if done:
                self._index, self._pos = self._index + 1, 0
            out.append(chunk)
            size -= len(chunk)
        return b"".join(out)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 16):
            yield chunk


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class StudioClient:
    def __init__(self, url: str, token: str, *, workspace: str | None = None,
                 session: requests.Session | None = None):
        self.url = normalise_url(url)
        self.workspace = workspace  # sent with new jobs unless create_job is given one
        self.api = self.url + "/api/v1"
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Token {token}", "Accept": "application/json",
                                     "User-Agent": "serverless-studio-cli"})

    # -- transport ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        target = self.api + path
        try:
            response = self.session.request(method, target, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **kwargs)
        except requests.ConnectionError as exc:
            raise CliError(f"cannot reach the studio at {self.url}: {_reason(exc)}; is it running?") from None
        except requests.Timeout:
            raise CliError(f"the studio at {self.url} did not answer {method} {path} within {READ_TIMEOUT} s") from None
        except requests.exceptions.ChunkedEncodingError:
            raise self._broken(method, path) from None
        except requests.RequestException as exc:
            raise CliError(f"request to the studio at {self.url} failed: {exc}") from None
        if response.status_code >= 400:
            raise self._error(method, target, response)
        return response

    def _broken(self, method: str, path: str) -> CliError:
        return CliError(f"the studio at {self.url} closed the connection in the middle of its answer to "
                        f"{method} {path}; try again")

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise CliError(f"the studio at {self.url} answered {method} {path} with something that is not JSON; "
                           "is this the right URL?") from None

    def _error(self, method: str, target: str, response: requests.Response) -> CliError:
        """The server's error body (or, when it is not ours, what happened) as a ``CliError``."""
        try:
            body = response.json()
        except ValueError:
            body = None
        error = error_body(body)
        if error is None:
            summary = f"the studio answered {response.status_code} {response.reason} to {method} {target}"
            if response.status_code == 404:
                summary += f"; is {self.url} a Serverless Studio?"
            error = {"message": summary, "code": None, "recommendations": [], "errors": []}
        message = error_lines(error)
        if response.status_code == 401:
            message += ("\n  check your API token: --token, STUDIO_TOKEN or the saved profile "
                        "(`manage.py studio_setup` on the server writes one)")
        return CliError(message, summary=error["message"], code=error["code"],
                        recommendations=error["recommendations"], errors=error["errors"], status=response.status_code)

    # -- endpoints ---------------------------------------------------------------------------

    def create_job(self, spec: str, *, sets: Sequence[str] = (), name: str | None = None,
                   workspace: str | None = None, code: BinaryIO | None = None,
                   inputs: dict[str, BinaryIO] | None = None) -> dict:
        fields = [("spec", spec), *(("set", item) for item in sets)]
        workspace = workspace or self.workspace
        fields += [(key, value) for key, value in (("name", name), ("workspace", workspace)) if value]
        files = [("code", "code.tar.gz", code)] if code is not None else []
        files += [(f"inputs.{key}", f"{key}.tar.gz", handle) for key, handle in (inputs or {}).items()]
        body = MultipartBody(fields, files)
        return self._json("POST", "/jobs", data=body, headers={"Content-Type": body.content_type})

    def list_jobs(self, *, page: int = 1, page_size: int = 50, **filters: str | None) -> dict:
        params = {key: value for key, value in filters.items() if value}
        params.update(page=page, page_size=page_size)
        return self._json("GET", "/jobs", params=params)

    def iter_jobs(self, *, max_results: int, page_size: int = 500, **filters: str | None) -> Iterator[dict]:
        """Jobs across pages, newest first as the server orders them, up to ``max_results``
        (``page_size`` at most per request; the studio allows up to 500)."""
        page, seen = 1, 0
        while seen < max_results:
            body = self.list_jobs(page=page, page_size=min(max_results, page_size), **filters)
            for job in body.get("results") or []:
                if seen >= max_results:
                    return
                seen += 1
                yield job
            if not body.get("next") or not body.get("results"):
                return
            page += 1

    def get_job(self, name: str) -> dict:
        return self._json("GET", f"/jobs/{_q(name)}")

    def cancel_job(self, name: str) -> dict:
        return self._json("POST", f"/jobs/{_q(name)}/cancel")

    def job_logs(self, name: str, *, offset: int = 0, node: int = 0) -> dict:
        return self._json("GET", f"/jobs/{_q(name)}/logs", params={"offset": offset, "node": node})

    def job_outputs(self, name: str) -> list[dict]:
        return self._json("GET", f"/jobs/{_q(name)}/outputs")

    def download(self, name: str, into: BinaryIO, path: str | None = None) -> requests.Response:
        """Write one output file (or a .tar.gz of a folder; of everything without ``path``) to ``into``."""
        route = f"/jobs/{_q(name)}/outputs/{quote(path.strip('/'))}" if path else f"/jobs/{_q(name)}/download"
        response = self._request("GET", route, stream=True)
        with response:
            try:
                for chunk in response.iter_content(1 << 20):
                    into.write(chunk)
            except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError):
                raise self._broken("GET", route) from None
        return response

    def explain(self, spec: str, *, sets: Sequence[str] = ()) -> dict:
        return self._json("POST", "/jobs/explain", json={"spec": spec, "set": list(sets)})

    def evict_job(self, name: str) -> dict:
        return self._json("POST", f"/jobs/{_q(name)}/evict")

    # Reads and new computes default to the profile's workspace, like new jobs; a family's quota
    # set without a workspace is the subscription's, so ``set_quota`` never fills one in.

    def quotas(self, *, workspace: str | None = None) -> dict:
        return self._json("GET", "/quotas", params=_params(workspace=workspace or self.workspace))

    def set_quota(self, family: str, limit: int, *, workspace: str | None = None) -> dict:
        """A workspace's cap when ``workspace`` is given; else the subscription's limit (the profile's
        workspace, if any, says which subscription)."""
        body: dict[str, Any] = {"family": family, "limit": limit}
        if workspace:
            body["workspace"] = workspace
        return self._json("POST", "/quotas", json=body,
                          params=None if workspace else _params(workspace=self.workspace))

    def set_spot_quota(self, limit: int) -> dict:
        """The subscription's Spot pool; the profile's workspace only says which subscription."""
        return self._json("POST", "/quotas/spot", json={"limit": limit}, params=_params(workspace=self.workspace))

    def usage(self, *, workspace: str | None = None, since: str | None = None) -> list[dict]:
        return self._json("GET", "/usage", params=_params(workspace=workspace or self.workspace, since=since))

    def list_computes(self, *, workspace: str | None = None) -> list[dict]:
        return self._json("GET", "/computes", params=_params(workspace=workspace or self.workspace))

    def create_compute(self, name: str, *, size: str, min_instances: int, max_instances: int,
                       idle_time_before_scale_down: int, workspace: str | None = None) -> dict:
        body: dict[str, Any] = {"name": name, "size": size, "min_instances": min_instances,
                                "max_instances": max_instances,
                                "idle_time_before_scale_down": idle_time_before_scale_down}
        workspace = workspace or self.workspace
        if workspace:
            body["workspace"] = workspace
        return self._json("POST", "/computes", json=body)

    def get_compute(self, name: str, *, workspace: str | None = None) -> dict:
        return self._json("GET", f"/computes/{_q(name)}", params=_params(workspace=workspace or self.workspace))

    def delete_compute(self, name: str) -> None:
        self._request("DELETE", f"/computes/{_q(name)}").close()

    def vm_sizes(self) -> list[dict]:
        return self._json("GET", "/vm-sizes")


def _q(name: str) -> str:
    return quote(name, safe="")


def _params(**values: str | None) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def _reason(exc: Exception) -> str:
    """The useful part of a connection error ("[Errno 111] Connection refused"), without urllib3's reprs."""
    text = str(exc)
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return found.group(0).strip() if found else text
