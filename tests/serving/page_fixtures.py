"""Helpers of the status page's tests: a small estimate table, an app, an HTML reader.

Kept out of conftest.py so that the API's tests can own that file; test modules import from here.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace

from fastapi import FastAPI

from serving import pages
from serving.lookup import Estimate, EstimateTable, Segment

# A segment and a date whose estimate has every part: dates, delivery dates and accuracy.
PASSPORT: Segment = ("passport_adult", "mail", "QC")
SUBMITTED = date(2025, 3, 3)
PASSPORT_QUERY = "service=passport_adult&channel=mail&region=QC&day=3&month=3&year=2025"
# A segment without delivery dates (benefits are paid, not mailed).
BENEFITS: Segment = ("ei_regular", "online", "ON")
BENEFITS_QUERY = "service=ei_regular&channel=online&region=ON&day=3&month=3&year=2025"
# The date fields only: what a reader sends after choosing nothing.
EMPTY_SUBMISSION = "region=&day=&month=&year="
_BACKTEST_MODELS = ("published_percentile", "queue_projection", "kaplan_meier")
_TABLES: dict[tuple[int, object], EstimateTable] = {}
_SPACES = re.compile(r"[ \t\r\n\f]+")


def estimate_table(small_world: tuple[object, object]) -> EstimateTable:
    """The estimate table of a forecaster fitted on the small world, with measured accuracy.

    Built once per run and shared by the page and browser tests (each wraps it in a fixture).
    """
    applications, as_of = small_world
    key = (id(applications), as_of)
    if key not in _TABLES:
        from forecasting.backtest import backtest, weekly_origins
        from forecasting.forecaster import Forecaster
        from forecasting.models import MODELS
        from serving.lookup import build_table

        origins = weekly_origins(date(2024, 10, 1), date(2024, 12, 1), step_days=21)
        models = {name: MODELS[name] for name in _BACKTEST_MODELS}
        results = backtest(applications, models, origins)  # type: ignore[arg-type]
        forecaster = Forecaster().fit(applications, as_of=as_of, backtest=results)  # type: ignore[arg-type]
        _TABLES[key] = build_table(forecaster, model_version="page-tests")
    return _TABLES[key]


def make_app(table: EstimateTable | None) -> FastAPI:
    """An app serving only the pages, holding `table` the way create_app's holder does."""
    app = FastAPI()
    app.include_router(pages.router)
    app.state.holder = SimpleNamespace(table=table)
    return app


def without_segments(table: EstimateTable, *gone: Segment) -> EstimateTable:
    """The table as if these segments had never been seen."""
    return dataclasses.replace(
        table,
        segments=tuple(s for s in table.segments if s not in gone),
        estimates={k: v for k, v in table.estimates.items() if k[:3] not in gone},
    )


def with_estimate(
    table: EstimateTable, segment: Segment, day: date, **changes: object
) -> EstimateTable:
    """The table with one estimate changed (e.g. past its usual time, or with an error)."""
    key = (*segment, day)
    estimate: Estimate = dataclasses.replace(table.estimates[key], **changes)  # type: ignore[arg-type]
    return dataclasses.replace(table, estimates={**table.estimates, key: estimate})


@dataclass
class Element:
    """One HTML element: its tag, attributes, children and text, enough to check a page."""

    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text content with runs of spaces and newlines collapsed (no-break spaces kept)."""
        return _SPACES.sub(" ", self._raw_text()).strip()

    def _raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c._raw_text() for c in self.children)

    def iter(self) -> list[Element]:
        out = [self]
        for child in self.children:
            if isinstance(child, Element):
                out.extend(child.iter())
        return out

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Descendants (and self) with this tag and these attribute values (class_ for class)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in wanted.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag or '*'}> with {attrs}"
        return found[0]

    def by_id(self, id_: str) -> Element:
        found = [e for e in self.iter() if e.attrs.get("id") == id_]
        assert len(found) == 1, f"expected one element with id={id_!r}, found {len(found)}"
        return found[0]

    def ancestors(self) -> list[Element]:
        out, node = [], self.parent
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]


_VOID = {"meta", "link", "input", "br", "img", "hr", "source", "area", "base", "col", "wbr"}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.node = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v if v is not None else "" for k, v in attrs}, self.node)
        self.node.children.append(element)
        if tag not in _VOID:
            self.node = element

    def handle_endtag(self, tag: str) -> None:
        node: Element | None = self.node
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.node = node.parent

    def handle_data(self, data: str) -> None:
        self.node.children.append(data)


def parse(html: str) -> Element:
    """The page as a tree of Elements (the document node)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
