"""Settings as declared data: every knob is an ``OHSC_*`` environment variable, validated at start-up."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ohsc.errors import ConfigError

HashMode = Literal["fast", "exact"]


class Settings(BaseSettings):
    """OHSC configuration. Field ``foo_bar`` is read from ``OHSC_FOO_BAR``."""

    model_config = SettingsConfigDict(env_prefix="OHSC_", extra="ignore", frozen=True)

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

    # --- matching ----------------------------------------------------------------------------
    pdq_threshold: int = Field(default=31, ge=0, le=128, description="Default PDQ distance for new banks.")
    pdq_max_threshold: int = Field(
        default=63, ge=0, le=128, description="Largest per-bank PDQ threshold the index serves."
    )

    # --- archives ----------------------------------------------------------------------------
    archive_max_depth: int = Field(default=3, ge=0, description="Archives inside archives, how deep.")
    archive_max_ratio: int = Field(
        default=200, ge=1, description="Largest member expansion ratio (zip bombs)."
    )
    archive_max_member_bytes: int = Field(default=512 * 1024 * 1024, ge=1)
    archive_max_total_bytes: int = Field(default=64 * 1024**3, ge=1, description="Per archive, expanded.")
    archive_max_members: int = Field(default=1_000_000, ge=1)

    # --- scans -------------------------------------------------------------------------------
    workers: int | None = Field(default=None, ge=1, description="Hashing processes; default: all cores.")

    # --- content at rest ---------------------------------------------------------------------
    content_key: str | None = Field(
        default=None,
        description="Base64 of 32 bytes: AES-256-GCM key for stored media and evidence. "
        "Unset: a key file is created under the data directory.",
        repr=False,
    )

    log_level: str = Field(default="WARNING")

    # --- service: HTTP API, review UI, accounts (ohsc.web, ohsc.accounts, ohsc.review) ------
    host: str = Field(default="127.0.0.1", description="Address `ohsc serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `ohsc serve` listens on.")
    server_workers: int = Field(default=1, ge=1, description="Server processes for `ohsc serve`.")
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
    upload_max_bytes: int = Field(default=64 * 1024 * 1024, ge=1, description="Largest upload accepted.")
    refresh_seconds: float = Field(
        default=1.0, gt=0, description="How often each server process applies bank changes to its indexes."
    )
    compact_seconds: float = Field(default=30.0, gt=0, description="How often indexes fold their deltas.")
    # URL fetching for POST /v1/match (off by default)
    fetch_enabled: bool = Field(default=False, description="Let /v1/match fetch media from a URL.")
    fetch_allowed_hosts: str = Field(
        default="", description="Comma-separated host names; '.example.com' allows subdomains."
    )
    fetch_max_bytes: int = Field(default=32 * 1024 * 1024, ge=1)
    fetch_timeout_seconds: float = Field(default=10.0, gt=0)
    fetch_allow_private: bool = Field(
        default=False, description="Allow private, loopback and link-local addresses (testing only)."
    )
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

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ohsc.db'}"

    def effective_workers(self) -> int:
        return self.workers or max(1, len(os.sched_getaffinity(0)))

    # service
    def fetch_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.fetch_allowed_hosts.split(",") if h.strip()]

    def effective_cookie_secure(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return bool(self.public_url and self.public_url.startswith("https://"))


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; a bad value is a :class:`ConfigError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"OHSC_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
