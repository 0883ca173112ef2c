"""The offline test image: Debian's static busybox plus the stand-in programs.

No registry is reachable, so the image is imported from a root filesystem built in
memory: ``/bin/busybox`` with one symlink per applet, a minimal ``/etc/passwd`` and
``/etc/group`` (``root`` and the non-root ``app`` user of the real image), ``/tmp``
with mode 1777, ``/app`` owned by ``app``, and the stand-ins of ``standins/`` in
``/usr/local/bin`` (``alembic``, ``celery``, ``pg_dump``, ``uvicorn``, ``pgrep`` (busybox-static has none),
``docker-entrypoint.sh`` and the older ``docker-entrypoint-old.sh``; helpers in
``/usr/local/lib/standin-lib.sh``).

The image is tagged ``magflow-console-test:busybox`` and labelled with a hash of its
inputs (busybox binary, stand-ins, this builder); an image with that tag and the same
hash is reused, anything else is re-imported.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container

IMAGE_REPOSITORY = "magflow-console-test"
IMAGE_TAG = "busybox"
IMAGE = f"{IMAGE_REPOSITORY}:{IMAGE_TAG}"
HASH_LABEL = "org.magflow-console.test-image.inputs"
BUSYBOX = Path("/bin/busybox")
STANDINS = Path(__file__).with_name("standins")
BUILDER_VERSION = "4"  # bump when the layout below or a stand-in's behaviour changes
APP_UID = 1000

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    f"app:x:{APP_UID}:{APP_UID}:MagFlow app:/app:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = f"root:x:0:\napp:x:{APP_UID}:\nnogroup:x:65534:\n"
# Applets the tests rely on; every other applet busybox reports is linked as well.
REQUIRED_APPLETS = (
    "sh",
    "sleep",
    "test",
    "touch",
    "rm",
    "cat",
    "echo",
    "nc",
    "wget",
    "printf",
    "date",
    "grep",
    "kill",
    "env",
    "seq",
    "tee",
    "true",
    "false",
    "mkdir",
    "ls",
    "tar",
    "cut",
    "tr",
    "hostname",
    "id",
    "ps",
    "head",
    "tail",
    "sed",
    "awk",
    "wc",
    "chmod",
    "pidof",
)


class ImageBuildError(RuntimeError):
    pass


def _standin_files() -> list[Path]:
    return sorted(p for p in STANDINS.iterdir() if p.is_file())


def inputs_hash() -> str:
    """sha256 over busybox, the stand-ins and this builder's version (first 16 hex)."""
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update(BUSYBOX.read_bytes())
    for path in _standin_files():
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def _applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True)
    names = {line.strip() for line in out.stdout.splitlines() if line.strip()}
    missing = [a for a in REQUIRED_APPLETS if a not in names]
    if missing:
        raise ImageBuildError(f"{BUSYBOX} lacks the applets {', '.join(missing)}")
    return sorted(names - {"busybox"})


def rootfs_tar() -> bytes:
    """The root filesystem as an uncompressed tar archive (built in memory)."""
    buf = io.BytesIO()
    now = int(time.time())

    def add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755, uid: int = 0) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime, info.uid, info.gid = tarfile.DIRTYPE, mode, now, uid, uid
        tar.addfile(info)

    def add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, now
        tar.addfile(info, io.BytesIO(data))

    def add_link(tar: tarfile.TarFile, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, now
        tar.addfile(info)

    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in (
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "usr/local",
            "usr/local/bin",
            "usr/local/lib",
            "etc",
            "root",
            "var",
            "var/log",
            "run",
            "proc",
            "sys",
            "dev",
        ):
            add_dir(tar, d, 0o700 if d == "root" else 0o755)
        add_dir(tar, "tmp", 0o1777)
        add_dir(tar, "app", 0o755, uid=APP_UID)
        add_file(tar, "bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in _applets():
            add_link(tar, f"bin/{applet}", "busybox")
        add_file(tar, "etc/passwd", PASSWD.encode())
        add_file(tar, "etc/group", GROUP.encode())
        add_file(tar, "etc/hostname", b"magflow-test\n")
        add_file(tar, "etc/hosts", b"127.0.0.1 localhost\n")
        for path in _standin_files():
            if path.name.endswith("-lib.sh"):
                add_file(tar, f"usr/local/lib/{path.name}", path.read_bytes(), 0o644)
            else:
                add_file(tar, f"usr/local/bin/{path.name}", path.read_bytes(), 0o755)
    return buf.getvalue()


def ensure_test_image(client: docker.DockerClient) -> str:
    """Import the test image unless an identical one is already tagged; returns its tag."""
    if not BUSYBOX.exists():
        raise ImageBuildError(
            f"{BUSYBOX} is missing: install Debian's busybox-static "
            "(apt-get install -y busybox-static, or scripts/system-deps.sh)"
        )
    wanted = inputs_hash()
    try:
        existing = client.images.get(IMAGE)
        if (existing.labels or {}).get(HASH_LABEL) == wanted:
            return IMAGE
    except docker.errors.ImageNotFound:
        pass
    changes = [
        'CMD ["/bin/sh"]',
        "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin",
        f"LABEL {HASH_LABEL}={wanted}",
    ]
    client.api.import_image_from_data(
        rootfs_tar(), repository=IMAGE_REPOSITORY, tag=IMAGE_TAG, changes=changes
    )
    image = client.images.get(IMAGE)
    if (image.labels or {}).get(HASH_LABEL) != wanted:
        raise ImageBuildError(f"imported {IMAGE} but its {HASH_LABEL} label is not {wanted}")
    return IMAGE


def put_tree(container: Container, local_dir: str | os.PathLike[str], dest: str) -> None:
    """Copy the folder ``local_dir`` to ``dest`` inside ``container`` (archive API).

    Missing parent folders of ``dest`` are created; files keep their modes and are
    owned by root, readable by everyone."""
    local = Path(local_dir)
    if not local.is_dir():
        raise FileNotFoundError(f"{local} is not a folder")
    dest_rel = dest.strip("/")
    parent, _, base = dest_rel.rpartition("/")
    try:  # the usual case: the parent exists; keep its owner and mode untouched
        ok = container.put_archive("/" + parent, _tar_of(local, base, ()))
    except docker.errors.NotFound:  # create the missing parents as well
        ok = container.put_archive("/", _tar_of(local, dest_rel, parent.split("/")))
    if not ok:
        raise RuntimeError(f"put_archive of {local} to {container.name}:{dest} failed")


def _tar_of(local: Path, arcname: str, parents: tuple[str, ...] | list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(1, len(parents) + 1):
            if not parents[i - 1]:
                continue
            info = tarfile.TarInfo("/".join(parents[:i]))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add(str(local), arcname=arcname, recursive=True, filter=_world_readable)
    return buf.getvalue()


def _world_readable(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode |= 0o755 if info.isdir() else 0o644
    return info
