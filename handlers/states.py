"""Plain FSM states of the customer's one-step questions (multi-step flows live in dialogs/)."""

from aiogram.fsm.state import State, StatesGroup


class CustomerStates(StatesGroup):
    reason = State()  # "Not solved": the required reason (R6)
    information = State()  # "Add information" to a chosen request
