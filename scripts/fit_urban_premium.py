"""Fit the urban premium behind *modelled* city GDP per capita; write data/urban_premium.json.

Most foreign candidates have only their country's GDP per capita, while the Indonesian
local cities have their own kota GRDP per capita. Comparing a city with a country is not
like with like (a capital or a metropolis is richer than its country's average), so where
no city or regional figure exists the engine uses a **modelled** city figure::

    log(city / national) = a + b * (log national - log 10,000) + c * (log population - log 1e6)

- ``c`` (how much richer a bigger city is, within one country) is the pooled within-country
  slope over the cities where both figures are known and the population is too: the
  Indonesian kota (BPS GRDP per capita, Kemendagri population) and the Chinese prefectures
  (China City Macro data), with a fixed effect per country. Kabupaten (regencies, mostly
  rural) are read but left out of the slope.
- ``a`` and ``b`` (the premium of a fully urban unit, and how it shrinks as a country gets
  richer) come from the sub-national table of Kummu et al. (2025): the units whose urban
  share is at least 90% (``urb >= 1.9``: metropolitan regions such as Kuala Lumpur, Tokyo,
  Seoul, Berlin or Bangkok), their GDP per capita as a ratio to the national figure,
  against our own national GDP per capita (World Bank, current US$). These units have no
  population in the table; they are taken as cities of about 1 million (``c`` term 0).
- ``sd`` is the residual standard deviation of that fit, in log units: the spread of real
  metropolitan units around the model. The file also reports an out-of-sample check on the
  Indonesian kota and Chinese prefectures (not used for ``a`` and ``b``): its error is larger
  and biased (a prefecture includes rural counties; many kota are small towns), which the
  README states.

Usage::

    python scripts/fit_urban_premium.py [--raw ../shared/raw] [--out data/urban_premium.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recommender.data.modelled import PREMIUM_CLIP, Z80  # noqa: E402
from recommender.data.tables import load_cities  # noqa: E402

IDR_PER_USD_2024 = 15855.4  # as in build_dataset.py (World Bank PA.NUS.FCRF, 2024 average)
URBAN_SHARE_MIN = 1.9  # Kummu's urb is 1 + urban share


def national_gdp(cities: pd.DataFrame) -> pd.Series:
    """National GDP per capita (US$) by ISO2, from the country-level rows of the table."""
    ctry = cities[cities["gdp_per_capita_usd_level"] == "country"]
    return ctry.groupby("country_code")["gdp_per_capita_usd"].median()


def indonesian_units(raw: Path, nat: float) -> pd.DataFrame:
    """Indonesian kota and kabupaten: log(GRDP per capita / national), population, kind."""
    pdrb = pd.read_csv(raw / "indonesia/pdrb_perkapita_adhb_kabkota_2024_2025.csv")
    pdrb = pdrb[pdrb["tahun"] == 2024]
    wil = pd.read_csv(raw / "city/indonesia_wilayah_luas_penduduk_2025.csv", dtype={"kode": str})
    wil = wil[wil["level"] != "province"].copy()
    wil["kode_kab"] = wil["kode"].str.replace(".", "", regex=False).str[:4]
    wil = wil[wil["kode"].str.count(r"\.") == 1]
    df = pdrb.merge(
        wil[["kode_kab", "pop_total", "nama"]].assign(kode_kab=lambda d: d["kode_kab"].astype(int)),
        on="kode_kab",
    )
    usd = df["pdrb_perkapita_ADHB"] * 1000.0 / IDR_PER_USD_2024
    return pd.DataFrame(
        {
            "country": "ID",
            "y": np.log(usd / nat),
            "log_pop": np.log(df["pop_total"].astype(float) / 1e6),
            "kab": ~df["nama"].str.upper().str.startswith("KOTA"),
        }
    )


def chinese_prefectures(cities: pd.DataFrame, nat: float) -> pd.DataFrame:
    cn = cities[(cities["country_code"] == "CN") & (cities["gdp_per_capita_usd_level"] == "city")]
    return pd.DataFrame(
        {
            "country": "CN",
            "y": np.log(cn["gdp_per_capita_usd"].to_numpy() / nat),
            "log_pop": np.log(cn["population"].to_numpy(dtype=float) / 1e6),
            "kab": False,
        }
    )


def within_country_slope(units: pd.DataFrame) -> float:
    """Pooled slope of y on log population with a fixed effect per country and a kabupaten
    offset (least squares on demeaned data)."""
    X = pd.get_dummies(units["country"], dtype=float)
    X["kab"] = units["kab"].astype(float)
    X["log_pop"] = units["log_pop"]
    ok = np.isfinite(units["y"]) & np.isfinite(units["log_pop"])
    beta, *_ = np.linalg.lstsq(X[ok].to_numpy(), units["y"][ok].to_numpy(), rcond=None)
    return float(beta[-1])


def kummu_urban(raw: Path, nat_by_iso2: pd.Series) -> pd.DataFrame:
    k = pd.read_csv(raw / "subnational/kummu_adm1_gdp_per_capita_ratio.csv")
    k = k.sort_values("year", kind="stable").groupby(["iso3", "GID_nmbr"]).tail(1)
    k = k[k["urb"] >= URBAN_SHARE_MIN]
    iso3_to_2 = {}
    for line in (raw / "geonames/countryInfo.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            iso3_to_2[parts[1]] = parts[0]
    k = k.assign(iso2=k["iso3"].map(iso3_to_2))
    k = k.assign(nat=k["iso2"].map(nat_by_iso2)).dropna(subset=["nat"])
    return pd.DataFrame(
        {
            "iso2": k["iso2"],
            "unit": k["Subnat"],
            "y": np.log(k["gdpRatio"].to_numpy()),
            "g": np.log(k["nat"].to_numpy() / 1e4),
        }
    )


def fit(raw: Path) -> dict:
    cities = load_cities()
    nat = national_gdp(cities)
    # the national figures of the countries whose units are measured
    nat_id = float(nat["ID"])
    nat_cn = float(nat["CN"])
    units = pd.concat(
        [indonesian_units(raw, nat_id), chinese_prefectures(cities, nat_cn)], ignore_index=True
    )
    units = units[~units["kab"]]  # cities only: a regency's premium is not a city's
    c = within_country_slope(units)

    km = kummu_urban(raw, nat)
    A = np.c_[np.ones(len(km)), km["g"]]
    (a, b), *_ = np.linalg.lstsq(A, km["y"].to_numpy(), rcond=None)
    fit_resid = km["y"].to_numpy() - A @ np.array([a, b])

    # out-of-sample check on the measured Indonesian kota and Chinese prefectures
    local = cities[
        (cities["gdp_per_capita_usd_level"] == "city") & cities["country_code"].isin(["ID", "CN"])
    ]
    g = np.log(local["country_code"].map(nat).to_numpy() / 1e4)
    lp = np.log(local["population"].to_numpy(dtype=float) / 1e6)
    pred = np.clip(a + b * g + c * lp, *np.log(PREMIUM_CLIP))
    obs = np.log(local["gdp_per_capita_usd"].to_numpy() / local["country_code"].map(nat).to_numpy())
    err = obs - pred
    ok = np.isfinite(err)
    err = err[ok]
    rmse = float(np.sqrt(np.mean(err**2)))
    # the interval: the residual spread of the fully urban units the premium is fitted on
    sd = float(fit_resid.std(ddof=2))
    covered = float(np.mean(np.abs(err) <= Z80 * sd))
    kota = (local["country_code"] == "ID").to_numpy()[ok]
    err_id = err[kota]
    return {
        "formula": "log(city / national) = a + b * (log national - log 1e4) + c * (log population - log 1e6)",
        "a": round(float(a), 6),
        "b": round(float(b), 6),
        "c": round(float(c), 6),
        "sd": round(sd, 6),
        "clip": list(PREMIUM_CLIP),
        "interval": "80% (z = 1.2816 times sd, in log units)",
        "fit": {
            "a_b": {
                "source": "Kummu et al. (2025) sub-national GDP per capita ratios, units with "
                "urban share >= 90%, latest year; national GDP per capita: World Bank",
                "n_units": int(len(km)),
                "n_countries": int(km["iso2"].nunique()),
                "residual_sd": round(float(fit_resid.std()), 6),
            },
            "c": {
                "source": "within-country slope over Indonesian kota (BPS GRDP per capita 2024, "
                "Kemendagri population) and Chinese prefectures (China City Macro data), "
                "fixed effect per country",
                "n_units": int(np.isfinite(units["y"]).sum()),
            },
            "check": {
                "what": "modelled vs measured for the Indonesian kota and Chinese prefectures "
                "(not used for a and b)",
                "n_units": int(ok.sum()),
                "rmse_log": round(rmse, 6),
                "indonesian_kota": {
                    "n_units": int(kota.sum()),
                    "median_abs_error_log": round(float(np.median(np.abs(err_id))), 6),
                    "bias_log": round(float(err_id.mean()), 6),
                    "coverage_80": round(float(np.mean(np.abs(err_id) <= Z80 * sd)), 4),
                },
                "median_abs_error_log": round(float(np.median(np.abs(err))), 6),
                "bias_log": round(float(err.mean()), 6),
                "coverage_80": round(covered, 4),
            },
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "raw")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "urban_premium.json")
    args = ap.parse_args(argv)
    res = fit(args.raw)
    text = json.dumps(res, indent=2, sort_keys=True) + "\n"
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(args.out)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
