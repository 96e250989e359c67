"""The national-platform gateway's records: designated providers, encounters, fee lines, messages.

A hospital information system talks to yibao as it would to the national platform: it registers
an encounter (就诊, ``mdtrt_id``), uploads fee lines (费用明细), settles, and may reverse. Every
message is kept by its sender's ``msgid`` so a resent message gets the first answer and a 2601
reversal can name the message it undoes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yibao.db.base import Base, Fen, RegionCode, utcnow
from yibao.db.crypto import Encrypted


class MedicalInstitution(Base):
    """A designated medical institution or pharmacy (定点医药机构) and its level, which the
    settlement rules need (the platform's messages carry only ``fixmedins_code``)."""

    __tablename__ = "medical_institution"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)  # fixmedins_code
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # yibao.policy.catalog.LEVELS
    region_code: Mapped[str] = mapped_column(String(6))  # where it is (就医地 mdtrtarea_admvs)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Encounter(Base):
    """One visit or admission (就诊) registered through the gateway."""

    __tablename__ = "encounter"
    id: Mapped[int] = mapped_column(primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))  # insuplc_admdvs
    institution_code: Mapped[str] = mapped_column(ForeignKey("medical_institution.code"))
    kind: Mapped[str] = mapped_column(String(16))  # outpatient | inpatient
    med_type: Mapped[str] = mapped_column(String(6))
    begin_date: Mapped[dt.date] = mapped_column(Date)
    ipt_otp_no: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | settled | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeeLine(Base):
    """One uploaded fee line (2204 / 2301), classified by its ``chrgitm_lv`` (01 甲, 02 乙, 03 丙)."""

    __tablename__ = "fee_line"
    __table_args__ = (UniqueConstraint("encounter_id", "feedetl_sn"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounter.id"), index=True)
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    chrg_bchno: Mapped[str | None] = mapped_column(String(30))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    fee_date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[Fen]
    chrgitm_lv: Mapped[str] = mapped_column(String(3))
    over_limit_fen: Mapped[Fen]
    preselfpay_fen: Mapped[Fen]  # B class: the in-limit amount × the item's first self-pay share
    status: Mapped[str] = mapped_column(String(16), default="uploaded")  # uploaded | cancelled | settled
    message_id: Mapped[int] = mapped_column(ForeignKey("gateway_message.id"))
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))


class GatewayMessage(Base):
    """A message received (``msgid`` unique per sender) and the answer given."""

    __tablename__ = "gateway_message"
    __table_args__ = (Index("ix_gateway_message_msgid", "sender", "msgid", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))  # the signed-in account
    msgid: Mapped[str] = mapped_column(String(30))
    infno: Mapped[str] = mapped_column(String(6))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Encrypted("gateway_message.response"))  # JSON; may name the person
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claim.id"))
    reversed_by: Mapped[int | None] = mapped_column(Integer)
    received_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
