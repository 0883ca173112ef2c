"""Shared test set-up. Each backend's fixtures live in their own plugin module."""

pytest_plugins = [
    "tests.support.postgres",
    "tests.support.docker_engine",
    "tests.support.fake_api",
    "tests.support.redis_server",
    "tests.support.ssh_server",
    "tests.support.celery_rig",
    "tests.support.reliability",
]
