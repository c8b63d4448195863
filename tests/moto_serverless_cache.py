"""ElastiCache Serverless for moto's server, which has none (moto 5.2).

Without it, CreateServerlessCache answers 500 and the AWS provider retries it for minutes. This
adds the four calls the provider makes (Create, Describe, Modify, Delete) to moto's ElastiCache
responses, keeps the caches on the region's backend and lets its tagging calls accept their
ARNs. A cache is available at once; its endpoint is named like AWS's
(``<name>-<6 characters>.serverless.<region code>.cache.amazonaws.com``), so that
``iac_inventory.endpoint_hosts`` reduces it the same way. Use ``serverless_caches()`` around
the server's lifetime.
"""

from __future__ import annotations

import contextlib
import datetime
import re
from collections.abc import Iterator
from typing import Any

CACHE_PORT = 6379
READER_PORT = 6380
# "eu-central-1" -> "euc1": the region code AWS puts in a serverless cache's host name.
DIRECTIONS = {"north": "n", "south": "s", "east": "e", "west": "w", "central": "c"}


def region_code(region: str) -> str:
    area, *words, number = region.split("-")
    letters = ""
    for word in words:
        rest = word
        for direction, letter in DIRECTIONS.items():  # "southeast" -> "se"
            if rest.startswith(direction):
                letters, rest = letters + letter, rest.removeprefix(direction)
        letters += rest[:1]
    return f"{area}{letters}{number}"


def _errors():
    from moto.elasticache.exceptions import ElastiCacheException

    class ServerlessCacheNotFoundFault(ElastiCacheException):
        code = "ServerlessCacheNotFoundFault"

        def __init__(self, name: str):
            super().__init__(f"Serverless cache {name} not found.")

    class ServerlessCacheAlreadyExistsFault(ElastiCacheException):
        code = "ServerlessCacheAlreadyExistsFault"

        def __init__(self, name: str):
            super().__init__(f"Serverless cache {name} already exists.")

    # moto looks an error's service model up from the module that defines it.
    for error in (ServerlessCacheNotFoundFault, ServerlessCacheAlreadyExistsFault):
        error.__module__ = ElastiCacheException.__module__
    return ServerlessCacheNotFoundFault, ServerlessCacheAlreadyExistsFault


def _caches(backend: Any) -> dict[str, dict[str, Any]]:
    """The serverless caches of one region's backend (created on first use)."""
    if not hasattr(backend, "serverless_caches"):
        backend.serverless_caches = {}
    return backend.serverless_caches


@contextlib.contextmanager
def serverless_caches() -> Iterator[None]:
    """ElastiCache Serverless in moto while the context is open (for a server in this process)."""
    from moto.core.responses import ActionResult
    from moto.elasticache.models import ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse
    from moto.moto_api._internal import mock_random

    not_found, already_exists = _errors()

    def existing(response: Any, name: str) -> dict[str, Any]:
        caches = _caches(response.elasticache_backend)
        if name not in caches:
            raise not_found(name)
        return caches[name]

    def create_serverless_cache(self) -> ActionResult:
        params = self._get_params()
        name, engine = params["ServerlessCacheName"], params["Engine"]
        caches = _caches(self.elasticache_backend)
        if name in caches:
            raise already_exists(name)
        major = params.get("MajorEngineVersion") or ("8" if engine == "valkey" else "7")
        arn = f"arn:aws:elasticache:{self.region}:{self.current_account}:serverlesscache:{name}"
        suffix = mock_random.get_random_string(6, lower_case=True)
        host = f"{name}-{suffix}.serverless.{region_code(self.region)}.cache.amazonaws.com"
        cache = {
            "ServerlessCacheName": name,
            "Description": params.get("Description", ""),
            "CreateTime": datetime.datetime.now(datetime.UTC),
            "Status": "available",
            "Engine": engine,
            "MajorEngineVersion": major,
            "FullEngineVersion": f"{major}.1",
            "CacheUsageLimits": params.get("CacheUsageLimits"),
            "KmsKeyId": params.get("KmsKeyId"),
            "SecurityGroupIds": params.get("SecurityGroupIds", []),
            "Endpoint": {"Address": host, "Port": CACHE_PORT},
            "ReaderEndpoint": {"Address": host, "Port": READER_PORT},
            "ARN": arn,
            "UserGroupId": params.get("UserGroupId"),
            "SubnetIds": params.get("SubnetIds", []),
            "SnapshotRetentionLimit": params.get("SnapshotRetentionLimit", 0),
            "DailySnapshotTime": params.get("DailySnapshotTime", "04:00"),
        }
        caches[name] = {key: value for key, value in cache.items() if value is not None}
        if params.get("Tags"):
            self.elasticache_backend.tagging_service.tag_resource(arn, params["Tags"])
        return ActionResult({"ServerlessCache": caches[name]})

    def describe_serverless_caches(self) -> ActionResult:
        name = self._get_param("ServerlessCacheName")
        if name:
            return ActionResult({"ServerlessCaches": [existing(self, name)]})
        return ActionResult({"ServerlessCaches": list(_caches(self.elasticache_backend).values())})

    def modify_serverless_cache(self) -> ActionResult:
        params = self._get_params()
        cache = existing(self, params["ServerlessCacheName"])
        changeable = (
            "Description", "CacheUsageLimits", "SecurityGroupIds", "UserGroupId", "SnapshotRetentionLimit",
            "DailySnapshotTime", "Engine", "MajorEngineVersion",
        )  # fmt: skip
        cache.update({key: params[key] for key in changeable if key in params})
        return ActionResult({"ServerlessCache": cache})

    def delete_serverless_cache(self) -> ActionResult:
        name = self._get_param("ServerlessCacheName")
        cache = existing(self, name)
        del _caches(self.elasticache_backend)[name]
        return ActionResult({"ServerlessCache": {**cache, "Status": "deleting"}})

    list_tags = ElastiCacheBackend.list_tags_for_resource

    def list_tags_for_resource(self, arn: str) -> dict[str, list[dict[str, str]]]:
        if re.match(r"^arn:aws:elasticache:[^:]*:[0-9]*:serverlesscache:", arn):  # not in moto's ARN pattern
            return self.tagging_service.list_tags_for_resource(arn)
        return list_tags(self, arn)

    added = {
        "create_serverless_cache": create_serverless_cache,
        "describe_serverless_caches": describe_serverless_caches,
        "modify_serverless_cache": modify_serverless_cache,
        "delete_serverless_cache": delete_serverless_cache,
    }
    for name, method in added.items():
        setattr(ElastiCacheResponse, name, method)
    ElastiCacheBackend.list_tags_for_resource = list_tags_for_resource
    try:
        yield
    finally:
        for name in added:
            delattr(ElastiCacheResponse, name)
        ElastiCacheBackend.list_tags_for_resource = list_tags
