"""Fixtures for the web tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo

from web.cli import main


@pytest.fixture
def torace(app: Flask) -> Callable[..., Result]:
    """Run a ``torace`` command against the test app; fail on a non-zero exit."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        result = runner.invoke(
            main,
            list(args),
            obj=ScriptInfo(create_app=lambda: app),
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result

    return run
