"""Public benchmarks on the wire."""

from __future__ import annotations

from pydantic import BaseModel


class BenchmarkOut(BaseModel):
    sdg_target: str
    unit: str
    currency: str
    milestones: int
    median_cost_per_unit: int
    p25: int
    p75: int


class BenchmarksOut(BaseModel):
    items: list[BenchmarkOut]
