"""In-memory fakes of the services' ports, for fast service-layer tests (no database, no
other service). Each fake is held to its real adapter's behaviour by a contract suite that
runs both against the same checks (``services/*/tests/integration/test_*_contract.py``)."""
