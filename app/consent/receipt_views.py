"""Consent receipts for the customer: a printable page and the signed JSON (``receipts``)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("receipts", __name__)
