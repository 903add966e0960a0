"""Documents are stored without PostgreSQL's compression (they are compressed inside):
pglz tried on every stamp's result and upload and gained nothing but CPU time."""

from __future__ import annotations

from tests.support.harnesses.stamping import Harness


async def test_document_columns_are_stored_out_of_line_uncompressed(stamping: Harness) -> None:
    rows = await stamping.pool.fetch(
        "SELECT c.relname, a.attname, a.attstorage::text AS attstorage FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " WHERE (c.relname, a.attname) IN (('request_documents', 'content'),"
        " ('stamp_results', 'content'), ('approvals', 'document'))")
    assert {(r["relname"], r["attname"]): r["attstorage"] for r in rows} == {
        ("request_documents", "content"): "e", ("stamp_results", "content"): "e",
        ("approvals", "document"): "e"}
