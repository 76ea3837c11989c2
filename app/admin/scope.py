"""Who sees whom: the customers the signed-in colleague may see.

A colleague whose account says "sees only their own customers" (support, viewer and
advisor roles) sees only the customers assigned to them. The guard (guard.py) decides
the scope once per request and keeps it on ``g``; it alone refuses another's customer
named in a URL. Every list or count of customers goes through :func:`visible`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import Select, select

from app.extensions import db
from app.models import Customer


@dataclass(frozen=True)
class CustomerScope:
    """Every customer, or (``own_of``) only those assigned to that colleague."""

    own_of: int | None = None

    @property
    def restricted(self) -> bool:
        return self.own_of is not None

    def customer_ids(self) -> Select[Any] | None:
        """The ids of the customers in scope, as a subquery; None for every customer."""
        if self.own_of is None:
            return None
        return select(Customer.id).where(Customer.assigned_user_id == self.own_of)

    def allows(self, public_id: str) -> bool:
        """Whether the customer with this public id is in scope (an unknown one is not,
        unless the scope is every customer)."""
        if self.own_of is None:
            return True
        found = db.session.scalar(
            select(Customer.id).where(
                Customer.public_id == public_id, Customer.assigned_user_id == self.own_of
            )
        )
        return found is not None


EVERY_CUSTOMER = CustomerScope()


def current_scope() -> CustomerScope:
    """The scope the guard decided for this request."""
    scope: CustomerScope = g.get("customer_scope", EVERY_CUSTOMER)
    return scope


def visible(query: Select[Any], customer_id: Any = None) -> Select[Any]:
    """``query`` narrowed to the customers the signed-in colleague may see.

    ``customer_id`` is the column naming the customer of each row; by default the query
    selects customers themselves.
    """
    scope = current_scope()
    if scope.own_of is None:
        return query
    if customer_id is None:
        return query.where(Customer.assigned_user_id == scope.own_of)
    return query.where(customer_id.in_(scope.customer_ids()))
