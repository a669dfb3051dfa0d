"""Destinations that write signed JSON packages to a folder: UK NCA, EU Centre, local folder.

Each package is ``<outbox>/<destination>/<report ref>.json`` with its detached Ed25519 signature
beside it (``.json.sig``). The package is built only from the frozen report, so writing it again
after an interruption produces the same bytes; it is written to a temporary name and renamed, so a
reader never sees half a package. A retraction is a second signed package
(``<report ref>.retraction.json``) naming the first by its SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import os
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from ohsc.errors import ConfigError
from ohsc.permissions import private_dir
from ohsc.reports import profiles
from ohsc.reports.destinations.base import ReportDestination, SubmissionHandle
from ohsc.reports.signing import Signer, canonical_json, load_or_create
from ohsc.reports.snapshot import Provider, ReportSnapshot, file_evidence_key
from ohsc.reports.tables import S_FINISHED, S_RETRACTED
from ohsc.reports.validation import Problem
from ohsc.settings import Settings
from ohsc.store.types import utcnow

PACKAGE_FORMAT = "ohsc-report-package/1"


def outbox_dir(settings: Settings) -> Path:
    return settings.report_outbox_dir or (settings.home / "outbox")


def _write_atomic(path: Path, data: bytes) -> None:
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class PackageDestination(ReportDestination):
    """A signed JSON package in ``<outbox>/<name>/``."""

    profile: ClassVar[str]

    @abstractmethod
    def payload(self, report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
        """The profile's JSON body."""

    def __init__(self, settings: Settings, *, signer: Signer | None = None) -> None:
        super().__init__(settings)
        self._signer = signer

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(load_or_create(self.settings.report_signing_key, self.settings.home))
        return self._signer

    @property
    def folder(self) -> Path:
        return outbox_dir(self.settings) / self.name

    def check_config(self) -> None:
        folder = outbox_dir(self.settings)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"OHSC_REPORT_OUTBOX_DIR {folder} is not a folder")

    def _envelope(
        self, report: ReportSnapshot, provider: Provider, content: Callable[[Any], bytes] | None
    ) -> dict[str, Any]:
        # Built only from the frozen report, so a rewrite after a crash gives the same bytes.
        payload = self.payload(report, provider)
        files = []
        for f in report.files:
            entry: dict[str, Any] = {"position": f.position, "sha256": f.sha256, "size": f.size}
            if self.settings.report_package_content == "embed" and content is not None:
                entry["content_base64"] = base64.b64encode(content(f)).decode()
            else:
                entry["evidence_key"] = file_evidence_key(report.id, f.id)
            files.append(entry)
        return {
            "format": PACKAGE_FORMAT,
            "profile": self.profile,
            "destination": self.name,
            "report_ref": report.ref,
            "created_at": (report.submitted_at or report.updated_at).isoformat(),
            "signer": self.signer.describe(),
            "payload": payload,
            "content": files,
        }

    def preview(self, report: ReportSnapshot, provider: Provider) -> dict[str, bytes]:
        return {f"{report.ref}.json": canonical_json(self._envelope(report, provider, None))}

    def submit(self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle) -> None:
        if handle.state == S_FINISHED:
            return
        self.check_config()
        data = canonical_json(self._envelope(report, provider, handle.content))
        path = self.folder / f"{report.ref}.json"
        handle.progress(f"writing {path}")
        signature = self.signer.sign(data)
        _write_atomic(path, data)
        _write_atomic(path.with_name(path.name + ".sig"), (signature + "\n").encode())
        digest = hashlib.sha256(data).hexdigest()
        handle.keep_document(path.name, data)
        handle.save(
            state=S_FINISHED,
            remote_id=path.name,
            receipt={
                "path": str(path),
                "sha256": digest,
                "key_id": self.signer.key_id,
                "profile": self.profile,
            },
        )
        handle.audit("package.write", {"package": path.name, "sha256": digest, "key_id": self.signer.key_id})

    def retract(
        self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle, reason: str
    ) -> None:
        if handle.state == S_RETRACTED:
            return
        if handle.state == S_FINISHED:
            doc = {
                "format": PACKAGE_FORMAT,
                "profile": self.profile,
                "destination": self.name,
                "report_ref": report.ref,
                "retracts": {"package": handle.remote_id, "sha256": handle.receipt.get("sha256")},
                "reason": reason,
                "retracted_at": utcnow().isoformat(),
                "signer": self.signer.describe(),
            }
            data = canonical_json(doc)
            path = self.folder / f"{report.ref}.retraction.json"
            _write_atomic(path, data)
            _write_atomic(path.with_name(path.name + ".sig"), (self.signer.sign(data) + "\n").encode())
            handle.keep_document(path.name, data)
            handle.audit(
                "package.retract", {"package": path.name, "sha256": hashlib.sha256(data).hexdigest()}
            )
        handle.save(state=S_RETRACTED)


class LocalFolderDestination(PackageDestination):
    """For development: everything OHSC knows, signed, in a local folder."""

    name = "local-folder"
    title = "Local folder"
    profile = profiles.LOCAL_PROFILE

    def payload(self, report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
        return profiles.local_payload(report, provider)


class UkNcaDestination(PackageDestination):
    name = "uk-nca"
    title = "UK National Crime Agency (package)"
    profile = profiles.UK_NCA_PROFILE

    def payload(self, report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
        return profiles.uk_nca_payload(report, provider)

    def problems(self, report: ReportSnapshot, provider: Provider) -> list[Problem]:
        out: list[Problem] = []
        person = report.reporting_person(provider)
        if not (person.first_name and person.last_name and person.email):
            out.append(
                self.problem(
                    "reporting_person",
                    "the NCA needs the authorised person's name and e-mail (or OHSC_REPORT_CONTACT_*)",
                )
            )
        if "GB" not in report.body.jurisdictions:
            out.append(
                self.problem(
                    "jurisdictions",
                    "non-UK providers report only UK-linked content to the NCA (Online Safety Act s.66(2))",
                    "warning",
                )
            )
        if report.body.incident.content_removed is None:
            out.append(
                self.problem("incident.content_removed", "say whether the content was removed", "warning")
            )
        return out


class EuCentreDestination(PackageDestination):
    name = "eu-centre"
    title = "EU Centre on Child Sexual Abuse (package, proposed regulation)"
    profile = profiles.EU_CENTRE_PROFILE

    def payload(self, report: ReportSnapshot, provider: Provider) -> dict[str, Any]:
        return profiles.eu_centre_payload(report, provider)

    def problems(self, report: ReportSnapshot, provider: Provider) -> list[Problem]:
        out: list[Problem] = []
        inc = report.body.incident
        if inc.content_kind is None:
            out.append(
                self.problem(
                    "incident.content_kind",
                    "say whether this is known material, new material or solicitation (Art. 13(1)(e))",
                )
            )
        if inc.content_removed is None:
            out.append(
                self.problem(
                    "incident.content_removed", "say whether the content was removed (Art. 13(1)(i))"
                )
            )
        if not provider.company_name:
            out.append(self.problem("provider", "set the provider's name (OHSC_REPORT_COMPANY_NAME)"))
        has_geo = any(a.ip_events or a.location for a in report.body.accounts) or any(
            f.facts.upload_ip for f in report.files
        )
        if not has_geo:
            out.append(
                self.problem(
                    "accounts",
                    "no IP address or location: the geographic data will be empty (Art. 13(1)(f))",
                    "warning",
                )
            )
        return out
