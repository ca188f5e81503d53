"""A libvirt machine's files: qcow2 overlay, NoCloud seed ISO and serial log, in one directory.

Layout: `<state_dir>/<machine_id>/{disk.qcow2,seed.iso,serial.log}`; base images are
`<images_dir>/<image>.qcow2`, else `<images_dir>/base.qcow2`. All functions here block: the
driver runs them in a thread. Tool failures (qemu-img, genisoimage) raise PermanentError
`disk_error` with the tool's stderr.
"""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nuage.domain.errors import PermanentError
from nuage.domain.images import is_custom_image


@dataclass(frozen=True)
class MachineFiles:
    root: Path

    @classmethod
    def under(cls, state_dir: Path, machine_id: str) -> "MachineFiles":
        return cls(state_dir.resolve() / machine_id)

    @property
    def disk(self) -> Path:
        return self.root / "disk.qcow2"

    @property
    def seed(self) -> Path:
        return self.root / "seed.iso"

    @property
    def log(self) -> Path:
        return self.root / "serial.log"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def base_image(images_dir: Path, image: str) -> Path:
    """The base image for `image`; PermanentError `image_not_available` when there is none. A
    custom image has no fallback: base.qcow2 would silently give another disk."""
    fallback: tuple[Path, ...] = () if is_custom_image(image) else (images_dir / "base.qcow2",)
    for candidate in (images_dir / f"{image}.qcow2", *fallback):
        if "/" not in image and candidate.is_file():
            return candidate.resolve()
    message = f"No base image for {image!r} in {images_dir} (nor base.qcow2)."
    raise PermanentError(message, code="image_not_available")


def make_disk(base: Path, path: Path, disk_gb: int, *, copy: bool) -> None:
    """A machine's fresh disk from `base`, replacing `path` atomically: a qcow2 overlay of it
    (`base` is never written to), or with `copy` a standalone copy (for an image that may be
    deleted while the machine lives)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".new")
    if copy:
        run_tool("qemu-img", "convert", "-q", "-O", "qcow2", str(base), str(tmp))
        run_tool("qemu-img", "resize", "-q", str(tmp), f"{disk_gb}G")
    else:
        argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(base)]
        run_tool(*argv, str(tmp), f"{disk_gb}G")
    tmp.replace(path)


def apply_snapshot(disk: Path, snapshot: str) -> None:
    """Bring a stopped machine's disk back to its internal snapshot `snapshot` (disk only)."""
    run_tool("qemu-img", "snapshot", "-a", snapshot, str(disk))


def forget_snapshot(disk: Path, snapshot: str) -> None:
    """Remove a stopped machine's internal snapshot `snapshot` from its disk; gone already: fine."""
    names = run_tool("qemu-img", "snapshot", "-l", str(disk))
    if any(line.split()[1:2] == [snapshot] for line in names.splitlines()):
        run_tool("qemu-img", "snapshot", "-d", snapshot, str(disk))


def virtual_gb(disk: Path) -> float:
    """The disk's virtual size in GiB (`-U`: the disk may be in use by a running machine)."""
    out = run_tool("qemu-img", "info", "-U", "--output=json", str(disk))
    return float(json.loads(out)["virtual-size"]) / 1024**3


def export_snapshot(disk: Path, snapshot: str, target: Path) -> None:
    """A standalone qcow2 of the disk as its internal snapshot `snapshot` holds it, at `target`:
    written under a temporary name, synced, then renamed, so `target` is complete or absent.
    `-U`: a running machine holds the disk; the snapshot's clusters do not change under it."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        argv = ["qemu-img", "convert", "-q", "-U", "-O", "qcow2", "-l", f"snapshot.name={snapshot}"]
        run_tool(*argv, str(disk), str(tmp))
        publish(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def publish(tmp: Path, target: Path) -> None:
    """Make a complete file written as `tmp` appear as `target`: synced, renamed, and the
    rename synced, so `target` is complete or absent after a crash."""
    fsync(tmp)
    tmp.replace(target)
    fsync(target.parent)


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def grow_overlay(path: Path, disk_gb: int) -> None:
    run_tool("qemu-img", "resize", "-q", str(path), f"{disk_gb}G")


# cloud-init applies `network-config` on an instance's first boot only, unless asked to at every
# boot: then a restart that re-reads the seed applies changed addresses.
USER_DATA = "#cloud-config\nupdates:\n  network:\n    when: [boot]\n"


def write_seed(
    path: Path,
    *,
    instance_id: str,
    hostname: str,
    network_config: str,
    user_data: str = USER_DATA,
) -> None:
    """The NoCloud seed (ISO9660 labelled `cidata`: meta-data, user-data, network-config),
    replacing `path` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".new")
    with tempfile.TemporaryDirectory() as work:
        meta = Path(work, "meta-data")
        meta.write_text(f"instance-id: {instance_id}\nlocal-hostname: {hostname}\n")
        Path(work, "user-data").write_text(user_data)
        Path(work, "network-config").write_text(network_config)
        argv = ["genisoimage", "-quiet", "-output", str(tmp), "-volid", "cidata", "-joliet"]
        run_tool(*argv, "-rock", str(meta), f"{work}/user-data", f"{work}/network-config")
    tmp.replace(path)


def log_size(log: Path) -> int:
    """Bytes in the serial log now: the offset after which to look for a new boot marker."""
    try:
        return log.stat().st_size
    except FileNotFoundError:
        return 0


def text_after(log: Path, offset: int) -> str:
    """The serial log from `offset` (from the start if the log was rotated or cleared since)."""
    try:
        with log.open("rb") as f:
            if f.seek(0, 2) < offset:
                offset = 0
            f.seek(offset)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def read_console(log: Path) -> str:
    """The whole serial log, rotated parts (`serial.log.N`, virtlogd at 2 MiB) first, with
    `\\r\\n` turned into `\\n`."""
    rotated = sorted(log.parent.glob(f"{log.name}.[0-9]*"), key=lambda p: -int(p.suffix[1:]))
    parts = [text_after(path, 0) for path in [*rotated, log]]
    return "".join(parts).replace("\r\n", "\n")


def clear_console(log: Path) -> None:
    for path in [log, *log.parent.glob(f"{log.name}.[0-9]*")]:
        path.unlink(missing_ok=True)


def run_tool(*argv: str, timeout: float = 120) -> str:
    """Run a disk tool; its standard output. PermanentError `disk_error` with its stderr when
    it fails."""
    try:
        done = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout)
    except subprocess.CalledProcessError as exc:
        message = f"{argv[0]} failed ({exc.returncode}): {exc.stderr.strip()}"
        raise PermanentError(message, code="disk_error") from exc
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PermanentError(f"{argv[0]} failed: {exc}", code="disk_error") from exc
    return done.stdout
