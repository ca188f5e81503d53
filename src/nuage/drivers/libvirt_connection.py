"""The libvirt connection of a driver, and the translation of libvirt's errors into nuage's.

The binding (libvirt-python) is optional: it is imported when a `Connection` is made, and its
absence raises ImportError saying what to install. The connection opens lazily and reopens when
it died; blocking, so the driver calls it from worker threads (libvirt connections are
thread-safe).
"""

import contextlib
import importlib
import threading
from typing import Any

from nuage.domain.errors import NuageError, PermanentError, TransientError


def load_binding() -> Any:
    """The libvirt module, with libvirt's printing of errors to stderr turned off."""
    try:
        binding = importlib.import_module("libvirt")
    except ImportError as exc:
        message = "The libvirt driver needs libvirt-python: install the extra nuage[libvirt]."
        raise ImportError(message) from exc
    binding.registerErrorHandler(lambda _ctx, _err: None, None)
    return binding


_event_loop_lock = threading.Lock()
_event_loop_started = False


def ensure_event_loop(binding: Any) -> None:
    """Register and run libvirt's default event loop (once per process), which the in-process
    `qemu:///embed?root=DIR` driver needs to see its QEMU processes; remote and system URIs
    do not. One long-lived process may own an embed root (see ../shared/notes/libvirt-here.md),
    and once it is loaded, that process's other qemu:// URIs reach the embedded driver too
    (libvirt 9.0): a process uses embed or a daemon, not both."""
    global _event_loop_started
    with _event_loop_lock:
        if _event_loop_started:
            return
        binding.virEventRegisterDefaultImpl()

        def run() -> None:
            while True:
                binding.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


class Connection:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.lv = load_binding()  # the libvirt module: constants, libvirtError
        self._conn: Any = None
        self._lock = threading.Lock()

    def get(self) -> Any:
        """The open virConnect; TransientError `host_unreachable` when it cannot be opened."""
        with self._lock:
            if self._conn is not None and self.alive():
                return self._conn
            self._close_locked()
            if self.uri.startswith("qemu:///embed"):
                ensure_event_loop(self.lv)
            try:
                conn = self.lv.open(self.uri)
            except self.lv.libvirtError as exc:
                raise self._unreachable(exc.get_error_message()) from exc
            if conn is None:
                raise self._unreachable("libvirt.open returned nothing")
            self._conn = conn
            return conn

    def alive(self) -> bool:
        try:
            return self._conn is not None and bool(self._conn.isAlive())
        except self.lv.libvirtError:
            return False

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def translate(self, exc: Any) -> NuageError:
        """The nuage error for a libvirtError (see the driver's docstring for the table)."""
        lv = self.lv
        code, origin = exc.get_error_code(), exc.get_error_domain()
        message = exc.get_error_message() or str(exc)
        if code == lv.VIR_ERR_NO_DOMAIN:
            return PermanentError(message, code="machine_not_found")
        lost = code in (lv.VIR_ERR_SYSTEM_ERROR, lv.VIR_ERR_INTERNAL_ERROR) and not self.alive()
        if lost or code in (lv.VIR_ERR_NO_CONNECT, lv.VIR_ERR_RPC) or origin == lv.VIR_FROM_RPC:
            self.close()
            return self._unreachable(message)
        if code == lv.VIR_ERR_OPERATION_INVALID:
            return PermanentError(message, code=_invalid_operation_code(message))
        return PermanentError(f"libvirt: {message}", code="libvirt_error")

    def _close_locked(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(self.lv.libvirtError):  # already dead: nothing to release
                conn.close()

    def _unreachable(self, reason: str) -> TransientError:
        message = f"Cannot reach libvirt at {self.uri}: {reason}"
        return TransientError(message, code="host_unreachable")


def _invalid_operation_code(message: str) -> str:
    """libvirt's VIR_ERR_OPERATION_INVALID says what was wrong only in words."""
    lowered = message.lower()
    if "not running" in lowered or "not active" in lowered:
        return "machine_not_running"
    if "already running" in lowered or "is active" in lowered:
        return "machine_running"
    return "invalid_operation"
