"""The one exception tree of OHSC.

Every error a user can cause or meet is an :class:`OhscError` with a stable ``code``; the CLI
translates it once into a message and exit status, the web app once into an RFC 9457 problem
document. Messages name identifiers (paths, bank names, entry ids), never content.
"""

from __future__ import annotations


class OhscError(Exception):
    """Base of every OHSC error."""

    code = "error"
    http_status = 500
    exit_code = 1

    def __init__(self, message: str, *, detail: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


# --- configuration and storage -------------------------------------------------------------


class ConfigError(OhscError):
    code = "config"
    exit_code = 3


class StoreError(OhscError):
    """The store is unreachable, its schema is wrong, or a write failed."""

    code = "store"
    http_status = 503
    exit_code = 3


class IndexCorruptError(OhscError):
    """An index file failed its checksum or format check; it is rebuilt from the store."""

    code = "index_corrupt"


# --- input ---------------------------------------------------------------------------------


class InvalidInputError(OhscError):
    code = "invalid_input"
    http_status = 422
    exit_code = 2


class InvalidSignalError(InvalidInputError):
    """A hash value does not fit its signal type."""

    code = "invalid_signal"


class UnknownSignalTypeError(InvalidInputError):
    code = "unknown_signal_type"


class FormatError(InvalidInputError):
    """A file in an import format could not be read at all (single rows are reported, not raised)."""

    code = "format"


class ImportLimitError(FormatError):
    """A hash-list file goes beyond a limit that keeps reading it in bounded memory and time
    (nesting depth, string size). The import stops; batches committed before stay."""

    code = "import_limit"
    http_status = 413


# --- media ---------------------------------------------------------------------------------


class MediaError(OhscError):
    """A file could not be hashed as media. Scans record it and go on."""

    code = "media"
    http_status = 422


class ImageDecodeError(MediaError):
    code = "image_decode"


class ImageTooLargeError(MediaError):
    """Decompression-bomb guard: the image declares more pixels than allowed, or would need more
    memory to decode than one picture may take (the service's limits)."""

    code = "image_too_large"
    http_status = 413


class DecodeBusyError(OhscError):
    """The process's memory budget for decoding pictures stayed taken by other requests for
    longer than allowed; ``retry_after`` is in seconds. Not a fault of the content."""

    code = "decode_busy"
    http_status = 503

    def __init__(
        self, message: str, *, retry_after: float = 5.0, detail: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class FileTooLargeError(MediaError):
    code = "file_too_large"
    http_status = 413


class ArchiveMemberError(MediaError):
    """A hostile or broken archive member: path traversal, bomb ratio, unreadable."""

    code = "archive_member"


class UnreadableFileError(MediaError):
    code = "unreadable"


# --- domain objects ------------------------------------------------------------------------


class NotFoundError(OhscError):
    code = "not_found"
    http_status = 404
    exit_code = 4


class BankNotFoundError(NotFoundError):
    code = "bank_not_found"


class EntryNotFoundError(NotFoundError):
    code = "entry_not_found"


class ConflictError(OhscError):
    code = "conflict"
    http_status = 409
    exit_code = 5


class BankExistsError(ConflictError):
    code = "bank_exists"


class AmbiguousReferenceError(ConflictError):
    """A reference (external id, hash) names more than one object."""

    code = "ambiguous"


# --- access --------------------------------------------------------------------------------


class AuthenticationError(OhscError):
    code = "unauthenticated"
    http_status = 401
    exit_code = 6


class PermissionDeniedError(OhscError):
    code = "forbidden"
    http_status = 403
    exit_code = 6


class AuditChainError(OhscError):
    """The audit log's hash chain does not verify."""

    code = "audit_chain"
    exit_code = 7


# --- prevention ----------------------------------------------------------------------------


class TermListError(FormatError):
    """A term-list file cannot be used. Messages name the file and line, never a listed term."""

    code = "term_list"


class ChallengeError(InvalidInputError):
    """An anonymous form came back without a valid token: expired, too fast, or no proof of work."""

    code = "challenge"


class StateError(ConflictError):
    """The object is not in a state that allows this step (publishing a draft, tipping a retired object)."""

    code = "invalid_state"


class TwoPersonRuleError(PermissionDeniedError):
    """Publishing needs a second person: whoever prepared an object cannot approve it."""

    code = "two_person_rule"


class HelpServiceNotFoundError(NotFoundError):
    code = "help_service_not_found"


class TraceObjectNotFoundError(NotFoundError):
    code = "trace_object_not_found"


class TipNotFoundError(NotFoundError):
    code = "tip_not_found"


# --- reports and evidence (ohsc.reports, ohsc.evidence) ------------------------------------


class ReportNotFoundError(NotFoundError):
    code = "report_not_found"


class EvidenceNotFoundError(NotFoundError):
    code = "evidence_not_found"


class ReportValidationError(InvalidInputError):
    """A draft is not complete or not valid for a destination; ``detail['problems']`` lists each field."""

    code = "report_invalid"


class ReportStateError(ConflictError):
    """The report is in a state that does not allow this (editing a filed report, retracting twice)."""

    code = "report_state"


class SubmissionBusyError(ConflictError):
    """Another process holds the submission lease of this report."""

    code = "submission_busy"


class DestinationError(OhscError):
    """A report destination (NCMEC, a package folder) failed; the submission resumes where it stopped."""

    code = "destination"
    http_status = 502
    exit_code = 8

    def __init__(
        self, message: str, *, response_code: int | None = None, detail: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        #: The destination's own code for the failure (NCMEC ``responseCode``), when it gave one.
        self.response_code = response_code


class DestinationUnavailableError(DestinationError):
    """The destination could not be reached or answered with a server error: try again later."""

    code = "destination_unavailable"
    http_status = 503


class DestinationRejectedError(DestinationError):
    """The destination refused the request (invalid document, credentials, state): retrying will not help."""

    code = "destination_rejected"


# --- video ---------------------------------------------------------------------------------


class VideoError(MediaError):
    """A video could not be hashed (or only in part: see the record's ``video`` details)."""

    code = "video"


class VideoDecodeError(VideoError):
    """The container or stream is corrupt, truncated or holds no decodable frame."""

    code = "video_decode"


class VideoNoStreamError(VideoError):
    """The file has no video stream (audio only, or subtitles)."""

    code = "video_no_stream"


class VideoCodecError(VideoError):
    """No decoder for the video's codec."""

    code = "video_codec_unsupported"


class VideoTooLargeError(VideoError):
    """The video declares more pixels per frame than allowed (``OHSC_VIDEO_MAX_PIXELS``)."""

    code = "video_too_large"
    http_status = 413


class VideoTooLongError(VideoError):
    """The video is longer than allowed for this request (``OHSC_VIDEO_UPLOAD_MAX_SECONDS``)."""

    code = "video_too_long"
    http_status = 413


class VideoSupportMissingError(VideoError):
    """PyAV is not installed (``pip install 'ohsc[video]'``)."""

    code = "video_support_missing"
    http_status = 501


# --- cluster ---------------------------------------------------------------------------------


class ClusterUnavailableError(OhscError):
    """The Dask scheduler could not be reached, or went away during a scan. The records written so
    far are kept: the same command with ``--resume`` finishes the scan."""

    code = "cluster_unavailable"
    http_status = 503
    exit_code = 8


class ClusterSupportMissingError(ConfigError):
    """Dask is not installed (``pip install 'ohsc[cluster]'``)."""

    code = "cluster_support_missing"
    http_status = 501


# --- service: API, accounts, review, actions -----------------------------------------------


class RateLimitedError(OhscError):
    """Too many requests (logins, matches); ``retry_after`` is in seconds."""

    code = "rate_limited"
    http_status = 429
    exit_code = 8

    def __init__(
        self, message: str, *, retry_after: float = 1.0, detail: dict[str, object] | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class SessionExpiredError(AuthenticationError):
    code = "session_expired"


class CsrfError(PermissionDeniedError):
    code = "csrf"


class ExposureLimitError(PermissionDeniedError):
    """A reviewer reached the daily limit of media reveals."""

    code = "exposure_limit"


class UserNotFoundError(NotFoundError):
    code = "user_not_found"


class UserExistsError(ConflictError):
    code = "user_exists"


class ApiKeyNotFoundError(NotFoundError):
    code = "apikey_not_found"


class ContentNotFoundError(NotFoundError):
    code = "content_not_found"


class ContentIdConflictError(ConflictError):
    """A caller's content_id was used before for different content."""

    code = "content_id_conflict"


class ReviewItemNotFoundError(NotFoundError):
    code = "review_item_not_found"


class NotShownError(PermissionDeniedError):
    """A bulk decision named an item that is not on this reviewer's screen (not claimed by them)."""

    code = "not_shown"


class ReviewStateError(ConflictError):
    """The review item is not in a state that allows this (claimed by another, already decided)."""

    code = "review_state"


class RuleNotFoundError(NotFoundError):
    code = "rule_not_found"


class WebhookNotFoundError(NotFoundError):
    code = "webhook_not_found"


class FetchError(OhscError):
    """Fetching media from a URL failed (timeout, size cap, HTTP error)."""

    code = "fetch_failed"
    http_status = 502


class FetchRefusedError(FetchError):
    """Fetching is off, or the URL (or a redirect) names a host or address that is not allowed."""

    code = "fetch_refused"
    http_status = 403


class EgressRefusedError(InvalidInputError):
    """An outgoing request (webhook, URL fetch) names an internal address, or a host that resolves
    to one, that ``OHSC_EGRESS_ALLOW`` does not allow."""

    code = "egress_refused"


class EgressResolveError(OhscError):
    """The host of an outgoing request cannot be resolved."""

    code = "egress_unresolved"
    http_status = 502


# --- removal -------------------------------------------------------------------------------


class CrawlUrlNotFoundError(NotFoundError):
    code = "crawl_url_not_found"


class TakedownNotFoundError(NotFoundError):
    code = "takedown_not_found"


class NoticeDeliveryError(OhscError):
    """A removal notice could not be delivered (the mail server refused it or could not be reached)."""

    code = "notice_delivery"


# --- exchanges -----------------------------------------------------------------------------


class ExchangeNotFoundError(NotFoundError):
    code = "exchange_not_found"


class ExchangeExistsError(ConflictError):
    code = "exchange_exists"


class ExchangeBusyError(ConflictError):
    """Another process is syncing this exchange (its checkpoint moved under this sync): this one
    stops, applying nothing more; the other carries on."""

    code = "exchange_busy"


class ExchangeError(OhscError):
    """An exchange could not be fetched (unreachable, refused our credentials, answered nonsense);
    nothing of the failed page was applied and the checkpoint stays where it was."""

    code = "exchange_failed"
    http_status = 502
    exit_code = 8


class CaseNotFoundError(NotFoundError):
    code = "case_not_found"


class CaseExistsError(ConflictError):
    code = "case_exists"


class CaseItemNotFoundError(NotFoundError):
    code = "case_item_not_found"


class CaseSourceRefusedError(PermissionDeniedError):
    """A server-side source outside ``OHSC_CASE_INGEST_ROOT`` (or none is configured)."""

    code = "case_source_refused"


class CaseIngestBusyError(ConflictError):
    code = "case_ingest_busy"


class ExchangeVerificationError(ExchangeError):
    """A page from an exchange failed its check (signature, bank, cursor or sequence): it may have
    been forged or altered on the way, so none of it is applied."""

    code = "exchange_unverified"


class FeedNotFoundError(NotFoundError):
    """No such published feed, or not published to the caller (the two are not told apart)."""

    code = "feed_not_found"
