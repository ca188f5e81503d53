"""A private PostgreSQL cluster for tests that stop and restart the database or run many
processes against it, so they never disturb the machine's own server."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import free_port


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivateCluster:
    """initdb + pg_ctl as the `postgres` user, on a free port, in a temporary directory."""

    def __init__(self) -> None:
        pg_bin = _pg_bin()
        if pg_bin is None:
            raise RuntimeError("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = pg_bin
        self.root = Path(tempfile.mkdtemp(prefix="nuage-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres"])

    def _as_postgres(self, argv: list[str]) -> None:
        cmd = ["runuser", "-u", "postgres", "--", str(self.bin / argv[0]), *argv[1:]]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "start"])
        self._wait(up=True)

    def stop(self) -> None:
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop"])
        self._wait(up=False)

    def _wait(self, *, up: bool) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    if up:
                        return
            except OSError:
                if not up:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"cluster did not become {'up' if up else 'down'}")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError, RuntimeError):
                self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def can_run_private_cluster() -> str | None:
    """None if a private cluster can run here, else the reason it cannot."""
    if _pg_bin() is None:
        return "PostgreSQL server binaries are not installed"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a private cluster needs root and runuser"
    return None
