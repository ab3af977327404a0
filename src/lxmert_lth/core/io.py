"""File helpers: atomic writes, JSON, and safetensors with metadata.

Every declared output of the workflow is written through :func:`atomic_path`, so a
killed job never leaves a file that looks complete: the data goes to a temporary
file beside the target and is renamed into place only once it is whole.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from lxmert_lth.core.errors import InputError, UserError


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    On any exception the temporary file (or directory) is removed and ``target`` is
    left untouched. The temporary path has a fixed name (``.NAME.partial``): what a
    killed job (SIGKILL: no exception) left there is removed by its rerun, never
    piled up. What it holds is given the process's umask's modes before the rename, like
    any file, so outputs are as readable by the group and others as the user's umask
    says (libraries that write a private temporary file of their own and rename it,
    as safetensors does, would leave 0600 otherwise).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.partial"
    _remove(tmp)
    if directory:
        tmp.mkdir()
    else:
        tmp.touch()
    try:
        yield tmp
        _follow_umask(tmp)
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException as err:
        _remove(tmp)
        if _disk_full(err):
            free = shutil.disk_usage(target.parent).free
            raise DiskFull(
                f"{target}: the disk filled while writing it ({free / 2**20:,.0f} MiB free "
                "there now); nothing partial is left: free some space or point results: "
                "elsewhere, then rerun"
            ) from err
        raise


class DiskFull(UserError, OSError):
    """The filesystem filled during a write."""


def _disk_full(err: BaseException) -> bool:
    """An out-of-space error, as the OS says it or as a library passes it on in its own
    exception's message (safetensors, h5py)."""
    if isinstance(err, DiskFull):
        return False  # said already, by an inner write
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return True
    return "No space left on device" in str(err) or "[Errno 28]" in str(err)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None


RUN_LOCK = ".run.lock"


def lock_results(folder: str | os.PathLike) -> int:
    """Hold ``folder/.run.lock`` for as long as this process lives (an OS lock that dies
    with the process, however it ends); returns its descriptor. Snakemake's own lock is
    in its working directory, so two runs from two clones could otherwise write one
    absolute ``results:`` folder at once."""
    import fcntl

    path = Path(folder) / RUN_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = Path(path).read_text().strip() or "another process"
        os.close(fd)
        raise InputError(
            f"results: {folder} is being written by another run ({holder}); wait for it, "
            "or give this run its own results folder"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} in {os.getcwd()}\n".encode())
    return fd


def _follow_umask(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        if p.is_symlink():
            continue
        os.chmod(p, (0o777 if p.is_dir() else 0o666) & ~umask)


def save_tensors(
    path: str | os.PathLike, tensors: dict[str, Any], metadata: dict | None = None
) -> None:
    """Save torch tensors or NumPy arrays as safetensors; metadata values go in as JSON."""
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    if all(isinstance(v, np.ndarray) for v in tensors.values()):
        from safetensors.numpy import save_file

        tensors = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    else:
        from safetensors.torch import save_file

        tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        _sort_header(tmp)


def _sort_header(path) -> None:
    """The file's JSON header with its keys sorted, in place. safetensors writes the
    metadata in its hash map's order, which changes from process to process: the same
    tensors and metadata would make files that differ in their bytes. The header keeps its
    length (the same JSON, reordered; the padding to 8 bytes is spaces), so the tensors'
    offsets hold."""
    with open(path, "r+b") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
        text = json.dumps(header, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        data = text.encode()
        if len(data) > size:  # not the compact JSON safetensors writes: leave it as it is
            return
        f.seek(8)
        f.write(data.ljust(size, b" "))


# A PDF's creation date would make two runs' figures differ in their bytes.
PDF_METADATA = {"CreationDate": None}


def save_figure(fig, path: str | os.PathLike, fmt: str) -> None:
    """A Matplotlib figure written atomically, the same bytes for the same figure."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, metadata=PDF_METADATA if fmt == "pdf" else None)


@contextmanager
def _readable(path) -> Iterator[None]:
    """The one translation of safetensors' read errors into an error naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (SafetensorError, OSError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a readable safetensors file ({err})") from None


def load_tensors(
    path: str | os.PathLike, framework: str = "pt", device: str = "cpu"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Load a safetensors file as torch tensors (``pt``) or NumPy arrays (``np``), with the
    metadata written by :func:`save_tensors`. Never unpickles anything."""
    with _readable(path), safe_open(str(path), framework=framework, device=device) as f:
        meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    return tensors, meta


class TensorFile(Mapping):
    """A safetensors file as a read-only mapping of NumPy arrays, each read from disk when
    asked for: a job that needs a few tensors at a time (the mask maths, rewinding) never
    holds the whole checkpoint. ``shapes`` and ``metadata`` come from the header alone,
    which is parsed once: the file stays open (memory-mapped) while the mapping lives."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        with _readable(path):
            self._file = safe_open(self.path, framework="np")
            self.metadata = {k: json.loads(v) for k, v in (self._file.metadata() or {}).items()}
            self.shapes = {k: tuple(self._file.get_slice(k).get_shape()) for k in self._file.keys()}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.shapes:
            raise KeyError(name)
        with _readable(self.path):
            return self._file.get_tensor(name)

    def __iter__(self):
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)


def read_yaml_mapping(path: str | os.PathLike) -> dict:
    """A configuration file's top-level mapping; one clear line for a missing or
    unparsable file, a key given twice in one mapping (YAML's last one would win
    silently), an empty file, or one that is not a mapping."""
    import yaml

    class Strict(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise InputError(
                        f"{path}: key {key!r} is given twice (lines {seen[key]} and {line}); "
                        "the last would win silently: keep one"
                    )
                seen[key] = line
            return super().construct_mapping(node, deep)

    try:
        doc = yaml.load(Path(path).read_text(), Loader=Strict)  # noqa: S506 (a SafeLoader)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise InputError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(doc, dict):
        what = "empty" if doc is None else f"a {type(doc).__name__}, not a mapping of sections"
        raise InputError(f"{path}: the configuration is {what}")
    return doc
