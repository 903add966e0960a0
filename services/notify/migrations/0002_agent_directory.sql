-- notify: the directory's enterprises and persons get the columns of the one shared
-- projection (shared/agent_directory.py), the same tables seals keeps. Existing rows get ''
-- (the next EnterpriseRegistered / PersonRegistered replayed fills them).
ALTER TABLE enterprises ADD COLUMN IF NOT EXISTS uscc text NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN IF NOT EXISTS legal_representative_name text NOT NULL DEFAULT '';
ALTER TABLE persons ADD COLUMN IF NOT EXISTS id_number_masked text NOT NULL DEFAULT '';
