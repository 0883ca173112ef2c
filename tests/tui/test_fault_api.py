"""The API refusing connections, hanging past its timeout, answering a body that is not
JSON and answering a proxy's HTML page, while the TUI runs (a fake API of the test's own,
``own_fake_api``): the API pane says which, the TUI never blocks (a key is handled while
an API read hangs; the other sources are read meanwhile), no error modal opens, and the
pane turns healthy again by itself. The recovery time is measured and recorded."""

from __future__ import annotations

import time
from typing import Any

import pytest

from magflow_console.models import ApiSnapshot
from magflow_console.tui.widgets.api_pane import ApiPane
from tests.support.fake_api import OwnApi
from tests.support.reliability import Recorder
from tests.tui.faults import Read, SourceLog, assert_no_error_modal, assert_responsive
from tests.tui.helpers import real_app, real_config, table_rows, wait_for, wait_loaded

pytestmark = [pytest.mark.anyio, pytest.mark.docker, pytest.mark.postgres]

API_TIMEOUT = 8.0  # seconds per probe: long enough for a key to be handled mid-read
FAULTS = {
    "refusing": "refusing connections",
    "hanging": f"hanging past its {API_TIMEOUT:g} s timeout",
    "not_json": "answering a cut body that is not JSON",
    "html": "answering a proxy's HTML error page (502)",
}


def healthy(snap: ApiSnapshot | None) -> bool:
    return (
        snap is not None
        and snap.state == "ok"
        and bool(snap.checks)
        and all(c.healthy for c in snap.checks if c.critical)
    )


def _healthy_read(read: Read) -> bool:
    return healthy(read.snapshot)


def _details(pane: ApiPane) -> list[str]:
    return [cells[3] for cells in table_rows(pane.table).values()]


def _message(pane: ApiPane) -> str:
    return str(pane.query_one(".pane-message").render())


def _in_error(pane: ApiPane) -> bool:
    return pane.has_class("-error") or pane.has_class("-stale")


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_the_api_pane_says_what_is_wrong_and_recovers(
    fault: str,
    own_fake_api: OwnApi,
    demo_db_url: str,
    docker_engine: Any,
    stack_containers: Any,
    reliability: Recorder,
) -> None:
    api, server = own_fake_api.api, own_fake_api.server
    url = api.base_url
    loaded = real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=url,
        **{"api.timeout": API_TIMEOUT},
    )
    log = SourceLog()
    app = real_app(loaded)
    async with app.run_test(size=(120, 40), message_hook=log.hook) as pilot:
        await wait_loaded(pilot, app)
        await wait_for(pilot, lambda: healthy(app.store.api), "a healthy API first")
        pane = app.screen.query_one(ApiPane)
        began = time.monotonic()

        if fault == "refusing":
            server.stop()
            await wait_for(
                pilot,
                lambda: (
                    _in_error(pane) and f"API at {url} refused the connection." in _message(pane)
                ),
                "the pane to say the API refuses connections",
                60,
            )
            await assert_responsive(pilot, app)
        elif fault == "hanging":
            asked = len(api.requests)
            api.set_mode("slow", seconds=120)
            await wait_for(pilot, lambda: len(api.requests) > asked, "an API read to start", 60)
            hung_at = time.monotonic()
            await assert_responsive(pilot, app)  # while that read hangs
            assert not log.between("api", hung_at), "the read ended before the key was handled"
            await wait_for(
                pilot,
                lambda: (
                    _in_error(pane)
                    and f"accepted connections but answered nothing within {API_TIMEOUT:g} s"
                    in _message(pane)
                ),
                "the pane to say the API hangs",
                60,
            )
            for source in ("containers", "database", "sync"):  # read while the API hung
                assert len(log.states(source, hung_at)) >= 2, source
        else:
            api.set_mode(fault)
            said = (
                "an HTML page titled «502 Bad Gateway»"
                if fault == "html"
                else "non-JSON body (application/json): starting «{"
            )
            await wait_for(
                pilot,
                lambda: bool(_details(pane)) and all(said in d for d in _details(pane)),
                f"every check to say {said!r}",
                60,
            )
            assert not _in_error(pane)  # the API answered (badly): the rows say how
            assert all("\x1b" not in d and "\x00" not in d for d in _details(pane))
            await assert_responsive(pilot, app)

        for source in ("containers", "database"):
            assert len(log.states(source, began)) >= 2, f"{source} was not read meanwhile"
        assert_no_error_modal(app)
        ended = time.monotonic()
        if fault == "refusing":
            server.start()
        api.set_mode("healthy")
        api.wake()
        await wait_for(
            pilot,
            lambda: healthy(app.store.api) and not _in_error(pane),
            "the API pane to recover by itself",
            90,
        )
        assert not any("non-JSON" in d for d in _details(pane))
        assert_no_error_modal(app)
    recovered = log.recovered_after(("api",), ended, healthy=_healthy_read)
    assert recovered is not None
    reliability.fault("api", FAULTS[fault], "dashboard API pane", recovered)
