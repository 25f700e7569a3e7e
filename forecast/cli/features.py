"""``cropcast features``: build or extend the feature store; with ``as_of``, write the
as-of feature matrix beside it."""

from __future__ import annotations

from omegaconf import DictConfig

from cropcast.atomic import write_parquet_atomic
from cropcast.features.store.matrix import parse_as_of
from cropcast.forecast.cli.compose import data_catalog, feature_rows, matrix_spec
from cropcast.workdir import Workdir

__all__ = ["run"]


def run(cfg: DictConfig) -> dict:
    """Build or extend ``WORKDIR/features/store``; with ``as_of``, write the as-of matrix.

    Parameters
    ----------
    cfg : DictConfig
        The composed ``features`` config: ``data``, ``features``, ``years``, ``as_of``,
        ``workdir``, ``workers``, ``scheduler``.

    Returns
    -------
    dict
        ``store`` (its folder), ``report`` (the build's
        :class:`~cropcast.features.store.build.BuildReport`) and, with ``as_of``,
        ``matrix`` (the DataFrame) and ``matrix_path``.
    """
    as_of_setting = cfg.get("as_of")
    as_of = None if as_of_setting in (None, "end") else parse_as_of(as_of_setting)
    spec = matrix_spec(cfg)
    catalog = data_catalog(cfg)
    years = None if cfg.get("years") is None else [int(y) for y in cfg.years]
    rows, store, report = feature_rows(cfg, catalog, years=years)
    print(f"store: {store.root}")
    out: dict = {"store": store.root, "report": report}
    if as_of_setting is None:
        return out
    matrix = spec.matrix(rows, as_of, catalog.features)
    path = write_parquet_atomic(matrix, Workdir(cfg.workdir).matrix(as_of))
    print(f"matrix as of {as_of or 'the end of season'}: {len(matrix)} region-years x "
          f"{matrix.shape[1] - 2} features -> {path}")
    out.update(matrix=matrix, matrix_path=path)
    return out
