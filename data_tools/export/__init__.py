"""Corrected labels out of an audit: a corrected CSV, a manifest to retrain on, RAF-DB's list, FERPlus CSV.

One module per job:
  table.py        the corrected table (manifest + latest decision + suspicion) that drives every format
  formulas.py     formula neutralisation (csv) and refusal (the RAF-DB list and FERPlus CSV)
  formats.py      the renderers and writers of each format (atomic: temp file + rename), download bytes
  destination.py  the destination guard and `export` / `write_beside_dataset`, which write through it
  cli.py          `python -m data_tools export`: an audit file's dataset and scores, the command

The public names are re-exported here (`from data_tools import export as ex; ex.export(...)`)."""
from __future__ import annotations

from data_tools.export.cli import configure_parser, load_audit_inputs, load_scores, main
from data_tools.export.destination import check_destination, export, write_beside_dataset
from data_tools.export.errors import ExportError
from data_tools.export.formats import (_FILE_RENDERERS, BESIDE_NAMES, CSV_DECISION_COLUMNS, DOWNLOAD_NAMES,
                                       FERPLUS_ANNOTATORS, FERPLUS_FILE_COLUMNS, FERPLUS_USAGE, FORMATS,
                                       RAFDB_FILE_COLUMNS, corrected_manifest, csv_table, export_bytes,
                                       export_csv, export_ferplus_csv, export_manifest, export_rafdb_list,
                                       render_csv, render_ferplus_csv, render_manifest_zip, render_rafdb_list)
from data_tools.export.formulas import neutralize_cell, neutralize_frame, refuse_formulas
from data_tools.export.table import DECISION_COLUMNS, changes_summary, corrected_table, unmatched_decisions

__all__ = ["BESIDE_NAMES", "CSV_DECISION_COLUMNS", "DECISION_COLUMNS", "DOWNLOAD_NAMES", "FERPLUS_ANNOTATORS",
           "FERPLUS_FILE_COLUMNS", "FERPLUS_USAGE", "FORMATS", "RAFDB_FILE_COLUMNS", "ExportError",
           "changes_summary", "check_destination", "configure_parser", "corrected_manifest", "corrected_table",
           "csv_table", "export", "export_bytes", "export_csv", "export_ferplus_csv", "export_manifest",
           "export_rafdb_list", "load_audit_inputs", "load_scores", "main", "neutralize_cell",
           "neutralize_frame", "refuse_formulas", "render_csv", "render_ferplus_csv", "render_manifest_zip",
           "render_rafdb_list", "unmatched_decisions", "write_beside_dataset"]
