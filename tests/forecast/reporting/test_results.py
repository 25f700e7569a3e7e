"""A backtest's results folder: every table and plot, or nothing at all."""

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from cropcast.forecast.evaluation.backtest import BacktestData, run_backtest
from cropcast.forecast.evaluation.splits import ExpandingWindow
from cropcast.forecast.reporting import results
from cropcast.models.baselines import RegionTrend

COUNTIES = ("19001", "19003")


@pytest.fixture(scope="module")
def result():
    yields = pd.DataFrame([(c, y, 150.0 + 2 * (y - 2010) + i, 1000.0)
                           for i, c in enumerate(COUNTIES) for y in range(2010, 2018)],
                          columns=["region_id", "year", "yield", "harvested_acres"])
    matrix = yields[["region_id", "year"]].assign(x=1.0)
    return run_backtest(BacktestData(yields, lambda as_of: matrix), {"trend": RegionTrend()},
                        ExpandingWindow(min_train_years=5), ["08-01"], progress=False)


def _regions():
    return gpd.GeoDataFrame({"region_id": list(COUNTIES)},
                            geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:5070")


def test_the_folder_holds_the_tables_the_config_and_the_plots(result, tmp_path):
    folder, files = results.save_backtest(result, tmp_path / "exp", "a: 1\n", "trend",
                                          "exp: expanding", _regions())
    assert folder.parent == tmp_path / "exp" and files == sorted(folder.iterdir())
    assert sorted(p.name for p in files) == [
        "aggregated.parquet", "config.yaml", "county_errors.png", "coverage_by_year.csv",
        "metrics.csv", "notes.txt", "predicted_vs_observed.png", "predictions.parquet",
        "reliability.csv", "skill_by_date.png"]
    pd.testing.assert_frame_equal(pd.read_csv(folder / "metrics.csv"), result.metrics)
    assert (folder / "config.yaml").read_text() == "a: 1\n"


def test_a_failure_midway_leaves_no_folder(result, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results, "county_error_map", fail)
    with pytest.raises(OSError, match="disk full"):
        results.save_backtest(result, tmp_path / "exp", "", "trend", "t", _regions())
    assert list((tmp_path / "exp").iterdir()) == []
