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
    inbox_retention_hours: float = Field(
        default=48.0,
        ge=1,
        le=24 * 90,
        description="How long a handled update stays in the inbox, so that a redelivery of it "
        "(Telegram, Slack) is recognised and not answered again.",
    )
    reply_lease_seconds: float = Field(
        default=120.0,
        ge=10,
        le=3600,
        description="How long a reply being sent is left to the process sending it before "
        "the delivery worker (of any replica) sends it instead: the wait after a crash.",
    )
