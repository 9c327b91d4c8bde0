"""Modules shipped with the desk, loaded like any administrator's (``bot.plugins``).

They use only what a plugin receives (``tgkit.plugins``) and the layers below it.
"""
