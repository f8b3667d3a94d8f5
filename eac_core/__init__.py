"""Training and scoring with Erasing Attention Consistency (EAC). Reads a manifest, writes a run directory."""
