"""What every command shares: exit codes, the parser class, the common options, loading
the profile, reading through a backend, and the one-section output (JSON or human).

Cheap to import (the parser is built on every run, ``--help`` included): nothing heavy
at module level; rich, pydantic and the sources are imported when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

    from magflow_console.backend import Backend
    from magflow_console.config import LoadedConfig
    from magflow_console.environments import Profiles
    from magflow_console.models import Verdict

#: monitoring-plugin convention: 0 ok, 1 warning, 2 critical, 3 unknown or usage/config
EXIT_OK, EXIT_WARNING, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3
#: an action that failed (actions exit 0 ok, 2 failed, 3 refused/cancelled/usage)
EXIT_FAILED = EXIT_CRITICAL
EXIT_REFUSED = EXIT_UNKNOWN

Handler = Callable[[argparse.Namespace], int]
#: opens the TUI on the profile its first argument loads, with the profiles the second
#: gives for it (plugged in by ``magflow_console.main``: the headless CLI never imports
#: the TUI; it may load the profile in a forked child)
TuiLauncher = Callable[[Callable[[], "LoadedConfig"], Callable[["LoadedConfig"], "Profiles"]], int]
T = TypeVar("T")


class ArgParser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; the convention here is 3."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_UNKNOWN)


def common_options() -> ArgParser:
    """Options every command accepts (also before the command name)."""
    p = ArgParser(add_help=False)
    g = p.add_argument_group("profile and overrides")
    g.add_argument("--profile", default=argparse.SUPPRESS, help="profile name from the config file")
    g.add_argument("--config", default=argparse.SUPPRESS, metavar="PATH", help="config file (TOML)")
    g.add_argument("--db-url", default=argparse.SUPPRESS, metavar="URL", help="database URL")
    g.add_argument(
        "--docker-host", default=argparse.SUPPRESS, metavar="URL", help="Docker engine URL"
    )
    g.add_argument(
        "--scripts",
        default=argparse.SUPPRESS,
        metavar="DIR",
        help="local alembic folder (holds versions/)",
    )
    g.add_argument("--api-url", default=argparse.SUPPRESS, metavar="URL", help="API base URL")
    g.add_argument(
        "--redis-url",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="Redis URL (default: the worker's broker URL); prefer redis.url_env: it holds "
        "the password",
    )
    g.add_argument(
        "--read-only", action="store_true", default=argparse.SUPPRESS, help="refuse every action"
    )
    return p


def load(
    args: argparse.Namespace, extra: dict[str, Any] | None = None, *, check_url: bool = True
) -> LoadedConfig:
    """The active profile: config file < environment < these flags < ``extra``
    (``check_url``: ``config.load_config``'s)."""
    from magflow_console import config as cfg

    overrides: dict[str, Any] = {
        "database.url": getattr(args, "db_url", None),
        "docker.host": getattr(args, "docker_host", None),
        "alembic.scripts": getattr(args, "scripts", None),
        "api.url": getattr(args, "api_url", None),
        "redis.url": getattr(args, "redis_url", None),
    }
    if getattr(args, "scripts", None):
        overrides["alembic.strategy"] = "local"
    if getattr(args, "read_only", False):
        overrides["read_only"] = True
    overrides.update(extra or {})
    # an explicit URL wins over an env-var indirection configured in the profile
    for section in ("database", "redis"):
        if overrides.get(f"{section}.url"):
            overrides.setdefault(f"{section}.url_env", None)
    loaded = cfg.load_config(
        config_path=getattr(args, "config", None),
        profile=getattr(args, "profile", None),
        overrides=overrides,
        check_url=check_url,
    )
    check_profile_urls(loaded)
    check_secret_files(loaded)
    return loaded


#: the flags that name one stack's endpoints: they belong to one profile, so ``status
#: --all`` refuses them and the TUI's profile switch leaves them with the first profile
ENDPOINT_FLAGS = ("db_url", "docker_host", "api_url", "redis_url", "scripts")


def config_profiles(args: argparse.Namespace, first: LoadedConfig) -> Profiles:
    """The config's profiles, each loaded as ``--profile NAME`` would load it: the config
    file and the environment, and ``--read-only`` (a read-only session stays read-only);
    not the endpoint flags. ``first``, the profile loaded at start-up, is returned as is
    for its own name (with its flags)."""
    from magflow_console.environments import Profiles

    def load_profile(name: str) -> LoadedConfig:
        if first is not None and name == first.profile_name:
            return first
        ns = argparse.Namespace(profile=name)
        for kept in ("config", "read_only"):
            if hasattr(args, kept):
                setattr(ns, kept, getattr(args, kept))
        return load(ns)

    return Profiles.of(first.settings, load_profile)


def check_profile_urls(loaded: LoadedConfig) -> None:
    """A URL that cannot be parsed (``@[::1/db``, a port that is not a number) is a
    config error naming its key, not a traceback when a source first uses it."""
    import os

    from magflow_console.config_sources import check_urls

    p = loaded.profile
    check_urls(
        {
            "database.url": p.database.url,
            "redis.url": p.redis.url,
            "api.url": p.api.url,
            "docker.host": p.docker.host,
        },
        {"database.url": p.database.url_env, "redis.url": p.redis.url_env},
        loaded.origins,
        f"profiles.{loaded.profile_name}.",
        os.environ,
    )


def check_secret_files(loaded: LoadedConfig) -> None:
    """A secret file that cannot be read (missing, no permission, not UTF-8) is a config
    error naming the file and key, at start-up, not a pane error on every refresh."""
    from magflow_console import config as cfg
    from magflow_console.config_sources import ConfigError

    p = loaded.profile
    for key, resolve in (
        ("database.password_file", cfg.database_url),
        ("api.password_file", cfg.api_credentials),
    ):
        try:
            resolve(p)
        except ConfigError as exc:
            origin = loaded.origins.get(key, "config").removeprefix("file ")
            raise ConfigError(f"{origin}: profiles.{loaded.profile_name}.{exc}") from None


def cmd_tui_with(
    args: argparse.Namespace,
    load_profile: Callable[[], LoadedConfig],
    profiles: Profiles | None = None,
) -> int:
    """Open the TUI on the profile ``load_profile`` loads, through the launcher ``main``
    put in ``args``; it can switch to ``profiles`` (default: every profile of the config
    file)."""
    launcher: TuiLauncher | None = getattr(args, "open_tui", None)
    if launcher is None:
        print("magflow-console: this build has no TUI; use a command (--help)", file=sys.stderr)
        return EXIT_UNKNOWN
    cannot = terminal_cannot_show(TUI_CHARACTERS)
    if cannot:
        print(
            f"magflow-console: the terminal's encoding ({cannot}) cannot show the TUI: use "
            "a UTF-8 locale or PYTHONIOENCODING=utf-8 (the commands' --json output is ASCII)",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN

    def profiles_of(loaded: LoadedConfig) -> Profiles:
        return profiles or config_profiles(args, loaded)

    return launcher(load_profile, profiles_of)


#: characters the TUI draws (borders, the state dot, the key bar's keys and its edge)
TUI_CHARACTERS = "│─●…⏎▏"


def terminal_cannot_show(text: str) -> str | None:
    """The encoding of the terminal's output streams that cannot encode ``text`` (the
    TUI writes to them), or None."""
    for stream in (sys.__stdout__, sys.__stderr__):
        encoding = getattr(stream, "encoding", None)
        if not encoding:
            continue
        try:
            text.encode(encoding)
        except (UnicodeEncodeError, LookupError):
            return str(encoding)
    return None


def read(
    args: argparse.Namespace, fetch: Callable[[Backend], T], loaded: LoadedConfig | None = None
) -> T:
    """``fetch(backend)`` on the profile's backend (``loaded``, else loaded from
    ``args``), closed afterwards."""
    from magflow_console.backend import Backend

    backend = Backend(loaded or load(args))
    try:
        return fetch(backend)
    finally:
        backend.close()


def section_out(
    args: argparse.Namespace,
    snap: Any,
    verdict: Verdict,
    human: Callable[[Console], None],
) -> int:
    """One section's JSON document, or its human form (``human(console)``; rich is
    imported only then); returns the exit code."""
    if args.json:
        from magflow_console.cli import jsonout

        jsonout.print_json(jsonout.section_json(snap, verdict=verdict))
    else:
        from magflow_console.cli.tables import console

        human(console())
    return int(verdict)


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def positive_float(value: str) -> float:
    try:
        n = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return n


#: what ``ArgumentParser.add_subparsers()`` returns
Subcommands = argparse._SubParsersAction


def add_command(
    sub: Subcommands[Any],
    common: argparse.ArgumentParser,
    name: str,
    func: Handler,
    help: str,
) -> argparse.ArgumentParser:
    """A command with the common options, its help as its description, and its handler."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help, description=help, parents=[common])
    p.set_defaults(func=func)
    return p
