"""Who uses a data directory. An embedded Chroma belongs to one process: `qa serve` holds this
lock for its lifetime, `qa ingest` and `qa documents delete` for their write, and a second
process is refused with the holder's pid instead of corrupting the first one's view. Several
processes share data through a Chroma server (`QA_CHROMA_URL`), which needs no lock."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

LOCK_FILE = "qa.lock"


class DataDirBusy(RuntimeError):
    def __init__(self, data_dir: Path, holder: str):
        pid, _, role = holder.partition(" ")
        role = role or "qa"
        hint = (
            "POST /documents to it, stop it, or use a Chroma server (QA_CHROMA_URL)"
            if role == "qa serve"
            else "wait for it to finish, or use a Chroma server (QA_CHROMA_URL)"
        )
        super().__init__(f"a {role} process (pid {pid or '?'}) is using {data_dir}/; {hint}")


class DataDirLock:
    def __init__(self, data_dir: Path, role: str):
        self.data_dir = data_dir
        self.role = role
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise `DataDirBusy` naming the process that has it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirBusy(self.data_dir, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.role}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
