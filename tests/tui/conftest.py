"""Fixtures shared by the TUI tests that run against the real backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tui.helpers import real_config


@pytest.fixture
def stack_config(demo_db_url: str, docker_engine: Any, stack_containers: Any, fake_api: Any) -> Any:
    """A config for the demo database, the stack-like containers and a healthy fake API."""
    fake_api.set_mode("healthy")
    return real_config(
        db_url=demo_db_url,
        docker_engine=docker_engine,
        stack=stack_containers,
        api_url=fake_api.base_url,
    )
