"""The official Elasticsearch client, built from a URL. ``CompatibleJsonNode`` sends plain
``application/json`` (``x-ndjson`` for bulk) instead of the 9.x client's ``compatible-with=9``
media types, which OpenSearch-compatible servers (osmem-server in the tests) refuse (406)."""

from __future__ import annotations

from elastic_transport import Urllib3HttpNode
from elasticsearch import Elasticsearch

_COMPATIBLE = "application/vnd.elasticsearch+"


class CompatibleJsonNode(Urllib3HttpNode):
    def perform_request(self, method, target, body=None, headers=None, request_timeout=None):
        if headers:
            headers = headers.copy()
            for name in ("content-type", "accept"):
                value = headers.get(name)
                if value and value.startswith(_COMPATIBLE):
                    # "...+json; compatible-with=9" -> "application/json" (x-ndjson alike)
                    subtype = value[len(_COMPATIBLE) :].split(";")[0].strip()
                    headers[name] = f"application/{subtype}"
        return super().perform_request(
            method, target, body=body, headers=headers, request_timeout=request_timeout
        )


def make_client(url: str, timeout: float = 5.0) -> Elasticsearch:
    return Elasticsearch(url, node_class=CompatibleJsonNode, request_timeout=timeout, max_retries=0)
