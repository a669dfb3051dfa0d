"""Settings as declared data: every knob is an ``OHSC_*`` environment variable, validated at start-up.

The environment is read by :func:`load_settings` (names case-insensitive, lists and mappings as
JSON, as pydantic-settings reads them) rather than by pydantic-settings itself, whose import
(asyncio, dotenv, its sources) cost every command ~50 ms at start.
"""

from __future__ import annotations

import json
import os
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ohsc.errors import ConfigError

HashMode = Literal["fast", "exact"]

#: Prefix of every setting's environment variable.
ENV_PREFIX = "OHSC_"


class Settings(BaseModel):
    """OHSC configuration. Field ``foo_bar`` is read from ``OHSC_FOO_BAR``."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    home: Path = Field(default=Path("~/.ohsc"), description="Data directory: SQLite file, indexes, scans.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy or plain postgresql:// URL; default: SQLite file under the data directory.",
    )
    auto_migrate: bool = Field(default=True, description="Apply schema migrations when the store opens.")

    # --- hashing -----------------------------------------------------------------------------
    hash_mode: HashMode = Field(default="fast", description="PDQ pipeline for scans: fast or exact.")
    pdq_quality_min: int = Field(
        default=50, ge=0, le=100, description="Below this, PDQ is kept but not matched."
    )
    pdq_force_rgb: bool = Field(
        default=False,
        description="Convert every image to RGB before PDQ (python-threatexchange force_rgb). "
        "Off: palette and CMYK images hash as the reference does.",
    )
    max_image_pixels: int = Field(default=100_000_000, ge=1, description="Decompression-bomb guard.")
    max_file_bytes: int = Field(default=512 * 1024 * 1024, ge=1, description="Largest file read into memory.")
    # decoding pictures sent to the service (ohsc.signals.budget)
    upload_max_image_pixels: int = Field(
        default=50_000_000,
        ge=1,
        description="Most pixels a picture sent to the service may decode to (after reduced JPEG decoding).",
    )
    image_decode_max_mb: int = Field(
        default=1024, ge=16, description="Most memory decoding and hashing one uploaded picture may take."
    )
    image_decode_budget_mb: int = Field(
        default=2048, ge=16, description="Memory all the pictures one server process decodes at once share."
    )
    image_decode_wait_seconds: float = Field(
        default=10.0, ge=0, description="How long an upload waits for decoding memory before a 503."
    )

    # --- matching ----------------------------------------------------------------------------
    import_max_depth: int = Field(
        default=64,
        ge=4,
        le=10_000,
        description="Deepest nesting of lists and objects a JSON hash list (VICS) may have; deeper: "
        "the import stops with an error.",
    )
    import_max_string_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Longest string (in bytes, as written) a JSON hash list (VICS) may hold; longer: "
        "the import stops with an error.",
    )
    pdq_threshold: int = Field(default=31, ge=0, le=128, description="Default PDQ distance for new banks.")
    case_ingest_root: Path | None = Field(
        default=None,
        description="Folder under which the API and the web may ingest server-side sources into a "
        "triage case (seized collections copied there). Unset: only `ohsc case ingest` can ingest.",
    )
    pdq_max_threshold: int = Field(
        default=63, ge=0, le=128, description="Largest per-bank PDQ threshold the index serves."
    )

    # --- archives ----------------------------------------------------------------------------
    archive_max_depth: int = Field(default=3, ge=0, description="Archives inside archives, how deep.")
    archive_max_ratio: int = Field(
        default=200,
        ge=1,
        description="Largest expansion ratio (compression bombs): per member (declared in zip, measured "
        "while reading tar.gz) and for a whole archive over its own size.",
    )
    archive_max_member_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest archive member read."
    )
    archive_max_total_bytes: int = Field(default=64 * 1024**3, ge=1, description="Per archive, expanded.")
    archive_max_members: int = Field(
        default=1_000_000, ge=1, description="Most members read from one archive."
    )

    # --- scans -------------------------------------------------------------------------------
    workers: int | None = Field(default=None, ge=1, description="Hashing processes; default: all cores.")
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler address (tcp://host:8786): scans, case ingests and crawls hash on that cluster (--cluster).",
    )
    cluster_batch_files: int = Field(
        default=16, ge=1, le=10_000, description="Media files per Dask task when hashing runs on a cluster."
    )
    cluster_connect_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="How long to keep trying to reach the Dask scheduler before giving up.",
    )

    # --- content at rest ---------------------------------------------------------------------
    content_key: str | None = Field(
        default=None,
        description="Base64 of 32 bytes: AES-256-GCM key for stored media and evidence. "
        "Unset: a key file is created under the data directory.",
        repr=False,
    )

    # --- audit log -----------------------------------------------------------------------------
    audit_key: str | None = Field(
        default=None,
        description="Base64 of 32 bytes: HMAC-SHA256 key of the audit chain (keep it away from the "
        "database). Unset: the key file OHSC_AUDIT_KEY_FILE, created on first use.",
        repr=False,
    )
    audit_old_keys: str = Field(
        default="",
        description="Comma-separated base64 audit keys used before a rotation (to verify older events).",
        repr=False,
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="Audit chain key file (current key first, older keys after); default: "
        "OHSC_HOME/audit.key. Ignored when OHSC_AUDIT_KEY is set.",
    )
    audit_signing_key: str | None = Field(
        default=None,
        description="Base64 of a 32-byte Ed25519 private key that signs audit checkpoints. Unset: "
        "the key file OHSC_AUDIT_SIGNING_KEY_FILE, created on the first checkpoint.",
        repr=False,
    )
    audit_signing_key_file: Path | None = Field(
        default=None, description="Audit checkpoint signing key file; default: OHSC_HOME/audit-signing.key."
    )

    log_level: str = Field(default="WARNING", description="Python logging level for stderr logs.")

    # --- prevention: deterrence, help directory, Trace an Object -----------------------------
    deter_lists_dir: Path | None = Field(
        default=None,
        description="Term lists (*.txt plain, *.toml rich); default: OHSC_HOME/deterrence/lists.",
    )
    deter_reload_seconds: float = Field(
        default=2.0, ge=0, description="How often term-list files are checked for changes (no restart)."
    )
    deter_messages_dir: Path | None = Field(
        default=None, description="Operator message catalogues (*.toml) that add locales or replace wording."
    )
    deter_default_locale: str = Field(default="en", description="Locale used when no other one fits.")
    deter_max_chars: int = Field(default=2000, ge=1, description="Longest text one deterrence check accepts.")
    deter_max_resources: int = Field(
        default=3, ge=0, le=20, description="Help services returned with a triggered check."
    )
    deter_click_path: str = Field(
        default="/v1/deterrence/go/{id}",
        description="Redirect link that counts clicks on a help service; {id} is the service id.",
    )
    deter_counter_flush_seconds: float = Field(
        default=10.0, ge=0, description="How often aggregate counters are written to the store."
    )
    trace_max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1, description="Largest object picture.")
    trace_max_side: int = Field(
        default=2048, ge=64, description="Object pictures are scaled down to at most this many pixels a side."
    )
    trace_tip_max_chars: int = Field(default=2000, ge=1, description="Longest anonymous tip.")
    trace_tips_per_hour: int = Field(default=5, ge=1, description="Tips per client address and hour.")
    trace_tips_per_day: int = Field(default=20, ge=1, description="Tips per client address and day.")
    trace_tip_min_seconds: float = Field(
        default=3.0, ge=0, description="A tip form sent back sooner than this after it was shown is refused."
    )
    trace_tip_token_ttl_seconds: int = Field(
        default=7200, ge=60, description="How long a tip form stays valid."
    )
    trace_pow_bits: int = Field(
        default=16, ge=0, le=26, description="Proof-of-work difficulty of the tip form (0: off)."
    )
    help_widget_frame_ancestors: str = Field(
        default="*",
        pattern=r"^[^;,\r\n]*$",
        description="Who may show the help widget page (/help/widget) in a frame: a CSP frame-ancestors "
        "source list such as 'https://forum.example https://*.example.org' ('*': any site; "
        "\"'none'\": none). Every other page forbids framing.",
    )

    # --- video: vPDQ hashing and matching ----------------------------------------------------
    video_interval: float = Field(
        default=1.0, ge=0, le=3600, description="Seconds between hashed video frames (0: every frame)."
    )
    video_max_frames: int = Field(
        default=10_800,
        ge=1,
        le=1 << 20,
        description="Most frames hashed per video (3 hours at one a second); longer videos are hashed "
        "up to there and marked truncated.",
    )
    video_max_pixels: int = Field(
        default=40_000_000,
        ge=1,
        description="Largest video frame (width x height); larger videos are refused.",
    )
    video_time_budget: float = Field(
        default=900.0, gt=0, description="Wall-clock seconds hashing one video may take; then it stops."
    )
    video_threads: int = Field(
        default=1, ge=1, le=64, description="Decoder threads per video (scans already use every core)."
    )
    video_upload_max_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest video accepted by the service (POST /v1/...)."
    )
    video_upload_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest video accepted by the service."
    )
    vpdq_variants: bool = Field(
        default=True,
        description="Also hash 95%, 90% and 80% centre crops and the borderless picture of each video "
        "frame, so cropped, letterboxed and watermarked copies match (kept for matching, never exported).",
    )
    vpdq_quality_min: int = Field(
        default=50, ge=0, le=100, description="Video frames below this PDQ quality are not matched."
    )
    vpdq_match_percent: float = Field(
        default=80.0,
        gt=0,
        le=100,
        description="Share of frames (in percent) that must match for two videos to match; frame "
        "distance is the bank's PDQ threshold.",
    )
    vpdq_match_mode: Literal["either", "both", "query", "bank"] = Field(
        default="either",
        description="Whose frames must reach OHSC_VPDQ_MATCH_PERCENT: either video's (a clip inside "
        "a long video matches both ways), both, only the query's, or only the bank video's.",
    )

    # --- service: HTTP API, review UI, accounts (ohsc.web, ohsc.accounts, ohsc.review) ------
    host: str = Field(default="127.0.0.1", description="Address `ohsc serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `ohsc serve` listens on.")
    server_workers: int = Field(default=1, ge=1, description="Server processes for `ohsc serve`.")
    index_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="OpenMP threads per index query (faiss), at most the cores divided by the server "
        "processes; queries come one at a time, so more threads only spin (see docs/benchmarks.md).",
    )
    public_url: str | None = Field(
        default=None, description="External base URL (https://... marks session cookies Secure)."
    )
    cookie_secure: bool | None = Field(
        default=None, description="Secure session cookies; default: when public_url is https."
    )
    session_idle_minutes: int = Field(default=30, ge=1, description="A UI session ends after this idle time.")
    session_max_hours: int = Field(default=12, ge=1, description="A UI session ends this long after login.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins per user name or address within the window."
    )
    login_window_seconds: int = Field(default=300, ge=1)
    match_rate_per_minute: int = Field(
        default=120_000, ge=0, description="Match requests per API key per minute (0: unlimited)."
    )
    apikey_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a server process trusts a checked API key (revocation delay).",
    )
    password_min_length: int = Field(
        default=15,
        ge=8,
        le=64,
        description="Shortest new password (NIST SP 800-63B-4: 15 when the password is the only factor).",
    )
    upload_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1, description="Largest upload accepted.")
    # request bodies, capped before they are read (ohsc.web.bodies)
    form_max_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest form body a logged-in person may post (the UI)."
    )
    public_form_max_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest body sent to a public route (login, anonymous tips)."
    )
    json_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest JSON body of an API request."
    )
    refresh_seconds: float = Field(
        default=1.0, gt=0, description="How often each server process applies bank changes to its indexes."
    )
    compact_seconds: float = Field(default=30.0, gt=0, description="How often indexes fold their deltas.")
    job_retry_seconds: float = Field(
        default=1.0, gt=0, description="First retry delay of a failed background job (doubles per failure)."
    )
    job_retry_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest retry delay of a failing background job."
    )
    # URL fetching for POST /v1/match (off by default)
    fetch_enabled: bool = Field(default=False, description="Let /v1/match fetch media from a URL.")
    fetch_allowed_hosts: str = Field(
        default="", description="Comma-separated host names; '.example.com' allows subdomains."
    )
    fetch_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    fetch_timeout_seconds: float = Field(default=10.0, gt=0)
    fetch_allow_private: bool = Field(
        default=False,
        description="Deprecated: let URL fetching reach every internal address; prefer OHSC_EGRESS_ALLOW.",
    )
    # outgoing connections (webhooks, URL fetching): ohsc.net
    egress_allow: str = Field(
        default="",
        description="Comma-separated address ranges (CIDR) and host names ('.corp.example' for a "
        "domain) that webhooks and URL fetching may reach although they are internal.",
    )
    # removal: crawling reported URLs, notices to hosts, re-checks (ohsc.removal)
    crawl_allow_private_targets: bool = Field(
        default=False,
        description="Let the crawler (and its RDAP look-ups) reach private, loopback and link-local "
        "addresses (tests and closed networks only).",
    )
    crawl_concurrency: int = Field(
        default=8, ge=1, le=256, description="Requests the crawler has open at once."
    )
    crawl_per_host: int = Field(default=2, ge=1, le=64, description="Requests open at once to one host.")
    crawl_delay_seconds: float = Field(
        default=1.0, ge=0, description="Pause between two requests to the same host (politeness)."
    )
    crawl_max_depth: int = Field(
        default=2, ge=0, le=20, description="Links followed from a reported URL, how deep (same host only)."
    )
    crawl_max_pages_per_seed: int = Field(
        default=1000, ge=1, description="Pages one reported URL may add to the frontier."
    )
    crawl_max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024, description="Largest page read.")
    crawl_max_media_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024, description="Largest picture or video downloaded (into memory)."
    )
    crawl_timeout_seconds: float = Field(default=20.0, gt=0, description="Whole-request time limit.")
    crawl_max_redirects: int = Field(default=3, ge=0, le=10, description="Redirects followed per request.")
    crawl_hash_workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Processes that hash the crawler's media (0: hash in the fetching threads).",
    )
    crawl_processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Crawler processes sharing the frontier in ohsc crawl run (at most OHSC_CRAWL_PER_HOST: "
        "the per-host limits are divided among them).",
    )
    crawl_proxy: str = Field(
        default="",
        description="HTTP or SOCKS proxy for every crawler request (http://host:port, socks5://host:9050 "
        "for Tor onion services); the proxy resolves names.",
    )
    crawl_user_agent: str = Field(default="ohsc-crawler/1", description="User-Agent of crawler requests.")
    crawl_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A URL a crawler took but never finished (it was killed) is taken again after this.",
    )
    crawl_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the server crawls what is waiting in the frontier."
    )
    removal_require_confirmation: bool = Field(
        default=False,
        description="Matches wait for an analyst (ohsc takedown confirm) before notices go out; "
        "off: a match against a known-material bank is confirmed at once.",
    )
    removal_recheck_hours: float = Field(
        default=24.0, gt=0, description="Re-check a notified URL (and notify again) this often."
    )
    removal_escalate_after: int = Field(
        default=3,
        ge=1,
        description="After this many notices, the upstream network's abuse contact is copied.",
    )
    removal_sender: str = Field(
        default="OHSC removal <removal@localhost>", description="From address of removal notices."
    )
    removal_organisation: str = Field(
        default="OHSC", description="Who sends removal notices (named in the notice)."
    )
    removal_legal_basis: str = Field(
        default="The material at these addresses matches material classified as child sexual abuse "
        "material, which is illegal to host or distribute.",
        description="The legal basis stated in removal notices.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="Where notices are sent: smtp://user:pass@host:587 (STARTTLS), smtps://... (TLS), "
        "smtp://host:25?starttls=0 (plain, loopback only).",
        repr=False,
    )
    rdap_url: str = Field(
        default="https://rdap-bootstrap.arin.net/bootstrap",
        description="RDAP service asked who holds an address (GET <url>/ip/<address>; redirects followed).",
    )
    rdap_cache_hours: float = Field(default=168.0, ge=0, description="How long an RDAP answer is kept.")
    # actions
    default_verdict: Literal["block", "review", "allow"] = Field(
        default="review", description="Verdict for a match no action rule covers."
    )
    flood_max_matches: int = Field(
        default=100, ge=0, description="Matches of one entry per window before auto-blocking stops (0: off)."
    )
    flood_window_seconds: int = Field(default=3600, ge=1)
    webhook_max_attempts: int = Field(default=8, ge=1)
    webhook_backoff_seconds: float = Field(default=10.0, gt=0, description="First retry delay; doubles.")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # exchanges: feeds this node publishes, exchanges it fetches from (ohsc.exchanges)
    feed_signing_key: str | None = Field(
        default=None,
        description="Base64 of a 32-byte Ed25519 private key that signs this node's feed pages. Unset: "
        "the key file OHSC_HOME/feed-signing.key, created when first needed (`ohsc feed key`).",
        repr=False,
    )
    feed_page_size: int = Field(
        default=5000, ge=1, le=20000, description="Most entries and withdrawals in one feed page."
    )
    exchange_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often the server looks for exchanges due for a scheduled sync (each exchange "
        "has its own interval; `ohsc exchange add --interval`).",
    )
    exchange_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Time limit of one request to an exchange."
    )
    # review
    review_claim_minutes: int = Field(
        default=15, ge=1, description="A claimed item returns to the queue after."
    )
    review_daily_reveal_limit: int = Field(
        default=150, ge=0, description="Media reveals per reviewer per day (0: no limit)."
    )
    review_break_after_reveals: int = Field(
        default=25, ge=1, description="Suggest a break after this many reveals within the break window."
    )
    review_break_window_minutes: int = Field(default=60, ge=1)
    review_undo_seconds: int = Field(
        default=60,
        ge=0,
        le=3600,
        description="A reviewer may undo their own decision for this long (0: never).",
    )
    review_arm_ms: int = Field(
        default=1000,
        ge=300,
        le=10000,
        description="Decision keys and buttons wait this long after an item is on screen (keys before are ignored).",
    )
    # content kept for review
    media_retention_days: int = Field(
        default=30, ge=0, description="Keep review media this long after the decision (0: delete at once)."
    )
    undecided_media_retention_days: int = Field(
        default=90, ge=1, description="Delete review media of undecided items after this long."
    )
    content_retention_days: int = Field(
        default=30, ge=1, description="Delete records of content that matched nothing after this long."
    )

    @field_validator("home")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if not scheme.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def scans_dir(self) -> Path:
        return self.home / "scans"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def effective_audit_key_file(self) -> Path:
        return (self.audit_key_file or self.home / "audit.key").expanduser()

    @property
    def effective_audit_signing_key_file(self) -> Path:
        return (self.audit_signing_key_file or self.home / "audit-signing.key").expanduser()

    def effective_feed_signing_key_file(self) -> Path:
        return self.home / "feed-signing.key"

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ohsc.db'}"

    def effective_workers(self) -> int:
        return self.workers or max(1, len(os.sched_getaffinity(0)))

    # --- reporting to authorities and evidence (ohsc.reports, ohsc.evidence) ----------------
    report_destinations: dict[str, list[str]] = Field(
        default_factory=lambda: {"*": ["local-folder"]},
        description="JSON: jurisdiction (ISO country code, EU, or * for any) -> destinations "
        "(ncmec, uk-nca, eu-centre, local-folder). Default: every report to the local folder only.",
    )
    report_default_jurisdictions: list[str] = Field(
        default_factory=list, description='JSON list of country codes given to new drafts, e.g. ["US"].'
    )
    report_outbox_dir: Path | None = Field(
        default=None, description="Where package destinations write; default: OHSC_HOME/outbox."
    )
    report_package_content: Literal["reference", "embed"] = Field(
        default="reference",
        description="Signed packages name files by hash (reference) or carry them base64-encoded (embed).",
    )
    report_signing_key: str | None = Field(
        default=None,
        description="Base64 of a 32-byte Ed25519 private key for signing packages; unset: a key file "
        "is created under the data directory.",
        repr=False,
    )
    report_industry_classification: bool = Field(
        default=False,
        description="The platform applies the industry classification (A1/A2/B1/B2) as a signatory.",
    )
    report_company_name: str | None = Field(default=None, description="The reporting provider's name.")
    report_contact_first_name: str | None = Field(default=None, description="Reporter contact first name.")
    report_contact_last_name: str | None = Field(default=None, description="Reporter contact last name.")
    report_contact_email: str | None = Field(default=None, description="Reporter contact e-mail (NCMEC).")
    report_contact_phone: str | None = Field(default=None, description="Reporter contact phone number.")
    report_legal_url: str | None = Field(default=None, description="Where law enforcement sends process.")
    report_terms_of_service: str | None = Field(
        default=None, description="Terms of service (text or URL) sent with NCMEC reports."
    )
    report_roles: list[str] = Field(
        default_factory=lambda: ["reporter", "admin"], description="Roles that may submit and retract."
    )
    ncmec_base_url: str | None = Field(
        default=None,
        description="CyberTipline Reporting API base URL (test host https://exttest.cybertip.org/ispws).",
    )
    ncmec_username: str | None = Field(default=None, description="NCMEC-issued API user name.")
    ncmec_password: str | None = Field(default=None, repr=False, description="NCMEC-issued API password.")
    ncmec_company_template: str | None = Field(
        default=None, description="Name of the company template NCMEC set up for you (companyTemplate)."
    )
    ncmec_timeout_seconds: float = Field(default=60.0, gt=0, description="Per-request timeout towards NCMEC.")
    ncmec_xsd_path: Path | None = Field(
        default=None, description="NCMEC's report XSD (GET /xsd); documents are checked against it."
    )
    evidence_retention_days: dict[str, int] = Field(
        default_factory=lambda: {"US": 365, "EU": 365, "GB": 365, "*": 365},
        description="JSON: jurisdiction -> days evidence is kept after filing (EU: at most 365).",
    )
    evidence_roles: list[str] = Field(
        default_factory=lambda: ["evidence_custodian", "admin"],
        description="Roles that may read evidence and place or release legal holds.",
    )
    cli_roles: list[str] = Field(
        default_factory=lambda: ["admin"], description="Roles of whoever runs the ohsc command."
    )
    report_resume_seconds: float = Field(
        default=300.0, gt=0, description="How often the server resumes unfinished report submissions."
    )
    evidence_purge_seconds: float = Field(
        default=86400.0, gt=0, description="How often the server purges evidence whose retention ended."
    )

    @field_validator("report_destinations", "evidence_retention_days")
    @classmethod
    def _check_jurisdiction_keys(cls, value: dict[str, object]) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, item in value.items():
            norm = key.strip().upper()
            if norm != "*" and not (len(norm) == 2 and norm.isalpha()):
                raise ValueError(f"{key!r} is not a jurisdiction: use an ISO 3166 country code, EU or *")
            out[norm] = item
        return out

    @field_validator("evidence_retention_days")
    @classmethod
    def _check_retention(cls, value: dict[str, int]) -> dict[str, int]:
        from ohsc.jurisdiction import EU_MEMBERS

        for key, days in value.items():
            if days < 1:
                raise ValueError(f"{key}: retention must be at least one day")
            if (key == "EU" or key in EU_MEMBERS) and days > 365:
                raise ValueError(f"{key}: the EU proposal allows at most 12 months (365 days), got {days}")
        return value

    # service
    def fetch_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.fetch_allowed_hosts.split(",") if h.strip()]

    def upload_read_limit(self) -> int:
        """The most bytes an upload request may carry (videos may be larger than other files)."""
        return max(self.upload_max_bytes, self.video_upload_max_bytes)

    def effective_cookie_secure(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return bool(self.public_url and self.public_url.startswith("https://"))


_CONTAINERS = (dict, list, tuple, set, frozenset)


def _is_container(annotation: Any) -> bool:
    """A list or mapping (possibly optional): given as JSON in the environment."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_container(arg) for arg in typing.get_args(annotation))
    return (origin or annotation) in _CONTAINERS


def environment(environ: typing.Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given as ``OHSC_*`` variables, by field name (lists and mappings parsed as JSON)."""
    env = os.environ if environ is None else environ
    names = {f"{ENV_PREFIX}{name}".upper(): name for name in Settings.model_fields}
    values: dict[str, Any] = {}
    for key, raw in env.items():
        name = names.get(key.upper())
        if name is None:
            continue
        if _is_container(Settings.model_fields[name].annotation):
            try:
                values[name] = json.loads(raw)
            except ValueError as exc:
                raise ConfigError(f"invalid settings: {key}: not valid JSON ({exc})") from None
        else:
            values[name] = raw
    return values


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings (``overrides`` win over the environment, which wins over the
    defaults); a bad value is a :class:`ConfigError` naming the variable."""
    try:
        return Settings(**(environment() | overrides))
    except ValidationError as exc:
        problems = "; ".join(
            f"OHSC_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
