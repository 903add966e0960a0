"""用印审批 on the seal aggregate: the policy folds onto the seal, needs an approver when
on, and a revoked seal takes none."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from seals.domain import errors
from seals.domain import seal as seal_rules


def _seal() -> seal_rules.Seal:
    issued = seal_rules.issue_seal(seal_id=uuid.uuid4(), enterprise_id=uuid.uuid4(), type_code="contract",
                                   name="合同专用章", image_sha256="ab" * 32, certificate_serial="01",
                                   issued_by=uuid.uuid4())
    folded = seal_rules.fold([issued])
    assert folded is not None
    return folded


def test_the_policy_folds_onto_the_seal_and_can_be_turned_off() -> None:
    seal = _seal()
    manager = uuid.uuid4()
    on = seal_rules.set_approval_policy(seal, required=True, approvers=[seal.enterprise_id, manager, manager],
                                        by=seal.enterprise_id)
    assert on.approvers == [seal.enterprise_id, manager]  # once each
    after = seal_rules.fold([seal_rules.issue_seal(
        seal_id=seal.seal_id, enterprise_id=seal.enterprise_id, type_code="contract", name="合同专用章",
        image_sha256="ab" * 32, certificate_serial="01", issued_by=seal.enterprise_id), on])
    assert after is not None and after.approval_required and after.approvers == (seal.enterprise_id, manager)
    assert after.version == 2
    off = seal_rules.set_approval_policy(after, required=False, approvers=[], by=seal.enterprise_id)
    assert off.approval_required is False and off.approvers == []


def test_approval_without_an_approver_and_a_revoked_seal_are_refused() -> None:
    seal = _seal()
    with pytest.raises(errors.InvalidApprovers):
        seal_rules.set_approval_policy(seal, required=True, approvers=[], by=seal.enterprise_id)
    revoked = seal_rules.fold([
        seal_rules.issue_seal(seal_id=seal.seal_id, enterprise_id=seal.enterprise_id, type_code="contract",
                              name="合同专用章", image_sha256="ab" * 32, certificate_serial="01",
                              issued_by=seal.enterprise_id),
        seal_rules.revoke_seal(seal, by=seal.enterprise_id, at=datetime(2026, 3, 2, tzinfo=UTC), reason="")])
    assert revoked is not None
    with pytest.raises(errors.SealRevoked):
        seal_rules.set_approval_policy(revoked, required=True, approvers=[seal.enterprise_id],
                                       by=seal.enterprise_id)
