"""Erasing a person from the trail: the ``subject.erase`` control event, built without keeping who it erases.

``agenttrail erase --subject human:alice@acme.example`` and ``POST /v1/erase`` publish
the same change: the subject's digest (``schemas/sealing.py``: an HMAC under a key
derived from AGENTTRAIL_FINGERPRINT_KEY), never the id, so the governance trail
records that someone was erased, by whom and why, without keeping what it erased.
The materializer destroys the subject's keys when it stores the change
(``consumers/subject_intake.py``); from then on every view reads their sealed
values as "[erased]".
"""

from __future__ import annotations

from pydantic import SecretStr

from agenttrail._exceptions import InvalidEventError
from agenttrail.schemas.control import SubjectErased
from agenttrail.schemas.sealing import SUBJECT_KINDS, SubjectKeys, subject_of

EVERY_TENANT = "*"


def erasure(fingerprint_key: SecretStr | None, key_id: str, subject: str, *,
            reason: str) -> SubjectErased:
    """The change that erases ``subject`` (``human:ID``, or an id, taken as a person's).

    InvalidEventError when the subject is not a person (only people's ids are sealed) or the
    reason names them: the reason is kept with the change, and must not keep what it erases.
    """
    spec = subject_of(subject.strip())
    kind, _, ident = spec.partition(":")
    if kind not in SUBJECT_KINDS:
        raise InvalidEventError(f"Only people are erased (human:ID); {kind} ids are not personal data and are "
                                "never sealed.")
    if len(ident) >= 3 and ident.casefold() in reason.casefold():
        raise InvalidEventError("The reason names the person being erased; it is kept with the erasure, so "
                                "describe the request without naming them (a ticket number, say).")
    return SubjectErased(subject_digest=SubjectKeys(fingerprint_key, key_id).digest(spec))
