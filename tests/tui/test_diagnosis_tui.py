"""What ``doctor`` reads from the containers, as the TUI shows it: the log findings on the
findings screen (``d``) and, on a container's detail, its eMAG accounts and what its log
says. Against the real backends (the stack-like containers on the real Docker engine,
whose app and worker carry a realistic environment and log lines with a bearer token),
at 80x24; plus the pure renderings of the detail's diagnosis block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from textual.message import Message

from magflow_console.backend import Backend
from magflow_console.diagnose import rules
from magflow_console.diagnose.doctor import advise, extra_findings
from magflow_console.models import ContainerInfo, Finding
from magflow_console.tui.app import MagflowApp
from magflow_console.tui.messages import LogFindingsRead
from magflow_console.tui.screens.admins import AdminsScreen
from magflow_console.tui.screens.container_detail import (
    ContainerDetailScreen,
    diagnosis_text,
    emag_text,
    log_says_text,
)
from magflow_console.tui.screens.findings import FindingsScreen, row_text
from magflow_console.tui.widgets.log_view import TEXT, LogView
from magflow_console.tui.widgets.table import LiveTable
from tests.support.docker_engine import STACK_SECRETS
from tests.tui.helpers import real_app, real_config, screen_text, table_rows, wait_for, wait_loaded

F = TypeVar("F", bound=Callable[..., Any])


def docker_backed(test: F) -> F:
    """Runs against the real PostgreSQL, Docker engine and fake API (async, pilot)."""
    return pytest.mark.anyio(pytest.mark.docker(pytest.mark.postgres(test)))


def assert_no_secret(app: MagflowApp, *texts: str) -> None:
    shown = [screen_text(app), app.export_screenshot(), *texts]
    for name, value in STACK_SECRETS.items():
        for text in shown:
            assert value not in text, f"the stack's {name} is shown"


def why_no_line(stack_config: Any, container: str, needle: str) -> str:
    """For a failure message: is ``needle`` in the container's last 500 lines (the
    stand-ins repeat their test lines every 50 turns of their loop)?"""
    backend = Backend(stack_config)
    try:
        lines = backend.logs(container, tail=500)
    finally:
        backend.close()
    seen = any(needle in line.text for line in lines)
    return f"{needle!r} {'is' if seen else 'is no longer'} in the last 500 lines of {container}"


async def open_findings(app: MagflowApp, pilot: Any) -> FindingsScreen:
    await wait_loaded(pilot, app)
    await pilot.press("d")
    screen = app.screen
    assert isinstance(screen, FindingsScreen)
    return screen


def select(screen: FindingsScreen, code: str) -> None:
    table = screen.query_one(LiveTable)
    keys = [key for key, _ in table._shown]
    index = next(i for i, key in enumerate(keys) if screen._keys[key].finding.code == code)
    table.move_cursor(row=index, animate=False)


# --------------------------------------------------------------------------- findings (d)


@docker_backed
async def test_findings_screen_adds_what_the_logs_say_and_shows_no_secret(
    stack_config: Any, stack_containers: Any
) -> None:
    messages: list[Message] = []
    app = real_app(stack_config)
    app_name = stack_containers.names["app"]
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        screen = await open_findings(app, pilot)

        def listed() -> bool:
            return any(a.finding.code == "log_product_sync_failed" for a in screen.advice)

        try:
            await wait_for(pilot, listed, "the log finding log_product_sync_failed")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc} ({why_no_line(stack_config, app_name, 'Product sync failed:')})"
            ) from exc
        assert screen.logs_state == "read"
        status = str(screen.query_one("#findings-status").render())
        assert "reading container logs" not in status
        read = {
            id(m) for m in messages if isinstance(m, LogFindingsRead)
        }  # the hook sees a message at each node it bubbles through
        assert len(read) == 1, "the logs are read once, in the worker"

        rows = table_rows(screen.query_one(LiveTable))
        row = next(r for r in rows.values() if r[1] == "log_product_sync_failed")
        assert row[0] == "WARNING"
        assert row[2] == f"{app_name}: product sync failed"
        # the environment's findings are there too, and the account is not said twice
        creds = next(r for r in rows.values() if r[1] == "emag_credentials_missing")
        assert creds[2] == "fbe: eMAG credentials not set"

        select(screen, "log_product_sync_failed")
        await pilot.pause()
        detail = str(screen.query_one("#finding-detail").render())
        assert "Product sync failed:" in detail  # the sample line, scrubbed
        assert "Bearer" not in detail and "'***'" in detail
        assert f"enter: {app_name}'s detail" in detail
        assert_no_secret(app, detail)

        # exactly what the headless doctor lists (same report, same reads)
        report = app.store.report
        assert report is not None
        backend = Backend(stack_config)
        try:
            logs = backend.log_findings(report.containers)
            admins = rules.admin_findings(backend.admins())
        finally:
            backend.close()
        doctor = advise(report, extra_findings(report, admins, logs))

        def keys(findings: list[Finding]) -> set[tuple[str, str | None, str | None]]:
            return {(f.code, f.account, f.subject) for f in findings}

        assert keys([a.finding for a in screen.advice]) == keys([a.finding for a in doctor])

        await pilot.press("enter")
        detail_screen = app.screen
        assert isinstance(detail_screen, ContainerDetailScreen)
        assert detail_screen.container_name == app_name


@docker_backed
async def test_findings_screen_opens_the_container_or_the_admins(
    stack_config: Any, stack_containers: Any
) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_findings(app, pilot)
        codes = {a.finding.code for a in screen.advice}
        assert {"emag_credentials_missing", "dev_admin_autoprovision"} <= codes, codes

        select(screen, "emag_credentials_missing")
        await pilot.press("enter")
        assert isinstance(app.screen, ContainerDetailScreen)
        assert app.screen.container_name in stack_containers.names.values()
        await pilot.press("escape")
        assert app.screen is screen

        select(screen, "dev_admin_autoprovision")
        await pilot.pause()
        assert "enter: the admin users" in str(screen.query_one("#finding-detail").render())
        await pilot.press("enter")
        assert isinstance(app.screen, AdminsScreen)


# --------------------------------------------------------------------------- container detail


@docker_backed
async def test_app_detail_shows_its_emag_accounts_and_what_its_log_says(
    stack_config: Any, stack_containers: Any
) -> None:
    app = real_app(stack_config)
    app_name = stack_containers.names["app"]
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_container(app_name)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerDetailScreen)
        diagnosis = screen.query_one("#container-diagnosis")

        def says(text: str) -> bool:
            return text in str(diagnosis.render())

        await wait_for(pilot, lambda: says("EMAG_FBE_PASSWORD unset"), "the eMAG block")
        try:
            await wait_for(pilot, lambda: says("product sync failed"), "the 'Log says' block")
        except AssertionError as exc:
            raise AssertionError(
                f"{exc} ({why_no_line(stack_config, app_name, 'Product sync failed:')})"
            ) from exc

        lines = str(diagnosis.render()).splitlines()
        assert lines[0] == "eMAG (ENVIRONMENT=development)"
        main = next(x for x in lines if x.startswith(" main "))
        fbe = next(x for x in lines if x.startswith(" fbe "))
        assert "credentials set" in main and "orders→sandbox" in main
        assert "products→production" in main  # the split: products go to production
        assert "EMAG_FBE_PASSWORD unset" in fbe and "orders→sandbox" in fbe
        assert "EMAG_FBE_USERNAME" not in fbe  # it is set
        says_at = lines.index(next(x for x in lines if x.startswith("Log says")))
        assert lines[says_at + 1].strip() == "▲ product sync failed"

        shown = screen_text(app)
        assert "EMAG_FBE_PASSWORD unset" in shown and "▲ product sync failed" in shown
        assert max(len(x) for x in shown.splitlines()) <= 80
        # the log itself: the failed sync's line is there, its bearer token masked
        logged = "\n".join(e[TEXT] for e in screen.query_one(LogView).entries)
        failed = next(x for x in logged.splitlines() if "Product sync failed:" in x)
        assert "'Authorization': '***'" in failed, failed
        assert_no_secret(app, "\n".join(lines), logged)


@docker_backed
async def test_a_container_without_environment_or_findings_shows_no_diagnosis(
    stack_config: Any, stack_containers: Any
) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_container(stack_containers.names["db"])
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerDetailScreen)
        await wait_for(
            pilot,
            lambda: screen.info is not None and screen.log_findings is not None,
            "the db's inspect and a pass over its log",
        )
        assert screen.log_findings == []
        assert not screen.query_one("#container-diagnosis").display
        assert "eMAG" not in screen_text(app)


# --------------------------------------------------------------------------- pure renderings


def container(env_set: tuple[str, ...], env_public: dict[str, str]) -> ContainerInfo:
    return ContainerInfo(
        id="0123456789ab",
        name="magflow_app",
        service="app",
        project="magflow",
        state="running",
        health="healthy",
        restart_count=0,
        started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        finished_at=None,
        exit_code=0,
        image="magflow-app:development",
        env_set=env_set,
        env_public=env_public,
    )


def test_emag_block_names_what_is_unset_and_where_syncs_go() -> None:
    c = container(
        ("DATABASE_URL", "EMAG_MAIN_USERNAME", "EMAG_MAIN_PASSWORD", "EMAG_PASSWORD_FBE"),
        {"EMAG_FBE_BASE_URL": "https://marketplace-api-sandbox.emag.ro/api-3"},
    )
    lines = emag_text(c).plain.splitlines()
    assert lines == [
        "eMAG (no EMAG_ENVIRONMENT, ENVIRONMENT or APP_ENV)",
        " main  credentials set                   products→production  orders→sandbox",
        " fbe   EMAG_FBE_USERNAME+PASSWORD unset  products+orders→sandbox (base URL)",
        "       set but not read: EMAG_PASSWORD_FBE",
    ]


def test_emag_block_is_empty_when_the_environment_is_not_known() -> None:
    assert emag_text(container((), {})).plain == ""
    assert emag_text(None).plain == ""


def test_log_says_lists_a_few_words_worst_first_and_counts_the_rest() -> None:
    findings = [
        Finding(f"log_{i}", "warning", "m", subject="magflow_app", short=f"magflow_app: x{i}")
        for i in range(5)
    ]
    text = log_says_text("magflow_app", findings).plain.splitlines()
    assert text[1:] == [" ▲ x0", " ▲ x1", " ▲ x2", "   … and 2 more"]
    assert log_says_text("magflow_app", []).plain == ""
    assert log_says_text("magflow_app", None).plain == ""
    assert diagnosis_text(None, "magflow_app", None).plain == ""


def test_row_text_leads_with_the_account_unless_it_is_named() -> None:
    f = Finding("sync_failed", "warning", "m", account="fbe", short="1 run(s) failed")
    assert row_text(f) == "fbe: 1 run(s) failed"
    g = Finding("emag_sandbox", "info", "m", account="fbe", short="fbe: eMAG sandbox")
    assert row_text(g) == "fbe: eMAG sandbox"
    h = Finding("log_missing_credentials", "warning", "m", account="fbe", short="w: fbe: gone")
    assert row_text(h) == "w: fbe: gone"


@docker_backed
async def test_refresh_on_the_findings_screen_reads_the_logs_again(
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    fake_api: Any,
    make_container: Callable[..., Any],
) -> None:
    """The logs are read when the screen opens; ``r`` reads them again, so a line logged
    since then is listed (as a new ``doctor`` would list it)."""
    fake_api.set_mode("healthy")
    name = f"{stack_containers.prefix}sidecar{dt.datetime.now().microsecond}"
    line = "Redis connection failed; continuing without Redis"
    make_container(name=name, command=["sh", "-c", f"sleep 4; echo '{line}'; sleep 1d"])
    config = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
        **{"docker.services": {**stack_containers.service_map, "sidecar": name}},
    )
    app = real_app(config)
    backend = Backend(config)

    def fallback_listed(screen: FindingsScreen) -> bool:
        return any(
            a.finding.code == "log_redis_fallback" and a.finding.subject == name
            for a in screen.advice
        )

    try:
        async with app.run_test(size=(80, 24)) as pilot:
            screen = await open_findings(app, pilot)
            await wait_for(pilot, lambda: screen.logs_state == "read", "the first log read")
            logged = any(line in x.text for x in backend.logs(name, tail=50))
            assert logged or not fallback_listed(screen)
            await wait_for(
                pilot,
                lambda: any(line in x.text for x in backend.logs(name, tail=50)),
                "the sidecar to log its line",
            )
            if not logged:
                await pilot.pause(1.0)
                assert not fallback_listed(screen), "read again without being asked"
            await pilot.press("r")
            await wait_for(pilot, lambda: fallback_listed(screen), "the new line after r")
    finally:
        backend.close()


@docker_backed
async def test_enter_on_a_log_finding_finds_its_line_in_the_followed_log(
    stack_config: Any, stack_containers: Any
) -> None:
    app = real_app(stack_config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_findings(app, pilot)
        await wait_for(
            pilot,
            lambda: any(a.finding.code == "log_product_sync_failed" for a in screen.advice),
            "the log finding log_product_sync_failed",
        )
        finding = next(
            a.finding for a in screen.advice if a.finding.code == "log_product_sync_failed"
        )
        assert finding.evidence == "Product sync failed:"
        select(screen, "log_product_sync_failed")
        await pilot.pause()
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, ContainerDetailScreen)
        log = detail.query_one(LogView)
        await wait_for(pilot, lambda: log.match_index is not None, "the evidence found in the log")
        assert log.match_index is not None
        matched = log.shown[log.match_index]
        assert "Product sync failed:" in matched[TEXT] and "'***'" in matched[TEXT]
        # the newest such line, and the view is held there (not following to the end)
        later = log.shown[log.match_index + 1 :]
        assert not any("Product sync failed:" in e[TEXT] for e in later)
        assert not log.following
        status = str(detail.query_one("#log-status").render())
        assert "search product sync failed:" in status
