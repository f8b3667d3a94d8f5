"""Shared UI pieces and the plain functions behind them; pages in app/views/ stay thin."""
