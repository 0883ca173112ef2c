"""The app container's /app/.env, read through Docker's archive API (sheet §11.5).

MagFlow's pydantic settings read the checkout's .env (bind-mounted at /app) under the
process environment; the console reads the same file to know which settings it sets,
keeping names and the allow-listed non-secret values only (``container_env``). One
archive call per read (two when .env is a link); the Docker source caches the result
per container start and for ``DockerSource.DOTENV_MAX_AGE``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors

from magflow_console.sources.container_env import DOTENV_PATH, DotenvUnreadable, dotenv_from_tar
from magflow_console.sources.docker_parse import describe_failure


@dataclass(slots=True)
class DotenvRead:
    """The app container's /app/.env as last read."""

    key: tuple[str, str]  # (container id, State.StartedAt): a restart changes it
    read_at: float  # time.monotonic()
    mount: tuple[str, str] | None  # the app's /app mount, which others may share
    facts: dict[str, Any]  # the dotenv_* fields of ContainerInfo


#: the services whose settings come from the checkout (the same image and bind mount)
CHECKOUT_SERVICES = ("app", "worker", "beat")


def app_mount(attrs: Mapping[str, Any]) -> tuple[str, str] | None:
    """(type, source) of the mount at /app (compose bind-mounts the checkout there), or
    None when /app is the image's own folder."""
    for mount in attrs.get("Mounts") or ():
        if str(mount.get("Destination") or "").rstrip("/") == "/app":
            kind = str(mount.get("Type") or "")
            source = str(mount.get("Name") if kind == "volume" else mount.get("Source") or "")
            return (kind, source) if source else None
    return None


def read_dotenv(
    client: docker.DockerClient, container: str, *, host: str, timeout: float
) -> dict[str, Any]:
    """The dotenv_* fields of ``ContainerInfo`` for /app/.env in ``container``: "read" with
    the names (and public values) it sets, "absent" when there is no such file, or
    "unreadable" with the reason. One archive call, two when .env is a symbolic link (it
    is followed once, as pydantic settings would). Never raises."""
    path = DOTENV_PATH
    try:
        for _hop in range(2):
            response, stat = _open_archive(client, container, path, timeout)
            try:
                link = str((stat or {}).get("linkTarget") or "")
                if not link or link == path:
                    return dotenv_from_tar(response.raw)
            finally:
                response.close()
            path = link if link.startswith("/") else posixpath.join(posixpath.dirname(path), link)
        raise DotenvUnreadable(f"{DOTENV_PATH} is a link to a link")
    except docker.errors.NotFound as exc:
        text = str(getattr(exc, "explanation", None) or exc)
        if "no such container" in text.lower():
            return _unreadable(f"the container is gone ({describe_failure(host, exc, timeout)})")
        if path != DOTENV_PATH:
            return _unreadable(f"{DOTENV_PATH} is a link to {path}, which does not exist")
        return {"dotenv_state": "absent"}
    except DotenvUnreadable as exc:
        return _unreadable(str(exc))
    except Exception as exc:
        return _unreadable(describe_failure(host, exc, timeout))


def _unreadable(why: str) -> dict[str, Any]:
    return {"dotenv_state": "unreadable", "dotenv_error": why.rstrip(".")}


def _open_archive(
    client: docker.DockerClient, container: str, path: str, timeout: float
) -> tuple[Any, dict[str, Any] | None]:
    """The streamed tar response for ``path`` and its stat header (the SDK's
    ``get_archive`` drops the read timeout; this keeps it, so a stuck engine cannot hang
    the source's thread)."""
    from docker.utils import decode_json_header

    api: Any = client.api
    response = api._get(
        api._url("/containers/{0}/archive", container),
        params={"path": path},
        headers={"Accept-Encoding": "identity"},  # the plain tar, read as it streams in
        stream=True,
        timeout=timeout,
    )
    try:
        api._raise_for_status(response)
    except Exception:
        response.close()
        raise
    header = response.headers.get("x-docker-container-path-stat")
    return response, decode_json_header(header) if header else None
