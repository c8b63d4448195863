"""A Lambda context for local invocations, named after the route or job it serves."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class LocalContext:
    function_name: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def context_for(name: str) -> LocalContext:
    return LocalContext(
        function_name=re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-"),
        aws_request_id=uuid.uuid4().hex,
    )
