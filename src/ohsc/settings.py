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
