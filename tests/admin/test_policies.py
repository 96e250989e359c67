"""Regions administered here: shipped ones by name, a bureau's own file stored in the database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from yibao.admin.policies import add_region, region_policy
from yibao.admin.uow import run
from yibao.db.models.register import Region
from yibao.errors import InputError, PolicyFileError

DEMO = Path(__file__).resolve().parents[2] / "src" / "yibao" / "admin" / "demo_region.yaml"


def test_shipped_region_by_name(engine: Engine) -> None:
    row = run(engine, lambda s: add_region(s, name="武汉"))
    assert (row.code, row.policy) == ("420100", "wuhan")
    with Session(engine) as s:
        snap = region_policy(s, "420100").at(dt.date(2024, 3, 1))
        assert snap.region.name_en == "Wuhan"


def test_own_region_file_is_stored_and_used(engine: Engine) -> None:
    text = DEMO.read_text(encoding="utf-8")
    run(engine, lambda s: add_region(s, text))
    with Session(engine) as s:
        policy = region_policy(s, "990100")
        snap = policy.at(dt.date(2024, 3, 1))
        # inherited from Beijing's sourced file (京人社发〔2023〕8号): cap 33891 yuan
        assert snap.get("contribution.base_cap") == 3_389_100
        # the demo's own labelled assumption
        assert snap.get("eligibility.waiting.unit_months") == 0
        assert "assumption" in (snap["eligibility.waiting.unit_months"].note or "")


def test_bad_region_file_stores_nothing(engine: Engine) -> None:
    text = DEMO.read_text(encoding="utf-8").replace("eligibility.waiting.unit_months",
                                                    "eligibility.waiting.unit_mnths")
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(Region))
    with pytest.raises(PolicyFileError) as e:
        run(engine, lambda s: add_region(s, text))
    assert "unit_mnths" in e.value.en
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Region)) == before


def test_unknown_region_is_named(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(InputError) as e:
        region_policy(s, "420100")
    assert e.value.field == "region" and "yibao region add" in e.value.en
