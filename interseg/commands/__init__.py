"""Handlers of the command-line subcommands (argument parsing lives in :mod:`interseg.cli`)."""
