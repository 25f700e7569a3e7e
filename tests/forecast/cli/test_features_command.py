"""``cropcast features``: the store and the as-of matrix written from the composed config."""

from __future__ import annotations

import pandas as pd
import pytest

from cropcast.errors import CropcastError
from cropcast.forecast.cli import features


@pytest.mark.slow
def test_features_command_writes_the_store_and_the_matrix(tiny_world, tmp_path, compose):
    overrides = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
                 f"workdir={tmp_path}", "years=[2012]", "workers=1", "as_of=2012-08-01"]
    out = features.run(compose("features", overrides))
    assert out["matrix_path"] == tmp_path / "features" / "matrix_asof-2012-08-01.parquet"
    written = pd.read_parquet(out["matrix_path"])
    assert len(written) == 99 and set(written["year"]) == {2012}
    assert "mod13q1_ndvi_weighted_mean_d193" in written  # July 11-26 ended by Aug 1
    again = features.run(compose("features", overrides))
    assert again["report"].computed == [] and len(again["report"].skipped) == 15


def test_features_command_rejects_a_bad_as_of_and_a_bad_curve(tiny_world, tmp_path, compose):
    base = ["world=tiny", f"data.manifest={tiny_world.root / 'manifest.json'}",
            f"workdir={tmp_path}"]
    with pytest.raises(CropcastError, match="as_of must be a date YYYY-MM-DD"):
        features.run(compose("features", [*base, "as_of=2012-02-30"]))
    with pytest.raises(CropcastError, match=r"features.curves\[0\]"):
        features.run(compose("features", [*base, "features.curves=[{band: NDVI}]"]))
