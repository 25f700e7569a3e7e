"""Small Quick Stats files in all three shapes, built from the same records."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

from cropcast.features.sources.quickstats import API_COLUMNS

API_KEYS = list(API_COLUMNS)
WEB_HEADER = ["Program", "Year", "Period", "Week Ending", "Geo Level", "State", "State ANSI",
              "Ag District", "Ag District Code", "County", "County ANSI", "Zip Code", "Region",
              "watershed_code", "Watershed", "Commodity", "Data Item", "Domain",
              "Domain Category", "Value", "CV (%)"]
YIELD = "CORN, GRAIN - YIELD, MEASURED IN BU / ACRE"
ACRES = "CORN, GRAIN - ACRES HARVESTED"
PLANTED = "CORN - ACRES PLANTED"


def record(short_desc, year, value, level="COUNTY", state="19", county="169", name="STORY",
           district="50", district_name="CENTRAL", period="YEAR", cv="", load_time="",
           commodity="CORN", state_name="IOWA"):
    """One API-shaped record (all 39 keys)."""
    rec = dict.fromkeys(API_KEYS, "")
    rec.update({
        "source_desc": "SURVEY", "commodity_desc": commodity, "short_desc": short_desc,
        "domain_desc": "TOTAL", "domaincat_desc": "NOT SPECIFIED", "agg_level_desc": level,
        "state_ansi": state, "state_fips_code": state, "state_name": state_name,
        "state_alpha": "IA", "asd_code": district if level == "COUNTY" else "",
        "asd_desc": district_name if level == "COUNTY" else "",
        "county_ansi": county if level == "COUNTY" else "",
        "county_code": county if level == "COUNTY" else "",
        "county_name": name if level == "COUNTY" else "", "year": str(year),
        "freq_desc": "ANNUAL", "reference_period_desc": period, "load_time": load_time,
        "Value": value, "CV (%)": cv, "watershed_code": "0",
    })
    return rec


def sample_records():
    """Story and Polk counties 2019-2020, a (D), an (NA), other rows, state series."""
    return [
        record(YIELD, 2019, "185.2", cv="4.1"),
        record(ACRES, 2019, "152,300"),
        record(YIELD, 2020, "                 (D)"),
        record(ACRES, 2020, "(D)"),
        record(YIELD, 2019, "(NA)", county="153", name="POLK"),
        record(ACRES, 2019, "43,100", county="153", name="POLK"),
        record(YIELD, 2020, "171", county="153", name="POLK"),
        record(ACRES, 2020, "40,800", county="153", name="POLK"),
        record(YIELD, 2019, "178.4", county="998", name="OTHER (COMBINED) COUNTIES"),
        record(ACRES, 2019, "12,000", county="998", name="OTHER (COMBINED) COUNTIES"),
        record(YIELD, 2020, "190.1", county="", name="OTHER COUNTIES", district="99",
               district_name=""),
        record(PLANTED, 2020, "13,500,000", level="STATE", period="YEAR - JUN ACREAGE"),
        record(PLANTED, 2020, "13,600,000", level="STATE"),
        record(YIELD, 2020, "178", level="STATE", period="YEAR - AUG FORECAST"),
        record("SOYBEANS - YIELD, MEASURED IN BU / ACRE", 2020, "55", commodity="SOYBEANS"),
    ]


def _web_row(rec):
    code = rec["county_code"]
    county_ansi = "" if code in ("998", "") else (code.lstrip("0") if code.isdigit() else code)
    return [rec["source_desc"], rec["year"], rec["reference_period_desc"], "",
            rec["agg_level_desc"], rec["state_name"], str(int(rec["state_fips_code"])),
            rec["asd_desc"], rec["asd_code"], rec["county_name"], county_ansi, "", "",
            rec["watershed_code"], "", rec["commodity_desc"], rec["short_desc"],
            rec["domain_desc"], rec["domaincat_desc"], rec["Value"], rec["CV (%)"]]


def write_web(records, path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(WEB_HEADER)
        writer.writerows(_web_row(r) for r in records)
    return path


def write_api_csv(records, path: Path) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=API_KEYS)
        writer.writeheader()
        writer.writerows(records)
    return path


def write_api_json(records, path: Path) -> Path:
    path.write_text(json.dumps({"data": records}))
    return path


def write_bulk(records, path: Path) -> Path:
    header = [("CV_%" if k == "CV (%)" else k.upper()) for k in API_KEYS]
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(header)
        writer.writerows([r[k] for k in API_KEYS] for r in records)
    return path


WRITERS = {"web": (write_web, "export.csv"), "api_csv": (write_api_csv, "api.csv"),
           "api_json": (write_api_json, "api.json"), "bulk": (write_bulk, "qs.crops.txt.gz")}
