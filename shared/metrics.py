"""Prometheus metrics of the common library (one process = one service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("eseal_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("eseal_http_request_seconds", "HTTP request latency", ["method", "route"])
RELAY_PUBLISHED = Counter("eseal_relay_published_total", "Events published by the relay", ["producer"])
RELAY_LAG = Gauge("eseal_relay_lag_events", "Events waiting to be published", ["producer"])
CONSUMED = Counter("eseal_events_consumed_total", "Events handled", ["consumer", "type", "outcome"])
# External providers (shared.providers): every call, its latency, and each failure's reason
# (a provider error code, or timeout / connect / http_5xx ...).
PROVIDER_CALLS = Counter("eseal_provider_calls_total", "Calls to external providers",
                         ["provider", "service", "action", "outcome"])
PROVIDER_FAILURES = Counter("eseal_provider_failures_total", "Failed calls to external providers",
                            ["provider", "service", "action", "reason"])
# SMS delivery reports (回执) pulled from the provider: delivered / failed.
SMS_DELIVERY = Counter("eseal_sms_delivery_total", "SMS delivery reports by outcome", ["outcome"])
PROVIDER_LATENCY = Histogram("eseal_provider_call_seconds", "Latency of calls to external providers",
                             ["provider", "service", "action"])
