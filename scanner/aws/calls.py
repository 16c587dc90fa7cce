"""Calling AWS: one call or every page of one, with failures classified by aws/errors.py into
orgscan's exception tree (so callers catch AccessDenied or NotFound, never botocore's types)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from botocore import xform_name

from scanner.aws.errors import raise_classified


def _names(client: Any, method: str) -> tuple[str, str]:
    meta = client.meta
    return meta.service_model.service_name, meta.method_to_api_mapping.get(method, method)


async def call(client: Any, method: str, *, account_id: str = "", **kwargs: Any) -> Any:
    """``client.<method>(**kwargs)`` with AWS failures translated (errors.py decides the kind)."""
    try:
        return await getattr(client, method)(**kwargs)
    except Exception as exc:
        service, operation = _names(client, method)
        raise_classified(exc, service=service, operation=operation, account_id=account_id)


async def collect(client: Any, method: str, key: str, *, account_id: str = "",
                  **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across all pages of ``method``, failures translated."""
    try:
        return [item async for item in paginate(client, method, key, **kwargs)]
    except Exception as exc:
        service, operation = _names(client, method)
        raise_classified(exc, service=service, operation=operation, account_id=account_id)


async def paginate(client: Any, operation: str, key: str, **kwargs: Any) -> AsyncIterator[Any]:
    """Yield every item under ``key`` across all pages of ``operation`` (API name such as
    ``ListRoots`` or Python name such as ``list_roots``)."""
    paginator = client.get_paginator(xform_name(operation))
    async for page in paginator.paginate(**kwargs):
        for item in page.get(key, []):
            yield item
