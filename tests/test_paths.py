"""chipfit.paths: one rule for the cache and data folders, read by the core and every plugin, and
atomic writes there."""

from __future__ import annotations

from pathlib import Path

import pytest

from chipfit import paths


def test_the_folders_follow_their_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("CHIPFIT_DATA_DIR", str(tmp_path / "d"))
    assert (paths.cache_dir(), paths.data_dir()) == (tmp_path / "c", tmp_path / "d")


def test_the_folders_default_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("CHIPFIT_CACHE_DIR", "CHIPFIT_DATA_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert paths.cache_dir() == tmp_path / ".cache" / "chipfit"
    assert paths.data_dir() == tmp_path / ".local" / "share" / "chipfit"


def test_the_folders_follow_the_xdg_variables_below_chipfits_own(tmp_path, monkeypatch):
    monkeypatch.delenv("CHIPFIT_CACHE_DIR")
    monkeypatch.delenv("CHIPFIT_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xc"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xd"))
    assert (paths.cache_dir(), paths.data_dir()) == (tmp_path / "xc" / "chipfit", tmp_path / "xd" / "chipfit")
    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "c"))
    assert paths.cache_dir() == tmp_path / "c"


def _no_home(monkeypatch):
    for name in ("CHIPFIT_CACHE_DIR", "CHIPFIT_DATA_DIR", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))


def test_no_home_folder_is_an_os_error_and_relative_xdg_folders_are_ignored(tmp_path, monkeypatch):
    _no_home(monkeypatch)
    with pytest.raises(paths.NoHomeFolder) as caught:
        paths.data_dir()
    assert isinstance(caught.value, OSError)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG rule: a relative path is ignored
    with pytest.raises(paths.NoHomeFolder):
        paths.cache_dir()


def test_no_home_folder_costs_no_plugin_its_devices_or_workloads(cli, monkeypatch):
    """A user id with no passwd entry and no HOME: the catalogue is whole (only the caches are missed)."""
    from support import assert_clean

    _no_home(monkeypatch)
    devices = cli("devices")
    assert_clean(devices)
    assert devices.exit_code == 0 and "localhost-cpu" in devices.stdout, devices.output
    assert "raised" not in devices.output and "skipped" not in devices.output
    workloads = cli("workloads")
    assert workloads.exit_code == 0 and "resnet-50" in workloads.stdout, workloads.output
    assert "raised" not in workloads.output and "skipped" not in workloads.output


def test_a_written_file_gets_the_mode_open_would_give_it(tmp_path):
    import os
    import stat

    target = paths.write_atomically(tmp_path / "f.json", "{}")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~paths._UMASK


def test_no_home_folder_costs_only_the_cache(tmp_path, monkeypatch):
    """With no variable set and no home folder to be found (``Path.home`` raises, as for a user id with no
    passwd entry), datasheets are read as if there were no cache: every device is still there."""
    from chipfit.datasheets import load_devices

    for name in ("CHIPFIT_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)

    def no_home():
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(paths.NoHomeFolder):
        paths.cache_dir()
    sheet = Path(__file__).resolve().parent.parent / "plugins" / "chipfit_nvidia" / "devices.toml"
    assert [device.id for device in load_devices(sheet)] == [device.id for device in load_devices(sheet)] != []


def test_every_user_of_a_folder_asks_chipfit_paths(tmp_path, monkeypatch):
    from chipfit import store
    from chipfit_localhost import profile
    from chipfit_onnx import reference

    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("CHIPFIT_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.delenv("CHIPFIT_STORE", raising=False)
    assert profile.measured_path("m").parent == tmp_path / "c"
    assert profile.profile_path("m").parent == tmp_path / "d" / "calibration"
    assert store.default_path() == tmp_path / "d" / "runs.sqlite"
    assert reference.cache_dir is paths.cache_dir
    root = Path(__file__).resolve().parent.parent
    for folder in ("core", "plugins"):
        for source in (root / folder).rglob("*.py"):
            if source.name != "paths.py":
                text = source.read_text(encoding="utf-8")
                assert '"CHIPFIT_CACHE_DIR"' not in text and '"CHIPFIT_DATA_DIR"' not in text, source


def test_write_atomically_makes_the_folder_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a" / "b" / "file.json"
    assert paths.write_atomically(target, "{}") == target
    paths.write_atomically(target, b"[1]")
    assert target.read_bytes() == b"[1]" and [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_write_atomically_into_an_unwritable_place_raises_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        paths.write_atomically(blocker / "file.json", "{}")
    target = tmp_path / "folder-in-the-way"
    (target / "inside").mkdir(parents=True)  # a folder where the file should go: replace() fails
    with pytest.raises(OSError):
        paths.write_atomically(target, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "folder-in-the-way"]


def test_a_model_file_a_cluster_node_is_sent_is_kept_once_in_the_cache_folder(tmp_path, monkeypatch):
    from chipfit_ray import node

    from chipfit.records import Operator, Workload, graph_locator, split_locator

    monkeypatch.setenv("CHIPFIT_CACHE_DIR", str(tmp_path / "c"))
    workload = Workload(id="m", name="m", domain="vision", phase="inference", operators=[Operator("gemm", ops=1.0)],
                        graph=graph_locator("/on/the/driver/model.onnx", {"batch": 2}))
    sent = node._model_file(workload, b"model bytes")
    path, dims = split_locator(sent.graph)
    assert Path(path).parent == tmp_path / "c" / "fleet" and Path(path).read_bytes() == b"model bytes"
    assert dims == {"batch": 2} and node._model_file(workload, b"model bytes") == sent
    assert [p.name for p in (tmp_path / "c" / "fleet").iterdir()] == [Path(path).name]
