"""fetch_quickstats against a local fake of the Quick Stats API (127.0.0.1 only)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cropcast import atomic
from cropcast.errors import CropcastError
from cropcast.features.sources import nass_api
from cropcast.features.sources.nass_api import fetch_quickstats

KEY = "s3cr3t-KEY-0123456789"
STATES = (("IA", "19", "IOWA"), ("IL", "17", "ILLINOIS"))
COUNTIES = ("001", "003", "005")
YEARS = range(2000, 2005)


def _record(year: int, state: tuple[str, str, str], county: str, commodity: str,
            statistic: str, value: str) -> dict:
    alpha, fips, name = state
    unit = "BU / ACRE" if statistic == "YIELD" else "ACRES"
    return {
        "source_desc": "SURVEY", "sector_desc": "CROPS", "commodity_desc": commodity,
        "statisticcat_desc": statistic, "agg_level_desc": "COUNTY",
        "short_desc": f"{commodity} - {statistic}, MEASURED IN {unit}",
        "state_alpha": alpha, "state_fips_code": fips, "state_name": name,
        "county_code": county, "county_name": f"COUNTY {county}", "year": year,
        "reference_period_desc": "YEAR", "load_time": "2024-02-23 15:00:00.000",
        "Value": value, "CV (%)": "(L)" if county == "005" else "5.1",
    }


def _records() -> list[dict]:
    """39 records, year-major: CORN YIELD for 2 states x 3 counties x 5 years, and more."""
    out = []
    for year in YEARS:
        for state in STATES:
            for i, county in enumerate(COUNTIES):
                out.append(_record(year, state, county, "CORN", "YIELD",
                                   f"{150 + year - 2000 + i}.{i}"))
            if state[0] == "IA" and year <= 2001:
                for county in COUNTIES:
                    out.append(_record(year, state, county, "CORN", "AREA HARVESTED",
                                       "87,230"))
            if state[0] == "IA" and year == 2000:
                for county in COUNTIES:
                    out.append(_record(year, state, county, "SOYBEANS", "YIELD", "(D)"))
    return out


RECORDS = _records()


def matching(**filters) -> list[dict]:
    """The records the tests expect, filtered independently of the fake server."""
    first, last = filters.pop("first", None), filters.pop("last", None)
    return [r for r in RECORDS
            if all(r[k] == v for k, v in filters.items())
            and (first is None or r["year"] >= first) and (last is None or r["year"] <= last)]


class FakeQuickStats:
    """The two endpoints over RECORDS, with knobs for the API's failure modes."""

    def __init__(self) -> None:
        self.key = KEY
        self.data_limit: int | None = None  # api_GET above this many rows -> 413
        self.rate_limit_first = 0  # the first N requests -> 429
        self.retry_after: str | None = "0"
        self.fail_first = 0  # the first N requests -> 503
        self.fail_data_years: set[str] = set()  # api_GET for these years -> 500
        self.drop_data_years: set[str] = set()  # api_GET for these years -> connection closed
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.url = ""

    def endpoint_calls(self, endpoint: str) -> list[dict[str, str]]:
        return [params for path, params in self.requests if path == endpoint]

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        params = dict(pairs)
        endpoint = split.path.removeprefix("/api/").strip("/")
        with self.lock:
            self.requests.append((endpoint, dict(params)))
            number = len(self.requests)
        if endpoint not in ("get_counts", "api_GET") or len(pairs) != len(params):
            return self.send(handler, 404, {"error": ["not found"]})
        if number <= self.rate_limit_first:
            headers = {} if self.retry_after is None else {"Retry-After": self.retry_after}
            return self.send(handler, 429, {"error": ["too many requests"]}, headers)
        if number <= self.fail_first:
            return self.send(handler, 503, {"error": ["service unavailable"]})
        if params.pop("key", None) != self.key:
            return self.send(handler, 401, {"error": ["unauthorized"]})
        if endpoint == "api_GET":
            if params.pop("format", None) != "JSON":
                return self.send(handler, 400, {"error": ["bad request - invalid format"]})
            year = params.get("year")
            if year in self.drop_data_years:
                handler.close_connection = True
                return None
            if year in self.fail_data_years:
                return self.send(handler, 500, {"error": ["internal server error"]})
        try:
            rows = [r for r in RECORDS if self.matches(r, params)]
        except KeyError:
            return self.send(handler, 400, {"error": ["bad request - invalid query"]})
        if endpoint == "get_counts":
            return self.send(handler, 200, {"count": len(rows)})
        if self.data_limit is not None and len(rows) > self.data_limit:
            return self.send(handler, 413, {"error": ["exceeds limit"]})
        return self.send(handler, 200, {"data": rows})

    @staticmethod
    def matches(record: dict, params: dict[str, str]) -> bool:
        for name, value in params.items():
            column, _, operator = name.partition("__")
            if column not in RECORDS[0]:
                raise KeyError(name)
            have = record[column]
            if operator == "GE" and not int(have) >= int(value):
                return False
            if operator == "LE" and not int(have) <= int(value):
                return False
            if operator == "" and str(have) != value:
                return False
            if operator not in ("", "GE", "LE"):
                raise KeyError(name)
        return True

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, payload: dict,
             headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture(autouse=True)
def local_only(monkeypatch):
    """No proxy, no key from the real environment, and connections to 127.0.0.1 only."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("NASS_API_KEY", raising=False)
    create_connection = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] != "127.0.0.1":
            raise RuntimeError(f"test tried to reach {address!r}")
        return create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)


@pytest.fixture
def api():
    """A FakeQuickStats served on 127.0.0.1 at a free port, shut down afterwards."""
    fake = FakeQuickStats()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # http.server's name
            fake.handle(self)

        def log_message(self, format, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the delays fetch_quickstats asks for instead of sleeping."""
    delays: list[float] = []
    monkeypatch.setattr(nass_api, "_sleep", delays.append)
    return delays


IA_CORN_YIELD = {"commodity_desc": "corn", "statisticcat_desc": "Yield",
                 "agg_level_desc": "COUNTY", "state_alpha": "ia"}


def fetch(api: FakeQuickStats, query: dict, out_path: Path, **options) -> Path:
    options = {"api_key": KEY, "base_url": api.url, "backoff_seconds": 0, "timeout": 10,
               **options}
    return fetch_quickstats(query, out_path, **options)


def load(path: Path) -> list[dict]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert list(payload) == ["data"]
    return payload["data"]


def test_fetch_writes_exactly_the_matching_records(api, tmp_path):
    out = tmp_path / "nass" / "ia_corn_yield.json"  # the parent folder is created
    result = fetch(api, {**IA_CORN_YIELD, "year__GE": 2002}, out)
    assert result == out
    expected = matching(commodity_desc="CORN", statisticcat_desc="YIELD", state_alpha="IA",
                        first=2002)
    assert len(expected) == 9
    assert load(out) == expected
    # one count, one data request; text upper-case, operators and numbers as given
    assert [path for path, _ in api.requests] == ["get_counts", "api_GET"]
    sent = api.endpoint_calls("api_GET")[0]
    assert sent == {"key": KEY, "format": "JSON", "commodity_desc": "CORN",
                    "statisticcat_desc": "YIELD", "agg_level_desc": "COUNTY",
                    "state_alpha": "IA", "year__GE": "2002"}
    assert os.listdir(out.parent) == [out.name]  # no temporary file left beside it


def test_key_is_taken_from_the_environment_and_never_written(api, tmp_path, monkeypatch):
    monkeypatch.setenv("MY_NASS_KEY", KEY)
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year": 2003}, out, api_key=None, api_key_env="MY_NASS_KEY")
    assert len(load(out)) == 3
    assert KEY not in out.read_text(encoding="utf-8")
    assert all(params["key"] == KEY for _, params in api.requests)

    monkeypatch.setenv("NASS_API_KEY", KEY)
    with pytest.raises(CropcastError) as caught:
        fetch(api, {**IA_CORN_YIELD, "colour_desc": "RED"}, tmp_path / "bad.json",
              api_key=None)
    message = str(caught.value)
    assert "400" in message and "bad request - invalid query" in message
    assert "colour_desc" in message
    assert KEY not in message and KEY not in repr(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert not (tmp_path / "bad.json").exists()


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_key_names_the_variable_and_where_to_get_one(api, tmp_path, monkeypatch,
                                                              value):
    if value is not None:
        monkeypatch.setenv("NASS_API_KEY", value)
    with pytest.raises(CropcastError, match="NASS_API_KEY") as caught:
        fetch(api, IA_CORN_YIELD, tmp_path / "corn.json", api_key=None)
    assert "https://quickstats.nass.usda.gov/api" in str(caught.value)
    assert api.requests == []


def test_query_larger_than_max_rows_is_split_by_year(api, tmp_path, capsys):
    out = tmp_path / "corn.json"
    query = {**IA_CORN_YIELD, "year__GE": 2000, "year__LE": 2004}
    fetch(api, query, out, max_rows=5, progress=True)
    assert load(out) == matching(commodity_desc="CORN", statisticcat_desc="YIELD",
                                 state_alpha="IA")
    data_calls = api.endpoint_calls("api_GET")
    assert len(data_calls) == 5
    assert [c["year"] for c in data_calls] == ["2000", "2001", "2002", "2003", "2004"]
    assert all("year__GE" not in c and "year__LE" not in c for c in data_calls)
    assert len(api.endpoint_calls("get_counts")) == 1 + 5
    assert "NASS Quick Stats" in capsys.readouterr().err  # the progress bar


def test_split_skips_years_without_rows_and_open_upper_bound_ends_this_year(api, tmp_path):
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year__GE": 2003}, out, max_rows=5)
    assert load(out) == matching(commodity_desc="CORN", statisticcat_desc="YIELD",
                                 state_alpha="IA", first=2003)
    assert len(api.endpoint_calls("api_GET")) == 2  # 2003 and 2004; empty years skipped
    counted = [c.get("year") for c in api.endpoint_calls("get_counts")]
    assert counted[1:3] == ["2003", "2004"] and len(counted) < 100


def test_split_without_year_bounds_asks_for_them(api, tmp_path):
    with pytest.raises(CropcastError, match=r"year__GE and year__LE") as caught:
        fetch(api, IA_CORN_YIELD, tmp_path / "corn.json", max_rows=5)
    assert "15 rows" in str(caught.value) and "max_rows=5" in str(caught.value)
    assert api.endpoint_calls("api_GET") == []
    assert os.listdir(tmp_path) == []


def test_single_year_above_max_rows_suggests_state_alpha(api, tmp_path):
    query = {"commodity_desc": "CORN", "statisticcat_desc": "YIELD"}
    with pytest.raises(CropcastError, match="state_alpha"):
        fetch(api, {**query, "year": 2001}, tmp_path / "a.json", max_rows=4)
    with pytest.raises(CropcastError, match="state_alpha") as caught:
        fetch(api, {**query, "year__GE": 2000, "year__LE": 2004}, tmp_path / "b.json",
              max_rows=4)
    assert "year='2000'" in str(caught.value) and "6 rows" in str(caught.value)
    assert api.endpoint_calls("api_GET") == []
    assert os.listdir(tmp_path) == []


def test_http_413_on_a_data_request_is_handled_by_splitting(api, tmp_path):
    api.data_limit = 4
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year__GE": 2000, "year__LE": 2004}, out)
    assert load(out) == matching(commodity_desc="CORN", statisticcat_desc="YIELD",
                                 state_alpha="IA")
    data_calls = api.endpoint_calls("api_GET")
    assert len(data_calls) == 1 + 5  # the refused request, then one per year
    assert "year__GE" in data_calls[0] and [c.get("year") for c in data_calls[1:]] == [
        "2000", "2001", "2002", "2003", "2004"]


def test_http_413_that_cannot_be_split_is_an_error(api, tmp_path):
    api.data_limit = 2
    with pytest.raises(CropcastError, match=r"413.*year__GE and year__LE"):
        fetch(api, IA_CORN_YIELD, tmp_path / "a.json")
    with pytest.raises(CropcastError, match=r"413.*state_alpha"):
        fetch(api, {**IA_CORN_YIELD, "year__GE": 2000, "year__LE": 2001}, tmp_path / "b.json")
    with pytest.raises(CropcastError, match=r"single year \(2002\).*state_alpha"):
        fetch(api, {**IA_CORN_YIELD, "year": "2002"}, tmp_path / "c.json")
    assert os.listdir(tmp_path) == []


def test_http_429_is_retried_then_succeeds(api, tmp_path, no_sleep):
    api.rate_limit_first = 2
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year": 2000}, out, retries=3)
    assert len(load(out)) == 3
    assert [path for path, _ in api.requests] == ["get_counts"] * 3 + ["api_GET"]
    assert no_sleep == [0.0, 0.0]  # Retry-After: 0 honoured


def test_http_429_forever_gives_up_after_the_retries(api, tmp_path, no_sleep):
    api.rate_limit_first = 10**9
    with pytest.raises(CropcastError, match=r"429") as caught:
        fetch(api, IA_CORN_YIELD, tmp_path / "corn.json", retries=2)
    assert len(api.requests) == 1 + 2  # the first try and two retries
    assert "3 time(s)" in str(caught.value) and KEY not in str(caught.value)
    assert len(no_sleep) == 2
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("retry_after", "backoff", "expected"), [
    ("120", 0.0, [60.0, 60.0, 60.0]),  # Retry-After is capped at 60 s
    ("1.5", 10.0, [1.5, 1.5, 1.5]),  # and takes precedence over the backoff
    (None, 1.0, [1.0, 2.0, 4.0]),  # otherwise exponential backoff
    (None, 50.0, [50.0, 60.0, 60.0]),  # also capped
])
def test_retry_delays(api, tmp_path, no_sleep, retry_after, backoff, expected):
    api.rate_limit_first = 10**9
    api.retry_after = retry_after
    with pytest.raises(CropcastError, match="429"):
        fetch(api, IA_CORN_YIELD, tmp_path / "corn.json", retries=3, backoff_seconds=backoff)
    assert no_sleep == expected
    assert len(api.requests) == 4


def test_server_errors_are_retried(api, tmp_path, no_sleep):
    api.fail_first = 3
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year": 2001}, out, retries=3)
    assert len(load(out)) == 3
    assert len(api.requests) == 3 + 2


def test_wrong_key_is_an_error_naming_the_status_not_the_key(api, tmp_path):
    wrong = "wrong-key-abcdef"
    with pytest.raises(CropcastError) as caught:
        fetch(api, IA_CORN_YIELD, tmp_path / "corn.json", api_key=wrong)
    message = str(caught.value)
    assert "401" in message and "unauthorized" in message and "NASS_API_KEY" in message
    assert "commodity_desc='CORN'" in message  # the query, without its key
    assert wrong not in message and KEY not in message and "key=" not in message
    assert len(api.requests) == 1  # not retried


def test_zero_rows_is_an_error_naming_the_query(api, tmp_path):
    query = {**IA_CORN_YIELD, "year": 1990}
    with pytest.raises(CropcastError, match=r"no rows match.*year='1990'"):
        fetch(api, query, tmp_path / "corn.json")
    assert api.endpoint_calls("api_GET") == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("failure", ["500", "dropped"])
def test_interrupted_download_leaves_no_file(api, tmp_path, no_sleep, failure):
    years = {"2003"}
    if failure == "500":
        api.fail_data_years = years
    else:
        api.drop_data_years = years
    out = tmp_path / "corn.json"
    query = {**IA_CORN_YIELD, "year__GE": 2000, "year__LE": 2004}
    with pytest.raises(CropcastError, match="failed 3 time"):
        fetch(api, query, out, max_rows=5, retries=2)
    assert [c["year"] for c in api.endpoint_calls("api_GET")] == [
        "2000", "2001", "2002", "2003", "2003", "2003"]
    assert not out.exists()
    assert os.listdir(tmp_path) == []  # no stray temporary file


def test_failed_download_keeps_an_existing_file(api, tmp_path, no_sleep):
    out = tmp_path / "corn.json"
    out.write_text('{"data": ["previous"]}', encoding="utf-8")
    api.fail_data_years = {"2001"}
    with pytest.raises(CropcastError):
        fetch(api, {**IA_CORN_YIELD, "year__GE": 2000, "year__LE": 2004}, out, max_rows=5,
              retries=0)
    assert out.read_text(encoding="utf-8") == '{"data": ["previous"]}'
    assert os.listdir(tmp_path) == ["corn.json"]


def test_failed_write_removes_the_temporary_file(api, tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.os, "replace", refuse)
    out = tmp_path / "corn.json"
    with pytest.raises(CropcastError, match="cannot write"):
        fetch(api, {**IA_CORN_YIELD, "year": 2000}, out)
    assert os.listdir(tmp_path) == []


def test_unreachable_api_is_retried_then_an_error(tmp_path, no_sleep):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CropcastError, match="failed 2 time") as caught:
        fetch_quickstats(IA_CORN_YIELD, tmp_path / "corn.json", api_key=KEY,
                         base_url=f"http://127.0.0.1:{port}/api", retries=1,
                         backoff_seconds=0, timeout=5)
    assert KEY not in str(caught.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(("query", "options", "match"), [
    ({}, {}, "query is empty"),
    (["commodity_desc"], {}, "must be a dict"),
    ({"key": "abc", "year": 2000}, {}, "'key' is not allowed"),
    ({"format": "CSV"}, {}, "'format' is not allowed"),
    ({"year__BETWEEN": 2000}, {}, "unknown operator '__BETWEEN'"),
    ({"year": 2000.5}, {}, "text or a whole number"),
    ({"year": True}, {}, "text or a whole number"),
    ({"commodity_desc": "CORN"}, {"max_rows": 0}, "max_rows"),
    ({"commodity_desc": "CORN"}, {"retries": -1}, "retries"),
    ({"commodity_desc": "CORN"}, {"timeout": 0}, "timeout"),
    ({"commodity_desc": "CORN"}, {"backoff_seconds": -1}, "backoff_seconds"),
    ({"commodity_desc": "CORN"}, {"base_url": "ftp://127.0.0.1/api"}, "base_url"),
    ({"commodity_desc": "CORN"}, {"api_key": ""}, "api_key is empty"),
])
def test_bad_arguments_are_refused_before_any_request(api, tmp_path, query, options, match):
    with pytest.raises(CropcastError, match=match):
        fetch(api, query, tmp_path / "corn.json", **options)
    assert api.requests == []


def test_out_path_that_is_a_folder_is_refused(api, tmp_path):
    with pytest.raises(CropcastError, match="is a folder"):
        fetch(api, IA_CORN_YIELD, tmp_path)
    assert api.requests == []


def test_operator_case_is_normalised(api, tmp_path):
    out = tmp_path / "corn.json"
    fetch(api, {**IA_CORN_YIELD, "year__ge": 2004}, out)
    assert load(out) == matching(commodity_desc="CORN", statisticcat_desc="YIELD",
                                 state_alpha="IA", first=2004)
    assert "year__GE" in api.endpoint_calls("api_GET")[0]


def test_import_does_nothing():
    """Importing the module opens no socket, prints nothing and reads no key."""
    code = ("import socket\n"
            "def refuse(*args, **kwargs):\n"
            "    raise RuntimeError('network at import time')\n"
            "socket.socket.connect = socket.create_connection = refuse\n"
            "import cropcast.features.sources.nass_api\n")
    env = {k: v for k, v in os.environ.items() if k != "NASS_API_KEY"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
