"""Experiment tracking: the one module that imports mlflow.

A backtest opens one parent run per experiment (the jobs of a Hydra ``-m`` sweep share
one parent, found by the sweep's folder) and one nested run per model. Params are the
flattened resolved config; metrics are logged per forecast date with the day of the year
as the step; artifacts are the resolved config, predictions, plots and the reliability
table; only each model's final refit is logged as an MLflow model, with its signature and
an input example. ``tracking=none`` uses :class:`NoTracking`, which does nothing.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cropcast.days import day_of_year
from cropcast.errors import CropcastError

__all__ = ["MlflowTracking", "NoTracking", "flatten"]

_PARAM_LIMIT = 6000  # characters MLflow keeps in one param value


def flatten(config: Mapping, prefix: str = "") -> dict[str, str]:
    """``{"model.estimator.alpha": "1.0", ...}`` from a nested mapping."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:_PARAM_LIMIT]
    return out


def _step(forecast_date: str) -> int:
    if forecast_date == "end":
        return 366
    return day_of_year(forecast_date)


class NoTracking:
    """``tracking=none``: runs without MLflow."""

    def check(self, name: str) -> None:
        """Nothing to check."""

    @contextmanager
    def experiment(self, name: str, config: Mapping, tags: Mapping[str, str],
                   sweep: str | None = None) -> Iterator[None]:
        """Nothing to open."""
        yield None

    def log_model_run(self, name: str, metrics: pd.DataFrame, artifacts: list[Path],
                      model=None, input_example: pd.DataFrame | None = None) -> None:
        """Nothing to log."""


@dataclass
class MlflowTracking:
    """Track backtests in MLflow.

    Parameters
    ----------
    uri : str
        Tracking URI (default in the config: ``sqlite:///WORKDIR/mlflow.db``).
    artifacts : str, optional
        Folder of new experiments' artifacts (default in the config:
        ``WORKDIR/mlartifacts``); without it MLflow writes ``./mlruns`` in the current
        folder.
    log_models : bool
        Log each model's final refit as an MLflow model (a few seconds each).
    """

    uri: str
    artifacts: str | None = None
    log_models: bool = True

    def _mlflow(self):
        # cropcast never reaches the internet on its own: no usage telemetry from MLflow.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        return mlflow

    def check(self, name: str) -> None:
        """Open (or create) experiment ``name`` now, so a bad URI fails before the work."""
        self._open(name)

    def _open(self, name: str):
        mlflow = self._mlflow()
        try:
            if self.artifacts and mlflow.get_experiment_by_name(name) is None:
                location = Path(self.artifacts).expanduser().resolve()
                mlflow.create_experiment(name, artifact_location=location.as_uri())
            return mlflow, mlflow.set_experiment(name)
        except Exception as error:  # noqa: BLE001 - MLflow raises several kinds here
            raise CropcastError(f"tracking.uri={self.uri!r}: MLflow cannot open experiment "
                                f"{name!r} ({error}); check the URI or use tracking=none") from None

    @contextmanager
    def experiment(self, name: str, config: Mapping, tags: Mapping[str, str],
                   sweep: str | None = None) -> Iterator[None]:
        """Open the experiment's parent run (shared by every job of a sweep)."""
        mlflow, experiment = self._open(name)
        parent_id = None
        if sweep:
            found = mlflow.search_runs([experiment.experiment_id], output_format="list",
                                       filter_string=f"tags.cropcast_sweep = '{sweep}'")
            parent_id = found[0].info.run_id if found else None
        if parent_id is None:
            parent = mlflow.start_run(run_name=name, tags={**tags, "cropcast_sweep": sweep or ""})
            parent_id = parent.info.run_id
            mlflow.end_run()
        with mlflow.start_run(run_id=parent_id):
            with mlflow.start_run(run_name=tags.get("job", name), nested=True, tags=dict(tags)):
                mlflow.log_params(flatten(config))
                yield None

    def log_model_run(self, name: str, metrics: pd.DataFrame, artifacts: list[Path],
                      model=None, input_example: pd.DataFrame | None = None) -> None:
        """One nested run for ``name``: metrics by forecast date, artifacts, final model."""
        mlflow = self._mlflow()
        with mlflow.start_run(run_name=name, nested=True, tags={"model": name}):
            for row in metrics.itertuples(index=False):
                step = _step(str(row.forecast_date))
                for metric in ("rmse", "nrmse", "mape", "r2", "bias", "skill_vs_trend",
                               "coverage"):
                    value = float(getattr(row, metric))
                    if not math.isnan(value):
                        mlflow.log_metric(metric, value, step=step)
            for path in artifacts:
                mlflow.log_artifact(str(path))
            if model is not None and self.log_models:
                from mlflow.models import infer_signature

                example = input_example.copy()
                with warnings.catch_warnings():
                    # MLflow hints that integer columns (``year``) cannot hold missing
                    # values; ours never miss, and the hint is not about our code.
                    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains "
                                            "integer column", category=UserWarning)
                    # MLflow serialises the input example with an operation pandas 3
                    # deprecates: pandas' warning about MLflow's code.
                    warnings.filterwarnings("ignore", message="Operation with range is "
                                            "deprecated")
                    # Importing MLflow's agent schemas warns about their own type hints.
                    warnings.filterwarnings("ignore", message=".*Any type hint is inferred")
                    signature = infer_signature(example, model.predict(example))
                    mlflow.sklearn.log_model(model, name="model", signature=signature,
                                             input_example=example,
                                             serialization_format="cloudpickle",
                                             pip_requirements=[])
