"""Download a USDA NASS Quick Stats API query to a local JSON file.

A small client over the standard library's ``urllib``: it asks ``get_counts`` how many
rows a query matches, fetches them with ``api_GET`` (splitting the query by year when it
is larger than one request may be), retries rate-limited and failing requests with
exponential backoff, and writes every record as ``{"data": [...]}`` to one file, the
shape the API itself answers and the project's Quick Stats reader parses.

The API key comes from the caller or from an environment variable, never from a config;
it is sent to the API only, and never appears in an error message or the output file.
Get a key at https://quickstats.nass.usda.gov/api.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from numbers import Integral
from pathlib import Path

from cropcast.atomic import write_text_atomic
from cropcast.checks import check_int
from cropcast.errors import CropcastError

__all__ = ["KEY_URL", "fetch_quickstats"]

KEY_URL = "https://quickstats.nass.usda.gov/api"
OPERATORS = ("GE", "GT", "LE", "LT", "LIKE", "NOT_LIKE", "NE")
RETRY_AFTER_CAP_SECONDS = 60.0
# Years outside this span hold no Quick Stats data; year bounds are clamped to it so that
# a split by year never asks for thousands of empty years.
FIRST_YEAR = 1850
_YEAR_BOUNDS = ("year", "year__GE", "year__GT", "year__LE", "year__LT")
_RESERVED = ("key", "format")
_TEXT_LIMIT = 300

# Indirection so that tests can observe the delays without sleeping.
_sleep = time.sleep


class _TooManyRows(Exception):
    """The API answered HTTP 413: the request matches more rows than it serves at once."""


def fetch_quickstats(query: dict[str, str | int], out_path: Path, *, api_key: str | None = None,
                     api_key_env: str = "NASS_API_KEY",
                     base_url: str = "https://quickstats.nass.usda.gov/api",
                     max_rows: int = 50_000, timeout: float = 60.0, retries: int = 3,
                     backoff_seconds: float = 2.0, progress: bool = False) -> Path:
    """Download the records matching a Quick Stats query to ``out_path`` as JSON.

    The query is first counted with ``get_counts``. When it matches more than
    ``max_rows`` rows, or the API refuses it with HTTP 413 (too many rows), it is split
    into one request per year: the years are ``year`` when given, else the range from
    ``year__GE``/``year__GT`` to ``year__LE``/``year__LT`` (the upper bound defaults to
    the current year). Rate limiting (HTTP 429) and server errors (5xx) and dropped
    connections are retried with exponential backoff.

    The file is written only when every record has arrived, through a temporary file in
    the same folder that is renamed into place: a failed or interrupted download never
    leaves a partial file at ``out_path`` (an existing file there is kept untouched).

    Parameters
    ----------
    query : dict of str to str or int
        Quick Stats parameters, e.g. ``{"commodity_desc": "CORN", "statisticcat_desc":
        "YIELD", "agg_level_desc": "COUNTY", "state_alpha": "IA", "year__GE": 2000}``.
        Names are the API's lower-case column names, optionally with an operator suffix
        (``__GE __GT __LE __LT __LIKE __NOT_LIKE __NE``). Text values are sent upper-case.
        ``key`` and ``format`` are set by this function and may not appear.
    out_path : Path
        The JSON file to write, ``{"data": [record, ...]}``. Name it ``*.json`` for the
        project's Quick Stats reader. Missing parent folders are created.
    api_key : str, optional
        The Quick Stats API key. By default it is read from the environment variable
        named by ``api_key_env``.
    api_key_env : str, default "NASS_API_KEY"
        The environment variable holding the key when ``api_key`` is not given.
    base_url : str, default "https://quickstats.nass.usda.gov/api"
        The API root; ``/get_counts/`` and ``/api_GET/`` are appended.
    max_rows : int, default 50_000
        The most rows fetched in one request (the API serves at most 50,000).
    timeout : float, default 60.0
        Seconds to wait for each response.
    retries : int, default 3
        How many times a rate-limited (429), failed (5xx) or dropped request is repeated
        before giving up; a request is therefore sent at most ``retries + 1`` times.
    backoff_seconds : float, default 2.0
        The wait before the first retry, doubled for each further one (capped at 60 s).
        A ``Retry-After`` header in seconds takes precedence (also capped at 60 s).
    progress : bool, default False
        Show a progress bar over the year requests when the query is split.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    CropcastError
        A bad argument, a missing or refused key, a query that matches no rows or that
        cannot be split small enough, an HTTP error from the API, retries exhausted, or
        an output file that cannot be written.
    """
    _check_options(api_key_env=api_key_env, base_url=base_url, max_rows=max_rows,
                   timeout=timeout, retries=retries, backoff_seconds=backoff_seconds)
    out_path = _check_out_path(out_path)
    params = _normalise_query(query)
    key = _resolve_key(api_key, api_key_env)
    client = _Client(base_url=base_url.rstrip("/"), key=key, key_env=api_key_env,
                     timeout=float(timeout), retries=retries,
                     backoff_seconds=float(backoff_seconds))

    count = client.count(params)
    if count == 0:
        raise CropcastError(
            f"no rows match the Quick Stats query {_describe(params)}: get_counts answered "
            "0. Check the parameter values (text as NASS spells it, e.g. "
            "commodity_desc='CORN', statisticcat_desc='YIELD', state_alpha='IA') and the "
            "year range, e.g. in the Quick Stats web interface.")
    if count > max_rows:
        reason = f"it matches {count:,} rows, more than max_rows={max_rows:,}"
        records = _fetch_by_year(client, params, max_rows=max_rows, reason=reason,
                                 progress=progress)
    else:
        try:
            records = client.data(params)
        except _TooManyRows:
            reason = (f"the API refused it as too many rows (HTTP 413) although get_counts "
                      f"answered {count:,}")
            records = _fetch_by_year(client, params, max_rows=max_rows, reason=reason,
                                     progress=progress)
    _write_atomic(out_path, records)
    return out_path


# --------------------------------------------------------------------------- validation


def _check_options(*, api_key_env: str, base_url: str, max_rows: int, timeout: float,
                   retries: int, backoff_seconds: float) -> None:
    """Refuse option values that cannot work, naming the option and what is allowed."""
    if not isinstance(api_key_env, str) or not api_key_env.strip():
        raise CropcastError(
            f"api_key_env must name an environment variable, got {api_key_env!r}; "
            "pass e.g. api_key_env='NASS_API_KEY'.")
    parsed = urllib.parse.urlsplit(base_url) if isinstance(base_url, str) else None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CropcastError(
            f"base_url must be an http(s) URL such as {KEY_URL!r}, got {base_url!r}; "
            "pass the Quick Stats API root without a query string.")
    if parsed.query or parsed.fragment:
        raise CropcastError(
            f"base_url must not carry a query string or fragment, got {base_url!r}; "
            f"pass the API root (e.g. {KEY_URL!r}) and the parameters in query.")
    check_int(max_rows, "max_rows", 1, hint="the API serves at most 50,000 rows per request, "
                                            "so pass e.g. max_rows=50000")
    check_int(retries, "retries", 0, hint="pass e.g. retries=3")
    if not _is_number(timeout) or not timeout > 0:
        raise CropcastError(
            f"timeout must be a positive number of seconds, got {timeout!r}; "
            "pass e.g. timeout=60.")
    if not _is_number(backoff_seconds) or not 0 <= backoff_seconds < float("inf"):
        raise CropcastError(
            f"backoff_seconds must be a finite number of seconds >= 0, got "
            f"{backoff_seconds!r}; pass e.g. backoff_seconds=2 (0 retries at once).")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_out_path(out_path: Path) -> Path:
    """``out_path`` as a Path that is not a folder."""
    if not isinstance(out_path, str | os.PathLike) or not str(out_path):
        raise CropcastError(
            f"out_path must be a file path, got {out_path!r}; pass e.g. "
            "Path('nass/corn_yield.json').")
    path = Path(out_path)
    if path.is_dir():
        raise CropcastError(
            f"out_path {str(path)!r} is a folder; pass the path of the JSON file to write "
            f"inside it, e.g. {str(path / 'quickstats.json')!r}.")
    return path


def _normalise_query(query: Mapping[str, str | int]) -> dict[str, str]:
    """The query as the API expects it: text values upper-case, operators upper-case."""
    if not isinstance(query, Mapping):
        raise CropcastError(
            f"query must be a dict of Quick Stats parameters, got {type(query).__name__} "
            f"{query!r}; pass e.g. {{'commodity_desc': 'CORN', 'year__GE': 2000}}.")
    if not query:
        raise CropcastError(
            "query is empty: it would ask for the whole Quick Stats database; add "
            "parameters such as {'commodity_desc': 'CORN', 'statisticcat_desc': 'YIELD', "
            "'state_alpha': 'IA', 'year__GE': 2000}.")
    params: dict[str, str] = {}
    for name, value in query.items():
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise CropcastError(
                f"query parameter names must be non-empty text without surrounding spaces, "
                f"got {name!r}; use Quick Stats column names such as 'commodity_desc'.")
        column, sep, operator = name.partition("__")
        if sep:
            if not column or operator.upper() not in OPERATORS:
                allowed = ", ".join(f"__{op}" for op in OPERATORS)
                raise CropcastError(
                    f"query parameter {name!r} has an unknown operator {'__' + operator!r}; "
                    f"allowed operators are {allowed} (e.g. 'year__GE').")
            name = f"{column}__{operator.upper()}"
        if column.lower() in _RESERVED:
            raise CropcastError(
                f"query parameter {name!r} is not allowed: fetch_quickstats sets 'key' "
                "(from api_key or the api_key_env environment variable) and 'format' "
                "(JSON) itself; remove it from the query.")
        if isinstance(value, bool) or not isinstance(value, str | Integral):
            raise CropcastError(
                f"query parameter {name!r} must be text or a whole number, got "
                f"{type(value).__name__} {value!r}; pass e.g. 'CORN' or 2000.")
        text = value.strip().upper() if isinstance(value, str) else str(int(value))
        if name in params:
            raise CropcastError(
                f"query parameter {name!r} is given twice (names differ only in the case "
                "of the operator); keep one of them.")
        params[name] = text
    return params


def _resolve_key(api_key: str | None, api_key_env: str) -> str:
    """The API key from the argument or the environment; never echoed anywhere."""
    if api_key is not None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise CropcastError(
                f"api_key is empty or not text (type {type(api_key).__name__}); pass the "
                f"Quick Stats API key, or leave api_key=None and set the environment "
                f"variable {api_key_env}. Get a free key at {KEY_URL}.")
        return api_key.strip()
    key = os.environ.get(api_key_env, "").strip()
    if not key:
        raise CropcastError(
            f"no USDA NASS Quick Stats API key: the environment variable {api_key_env} is "
            f"not set or empty. Get a free key at {KEY_URL} and set it, e.g. "
            f"`export {api_key_env}=YOUR-KEY`, or pass api_key=... (never put the key in a "
            "config file, which gets logged).")
    return key


def _describe(params: Mapping[str, str]) -> str:
    """The query for messages: parameters only, never the key."""
    return "{" + ", ".join(f"{name}={value!r}" for name, value in params.items()) + "}"


# ----------------------------------------------------------------------------- splitting


def _year_values(params: Mapping[str, str], reason: str) -> list[int]:
    """The years a query covers, to request one by one."""
    described = _describe(params)
    advice = ("add state_alpha (one request per state) or narrow the query with more "
              "parameters")

    def integer(name: str) -> int:
        try:
            return int(params[name])
        except ValueError:
            raise CropcastError(
                f"query parameter {name}={params[name]!r} is not a whole year; pass a "
                f"year such as {name}=2000 to split the query {described} by year."
            ) from None

    if "year" in params:
        year = integer("year")
        raise CropcastError(
            f"the Quick Stats query {described} cannot be fetched in one request: {reason}, "
            f"and it already asks for a single year ({year}); {advice}, e.g. split it into "
            "one query per state_alpha.")
    if "year__GE" in params:
        first = integer("year__GE")
    elif "year__GT" in params:
        first = integer("year__GT") + 1
    else:
        raise CropcastError(
            f"the Quick Stats query {described} is too large for one request: {reason}. "
            "It would be split into one request per year, but it has no year bounds; add "
            "year__GE and year__LE (e.g. 'year__GE': 2000, 'year__LE': 2024) to the query.")
    this_year = dt.date.today().year
    if "year__LE" in params:
        last = integer("year__LE")
    elif "year__LT" in params:
        last = integer("year__LT") - 1
    else:
        last = this_year
    first, last = max(first, FIRST_YEAR), min(last, this_year + 1)
    if first > last:
        raise CropcastError(
            f"the year bounds of the Quick Stats query {described} select no year between "
            f"{FIRST_YEAR} and {this_year + 1}; fix year__GE/year__LE.")
    return list(range(first, last + 1))


def _fetch_by_year(client: _Client, params: Mapping[str, str], *, max_rows: int, reason: str,
                   progress: bool) -> list[dict]:
    """Every record of the query, fetched one year at a time (get_counts, then api_GET)."""
    years = _year_values(params, reason)
    base = {name: value for name, value in params.items() if name not in _YEAR_BOUNDS}
    records: list[dict] = []
    for year in _progress(years, progress):
        chunk = {**base, "year": str(year)}
        count = client.count(chunk)
        if count == 0:
            continue
        if count > max_rows:
            raise CropcastError(
                f"the Quick Stats query {_describe(chunk)} matches {count:,} rows in a "
                f"single year, more than max_rows={max_rows:,}; split it by state: add "
                "state_alpha (e.g. 'state_alpha': 'IA') and fetch one state per file.")
        try:
            records.extend(client.data(chunk))
        except _TooManyRows:
            raise CropcastError(
                f"the API refused the Quick Stats query {_describe(chunk)} as too many rows "
                f"(HTTP 413) although it is a single year with {count:,} rows; split it by "
                "state: add state_alpha (e.g. 'state_alpha': 'IA'), or lower max_rows."
            ) from None
    return records


def _progress(years: list[int], progress: bool) -> Iterable[int]:
    if not progress:
        return years
    from tqdm.auto import tqdm

    return tqdm(years, desc="NASS Quick Stats", unit="year")


# ---------------------------------------------------------------------------------- HTTP


class _Client:
    """GET requests to the Quick Stats API with retries; knows the key, never shows it."""

    def __init__(self, *, base_url: str, key: str, key_env: str, timeout: float,
                 retries: int, backoff_seconds: float) -> None:
        self.base_url = base_url
        self.key = key
        self.key_env = key_env
        self.timeout = timeout
        self.retries = int(retries)
        self.backoff_seconds = backoff_seconds

    def count(self, params: Mapping[str, str]) -> int:
        """Rows matching the query, from ``get_counts``."""
        payload = self._get("get_counts", params)
        count = payload.get("count") if isinstance(payload, dict) else None
        if isinstance(count, str) and count.strip().replace(",", "").isdigit():
            count = int(count.strip().replace(",", ""))
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise CropcastError(
                f"get_counts answered {self._clip(json.dumps(payload))} for the Quick Stats "
                f"query {_describe(params)}, expected {{\"count\": N}}; check base_url "
                f"({self.base_url!r}) points at the Quick Stats API ({KEY_URL}).")
        return count

    def data(self, params: Mapping[str, str]) -> list[dict]:
        """The records of the query, from ``api_GET`` in JSON."""
        payload = self._get("api_GET", {"format": "JSON", **params})
        records = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise CropcastError(
                f"api_GET answered {self._clip(json.dumps(payload))} for the Quick Stats "
                f"query {_describe(params)}, expected {{\"data\": [records...]}}; check "
                f"base_url ({self.base_url!r}) points at the Quick Stats API ({KEY_URL}).")
        return records

    def _get(self, endpoint: str, params: Mapping[str, str]) -> object:
        """One JSON answer, retrying 429, 5xx and dropped connections."""
        query = urllib.parse.urlencode([("key", self.key), *params.items()],
                                       quote_via=urllib.parse.quote)
        url = f"{self.base_url}/{endpoint}/?{query}"
        request = urllib.request.Request(
            url, headers={"Accept": "application/json", "User-Agent": "cropcast"})
        shown = {name: value for name, value in params.items() if name != "format"}
        attempts = self.retries + 1
        for attempt in range(attempts):
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                with exc:
                    status = exc.code
                    text = self._error_text(exc)
                    retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if status == 413:
                    raise _TooManyRows() from None
                if status != 429 and not 500 <= status <= 599:
                    raise self._http_error(endpoint, shown, status, text) from None
                problem = f"HTTP {status}" + (f" ({text})" if text else "")
            except (OSError, http.client.HTTPException) as exc:
                # Connection refused or dropped, timeout, truncated body. The exception
                # text never holds the URL (so never the key).
                problem = self._redact(f"{type(exc).__name__}: {exc}")
            else:
                return self._decode(endpoint, shown, body)
            if attempt + 1 < attempts:
                _sleep(self._delay(attempt, retry_after))
        raise CropcastError(
            f"the Quick Stats API {endpoint} request for {_describe(shown)} failed "
            f"{attempts} time(s) (retries={self.retries}), last with {problem}. The API is "
            "rate limiting (429), unavailable (5xx) or unreachable; wait and try again, or "
            "pass larger retries/backoff_seconds.")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before the next try: Retry-After when given, else exponential backoff."""
        if retry_after is not None:
            try:
                seconds = float(retry_after.strip())
            except ValueError:
                seconds = None  # an HTTP date: fall back to the backoff
            if seconds is not None and seconds >= 0:
                return min(seconds, RETRY_AFTER_CAP_SECONDS)
        return min(self.backoff_seconds * 2.0 ** attempt, RETRY_AFTER_CAP_SECONDS)

    def _decode(self, endpoint: str, shown: Mapping[str, str], body: bytes) -> object:
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            text = self._clip(body.decode("utf-8", errors="replace"))
            raise CropcastError(
                f"the Quick Stats API {endpoint} answer for {_describe(shown)} is not JSON: "
                f"{text!r}; check base_url ({self.base_url!r}) points at the Quick Stats API "
                f"({KEY_URL}).") from None

    def _error_text(self, exc: urllib.error.HTTPError) -> str:
        """The API's error text, e.g. from ``{"error": ["bad request - invalid query"]}``."""
        try:
            body = exc.read()
        except (OSError, http.client.HTTPException):
            return ""
        text = body.decode("utf-8", errors="replace").strip()
        try:
            payload = json.loads(text)
        except json.JSONDecodeError:
            payload = None
        if isinstance(payload, dict) and "error" in payload:
            error = payload["error"]
            text = "; ".join(map(str, error)) if isinstance(error, list) else str(error)
        return self._clip(text)

    def _http_error(self, endpoint: str, shown: Mapping[str, str], status: int,
                    text: str) -> CropcastError:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        said = f", saying {text!r}" if text else ""
        if status in (401, 403):
            fix = (f"the API key was refused; check the key in {self.key_env} (or api_key) "
                   f"and get a new one at {KEY_URL} if needed.")
        elif status == 400:
            fix = ("check the parameter names (Quick Stats column names such as "
                   "commodity_desc, state_alpha, year, with operators __GE __GT __LE __LT "
                   "__LIKE __NOT_LIKE __NE) and their values.")
        elif status == 404:
            fix = f"check base_url ({self.base_url!r}); the API root is {KEY_URL}."
        else:
            fix = "check the query and base_url."
        return CropcastError(
            f"the Quick Stats API answered HTTP {status} ({phrase}) to the {endpoint} request "
            f"for {_describe(shown)}{said}; {fix}")

    def _redact(self, text: str) -> str:
        return text.replace(self.key, "***")

    def _clip(self, text: str) -> str:
        text = self._redact(" ".join(text.split()))
        return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "..."


# -------------------------------------------------------------------------------- output


def _write_atomic(out_path: Path, records: list[dict]) -> None:
    """Write ``{"data": records}`` through a temporary file renamed into place."""
    try:
        write_text_atomic(out_path, json.dumps({"data": records}) + "\n")
    except OSError as exc:
        raise CropcastError(
            f"cannot write the Quick Stats download to {str(out_path)!r}: {exc}; choose "
            "a writable out_path with enough free space.") from None
