"""How to decode an imagery product: its layers, scale and fill, quality layer and window.

A :class:`Product` is plain settings; presets for the MODIS products cover what NASA and
AppEEARS deliver as GeoTIFF, and any other product (HLS, Sentinel-2, Landsat) is the same
settings written in a data config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cropcast.checks import check_int
from cropcast.errors import CropcastError

__all__ = ["PRESETS", "Layer", "Product", "QualityLayer", "product_from_config"]


@dataclass(frozen=True)
class Layer:
    """One layer: which files hold it and how their numbers become physical values.

    Parameters
    ----------
    file : str
        The token naming the layer's files: part of the file name (folder route), the
        ``layer`` column (listing route) or the asset key (STAC route).
    band : int
        Band of the file holding the layer (1-based).
    scale, offset : float, optional
        value = raw * scale + offset. ``None`` takes the file's own scale/offset tags; a
        product whose files carry none must set them (an error says so).
    fill : float, optional
        Raw value meaning "no data"; ``None`` takes the file's nodata.
    """

    file: str
    band: int = 1
    scale: float | None = None
    offset: float | None = None
    fill: float | None = None


@dataclass(frozen=True)
class QualityLayer(Layer):
    """A quality layer: which values (of which bits) mark a good pixel.

    Parameters
    ----------
    good : list of int
        Values counted as good, after ``bits`` are extracted.
    bits : list of int, optional
        Bit positions to extract first, least significant first (e.g. ``[0, 1]`` for a
        2-bit cloud state); they need not be contiguous.
    """

    good: tuple[int, ...] = (0,)
    bits: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Product:
    """An imagery product.

    Parameters
    ----------
    name : str
        E.g. ``MOD13Q1``.
    window_days : int
        Compositing window length: a composite named by its first day was observed up to
        ``first day + window_days - 1`` (16 for MOD13Q1, 8 for MOD09Q1, 1 for scenes).
    layers : dict
        Value layers by name (e.g. ``{"NDVI": Layer(...)}`` or ``{"red": ..., "nir": ...}``).
    quality : QualityLayer, optional
        The layer that says which pixels are good.
    indices : list of str
        Spectral indices to compute from the layers with the Awesome Spectral Indices
        catalogue (``spyndex``), e.g. ``["NDVI", "EVI2"]``.
    bands : dict
        Catalogue band symbol -> layer name, e.g. ``{"R": "red", "N": "nir"}``.
    lag_days : int
        Days after the window's end before the composite is available.
    """

    name: str
    window_days: int
    layers: dict[str, Layer]
    quality: QualityLayer | None = None
    indices: tuple[str, ...] = ()
    bands: dict[str, str] = field(default_factory=dict)
    lag_days: int = 0

    def __post_init__(self) -> None:
        check_int(self.lag_days, f"product {self.name}: lag_days", 0,
                  hint="the days after the window's end before a composite is available")
        if self.quality is not None and self.quality.fill is not None and (
                self.quality.fill in self.quality.good):
            raise CropcastError(f"product {self.name}: the quality fill {self.quality.fill} is "
                                f"also a good value {list(self.quality.good)}; set quality.fill "
                                "to the value the file uses for 'no data'")
        check_int(self.window_days, f"product {self.name}: window_days", 1,
                  hint="16 for MOD13Q1, 8 for MOD09Q1, 1 for single scenes")
        if not self.layers:
            raise CropcastError(f"product {self.name}: layers is empty; name at least one")
        missing = {s: n for s, n in self.bands.items() if n not in self.layers}
        if missing:
            raise CropcastError(f"product {self.name}: bands {missing} name layers that do not "
                                f"exist; layers are {sorted(self.layers)}")
        if self.indices:
            _check_indices(self)

    def files(self) -> dict[str, Layer]:
        """Every layer by name, the quality layer as ``"quality"``."""
        return {**self.layers, **({"quality": self.quality} if self.quality else {})}


def _check_indices(product: Product) -> None:
    import spyndex

    for index in product.indices:
        if index not in spyndex.indices:
            raise CropcastError(f"product {product.name}: unknown index {index!r}; see the "
                                "Awesome Spectral Indices catalogue (spyndex.indices), e.g. "
                                "NDVI, EVI, EVI2, NIRv")
        needed = [b for b in spyndex.indices[index].bands if b not in spyndex.constants]
        lacking = [b for b in needed if b not in product.bands]
        if lacking:
            raise CropcastError(f"product {product.name}: index {index} needs bands {lacking}; "
                                f"map them to layers with bands={{symbol: layer}} (have "
                                f"{product.bands})")


PRESETS: dict[str, Product] = {
    "MOD13Q1": Product(
        name="MOD13Q1", window_days=16,
        layers={"NDVI": Layer("250m_16_days_NDVI", scale=0.0001, offset=0.0, fill=-3000)},
        quality=QualityLayer("250m_16_days_pixel_reliability", fill=-1, good=(0,)),
    ),
    "MOD09Q1": Product(
        name="MOD09Q1", window_days=8,
        layers={"red": Layer("sur_refl_b01", scale=0.0001, offset=0.0, fill=-28672),
                "nir": Layer("sur_refl_b02", scale=0.0001, offset=0.0, fill=-28672)},
        quality=QualityLayer("sur_refl_state_250m", fill=65535, good=(0,), bits=(0, 1)),
        indices=("NDVI", "EVI2"), bands={"R": "red", "N": "nir"},
    ),
}


def product_from_config(spec: str | dict | Product) -> Product:
    """A preset by name, or a product from a config mapping (layers as mappings)."""
    if isinstance(spec, Product):
        return spec
    if isinstance(spec, str):
        if spec not in PRESETS:
            raise CropcastError(f"unknown product preset {spec!r}; choose one of "
                                f"{sorted(PRESETS)} or describe the product in full")
        return PRESETS[spec]
    spec = dict(spec)
    base = PRESETS.get(spec.get("preset", ""))
    try:
        layers = {k: v if isinstance(v, Layer) else Layer(**v)
                  for k, v in spec.get("layers", {}).items()}
        quality = spec.get("quality")
        if quality is not None and not isinstance(quality, QualityLayer):
            quality = dict(quality)
            for key in ("good", "bits"):
                if quality.get(key) is not None:
                    quality[key] = tuple(quality[key])
            quality = QualityLayer(**quality)
    except TypeError as error:
        raise CropcastError(f"product {spec.get('name', '?')}: {error}; a layer takes file, "
                            "band, scale, offset, fill (quality also good, bits)") from None
    return Product(
        name=spec.get("name", base.name if base else "?"),
        window_days=spec.get("window_days", base.window_days if base else 0),
        layers=layers or (base.layers if base else {}),
        quality=quality if "quality" in spec else (base.quality if base else None),
        indices=tuple(spec.get("indices", base.indices if base else ())),
        bands=dict(spec.get("bands", base.bands if base else {})),
        lag_days=spec.get("lag_days", base.lag_days if base else 0),
    )
