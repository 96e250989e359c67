"""Identifiers: person ID numbers, unified social credit codes, masking and synthetic IDs.

Shared by the administration core (the register) and precise enrollment (feed normalisation);
it imports nothing from the database or the services, only :mod:`yibao.errors`.

============================  ==========================================================
:mod:`~yibao.ids.person`      citizen ID (GB 11643-1999, 18 digits), legacy 15-digit ID,
                              foreigners' permanent residence ID (2017 and 2023 editions):
                              :func:`parse_person_id`, :func:`is_valid_person_id`,
                              :func:`normalize_resident_id`, :func:`checksum_char`,
                              :func:`person_id_reason`
:mod:`~yibao.ids.batch`       :func:`validate_ids` — the same rules over millions of rows,
                              with an :class:`IdReason` code per row
:mod:`~yibao.ids.uscc`        unified social credit code (GB 32100-2015):
                              :func:`parse_uscc`, :func:`is_valid_uscc`
:mod:`~yibao.ids.masking`     :func:`mask_id`, :func:`mask_name`, :func:`mask_phone`,
                              :func:`mask_bank_account`, :class:`MaskingFilter` for logs
:mod:`~yibao.ids.synthetic`   :func:`synthetic_resident_id` (valid numbers for tests and demos)
============================  ==========================================================

Every parser accepts full-width characters, lower case and surrounding blanks, and raises
:class:`yibao.errors.InputError` naming the field, the value and the first failed check, in
Chinese and English (e.g. 校验码应为 X，实为 5 / check character should be X, found 5).
"""

from yibao.ids.batch import IdBatch, reason_text, validate_ids
from yibao.ids.masking import MaskingFilter, mask_bank_account, mask_id, mask_name, mask_phone, mask_text
from yibao.ids.person import (
    EARLIEST_BIRTH_DATE,
    PROVINCE_CODES,
    REASON_TEXT,
    IdReason,
    PersonId,
    PersonIdKind,
    Sex,
    checksum_char,
    is_valid_person_id,
    normalize_resident_id,
    parse_person_id,
    person_id_reason,
)
from yibao.ids.synthetic import synthetic_resident_id, synthetic_resident_ids
from yibao.ids.uscc import USCC_ALPHABET, is_valid_uscc, organisation_code_check, parse_uscc, uscc_check_char

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "PROVINCE_CODES",
    "REASON_TEXT",
    "USCC_ALPHABET",
    "IdBatch",
    "IdReason",
    "MaskingFilter",
    "PersonId",
    "PersonIdKind",
    "Sex",
    "checksum_char",
    "is_valid_person_id",
    "is_valid_uscc",
    "mask_bank_account",
    "mask_id",
    "mask_name",
    "mask_phone",
    "mask_text",
    "normalize_resident_id",
    "organisation_code_check",
    "parse_person_id",
    "parse_uscc",
    "person_id_reason",
    "reason_text",
    "synthetic_resident_id",
    "synthetic_resident_ids",
    "uscc_check_char",
    "validate_ids",
]
