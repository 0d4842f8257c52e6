"""Small exact triangle rasterisers (UV layouts, annotations)."""
