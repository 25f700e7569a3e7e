"""What a simulated world is: its settings, their validation, and its identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from cropcast.errors import CropcastError

__all__ = ["GENERATOR_VERSION", "STATE_FIPS", "WorldSpec"]

# Bump when the generator's output changes for the same settings: worlds made by another
# version then land in a new folder instead of being reused.
GENERATOR_VERSION = 5

# USPS code -> (state FIPS, NASS upper-case name) for the 50 states and DC.
STATE_FIPS: dict[str, tuple[str, str]] = {
    "AL": ("01", "ALABAMA"), "AK": ("02", "ALASKA"), "AZ": ("04", "ARIZONA"),
    "AR": ("05", "ARKANSAS"), "CA": ("06", "CALIFORNIA"), "CO": ("08", "COLORADO"),
    "CT": ("09", "CONNECTICUT"), "DE": ("10", "DELAWARE"),
    "DC": ("11", "DISTRICT OF COLUMBIA"), "FL": ("12", "FLORIDA"), "GA": ("13", "GEORGIA"),
    "HI": ("15", "HAWAII"), "ID": ("16", "IDAHO"), "IL": ("17", "ILLINOIS"),
    "IN": ("18", "INDIANA"), "IA": ("19", "IOWA"), "KS": ("20", "KANSAS"),
    "KY": ("21", "KENTUCKY"), "LA": ("22", "LOUISIANA"), "ME": ("23", "MAINE"),
    "MD": ("24", "MARYLAND"), "MA": ("25", "MASSACHUSETTS"), "MI": ("26", "MICHIGAN"),
    "MN": ("27", "MINNESOTA"), "MS": ("28", "MISSISSIPPI"), "MO": ("29", "MISSOURI"),
    "MT": ("30", "MONTANA"), "NE": ("31", "NEBRASKA"), "NV": ("32", "NEVADA"),
    "NH": ("33", "NEW HAMPSHIRE"), "NJ": ("34", "NEW JERSEY"), "NM": ("35", "NEW MEXICO"),
    "NY": ("36", "NEW YORK"), "NC": ("37", "NORTH CAROLINA"), "ND": ("38", "NORTH DAKOTA"),
    "OH": ("39", "OHIO"), "OK": ("40", "OKLAHOMA"), "OR": ("41", "OREGON"),
    "PA": ("42", "PENNSYLVANIA"), "RI": ("44", "RHODE ISLAND"),
    "SC": ("45", "SOUTH CAROLINA"), "SD": ("46", "SOUTH DAKOTA"), "TN": ("47", "TENNESSEE"),
    "TX": ("48", "TEXAS"), "UT": ("49", "UTAH"), "VT": ("50", "VERMONT"),
    "VA": ("51", "VIRGINIA"), "WA": ("53", "WASHINGTON"), "WV": ("54", "WEST VIRGINIA"),
    "WI": ("55", "WISCONSIN"), "WY": ("56", "WYOMING"),
}

# MODIS composites start on fixed days of the year: 16-day ones on 1, 17, 33, ...,
# 8-day ones on 1, 9, 17, ...
_NDVI_STEP, _REFLECTANCE_STEP = 16, 8


def _fail(setting: str, got: object, allowed: str, hint: str = "") -> CropcastError:
    message = f"world.{setting} must be {allowed}; got {got!r}"
    return CropcastError(f"{message}. {hint}" if hint else message)


@dataclass(frozen=True)
class WorldSpec:
    """Settings of a simulated world; validated on construction.

    Parameters
    ----------
    seed : int
        Seed of every random draw: the same spec gives the same bytes.
    states : list of str
        USPS codes of the states whose counties make the world (e.g. ``["IA", "IL"]``).
    first_year, last_year : int
        Seasons simulated, inclusive.
    resolution_m : float
        Nominal MODIS resolution in metres: a sinusoidal tile holds
        ``round(1_200_000 / resolution_m)`` pixels a side (250 -> 4800, the real MOD13Q1).
    cropmask_resolution_m : float or None
        CDL-like mask pixel size on EPSG:5070; ``None`` picks a multiple of 30 m near a
        quarter of the imagery pixel. Must be finer than the imagery.
    weather_resolution_deg : float
        Spacing of the gridMET-like weather grid in degrees.
    ndvi_first_doy, ndvi_last_doy : int
        First days of the first and last 16-day NDVI composites written each season
        (on the MODIS calendar 1, 17, 33, ...).
    reflectance_first_doy, reflectance_last_doy : int
        The same for the 8-day red/NIR composites (calendar 1, 9, 17, ...).
    heat_years, drought_years : list of int
        Seasons forced to carry a July heat wave / a summer drought.
    """

    seed: int = 20240601
    states: list[str] = field(default_factory=lambda: ["IA", "IL", "IN"])
    first_year: int = 2008
    last_year: int = 2024
    resolution_m: float = 1000.0
    cropmask_resolution_m: float | None = None
    weather_resolution_deg: float = 0.25
    ndvi_first_doy: int = 129
    ndvi_last_doy: int = 273
    reflectance_first_doy: int = 185
    reflectance_last_doy: int = 209
    heat_years: list[int] = field(default_factory=lambda: [2012])
    drought_years: list[int] = field(default_factory=lambda: [2012])

    def __post_init__(self) -> None:
        states = self.states.split(",") if isinstance(self.states, str) else self.states
        object.__setattr__(self, "states", [str(s).strip().upper() for s in states])
        unknown = [s for s in self.states if s not in STATE_FIPS]
        if not self.states or unknown:
            raise _fail(
                "states", list(self.states) if not unknown else unknown,
                "a non-empty list of USPS state codes", f"Allowed: {', '.join(STATE_FIPS)}.",
            )
        if len(set(self.states)) != len(self.states):
            raise _fail("states", self.states, "a list without repeats")
        for name in ("seed", "first_year", "last_year"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise _fail(name, getattr(self, name), "an integer")
        if self.seed < 0:
            raise _fail("seed", self.seed, "an integer >= 0")
        if not 1980 <= self.first_year <= self.last_year <= 2100:
            raise _fail(
                "first_year/last_year", (self.first_year, self.last_year),
                "a non-empty range of years within 1980-2100 (first_year <= last_year)",
            )
        if not _positive(self.resolution_m) or round(1_200_000 / self.resolution_m) < 1:
            raise _fail("resolution_m", self.resolution_m, "a number of metres in (0, 1200000]",
                        "Use 250 for the real MOD13Q1 grid, 1000 for a fast world.")
        if not _positive(self.weather_resolution_deg) or self.weather_resolution_deg > 2:
            raise _fail("weather_resolution_deg", self.weather_resolution_deg,
                        "a number of degrees in (0, 2]")
        if self.cropmask_resolution_m is not None and (
            not _positive(self.cropmask_resolution_m)
            or self.cropmask_resolution_m >= self.pixel_size_m
        ):
            raise _fail("cropmask_resolution_m", self.cropmask_resolution_m,
                        f"null or a number of metres in (0, {self.pixel_size_m:.2f}), finer "
                        "than the imagery pixel")
        self._check_doys("ndvi", _NDVI_STEP)
        self._check_doys("reflectance", _REFLECTANCE_STEP)
        for name in ("heat_years", "drought_years"):
            values = getattr(self, name)
            values = [values] if isinstance(values, int) else values
            if any(not isinstance(y, int) for y in values):
                raise _fail(name, values, "a list of integer years")
            object.__setattr__(self, name, sorted(values))

    def _check_doys(self, product: str, step: int) -> None:
        first, last = getattr(self, f"{product}_first_doy"), getattr(self, f"{product}_last_doy")
        on_calendar = {1 + step * k for k in range(366 // step + 1)}
        for doy in (first, last):
            if doy not in on_calendar or doy + step - 1 > 365:
                raise _fail(
                    f"{product}_first_doy/{product}_last_doy", doy,
                    f"a window start on the MODIS {step}-day calendar (1, {1 + step}, "
                    f"{1 + 2 * step}, ...) whose window ends by day 365",
                )
        if first > last:
            raise _fail(f"{product}_first_doy/{product}_last_doy", (first, last),
                        "ordered first <= last")

    # Derived quantities -------------------------------------------------------------

    @property
    def years(self) -> list[int]:
        """The simulated seasons."""
        return list(range(self.first_year, self.last_year + 1))

    @property
    def pixels_per_tile(self) -> int:
        """Imagery pixels along one side of a MODIS sinusoidal tile."""
        return max(1, round(1_200_000 / self.resolution_m))

    @property
    def pixel_size_m(self) -> float:
        """Imagery pixel size on the sinusoidal grid, in metres."""
        from cropcast.features.world.grids import MODIS_TILE_SIZE

        return MODIS_TILE_SIZE / self.pixels_per_tile

    @property
    def cropmask_pixel_m(self) -> float:
        """Crop-mask pixel size in metres (resolved when set to ``None``)."""
        if self.cropmask_resolution_m is not None:
            return float(self.cropmask_resolution_m)
        return 30.0 * max(1, round(self.pixel_size_m / 4 / 30))

    @property
    def state_fips(self) -> list[str]:
        """State FIPS codes of ``states``, in the same order."""
        return [STATE_FIPS[s][0] for s in self.states]

    def identity(self) -> dict:
        """Everything that determines the world's bytes (and so its folder)."""
        return {"generator_version": GENERATOR_VERSION, **asdict(self)}

    def digest(self) -> str:
        """A short content hash of :meth:`identity`."""
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    def folder_name(self) -> str:
        """A readable, unique folder name, e.g. ``IA-IL-IN_2008-2024_1000m_3f2a...``."""
        return (f"{'-'.join(self.states)}_{self.first_year}-{self.last_year}_"
                f"{self.resolution_m:g}m_{self.digest()}")


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
