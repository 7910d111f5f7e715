"""A tiny stand-in for the Hugging Face Hub on 127.0.0.1, for driving the real huggingface_hub client.

It answers the endpoints huggingface_hub 2.x uses for repo_info, list_repo_tree and
hf_hub_download: GET /api/models/{repo}/revision/{rev}, GET /api/models/{repo}/tree/{rev},
HEAD and GET /{repo}/resolve/{rev}/{path} (X-Repo-Commit, ETag / X-Linked-Etag /
X-Linked-Size, Range). Misbehaviours (truncated bodies, stalls, slow bodies, wrong published
hashes) are switched on per file so tests can check what the fetcher does about them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data, usedforsecurity=False).hexdigest()


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    commit: str = field(default_factory=lambda: secrets.token_hex(20))
    refs: dict[str, str] = field(default_factory=dict)
    lfs: set[str] = field(default_factory=set)  # files stored in LFS (published sha256)
    published_sha256: dict[str, str] = field(default_factory=dict)  # override: the hub "lies"

    def sha256(self, path: str) -> str:
        return self.published_sha256.get(path) or hashlib.sha256(self.files[path]).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.hits: Counter[tuple[str, str]] = Counter()
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.truncate: dict[str, int] = {}  # path -> how many GETs to cut off half-way
        self.stall: dict[str, tuple[threading.Event, threading.Event]] = {}  # path -> (reached, release)
        self.hold: dict[str, tuple[threading.Event, threading.Event]] = {}  # like stall, then finish the body
        self.slow_s: float = 0.0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with hub._lock:
                    hub._conns.add(self.connection)

            def do_GET(self) -> None:
                hub._handle(self, "GET")

            def do_HEAD(self) -> None:
                hub._handle(self, "HEAD")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ setup
    def add_repo(self, repo_id: str, files: dict[str, bytes], *, lfs: set[str] | None = None,
                 tags: dict[str, str] | None = None) -> FakeRepo:
        """Files ending in .safetensors/.gguf/.bin are LFS unless `lfs` says otherwise."""
        if lfs is None:
            lfs = {p for p in files if p.endswith((".safetensors", ".gguf", ".bin", ".pt"))}
        repo = FakeRepo(files=dict(files), lfs=set(lfs))
        repo.refs = {"main": repo.commit, **{t: repo.commit for t in (tags or {})}}
        self.repos[repo_id] = repo
        return repo

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open keep-alive connection: the network is gone."""
        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._conns.clear()

    def gets(self, repo_id: str, path: str) -> int:
        """How many file-body GETs the server answered for one file."""
        return sum(n for (m, p), n in self.hits.items() if m == "GET" and p.startswith(f"/{repo_id}/resolve/")
                   and p.endswith("/" + path))

    # ------------------------------------------------------------------ responses
    def _send(self, h: BaseHTTPRequestHandler, code: int, body: bytes = b"", headers: dict[str, str] | None = None,
              method: str = "GET") -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if method != "HEAD" and body:
            h.wfile.write(body)

    def _error(self, h: BaseHTTPRequestHandler, code: int, error_code: str, method: str,
               extra: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": error_code}).encode()
        self._send(h, code, body, {"X-Error-Code": error_code, "Content-Type": "application/json", **(extra or {})},
                   method)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        path = urlsplit(h.path).path
        with self._lock:
            self.hits[(method, path)] += 1
            self.requests.append((method, path, dict(h.headers)))
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
            repo_id, what, rev = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
            repo = self.repos.get(repo_id)
            if repo is None:
                return self._error(h, 404, "RepoNotFound", method)
            commit = repo.refs.get(rev) or (rev if rev == repo.commit else None)
            if commit is None:
                return self._error(h, 404, "RevisionNotFound", method)
            if what == "revision":
                body = {"id": repo_id, "sha": commit, "siblings": [{"rfilename": p} for p in sorted(repo.files)]}
            else:
                body = []
                for p, data in sorted(repo.files.items()):
                    e = {"type": "file", "path": p, "size": len(data), "oid": git_blob_id(data)}
                    if p in repo.lfs:
                        e["lfs"] = {"oid": repo.sha256(p), "size": len(data), "pointerSize": 134}
                    body.append(e)
            return self._send(h, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, method)
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(h, method, f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]))
        return self._error(h, 404, "NotFound", method)

    def _resolve(self, h: BaseHTTPRequestHandler, method: str, repo_id: str, rev: str, fpath: str) -> None:
        repo = self.repos.get(repo_id)
        if repo is None:
            return self._error(h, 404, "RepoNotFound", method)
        commit = repo.refs.get(rev) or (rev if rev == repo.commit else None)
        if commit is None:
            return self._error(h, 404, "RevisionNotFound", method)
        if fpath not in repo.files:
            return self._error(h, 404, "EntryNotFound", method, {"X-Repo-Commit": commit})
        data = repo.files[fpath]
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if fpath in repo.lfs:
            headers["ETag"] = f'"{git_blob_id(data)}"'
            headers["X-Linked-Etag"] = f'"{repo.sha256(fpath)}"'
            headers["X-Linked-Size"] = str(len(data))
        else:
            headers["ETag"] = f'"{git_blob_id(data)}"'
        if method == "HEAD":
            return self._send(h, 200, b"", {**headers, "Content-Length": str(len(data))}, method)
        start = 0
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0] or 0)
        body = data[start:]
        code = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        h.send_response(code)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            h.send_header(k, v)
        h.end_headers()
        half = len(body) // 2
        with self._lock:
            cut = self.truncate.get(fpath, 0) > 0
            if cut:
                self.truncate[fpath] -= 1
        stall = self.stall.get(fpath)
        if cut or stall:
            h.wfile.write(body[:half])
            h.wfile.flush()
            if stall:
                reached, release = stall
                reached.set()
                release.wait(60)
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        hold = self.hold.get(fpath)
        if hold or self.slow_s:
            h.wfile.write(body[:half])
            h.wfile.flush()
            if hold:
                hold[0].set()
                hold[1].wait(60)
            else:
                time.sleep(self.slow_s)
            h.wfile.write(body[half:])
        else:
            h.wfile.write(body)
