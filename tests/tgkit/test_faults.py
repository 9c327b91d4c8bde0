"""Which errors are an outage to wait out, and which are bugs to report."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tgkit.faults import transient, until_written


class DriverError(Exception):
    """What asyncpg's errors look like through SQLAlchemy: a SQLSTATE on the original."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"SQLSTATE {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "passing"),
    [
        ("57P01", True),  # terminating connection due to administrator command
        ("57P03", True),  # the database system is shutting down / starting up
        ("08006", True),  # connection failure
        ("23505", False),  # a unique violation is a bug or a race, not an outage
        ("42P01", False),  # no such table
    ],
)
def test_postgres_states_of_a_server_going_away_are_passing(sqlstate: str, passing: bool) -> None:
    error = DBAPIError("SELECT 1", {}, DriverError(sqlstate))
    assert transient(error) is passing


def test_connection_errors_are_passing_and_bugs_are_not() -> None:
    assert transient(RedisConnectionError("refused"))
    assert transient(OperationalError("SELECT 1", {}, ConnectionRefusedError()))
    assert not transient(IntegrityError("INSERT", {}, DriverError("23505")))
    assert not transient(KeyError("aiogd_context"))


async def test_a_write_after_a_send_waits_out_an_outage_but_not_a_bug() -> None:
    attempts: list[int] = []

    async def record() -> str:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise OperationalError("UPDATE outbox", {}, ConnectionRefusedError())
        return "recorded"

    assert await until_written(record, "a card", first=0.01) == "recorded"
    assert len(attempts) == 3

    async def broken() -> None:
        raise IntegrityError("INSERT", {}, DriverError("23505"))

    with pytest.raises(IntegrityError):
        await until_written(broken, "a card", first=0.01)
