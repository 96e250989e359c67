"""The rest of the administration over HTTP (issue 5), on SQLite and PostgreSQL: employment ends
and units close, family links let a holder's account pay for a relative, a category changes from a
month, payroll and the base audit, account payments (the key required), the retirees' monthly
credit, interruptions, refunds, write-offs, the ledger's trial balance and verification — each the
CLI's service, each refused outside the caller's region."""

from __future__ import annotations

from typing import Any

from test_api_service import BJ, UNIT_BJ, enrolled_member, new_id, ok, world  # noqa: F401


def test_employment_family_and_category(world: dict[str, Any]) -> None:  # noqa: F811
    c, h = world["client"], world["op.bj"]
    m = enrolled_member(world)
    pid, emp = m["person"]["id"], m["employer_id"]
    # a unit with people employed cannot close
    r = c.post(f"/api/v1/employers/{emp}/close", json={"closed_on": "2024-03-31"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["zh"]
    spouse = ok(
        c.post("/api/v1/persons", json={"id_number": new_id(sex="female"), "name": "李梅"}, headers=h), 201
    )
    link = ok(
        c.post(
            "/api/v1/family-links",
            json={
                "holder": pid,
                "relative": spouse["id"],
                "relation": "spouse",
                "valid_from": "2024-01-01",
                "region": BJ,
            },
            headers=h,
        ),
        201,
    )
    paid = ok(
        c.post(
            "/api/v1/account-payments",
            json={
                "region": BJ,
                "person": pid,
                "amount": "10.00",
                "purpose": "pharmacy",
                "on_date": "2024-03-01",
                "for_person": spouse["id"],
            },
            headers={**h, "Idempotency-Key": "pharmacy-1"},
        ),
        201,
    )
    assert paid["amount_fen"] == 1000 and paid["family_link_id"] == link["id"]
    again = ok(
        c.post(
            "/api/v1/account-payments",
            json={
                "region": BJ,
                "person": pid,
                "amount": "10.00",
                "purpose": "pharmacy",
                "on_date": "2024-03-01",
                "for_person": spouse["id"],
            },
            headers={**h, "Idempotency-Key": "pharmacy-1"},
        ),
        201,
    )
    assert again["balance_after_fen"] == paid["balance_after_fen"]  # paid once
    r = c.post(
        "/api/v1/account-payments",
        json={"region": BJ, "person": pid, "amount": "1.00", "purpose": "pharmacy", "on_date": "2024-03-01"},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "Idempotency-Key"
    ok(c.post(f"/api/v1/family-links/{link['id']}/end", json={"valid_to": "2024-06-30"}, headers=h))
    ended = ok(
        c.post(
            "/api/v1/employments/end",
            json={"person": pid, "employer": emp, "end_date": "2024-03-31"},
            headers=h,
        )
    )
    assert ended["end_date"] == "2024-03-31"
    flex = ok(
        c.post(
            f"/api/v1/enrollments/{m['enrollment']['id']}/category",
            json={"category": "flexible", "from_month": "2024-04"},
            headers=h,
        )
    )
    assert flex["category"] == "flexible" and flex["start_month"] == 202404
    # Shanghai's operator reaches none of it
    sh = world["op.sh"]
    r = c.post(
        f"/api/v1/enrollments/{flex['id']}/end",
        json={"end_month": "2024-06", "reason": "left_job"},
        headers=sh,
    )
    assert r.status_code == 403
    assert (
        c.post(f"/api/v1/employers/{emp}/close", json={"closed_on": "2024-03-31"}, headers=sh).status_code
        == 403
    )
    assert (
        c.post(
            f"/api/v1/enrollments/{flex['id']}/category",
            json={"category": "in_service", "from_month": "2024-05", "employer": emp},
            headers=sh,
        ).status_code
        == 403
    )


def test_money_operations_and_the_ledger(world: dict[str, Any]) -> None:  # noqa: F811
    c, h, a = world["client"], world["op.bj"], world["audit.bj"]
    m = enrolled_member(world)
    emp = m["employer_id"]
    ok(
        c.post(
            "/api/v1/payroll",
            json={"employer": emp, "month": "2024-01", "payroll_total": "10000", "headcount": 1},
            headers=h,
        ),
        201,
    )
    audit = ok(c.get(f"/api/v1/employers/{emp}/base-audit", params={"month": "2024-01"}, headers=a))
    assert audit["employer_id"] == emp and audit["text"]
    over = ok(
        c.post(
            "/api/v1/payments",
            json={
                "region": BJ,
                "payer_kind": "employer",
                "payer": emp,
                "amount": "50.00",
                "received_on": "2024-02-20",
                "reference": "OVER-1",
            },
            headers=h,
        ),
        201,
    )
    assert over["unallocated_fen"] == 5000  # nothing owed: all of it is over-payment
    back = ok(
        c.post(
            "/api/v1/refunds",
            json={
                "region": BJ,
                "amount": "50.00",
                "on_date": "2024-02-25",
                "reference": "REF-1",
                "payment_id": over["id"],
            },
            headers=h,
        ),
        201,
    )
    assert back["kind"] == "refund" and back["amount_fen"] == 5000
    ok(c.post("/api/v1/assessments", json={"region": BJ, "month": "2024-03", "reopen": True}, headers=h))
    owed = [
        x
        for x in ok(c.get("/api/v1/arrears", params={"region": BJ}, headers=h))["items"]
        if x["month"] == 202403
    ]
    asked = ok(
        c.post(
            "/api/v1/write-offs",
            json={
                "region": BJ,
                "contribution_month_ids": [owed[0]["contribution_month_id"]],
                "reason": "单位破产",
                "on_date": "2024-12-31",
            },
            headers=h,
        ),
        202,
    )  # a write-off waits for a second person (four-eyes, test_approvals)
    done = ok(
        c.post(f"/api/v1/approvals/{asked['approval']['id']}/approve", json={}, headers=world["rev.bj"])
    )
    assert done["status"] == "executed" and done["result"]["written_off"] == [
        owed[0]["contribution_month_id"]
    ]
    gaps = ok(
        c.get(
            "/api/v1/interruptions",
            params={"region": BJ, "as_of_month": "2024-12", "min_months": 1},
            headers=h,
        )
    )["items"]
    assert all(g["unpaid_months"] >= 1 for g in gaps)
    credit = ok(
        c.post("/api/v1/account-credits/retirees", json={"region": BJ, "month": "2024-03"}, headers=h)
    )
    assert credit["month"] == 202403 and credit["region"] == BJ
    tb = ok(c.get("/api/v1/ledger/trial-balance", params={"region": BJ, "as_of": "2024-12-31"}, headers=a))
    assert tb["balanced"] and tb["debit_fen"] == tb["credit_fen"] > 0
    assert ok(c.get("/api/v1/ledger/verify", params={"region": BJ}, headers=a))["ok"]
    # the ledger is the auditor's, and only their region's
    assert c.get("/api/v1/ledger/verify", params={"region": BJ}, headers=h).status_code == 403
    assert c.get("/api/v1/ledger/verify", params={"region": "310000"}, headers=a).status_code == 403
    assert (
        c.post(
            "/api/v1/write-offs",
            json={"region": BJ, "contribution_month_ids": [1], "reason": "x", "on_date": "2024-12-31"},
            headers=world["op.sh"],
        ).status_code
        == 403
    )


def test_a_transfer_case_is_read_by_its_two_regions_only(world: dict[str, Any]) -> None:  # noqa: F811
    c, h = world["client"], world["op.bj"]
    m = enrolled_member(world)
    ok(
        c.post(
            "/api/v1/employments/end",
            json={"person": m["person"]["id"], "employer": m["employer_id"], "end_date": "2024-02-29"},
            headers=h,
        )
    )
    case = ok(
        c.post(
            "/api/v1/transfers",
            json={"person": m["person"]["id"], "from_region": BJ, "end_month": "2024-02"},
            headers=h,
        ),
        201,
    )
    cid = case.get("case_id", case.get("id"))
    assert ok(c.get(f"/api/v1/transfers/{cid}", headers=h))
    assert c.get(f"/api/v1/transfers/{cid}", headers=world["op.sh"]).status_code == 403


def test_wage_file_upload_history_and_transfer_cases(world: dict[str, Any]) -> None:  # noqa: F811
    c, h = world["client"], world["op.bj"]
    m = enrolled_member(world)
    good = f"证件号码,姓名,缴费工资,起始月份\n{m['id_number']},张三,12000,2024-04\n".encode()
    r = ok(
        c.post(
            "/api/v1/wage-files",
            data={"region": BJ, "employer": UNIT_BJ},
            files={"file": ("工资.csv", good, "text/csv")},
            headers=h,
        )
    )
    assert r["imported"] == 1 and r["bad_rows"] == []
    bad = f"证件号码,姓名,缴费工资,起始月份\n{m['id_number']},李四,-5,2024-05\n".encode()
    r = ok(
        c.post(
            "/api/v1/wage-files",
            data={"region": BJ, "employer": UNIT_BJ},
            files={"file": ("工资.csv", bad, "text/csv")},
            headers=h,
        )
    )
    assert r["imported"] == 0 and {b["field"] for b in r["bad_rows"]} >= {"name", "wage"}
    r = c.post(
        "/api/v1/wage-files",
        data={"region": BJ},
        files={"file": ("x.pdf", b"%PDF", "application/pdf")},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "file"
    hist = ok(
        c.post(
            "/api/v1/history",
            json={
                "person": m["person"]["id"],
                "region": "110105",
                "from_month": "1998-01",
                "to_month": "2002-12",
                "kind": "deemed",
                "source_document": "档案 1998-001",
            },
            headers=h,
        ),
        201,
    )
    assert hist
    ok(
        c.post(
            "/api/v1/employments/end",
            json={"person": m["person"]["id"], "employer": m["employer_id"], "end_date": "2024-02-29"},
            headers=h,
        )
    )
    ok(
        c.post(
            "/api/v1/transfers",
            json={"person": m["person"]["id"], "from_region": BJ, "end_month": "2024-02"},
            headers=h,
        ),
        201,
    )
    cases = ok(c.get(f"/api/v1/persons/{m['person']['id']}/transfers", headers=h))
    assert len(cases) == 1
    assert c.get(f"/api/v1/persons/{m['person']['id']}/transfers", headers=world["op.sh"]).status_code == 403
