"""Outputs: GeoJSON/GeoParquet tables of cells, PNG maps (and the HTML report later)."""
