"""Dialog ids that do not repeat for one customer.

aiogram-dialog 2 names a dialog it starts (its intent id, carried in every button
of the dialog's window) after the current second plus one of 100 random prefixes
(``aiogram_dialog.api.entities.stack.new_int_id``): two dialogs started within
the same second share their id once in a hundred times. For the desk the id is
more than a name: it is the intake's key, by which a Submit pressed again finds
the request it already filed (``Desk.filed_by_intake``), and a button of a
cancelled draft is told from one of the current draft. With a shared id, a
button of the cancelled draft would act on the new one, and a new request filed
within the second would be taken for the old one.

The seconds stay (ids of different seconds never meet, within the 3 years the
library's own counter runs); the random part grows from 100 to 2,000,000 values,
so two dialogs of one second meet once in two million. The id grows from 6 to 8
characters of ``[0-9a-zA-Z]``, well inside a button's 64 bytes with the widget ids.
"""

from __future__ import annotations

import secrets
import time

from aiogram_dialog.api.entities import stack

_SECONDS = 100_000_000  # the library's own span of seconds
_PREFIXES = 2_000_000  # 2,000,000 * 10**8 < 62**8: eight characters at most


def unique_dialog_id() -> str:
    value = int(time.time()) % _SECONDS + secrets.randbelow(_PREFIXES) * _SECONDS
    return stack.id_to_str(value)


def install() -> None:
    """Make aiogram-dialog name new dialogs with :func:`unique_dialog_id`.

    ``Stack.push`` looks ``new_id`` up in its module on every call, so this
    replaces it for every stack, in whichever storage.
    """
    stack.new_id = unique_dialog_id
