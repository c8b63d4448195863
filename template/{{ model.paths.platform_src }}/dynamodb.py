"""Adapter: records keyed by ``id`` in one DynamoDB table.

The only module that speaks DynamoDB. Service logic sees plain dicts and the
errors in ``errors.py``; the table name comes from settings (factor 4: swap the
table per stage, or the endpoint for the local emulator, without code changes).
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from .errors import ConflictError, NotFoundError, ValidationError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cache
def _client() -> Any:
    # One client per process, reused by warm invocations; it holds no request state.
    return boto3.client("dynamodb")


def _to_item(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in record.items()}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor))
    except ValueError:
        key = None
    # A cursor is the table key this API handed out: {"id": {"S": "..."}} and nothing else.
    if not (isinstance(key, dict) and set(key) == {"id"} and isinstance(key["id"], dict) and set(key["id"]) == {"S"}):
        raise ValidationError("The cursor is not one this API returned.")
    return key


class DynamoTable:
    def __init__(self, table_name: str, client: Any = None) -> None:
        self.name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or _client()

    def insert(self, record: dict[str, Any]) -> None:
        try:
            self.client.put_item(
                TableName=self.name,
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise ConflictError(f"A record with id {record['id']} already exists.") from None
            raise

    def get(self, record_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.name, Key=_to_item({"id": record_id})).get("Item")
        return _from_item(item) if item else None

    def page(self, limit: int, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of records and an opaque cursor for the next page (None at the end)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Limit": limit}
        if cursor:
            kwargs["ExclusiveStartKey"] = _decode_cursor(cursor)
        result = self.client.scan(**kwargs)
        last = result.get("LastEvaluatedKey")
        next_cursor = base64.urlsafe_b64encode(json.dumps(last).encode()).decode() if last else None
        return [_from_item(item) for item in result.get("Items", [])], next_cursor

    def update(self, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        names = {f"#f{i}": key for i, key in enumerate(fields)}
        values = {f":v{i}": _serializer.serialize(value) for i, value in enumerate(fields.values())}
        try:
            result = self.client.update_item(
                TableName=self.name,
                Key=_to_item({"id": record_id}),
                UpdateExpression="SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise NotFoundError(f"No record with id {record_id}.") from None
            raise
        return _from_item(result["Attributes"])

    def delete(self, record_id: str) -> None:
        try:
            self.client.delete_item(
                TableName=self.name,
                Key=_to_item({"id": record_id}),
                ConditionExpression="attribute_exists(id)",
            )
        except ClientError as error:
            if _conditional_failed(error):
                raise NotFoundError(f"No record with id {record_id}.") from None
            raise

    def count(self) -> int:
        total, kwargs = 0, {"TableName": self.name, "Select": "COUNT"}
        while True:
            result = self.client.scan(**kwargs)
            total += result["Count"]
            if "LastEvaluatedKey" not in result:
                return total
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]
