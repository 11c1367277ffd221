"""Settings: defaults, file and environment precedence, one clear line per bad setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.settings import SyncMode


def test_defaults_match_the_contract() -> None:
    s = load_settings(environ={})
    assert s.http.port == 8080
    assert s.data.dir == Path("./data")
    assert s.simulator.enabled is True
    assert (s.simulator.smpp_port, s.simulator.control_port) == (2775, 8775)
    assert s.gateway.timezone == "Africa/Libreville"
    assert s.gateway.default_region == "GA"
    assert s.gateway.key_validity_days == 365
    assert (s.campaigns.window_start, s.campaigns.window_end) == ("08:00", "20:00")


def test_environment_overrides_file_which_overrides_defaults(tmp_path: Path) -> None:
    f = tmp_path / "gw.toml"
    f.write_text('[http]\nport = 9000\n[smsc]\nbinds = 4\nsystem_id = "fromfile"\n')
    s = load_settings(f, environ={"SMSGW_SMSC_SYSTEM_ID": "fromenv", "SMSGW_SIMULATOR_ENABLED": "false",
                                  "SMSGW_SMSC_HOST": "127.0.0.1", "SMSGW_SMSC_PORT": "2776"})
    assert s.http.port == 9000
    assert s.smsc.binds == 4
    assert s.smsc.system_id == "fromenv"
    assert s.simulator.enabled is False


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMSGW_HTTP_PORT": "huit"}, "http.port"),
        ({"SMSGW_HTTP_PORT": "70000"}, "http.port"),
        ({"SMSGW_SMSC_WINDOWS": "3"}, "smsc.windows"),
        ({"SMSGW_NOPE_KEY": "1"}, "SMSGW_NOPE_KEY"),
        ({"SMSGW_SIMULATOR_ENABLED": "peut-etre"}, "simulator.enabled"),
        ({"SMSGW_GATEWAY_TIMEZONE": "Mars/Olympus"}, "gateway.timezone"),
        ({"SMSGW_CAMPAIGNS_WINDOW_START": "8h"}, "campaigns.window_start"),
        ({"SMSGW_CAMPAIGNS_WINDOW_START": "21:00"}, "campaigns.window_end"),
        ({"SMSGW_SMSC_BINDS": "0"}, "smsc.binds"),
        ({"SMSGW_SIMULATOR_ENABLED": "false"}, "smsc.host"),
        ({"SMSGW_GATEWAY_DEFAULT_REGION": "GAB"}, "gateway.default_region"),
        ({"SMSGW_ENGINE_GC_THRESHOLD": "10"}, "engine.gc_threshold"),
        ({"SMSGW_SMSC_PROBE_SUBMITS": "-1"}, "smsc.probe_submits"),
        ({"SMSGW_DATA_SYNC": "off"}, "data.sync"),
    ],
)
def test_bad_setting_is_one_line_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env)
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_unknown_key_in_file_names_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "gw.toml"
    f.write_text("[http]\nprot = 1\n")
    with pytest.raises(ConfigError, match=r"http\.prot .*gw\.toml"):
        load_settings(f, environ={})


def test_missing_or_broken_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[http\nport=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})


def test_commits_are_durable_by_default_and_normal_is_chosen_by_name(tmp_path: Path) -> None:
    assert load_settings(environ={}).data.sync is SyncMode.FULL
    assert load_settings(environ={"SMSGW_DATA_SYNC": "normal"}).data.sync is SyncMode.NORMAL
    assert load_settings(environ={"SMSGW_DATA_SYNC": " FULL "}).data.sync is SyncMode.FULL
    f = tmp_path / "gw.toml"
    f.write_text('[data]\nsync = "normal"\n')
    assert load_settings(f, environ={}).data.sync is SyncMode.NORMAL


@pytest.mark.parametrize("value", ["off", "", "extra", "2"])
def test_an_unknown_sync_mode_is_refused_naming_both_choices(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ={"SMSGW_DATA_SYNC": value})
    message = str(info.value)
    assert "data.sync" in message and "full or normal" in message
    assert "SMSGW_DATA_SYNC" in message and "\n" not in message


def test_a_sync_mode_that_is_not_a_string_in_the_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "gw.toml"
    f.write_text("[data]\nsync = 2\n")
    with pytest.raises(ConfigError, match=r"data\.sync must be full or normal, got 2 .*gw\.toml"):
        load_settings(f, environ={})
