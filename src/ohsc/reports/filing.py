"""Submitting and retracting: freeze the draft, preserve the evidence, run each destination.

1. **Freeze** (one transaction): check the draft for every destination that applies, fix the
   destinations, create one submission per destination, status ``submitting``.
2. **Preserve**: each file goes to the evidence store (idempotent per file).
3. **Submit**: each destination in turn, under a lease, saving every step (see
   :mod:`ohsc.reports.destinations.ncmec` for how NCMEC resumes without filing twice). A
   destination that fails is recorded and the others still run.
4. **Settle**: all finished -> ``filed``: the report record is preserved, the retention period
   starts at the filing time, the report's own working copy of the content is deleted (the
   evidence copy stays). Nothing sent anywhere and a refusal -> ``failed`` (editable again).
   Otherwise it stays ``submitting``; submitting again resumes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ohsc import audit
from ohsc.errors import (
    ConfigError,
    ConflictError,
    DestinationError,
    InvalidInputError,
    OhscError,
    ReportStateError,
    ReportValidationError,
)
from ohsc.reports.snapshot import FileSnapshot, ReportSnapshot, document_evidence_key, file_evidence_key
from ohsc.reports.submission import DbSubmissionHandle, Lease, SubmissionInfo, new_owner
from ohsc.reports.tables import (
    EDITABLE,
    FAILED,
    FILED,
    RETRACTED,
    S_FINISHED,
    S_PENDING,
    S_RETRACTED,
    SUBMITTING,
    SubmissionFileRow,
    SubmissionRow,
)
from ohsc.reports.validation import errors
from ohsc.store.types import utcnow
from ohsc.store.unit import unit_of_work

if TYPE_CHECKING:
    from ohsc.reports.service import ReportService

RECORD_KIND = "record"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    report: ReportSnapshot
    submissions: list[SubmissionInfo]

    @property
    def filed(self) -> bool:
        return self.report.status == FILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.report.to_dict(),
            "submissions": [x.to_dict() for x in self.submissions],
        }


class Filing:
    def __init__(self, service: ReportService) -> None:
        self.service = service
        self.store = service.store
        self.actor = service.actor.name

    # --- submit ------------------------------------------------------------------------------

    def submit(
        self, report_id: int, *, take_over: bool = False, expected_version: int | None = None
    ) -> SubmitResult:
        snap, subs = self._freeze(report_id, expected_version)
        if snap.status == FILED:
            return self._result(report_id)
        self._preserve_files(snap)
        failures: list[tuple[str, OhscError]] = []
        for sub_id, name in subs:
            try:
                self._run(snap, sub_id, name, take_over)
            except (DestinationError, ConfigError, ReportValidationError) as exc:
                failures.append((name, exc))
        self._settle(report_id, failures)
        result = self._result(report_id)
        if failures:
            done = sum(1 for x in result.submissions if x.state == S_FINISHED)
            name, first = failures[0]
            again = "" if result.report.status == FAILED else f"; `ohsc report submit {report_id}` resumes"
            message = (
                f"{name}: {first.message} ({done} of {len(result.submissions)} destinations done{again})"
            )
            if isinstance(first, DestinationError):
                raise type(first)(message, response_code=first.response_code, detail=first.detail)
            raise type(first)(message, detail=first.detail)
        return result

    def _freeze(
        self, report_id: int, expected_version: int | None = None
    ) -> tuple[ReportSnapshot, list[tuple[int, str]]]:
        service = self.service
        with self.store.session() as s:
            row = service._load(s, report_id, lock=True)
            if row.status == RETRACTED:
                raise ReportStateError(f"report {row.id} was retracted")
            snap = ReportSnapshot.from_row(row)
            if row.status == FILED:
                return snap, []
            if row.status in EDITABLE:
                if expected_version is not None and expected_version != row.version:
                    raise ConflictError(
                        f"report {row.id} changed after you checked it (version {row.version}, you "
                        f"confirmed {expected_version}): look at it again before submitting",
                        detail={"version": row.version},
                    )
                names = service.destinations_of(snap)  # a configuration error is raised here
                problems = service.problems(snap)
                blocking = errors(problems)
                if blocking:
                    listed = "; ".join(str(p) for p in blocking[:8])
                    more = f" (and {len(blocking) - 8} more)" if len(blocking) > 8 else ""
                    raise ReportValidationError(
                        f"report {row.id} is not ready: {listed}{more}",
                        detail={"problems": [p.to_dict() for p in problems]},
                    )
                for name in names:
                    service.destination(name).check_config()
                row.status = SUBMITTING
                row.destinations = names
                row.submitted_at = row.submitted_at or utcnow()
                have = {x.destination for x in row.submissions}
                for name in names:
                    if name not in have:
                        row.submissions.append(
                            SubmissionRow(
                                destination=name,
                                state=S_PENDING,
                                files=[SubmissionFileRow(report_file_id=f.id) for f in row.files],
                            )
                        )
                s.flush()
                audit.record(
                    s,
                    actor=self.actor,
                    action="report.submit",
                    object_type="report",
                    object_id=row.id,
                    details={
                        "destinations": names,
                        "version": row.version,
                        "files": [f.sha256 for f in row.files],
                        "warnings": [str(p) for p in problems if p.severity == "warning"][:20],
                    },
                )
                snap = ReportSnapshot.from_row(row)
            else:
                audit.record(
                    s,
                    actor=self.actor,
                    action="report.resume",
                    object_type="report",
                    object_id=row.id,
                    details={"states": {x.destination: x.state for x in row.submissions}},
                )
            return snap, [(x.id, x.destination) for x in row.submissions]

    def _preserve_files(self, snap: ReportSnapshot) -> None:
        evidence = self.service.evidence
        for f in snap.files:
            key = file_evidence_key(snap.id, f.id)
            if evidence.has(key):
                continue
            evidence.preserve(
                source_key=key,
                subject_type="report",
                subject_id=str(snap.id),
                kind="file",
                data=self.service.content(f),
                facts={
                    "report_id": snap.id,
                    "file_id": f.id,
                    "file_name": f.name,
                    "media_type": f.media_type,
                    "md5": f.md5,
                    "sha1": f.sha1,
                    "review_ref": f.review_ref,
                    "viewed_by_human": f.viewed_by_human,
                    "exif_viewed_by_human": f.exif_viewed_by_human,
                    "matches": list(f.matches),
                },
                jurisdictions=snap.body.jurisdictions,
            )

    def _keep(self, snap: ReportSnapshot) -> Any:
        def keep(destination: str, name: str, data: bytes) -> None:
            self.service.evidence.preserve(
                source_key=document_evidence_key(snap.id, destination, name),
                subject_type="report",
                subject_id=str(snap.id),
                kind="document",
                data=data,
                facts={"report_id": snap.id, "destination": destination, "name": name},
                jurisdictions=snap.body.jurisdictions,
            )

        return keep

    def _content(self, snap: ReportSnapshot) -> Any:
        """Destinations send the preserved copy: what is sent is exactly what is kept."""

        def content(destination: str, f: FileSnapshot) -> bytes:
            return self.service.evidence.read_for_submission(file_evidence_key(snap.id, f.id), destination)

        return content

    def _handle(self, snap: ReportSnapshot, sub_id: int, lease: Lease) -> DbSubmissionHandle:
        return DbSubmissionHandle(
            self.store,
            snap,
            sub_id,
            lease,
            actor=self.actor,
            content=self._content(snap),
            keep=self._keep(snap),
            progress=self.service.progress,
        )

    def _run(self, snap: ReportSnapshot, sub_id: int, name: str, take_over: bool) -> None:
        lease = Lease(self.store, sub_id, new_owner(), self.actor)
        lease.acquire(take_over=take_over)
        try:
            handle = self._handle(snap, sub_id, lease)
            if handle.state in (S_FINISHED, S_RETRACTED):
                return
            try:
                self.service.destination(name).submit(snap, self.service.provider, handle)
            except (DestinationError, ConfigError, ReportValidationError) as exc:
                code = exc.response_code if isinstance(exc, DestinationError) else None
                handle.record_error(exc.message, code)
                handle.audit("submit_error", {"error": exc.code, "response_code": code})
                raise
        finally:
            lease.release()

    def _settle(self, report_id: int, failures: list[tuple[str, OhscError]]) -> None:
        filed = None
        with self.store.session() as s:
            row = self.service._load(s, report_id, lock=True)
            subs = list(row.submissions)
            if subs and all(x.state == S_FINISHED for x in subs):
                row.status = FILED
                row.filed_at = utcnow()
                audit.record(
                    s,
                    actor=self.actor,
                    action="report.filed",
                    object_type="report",
                    object_id=row.id,
                    details={
                        "destinations": {x.destination: x.remote_id for x in subs},
                        "files": len(row.files),
                    },
                )
                filed = ReportSnapshot.from_row(row)
                infos = [SubmissionInfo.from_row(x) for x in subs]
            elif failures and all(x.state == S_PENDING and x.remote_id is None for x in subs):
                # Refused before anything was sent anywhere (earlier attempts, if any, were
                # cancelled or expired unfinished): the draft can be corrected.
                row.status = FAILED
                audit.record(
                    s,
                    actor=self.actor,
                    action="report.failed",
                    object_type="report",
                    object_id=row.id,
                    details={"errors": {name: exc.code for name, exc in failures}},
                )
        if filed is not None:
            self._preserve_record(filed, infos)
            assert filed.filed_at is not None
            self.service.evidence.restart_retention("report", str(filed.id), at=filed.filed_at)
            self._release_content(filed)

    def _preserve_record(self, snap: ReportSnapshot, infos: list[SubmissionInfo]) -> None:
        record = {"report": snap.to_dict(), "submissions": [x.to_dict() for x in infos]}
        data = (json.dumps(record, sort_keys=True, ensure_ascii=False, indent=1) + "\n").encode()
        self.service.evidence.preserve(
            source_key=f"report:{snap.id}:{RECORD_KIND}",
            subject_type="report",
            subject_id=str(snap.id),
            kind=RECORD_KIND,
            data=data,
            facts={"report_id": snap.id, "destinations": {x.destination: x.remote_id for x in infos}},
            jurisdictions=snap.body.jurisdictions,
        )

    def _release_content(self, snap: ReportSnapshot) -> None:
        """Delete the report's own copy of the content: the evidence store holds it from now on."""
        released = []
        with unit_of_work(self.store, self.service.blobs) as work:  # blobs go once the rows commit
            s = work.session
            row = self.service._load(s, snap.id, lock=True)
            for f in row.files:
                if f.content_owned and f.content_blob_id:
                    work.release(f.content_namespace, f.content_blob_id)
                    f.content_blob_id = None
                    released.append(f.id)
            if released:
                audit.record(
                    s,
                    actor=self.actor,
                    action="report.content_released",
                    object_type="report",
                    object_id=row.id,
                    details={"files": released, "kept_in": "evidence"},
                )

    def _result(self, report_id: int) -> SubmitResult:
        with self.store.session() as s:
            row = self.service._load(s, report_id)
            return SubmitResult(
                ReportSnapshot.from_row(row), [SubmissionInfo.from_row(x) for x in row.submissions]
            )

    # --- retract -----------------------------------------------------------------------------

    def retract(self, report_id: int, *, reason: str) -> SubmitResult:
        reason = reason.strip()
        if not reason:
            raise InvalidInputError("say why the report is retracted (--reason)")
        with self.store.session() as s:
            row = self.service._load(s, report_id, lock=True)
            if row.status == RETRACTED:
                raise ReportStateError(f"report {row.id} was already retracted")
            if row.submitted_at is None:
                raise ReportStateError(
                    f"report {row.id} was never submitted: discard the draft instead (ohsc report discard)"
                )
            snap = ReportSnapshot.from_row(row)
            subs = [(x.id, x.destination, x.state, x.remote_id) for x in row.submissions]
        blocked = [
            why
            for _, name, state, remote_id in subs
            if (why := self.service.destination(name).cannot_retract(state, remote_id))
        ]
        if blocked:
            raise ReportStateError("; ".join(blocked))
        for sub_id, name, _, _ in subs:
            lease = Lease(self.store, sub_id, new_owner(), self.actor)
            lease.acquire()
            try:
                handle = self._handle(snap, sub_id, lease)
                self.service.destination(name).retract(snap, self.service.provider, handle, reason)
            finally:
                lease.release()
        with self.store.session() as s:
            row = self.service._load(s, report_id, lock=True)
            row.status = RETRACTED
            row.retracted_at = utcnow()
            row.retraction_reason = reason
            audit.record(
                s,
                actor=self.actor,
                action="report.retract",
                object_type="report",
                object_id=row.id,
                details={"reason": reason, "destinations": {x.destination: x.state for x in row.submissions}},
            )
        return self._result(report_id)
