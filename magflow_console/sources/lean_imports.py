"""Importing a library without the optional parts it loads at import time for features
the console does not use (measured with ``python -X importtime``; bench/).

- the docker SDK imports paramiko (and cryptography) for ssh:// engines: about 95 ms;
  kept out unless the engine is ssh://;
- httpx imports its command-line tool (click, rich, pygments) whenever click is
  installed (celery and import-linter install it): rich is what ``status --json``
  must not load; and its transport, httpcore, probes for HTTP/2, SOCKS and trio
  support (h2, socksio, trio), which the console never uses: a probe that fails walks
  the whole import path (about 25 ms on this machine for h2 alone).

Both libraries treat the part as optional (they catch the ImportError), so marking the
module absent while the library imports is safe; the mark is removed afterwards, so a
later explicit import of that module still works.

One library at a time: a cold ``status`` (and the TUI's prefetch) reads Docker, the API
and Redis from threads that each start by importing their library. Imported at once,
the three share the interpreter lock and all finish late, so the slowest chain of reads
(Docker's: version, list, inspects, the app's /app/.env) starts late too. Taken in turn
(``ONE_AT_A_TIME``), the first thread's library (Docker's, submitted first) is ready
early and its reads wait on the engine while the next library imports: a cold
``status`` went from 0.80 to 0.73 s side by side (bench/tried.toml).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

#: held while one of the libraries below is imported (see the module's docstring)
ONE_AT_A_TIME = threading.Lock()


@contextlib.contextmanager
def without(*modules: str) -> Iterator[None]:
    """While the block runs, importing any of ``modules`` raises ImportError."""
    blocked = [m for m in modules if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def import_docker_sdk(*, ssh: bool) -> None:
    """The docker SDK, with its paramiko transport only for an ssh:// engine."""
    if "docker" in sys.modules:
        return
    with ONE_AT_A_TIME:
        if ssh:
            import docker

            return
        with without("paramiko"):
            import docker  # noqa: F401


#: what httpx and httpcore look for at import time and the console never uses
HTTPX_UNUSED = ("httpx._main", "h2", "socksio", "trio")


def import_httpx() -> None:
    """httpx and its transport, without their command-line tool and optional protocols."""
    if "httpx" in sys.modules:
        return
    with ONE_AT_A_TIME, without(*HTTPX_UNUSED):
        import httpcore  # noqa: F401
        import httpx  # noqa: F401


def import_redis() -> None:
    """redis-py (``sources.broker``'s client), in its turn."""
    if "redis" in sys.modules:
        return
    with ONE_AT_A_TIME:
        import redis  # noqa: F401
