"""Every scenario of the shared conformance suite (sdk/conformance) is one test case,
run through the Python helpers against a live octostore-lock."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conformance import CONFORMANCE, Runner, scenario_files
from harness import Servers

SCHEMA = json.loads((CONFORMANCE / "scenario.schema.json").read_text())


def test_there_are_scenarios() -> None:
    assert len(scenario_files()) >= 20


@pytest.mark.parametrize("path", scenario_files(), ids=lambda p: p.stem)
def test_scenario(path: Path, servers: Servers) -> None:
    scenario = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(scenario)
    assert scenario["name"] == path.stem
    runner = Runner(scenario, servers)
    try:
        runner.run()
    finally:
        runner.close()
