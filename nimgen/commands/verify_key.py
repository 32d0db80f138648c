"""``verify-key``: does NGC accept the key? (exit 0 valid, 4 rejected)."""

from __future__ import annotations

from nimgen import aiorun
from nimgen.commands.common import NgcAccess, RunLog, request_log
from nimgen.commands.results import VerifyKeyResult
from nimgen.ngc.client import NgcClient


def verify_key(access: NgcAccess, log: RunLog) -> VerifyKeyResult:
    settings = access.client_settings()
    key = access.load_key(log)

    async def run() -> None:
        async with NgcClient(settings, key, log=request_log(log)) as client:
            await client.validate_key()

    aiorun.run(run())
    log.info("the key is valid")
    return VerifyKeyResult(api_url=settings.api_url)
