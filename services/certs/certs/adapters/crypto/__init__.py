"""Cryptographic core of the certs service: key custody, CA, TSA, signatures (no I/O)."""
