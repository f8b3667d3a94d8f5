"""Datasets, labels and the audit database: import, noise, demo data, export. No training, no UI."""
