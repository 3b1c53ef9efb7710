"""The conda environment lists exactly the dependencies pyproject.toml declares."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _split(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_specs = dict(_split(s) for s in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_specs = dict(_split(s) for s in env["dependencies"] if isinstance(s, str) and not s.startswith(("python", "pip")))
    assert conda_specs == pip_specs, (
        "environment.yml and pyproject.toml disagree; "
        f"only in pyproject: {sorted(set(pip_specs.items()) - set(conda_specs.items()))}; "
        f"only in environment.yml: {sorted(set(conda_specs.items()) - set(pip_specs.items()))}"
    )


def test_python_version_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert f"python{project['requires-python']}" in env["dependencies"]
