"""Report destinations and which of them apply to a report.

``OHSC_REPORT_DESTINATIONS`` maps jurisdictions to destination names, for example
``{"US": ["ncmec"], "GB": ["uk-nca"], "EU": ["eu-centre"], "*": ["local-folder"]}``. A report goes
to the union of the entries for its jurisdictions (a country, then ``EU`` for a member state,
then ``*``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ohsc import jurisdiction
from ohsc.errors import ConfigError
from ohsc.reports.destinations.base import FileProgress, ReportDestination, SubmissionHandle
from ohsc.reports.destinations.ncmec import NcmecDestination
from ohsc.reports.destinations.packages import (
    EuCentreDestination,
    LocalFolderDestination,
    PackageDestination,
    UkNcaDestination,
)
from ohsc.settings import Settings

DESTINATIONS: dict[str, type[ReportDestination]] = {
    cls.name: cls for cls in (NcmecDestination, UkNcaDestination, EuCentreDestination, LocalFolderDestination)
}


def check_names(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        if name not in DESTINATIONS:
            raise ConfigError(
                f"unknown report destination {name!r} in OHSC_REPORT_DESTINATIONS "
                f"(known: {', '.join(sorted(DESTINATIONS))})"
            )
        if name not in out:
            out.append(name)
    return out


def destinations_for(settings: Settings, jurisdictions: Iterable[str]) -> list[str]:
    """The destination names that apply to content in these jurisdictions, in a stable order."""
    mapping = settings.report_destinations
    codes = list(jurisdictions)
    names: list[str] = []
    for _code, _key, value in jurisdiction.lookup_all(mapping, codes):
        names += value
    if not codes and jurisdiction.ANY in mapping:
        names += mapping[jurisdiction.ANY]
    return check_names(names)


def create(name: str, settings: Settings) -> ReportDestination:
    check_names([name])
    return DESTINATIONS[name](settings)


__all__ = [
    "DESTINATIONS",
    "EuCentreDestination",
    "FileProgress",
    "LocalFolderDestination",
    "NcmecDestination",
    "PackageDestination",
    "ReportDestination",
    "SubmissionHandle",
    "UkNcaDestination",
    "check_names",
    "create",
    "destinations_for",
]
