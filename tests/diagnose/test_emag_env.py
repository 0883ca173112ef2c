"""The app and worker settings: eMAG credentials per account (names only), where each
account's syncs go, and the settings behind silent surprises; from the environment and
the checkout's /app/.env (sheet §11.5), read by ``docker_parse.dotenv_facts``. Pure logic
over hand-made containers; tests/sources/test_docker_dotenv.py reads a real container's
/app/.env (and tests the parser), tests/diagnose/test_emag_paths.py holds the per-path
conclusions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from magflow_console.diagnose import app_settings, emag_env, emag_paths
from magflow_console.models import ContainerInfo, Finding
from magflow_console.sources.container_env import dotenv_facts, env_facts, public_value
from tests.support.snapshots import container, containers_snapshot, report_of

FULL = {
    "DATABASE_URL": "postgresql+asyncpg://app:Db-secret-1@db:5432/magflow",
    "REDIS_HOST": "redis",
    "REDIS_PASSWORD": "Redis-secret-4",
    "AUTO_PROVISION_DEV_ADMIN": "false",
    "EMAG_ENVIRONMENT": "production",
    "EMAG_MAIN_USERNAME": "main@example.com",
    "EMAG_MAIN_PASSWORD": "Main-secret-2",
    "EMAG_FBE_USERNAME": "fbe@example.com",
    "EMAG_FBE_PASSWORD": "Fbe-secret-3",
}
SECRETS = ("Db-secret-1", "Main-secret-2", "Fbe-secret-3", "Redis-secret-4", "Dotenv-secret-5")
UNREAD = "Docker engine at unix:///x answered: boom"


def without(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


def with_env(
    service: str, env: dict[str, str], dotenv: str | None = None, state: str | None = None
) -> ContainerInfo:
    """A container with this environment and, when given, this /app/.env (its text, or a
    state: "absent", "unreadable", "not_read"); neither: judged on its environment alone."""
    facts = env_facts([f"{k}={v}" for k, v in env.items()] + ["PATH=/usr/bin", "EMPTY="])
    if dotenv is not None:
        facts |= dotenv_facts(dotenv.splitlines(keepends=True))
    elif state is not None:
        facts |= {"dotenv_state": state, "dotenv_error": UNREAD if state != "absent" else None}
    return replace(container(service), **facts)


def findings(
    env: dict[str, str],
    services: tuple[str, ...] = ("app", "worker"),
    dotenv: str | None = None,
    state: str | None = None,
) -> list[Finding]:
    snap = containers_snapshot(*(with_env(s, env, dotenv, state) for s in services))
    return emag_env.env_findings(snap) + app_settings.app_findings(snap)


def codes(found: list[Finding]) -> list[tuple[str, str | None]]:
    return [(f.code, f.account) for f in found]


@dataclass(frozen=True)
class Case:
    env: dict[str, str]
    expected: list[tuple[str, str | None]] = field(default_factory=list)
    dotenv: str | None = None  # the text of /app/.env
    state: str | None = None  # or its state


#: a configuration for each finding code, and the codes it must give
ENV_CASES: dict[str, Case] = {
    "complete": Case(FULL, []),
    "fbe_password_unset": Case(
        without(FULL, "EMAG_FBE_PASSWORD"), [("emag_credentials_missing", "fbe")]
    ),
    "development": Case(
        {**without(FULL, "EMAG_ENVIRONMENT"), "ENVIRONMENT": "dev"},
        [("emag_target_split", "main"), ("emag_target_split", "fbe")],
    ),
    "no_environment_at_all": Case(
        without(FULL, "EMAG_ENVIRONMENT"),
        [("emag_target_split", "main"), ("emag_target_split", "fbe")],
    ),
    # the syncs follow fbe's base URL; the health endpoint reads only the global settings
    "fbe_base_url_sandbox": Case(
        {**FULL, "EMAG_FBE_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3"},
        [("emag_health_target_differs", "fbe"), ("emag_sandbox", "fbe")],
    ),
    "all_sandbox": Case(
        {
            **FULL,
            "EMAG_ENVIRONMENT": "development",
            "EMAG_MAIN_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3",
            "EMAG_FBE_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3",
        },
        [("emag_sandbox", "main"), ("emag_sandbox", "fbe")],
    ),
    "health_checks_legacy_credentials": Case(
        {**FULL, "EMAG_USERNAME": "legacy@example.com", "EMAG_PASSWORD": "Dotenv-secret-5"},
        [("emag_health_credentials_differ", "main")],
    ),
    "cache_off": Case(without(FULL, "REDIS_HOST"), [("redis_cache_host_unset", None)]),
    "cache_on_localhost": Case(
        {**FULL, "REDIS_HOST": "localhost"}, [("redis_cache_host_unset", None)]
    ),
    "cache_without_password": Case(
        without(FULL, "REDIS_PASSWORD"), [("redis_cache_password_unset", None)]
    ),
    "dev_admin_default": Case(
        without(FULL, "AUTO_PROVISION_DEV_ADMIN"), [("dev_admin_autoprovision", None)]
    ),
    # /app/.env: what it sets counts for the settings, not for the product sync
    "fbe_password_only_in_dotenv": Case(
        without(FULL, "EMAG_FBE_PASSWORD"),
        [("emag_credentials_missing", "fbe")],
        dotenv="EMAG_FBE_PASSWORD=Dotenv-secret-5\n",
    ),
    "settings_in_dotenv": Case(
        without(FULL, "REDIS_HOST", "REDIS_PASSWORD", "AUTO_PROVISION_DEV_ADMIN"),
        [],
        dotenv="REDIS_HOST=redis\nREDIS_PASSWORD='Dotenv-secret-5'\nAUTO_PROVISION_DEV_ADMIN=False\n",
    ),
    "no_dotenv": Case(
        without(FULL, "REDIS_PASSWORD"), [("redis_cache_password_unset", None)], state="absent"
    ),
    # an unread /app/.env: said, and nothing it may hold is called missing
    "dotenv_unreadable": Case(
        without(FULL, "REDIS_PASSWORD", "AUTO_PROVISION_DEV_ADMIN"),
        [("dotenv_unreadable", None), ("dev_admin_autoprovision", None)],
        state="unreadable",
    ),
}
ENV_CODES = {code for case in ENV_CASES.values() for code, _ in case.expected}


@pytest.mark.parametrize("case", sorted(ENV_CASES))
def test_each_configuration_gives_its_findings(case: str) -> None:
    c = ENV_CASES[case]
    found = findings(c.env, dotenv=c.dotenv, state=c.state)
    assert codes(found) == c.expected
    text = " ".join(f"{f.message} {f.short}" for f in found)
    assert not any(secret in text for secret in SECRETS)
    assert all(f.short for f in found)


def test_missing_credentials_name_the_variables_and_both_containers() -> None:
    env = {k: v for k, v in FULL.items() if not k.startswith("EMAG_FBE_")}
    env["EMAG_USERNAME_FBE"] = "legacy@example.com"
    (finding,) = findings(env)
    assert finding.severity == "critical" and finding.account == "fbe"
    assert finding.message.startswith(
        "magflow_app and magflow_worker: EMAG_FBE_PASSWORD, EMAG_FBE_USERNAME not set "
        "(EMAG_USERNAME_FBE is set, but the product sync reads only the EMAG_FBE_ names)"
    )
    # only the worker lacks them: only the worker is named
    worker_only = emag_env.env_findings(
        containers_snapshot(with_env("app", FULL), with_env("worker", env))
    )
    assert worker_only[0].message.startswith("magflow_worker: ")


def test_targets_per_account() -> None:
    dev = {**FULL, "EMAG_ENVIRONMENT": "", "APP_ENV": "staging"}
    dev["EMAG_MAIN_BASE_URL"] = "https://user:pw@marketplace-api.emag.ro/api-3?token=x"
    rows = {r.account: r for r in emag_paths.accounts(containers_snapshot(with_env("app", dev)))}
    main, fbe = rows["main"], rows["fbe"]
    assert (main.products_target, main.orders_target) == ("production", "production")
    assert main.base_url == "https://marketplace-api.emag.ro/api-3"  # no user, no query
    assert (fbe.products_target, fbe.orders_target) == ("production", "sandbox")
    assert (fbe.environment_name, fbe.environment) == ("APP_ENV", "staging")
    assert main.credentials_set and fbe.credentials_set
    custom = {**FULL, "EMAG_MAIN_BASE_URL": "http://emag-mock:9000/api-3"}
    row = emag_paths.accounts(containers_snapshot(with_env("app", custom)))[0]
    assert (row.products_target, row.orders_target) == ("emag-mock", "emag-mock")


def test_only_names_and_public_values_leave_the_parser() -> None:
    facts = env_facts([f"{k}={v}" for k, v in FULL.items()] + ["SECRET_KEY=abc", "X"])
    assert "SECRET_KEY" not in facts["env_set"]  # not watched
    assert set(facts["env_public"]) == {
        "EMAG_ENVIRONMENT",
        "AUTO_PROVISION_DEV_ADMIN",
        "REDIS_HOST",
    }
    assert not any(s in repr(facts) for s in SECRETS)
    assert public_value("EMAG_FBE_BASE_URL", "https://a:b@h.example:8443/p?q=1") == (
        "https://h.example:8443/p"
    )
    assert public_value("ENVIRONMENT", "prod\x1b[31m") == "prod"  # the whole sequence goes
    # malformed URLs must not break the containers snapshot, nor let a secret through
    assert public_value("EMAG_MAIN_BASE_URL", "http://u:pw@[::1") is None  # no host: dropped
    assert public_value("EMAG_MAIN_BASE_URL", "https://u:pw@[::1]:8443/a?t=1") == (
        "https://[::1]:8443/a"
    )
    assert public_value("EMAG_MAIN_BASE_URL", "u:pw@host/x?token=1") == "host/x"


def test_containers_whose_environment_is_unknown_are_left_out() -> None:
    # hand-made containers (and any without a watched name) say nothing either way
    assert emag_env.env_findings(containers_snapshot(container("app"), container("worker"))) == []


def test_env_findings_are_part_of_the_status_report() -> None:
    env = {k: v for k, v in FULL.items() if k != "EMAG_MAIN_PASSWORD"}
    report = report_of(containers=containers_snapshot(with_env("app", env), container("redis")))
    assert ("emag_credentials_missing", "main") in codes(list(report.findings))
    assert int(report.verdict) == 2
    clean = report_of(containers=containers_snapshot(with_env("app", FULL)))
    assert not [f for f in clean.findings if f.code.startswith(("emag_", "redis_cache"))]


def test_the_dev_admin_finding_covers_a_reload_of_the_checkout() -> None:
    """Every start of the API resets the dev admin, and uvicorn --reload over the
    bind-mounted checkout starts it on any change there, not only on a restart."""
    env = {k: v for k, v in FULL.items() if k != "AUTO_PROVISION_DEV_ADMIN"}
    (finding,) = [f for f in findings(env) if f.code == "dev_admin_autoprovision"]
    assert finding.message.startswith("magflow_app resets the password of admin@magflow.local")
    assert "restart" in finding.message
    assert "uvicorn --reload" in finding.message and "git pull" in finding.message
    assert "bind-mounted" in finding.message


# --------------------------------------------------------------------------- /app/.env


def test_a_finding_says_which_source_set_a_setting() -> None:
    """A credential found only in /app/.env is named as such, with what it means: the
    product sync (os.getenv) does not see it, the order sync and the health endpoint do."""
    c = ENV_CASES["fbe_password_only_in_dotenv"]
    (finding,) = findings(c.env, dotenv=c.dotenv)
    assert finding.message.startswith("magflow_app and magflow_worker: EMAG_FBE_PASSWORD not set")
    assert "EMAG_FBE_PASSWORD is set in /app/.env only, which the product sync does not read" in (
        finding.message
    )
    assert "os.getenv" in finding.message
    assert "in magflow_app order syncs and /api/v1/emag/health find credentials " in (
        finding.message
    )
    assert "(EMAG_FBE_PASSWORD from /app/.env)" in finding.message
    assert not any(secret in finding.message for secret in SECRETS)
    # the environment wins over /app/.env, even with an empty value (pydantic settings)
    empty = {**c.env, "EMAG_FBE_PASSWORD": ""}
    (shadowed,) = findings(empty, dotenv=c.dotenv)
    assert "set in /app/.env only" not in shadowed.message
    assert "find credentials" not in shadowed.message
    settings_in_dotenv = ENV_CASES["settings_in_dotenv"]
    (app,) = [with_env("app", settings_in_dotenv.env, settings_in_dotenv.dotenv)]
    s = emag_paths.Settings(app)
    assert s.get("REDIS_PASSWORD").where() == "REDIS_PASSWORD from /app/.env"
    assert s.get("REDIS_HOST").where() == "REDIS_HOST=redis from /app/.env"
    assert s.get("DATABASE_URL").where() == "DATABASE_URL from the environment"
    assert s.getenv("REDIS_PASSWORD").source == emag_paths.UNSET  # os.getenv: environment only
    assert app_settings.reprovisioned_admin(app) is None  # AUTO_PROVISION_DEV_ADMIN=False there


def test_the_redis_findings_say_where_they_looked() -> None:
    (host,) = findings(without(FULL, "REDIS_HOST"), dotenv="SECRET_KEY=Dotenv-secret-5\n")
    assert "neither the environment nor /app/.env sets it" in host.message
    (local,) = findings(without(FULL, "REDIS_HOST"), dotenv="REDIS_HOST=localhost\n")
    assert "REDIS_HOST=localhost from /app/.env" in local.message
    (password,) = findings(without(FULL, "REDIS_PASSWORD"), state="absent")
    assert password.code == "redis_cache_password_unset"
    assert "REDIS_HOST=redis from the environment but no REDIS_PASSWORD" in password.message
    assert "there is no /app/.env" in password.message and "requirepass" in password.message
    assert "users:user:" in password.message


def test_nothing_is_called_missing_from_an_unread_dotenv() -> None:
    env = without(FULL, "REDIS_HOST", "REDIS_PASSWORD", "AUTO_PROVISION_DEV_ADMIN")
    found = findings(env, state="unreadable")
    assert codes(found) == [("dotenv_unreadable", None), ("dev_admin_autoprovision", None)]
    unread, admin = found
    assert UNREAD in unread.message and "nothing is concluded" in unread.message
    assert "was not read" in admin.message and "AUTO_PROVISION_DEV_ADMIN" in admin.message
    # the worker's own file is not read (only the app's is): no finding says so, and no
    # conclusion comes from it either
    snap = containers_snapshot(with_env("app", FULL, state="absent"),
                               with_env("worker", env, state="not_read"))  # fmt: skip
    assert emag_env.env_findings(snap) == []


def test_the_same_snapshot_is_judged_once_and_a_new_one_anew() -> None:
    """The TUI rebuilds its report whenever any source is read: the containers snapshot it
    holds is judged once (the findings come back equal, as a new list), and the next
    snapshot read is judged anew, even one that differs only in a variable."""
    env = {k: v for k, v in FULL.items() if not k.startswith("EMAG_FBE_")}
    lacking = containers_snapshot(with_env("app", env), with_env("worker", env))
    first = emag_env.env_findings(lacking)
    again = emag_env.env_findings(lacking)
    assert codes(first) == codes(again) == [("emag_credentials_missing", "fbe")]
    assert again == first and again is not first
    again.clear()  # the caller's list: the next answer is whole
    assert emag_env.env_findings(lacking) == first
    complete = containers_snapshot(with_env("app", FULL), with_env("worker", FULL))
    assert emag_env.env_findings(complete) == []
    assert emag_env.env_findings(lacking) == first
