"""aiogram's Redis FSM storage, its reads and writes of concurrent updates sent together.

Every update reads its chat's FSM state, and one in a dialog reads and writes
aiogram-dialog's stack and context through the same storage: about four commands
an update, each its own packed command, future and parsed reply in the client. In
a burst the reads that come while one batch is on its way go as one ``MGET``, the
writes as one script (``tgkit.scripts``), each caller still getting its own value.

The same keys and values as aiogram's ``RedisStorage``: a process of either kind
reads what the other wrote. One difference: ``MGET`` answers nothing for a key that
holds another type where ``GET`` fails; the storage's keys are only ever its own
strings.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, cast

from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.typing import ExpiryT

from desk.batching import Combiner
from tgkit.scripts import BatchedScript

# For each write of a batch: its key set to argument 2 for argument 3 seconds ("" for
# no expiry), or deleted when argument 1 is "del".
_WRITE = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local a = 1 + 3 * (i - 1)
  if ARGV[a + 1] == 'del' then
    redis.call('DEL', KEYS[i])
  elseif ARGV[a + 3] == '' then
    redis.call('SET', KEYS[i], ARGV[a + 2])
  else
    redis.call('SET', KEYS[i], ARGV[a + 2], 'EX', ARGV[a + 3])
  end
  out[i] = 0
end
return out
"""


class BatchedRedisStorage(RedisStorage):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reads: Combiner[str, Any] = Combiner(self._read, limit=500)
        self._writes = BatchedScript(self.redis, _WRITE)

    async def _read(self, keys: Sequence[str]) -> list[Any]:
        values: list[Any] = await self.redis.mget(keys)
        return values

    async def _write(self, key: str, value: str | None, ttl: ExpiryT | None) -> None:
        if value is None:
            await self._writes((key,), ("del", "", ""))
        else:
            await self._writes((key,), ("set", value, _seconds(ttl)))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = None if state is None else state.state if isinstance(state, State) else state
        await self._write(self.key_builder.build(key, "state"), value, self.state_ttl)

    async def get_state(self, key: StorageKey) -> str | None:
        value = await self._reads.submit(self.key_builder.build(key, "state"))
        if isinstance(value, bytes):
            return value.decode("utf-8")
        return cast(str | None, value)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            message = f"Data must be a dict or dict-like object, got {type(data).__name__}"
            raise DataNotDictLikeError(message)
        value = self.json_dumps(data) if data else None
        await self._write(self.key_builder.build(key, "data"), value, self.data_ttl)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        value = await self._reads.submit(self.key_builder.build(key, "data"))
        if value is None:
            return {}
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        return cast(dict[str, Any], self.json_loads(value))


def _seconds(ttl: ExpiryT | None) -> str:
    if ttl is None:
        return ""
    if isinstance(ttl, datetime.timedelta):
        return str(int(ttl.total_seconds()))
    return str(int(ttl))
