"""FastAPI dependencies shared by the routers: the process's database and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from app.db import Database
from app.settings import Settings

# Dependencies are coroutines: FastAPI runs plain `def` dependencies in a thread pool,
# which costs a thread hand-off on every request.


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DatabaseDep = Annotated[Database, Depends(get_database)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
