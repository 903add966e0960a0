"""Prometheus metrics of the common library (one process = one service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("eseal_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram("eseal_http_request_seconds", "HTTP request latency", ["method", "route"])
RELAY_PUBLISHED = Counter("eseal_relay_published_total", "Events published by the relay", ["producer"])
RELAY_LAG = Gauge("eseal_relay_lag_events", "Events waiting to be published", ["producer"])
CONSUMED = Counter("eseal_events_consumed_total", "Events handled", ["consumer", "type", "outcome"])
