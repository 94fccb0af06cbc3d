"""What a newcomer reads from `outpost`: help for every command and option, one clear line when
a port is taken or the organisation file is not YAML, no noise at the end of a command."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import _parser
from tests.e2e.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def run_outpost(*args: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """Run `outpost ARGS` as a process with only the OUTPOST_ variables given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OUTPOST_")}
    env.update({"PYTHONPATH": str(ROOT), **env_vars})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port someone else is listening on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def subcommands() -> dict[str, argparse.ArgumentParser]:
    """The parsers of `outpost`'s commands by name."""
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_a_description() -> None:
    parsers = subcommands()
    assert {"run", "migrate", "import", "export", "invite", "deactivate", "version"} <= set(
        parsers
    )
    for name, parser in parsers.items():
        assert parser.description, name


@pytest.mark.parametrize("command", ["invite", "deactivate", "import", "export"])
def test_every_option_has_help(command: str) -> None:
    parser = subcommands()[command]
    undocumented = [
        action.dest
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert undocumented == []


def test_help_shows_run_and_migrate(tmp_path: Path) -> None:
    top = run_outpost("--help", cwd=tmp_path)
    assert top.returncode == 0
    assert "run the bot, the web app and the scheduler" in top.stdout
    assert "apply pending database migrations" in top.stdout
    run = run_outpost("run", "--help", cwd=tmp_path)
    assert "Without OUTPOST_TELEGRAM_TOKEN it starts the sandbox" in " ".join(run.stdout.split())
    deactivate = run_outpost("deactivate", "--help", cwd=tmp_path)
    assert "Telegram user id of the successor" in " ".join(deactivate.stdout.split())


def outpost_lines(stderr: str) -> list[str]:
    """The lines Outpost itself writes to stderr (not log lines)."""
    return [line for line in stderr.splitlines() if line.startswith("outpost:")]


def test_busy_sandbox_port_names_its_variable(tmp_path: Path, taken_port: int) -> None:
    result = run_outpost(
        "run",
        cwd=tmp_path,
        OUTPOST_SANDBOX_PORT=str(taken_port),
        OUTPOST_WEB_PORT=str(free_port()),
    )
    assert result.returncode == 1
    assert outpost_lines(result.stderr) == [
        f"outpost: cannot start the sandbox on 127.0.0.1:{taken_port}: Address already in use "
        "(set OUTPOST_SANDBOX_PORT to a free port)"
    ]
    assert "Unclosed" not in result.stderr
    assert "Traceback" not in result.stderr
    assert "Errno" not in result.stderr


def test_busy_web_port_names_its_variable(tmp_path: Path, taken_port: int) -> None:
    result = run_outpost(
        "run",
        cwd=tmp_path,
        OUTPOST_SANDBOX_PORT=str(free_port()),
        OUTPOST_WEB_PORT=str(taken_port),
    )
    assert result.returncode == 1
    [line] = outpost_lines(result.stderr)
    assert f"cannot listen on 127.0.0.1:{taken_port}" in line
    assert "OUTPOST_WEB_PORT" in line
    assert "Unclosed" not in result.stderr
    assert "Traceback" not in result.stderr


def test_yaml_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "org.yaml").write_text(
        "stations:\n  - code: LOS\n    name: Lagos\n   city: Lagos\n", encoding="utf-8"
    )
    result = run_outpost("import", "org.yaml", cwd=tmp_path)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("org.yaml: line 4, column 4: not valid YAML: "), first
    assert "<unicode string>" not in result.stderr
    assert "nothing was imported (1 error(s))" in result.stderr


def test_commands_end_without_the_tortoise_shutdown_line(tmp_path: Path) -> None:
    result = run_outpost("migrate", cwd=tmp_path, OUTPOST_LOG_LEVEL="INFO")
    assert result.returncode == 0, result.stderr
    assert "Applied" in result.stdout
    assert "migration outpost.0001_initial applied" in result.stderr  # INFO is on
    assert "Tortoise-ORM shutdown" not in result.stderr
