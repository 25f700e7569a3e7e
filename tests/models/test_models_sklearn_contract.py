"""scikit-learn's conformance suite on every estimator of ``models``."""

from __future__ import annotations

from lightgbm import LGBMRegressor
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks

from cropcast.models.baselines import RecentMean, RegionMean, RegionTrend
from cropcast.models.residual import TrendResidualRegressor

ESTIMATORS = [
    RegionMean(),
    RecentMean(n_years=3),
    RegionTrend(),
    RegionTrend(robust=True),
    RegionTrend(shrinkage=4.0, min_years=3, max_years=10),
    RegionTrend(stale_years=2, parent_column="state_fips"),
    TrendResidualRegressor(),
    TrendResidualRegressor(regressor=Ridge(alpha=0.1)),
    TrendResidualRegressor(backfit_rounds=2),
    TrendResidualRegressor(regressor=LGBMRegressor(n_estimators=5, verbose=-1, random_state=0)),
]


def expected_failed_checks(estimator) -> dict[str, str]:
    """Checks that cannot apply, with the reason."""
    failed = {
        "check_regressor_data_not_an_array": (
            "the check passes a DataFrame with integer column names; a DataFrame X must "
            "hold the region_id and year key columns (only non-DataFrame input is read "
            "as one keyless region), so fit raises CropcastError naming the missing keys"
        ),
    }
    regressor = getattr(estimator, "regressor", None)
    if isinstance(regressor, LGBMRegressor):
        failed["check_regressors_train"] = (
            "5 boosting rounds at learning rate 0.1 (kept small for speed) explain under "
            "half the variance, below the check's R^2 > 0.5 bar"
        )
    return failed


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_contract(estimator, check):
    check(estimator)
