"""The `hall` commands the units and maintainer scripts run are ones the real CLI parses."""
from __future__ import annotations

import argparse

import pytest

from kiosk import cli
from sync import central
from tests.packaging.contract import PACKAGING, ROLES, SCREEN_ROLES, SUBCOMMANDS, UNIT_SOURCES
from tests.packaging.unitfile import hall_call, load_unit


def _parses(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:  # argparse reports a bad command line by exiting
        raise AssertionError(f"`{parser.prog} {' '.join(argv)}` does not parse (exit {exc.code})") from exc


def _unit_calls() -> list[tuple[str, list[str]]]:
    calls = []
    for name, path in UNIT_SOURCES.items():
        exec_start = load_unit(path).get("Service", "ExecStart") or ""
        for instance in SCREEN_ROLES if "%i" in exec_start else (None,):
            calls.append((f"{name}:{instance}", list(hall_call(exec_start, instance).argv)))
    return calls


def test_contract_matches_the_cli() -> None:
    assert set(SUBCOMMANDS) <= set(cli.COMMANDS)
    assert tuple(ROLES) == tuple(cli.ROLES)


@pytest.mark.parametrize(("where", "argv"), _unit_calls(), ids=lambda v: v if isinstance(v, str) else "")
def test_unit_command_lines_parse(where: str, argv: list[str]) -> None:
    args = _parses(cli.build_parser(), argv)
    assert args.cmd == argv[0], where
    if args.cmd == "central":
        # `hall central` hands the rest to the collector's own parser.
        sub = _parses(central._parser(), list(args.rest))
        assert sub.cmd == "run"


@pytest.mark.parametrize(
    "argv",
    [
        ["check-config", "/etc/hall/hall.toml"],  # postinst
        ["doctor", "--config", "/etc/hall/hall.toml"],  # README
        ["run", "caller", "--config", "/etc/hall/hall.toml", "--window", "3"],  # /etc/default/hall-screen example
    ],
)
def test_script_and_doc_command_lines_parse(argv: list[str]) -> None:
    assert _parses(cli.build_parser(), argv).cmd == argv[0]


def test_central_example_options_parse() -> None:
    """The example in /etc/default/hall-central must be something `hall central run` accepts."""
    text = (PACKAGING / "debian" / "hall-central.default").read_text(encoding="utf-8")
    example = next(line for line in text.splitlines() if "HALL_CENTRAL_OPTS=\"--" in line)
    opts = example.split('HALL_CENTRAL_OPTS="', 1)[1].rstrip('"').split()
    assert _parses(central._parser(), ["run", *opts]).tls is True
