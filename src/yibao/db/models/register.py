"""The register (参保登记): pooling regions, persons, employer units, employment spells, family links."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from yibao.db.base import Base, RegionCode, utcnow
from yibao.db.crypto import Encrypted, blind_index


class Region(Base):
    """A pooling region (统筹地区) this installation administers, tied to its policy file."""

    __tablename__ = "region"
    code: Mapped[RegionCode] = mapped_column(primary_key=True)  # GB/T 2260, e.g. 110000
    policy: Mapped[str] = mapped_column(String(64))  # registry name of the policy file, e.g. beijing
    # the bureau's own region file (YAML text), when the region is not shipped or overrides it
    policy_file: Mapped[str | None] = mapped_column(Text)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    # four-eyes thresholds the bureau sets (yibao.admin.approvals; None: yibao's default)
    claim_review_fen: Mapped[int | None] = mapped_column(BigInteger)  # a claim's total cost from which
    export_review_rows: Mapped[int | None] = mapped_column(Integer)  # an export's persons above which
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Person(Base):
    """A natural person, identified by a validated ID number (canonical form, see yibao.ids).

    The ID number, name and phone are stored encrypted (:mod:`yibao.db.crypto`); look-ups by ID
    number or name go through their blind indexes, which the validators below keep in step.
    """

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_kind: Mapped[str] = mapped_column(String(32))
    id_number: Mapped[str] = mapped_column(Encrypted("person.id_number"))
    id_number_bidx: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Encrypted("person.name"))
    name_bidx: Mapped[str] = mapped_column(String(64), index=True)  # exact-name search (person find)
    sex: Mapped[str] = mapped_column(String(6))  # male | female
    birth_date: Mapped[dt.date] = mapped_column(Date)
    hukou_region: Mapped[str | None] = mapped_column(String(6))  # GB/T 2260 code of the hukou
    residence_region: Mapped[str | None] = mapped_column(String(6))
    phone: Mapped[str | None] = mapped_column(Encrypted("person.phone"))
    death_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @validates("id_number", "name")
    def _keep_index(self, key: str, value: str) -> str:
        setattr(self, f"{key}_bidx", blind_index(value))
        return value


class Employer(Base):
    """An employer unit (用人单位), identified by its unified social credit code."""

    __tablename__ = "employer"
    id: Mapped[int] = mapped_column(primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_code: Mapped[RegionCode] = mapped_column(ForeignKey("region.code"))
    # how the employer base is formed (DOMAIN §2.1): sum_of_individual_bases | payroll_total
    base_method: Mapped[str] = mapped_column(String(32), default="sum_of_individual_bases")
    # bankrupt / closed / hardship enterprise (seed 003): retirees handled by lump-sum plans
    hardship: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | closed
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EmploymentSpell(Base):
    """A person employed by a unit from ``start_date`` to ``end_date`` (inclusive; open if None)."""

    __tablename__ = "employment_spell"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)


class FamilyLink(Base):
    """A family mutual-aid authorisation (家庭共济, DOMAIN §3.3): ``holder``'s account may pay for
    ``relative`` (spouse, child, parent; near relatives from 2024) from ``valid_from``."""

    __tablename__ = "family_link"
    __table_args__ = (UniqueConstraint("holder_id", "relative_id", "valid_from"),
                      Index("ix_family_link_relative", "relative_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    holder_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    relative_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    relation: Mapped[str] = mapped_column(String(16))  # spouse | child | parent | near_relative
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
