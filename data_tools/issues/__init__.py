"""Image-level issues of a dataset (no training): exact and near duplicates, label conflicts and
train/test leaks inside duplicate groups, blank, dark, bright, low-information and blurry images.
`issues.parquet` in the dataset folder: sample_id, issue, score, group, detail."""
from data_tools.issues.dataset import (ISSUES_FILE, compute_issues, issue_counts, issue_groups, issue_table, manifest_ids, measure_all,
                                      read_issues, write_found, write_issues)
from data_tools.issues.find import COLUMNS, DUPLICATE_ISSUES, ISSUES, QUALITY_ISSUES, Thresholds, counts, find_issues
from data_tools.issues.image import EMPTY, SIGNATURE, signature, signature_bytes, signatures, signatures_of

__all__ = ["ISSUES_FILE", "COLUMNS", "EMPTY", "ISSUES", "DUPLICATE_ISSUES", "QUALITY_ISSUES", "SIGNATURE", "Thresholds",
           "compute_issues", "counts", "issue_counts", "issue_groups", "find_issues", "issue_table", "manifest_ids", "measure_all", "read_issues", "signature",
           "signature_bytes", "signatures", "signatures_of", "write_found", "write_issues"]
