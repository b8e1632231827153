"""The ``[store]`` section of the configuration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StoreSettings(BaseModel):
    """Where CrossDesk keeps its data: SQLite for one process, PostgreSQL for several."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        default="sqlite:///crossdesk.db",
        description="SQLAlchemy URL: sqlite:///path.db (default) or "
        "postgresql+psycopg://user@host/db",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    busy_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="SQLite: seconds a write waits for another's lock (an import, the bot) "
        "before the customer is asked to send the message again.",
    )
