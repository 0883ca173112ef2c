"""Which eMAG path a conclusion is about (sheet §11.5): the product sync reads the process
environment (os.getenv), the order sync and /api/v1/emag/health read the settings (the
environment, then /app/.env), each with its own names and target. Pure logic over
hand-made containers, and what ``containers`` (table and JSON) and the container detail
show of it.
"""

from __future__ import annotations

import io
import json

from rich.console import Console

from magflow_console.cli.tables import print_emag_accounts
from magflow_console.diagnose import emag_env, emag_paths
from magflow_console.models import to_jsonable
from magflow_console.tui.screens.container_detail import emag_text
from tests.diagnose.test_emag_env import SECRETS, UNREAD, codes, with_env
from tests.support.snapshots import containers_snapshot

SANDBOX_URL = "https://marketplace-api-sandbox.emag.ro/api-3"
#: the container's environment (compose's .env.docker)
ENV = {
    "DATABASE_URL": "postgresql+asyncpg://app:Db-secret-1@db:5432/magflow",
    "REDIS_HOST": "redis",
    "REDIS_PASSWORD": "Redis-secret-4",
    "AUTO_PROVISION_DEV_ADMIN": "false",
    "ENVIRONMENT": "production",
    "EMAG_MAIN_USERNAME": "main@example.com",
    "EMAG_MAIN_PASSWORD": "Main-secret-2",
    "EMAG_FBE_USERNAME": "fbe@example.com",
}
#: the checkout's .env: the legacy main pair the health endpoint prefers, fbe's password,
#: main's base URL; none of them reaches the product sync
DOTENV = (
    "EMAG_USERNAME=legacy@example.com\n"
    "EMAG_PASSWORD=Dotenv-secret-5\n"
    "EMAG_FBE_PASSWORD='Fbe-secret-3'\n"
    f"EMAG_MAIN_BASE_URL={SANDBOX_URL}\n"
)


def app_and_worker(worker_state: str = "read") -> tuple[emag_paths.AccountEnv, ...]:
    app = with_env("app", ENV, DOTENV)
    worker = with_env("worker", ENV, DOTENV if worker_state == "read" else None, worker_state)
    rows = emag_paths.accounts(containers_snapshot(app, worker))
    return tuple(rows)


def test_each_path_reads_its_own_variables() -> None:
    main, fbe, worker_main, _ = app_and_worker()
    assert [p.path for p in main.paths] == ["products", "orders", "health"]
    assert [p.path for p in worker_main.paths] == ["products", "orders"]  # no API there

    products, orders, health = main.paths
    assert (products.state, products.target) == ("set", "production")
    assert products.because == "the product sync's default host"  # .env's base URL unseen
    assert (orders.state, orders.target) == ("set", "sandbox")
    assert orders.because == f"EMAG_MAIN_BASE_URL={SANDBOX_URL} from /app/.env"
    assert health.names == ("EMAG_USERNAME", "EMAG_PASSWORD")  # preferred over EMAG_MAIN_*
    assert {c.source for c in health.credentials} == {"/app/.env"}
    assert (health.target, health.because) == ("sandbox", "EMAG_ENVIRONMENT not set: development")

    products, orders, health = fbe.paths
    assert products.missing == ("EMAG_FBE_PASSWORD",)  # os.getenv: the environment only
    assert orders.state == health.state == "set"
    assert orders.from_dotenv() == health.from_dotenv() == ("EMAG_FBE_PASSWORD",)
    assert (orders.target, orders.because) == (
        "production",
        "ENVIRONMENT=production from the environment",
    )
    assert health.target == "sandbox"  # the health endpoint reads only EMAG_ENVIRONMENT
    # one path failing is enough: never "configured"
    assert not fbe.credentials_set and not fbe.paths_agree
    assert main.credentials_set and worker_main.credentials_set


def test_the_findings_name_the_path() -> None:
    app = with_env("app", ENV, DOTENV)
    found = emag_env.env_findings(containers_snapshot(app))
    assert codes(found) == [
        ("emag_health_credentials_differ", "main"),
        ("emag_target_split", "main"),
        ("emag_credentials_missing", "fbe"),
    ]
    differ, split, missing = found
    assert "/api/v1/emag/health checks main with EMAG_USERNAME, EMAG_PASSWORD from /app/.env" in (
        differ.message
    )
    assert "not EMAG_MAIN_USERNAME / EMAG_MAIN_PASSWORD" in differ.message
    assert "product syncs to production (the product sync's default host)" in split.message
    assert f"order syncs to sandbox (EMAG_MAIN_BASE_URL={SANDBOX_URL} from /app/.env)" in (
        split.message
    )
    assert "/api/v1/emag/health to sandbox" in split.message
    assert split.short == "products production, orders sandbox"
    assert "product syncs complete with 0 items" in missing.message
    assert "order syncs and /api/v1/emag/health find credentials" in missing.message
    text = " ".join(f.message for f in found)
    assert not any(secret in text for secret in SECRETS)


def test_the_health_endpoint_and_the_order_sync_read_different_environments() -> None:
    """ENVIRONMENT=production sends the order sync to production; the health endpoint
    reads only EMAG_ENVIRONMENT (default development) and checks the sandbox."""
    env = {k: v for k, v in ENV.items() if k != "EMAG_MAIN_USERNAME"} | {
        "EMAG_MAIN_USERNAME": "main@example.com",
        "EMAG_FBE_PASSWORD": "Fbe-secret-3",
    }
    found = emag_env.env_findings(containers_snapshot(with_env("app", env, state="absent")))
    assert codes(found) == [
        ("emag_health_target_differs", "main"),
        ("emag_health_target_differs", "fbe"),
    ]
    finding = found[0]
    assert finding.message == (
        "magflow_app: /api/v1/emag/health checks main on sandbox (EMAG_ENVIRONMENT not set: "
        "development) while its product and order syncs go to production (the product "
        "sync's default host): a passing health check says nothing of the host the syncs use."
    )
    assert finding.short == "health checks sandbox, syncs go to production"


def test_a_path_is_unknown_while_the_dotenv_it_reads_is_not() -> None:
    """The worker's /app/.env was not read: the product sync's conclusion stands (it never
    reads the file), the order sync's credentials and target are not known."""
    *_, worker_main, worker_fbe = app_and_worker(worker_state="not_read")
    assert worker_fbe.products.missing == ("EMAG_FBE_PASSWORD",)
    assert worker_fbe.orders.state == "unknown" and worker_fbe.orders.missing == ()
    assert worker_main.orders.state == "set"  # the environment has them: .env cannot unset
    assert worker_main.orders_target == "unknown"  # EMAG_ENVIRONMENT could be in .env
    assert worker_main.orders.because.startswith("/app/.env was not read")
    worker = with_env("worker", ENV, state="not_read")
    # nothing is concluded from the unknown target: no split for this worker alone
    assert [c for c, _ in codes(emag_env.env_findings(containers_snapshot(worker)))] == [
        "emag_credentials_missing"
    ]


def _table(*containers: object) -> list[str]:
    out = io.StringIO()
    print_emag_accounts(containers_snapshot(*containers), Console(file=out, width=200))  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def test_the_containers_table_shows_each_path_where_they_differ() -> None:
    lines = _table(with_env("app", ENV, DOTENV), with_env("worker", ENV, state="not_read"))
    assert lines[0] == (
        "eMAG settings (magflow_app, magflow_worker; ENVIRONMENT=production; "
        "/app/.env read in magflow_app; /app/.env not read in magflow_worker)"
    )
    app_main = lines.index(
        "  main  credentials set                    products production, orders sandbox "
        "(magflow_app)"
    )
    assert lines[app_main + 1] == "        health checks EMAG_USERNAME+PASSWORD from /app/.env"
    app_fbe = next(i for i, x in enumerate(lines) if x.startswith("  fbe ") and "magflow_app" in x)
    assert lines[app_fbe].startswith("  fbe   products: EMAG_FBE_PASSWORD unset  ")
    assert lines[app_fbe].endswith("products production, orders production (magflow_app)")
    assert lines[app_fbe + 1 : app_fbe + 3] == [
        "        orders, health: credentials set (EMAG_FBE_PASSWORD from /app/.env)",
        "        health checks sandbox (EMAG_ENVIRONMENT not set: development)",
    ]
    worker_fbe = next(i for i, x in enumerate(lines) if x.startswith("  fbe ") and "worker" in x)
    assert "orders unknown" in lines[worker_fbe]
    assert lines[worker_fbe + 1] == "        orders: not known (/app/.env not read)"
    assert lines[-1] == f"  magflow_worker: /app/.env was not read: {UNREAD}"
    # an account is "credentials set" only when every path has them
    assert not any(x.startswith("  fbe ") and "credentials set" in x for x in lines)
    assert not any(secret in "\n".join(lines) for secret in SECRETS)


def test_the_container_detail_shows_each_path_where_they_differ() -> None:
    lines = emag_text(with_env("app", ENV, DOTENV)).plain.splitlines()
    assert lines == [
        "eMAG (ENVIRONMENT=production)",
        " main  credentials set                    products→production  orders→sandbox",
        "       health checks EMAG_USERNAME+PASSWORD from /app/.env",
        " fbe   products: EMAG_FBE_PASSWORD unset  products+orders→production",
        "       orders, health: credentials set (EMAG_FBE_PASSWORD from /app/.env)",
        "       health checks sandbox (EMAG_ENVIRONMENT not set: development)",
    ]
    worker = emag_text(with_env("worker", ENV, state="not_read")).plain.splitlines()
    # an unread /app/.env may set EMAG_ENVIRONMENT, which comes before ENVIRONMENT
    assert worker[0] == "eMAG (ENVIRONMENT=production; EMAG_ENVIRONMENT not known)"
    assert worker[1].endswith("products→production  orders→unknown")
    assert worker[-1] == f" /app/.env was not read: {UNREAD}"
    assert max(len(x) for x in lines + worker) <= 80


def test_containers_json_carries_each_path_by_name_only() -> None:
    app = with_env("app", ENV, DOTENV)
    from dataclasses import replace

    app = replace(app, emag_paths=emag_paths.paths_json(app))
    doc = to_jsonable(app)
    fbe = doc["emag_paths"]["fbe"]
    assert fbe["products"] == {
        "credentials": "missing",
        "names": {"EMAG_FBE_USERNAME": "environment", "EMAG_FBE_PASSWORD": "unset"},
        "target": "production",
        "target_from": "the product sync's default host",
    }
    assert fbe["orders"]["credentials"] == fbe["health"]["credentials"] == "set"
    assert fbe["orders"]["names"]["EMAG_FBE_PASSWORD"] == "/app/.env"
    assert doc["emag_paths"]["main"]["health"]["names"] == {
        "EMAG_USERNAME": "/app/.env",
        "EMAG_PASSWORD": "/app/.env",
    }
    assert doc["dotenv_set"] == [
        "EMAG_FBE_PASSWORD",
        "EMAG_MAIN_BASE_URL",
        "EMAG_PASSWORD",
        "EMAG_USERNAME",
    ]
    assert not any(secret in json.dumps(doc) for secret in SECRETS)
    assert emag_paths.paths_json(with_env("beat", ENV, DOTENV)) == {}  # no eMAG path there
