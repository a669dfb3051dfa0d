"""Helpers shared by the reporting and evidence tests (benign generated pictures only)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ohsc.actor import LocalActor
from ohsc.demo.synth import picture
from ohsc.reports.destinations import DESTINATIONS, NcmecDestination, ReportDestination
from ohsc.reports.service import ReportService
from ohsc.settings import Settings, load_settings
from ohsc.store.db import Store

ADMIN = LocalActor.of("test:admin", ["admin"])
REPORTER = LocalActor.of("test:reporter", ["reporter"])
REVIEWER = LocalActor.of("test:reviewer", ["reviewer"])
CUSTODIAN = LocalActor.of("test:custodian", ["evidence_custodian"])
NOBODY = LocalActor.of("test:nobody", [])


def image_bytes(seed: int, fmt: str = "JPEG") -> bytes:
    """A small generated picture (benign)."""
    buf = io.BytesIO()
    picture(seed, size=(96, 72)).save(buf, fmt)
    return buf.getvalue()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": tmp_path / "home",
        "report_destinations": {"*": ["local-folder"]},
        "report_contact_email": "safety@example.org",
        "report_contact_first_name": "Sam",
        "report_contact_last_name": "Placeholder",
        "report_company_name": "Example Platform",
        "report_legal_url": "https://example.org/legal",
    }
    values.update(overrides)
    return load_settings(**values)


def ncmec_settings(tmp_path: Path, url: str, **overrides: Any) -> Settings:
    return make_settings(
        tmp_path,
        report_destinations={"US": ["ncmec"], "*": ["local-folder"]},
        ncmec_base_url=url,
        ncmec_username="ohsc-test",
        ncmec_password="ohsc-test",
        **overrides,
    )


def factory(settings: Settings) -> Callable[[str], ReportDestination]:
    """Destinations as configured, with NCMEC retrying without waiting (tests)."""

    def make(name: str) -> ReportDestination:
        if name == NcmecDestination.name:
            return NcmecDestination(settings, retry_delays=())
        return DESTINATIONS[name](settings)

    return make


def service(
    store: Store, settings: Settings, actor: LocalActor = ADMIN, progress: Callable[[str], None] | None = None
) -> ReportService:
    return ReportService(store, settings, actor, destination_factory=factory(settings), progress=progress)


def body(**overrides: Any) -> dict[str, Any]:
    """A complete draft body (no files)."""
    data: dict[str, Any] = {
        "jurisdictions": ["US"],
        "incident": {
            "type": "child_pornography",
            "at": "2026-03-01T10:00:00+00:00",
            "platform": "Example app",
            "urls": ["https://example.org/p/1"],
            "content_kind": "known",
            "content_removed": True,
        },
        "accounts": [
            {
                "esp_user_id": "user-1234",
                "screen_name": "placeholder-user",
                "profile_urls": ["https://example.org/u/placeholder-user"],
                "ip_events": [
                    {"ip": "198.51.100.7", "port": 51234, "event": "upload", "at": "2026-03-01T09:58:00Z"}
                ],
                "device_ids": [{"kind": "advertising-id", "value": "00000000-0000-0000-0000-000000000001"}],
            }
        ],
    }
    data.update(overrides)
    return data


def make_report(svc: ReportService, files: int = 2, seed: int = 0, **body_overrides: Any) -> int:
    """A complete draft with ``files`` generated pictures, reviewed (file viewed, EXIF not)."""
    from datetime import UTC, datetime

    draft = svc.create_draft(body(**body_overrides), matched_at=datetime(2026, 3, 1, 10, 5, tzinfo=UTC))
    for i in range(files):
        svc.add_file(
            draft.report.id,
            data=image_bytes(seed * 100 + i + 1),
            file_name=f"upload-{i + 1}.jpg",
            media_type="image/jpeg",
            viewed_by_human=True,
            exif_viewed_by_human=False,
            review_ref=f"decision-{i + 1}",
            facts={"uploaded_at": "2026-03-01T09:58:00Z", "location_url": f"https://cdn.example.org/{i}"},
        )
    return draft.report.id


#: NCMEC's own CyberTipline schema (``../shared``, next to the checkout); absent on some machines.
REAL_XSD = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "ncmec" / "cyber_tipline.xsd"


def ncmec_schema() -> Path:
    """The schema the fake CyberTipline validates with: NCMEC's own when it is here, else the fake's."""
    from ohsc.reports.ncmec.fake_server import SCHEMA_PATH

    return REAL_XSD if REAL_XSD.is_file() else SCHEMA_PATH
