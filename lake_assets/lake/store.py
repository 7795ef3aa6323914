"""Lake storage: the object operations the assets need, for a local folder or S3.

Keys are '/'-separated paths relative to LAKE_ROOT, e.g. `raw/reports/date=20260101/…`.
Files are written to a local path first (Parquet needs a seekable file) and then committed
under their key; for a local lake that path is already the final one.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from lake_assets.core.errors import ExplainedFailure, lake_full, lake_unwritable


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Every file of a local lake (Parquet, manifests, schema) gets the mode a plain `open` would
# give it: 0666 less the process umask (0644 with the usual 022; set a umask of 077 to keep
# the lake private to its user).
FILE_MODE = 0o666 & ~_umask()


class LakeError(ExplainedFailure):
    """The lake cannot be written or read; the message says which setting to change (not
    retried: a retry would meet the same folder)."""


class LakeStore(Protocol):
    root: str

    def uri(self, key: str) -> str: ...

    def writing(self, key: str) -> AbstractContextManager[Path]:
        """A local path to write; on a clean exit its content is stored under `key`."""
        ...

    def reading(self, key: str) -> AbstractContextManager[Path]:
        """A local path holding the object at `key` for the duration of the block."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically: readers see the old or the new, never half."""
        ...

    def get_bytes(self, key: str) -> bytes | None: ...

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        """The object at `key` and a version token for `put_if` (both None when absent)."""
        ...

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        """Compare-and-set: store `data` only if `key` is still at `version` (None: only if
        absent); the new version, or None, and nothing written, when another writer got there
        first."""
        ...

    def lock(self, name: str) -> AbstractContextManager[None]:
        """Hold the lake-wide lock `name` for the block (other holders wait)."""
        ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def list_sizes(self, prefix: str) -> dict[str, int]:
        """Every object under `prefix` with its size in bytes."""
        ...

    def list_modified(self, prefix: str) -> dict[str, float]:
        """Every object under `prefix` with when it was last written (epoch seconds)."""
        ...

    def delete_keys(self, keys: Iterable[str]) -> int: ...

    def check_writable(self) -> None: ...


class LocalStore:
    """A lake in a local folder (the embedded default)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return Path(self.root, *key.split("/"))

    def uri(self, key: str) -> str:
        """The absolute path (what DuckDB, pyarrow and people can open)."""
        return str(self.path(key))

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        path = self.path(key)
        self._mkdir(path.parent)
        try:
            yield path
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    @contextmanager
    def reading(self, key: str) -> Iterator[Path]:
        yield self.path(key)

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self.path(key)
        self._mkdir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; lake files all follow the umask
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get_bytes(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def get_versioned(self, key: str) -> tuple[bytes | None, str | None]:
        data = self.get_bytes(key)
        return data, (_digest(data) if data is not None else None)

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        """Under an exclusive lock on the key, compare the current content's digest, then
        `os.replace` (atomic): two writers of the same key can never both win."""
        path = self.path(key)
        self._mkdir(path.parent)
        with _flock(path.with_name(f".{path.name}.lock")):
            if self.get_versioned(key)[1] != version:
                return None
            self.put_bytes(key, data)
            return _digest(data)

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An advisory `flock` on `<root>/_locks/<name>.lock`; the kernel releases it when the
        holder dies, so a killed run never leaves it held."""
        folder = Path(self.root, "_locks")
        self._mkdir(folder)
        with _flock(folder / f"{name}.lock"):
            yield

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(self.list_sizes(prefix))

    def list_sizes(self, prefix: str) -> dict[str, int]:
        base = self.path(prefix.rstrip("/"))
        if not base.is_dir():
            return {}
        root = Path(self.root)
        return {
            p.relative_to(root).as_posix(): p.stat().st_size for p in base.rglob("*") if p.is_file()
        }

    def list_modified(self, prefix: str) -> dict[str, float]:
        base = self.path(prefix.rstrip("/"))
        if not base.is_dir():
            return {}
        root = Path(self.root)
        return {
            p.relative_to(root).as_posix(): p.stat().st_mtime
            for p in base.rglob("*")
            if p.is_file()
        }

    def delete_keys(self, keys: Iterable[str]) -> int:
        count = 0
        for key in keys:
            path = self.path(key)
            path.unlink(missing_ok=True)
            count += 1
            self._prune_empty_dirs(path.parent)
        return count

    def _prune_empty_dirs(self, folder: Path) -> None:
        root = Path(self.root)
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent

    def _mkdir(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise self._unwritable(e) from None

    def _unwritable(self, e: OSError) -> LakeError:
        if e.errno == errno.ENOSPC:
            return LakeError(lake_full(self.root))
        return LakeError(lake_unwritable(self.root, e.strerror))

    def check_writable(self) -> None:
        """Fail early, with the fix, when the lake folder cannot be written: by writing and
        removing a probe file (os.access says yes for /proc and /sys, whose writes fail)."""
        self._mkdir(Path(self.root))
        probe = Path(self.root, f".probe-{os.getpid()}")
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise self._unwritable(e) from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
