"""Building worlds: same seed same bytes, reuse, no overwrites, nothing half-written."""

import hashlib
import os

import numpy as np
import pytest
import rasterio

import cropcast.features.world.generate as generate
from cropcast.errors import CropcastError
from cropcast.features.world import WorldSpec, build_world
from cropcast.manifest import MANIFEST

# Every test here generates worlds of its own: the slow tier.
pytestmark = pytest.mark.slow

SMALL = {"states": ["RI"], "first_year": 2011, "last_year": 2012, "resolution_m": 4000,
         "weather_resolution_deg": 0.5}


def _digests(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_serial_or_parallel(tmp_path):
    spec = WorldSpec(**SMALL)
    one = build_world(spec, tmp_path / "a", workers=1, progress=False)
    two = build_world(spec, tmp_path / "b", workers=2, progress=False)
    assert one.root.name == two.root.name
    first, second = _digests(one.root), _digests(two.root)
    assert len(first) > 20
    assert first == second


def test_another_seed_gives_another_world(tmp_path):
    one = build_world(WorldSpec(**SMALL), tmp_path, workers=1, progress=False)
    two = build_world(WorldSpec(**{**SMALL, "seed": 7}), tmp_path, workers=1, progress=False)
    assert one.root != two.root
    truth = [rasterio.open(w.paths("cropmask")[0]).read(1) for w in (one, two)]
    assert not np.array_equal(*truth)


def test_second_run_reuses_and_a_new_config_never_overwrites(tmp_path):
    spec = WorldSpec(**SMALL)
    first = build_world(spec, tmp_path, workers=1, progress=False)
    before = _digests(first.root)
    stamps = {p: p.stat().st_mtime_ns for p in first.root.rglob("*") if p.is_file()}
    again = build_world(spec, tmp_path, workers=1, progress=False)
    assert again.reused and again.root == first.root
    other = build_world(WorldSpec(**{**SMALL, "last_year": 2011}), tmp_path, workers=1,
                        progress=False)
    assert other.root != first.root and not other.reused
    assert _digests(first.root) == before
    assert {p: p.stat().st_mtime_ns for p in first.root.rglob("*") if p.is_file()} == stamps


def test_a_failed_run_leaves_nothing_a_later_run_would_trust(tmp_path, monkeypatch):
    spec = WorldSpec(**SMALL)

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(generate, "_write_nass", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        build_world(spec, tmp_path, workers=1, progress=False)
    assert list((tmp_path / "world").iterdir()) == []
    monkeypatch.undo()
    world = build_world(spec, tmp_path, workers=1, progress=False)
    assert not world.reused and (world.root / MANIFEST).is_file()


def test_real_modis_250m_grid_works(tmp_path):
    spec = WorldSpec(states=["RI"], first_year=2012, last_year=2012, resolution_m=250,
                     weather_resolution_deg=0.5, ndvi_first_doy=193, ndvi_last_doy=209,
                     reflectance_first_doy=201, reflectance_last_doy=201)
    world = build_world(spec, tmp_path, workers=1, progress=False)
    with rasterio.open(world.paths("imagery", "MOD13Q1")[0]) as src:
        assert src.res[0] == pytest.approx(231.656358, abs=1e-6)
    with rasterio.open(world.paths("cropmask")[0]) as src:
        assert src.res == (60.0, 60.0)
    assert world.manifest["summary"]["counties"] == 5


def test_bad_workdir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CropcastError, match="workdir=.*is not usable: .* is a file"):
        build_world(WorldSpec(**SMALL), blocker / "work", progress=False)


def test_workers_must_be_positive(tmp_path):
    with pytest.raises(CropcastError, match="workers must be an integer >= 1; got 0"):
        build_world(WorldSpec(**SMALL), tmp_path, workers=0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_workdir_is_a_clear_error(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(CropcastError, match="not writable"):
        build_world(WorldSpec(**SMALL), locked / "work", progress=False)
