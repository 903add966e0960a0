-- 用印审批: a seal may require approval before it is applied (SealApprovalPolicySet).
ALTER TABLE seals ADD COLUMN approval_required boolean NOT NULL DEFAULT false;
ALTER TABLE seals ADD COLUMN approvers uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX seals_by_approver ON seals USING gin (approvers) WHERE approval_required;
