"""Fault tests reuse the delivery fixtures (sandbox, people, worker factory)."""

from tests.delivery.conftest import limits, make_service, people, sandbox_clock, server

__all__ = ["limits", "make_service", "people", "sandbox_clock", "server"]
