"""Routes of the local web app: each parses the query, calls one :mod:`recommender.app`
function and renders a template, or its JSON twin (the same path ending in ``.json``).

Pages: ``/`` (pick a city), ``/shortlist`` (the ranked candidates, the map, sliders and
filters; ``?_fragment=1`` returns only the results, for the live re-ranking),
``/candidate`` (one pair explained, the two cities side by side), ``/versus`` (the local
city and two candidates), ``/scenarios`` (scenario comparison), ``/partners``,
``/download`` (XLSX, CSV, HTML report, JSON). A library error becomes an HTTP 400 page
whose message is the CLI's ``Error: ...`` line; an unknown page is a 404.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from recommender import app as use
from recommender.data.countries import country_display_name
from recommender.data.indicators import INDICATOR_NAMES, LEVELS
from recommender.errors import FilterError, RecommenderError
from recommender.i18n import _
from recommender.i18n.texts import COUPLING_DESCRIPTIONS
from recommender.io.formatting import to_jsonable
from recommender.io.worldmap import COUPLING_COLOURS, svg_map
from recommender.web import lang as lang_mod
from recommender.web.lang import i18n

HERE = Path(__file__).resolve().parent
CONTINENTS = ("AF", "AS", "EU", "NA", "OC", "SA")
COUPLINGS = ("SB", "BS", "BB", "SS")


# --------------------------------------------------------------------------- query parsing


def _text(q, key: str) -> str | None:
    v = q.get(key)
    return v.strip() if v and v.strip() else None


def _number(q, key: str, *, whole: bool = False) -> float | int | None:
    v = _text(q, key)
    if v is None:
        return None
    try:
        x = float(v.replace(",", "")) if not whole else int(v)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise FilterError(f"{key} must be {kind}; got {v!r}") from None
    return x


def _list(q, key: str) -> list[str] | None:
    out = [p.strip() for v in q.getlist(key) for p in v.split(",") if p.strip()]
    return out or None


def _flag(q, key: str) -> bool:
    return (q.get(key) or "").lower() in ("1", "true", "on", "yes")


def _weights(q) -> dict[str, float] | None:
    out = {}
    for n in INDICATOR_NAMES:
        v = _number(q, f"w_{n}")
        if v is not None:
            out[n] = v
    return out or None


def _min_level(q) -> dict[str, str] | None:
    out = {}
    for n in INDICATOR_NAMES:
        v = _text(q, f"min_level_{n}")
        if v is not None:
            out[n] = v
    return out or None


def _scenario(q) -> str:
    """A preset name only: the web app never reads a file path from a query string."""
    from recommender.engine.scenarios import preset_names

    name = _text(q, "scenario") or "small-big"
    if name not in preset_names():
        raise FilterError(f"Unknown scenario {name!r}; presets: {', '.join(preset_names())}")
    return name


def shortlist_request(q) -> use.ShortlistRequest:
    """The query string of ``/shortlist`` -> a :class:`~recommender.app.ShortlistRequest`."""
    city = _text(q, "city")
    if city is None:
        raise FilterError("city is missing; give a local city, e.g. ?city=Medan")
    method = _text(q, "method") or "wsm"
    if method not in ("wsm", "topsis"):
        raise FilterError(f"method must be wsm or topsis; got {method!r}")
    return use.ShortlistRequest(
        city=city,
        scenario=_scenario(q),
        weights=_weights(q),
        top=10 if (top := _number(q, "top", whole=True)) is None else top,
        method=method,
        countries=_list(q, "countries"),
        exclude_countries=_list(q, "exclude_countries"),
        continents=_list(q, "continent"),
        min_population=_number(q, "min_population"),
        max_population=_number(q, "max_population"),
        min_level=_min_level(q),
        max_per_country=_number(q, "max_per_country", whole=True),
        include_partners=_flag(q, "include_partners"),
        include_domestic=_flag(q, "include_domestic"),
        # the CLI's default ranking (fit and feasibility blended, as measured on held-out
        # cities); "fit_only" gives the pure strategy list, like --fit-only
        feasibility=False if _flag(q, "fit_only") else (_flag(q, "feasibility") or "auto"),
    )


def _keep(q, drop: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The query's items without ``drop`` and the internal ``_fragment``."""
    return [(k, v) for k, v in q.multi_items() if k not in drop and k != "_fragment" and v != ""]


# --------------------------------------------------------------------------- rendering


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        INDICATOR_NAMES=INDICATOR_NAMES,
        LEVELS=LEVELS,
        CONTINENTS=CONTINENTS,
        COUPLINGS=COUPLINGS,
        COUPLING_COLOURS=COUPLING_COLOURS,
        COUPLING_DESCRIPTIONS=COUPLING_DESCRIPTIONS,
        urlencode=urlencode,
        country=country_display_name,
    )
    return env


ENV = _templates()


def _page(request: Request, template: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = request.state.lang
    q = request.query_params
    base = _keep(q, ("lang",))
    switch = {code: "?" + urlencode(base + [("lang", code)]) for code in lang_mod.LANGUAGES}
    json_url = request.url.path.rstrip("/")
    json_url = (json_url or "/index") + ".json" + ("?" + urlencode(base) if base else "")
    html = ENV.get_template(template).render(
        request=request,
        lang=lang,
        languages=lang_mod.LANGUAGES,
        lang_links=switch,
        json_url=json_url,
        **lang_mod.helpers(lang),
        **ctx,
    )
    return HTMLResponse(html, status_code=status)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(to_jsonable(data), status_code=status)


def _wants_json(request: Request) -> bool:
    return request.path_params.get("ext") == ".json"


# --------------------------------------------------------------------------- views


async def index(request: Request) -> Response:
    from recommender.data import tables

    cities = tables.load_cities()
    local = cities[cities["is_local"]].sort_values("population", ascending=False)
    top = [
        {"city_id": int(r.city_id), "name": r.name, "admin1_name": r.admin1_name}
        for r in local.head(12).itertuples()
    ]
    if _wants_json(request):
        return _json({"local_cities": top, "n_local": int(len(local))})
    return _page(request, "index.html", popular=top, n_local=len(local))


async def search(request: Request) -> Response:
    q = request.query_params
    text = _text(q, "q") or ""
    limit = _number(q, "limit", whole=True)
    limit = 8 if limit is None else limit
    if not 1 <= limit <= 50:
        raise FilterError(f"limit must be between 1 and 50; got {limit}")
    hits = use.find_cities(text, limit=limit, local_only=_flag(q, "local"))
    if _wants_json(request):
        return _json({"q": text, "results": hits})
    return _page(request, "search.html", q=text, hits=hits)


def _scenario_choices() -> list[dict[str, str]]:
    from recommender.engine.scenarios import PRESETS

    return [
        {"name": n, "description": s.description, "weights": dict(s.weights)}
        for n, s in PRESETS.items()
    ]


_TEXT_EXTRAS = ("why_feasibility", "robustness_text", "context", "context_text")


def _extra_columns(frame) -> tuple[list[str], list[str]]:
    """Columns other parts of the engine add (feasibility, robustness, context, ...):
    numbers get their own column, texts a line under the row's "why"."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    from recommender.engine.shortlist import output_columns

    base = set(output_columns()) | {"latitude", "longitude", "kind", "eligibility"}
    numeric, text = [], []
    for c in frame.columns:
        if c in base:
            continue
        if c in _TEXT_EXTRAS or not is_numeric_dtype(frame[c]) or is_bool_dtype(frame[c]):
            text.append(c)
        else:
            numeric.append(c)
    return numeric, text


def _shortlist_context(request: Request, res: use.ShortlistResult) -> dict[str, Any]:
    q = request.query_params
    state = _keep(q, ("lang",))
    local_id = res.local["city_id"]
    scen = res.scenario
    base_scenario = str(scen.name).rstrip("*")
    weights = {n: float(scen.weights.get(n, 0.0)) for n in INDICATOR_NAMES}
    total = sum(weights.values()) or 1.0
    carry = [(k, v) for k, v in state if k in ("scenario", "method") or k.startswith("w_")]

    def cand_url(cid: int) -> str:
        return "/candidate?" + urlencode([("city", local_id), ("candidate", cid)] + carry)

    points = res.map_points()
    for p in points:
        if p["kind"] == "candidate":
            p["href"] = cand_url(p["city_id"])
    rows = res.rows()
    for r in rows:
        r["url"] = cand_url(r["city_id"])
    extra_cols, text_cols = _extra_columns(res.frame)
    downloads = {
        fmt: "/download?"
        + urlencode([(k, v) for k, v in state if k != "format"] + [("format", fmt)])
        for fmt in ("xlsx", "csv", "html", "json")
    }
    attrs = res.frame.attrs
    return {
        "res": res,
        "rows": rows,
        "local": res.local,
        "scen": scen,
        "base_scenario": base_scenario,
        "scenarios": _scenario_choices(),
        "weights": weights,
        "weight_share": {n: w / total for n, w in weights.items()},
        "extra_cols": extra_cols,
        "text_cols": text_cols,
        "map_svg": svg_map(
            points, title=_("%(city)s: candidates and partners") % {"city": res.local["name"]}
        ),
        "partners": use.records(res.partners),
        "downloads": downloads,
        "n_eligible": attrs.get("n_eligible", 0),
        "n_pool": attrs.get("n_pool", 0),
        "req": res.request,
        "q": q,
        "compare_url": "/scenarios?"
        + urlencode(
            [
                ("city", local_id),
                ("scenario", base_scenario),
                ("scenario", "symmetric" if base_scenario != "symmetric" else "small-big"),
            ]
        ),
        "partners_url": "/partners?" + urlencode([("city", local_id)]),
    }


def _shortlist_json(res: use.ShortlistResult) -> dict[str, Any]:
    return {
        "local": res.local,
        "scenario": res.scenario.to_dict(),
        "attrs": dict(res.frame.attrs),
        "rows": res.rows(),
        "partners": use.records(res.partners),
    }


async def shortlist(request: Request) -> Response:
    t0 = time.perf_counter()
    res = use.shortlist(shortlist_request(request.query_params))
    if _wants_json(request):
        return _json(_shortlist_json(res))
    ctx = _shortlist_context(request, res)
    ctx["elapsed_ms"] = (time.perf_counter() - t0) * 1000
    if _flag(request.query_params, "_fragment"):
        return _page(request, "_results.html", **ctx)
    return _page(request, "shortlist.html", **ctx)


async def candidate(request: Request) -> Response:
    q = request.query_params
    city = _text(q, "city")
    cand = _text(q, "candidate")
    if city is None or cand is None:
        raise FilterError("city and candidate are needed, e.g. ?city=Medan&candidate=Ichikawa")
    scenario = _scenario(q)
    method = _text(q, "method") or "wsm"
    ex = use.explain_pair(city, cand, scenario=scenario, weights=_weights(q), method=method)
    local_id = int(ex.row.attrs.get("local_city_id", 0)) or city
    pair = use.side_by_side(local_id, int(ex.row["city_id"].iloc[0]))
    if _wants_json(request):
        return _json(
            {
                "summary": ex.summary,
                "breakdown": use.records(ex.breakdown),
                "side_by_side": {"cities": pair.cities, "table": use.records(pair.table)},
            }
        )
    back = "/shortlist?" + urlencode(
        [("city", local_id)] + [(k, v) for k, v in _keep(q) if k not in ("city", "candidate")]
    )
    return _page(
        request,
        "candidate.html",
        ex=ex,
        s=ex.summary,
        breakdown=use.records(ex.breakdown),
        pair=pair,
        rows=use.records(pair.table),
        back_url=back,
        local_id=local_id,
        cand_id=int(ex.row["city_id"].iloc[0]),
    )


async def versus(request: Request) -> Response:
    q = request.query_params
    city, a, b = _text(q, "city"), _text(q, "a"), _text(q, "b")
    if city is None or a is None:
        raise FilterError("city and a (and optionally b) are needed, e.g. ?city=Medan&a=Busan")
    pair = use.side_by_side(city, *[x for x in (a, b) if x])
    if _wants_json(request):
        return _json({"cities": pair.cities, "table": use.records(pair.table)})
    return _page(request, "versus.html", pair=pair, rows=use.records(pair.table))


async def scenarios(request: Request) -> Response:
    q = request.query_params
    city = _text(q, "city")
    if city is None:
        raise FilterError("city is missing; e.g. ?city=Medan&scenario=small-big&scenario=symmetric")
    from recommender.engine.scenarios import preset_names

    names = _list(q, "scenario") or ["small-big", "symmetric"]
    bad = [n for n in names if n not in preset_names()]
    if bad:
        raise FilterError(f"Unknown scenario {bad[0]!r}; presets: {', '.join(preset_names())}")
    top = _number(q, "top", whole=True)
    top = 10 if top is None else top
    res = use.compare_scenarios(city, names, top=top)
    if _wants_json(request):
        return _json({k: use.records(v.reset_index()) for k, v in res.to_dict().items()})
    from recommender.io.comparison import side_by_side_table

    with i18n.language(request.state.lang):  # the CLI's headers, in the page's language
        table, headers = side_by_side_table(res)
    side = table.rename(columns=headers)
    return _page(
        request,
        "scenarios.html",
        res=res,
        side_cols=list(side.columns),
        side=use.records(side),
        overlap=res.overlap,
        spearman=res.spearman,
        movers=use.records(res.movers.head(10)),
        names=res.names,
        city=city,
        top=top,
        all_scenarios=_scenario_choices(),
    )


async def partners_view(request: Request) -> Response:
    q = request.query_params
    city = _text(q, "city")
    if city is None:
        raise FilterError("city is missing; e.g. ?city=Medan")
    res = use.partners(city)
    rows = use.records(res.partners)
    if _wants_json(request):
        return _json(
            {
                "local": use.city_record(res.local),
                "partners": rows,
                "counts": use.records(res.counts.reset_index()),
            }
        )
    pts = [
        {
            "kind": "local",
            "lon": res.local["longitude"],
            "lat": res.local["latitude"],
            "label": res.local["name"],
        }
    ] + [
        {
            "kind": "partner",
            "lon": r["longitude"],
            "lat": r["latitude"],
            "coupling": r["coupling"],
            "label": f"{r['name']}, {r['country_code']} ({r['coupling']})",
        }
        for r in rows
    ]
    return _page(
        request,
        "partners.html",
        local=use.city_record(res.local),
        rows=rows,
        counts=res.counts,
        map_svg=svg_map(
            pts, title=_("Existing partners of %(city)s") % {"city": res.local["name"]}
        ),
    )


async def download(request: Request) -> Response:
    q = request.query_params
    fmt = _text(q, "format") or "xlsx"
    with i18n.language(request.state.lang):
        res = use.shortlist(shortlist_request(q))
        data, name, media = use.export_shortlist(res, fmt)
    how = "inline" if _flag(q, "inline") else "attachment"  # inline: view in the browser
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'{how}; filename="{name}"'}
    )


# --------------------------------------------------------------------------- errors


def _error_response(request: Request, status: int, message: str) -> Response:
    line = f"Error: {message}"
    if request.path_params.get("ext") == ".json" or request.url.path.endswith(".json"):
        return _json({"error": line, "status": status}, status)
    if not hasattr(request.state, "lang"):
        request.state.lang = i18n.DEFAULT_LANGUAGE
    return _page(request, "error.html", status=status, message=line, status_code=status)


async def library_error(request: Request, exc: Exception) -> Response:
    return _error_response(request, 400, str(exc))


async def http_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 500)
    detail = getattr(exc, "detail", "")
    if status == 404:
        detail = f'no page at "{request.url.path}"; start at /'
    return _error_response(request, status, str(detail))


# --------------------------------------------------------------------------- the app


class LanguageMiddleware:
    """Choose the request's language and hold it (for the engine's texts too) while the
    request is handled; ``?lang=`` also sets a cookie so the next pages keep it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        asked = request.query_params.get("lang")
        try:
            lang = lang_mod.choose(
                asked, request.cookies.get(lang_mod.COOKIE), request.headers.get("accept-language")
            )
        except RecommenderError as exc:
            scope.setdefault("state", {})["lang"] = i18n.DEFAULT_LANGUAGE
            resp = _error_response(Request(scope), 400, str(exc))
            await resp(scope, receive, send)
            return
        scope.setdefault("state", {})["lang"] = lang

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start" and asked:
                headers = list(message.get("headers", []))
                cookie = f"{lang_mod.COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Lax"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with i18n.language(lang):
            await self.app(scope, receive, send_with_cookie)


def _static_dir() -> str:
    return str(resources.files("recommender.web") / "static")


def create_app() -> Starlette:
    """The ASGI application (``uvicorn.run(create_app(), host="127.0.0.1")``).

    Examples
    --------
    >>> from starlette.testclient import TestClient
    >>> client = TestClient(create_app())
    >>> client.get("/shortlist.json?city=Medan&top=3").json()["rows"][0]["rank"]
    1
    """
    ext = "{ext:ext}"
    routes = [
        Route("/", index),
        Route("/index" + ext, index),
        Route("/search" + ext, search),
        Route("/shortlist" + ext, shortlist),
        Route("/candidate" + ext, candidate),
        Route("/versus" + ext, versus),
        Route("/scenarios" + ext, scenarios),
        Route("/partners" + ext, partners_view),
        Route("/download", download),
        Mount("/static", app=StaticFiles(directory=_static_dir()), name="static"),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={RecommenderError: library_error, HTTPException: http_error},
    )
    app.add_middleware(LanguageMiddleware)
    return app


def _register_convertor() -> None:
    from starlette.convertors import Convertor, register_url_convertor

    class ExtConvertor(Convertor):
        regex = r"(\.json)?"

        def convert(self, value: str) -> str:
            return value

        def to_string(self, value: str) -> str:
            return value

    register_url_convertor("ext", ExtConvertor())


_register_convertor()


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = False) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, args=(f"http://{host}:{port}/",)).start()
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


__all__ = ["create_app", "serve", "shortlist_request"]
