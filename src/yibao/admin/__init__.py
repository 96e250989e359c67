"""The administration core: services over the database that call the rules, never re-implement them.

Every service function takes a :class:`~sqlalchemy.orm.Session` inside a transaction opened by
:func:`yibao.admin.uow.run` (which retries deadlocks and lock timeouts) and an explicit region and
date. Money moves only through :mod:`yibao.admin.ledger`.
"""
