"""Subcommands of the ``sharpsim`` command line (one module each, see :mod:`sharpsim.cli`)."""
