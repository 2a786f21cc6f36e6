"""Every SOFTMAX_LAB_* variable is read and checked in one place (softmax_core/settings.py); a wrong one
stops the server and the CLI at start, named with what it allows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from softmax_core.config import ConfigError
from softmax_core.errors import InputError, LabError
from softmax_core.runs.store import RunLimitReached, StoreError
from softmax_core.settings import READERS, ServerSettings, SettingError, load_settings, server_settings

REPO = Path(__file__).resolve().parents[1]


def test_unset_variables_give_the_defaults():
    assert load_settings({"PATH": "/bin"}) == ServerSettings()


def test_every_variable_is_read_into_its_field():
    settings = load_settings({"SOFTMAX_LAB_PACK_SIZE": "4", "SOFTMAX_LAB_EXECUTOR": " Ray ",
                              "SOFTMAX_LAB_RAY_DASHBOARD": "1", "SOFTMAX_LAB_MAX_SWEEP_RUNS": "100",
                              "SOFTMAX_LAB_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8",
                              "SOFTMAX_LAB_PUBLIC_URL": "https://lab.example.org/", "SOFTMAX_LAB_MAX_RUN_COST": "5000"})
    assert (settings.pack_size, settings.executor, settings.ray_dashboard) == (4, "ray", True)
    assert settings.max_sweep_runs == 100
    assert len(settings.trusted_proxies) == 2 and settings.public_url == "https://lab.example.org"
    assert settings.max_run_cost == 5000 and settings.max_active_runs is None


@pytest.mark.parametrize(("name", "value", "says"), [
    ("SOFTMAX_LAB_PACK_SIZE", "0", "from 1 to 256"),
    ("SOFTMAX_LAB_PACK_SIZE", "lots", "from 1 to 256"),
    ("SOFTMAX_LAB_EXECUTOR", "kubernetes", "one of local, ray"),
    ("SOFTMAX_LAB_RAY_DASHBOARD", "yes", "1 (on) or 0 (off)"),
    ("SOFTMAX_LAB_MAX_SWEEP_RUNS", "-5", "from 1 to 10,000"),
    ("SOFTMAX_LAB_MAX_RUN_COST", "2.5", "from 1 to 10,000,000"),
    ("SOFTMAX_LAB_TRUSTED_PROXIES", "proxy.lan", "is not an IP address or network"),
    ("SOFTMAX_LAB_PUBLIC_URL", "lab.example.org", "a web address"),
])
def test_a_wrong_value_is_named_with_what_it_allows(name, value, says):
    with pytest.raises(SettingError, match=name) as caught:
        load_settings({name: value})
    assert says in str(caught.value)


def test_every_problem_is_named_at_once_and_a_misspelled_name_too():
    with pytest.raises(SettingError) as caught:
        load_settings({"SOFTMAX_LAB_CLASS_COD": "abc", "SOFTMAX_LAB_PACK_SIZE": "0"})
    message = str(caught.value)
    assert "`SOFTMAX_LAB_CLASS_COD` is not a setting" in message and "did you mean `SOFTMAX_LAB_CLASS_CODE`" in message
    assert "SOFTMAX_LAB_PACK_SIZE='0'" in message


def test_the_settings_follow_the_environment(monkeypatch):
    monkeypatch.setenv("SOFTMAX_LAB_PACK_SIZE", "3")
    assert server_settings().pack_size == 3
    monkeypatch.setenv("SOFTMAX_LAB_PACK_SIZE", "5")
    assert server_settings().pack_size == 5


def test_no_module_reads_a_setting_from_the_environment_itself():
    """Only settings.py reads SOFTMAX_LAB_* variables (tests and the worker's copy of the environment aside)."""
    offenders = []
    for path in [*REPO.glob("softmax_core/**/*.py"), *REPO.glob("dashboard/**/*.py"), REPO / "app.py"]:
        if path.name == "settings.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ("os.environ" in line or "getenv" in line) and any(
                    name in line or "ENV_VAR" in line for name in READERS):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, offenders


def test_one_error_root_for_what_a_person_reads():
    assert issubclass(SettingError, InputError) and issubclass(ConfigError, InputError)
    assert all(issubclass(error, LabError) for error in (RunLimitReached, StoreError, InputError))
    assert issubclass(ConfigError, ValueError), "older except ValueError clauses keep working"


def test_the_cli_stops_at_start_on_a_wrong_setting(tmp_path):
    env = {**os.environ, "SOFTMAX_LAB_EXECUTOR": "kubernetes", "SOFTMAX_LAB_DB": f"sqlite:///{tmp_path}/runs.db"}
    done = subprocess.run([sys.executable, "-m", "softmax_core", "runs"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "`SOFTMAX_LAB_EXECUTOR='kubernetes'` must be one of local, ray" in done.stderr
    assert "Traceback" not in done.stderr
