"""What a submit_sm_resp status means for its part, from tables (no socket)."""

from __future__ import annotations

import pytest

from engine.dispatch.policy.outcomes import (
    Decision,
    RetryPolicy,
    classify,
    status_name,
    submit_status,
)
from engine.smpp.constants import Status
from engine.smpp.pdu import GenericNack, Response, SubmitSmResp


@pytest.mark.parametrize(
    ("status", "decision"),
    [
        (Status.ESME_ROK, Decision.SENT),
        (Status.ESME_RTHROTTLED, Decision.THROTTLED),
        (Status.ESME_RSYSERR, Decision.RETRY),
        (Status.ESME_RMSGQFUL, Decision.RETRY),
        (Status.ESME_RX_T_APPN, Decision.RETRY),
        (Status.ESME_RINVDSTADR, Decision.REJECTED),
        (Status.ESME_RSUBMITFAIL, Decision.REJECTED),
        (Status.ESME_RX_P_APPN, Decision.REJECTED),
        (Status.ESME_RUNKNOWNERR, Decision.REJECTED),
        (0x00000400, Decision.REJECTED),  # vendor-specific: permanent
    ],
)
def test_each_status_decides_what_becomes_of_its_part(status: int, decision: Decision) -> None:
    assert classify(status) is decision


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (SubmitSmResp(message_id="7"), Status.ESME_ROK),
        (SubmitSmResp(status=Status.ESME_RTHROTTLED), Status.ESME_RTHROTTLED),
        (GenericNack(), Status.ESME_RSYSERR),  # a nack without a status: transient
        (GenericNack(status=Status.ESME_RINVCMDID), Status.ESME_RINVCMDID),
    ],
)
def test_a_generic_nack_without_a_status_counts_as_a_system_error(
    answer: Response, status: int
) -> None:
    assert submit_status(answer) == status


@pytest.mark.parametrize(
    ("policy", "retries", "delay_s"),
    [
        (RetryPolicy(max_retries=5, min_s=0.05, max_s=5.0), 1, 0.05),
        (RetryPolicy(max_retries=5, min_s=0.05, max_s=5.0), 2, 0.1),
        (RetryPolicy(max_retries=5, min_s=0.05, max_s=5.0), 5, 0.8),
        (RetryPolicy(max_retries=5, min_s=0.05, max_s=5.0), 6, None),  # then ERREUR_RESEAU
        (RetryPolicy(max_retries=10, min_s=1.0, max_s=5.0), 3, 4.0),
        (RetryPolicy(max_retries=10, min_s=1.0, max_s=5.0), 4, 5.0),  # capped
        (RetryPolicy(max_retries=10, min_s=1.0, max_s=5.0), 10, 5.0),
        (RetryPolicy(max_retries=10, min_s=1.0, max_s=5.0), 11, None),
        (RetryPolicy(max_retries=0, min_s=1.0, max_s=5.0), 1, None),  # no retry at all
    ],
)
def test_retries_back_off_exponentially_up_to_a_ceiling_then_give_up(
    policy: RetryPolicy, retries: int, delay_s: float | None
) -> None:
    assert policy.delay_s(retries) == (pytest.approx(delay_s) if delay_s is not None else None)


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (Status.ESME_RINVPASWD, "ESME_RINVPASWD"),
        (Status.ESME_RBINDFAIL, "ESME_RBINDFAIL"),
        (0x00000400, "0x00000400"),
    ],
)
def test_a_status_is_named_or_written_in_hex(status: int, name: str) -> None:
    assert status_name(status) == name
