"""One stamp is one connected trace, across the real processes of the platform.

The H5 client's request carries a sampled W3C ``traceparent``; every process exports its
spans with the real OTLP/HTTP exporter to the session's in-test receiver
(``tests/support/otlp.py``). The spans of the gateway, stamping, certs (signing), the
stamping relay's publish to the broker and notify's consumer of ``StampApplied`` must all
share the client's trace id and form one tree under the client's span.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import pytest

from tests.conftest import Platform
from tests.e2e.test_stamping import (
    CERT_PASSWORD,
    client_token,
    create_client,
    grant,
    new_enterprise,
    new_person,
    new_seal,
    request_pdf,
    scan,
)
from tests.support.api import Api
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.pdf_fixtures import make_test_pdf

pytestmark = pytest.mark.e2e

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # OTLP's SpanKind


def missing(spans: list[ReceivedSpan], client_span: str) -> list[str]:
    """What the trace of one stamp still lacks (spans arrive in batches, from 7 processes)."""
    have = {(s.service, s.kind, s.name) for s in spans}
    wanted = {
        ("gateway", SERVER, "POST /api/v1/stamp-requests* → stamping"),  # its matched route
        ("stamping", SERVER, "POST /api/v1/stamp-requests/{request_id}/stamp"),
        ("stamping", PRODUCER, "publish stamping.StampApplied"),
        ("notify", CONSUMER, "process stamping.StampApplied"),
    }
    lacking = [f"{w[0]}: {w[2]}" for w in sorted(wanted - have)]
    if not any(s.service == "certs" and s.kind == SERVER for s in spans):
        lacking.append("certs: a server span")
    ids = {s.span_id for s in spans}
    lacking += [f"the parent of {s.service}: {s.name}" for s in spans
                if s.parent_span_id not in ids and s.parent_span_id != client_span]
    return lacking


async def trace_of(receiver: OtlpReceiver, trace_id: str, client_span: str,
                   within: float = 30.0) -> list[ReceivedSpan]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        spans = receiver.trace(trace_id)
        if not missing(spans, client_span):
            await asyncio.sleep(0.5)  # late siblings (other consumers) of a complete tree
            return receiver.trace(trace_id)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"trace incomplete after {within}s, lacking {missing(spans, client_span)}; "
                                 f"got {sorted((s.service, s.name) for s in spans)}")
        await asyncio.sleep(0.2)


async def test_one_stamp_is_one_connected_trace(api: Api, platform: Platform,
                                                trace_receiver: OtlpReceiver) -> None:
    enterprise = await new_enterprise(api)
    seal = await new_seal(api, enterprise)
    person = await new_person(api)
    await grant(api, enterprise, seal["seal_id"], person)
    client = create_client(platform, "链路追踪测试系统")
    token = await client_token(api, client)
    requested = await request_pdf(api, token, make_test_pdf(pages=3))
    assert requested.status == 201, requested
    request = requested.json
    assert (await scan(api, person, request["qr_payload"])).status == 200

    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    stamped = await api.post(
        f"/api/v1/stamp-requests/{request['request_id']}/stamp", token=person.token,
        headers={"traceparent": f"00-{trace_id}-{client_span}-01"},
        json={"enterprise_id": seal["enterprise_id"], "seal_id": seal["seal_id"],
              "certificate_password": CERT_PASSWORD})
    assert stamped.status == 201, stamped

    spans = await trace_of(trace_receiver, trace_id, client_span)
    by_id = {s.span_id: s for s in spans}
    assert len(by_id) == len(spans), "span ids are unique"
    # one tree: a single root, the gateway's span, child of the client's span; every other
    # span's parent is in the trace
    roots = [s for s in spans if s.parent_span_id not in by_id]
    assert [(r.service, r.kind, r.parent_span_id) for r in roots] == [("gateway", SERVER, client_span)]

    def ancestors(s: ReceivedSpan) -> list[str]:
        chain = []
        while s.parent_span_id in by_id:
            s = by_id[s.parent_span_id]
            chain.append(f"{s.service}:{s.name}")
        return chain

    stamp_span = next(s for s in spans if s.name == "POST /api/v1/stamp-requests/{request_id}/stamp")
    assert by_id[stamp_span.parent_span_id].service == "gateway"
    certs = [s for s in spans if s.service == "certs" and s.kind == SERVER]
    assert any(c.name == "POST /internal/seal-certificates/{seal_id}/signatures" for c in certs)
    for c in certs:  # reached by a service call (stamping's, or seals' on its behalf)
        parent = by_id[c.parent_span_id]
        assert parent.kind == CLIENT and parent.service in ("stamping", "seals"), c
        assert parent.name.endswith(" certs") and parent.attributes["peer.service"] == "certs"
        assert f"stamping:{stamp_span.name}" in ancestors(c)
    publish = next(s for s in spans if s.name == "publish stamping.StampApplied")
    assert f"stamping:{stamp_span.name}" in ancestors(publish)
    assert publish.attributes["messaging.destination.name"] == "eseal.events"
    consumed = next(s for s in spans if s.service == "notify" and s.kind == CONSUMER)
    assert consumed.parent_span_id == publish.span_id  # the envelope carried the publish span
    assert Counter(s.service for s in spans).keys() >= {"gateway", "stamping", "certs", "notify"}

    # nothing secret or personal in a span: no password, token, query string or name
    values = " ".join(str(v) for s in spans for v in s.attributes.values())
    for secret in (CERT_PASSWORD, person.token, token, client.client_secret, person.name,
                   person.body["phone"], request["qr_payload"]):
        assert secret not in values
    assert "?" not in values and all("?" not in s.name for s in spans)
