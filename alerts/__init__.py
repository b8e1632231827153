"""Ops alerts: rules over the store, an Alertmanager-style lifecycle, scheduling."""
