"""Crop fractions on the imagery's grid, and why the in-season weight is a frequency."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from cropcast.errors import CropcastError
from cropcast.features.cropmask import crop_fraction
from cropcast.grid import TargetGrid

MASK_TRANSFORM = Affine(30, 0, 0, 0, -30, 240)


def _mask(path, codes, transform=MASK_TRANSFORM, crs="EPSG:5070"):
    codes = np.asarray(codes, dtype=np.uint8)
    with rasterio.open(path, "w", driver="GTiff", width=codes.shape[1], height=codes.shape[0],
                       count=1, dtype="uint8", crs=crs, nodata=0, transform=transform) as dst:
        dst.write(codes, 1)
    return str(path)


def test_exact_fractions_on_a_coarser_grid(tmp_path):
    codes = np.full((8, 8), 5)
    codes[:4, :4] = 1  # upper-left imagery pixel all corn
    codes[:4, 4:6] = 1  # upper-right half corn
    codes[4:, 4:] = 0  # lower-right: background only
    codes[4, 0] = 1  # lower-left: 1 of 16
    masks = {2019: _mask(tmp_path / "m.tif", codes)}
    target = TargetGrid("EPSG:5070", Affine(120, 0, 0, 0, -120, 240), (2, 2))
    fraction = crop_fraction(masks, 2019, target, mode="same_year")
    np.testing.assert_array_equal(fraction[0], [1.0, 0.5])
    assert fraction[1, 0] == pytest.approx(1 / 16) and np.isnan(fraction[1, 1])
    cropland = crop_fraction({2018: masks[2019]}, 2019, target, mode="cropland")
    np.testing.assert_array_equal(cropland[0], [1.0, 1.0])


def test_fractions_sum_to_the_masks_pixel_counts_on_the_worlds_tiles(tiny_world):
    masks = {int(p.name[:4]): str(p) for p in tiny_world.paths("cropmask")}
    counted = 0.0
    with rasterio.open(masks[2012]) as src:
        codes = src.read(1)
    for path in [p for p in tiny_world.paths("imagery", "MOD13Q1") if "A2012193" in p.name
                 and "NDVI" in p.name]:
        with rasterio.open(path) as src:
            target = TargetGrid(src.crs, src.transform, src.shape)
        corn = crop_fraction(masks, 2012, target, mode="same_year")
        land = crop_fraction(masks, 2012, target, mode="same_year",
                             classes=[1, 5, 111, 121, 122, 141, 176])
        # Pixels with mask data are fully accounted for: all classes share = 1.
        assert np.allclose(land[np.isfinite(land)], 1.0)
        counted += float(np.nansum(corn * _pixel_counts(masks[2012], target)))
    # Every corn pixel of the mask lands in exactly one imagery pixel of one tile.
    assert counted == pytest.approx((codes == 1).sum(), abs=1.0)  # float32 fractions


def _pixel_counts(path, target):
    """Mask pixels (non-background) inside each target pixel."""
    from cropcast.grid import pixel_index

    with rasterio.open(path) as src:
        codes = src.read(1)
        index = pixel_index(src.crs, src.transform, codes.shape, target)
    keep = (index >= 0) & (codes != 0)
    return np.bincount(index[keep], minlength=target.shape[0] * target.shape[1]).reshape(
        target.shape)


def test_multi_year_frequency_beats_last_years_layer(tiny_world):
    """Corn and soybeans rotate: last season's corn is this season's soybeans."""
    masks = {int(p.name[:4]): str(p) for p in tiny_world.paths("cropmask")}
    path = next(p for p in tiny_world.paths("imagery", "MOD13Q1") if "A2013193.h11v04" in
                p.name and "NDVI" in p.name)
    with rasterio.open(path) as src:
        target = TargetGrid(src.crs, src.transform, src.shape)
    truth = crop_fraction(masks, 2013, target, mode="same_year")
    errors = {}
    for mode in ("frequency", "previous_year"):
        guess = crop_fraction(masks, 2013, target, mode=mode)
        ok = np.isfinite(guess) & np.isfinite(truth)
        errors[mode] = float(np.sqrt(np.mean((guess[ok] - truth[ok]) ** 2)))
    assert errors["frequency"] < 0.7 * errors["previous_year"], errors


def test_modes_need_their_seasons(tmp_path):
    masks = {2019: _mask(tmp_path / "m.tif", np.ones((8, 8)))}
    target = TargetGrid("EPSG:5070", Affine(120, 0, 0, 0, -120, 240), (2, 2))
    with pytest.raises(CropcastError, match=r"mode 'frequency' for 2019 needs the mask of "
                                            r"earlier seasons; masks exist for 2019-2019"):
        crop_fraction(masks, 2019, target)
    with pytest.raises(CropcastError, match=r"mode must be one of"):
        crop_fraction(masks, 2019, target, mode="latest")


def test_mask_in_another_crs_is_projected_onto_the_target(tmp_path):
    # The same 8x8 mask in EPSG:5070, aggregated onto a lon/lat grid that covers it.
    masks = {2019: _mask(tmp_path / "m.tif", np.ones((8, 8)))}
    from rasterio.warp import transform_bounds

    west, south, east, north = transform_bounds("EPSG:5070", "EPSG:4326", 0, 0, 240, 240)
    target = TargetGrid("EPSG:4326", Affine((east - west) / 2 + 1e-9, 0, west, 0,
                                            -(north - south) / 2 - 1e-9, north), (2, 2))
    fraction = crop_fraction(masks, 2019, target, mode="same_year")
    assert np.nanmax(fraction) == 1.0 and np.isfinite(fraction).sum() >= 1


def test_corrupt_mask(tmp_path):
    (tmp_path / "m.tif").write_bytes(b"II*\x00nope")
    target = TargetGrid("EPSG:5070", Affine(120, 0, 0, 0, -120, 240), (2, 2))
    with pytest.raises(CropcastError, match=r"m\.tif: cannot be opened as a crop mask"):
        crop_fraction({2019: str(tmp_path / "m.tif")}, 2019, target, mode="same_year")


def test_mask_nodata_other_than_zero_is_not_land(tmp_path):
    codes = np.full((8, 8), 255)
    codes[:4, :4] = 1
    path = tmp_path / "m.tif"
    with rasterio.open(path, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8",
                       crs="EPSG:5070", nodata=255, transform=MASK_TRANSFORM) as dst:
        dst.write(codes.astype(np.uint8), 1)
    target = TargetGrid("EPSG:5070", Affine(120, 0, 0, 0, -120, 240), (2, 2))
    fraction = crop_fraction({2019: str(path)}, 2019, target, mode="same_year")
    assert fraction[0, 0] == 1.0 and np.isnan(fraction[0, 1]) and np.isnan(fraction[1, 1])
