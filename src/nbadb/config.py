"""Settings from the environment (prefix NBADB_) with sensible defaults."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_ARCHIVE = PROJECT_ROOT / "data" / "archive"


class Settings(BaseSettings):
    """Every knob nbadb reads. Override with environment variables, e.g. NBADB_DATA_DIR."""

    model_config = SettingsConfigDict(env_prefix="NBADB_", extra="ignore")

    data_dir: Path = Path("nbadb-data")
    archive_dir: Path = BUNDLED_ARCHIVE
    database_name: str = "nba.duckdb"
    # Default processing mode when the engine has no reason to pick another.
    default_mode: str = "entity"
    # Runs whose changed share of entities exceeds this go date mode (cheaper set-based work).
    date_mode_threshold: float = 0.6

    @property
    def database_path(self) -> Path:
        return self.data_dir / self.database_name


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
