"""Outputs people use: the scorecard page and workbook, JSNA exports and the documentation site."""
