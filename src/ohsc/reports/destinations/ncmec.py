"""NCMEC CyberTipline: the documented flow, made resumable without ever filing twice.

States (stored after every step, before the next request):

``pending`` -> ``opening`` -> ``open`` (remote report id) -> per file ``uploading`` -> ``uploaded``
(remote file id, MD5) -> ``described`` -> ``finishing`` -> ``finished``.

Only a *finished* CyberTipline report is a report: NCMEC deletes an unfinished one 24 hours after
it was opened, or 1 hour after its last change, and nothing can be added to a finished one. So:

* killed during ``/submit`` (state ``opening``): NCMEC may hold an unfinished report whose id we
  never learnt. It is never finished and expires on its own; we open a new one (audited).
* killed during an ``/upload`` (a file ``uploading``): we cannot know whether NCMEC kept a copy,
  and uploading again could put the file in the report twice. We cancel the open report
  (``/retract``) and start again from ``/submit`` (audited, the old id kept in ``abandoned``).
* ``/fileinfo`` is sent again: it describes a file id we already hold, so repeating it cannot add
  anything.
* killed during ``/finish``: we call ``/finish`` again; "report already finished" (5102) is the
  answer that it had worked.
* an open report that expired meanwhile ("report does not exist", 5001) is started again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from ohsc.errors import (
    ConfigError,
    DestinationRejectedError,
    DestinationUnavailableError,
    ReportStateError,
)
from ohsc.reports.destinations.base import ReportDestination, SubmissionHandle
from ohsc.reports.ncmec import client as api
from ohsc.reports.ncmec.client import CyberTiplineClient
from ohsc.reports.ncmec.xml import SchemaCheck, build_file_details, build_report
from ohsc.reports.snapshot import FileSnapshot, Provider, ReportSnapshot
from ohsc.reports.tables import (
    F_DESCRIBED,
    F_PENDING,
    F_UPLOADED,
    F_UPLOADING,
    S_FAILED,
    S_FINISHED,
    S_FINISHING,
    S_OPEN,
    S_OPENING,
    S_PENDING,
    S_RETRACTED,
)
from ohsc.reports.validation import Problem
from ohsc.settings import Settings

T = TypeVar("T")

#: Fresh remote reports one run may open before giving up (each restart is audited).
MAX_RESTARTS = 3


class NcmecDestination(ReportDestination):
    name = "ncmec"
    title = "NCMEC CyberTipline"

    def __init__(
        self,
        settings: Settings,
        *,
        client_factory: Callable[[], CyberTiplineClient] | None = None,
        retry_delays: Sequence[float] = (1.0, 3.0, 10.0),
    ) -> None:
        super().__init__(settings)
        self._client_factory = client_factory
        self.retry_delays = tuple(retry_delays)
        self._schema: SchemaCheck | None = None

    # --- configuration -----------------------------------------------------------------------

    def check_config(self) -> None:
        s = self.settings
        missing = [
            name
            for name, value in (
                ("OHSC_NCMEC_BASE_URL", s.ncmec_base_url),
                ("OHSC_NCMEC_USERNAME", s.ncmec_username),
                ("OHSC_NCMEC_PASSWORD", s.ncmec_password),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"the NCMEC destination needs {', '.join(missing)} "
                f"(NCMEC's test host is {api.TEST_BASE_URL}; `ohsc report fake-server` runs a local one)"
            )
        api.check_base_url(s.ncmec_base_url or "")

    def client(self) -> CyberTiplineClient:
        if self._client_factory is not None:
            return self._client_factory()
        self.check_config()
        s = self.settings
        return CyberTiplineClient(
            s.ncmec_base_url or "",
            s.ncmec_username or "",
            s.ncmec_password or "",
            timeout=s.ncmec_timeout_seconds,
        )

    @property
    def schema(self) -> SchemaCheck | None:
        if self.settings.ncmec_xsd_path is None:
            return None
        if self._schema is None:
            self._schema = SchemaCheck(self.settings.ncmec_xsd_path)
        return self._schema

    # --- validation --------------------------------------------------------------------------

    def problems(self, report: ReportSnapshot, provider: Provider) -> list[Problem]:
        out: list[Problem] = []
        person = report.reporting_person(provider)
        if not person.email:
            out.append(
                self.problem(
                    "reporting_person.email",
                    "NCMEC needs the e-mail of the person reporting: fill it in, or set OHSC_REPORT_CONTACT_EMAIL",
                )
            )
        reported = [a for a in report.body.accounts if a.relation == "reported"]
        if len(reported) > 1:
            out.append(
                self.problem(
                    "accounts",
                    "NCMEC takes one reported person per report: mark the other accounts of the same "
                    "person as 'associated', or file a separate report for another person",
                )
            )
        for f in report.files:
            where = f"files.{f.position}"
            if f.viewed_by_human is None and f.facts.relevance == "reported":
                out.append(
                    self.problem(
                        f"{where}.viewed_by_human",
                        "the review record does not say whether a person viewed this file: NCMEC and "
                        "law enforcement rely on it (an unviewed file may need a warrant to open); "
                        "record the review first",
                    )
                )
            if f.exif_viewed_by_human is None:
                out.append(
                    self.problem(
                        f"{where}.exif_viewed_by_human",
                        "the review record does not say whether the EXIF data was viewed; it will be left out",
                        "warning",
                    )
                )
        if self.schema is not None and not any(p.severity == "error" for p in out):
            try:
                docs = self.preview(report, provider)
            except Exception as exc:  # a draft too incomplete to build is reported by the common checks
                return [*out, self.problem("report", f"cannot build the NCMEC documents: {exc}", "warning")]
            for name, data in docs.items():
                for message in self.schema.problems(data)[:5]:
                    out.append(self.problem(name, f"does not match {self.schema.path.name}: {message}"))
        return out

    def preview(self, report: ReportSnapshot, provider: Provider) -> dict[str, bytes]:
        docs = {"report.xml": build_report(report, provider)}
        for f in report.files:
            docs[f"fileDetails-{f.position + 1}.xml"] = build_file_details("0", f"file-{f.position + 1}", f)
        return docs

    # --- submitting --------------------------------------------------------------------------

    def _retrying(self, step: Callable[[], T]) -> T:
        """Repeat a step that is safe to repeat while NCMEC is briefly unavailable."""
        for delay in self.retry_delays:
            try:
                return step()
            except DestinationUnavailableError:
                time.sleep(delay)
        return step()

    def _check(self, data: bytes, what: str) -> None:
        if self.schema is not None:
            self.schema.check(data, what)

    def submit(self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle) -> None:
        if handle.state == S_FINISHED:
            return
        if handle.state == S_RETRACTED:
            raise ReportStateError(f"{report.ref} was retracted from NCMEC")
        with self.client() as client:
            for _ in range(MAX_RESTARTS + 1):
                if self._run(client, report, provider, handle):
                    return
            raise DestinationUnavailableError(
                f"NCMEC: gave up after opening {MAX_RESTARTS + 1} reports for {report.ref}; "
                "the earlier ones were cancelled (see the audit log); try again later"
            )

    def _run(
        self, client: CyberTiplineClient, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle
    ) -> bool:
        """One pass; True when finished, False when a fresh remote report has to be opened."""
        if handle.state == S_OPENING:
            handle.audit(
                "ncmec.submit_interrupted",
                {"note": "an unfinished NCMEC report may exist; NCMEC deletes it unfinished"},
            )
            handle.save(state=S_PENDING)
        if handle.state in (S_PENDING, S_FAILED):
            self._open(client, report, provider, handle)
        if handle.state == S_OPEN:
            rid = handle.remote_id or ""
            if any(p.state == F_UPLOADING for p in handle.files().values()):
                return self._abandon(client, handle, "an upload was interrupted")
            try:
                for f in report.files:
                    self._send_file(client, rid, f, handle)
            except DestinationRejectedError as exc:
                if exc.response_code == api.REPORT_DOES_NOT_EXIST:
                    return self._expired(handle)
                raise
            handle.save(state=S_FINISHING)
        if handle.state == S_FINISHING:
            return self._finish(client, report, provider, handle)
        return handle.state == S_FINISHED

    def _open(
        self, client: CyberTiplineClient, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle
    ) -> None:
        xml = build_report(report, provider)
        self._check(xml, "report")
        handle.progress("opening the report (/submit)")
        handle.save(state=S_OPENING, new_attempt=True)
        try:
            rid = client.submit(xml)
        except DestinationRejectedError:
            handle.save(state=S_PENDING)  # refused outright: nothing was opened
            raise
        handle.save(state=S_OPEN, remote_id=rid)
        handle.audit("ncmec.open", {"ncmec_report_id": rid})

    def _send_file(
        self, client: CyberTiplineClient, rid: str, f: FileSnapshot, handle: SubmissionHandle
    ) -> None:
        progress = handle.files()[f.id]
        state, file_id = progress.state, progress.remote_file_id
        if state == F_PENDING:
            data = handle.content(f)
            handle.progress(f"uploading file {f.position + 1} ({f.size} bytes, /upload)")
            handle.save_file(f.id, state=F_UPLOADING)
            try:
                file_id, md5 = client.upload(rid, f.name, data, f.media_type)
            except DestinationRejectedError:
                handle.save_file(f.id, state=F_PENDING)  # refused: nothing was added
                raise
            if md5 is not None and md5 != f.md5:
                handle.save_file(f.id, state=F_UPLOADING)  # what NCMEC holds is wrong: start again
                raise DestinationUnavailableError(
                    f"NCMEC received file {f.position + 1} damaged (MD5 {md5}, sent {f.md5}); "
                    "the next attempt cancels this report and opens a new one"
                )
            handle.save_file(f.id, state=F_UPLOADED, remote_file_id=file_id, remote_hash=md5)
            state = F_UPLOADED
        if state == F_UPLOADED:
            xml = build_file_details(rid, file_id or "", f)
            self._check(xml, f"file details of file {f.position + 1}")
            handle.progress(f"describing file {f.position + 1} (/fileinfo)")
            self._retrying(lambda: client.fileinfo(xml))
            handle.save_file(f.id, state=F_DESCRIBED, remote_file_id=file_id)

    def _finish(
        self, client: CyberTiplineClient, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle
    ) -> bool:
        rid = handle.remote_id or ""
        handle.progress("finishing the report (/finish)")
        file_ids: list[str] = []
        try:
            done = self._retrying(lambda: client.finish(rid))
            file_ids = list(done.file_ids)
        except DestinationRejectedError as exc:
            if exc.response_code == api.REPORT_DOES_NOT_EXIST:
                return self._expired(handle)
            if exc.response_code != api.REPORT_ALREADY_FINISHED:
                raise
            handle.audit(
                "ncmec.finish_confirmed", {"ncmec_report_id": rid, "response_code": exc.response_code}
            )
        progress = handle.files()
        if not file_ids:
            file_ids = [p.remote_file_id for p in progress.values() if p.remote_file_id]
        # The documents as sent (the builders are deterministic), kept as evidence.
        handle.keep_document(f"ncmec-{rid}/report.xml", build_report(report, provider))
        for f in report.files:
            fid = progress[f.id].remote_file_id or ""
            handle.keep_document(f"ncmec-{rid}/fileDetails-{fid}.xml", build_file_details(rid, fid, f))
        handle.save(state=S_FINISHED, receipt={"ncmec_report_id": rid, "file_ids": file_ids})
        handle.audit("ncmec.finish", {"ncmec_report_id": rid, "files": len(report.files)})
        return True

    def _abandon(self, client: CyberTiplineClient, handle: SubmissionHandle, why: str) -> bool:
        """Cancel the open remote report and go back to ``pending``; True if it had been finished."""
        rid = handle.remote_id or ""
        handle.progress(f"cancelling NCMEC report {rid} ({why}) and starting again")
        try:
            self._retrying(lambda: client.retract(rid))
        except DestinationRejectedError as exc:
            if exc.response_code == api.REPORT_ALREADY_FINISHED:  # cannot happen before /finish
                handle.save(state=S_FINISHED, receipt={"ncmec_report_id": rid})
                return True
            if exc.response_code not in (api.REPORT_DOES_NOT_EXIST, api.REPORT_ALREADY_RETRACTED):
                raise
        handle.audit("ncmec.restart", {"abandoned_ncmec_report_id": rid, "reason": why})
        handle.save(state=S_PENDING, abandon_remote=why)
        handle.reset_files()
        return False

    def _expired(self, handle: SubmissionHandle) -> bool:
        rid = handle.remote_id
        handle.audit("ncmec.restart", {"abandoned_ncmec_report_id": rid, "reason": "expired at NCMEC"})
        handle.save(state=S_PENDING, abandon_remote="expired at NCMEC before it was finished")
        handle.reset_files()
        return False

    # --- retracting --------------------------------------------------------------------------

    def cannot_retract(self, state: str, remote_id: str | None) -> str | None:
        if state == S_FINISHED:
            return (
                f"NCMEC CyberTipline report {remote_id} is finished: NCMEC does not allow a finished "
                "report to be retracted; contact NCMEC about it"
            )
        return None

    def retract(
        self, report: ReportSnapshot, provider: Provider, handle: SubmissionHandle, reason: str
    ) -> None:
        state = handle.state
        if state == S_RETRACTED:
            return
        blocked = self.cannot_retract(state, handle.remote_id)
        if blocked:
            raise ReportStateError(blocked)
        if state in (S_OPEN, S_FINISHING) and handle.remote_id:
            rid = handle.remote_id
            with self.client() as client:
                try:
                    self._retrying(lambda: client.retract(rid))
                except DestinationRejectedError as exc:
                    if exc.response_code == api.REPORT_ALREADY_FINISHED:
                        handle.save(state=S_FINISHED, receipt={"ncmec_report_id": rid})
                        raise ReportStateError(
                            f"NCMEC had already finished CyberTipline report {rid}: it cannot be retracted"
                        ) from None
                    if exc.response_code not in (api.REPORT_DOES_NOT_EXIST, api.REPORT_ALREADY_RETRACTED):
                        raise
            handle.audit("ncmec.retract", {"ncmec_report_id": rid})
        elif state == S_OPENING:
            handle.audit(
                "ncmec.retract",
                {"note": "interrupted while opening: an unfinished report may exist and expires unfinished"},
            )
        handle.save(state=S_RETRACTED)
