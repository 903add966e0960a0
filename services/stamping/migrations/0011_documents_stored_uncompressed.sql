-- Issues 14/18: documents are kept without PostgreSQL's own compression (STORAGE EXTERNAL:
-- out of line, not compressed). PDFs and OFDs are compressed inside already (Flate streams,
-- ZIP entries, PNG pictures), so pglz gains next to nothing on them, but it still tried on
-- every insert: a stamped OFD of 170 KB took 3 ms to insert instead of 0.9 ms — the
-- largest part of the stamp's commit. Applies to rows written from now on.
ALTER TABLE request_documents ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE stamp_results ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE approvals ALTER COLUMN document SET STORAGE EXTERNAL;
