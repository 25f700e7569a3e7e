"""Smooth random fields: the spatial texture of clouds, weather anomalies and land use."""

from __future__ import annotations

import numpy as np

__all__ = ["smooth_field", "smooth_basis"]


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """A standard-normal-ish field on ``shape`` with features ~``scale_px`` pixels wide.

    White noise on a coarse lattice, interpolated linearly to the full grid.
    """
    scale_px = max(scale_px, 1.0)
    coarse = (max(2, int(np.ceil(shape[0] / scale_px)) + 1),
              max(2, int(np.ceil(shape[1] / scale_px)) + 1))
    lattice = rng.standard_normal(coarse)
    # Separable linear interpolation as two small matrix products: fast on large grids.
    field = _interpolation_matrix(shape[0], coarse[0]) @ lattice
    field = field @ _interpolation_matrix(shape[1], coarse[1]).T
    return (field - field.mean()) / (field.std() + 1e-12)


def _interpolation_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Dense (n_out x n_in) matrix of linear interpolation from n_in to n_out points."""
    position = np.arange(n_out) * ((n_in - 1) / max(n_out - 1, 1))
    left = np.minimum(np.floor(position).astype(np.int64), n_in - 2)
    weight = position - left
    matrix = np.zeros((n_out, n_in))
    matrix[np.arange(n_out), left] = 1 - weight
    matrix[np.arange(n_out), left + 1] = weight
    return matrix


def smooth_basis(lat: np.ndarray, lon: np.ndarray, spacing_deg: float) -> np.ndarray:
    """Weights (cells x control points) that turn white noise on a coarse control lattice
    into a smooth, unit-variance field on the cells of a lat/lon grid (Gaussian kernel)."""
    c_lat = np.arange(lat.min() - spacing_deg, lat.max() + 2 * spacing_deg, spacing_deg)
    c_lon = np.arange(lon.min() - spacing_deg, lon.max() + 2 * spacing_deg, spacing_deg)
    clat, clon = (a.ravel() for a in np.meshgrid(c_lat, c_lon, indexing="ij"))
    glat, glon = (a.ravel() for a in np.meshgrid(lat, lon, indexing="ij"))
    d2 = (glat[:, None] - clat[None, :]) ** 2 + (glon[:, None] - clon[None, :]) ** 2
    weights = np.exp(-d2 / (2 * (0.8 * spacing_deg) ** 2))
    return weights / np.sqrt((weights**2).sum(axis=1, keepdims=True))
