"""Account facts: the alternate contacts (security by default; billing and operations when the
config's ``alternate_contacts.types`` asks for them)."""

from __future__ import annotations

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.core.errors import NotFound
from scanner.core.models import JSON

CONTACT_TYPES = ("SECURITY", "BILLING", "OPERATIONS")


async def _contact(ctx: CollectContext, kind: str) -> JSON:
    # The Account Management API is global (served from us-east-1). Without AccountId the call
    # reads the calling account's own contact.
    client = await ctx.aws.client("account")
    try:
        resp = await aws_call(ctx, client, "get_alternate_contact", AlternateContactType=kind)
    except NotFound:
        return None  # ResourceNotFoundException: no contact of this type is set
    c = resp.get("AlternateContact") or {}
    return {
        "name": c.get("Name"),
        "email": c.get("EmailAddress"),
        "phone": c.get("PhoneNumber"),
        "title": c.get("Title"),
    }


async def fetch_alternate_contacts(ctx: CollectContext) -> JSON:
    types = ctx.options.alternate_contacts.types
    # Sequential on purpose: the orchestrator is the only place that creates tasks. Types not
    # fetched are absent (unknown to a rule), never null ("not set").
    return {k.lower(): await _contact(ctx, k) for k in CONTACT_TYPES if k in types}


COLLECTORS: tuple[Collector, ...] = (
    Collector("account.alternate_contacts", "account", ("account:GetAlternateContact",),
              fetch_alternate_contacts,
              "alternate contacts (security; billing and operations on request)"),
)

__all__ = ["COLLECTORS"]
