"""The app and worker environment: eMAG credentials per account (names only), where each
account's syncs go, and the settings behind silent surprises. Pure logic over hand-made
containers; tests/sources/test_log_diagnosis.py reads a real container's environment.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from magflow_console.diagnose import emag_env
from magflow_console.models import ContainerInfo, Finding
from magflow_console.sources.docker_parse import env_facts, public_value
from tests.support.snapshots import container, containers_snapshot, report_of

FULL = {
    "DATABASE_URL": "postgresql+asyncpg://app:Db-secret-1@db:5432/magflow",
    "REDIS_HOST": "redis",
    "AUTO_PROVISION_DEV_ADMIN": "false",
    "EMAG_ENVIRONMENT": "production",
    "EMAG_MAIN_USERNAME": "main@example.com",
    "EMAG_MAIN_PASSWORD": "Main-secret-2",
    "EMAG_FBE_USERNAME": "fbe@example.com",
    "EMAG_FBE_PASSWORD": "Fbe-secret-3",
}
SECRETS = ("Db-secret-1", "Main-secret-2", "Fbe-secret-3")


def with_env(service: str, env: dict[str, str]) -> ContainerInfo:
    facts = env_facts([f"{k}={v}" for k, v in env.items()] + ["PATH=/usr/bin", "EMPTY="])
    return replace(container(service), **facts)


def findings(env: dict[str, str], services: tuple[str, ...] = ("app", "worker")) -> list[Finding]:
    return emag_env.env_findings(containers_snapshot(*(with_env(s, env) for s in services)))


def codes(found: list[Finding]) -> list[tuple[str, str | None]]:
    return [(f.code, f.account) for f in found]


#: a configuration for each finding code, and the codes it must give
ENV_CASES: dict[str, tuple[dict[str, str], list[tuple[str, str | None]]]] = {
    "complete": (FULL, []),
    "fbe_password_unset": (
        {k: v for k, v in FULL.items() if k != "EMAG_FBE_PASSWORD"},
        [("emag_credentials_missing", "fbe")],
    ),
    "development": (
        {**{k: v for k, v in FULL.items() if k != "EMAG_ENVIRONMENT"}, "ENVIRONMENT": "dev"},
        [("emag_target_split", "main"), ("emag_target_split", "fbe")],
    ),
    "no_environment_at_all": (
        {k: v for k, v in FULL.items() if k != "EMAG_ENVIRONMENT"},
        [("emag_target_split", "main"), ("emag_target_split", "fbe")],
    ),
    "fbe_base_url_sandbox": (
        {**FULL, "EMAG_FBE_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3"},
        [("emag_sandbox", "fbe")],
    ),
    "cache_off": (
        {k: v for k, v in FULL.items() if k != "REDIS_HOST"},
        [("redis_cache_host_unset", None)],
    ),
    "dev_admin_default": (
        {k: v for k, v in FULL.items() if k != "AUTO_PROVISION_DEV_ADMIN"},
        [("dev_admin_autoprovision", None)],
    ),
}
ENV_CODES = {code for _, expected in ENV_CASES.values() for code, _ in expected}


@pytest.mark.parametrize("case", sorted(ENV_CASES))
def test_each_configuration_gives_its_findings(case: str) -> None:
    env, expected = ENV_CASES[case]
    found = findings(env)
    assert codes(found) == expected
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
    rows = {r.account: r for r in emag_env.accounts(containers_snapshot(with_env("app", dev)))}
    main, fbe = rows["main"], rows["fbe"]
    assert (main.products_target, main.orders_target) == ("production", "production")
    assert main.base_url == "https://marketplace-api.emag.ro/api-3"  # no user, no query
    assert (fbe.products_target, fbe.orders_target) == ("production", "sandbox")
    assert (fbe.environment_name, fbe.environment) == ("APP_ENV", "staging")
    assert main.credentials_set and fbe.credentials_set
    custom = {**FULL, "EMAG_MAIN_BASE_URL": "http://emag-mock:9000/api-3"}
    row = emag_env.accounts(containers_snapshot(with_env("app", custom)))[0]
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
    assert public_value("EMAG_MAIN_BASE_URL", "http://u:pw@[::1") == "[::1"
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
