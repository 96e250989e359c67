"""The demo (``make run``) runs its year through the same services as staff, four-eyes included:
a claim at or above the region's review threshold is filed by the demo's clerk and settled only
when the demo's reviewer approves it (issue 8)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yibao.admin.demo import DEMO_REGION, DemoSize, build_demo
from yibao.db.engine import make_engine
from yibao.db.migrate import upgrade
from yibao.db.models.approvals import ApprovalRequest
from yibao.db.models.claims import Claim


def test_the_demos_large_claims_are_settled_by_a_second_person(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/demo.db")
    upgrade(engine)
    threshold = 500_000  # 5,000 yuan: low enough that several of the demo's stays need a reviewer
    done = build_demo(
        engine,
        DemoSize(
            employees=120,
            flexible=20,
            retirees=30,
            employers=5,
            outpatient_claims=30,
            inpatient_claims=20,
            claim_review_fen=threshold,
        ),
    )
    with Session(engine) as s:
        large = list(
            s.scalars(select(Claim).where(Claim.region_code == DEMO_REGION, Claim.medfee_sumamt >= threshold))
        )
        requests = list(s.scalars(select(ApprovalRequest).where(ApprovalRequest.kind == "large_claim")))
        settled = s.scalar(select(func.count()).select_from(Claim))
    assert large and settled == done["claims"]
    executed = [r for r in requests if r.status == "executed"]
    assert len(executed) == len(large)  # every large claim was approved first, none settled without
    assert {(r.requested_by, r.decided_by) for r in executed} == {("demo-clerk", "demo-reviewer")}
