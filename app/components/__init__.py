"""Widgets shared by the pages in app/views/, and the plain helpers they draw from (loaders, queue, charts)."""
