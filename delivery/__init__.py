"""Outbox deliverers, one per audience: they render the desk's rows with the customers' and
the agents' views, so they sit above both (handlers, backoffice) and below the bot."""

from __future__ import annotations

from delivery import backoffice, customer, manager
from desk.model import Audience
from tgkit.outbox import Deliverer


def deliverers() -> dict[str, Deliverer]:
    return {
        Audience.CUSTOMER: customer.deliver,
        Audience.BACKOFFICE: backoffice.deliver,
        Audience.MANAGER: manager.deliver,
    }
