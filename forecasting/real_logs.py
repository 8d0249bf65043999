"""Ready-made event-log mappings for the published logs in the shared data folder.

Paths are relative to the data root (each folder's SOURCE.md gives provenance and the reference
counts); nothing is read until `RealLog.applications` is called with that root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import polars as pl

from forecasting.eventlog import EventLogMapping, events_to_applications, read_events
from forecasting.schema import CHANNEL, REGION, SERVICE

# None of these logs records how a case came in, so each has a single channel, named like the
# default region.
_ONE_CHANNEL: Final = "all"
_DUTCH: Final = "Europe/Amsterdam"


@dataclass(frozen=True)
class RealLog:
    """One published event log: its file under the data root and how it maps to applications."""

    path: PurePosixPath
    mapping: EventLogMapping
    note: str

    def applications(self, data_root: Path) -> pl.LazyFrame:
        """The log as applications (contract columns, before validation)."""
        events = read_events(data_root / self.path, self.mapping)
        return events_to_applications(events, self.mapping)


REAL_LOGS: Final[dict[str, RealLog]] = {
    "road_traffic_fines": RealLog(
        path=PurePosixPath("road_traffic_fines/events.parquet"),
        mapping=EventLogMapping(
            start_activities=("Create Fine",),
            end_activities=("Payment", "Send for Credit Collection"),
            constants={SERVICE: "traffic_fine", CHANNEL: _ONE_CHANNEL},
            timezone="Europe/Rome",
            quiet_days=865,
        ),
        note=(
            "A fine is completed when it is first settled from the police's side: the offender "
            "pays (most paying fines are paid once) or the debt goes to credit collection, where "
            "the police's part ends. 23,768 fines have neither; their last step is sending the "
            "fine (20,392) or an appeal, spread over every year of the log. One quiet for 865 "
            "days or more when the log ends is closed without completion at its last event: "
            "865 days is the 99th percentile of the gaps between two events of a settled fine, "
            "up to its settlement (measured on this log). The rest stay open. "
            "Timestamps are local midnights stored in UTC, hence Europe/Rome."
        ),
    ),
    "bpic2015_permits": RealLog(
        path=PurePosixPath("bpic2015_permits/events_reduced_all_municipalities.parquet"),
        mapping=EventLogMapping(
            # Two case ids recur in two municipalities each; they are different permits.
            case_scope=("municipality",),
            attributes={REGION: "municipality"},
            constants={SERVICE: "building_permit", CHANNEL: _ONE_CHANNEL},
            timezone=_DUTCH,
            quiet_days=69,
        ),
        note=(
            "First to last event, as in SOURCE.md (the reduced log keeps each case's first and "
            "last timestamp intact), since the log has no completion activity common to all "
            "municipalities. But a case whose last event lies less than 69 days before its "
            "municipality's last record stays open: it may only have paused when the log was "
            "extracted (municipality 1 runs to July 2015, the others end in March). 69 days is "
            "the 99th percentile of the gaps between two events of a case (measured on this log)."
        ),
    ),
    "bpic2020_domestic": RealLog(
        path=PurePosixPath("bpic2020_travel/events_domestic.parquet"),
        mapping=EventLogMapping(
            start_activities=("Declaration SUBMITTED by EMPLOYEE",),
            end_activities=("Payment Handled",),
            constants={SERVICE: "domestic_travel_declaration", CHANNEL: _ONE_CHANNEL},
            timezone=_DUTCH,
            quiet_days=22,
        ),
        note=(
            "Submitted by the employee to payment handled. A submitted declaration never paid "
            "(322, of which 283 end rejected by the employee, i.e. withdrawn) is closed "
            "without completion at its last event once quiet for 22 days, the 99th percentile "
            "of the gaps between two events of a paid declaration up to its payment (measured "
            "on this log); until then it is open."
        ),
    ),
    "bpic2020_international": RealLog(
        path=PurePosixPath("bpic2020_travel/events_international.parquet"),
        mapping=EventLogMapping(
            start_activities=("Declaration SUBMITTED by EMPLOYEE",),
            end_activities=("Payment Handled",),
            constants={SERVICE: "international_travel_declaration", CHANNEL: _ONE_CHANNEL},
            timezone=_DUTCH,
            quiet_days=95,
        ),
        note=(
            "Declaration submitted to payment handled; the earlier permit and trip events are "
            "not part of the application. Cases with no declaration yet have no submission. An "
            "unpaid case quiet for 95 days (the 99th percentile of the gaps between two events "
            "of a paid case, measured on this log) is closed without completion at its last event."
        ),
    ),
    "wabo_receipt": RealLog(
        path=PurePosixPath("wabo_receipt/receipt.xes.gz"),
        mapping=EventLogMapping(
            attributes={CHANNEL: "case:channel"},
            constants={SERVICE: "environmental_permit_receipt"},
            timezone=_DUTCH,
        ),
        note=(
            "Receipt phase only, first to last event. Read from the XES because the channel "
            "(Internet, Desk, Post, e-mail) is a trace attribute the events file lacks."
        ),
    ),
    "helpdesk": RealLog(
        path=PurePosixPath("helpdesk/events.parquet"),
        mapping=EventLogMapping(
            constants={SERVICE: "helpdesk_ticket", CHANNEL: _ONE_CHANNEL},
        ),
        note=(
            "Control, not a public service: first to last event. Its times are local times "
            "labelled UTC, so the time zone stays UTC to keep their calendar dates."
        ),
    ),
}
